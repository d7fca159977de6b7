//! `SessionStore` over the shared state: sessions, their refresh-token families and the
//! rotation state machine of SECURITY.md §2.2 (steps 3–5), atomic under the one lock.

use async_trait::async_trait;
use gatehouse_domain::ports::{
    EndScope, OwnedWriteError, Rotation, RotationOutcome, RotationStep, SessionCap, SessionStore,
};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{EndReason, Infra, Session, SessionId, User, UserId};
use time::{Duration, OffsetDateTime};

use crate::state::{Shared, State};

/// A stored refresh token; the key of its map entry is its hash.
pub(crate) struct RefreshToken {
    pub(crate) session: SessionId,
    pub(crate) used_at: Option<OffsetDateTime>,
    /// The successor stored when this token was rotated (`replaced_by_id`).
    pub(crate) child: Option<TokenHash>,
}

/// The sessions of one memory store.
pub(crate) struct MemorySessions(pub(crate) Shared);

/// Stores an unused refresh token of `session`.
fn store_token(state: &mut State, hash: TokenHash, session: SessionId) -> Result<(), Infra> {
    State::unique(
        state.refresh_tokens.contains_key(&hash),
        "refresh token hash",
    )?;
    let token = RefreshToken {
        session,
        used_at: None,
        child: None,
    };
    state.refresh_tokens.insert(hash, token);
    Ok(())
}

/// Steps 3–5 of the refresh design, reading and writing under one lock.
fn rotate(state: &mut State, r: &Rotation) -> Result<RotationOutcome, Infra> {
    let Some(token) = state.refresh_tokens.get(&r.presented) else {
        return Ok(RotationOutcome::Invalid);
    };
    let (used_at, child) = (token.used_at, token.child);
    let Some(mut session) = state.sessions.get(&token.session).cloned() else {
        return Ok(RotationOutcome::Invalid);
    };
    // A benign race hands out the successor the first request stored, so it must be the
    // one this request derived too, and still unused.
    let successor_unused = child.filter(|c| *c == r.successor).is_some_and(|c| {
        state
            .refresh_tokens
            .get(&c)
            .is_some_and(|t| t.used_at.is_none())
    });
    match r.decide(&session, used_at, successor_unused) {
        RotationStep::Invalid => Ok(RotationOutcome::Invalid),
        RotationStep::Repeat => Ok(RotationOutcome::Repeated(session)),
        RotationStep::Rotate => {
            store_token(state, r.successor, session.id)?;
            if let Some(parent) = state.refresh_tokens.get_mut(&r.presented) {
                parent.used_at = Some(r.now);
                parent.child = Some(r.successor);
            }
            session.last_used_at = r.now;
            state.sessions.insert(session.id, session.clone());
            Ok(RotationOutcome::Rotated(session))
        }
        RotationStep::RevokeForReuse => {
            session.revoked_at = Some(r.now);
            session.revoked_reason = Some(EndReason::ReuseDetected);
            state.sessions.insert(session.id, session.clone());
            Ok(RotationOutcome::ReuseDetected(session))
        }
    }
}

/// The user's live sessions at `now`, most recently used first.
fn live_sessions(
    state: &State,
    user: UserId,
    now: OffsetDateTime,
    idle_timeout: Duration,
) -> Vec<Session> {
    let mut live: Vec<Session> = state
        .sessions
        .values()
        .filter(|s| s.user_id == user && s.is_live(now, idle_timeout))
        .cloned()
        .collect();
    live.sort_by(|a, b| b.last_used_at.cmp(&a.last_used_at).then(a.id.cmp(&b.id)));
    live
}

#[async_trait]
impl SessionStore for MemorySessions {
    async fn create(
        &self,
        session: &Session,
        first_token: &TokenHash,
        cap: SessionCap,
    ) -> Result<u64, OwnedWriteError> {
        let mut state = self.0.lock()?;
        state.user_must_exist(session.user_id)?;
        State::unique(state.sessions.contains_key(&session.id), "session id")?;
        store_token(&mut state, *first_token, session.id)?;
        state.sessions.insert(session.id, session.clone());
        let live = live_sessions(
            &state,
            session.user_id,
            session.created_at,
            cap.idle_timeout,
        );
        let mut evicted = 0;
        for old in Session::beyond_cap(&live, session.id, cap.max) {
            evicted += state.end_sessions(
                session.user_id,
                EndScope::One(old),
                EndReason::Evicted,
                session.created_at,
            );
        }
        Ok(evicted)
    }

    async fn rotate(&self, rotation: &Rotation) -> Result<RotationOutcome, Infra> {
        rotate(&mut *self.0.lock()?, rotation)
    }

    async fn find_by_token(&self, token: &TokenHash) -> Result<Option<Session>, Infra> {
        let state = self.0.lock()?;
        Ok(state
            .refresh_tokens
            .get(token)
            .and_then(|t| state.sessions.get(&t.session))
            .cloned())
    }

    async fn load_principal(
        &self,
        user: UserId,
        session: SessionId,
    ) -> Result<Option<(User, Option<Session>)>, Infra> {
        let state = self.0.lock()?;
        Ok(state.users.get(&user).map(|u| {
            let session = state.sessions.get(&session).filter(|s| s.user_id == user);
            (u.clone(), session.cloned())
        }))
    }

    async fn list_live(
        &self,
        user: UserId,
        now: OffsetDateTime,
        idle_timeout: Duration,
    ) -> Result<Vec<Session>, Infra> {
        Ok(live_sessions(&*self.0.lock()?, user, now, idle_timeout))
    }

    async fn delete_ended(
        &self,
        ended_before: OffsetDateTime,
        idle_timeout: Duration,
    ) -> Result<u64, Infra> {
        let mut state = self.0.lock()?;
        let before = state.sessions.len();
        state
            .sessions
            .retain(|_, s| !s.ended_before(ended_before, idle_timeout));
        let State {
            sessions,
            refresh_tokens,
            ..
        } = &mut *state;
        refresh_tokens.retain(|_, t| sessions.contains_key(&t.session));
        Ok((before - sessions.len()) as u64)
    }

    async fn end(
        &self,
        user: UserId,
        scope: EndScope,
        reason: EndReason,
        now: OffsetDateTime,
    ) -> Result<u64, Infra> {
        Ok(self.0.lock()?.end_sessions(user, scope, reason, now))
    }
}
