//! `ItemRepository`: storage of items, with the owner condition repeated on writes.

use async_trait::async_trait;

use crate::{Infra, Item, ItemId, ItemPatch, Listing, Page, UserId, ports::OwnedWriteError};

/// Stores items.
#[async_trait]
pub trait ItemRepository: Send + Sync {
    /// Stores a new item.
    ///
    /// # Errors
    /// MUST return `OwnerGone`, storing nothing, when the owner does not exist (deleted
    /// while the request ran).
    async fn insert(&self, item: &Item) -> Result<(), OwnedWriteError>;

    /// The item with this id, if any.
    ///
    /// # Errors
    /// `Infra` only.
    async fn get(&self, id: ItemId) -> Result<Option<Item>, Infra>;

    /// A page of items — all of them when `owner` is `None`, else only that owner's —
    /// ordered by `created_at` descending with NULLs first, then by id; `count` counts the
    /// same filter ignoring paging.
    ///
    /// # Errors
    /// `Infra` only.
    async fn list(&self, owner: Option<UserId>, page: Page) -> Result<Listing<Item>, Infra>;

    /// Writes the fields `patch` names, and only those, to the item matched by id (and by
    /// `owner` too when given: the write repeats the ownership condition, SECURITY.md
    /// AZ-02), in one atomic step. Returns the item as written, or `None` when no row
    /// matched.
    ///
    /// # Errors
    /// `Infra` only.
    async fn update(
        &self,
        id: ItemId,
        patch: &ItemPatch,
        owner: Option<UserId>,
    ) -> Result<Option<Item>, Infra>;

    /// Deletes the item (matched by id, and by `owner` too when given). Returns whether a
    /// row was deleted.
    ///
    /// # Errors
    /// `Infra` only.
    async fn delete(&self, id: ItemId, owner: Option<UserId>) -> Result<bool, Infra>;
}
