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

/// The fields one item write means to change; a field left `None` is never written, so
/// two edits of different fields arriving together both stay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemPatch {
    pub title: Option<ItemTitle>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<ItemDescription>>,
}

impl ItemPatch {
    /// The item after this patch, applied to `stored` as it is now.
    pub fn apply(&self, stored: &Item) -> Item {
        let mut item = stored.clone();
        if let Some(title) = &self.title {
            item.title = title.clone();
        }
        if let Some(description) = &self.description {
            item.description = description.clone();
        }
        item
    }

    /// Whether the patch names no field (`{}`: a no-op returning the current object).
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none()
    }
}
