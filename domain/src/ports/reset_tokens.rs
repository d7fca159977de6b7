//! `ResetTokenStore`: single-use password-reset tokens, stored as digests.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Infra, PasswordHash, UserId, session::TokenHash};

/// What redeeming a reset token did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// Unknown, expired, already used or superseded token, or its user is gone.
    Invalid,
    /// The token is valid but its user is inactive; nothing changed.
    Inactive,
    /// The password was set, every reset token of the user deleted and every session ended.
    Done(UserId),
}

/// Stores password-reset tokens (SECURITY.md RT-13): hashes only, single use.
#[async_trait]
pub trait ResetTokenStore: Send + Sync {
    /// Stores a new token for `user`, expiring at `expires_at`; every older token of the
    /// user MUST stop working.
    ///
    /// # Errors
    /// `Infra` only.
    async fn issue(
        &self,
        user: UserId,
        token: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), Infra>;

    /// What [`ResetTokenStore::redeem`] would answer, without changing anything; lets the
    /// caller skip hashing for tokens that cannot work.
    ///
    /// # Errors
    /// `Infra` only.
    async fn check(&self, token: &TokenHash, now: OffsetDateTime) -> Result<Redemption, Infra>;

    /// In one atomic step: validates the token, sets the user's password hash, deletes all
    /// the user's reset tokens and revokes all their sessions with reason `password_reset`.
    ///
    /// # Errors
    /// `Infra` only; after an error nothing has changed.
    async fn redeem(
        &self,
        token: &TokenHash,
        new_hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<Redemption, Infra>;
}
