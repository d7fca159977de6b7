//! `ResetTokenStore` over the shared state: one live token per user, single use, and a
//! redemption that sets the password and ends every session in the same step.

use async_trait::async_trait;
use gatehouse_domain::ports::{EndScope, OwnedWriteError, Redemption, ResetTokenStore};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{EndReason, Infra, PasswordHash, UserId};
use time::OffsetDateTime;

use crate::state::{Shared, State};

/// A stored password-reset token; the key of its map entry is its hash.
pub(crate) struct ResetToken {
    pub(crate) user: UserId,
    pub(crate) expires_at: OffsetDateTime,
}

/// The password-reset tokens of one memory store.
pub(crate) struct MemoryResetTokens(pub(crate) Shared);

#[async_trait]
impl ResetTokenStore for MemoryResetTokens {
    async fn issue(
        &self,
        user: UserId,
        token: &TokenHash,
        _now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), OwnedWriteError> {
        let mut state = self.0.lock()?;
        state.user_must_exist(user)?;
        state.drop_reset_tokens(user);
        State::unique(state.reset_tokens.contains_key(token), "reset token hash")?;
        state
            .reset_tokens
            .insert(*token, ResetToken { user, expires_at });
        Ok(())
    }

    async fn check(&self, token: &TokenHash, now: OffsetDateTime) -> Result<Redemption, Infra> {
        Ok(self.0.lock()?.redemption(token, now))
    }

    async fn redeem(
        &self,
        token: &TokenHash,
        new_hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<Redemption, Infra> {
        let mut state = self.0.lock()?;
        let outcome = state.redemption(token, now);
        let Redemption::Done(id) = outcome else {
            return Ok(outcome);
        };
        if let Some(user) = state.users.get_mut(&id) {
            user.hashed_password = new_hash.clone();
        }
        state.drop_reset_tokens(id);
        state.end_sessions(id, EndScope::All, EndReason::PasswordReset, now);
        Ok(outcome)
    }
}
