//! The single state struct behind every memory port (the "tables"), its lock, and the
//! writes more than one port performs (ending sessions, voiding reset tokens).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use gatehouse_domain::ports::{EndScope, OwnedWriteError, Redemption};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::throttle::{ThrottleKey, ThrottleWindow};
use gatehouse_domain::{
    EmailKey, EndReason, Infra, Item, ItemId, Session, SessionEnd, SessionId, User, UserId,
};
use time::OffsetDateTime;

use crate::reset_tokens::ResetToken;
use crate::sessions::RefreshToken;

/// The state shared by every port handle of one [`crate::MemoryStore`].
#[derive(Clone, Default)]
pub(crate) struct Shared {
    state: Arc<Mutex<State>>,
}

impl Shared {
    /// Takes the one lock. Callers hold the guard only across synchronous code, never
    /// across an `.await`, so a method body is one atomic step.
    ///
    /// # Errors
    /// `Unexpected` when an earlier panic poisoned the lock: the state may be half-written.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, State>, Infra> {
        self.state
            .lock()
            .map_err(|_| Infra::unexpected("memory store poisoned by an earlier panic"))
    }
}

/// Every stored row, one map per table.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) users: BTreeMap<UserId, User>,
    pub(crate) items: BTreeMap<ItemId, Item>,
    pub(crate) sessions: HashMap<SessionId, Session>,
    pub(crate) refresh_tokens: HashMap<TokenHash, RefreshToken>,
    pub(crate) reset_tokens: HashMap<TokenHash, ResetToken>,
    pub(crate) windows: HashMap<ThrottleKey, ThrottleWindow>,
}

impl State {
    /// The id of the user whose address has this key: the unique index on the email key.
    pub(crate) fn email_holder(&self, key: &EmailKey) -> Option<UserId> {
        self.users
            .values()
            .find(|u| u.email.key() == *key)
            .map(|u| u.id)
    }

    /// Refuses a row whose key is already stored, as a primary key or unique index would.
    ///
    /// # Errors
    /// `Unexpected` when `taken`: callers generate random ids, so this is a bug upstream.
    pub(crate) fn unique(taken: bool, what: &'static str) -> Result<(), Infra> {
        if taken {
            return Err(Infra::unexpected(format!("duplicate {what}")));
        }
        Ok(())
    }

    /// Refuses a row pointing at a user that does not exist, as a foreign key would.
    ///
    /// # Errors
    /// `OwnerGone` when no user has the id.
    pub(crate) fn user_must_exist(&self, user: UserId) -> Result<(), OwnedWriteError> {
        if self.users.contains_key(&user) {
            return Ok(());
        }
        Err(OwnedWriteError::OwnerGone)
    }

    /// Whether an active superuser other than `id` exists (the last-superuser rule).
    pub(crate) fn another_active_superuser(&self, id: UserId) -> bool {
        self.users
            .values()
            .any(|u| u.id != id && u.is_active_superuser())
    }

    /// Revokes the user's not-yet-revoked sessions in `scope`; returns how many.
    pub(crate) fn end_sessions(
        &mut self,
        user: UserId,
        scope: EndScope,
        reason: EndReason,
        now: OffsetDateTime,
    ) -> u64 {
        let mut ended = 0;
        for session in self.sessions.values_mut() {
            let in_scope = match scope {
                EndScope::One(id) => session.id == id,
                EndScope::All => true,
                EndScope::AllExcept(id) => session.id != id,
            };
            if session.user_id == user && in_scope && session.revoked_at.is_none() {
                session.revoked_at = Some(now);
                session.revoked_reason = Some(reason);
                ended += 1;
            }
        }
        ended
    }

    /// Applies what a user write does to the user's sessions.
    pub(crate) fn apply_session_end(&mut self, user: UserId, end: SessionEnd, now: OffsetDateTime) {
        if let Some((scope, reason)) = end.ending() {
            self.end_sessions(user, scope, reason, now);
        }
    }

    /// Deletes every reset token of the user (password changed, or a newer token issued).
    pub(crate) fn drop_reset_tokens(&mut self, user: UserId) {
        self.reset_tokens.retain(|_, t| t.user != user);
    }

    /// What redeeming `token` at `now` would do, reading only.
    pub(crate) fn redemption(&self, token: &TokenHash, now: OffsetDateTime) -> Redemption {
        self.reset_tokens
            .get(token)
            .map_or(Redemption::Invalid, |stored| {
                Redemption::judge(stored.expires_at, self.users.get(&stored.user), now)
            })
    }
}
