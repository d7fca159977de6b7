//! `SessionStore`: login sessions, refresh-token rotation and revocation.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::{
    EndReason, Infra, Session, SessionId, User, UserId, ports::OwnedWriteError, session::TokenHash,
};

/// Which of a user's sessions to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndScope {
    One(SessionId),
    All,
    AllExcept(SessionId),
}

/// One refresh request, as the store needs it.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// Hash of the presented refresh token.
    pub presented: TokenHash,
    /// Hash of its successor (derived from the presented token, so a benign duplicate
    /// request computes the same one).
    pub successor: TokenHash,
    pub now: OffsetDateTime,
    /// How long after a rotation a repeat of the parent is treated as a benign race; zero
    /// turns the window off.
    pub grace: Duration,
    /// Inactivity timeout of sessions.
    pub idle_timeout: Duration,
}

impl Rotation {
    /// Whether a repeat of the presented token `elapsed` after its rotation falls in the
    /// grace window (D14). A zero grace means no window at all, so even a repeat at the
    /// same instant is reuse (RT-06: of concurrent refreshes one succeeds, the rest fail);
    /// otherwise the window is closed, "rotated ≤ grace ago" (RT-05).
    pub fn within_grace(&self, elapsed: Duration) -> bool {
        self.grace > Duration::ZERO && elapsed <= self.grace
    }

    /// Steps 3–5 of SECURITY.md §2.2 on the presented token's session and `used_at` as
    /// stored now (read under the store's lock). `successor_unused` says whether the child
    /// stored when the token was rotated is this request's successor and still unused; it
    /// only matters for a used token. Both stores decide with this one function.
    pub fn decide(
        &self,
        session: &Session,
        used_at: Option<OffsetDateTime>,
        successor_unused: bool,
    ) -> RotationStep {
        if !session.is_live(self.now, self.idle_timeout) {
            return RotationStep::Invalid;
        }
        match used_at {
            None => RotationStep::Rotate,
            Some(used) if self.within_grace(self.now - used) && successor_unused => {
                RotationStep::Repeat
            }
            Some(_) => RotationStep::RevokeForReuse,
        }
    }
}

/// What a rotation must do, decided by [`Rotation::decide`]; the store carries it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationStep {
    /// Mark the token used, store the successor as its child, bump `last_used_at`.
    Rotate,
    /// A benign repeat within the grace window: write nothing, hand out the same successor.
    Repeat,
    /// Reuse: revoke the session with reason `reuse_detected`, and commit that.
    RevokeForReuse,
    /// The session is revoked, expired or idle too long.
    Invalid,
}

/// The per-user session cap a new session is created under (SECURITY.md RT-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCap {
    /// Live sessions one user may hold, the new one included.
    pub max: usize,
    /// Inactivity timeout of sessions (what "live" means).
    pub idle_timeout: Duration,
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The presented token was unused: it is now used, the successor stored as its child,
    /// and the session's `last_used_at` bumped.
    Rotated(Session),
    /// The presented token was rotated within the grace window and its successor is still
    /// unused: nothing was written; the caller hands out the same successor again.
    Repeated(Session),
    /// Any other reuse of a used token: the session has been revoked with reason
    /// `reuse_detected` and that revocation is committed.
    ReuseDetected(Session),
    /// Unknown token, or its session is revoked, past `not_after` or idle too long.
    Invalid,
}

/// Stores sessions and their refresh-token families (SECURITY.md §2.2).
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session with its first refresh token and, in the same atomic step
    /// serialised per user, ends with reason `evicted` the user's live sessions beyond
    /// `cap` ([`Session::beyond_cap`]: least recently used first, never the new one), so
    /// concurrent logins cannot leave more than `cap.max` live. Returns how many it ended.
    ///
    /// # Errors
    /// MUST return `OwnerGone`, storing nothing, when the user does not exist.
    async fn create(
        &self,
        session: &Session,
        first_token: &TokenHash,
        cap: SessionCap,
    ) -> Result<u64, OwnedWriteError>;

    /// One rotation step, atomic and serialised per session (a row lock on PostgreSQL, a
    /// write lock on SQLite): of concurrent rotations of one token exactly one can return
    /// `Rotated`, and a session never gets two children of one token.
    ///
    /// # Errors
    /// MUST return `Infra::Unavailable` when the lock cannot be had in time; nothing is
    /// written then.
    async fn rotate(&self, rotation: &Rotation) -> Result<RotationOutcome, Infra>;

    /// The session that issued this refresh token (used or not), if any.
    ///
    /// # Errors
    /// `Infra` only.
    async fn find_by_token(&self, token: &TokenHash) -> Result<Option<Session>, Infra>;

    /// The user `user` together with their session `session` when it exists and belongs to
    /// them — one indexed query per authenticated request (SECURITY.md TOK-13). `None` when
    /// the user does not exist.
    ///
    /// # Errors
    /// `Infra` only.
    async fn load_principal(
        &self,
        user: UserId,
        session: SessionId,
    ) -> Result<Option<(User, Option<Session>)>, Infra>;

    /// The user's live sessions at `now`, most recently used first.
    ///
    /// # Errors
    /// `Infra` only.
    async fn list_live(
        &self,
        user: UserId,
        now: OffsetDateTime,
        idle_timeout: Duration,
    ) -> Result<Vec<Session>, Infra>;

    /// Deletes, with their refresh tokens, the sessions that were over before `ended_before`:
    /// revoked before it, past `not_after` before it, or last used before
    /// `ended_before - idle_timeout`. Live sessions and recently ended ones (kept for the
    /// audit trail and for telling a reused token's owner) stay. Returns how many sessions
    /// were deleted; works in batches, so a huge backlog never holds locks for long.
    ///
    /// # Errors
    /// `Infra` only; batches already deleted stay deleted.
    async fn delete_ended(
        &self,
        ended_before: OffsetDateTime,
        idle_timeout: Duration,
    ) -> Result<u64, Infra>;

    /// Revokes the user's not-yet-revoked sessions in `scope` with `reason`; sessions of
    /// other users are never touched. Returns how many sessions were revoked.
    ///
    /// # Errors
    /// `Infra` only.
    async fn end(
        &self,
        user: UserId,
        scope: EndScope,
        reason: EndReason,
        now: OffsetDateTime,
    ) -> Result<u64, Infra>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_grace(grace: Duration) -> Rotation {
        Rotation {
            presented: TokenHash([1; 32]),
            successor: TokenHash([2; 32]),
            now: OffsetDateTime::UNIX_EPOCH,
            grace,
            idle_timeout: Duration::days(7),
        }
    }

    #[test]
    fn the_grace_window_is_closed_and_a_zero_grace_has_none() {
        let ten = with_grace(Duration::seconds(10));
        assert!(ten.within_grace(Duration::ZERO));
        assert!(ten.within_grace(Duration::seconds(10)));
        assert!(!ten.within_grace(Duration::seconds(10) + Duration::MICROSECOND));
        assert!(!with_grace(Duration::ZERO).within_grace(Duration::ZERO));
    }

    #[test]
    fn a_used_token_repeats_only_within_grace_with_its_own_unused_successor() {
        let r = with_grace(Duration::seconds(10));
        let session = Session {
            id: SessionId::random(),
            user_id: UserId::random(),
            created_at: r.now,
            last_used_at: r.now,
            not_after: r.now + Duration::days(30),
            revoked_at: None,
            revoked_reason: None,
            user_agent: None,
            ip: None,
        };
        let just = Some(r.now - Duration::seconds(2));
        let long_ago = Some(r.now - Duration::seconds(11));
        assert_eq!(r.decide(&session, None, false), RotationStep::Rotate);
        assert_eq!(r.decide(&session, just, true), RotationStep::Repeat);
        assert_eq!(
            r.decide(&session, just, false),
            RotationStep::RevokeForReuse,
            "another successor, or one already used"
        );
        assert_eq!(
            r.decide(&session, long_ago, true),
            RotationStep::RevokeForReuse
        );
        let revoked = Session {
            revoked_at: Some(r.now),
            ..session
        };
        assert_eq!(r.decide(&revoked, None, false), RotationStep::Invalid);
    }
}
