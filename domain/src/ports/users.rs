//! `UserRepository`: storage of user accounts with case-insensitive email identity.

use async_trait::async_trait;

use crate::{EmailKey, Infra, Listing, Page, PasswordHash, SessionEnd, User, UserId};

/// Why a user write was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserWriteError {
    /// Another user already holds an address with the same [`EmailKey`].
    #[error("email already taken")]
    EmailTaken,
    /// No user has this id.
    #[error("user not found")]
    NotFound,
    /// The write would leave no active superuser (CONTRACT.md §9j).
    #[error("last active superuser")]
    LastActiveSuperuser,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Stores user accounts.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user.
    ///
    /// # Errors
    /// MUST return `EmailTaken` when another user has the same email key, decided by the
    /// store itself (a unique index), never by a prior read: of concurrent inserts of case
    /// variants exactly one succeeds. MUST NOT return `NotFound` or `LastActiveSuperuser`.
    async fn insert(&self, user: &User) -> Result<(), UserWriteError>;

    /// The user with this id, if any.
    ///
    /// # Errors
    /// `Infra` only.
    async fn get(&self, id: UserId) -> Result<Option<User>, Infra>;

    /// The user whose email has this key, if any. The key comes from unvalidated input
    /// (login names, recovery addresses): any text, NUL included, MUST answer like an
    /// unknown address.
    ///
    /// # Errors
    /// `Infra` only.
    async fn find_by_email(&self, key: &EmailKey) -> Result<Option<User>, Infra>;

    /// A page of users ordered by `created_at` descending with NULLs first, then by id;
    /// `count` is the number of all users.
    ///
    /// # Errors
    /// `Infra` only.
    async fn list(&self, page: Page) -> Result<Listing<User>, Infra>;

    /// Replaces the stored user with `user` (matched by id) and applies `sessions` to the
    /// user's sessions, all in one atomic step. When the password hash changes, the user's
    /// outstanding reset tokens MUST be deleted in the same step.
    ///
    /// # Errors
    /// MUST return `NotFound` when no user has the id, `EmailTaken` when another user has
    /// the new email key, and `LastActiveSuperuser` — leaving the row unchanged — when the
    /// stored row is an active superuser, `user` is not, and no other active superuser
    /// exists (checked and written atomically, so two concurrent demotions cannot both win).
    async fn update(&self, user: &User, sessions: SessionEnd) -> Result<(), UserWriteError>;

    /// Replaces the password hash only if it still equals `old` (transparent re-hash on
    /// login, which must not overwrite a concurrent password change). A lost race is not
    /// an error.
    ///
    /// # Errors
    /// `Infra` only.
    async fn upgrade_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<(), Infra>;

    /// Deletes the user together with their items, sessions, refresh and reset tokens, all
    /// or nothing. Returns whether a user was deleted.
    ///
    /// # Errors
    /// `Infra` only; after an error nothing has been deleted.
    async fn delete(&self, id: UserId) -> Result<bool, Infra>;
}
