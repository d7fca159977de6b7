//! Items and the owner-or-superuser rule (CONTRACT.md routes 16–20, SECURITY.md D4, AZ-02).

use gatehouse_domain::{
    Infra, Item, ItemDescription, ItemId, ItemPatch, ItemTitle, Listing, Page, UserId,
    ports::OwnedWriteError,
};
use tracing::instrument;

use crate::audit::Audit;
use crate::{Gatehouse, Principal};

/// A new item; the owner is always the caller (`owner_id` in a body is ignored).
#[derive(Debug)]
pub struct NewItem {
    pub title: ItemTitle,
    pub description: Option<ItemDescription>,
}

/// Why an item operation failed, in the contract's order: existence, then ownership.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("item not found")]
    NotFound,
    #[error("not enough permissions")]
    NotOwner,
    /// The caller's account was deleted while the request ran; nothing was stored.
    #[error("user not found")]
    UserNotFound,
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl Principal {
    /// The owner filter for this caller: superusers see and change everything.
    fn owner_scope(&self) -> Option<UserId> {
        (!self.user.is_superuser).then_some(self.user.id)
    }
}

impl Gatehouse {
    /// The caller's items (all items for a superuser), newest first.
    ///
    /// # Errors
    /// `Infra` only.
    #[instrument(skip_all)]
    pub async fn list_items(&self, me: &Principal, page: Page) -> Result<Listing<Item>, Infra> {
        self.ports.items.list(me.owner_scope(), page).await
    }

    /// Creates an item owned by the caller.
    ///
    /// # Errors
    /// `UserNotFound` when the caller's account was deleted meanwhile.
    #[instrument(skip_all)]
    pub async fn create_item(&self, me: &Principal, new: NewItem) -> Result<Item, ItemError> {
        let item = Item {
            id: ItemId::from_uuid(self.ports.ids.next()),
            title: new.title,
            description: new.description,
            owner_id: me.user.id,
            created_at: Some(self.ports.clock.now()),
        };
        self.ports.items.insert(&item).await.map_err(|e| match e {
            OwnedWriteError::OwnerGone => ItemError::UserNotFound,
            OwnedWriteError::Infra(i) => ItemError::Infra(i),
        })?;
        Ok(item)
    }

    /// One item the caller may see.
    ///
    /// # Errors
    /// `NotFound`, then `NotOwner`.
    #[instrument(skip_all, fields(item_id = %id))]
    pub async fn read_item(&self, me: &Principal, id: ItemId) -> Result<Item, ItemError> {
        let item = self.ports.items.get(id).await?.ok_or(ItemError::NotFound)?;
        if me.owner_scope().is_some_and(|owner| owner != item.owner_id) {
            Audit::NotOwner {
                user: me.user.id,
                item: id,
            }
            .record(None);
            return Err(ItemError::NotOwner);
        }
        Ok(item)
    }

    /// Applies the present fields, and only those, to an item the caller may change, as it
    /// is at the moment of writing.
    ///
    /// # Errors
    /// `NotFound`, then `NotOwner`.
    #[instrument(skip_all, fields(item_id = %id))]
    pub async fn update_item(
        &self,
        me: &Principal,
        id: ItemId,
        patch: ItemPatch,
    ) -> Result<Item, ItemError> {
        self.read_item(me, id).await?;
        self.ports
            .items
            .update(id, &patch, me.owner_scope())
            .await?
            .ok_or(ItemError::NotFound)
    }

    /// Deletes an item the caller may change.
    ///
    /// # Errors
    /// `NotFound`, then `NotOwner`.
    #[instrument(skip_all, fields(item_id = %id))]
    pub async fn delete_item(&self, me: &Principal, id: ItemId) -> Result<(), ItemError> {
        self.read_item(me, id).await?;
        if !self.ports.items.delete(id, me.owner_scope()).await? {
            return Err(ItemError::NotFound);
        }
        Ok(())
    }
}
