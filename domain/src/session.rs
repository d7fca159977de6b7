//! Login sessions: one per successful login, holding one refresh-token family.

use time::{Duration, OffsetDateTime};

use crate::ports::EndScope;
use crate::{SessionId, UserId};

/// A login session (`gatehouse_session`, SECURITY.md §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    /// Bumped by every refresh; drives the inactivity timeout.
    pub last_used_at: OffsetDateTime,
    /// Absolute end of life; never extended (RT-07).
    pub not_after: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_reason: Option<EndReason>,
    /// At most 512 characters, as sent by the client.
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl Session {
    /// Whether the session may still be used at `now`: not revoked, before `not_after`,
    /// and used within `idle_timeout`.
    pub fn is_live(&self, now: OffsetDateTime, idle_timeout: Duration) -> bool {
        self.revoked_at.is_none() && now < self.not_after && now - self.last_used_at <= idle_timeout
    }

    /// The sessions to end so that at most `max` stay live once `newest` was added: `live`
    /// holds the user's live sessions, most recently used first; `newest` is never chosen,
    /// the least recently used others are (`SessionStore::create` in both stores).
    pub fn beyond_cap(live: &[Session], newest: SessionId, max: usize) -> Vec<SessionId> {
        live.iter()
            .filter(|s| s.id != newest)
            .skip(max.saturating_sub(1))
            .map(|s| s.id)
            .collect()
    }

    /// Whether the session was already over before `cutoff`: revoked, past `not_after`, or
    /// idle, before it (`SessionStore::delete_ended`; the SQL adapter writes the same test).
    pub fn ended_before(&self, cutoff: OffsetDateTime, idle_timeout: Duration) -> bool {
        self.revoked_at.is_some_and(|at| at < cutoff)
            || self.not_after < cutoff
            || self.last_used_at < cutoff - idle_timeout
    }
}

/// Why a session ended; stored in `revoked_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Logout,
    ReuseDetected,
    PasswordChange,
    PasswordReset,
    UserDisabled,
    Admin,
    /// Pushed out by newer logins past the per-user cap (SECURITY.md RT-12).
    Evicted,
}

impl EndReason {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::ReuseDetected => "reuse_detected",
            Self::PasswordChange => "password_change",
            Self::PasswordReset => "password_reset",
            Self::UserDisabled => "user_disabled",
            Self::Admin => "admin",
            Self::Evicted => "evicted",
        }
    }

    /// Reads a stored spelling back; unknown values (a newer release's) read as `Admin`.
    pub fn parse(stored: &str) -> Self {
        [
            Self::Logout,
            Self::ReuseDetected,
            Self::PasswordChange,
            Self::PasswordReset,
            Self::UserDisabled,
            Self::Evicted,
        ]
        .into_iter()
        .find(|r| r.as_str() == stored)
        .unwrap_or(Self::Admin)
    }
}

/// What a write to a user does to that user's sessions, in the same transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// Sessions are untouched.
    Keep,
    /// Every live session of the user ends.
    All(EndReason),
    /// Every live session of the user but this one ends (password change, CONTRACT.md §9f).
    AllExcept(SessionId, EndReason),
}

impl SessionEnd {
    /// The sessions the write ends and why, or `None` when it keeps them: what both session
    /// stores revoke inside the user write.
    pub fn ending(self) -> Option<(EndScope, EndReason)> {
        match self {
            Self::Keep => None,
            Self::All(reason) => Some((EndScope::All, reason)),
            Self::AllExcept(keep, reason) => Some((EndScope::AllExcept(keep), reason)),
        }
    }
}

/// The SHA-256 digest of an opaque token (refresh or reset): the only form ever stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn session() -> Session {
        let t = datetime!(2026-01-01 00:00 UTC);
        Session {
            id: SessionId::random(),
            user_id: UserId::random(),
            created_at: t,
            last_used_at: t,
            not_after: t + Duration::days(30),
            revoked_at: None,
            revoked_reason: None,
            user_agent: None,
            ip: None,
        }
    }

    #[test]
    fn liveness_honours_revocation_absolute_and_idle_limits() {
        let s = session();
        let idle = Duration::days(7);
        assert!(s.is_live(s.created_at + Duration::days(7), idle));
        assert!(!s.is_live(
            s.created_at + Duration::days(7) + Duration::seconds(1),
            idle
        ));
        let mut used = s.clone();
        used.last_used_at = s.created_at + Duration::days(29);
        assert!(!used.is_live(s.not_after, idle));
        let mut revoked = s.clone();
        revoked.revoked_at = Some(s.created_at);
        assert!(!revoked.is_live(s.created_at, idle));
    }

    #[test]
    fn the_cap_ends_the_least_recently_used_others_never_the_newest() {
        let live: Vec<Session> = (0..4).map(|_| session()).collect();
        let ids: Vec<SessionId> = live.iter().map(|s| s.id).collect();
        assert_eq!(Session::beyond_cap(&live, ids[1], 2), vec![ids[2], ids[3]]);
        assert_eq!(
            Session::beyond_cap(&live, ids[0], 4),
            Vec::<SessionId>::new()
        );
        assert_eq!(
            Session::beyond_cap(&live, ids[3], 1),
            vec![ids[0], ids[1], ids[2]],
            "a cap of one keeps only the new session"
        );
    }

    #[test]
    fn reasons_round_trip() {
        for r in [
            EndReason::Logout,
            EndReason::ReuseDetected,
            EndReason::PasswordChange,
            EndReason::PasswordReset,
            EndReason::UserDisabled,
            EndReason::Admin,
            EndReason::Evicted,
        ] {
            assert_eq!(EndReason::parse(r.as_str()), r);
        }
    }

    #[test]
    fn a_user_write_ends_the_sessions_it_names_with_its_reason() {
        let keep = SessionId::random();
        assert_eq!(SessionEnd::Keep.ending(), None);
        assert_eq!(
            SessionEnd::All(EndReason::UserDisabled).ending(),
            Some((EndScope::All, EndReason::UserDisabled))
        );
        assert_eq!(
            SessionEnd::AllExcept(keep, EndReason::PasswordChange).ending(),
            Some((EndScope::AllExcept(keep), EndReason::PasswordChange))
        );
    }
}
