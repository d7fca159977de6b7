//! The failure every port shares that stores a row belonging to a user.

use crate::Infra;

/// Why storing a row that belongs to a user (an item, a session, a reset token) failed.
#[derive(Debug, thiserror::Error)]
pub enum OwnedWriteError {
    /// The user no longer exists: deleted between the caller's read and this write.
    /// Nothing was written; callers answer as for any request of a deleted user.
    #[error("the owning user no longer exists")]
    OwnerGone,
    #[error(transparent)]
    Infra(#[from] Infra),
}
