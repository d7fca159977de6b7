//! `ItemRepository` over the shared state, with the owner guard repeated on every write.

use async_trait::async_trait;
use gatehouse_domain::ports::{ItemRepository, OwnedWriteError};
use gatehouse_domain::{Infra, Item, ItemId, ItemPatch, Listing, Page, UserId};

use crate::listing::newest_first;
use crate::state::{Shared, State};

/// The items of one memory store.
pub(crate) struct MemoryItems(pub(crate) Shared);

/// Whether `item` belongs to `owner`; every item does when `owner` is `None`.
fn owned_by(item: &Item, owner: Option<UserId>) -> bool {
    owner.is_none_or(|owner| item.owner_id == owner)
}

/// Whether a write matched by `id` and `owner` finds its row.
fn addressed(state: &State, id: ItemId, owner: Option<UserId>) -> bool {
    state
        .items
        .get(&id)
        .is_some_and(|stored| owned_by(stored, owner))
}

#[async_trait]
impl ItemRepository for MemoryItems {
    async fn insert(&self, item: &Item) -> Result<(), OwnedWriteError> {
        let mut state = self.0.lock()?;
        state.user_must_exist(item.owner_id)?;
        State::unique(state.items.contains_key(&item.id), "item id")?;
        state.items.insert(item.id, item.clone());
        Ok(())
    }

    async fn get(&self, id: ItemId) -> Result<Option<Item>, Infra> {
        Ok(self.0.lock()?.items.get(&id).cloned())
    }

    async fn list(&self, owner: Option<UserId>, page: Page) -> Result<Listing<Item>, Infra> {
        let rows = self
            .0
            .lock()?
            .items
            .values()
            .filter(|item| owned_by(item, owner))
            .cloned()
            .collect();
        Ok(newest_first(rows, |i| (i.created_at, i.id.as_uuid()), page))
    }

    async fn update(
        &self,
        id: ItemId,
        patch: &ItemPatch,
        owner: Option<UserId>,
    ) -> Result<Option<Item>, Infra> {
        let mut state = self.0.lock()?;
        let Some(stored) = state.items.get(&id).filter(|item| owned_by(item, owner)) else {
            return Ok(None);
        };
        let item = patch.apply(stored);
        state.items.insert(id, item.clone());
        Ok(Some(item))
    }

    async fn delete(&self, id: ItemId, owner: Option<UserId>) -> Result<bool, Infra> {
        let mut state = self.0.lock()?;
        if !addressed(&state, id, owner) {
            return Ok(false);
        }
        state.items.remove(&id);
        Ok(true)
    }
}
