//! `ResetTokenStore`: single-use password-reset tokens, stored as digests.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Infra, PasswordHash, User, UserId, ports::OwnedWriteError, session::TokenHash};

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

impl Redemption {
    /// The verdict on a token that expires at `expires_at` and names `user` (`None`: the
    /// user is gone), at `now`; both stores decide with this one rule, the SQL one on rows
    /// it has locked.
    pub fn judge(expires_at: OffsetDateTime, user: Option<&User>, now: OffsetDateTime) -> Self {
        match user {
            _ if now >= expires_at => Self::Invalid,
            None => Self::Invalid,
            Some(user) if !user.is_active => Self::Inactive,
            Some(user) => Self::Done(user.id),
        }
    }
}

/// Stores password-reset tokens (SECURITY.md RT-13): hashes only, single use.
#[async_trait]
pub trait ResetTokenStore: Send + Sync {
    /// Stores a new token for `user`, issued at `now` and expiring at `expires_at`; every
    /// older token of the user MUST stop working.
    ///
    /// # Errors
    /// MUST return `OwnerGone`, storing nothing, when the user does not exist.
    async fn issue(
        &self,
        user: UserId,
        token: &TokenHash,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), OwnedWriteError>;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Email;
    use time::Duration;

    #[test]
    fn a_token_works_before_it_expires_for_an_active_user_that_still_exists() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut user = User {
            id: UserId::random(),
            email: Email::unchecked("a@example.com"),
            is_active: true,
            is_superuser: false,
            full_name: None,
            hashed_password: PasswordHash::new("h"),
            created_at: None,
        };
        let later = now + Duration::minutes(1);
        assert_eq!(
            Redemption::judge(later, Some(&user), now),
            Redemption::Done(user.id)
        );
        assert_eq!(
            Redemption::judge(now, Some(&user), now),
            Redemption::Invalid,
            "expired"
        );
        assert_eq!(
            Redemption::judge(later, None, now),
            Redemption::Invalid,
            "user gone"
        );
        user.is_active = false;
        assert_eq!(
            Redemption::judge(later, Some(&user), now),
            Redemption::Inactive
        );
    }
}
