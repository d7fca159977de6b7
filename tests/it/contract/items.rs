//! Contract of `ItemRepository`: round trips, the owner filter and guard, and the shared
//! list order.

use gatehouse_domain::ports::OwnedWriteError;
use gatehouse_domain::{Item, ItemDescription, ItemId, ItemPatch, ItemTitle, Page, UserId};
use uuid::Uuid;

use super::backend::Stores;
use super::fixtures::{item, store, user};
use super::listing::{assert_pages, insertion_order, listing_order};

pub async fn insert_then_get_returns_the_item_as_stored(s: Stores) {
    let owner = store(&s, user("owner@example.com")).await;
    let full = item(owner.id);
    let sparse = Item {
        description: None,
        created_at: None,
        ..item(owner.id)
    };

    s.items.insert(&full).await.unwrap();
    s.items.insert(&sparse).await.unwrap();

    assert_eq!(s.items.get(full.id).await.unwrap(), Some(full));
    assert_eq!(s.items.get(sparse.id).await.unwrap(), Some(sparse));
    assert_eq!(s.items.get(ItemId::random()).await.unwrap(), None);
}

pub async fn insert_for_a_missing_owner_fails(s: Stores) {
    let orphan = item(UserId::random());

    let refused = s.items.insert(&orphan).await;
    assert!(
        matches!(refused, Err(OwnedWriteError::OwnerGone)),
        "{refused:?}"
    );
    assert_eq!(s.items.get(orphan.id).await.unwrap(), None);
}

/// Stores one item of `owner` per row of [`insertion_order`], and one item of another
/// user in between, so an owner filter has something to leave out.
async fn store_listing_rows(s: &Stores) -> (UserId, UserId) {
    let owner = store(s, user("owner@example.com")).await.id;
    let other = store(s, user("other@example.com")).await.id;
    for (id, created_at) in insertion_order() {
        s.items.insert(&item(other)).await.unwrap();
        let row = Item {
            id: ItemId::from_uuid(id),
            created_at,
            ..item(owner)
        };
        s.items.insert(&row).await.unwrap();
    }
    (owner, other)
}

/// The ids of the listed page and the count.
async fn list_ids(s: &Stores, owner: Option<UserId>, page: Page) -> (Vec<Uuid>, u64) {
    let listed = s.items.list(owner, page).await.unwrap();
    let ids = listed.data.iter().map(|i| i.id.as_uuid()).collect();
    (ids, listed.count)
}

pub async fn list_for_an_owner_orders_newest_first_with_missing_dates_first_and_ties_by_id(
    s: Stores,
) {
    let (owner, _) = store_listing_rows(&s).await;

    let (ids, _) = list_ids(&s, Some(owner), Page::default()).await;

    let expected: Vec<_> = listing_order().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, expected);
}

pub async fn list_for_an_owner_pages_while_counting_only_their_items(s: Stores) {
    let (owner, _) = store_listing_rows(&s).await;
    let expected: Vec<_> = listing_order().into_iter().map(|(id, _)| id).collect();

    assert_pages(&expected, |page| list_ids(&s, Some(owner), page)).await;
}

pub async fn list_without_an_owner_returns_and_counts_every_item(s: Stores) {
    let (owner, other) = store_listing_rows(&s).await;

    let listed = s.items.list(None, Page::default()).await.unwrap();

    let count = listing_order().len() * 2;
    assert_eq!((listed.data.len(), listed.count), (count, count as u64));
    let mine = listed.data.iter().filter(|i| i.owner_id == owner).count();
    let theirs = listed.data.iter().filter(|i| i.owner_id == other).count();
    assert_eq!((mine, theirs), (count / 2, count / 2));
}

/// A new title, and the description cleared.
fn retitle() -> ItemPatch {
    ItemPatch {
        title: Some(ItemTitle::new("Renamed").unwrap()),
        description: Some(None),
    }
}

fn retitled(original: &Item) -> Item {
    Item {
        title: ItemTitle::new("Renamed").unwrap(),
        description: None,
        ..original.clone()
    }
}

pub async fn update_with_the_owner_writes_the_patch(s: Stores) {
    let owner = store(&s, user("owner@example.com")).await;
    let original = item(owner.id);
    s.items.insert(&original).await.unwrap();

    let written = s
        .items
        .update(original.id, &retitle(), Some(owner.id))
        .await;

    let edited = retitled(&original);
    assert_eq!(written.unwrap(), Some(edited.clone()));
    assert_eq!(s.items.get(original.id).await.unwrap(), Some(edited));
}

pub async fn update_writes_only_the_fields_of_the_patch(s: Stores) {
    let owner = store(&s, user("owner@example.com")).await;
    let original = item(owner.id);
    s.items.insert(&original).await.unwrap();
    let describe = ItemPatch {
        description: Some(Some(ItemDescription::new("kept").unwrap())),
        ..ItemPatch::default()
    };
    let rename = ItemPatch {
        title: Some(ItemTitle::new("Renamed").unwrap()),
        ..ItemPatch::default()
    };

    s.items.update(original.id, &describe, None).await.unwrap();
    let written = s.items.update(original.id, &rename, None).await.unwrap();
    let unchanged = s
        .items
        .update(original.id, &ItemPatch::default(), None)
        .await
        .unwrap();

    let expected = Item {
        title: ItemTitle::new("Renamed").unwrap(),
        description: Some(ItemDescription::new("kept").unwrap()),
        ..original
    };
    assert_eq!(
        written,
        Some(expected.clone()),
        "the rename kept the description"
    );
    assert_eq!(unchanged, Some(expected), "an empty patch reads the item");
}

pub async fn update_with_another_owner_changes_nothing(s: Stores) {
    let owner = store(&s, user("owner@example.com")).await;
    let intruder = store(&s, user("intruder@example.com")).await;
    let original = item(owner.id);
    s.items.insert(&original).await.unwrap();

    let refused = s
        .items
        .update(original.id, &retitle(), Some(intruder.id))
        .await;
    let empty = s
        .items
        .update(original.id, &ItemPatch::default(), Some(intruder.id))
        .await;

    assert_eq!(refused.unwrap(), None);
    assert_eq!(empty.unwrap(), None, "not even read");
    assert_eq!(s.items.get(original.id).await.unwrap(), Some(original));
}

pub async fn update_without_an_owner_writes_any_item(s: Stores) {
    let owner = store(&s, user("owner@example.com")).await;
    let original = item(owner.id);
    s.items.insert(&original).await.unwrap();

    let written = s.items.update(original.id, &retitle(), None).await;

    let edited = retitled(&original);
    assert_eq!(written.unwrap(), Some(edited.clone()));
    assert_eq!(s.items.get(original.id).await.unwrap(), Some(edited));
}

pub async fn update_of_an_unknown_item_returns_none(s: Stores) {
    let owner = store(&s, user("owner@example.com")).await;
    let never_stored = item(owner.id);

    let by_anyone = s.items.update(never_stored.id, &retitle(), None).await;
    let by_owner = s
        .items
        .update(never_stored.id, &retitle(), Some(owner.id))
        .await;

    assert_eq!(by_anyone.unwrap(), None);
    assert_eq!(by_owner.unwrap(), None);
    assert_eq!(s.items.get(never_stored.id).await.unwrap(), None);
}

pub async fn delete_with_another_owner_keeps_the_item(s: Stores) {
    let owner = store(&s, user("owner@example.com")).await;
    let intruder = store(&s, user("intruder@example.com")).await;
    let kept = item(owner.id);
    s.items.insert(&kept).await.unwrap();

    assert!(!s.items.delete(kept.id, Some(intruder.id)).await.unwrap());

    assert_eq!(s.items.get(kept.id).await.unwrap(), Some(kept));
}

pub async fn delete_with_the_owner_or_without_one_removes_the_item_once(s: Stores) {
    let owner = store(&s, user("owner@example.com")).await;
    let first = item(owner.id);
    let second = item(owner.id);
    s.items.insert(&first).await.unwrap();
    s.items.insert(&second).await.unwrap();

    assert!(s.items.delete(first.id, Some(owner.id)).await.unwrap());
    assert!(s.items.delete(second.id, None).await.unwrap());

    assert!(!s.items.delete(first.id, Some(owner.id)).await.unwrap());
    assert!(!s.items.delete(second.id, None).await.unwrap());
    assert_eq!(s.items.get(first.id).await.unwrap(), None);
    assert_eq!(s.items.get(second.id).await.unwrap(), None);
}
