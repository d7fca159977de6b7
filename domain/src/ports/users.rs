//! `UserRepository`: storage of user accounts with case-insensitive email identity.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::user::UserRefusal;
use crate::{EmailKey, Infra, Listing, Page, PasswordHash, SessionEnd, User, UserId, UserPatch};

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
    /// A compare-and-set password change found another hash stored than the one verified.
    #[error("the password changed since it was verified")]
    PasswordChanged,
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl From<UserRefusal> for UserWriteError {
    fn from(refusal: UserRefusal) -> Self {
        match refusal {
            UserRefusal::PasswordChanged => Self::PasswordChanged,
            UserRefusal::LastActiveSuperuser => Self::LastActiveSuperuser,
        }
    }
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

    /// Applies `patch` to the user as stored at the moment of writing ([`UserPatch::apply`]
    /// decides, inside the store's atomic section) and applies `sessions` to the user's
    /// sessions, all in one atomic step; returns the user as written. Only the columns the
    /// patch names are written. When the password hash changes, the user's outstanding
    /// reset tokens MUST be deleted in the same step.
    ///
    /// # Errors
    /// MUST return `NotFound` when no user has the id, `EmailTaken` when another user has
    /// the new email key, `PasswordChanged` when the patch's compare-and-set hash is no
    /// longer stored, and `LastActiveSuperuser` when the result would leave no active
    /// superuser — decided under a lock every write that can remove an active superuser
    /// takes in the same order, so no interleaving of demotions, deactivations and deletes
    /// leaves none. After an error nothing has changed.
    ///
    /// Sessions it ends are stamped as ended at `now`.
    async fn update(
        &self,
        id: UserId,
        patch: &UserPatch,
        sessions: SessionEnd,
        now: OffsetDateTime,
    ) -> Result<User, UserWriteError>;

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
    /// or nothing.
    ///
    /// # Errors
    /// MUST return `NotFound` when no user has the id and `LastActiveSuperuser` when the user
    /// is the last active superuser (under the same lock order as `update`); after an error
    /// nothing has been deleted.
    async fn delete(&self, id: UserId) -> Result<(), UserWriteError>;
}
