//! The audit trail (SECURITY.md RL-06): every security event the application logs, as one
//! typed enum, so the fields an event carries are listed in one place and checked by the
//! compiler. What an event may say about an account nobody has proven to own is a keyed
//! fingerprint of the submitted identifier, never the address itself (ERR-04).

use std::fmt;
use std::hash::{BuildHasher, RandomState};

use gatehouse_domain::{EmailKey, ItemId, Session, SessionId, User, UserId};
use tracing::{info, warn};

use crate::{Client, LogoutScope};

/// Who made an administrative change.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Actor {
    /// A superuser, through the API.
    Superuser(UserId),
    /// The account's own holder (`by = "self"`).
    Holder,
    /// Whoever runs the binary (`gatehouse create-superuser`, `end-sessions`).
    Operator,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Superuser(id) => id.fmt(f),
            Self::Holder => f.write_str("self"),
            Self::Operator => f.write_str("operator"),
        }
    }
}

/// How a login failed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LoginFailure {
    IncorrectCredentials,
    Inactive,
    /// The account was deleted while its session was being opened.
    UserDeleted,
}

/// What came of a recovery request (the client sees the same answer for each).
#[derive(Clone, Copy, Debug)]
pub(crate) enum RecoveryOutcome {
    NoActiveAccount,
    EmailNotConfigured,
    UserDeleted,
    Sent,
}

/// Every security event, with whom it concerns and its outcome. The client's IP and user
/// agent are added by [`Audit::record`] for the events a client caused.
#[derive(Debug)]
pub(crate) enum Audit<'a> {
    Signup {
        user: UserId,
    },
    LoginSucceeded {
        user: UserId,
    },
    LoginFailed {
        outcome: LoginFailure,
        user: Option<UserId>,
        /// The fingerprint of the submitted address, when no account proved to be its.
        account: Option<String>,
    },
    Throttled {
        route: &'a str,
        per: &'a str,
        account: Option<String>,
        retry_after_s: i64,
    },
    /// A refresh token presented twice with the same successor: a retry, not a theft.
    RefreshReuseBenign {
        session: &'a Session,
    },
    RefreshReuseDetected {
        session: &'a Session,
    },
    RefreshFailed,
    Refresh {
        session: &'a Session,
    },
    Logout {
        user: UserId,
        session: SessionId,
        scope: LogoutScope,
    },
    SessionRevoked {
        user: UserId,
        session: SessionId,
    },
    AccountSessionsEnded {
        user: UserId,
        count: u64,
    },
    /// A new session pushed the least recently used out of the per-user cap.
    SessionsEvicted {
        user: UserId,
        count: u64,
        cap: usize,
    },
    NotSuperuser {
        user: UserId,
    },
    NotOwner {
        user: UserId,
        item: ItemId,
    },
    AccessTokenRejected {
        reason: &'a str,
    },
    SuperuserSeeded {
        user: UserId,
    },
    PasswordChangeFailed {
        user: UserId,
        concurrently: bool,
    },
    PasswordChanged {
        user: UserId,
    },
    PasswordRecoveryRequested {
        outcome: RecoveryOutcome,
        user: Option<UserId>,
        account: Option<String>,
    },
    PasswordReset {
        user: UserId,
    },
    PasswordResetFailed {
        inactive: bool,
    },
    UserCreated {
        user: &'a User,
        by: Actor,
    },
    UserUpdated {
        user: &'a User,
        by: Actor,
        password_set: bool,
    },
    UserDeleted {
        user: UserId,
        by: Actor,
    },
}

impl Audit<'_> {
    /// Logs the event; `client` is who sent the request that caused it, if one did.
    #[allow(clippy::too_many_lines)] // one arm per event, by design
    pub(crate) fn record(self, client: Option<&Client>) {
        let ip = client.and_then(|c| c.ip.as_deref());
        let user_agent = client.and_then(|c| c.user_agent.as_deref());
        match self {
            Self::Signup { user } => {
                info!(event = "signup", user_id = %user, ip, user_agent, outcome = "created");
            }
            Self::LoginSucceeded { user } => {
                info!(event = "login_succeeded", user_id = %user, ip, user_agent, outcome = "success");
            }
            Self::LoginFailed {
                outcome,
                user,
                account,
            } => {
                let outcome = match outcome {
                    LoginFailure::IncorrectCredentials => "incorrect_credentials",
                    LoginFailure::Inactive => "inactive",
                    LoginFailure::UserDeleted => "user_deleted",
                };
                let user_id = user.map(|id| id.to_string());
                info!(
                    event = "login_failed",
                    user_id, account, ip, user_agent, outcome
                );
            }
            Self::Throttled {
                route,
                per,
                account,
                retry_after_s,
            } => {
                info!(
                    event = "throttled",
                    route,
                    per,
                    account,
                    retry_after_s,
                    outcome = "refused"
                );
            }
            Self::RefreshReuseBenign { session } => {
                info!(event = "refresh_reuse_benign", user_id = %session.user_id, session_id = %session.id, ip, user_agent, outcome = "same_successor");
            }
            Self::RefreshReuseDetected { session } => {
                warn!(event = "refresh_reuse_detected", severity = "high", user_id = %session.user_id, session_id = %session.id, ip, user_agent, outcome = "session_revoked");
            }
            Self::RefreshFailed => {
                info!(
                    event = "refresh_failed",
                    ip,
                    user_agent,
                    outcome = "invalid_token"
                );
            }
            Self::Refresh { session } => {
                info!(event = "refresh", user_id = %session.user_id, session_id = %session.id, ip, user_agent, outcome = "rotated");
            }
            Self::Logout {
                user,
                session,
                scope,
            } => {
                info!(event = "logout", user_id = %user, session_id = %session, scope = ?scope, outcome = "ended");
            }
            Self::SessionRevoked { user, session } => {
                info!(event = "session_revoked", user_id = %user, session_id = %session, outcome = "ended");
            }
            Self::AccountSessionsEnded { user, count } => {
                info!(event = "account_sessions_ended", user_id = %user, count, by = %Actor::Operator, outcome = "ended");
            }
            Self::SessionsEvicted { user, count, cap } => {
                info!(event = "sessions_evicted", user_id = %user, count, cap, outcome = "ended");
            }
            Self::NotSuperuser { user } => {
                info!(event = "authorization_denied", user_id = %user, reason = "not_superuser");
            }
            Self::NotOwner { user, item } => {
                info!(event = "authorization_denied", user_id = %user, item_id = %item, reason = "not_owner");
            }
            Self::AccessTokenRejected { reason } => {
                info!(event = "access_token_rejected", reason);
            }
            Self::SuperuserSeeded { user } => info!(event = "superuser_seeded", user_id = %user),
            Self::PasswordChangeFailed { user, concurrently } => {
                let outcome = if concurrently {
                    "changed_concurrently"
                } else {
                    "incorrect_password"
                };
                info!(event = "password_change_failed", user_id = %user, outcome);
            }
            Self::PasswordChanged { user } => {
                info!(event = "password_changed", user_id = %user, outcome = "other_sessions_ended");
            }
            Self::PasswordRecoveryRequested {
                outcome,
                user,
                account,
            } => {
                let user_id = user.map(|id| id.to_string());
                let event = "password_recovery_requested";
                let (outcome, unexpected) = match outcome {
                    RecoveryOutcome::NoActiveAccount => ("no_active_account", false),
                    // An account asked for mail the deployment cannot send: worth a warning.
                    RecoveryOutcome::EmailNotConfigured => ("email_not_configured", true),
                    RecoveryOutcome::UserDeleted => ("user_deleted", false),
                    RecoveryOutcome::Sent => ("sent", false),
                };
                if unexpected {
                    warn!(event, user_id, account, ip, user_agent, outcome);
                } else {
                    info!(event, user_id, account, ip, user_agent, outcome);
                }
            }
            Self::PasswordReset { user } => {
                info!(event = "password_reset", user_id = %user, ip, user_agent, outcome = "all_sessions_ended");
            }
            Self::PasswordResetFailed { inactive } => {
                let outcome = if inactive {
                    "inactive_user"
                } else {
                    "invalid_token"
                };
                info!(event = "password_reset_failed", ip, user_agent, outcome);
            }
            Self::UserCreated { user, by } => {
                info!(event = "user_created", user_id = %user.id, by = %by, superuser = user.is_superuser, active = user.is_active, outcome = "created");
            }
            Self::UserUpdated {
                user,
                by,
                password_set,
            } => {
                info!(event = "user_updated", user_id = %user.id, by = %by, active = user.is_active, superuser = user.is_superuser, password_set, outcome = "updated");
            }
            Self::UserDeleted { user, by } => {
                info!(event = "user_deleted", user_id = %user, by = %by, outcome = "deleted");
            }
        }
    }
}

/// Fingerprints identifiers with a key drawn at start-up. A plain hash of an email address
/// is reversed by hashing guesses; a keyed one is not, and it still ties together the
/// attempts on one address within this process (not across replicas or restarts).
pub(crate) struct Fingerprints(RandomState);

impl Fingerprints {
    pub(crate) fn new() -> Self {
        Self(RandomState::new())
    }

    /// 64 keyed bits of `subject`, as 16 hex digits.
    pub(crate) fn of(&self, subject: &str) -> String {
        format!("{:016x}", self.0.hash_one(subject))
    }

    /// The fingerprint of a normalised email key.
    pub(crate) fn account(&self, key: &EmailKey) -> String {
        self.of(key.as_str())
    }
}
