//! An item owned by a user.

use time::OffsetDateTime;

use crate::{ItemDescription, ItemId, ItemTitle, UserId};

/// An item as stored (`item` table of CONTRACT.md §8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub id: ItemId,
    pub title: ItemTitle,
    pub description: Option<ItemDescription>,
    pub owner_id: UserId,
    /// `None` only on rows written by old template releases.
    pub created_at: Option<OffsetDateTime>,
}
