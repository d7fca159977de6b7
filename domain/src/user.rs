//! The user account.

use time::OffsetDateTime;

use crate::{Email, FullName, PasswordHash, UserId};

/// A user account as stored (`"user"` table of CONTRACT.md §8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub is_active: bool,
    pub is_superuser: bool,
    pub full_name: Option<FullName>,
    pub hashed_password: PasswordHash,
    /// `None` only on rows written by old template releases.
    pub created_at: Option<OffsetDateTime>,
}

impl User {
    /// Whether this user may act on routes marked "super".
    pub fn is_active_superuser(&self) -> bool {
        self.is_active && self.is_superuser
    }
}
