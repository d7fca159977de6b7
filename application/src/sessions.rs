//! Refresh-token rotation with reuse detection, logout, and the caller's session list
//! (CONTRACT.md §10, SECURITY.md §2.2, RT-*).

use gatehouse_domain::{
    Email, EndReason, Infra, Session, SessionId, User, UserId,
    ports::{AccessClaims, EndScope, Rotation, RotationOutcome},
};
use tracing::instrument;

use crate::audit::Audit;
use crate::{Client, Gatehouse, Principal, TokenPair, throttling::Throttled};

/// Why a refresh failed; every refusal is the same 401 to the client (D6).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    #[error("invalid refresh token")]
    Invalid,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Which sessions a logout ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogoutScope {
    /// The current session only.
    #[default]
    Local,
    /// Every session of the user.
    Global,
    /// Every session of the user but the current one.
    Others,
}

/// Why a logout failed.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// Neither a bearer token nor a refresh token was presented.
    #[error("not authenticated")]
    NotAuthenticated,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why ending one session failed.
#[derive(Debug, thiserror::Error)]
pub enum RevokeSessionError {
    /// Unknown, another user's, or already ended.
    #[error("session not found")]
    NotFound,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why an operator could not end an account's sessions.
#[derive(Debug, thiserror::Error)]
pub enum EndAccountSessionsError {
    #[error("no account has this email address")]
    UnknownAccount,
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl Gatehouse {
    /// Exchanges a refresh token for a new pair, consuming it.
    ///
    /// # Errors
    /// `Invalid` for malformed, unknown, expired, revoked and reused tokens alike — a reuse
    /// outside the grace window also revokes the whole session (RT-04); `Throttled` past the
    /// per-IP limit of invalid tokens.
    #[instrument(skip_all)]
    pub async fn refresh(&self, raw: &str, client: &Client) -> Result<TokenPair, RefreshError> {
        let now = self.ports.clock.now();
        let rule = self.policy.throttle.refresh_ip;
        let ip = self.ip_key("refresh:ip", client);
        self.throttle_check(&ip, &rule, now).await?;
        let tokens = &self.ports.opaque_tokens;
        let presented = tokens.digest(raw);
        let successor = tokens.successor(raw);
        let outcome = match (presented, tokens.digest(successor.expose())) {
            (Some(presented), Some(child)) => {
                self.ports
                    .sessions
                    .rotate(&Rotation {
                        presented,
                        successor: child,
                        now,
                        grace: self.policy.refresh_grace,
                        idle_timeout: self.policy.session_idle_timeout,
                    })
                    .await?
            }
            _ => RotationOutcome::Invalid,
        };
        let session = match outcome {
            RotationOutcome::Rotated(session) => session,
            RotationOutcome::Repeated(session) => {
                Audit::RefreshReuseBenign { session: &session }.record(Some(client));
                session
            }
            RotationOutcome::ReuseDetected(session) => {
                Audit::RefreshReuseDetected { session: &session }.record(Some(client));
                self.ports.limiter.hit(&ip, &rule, now).await?;
                return Err(RefreshError::Invalid);
            }
            RotationOutcome::Invalid => {
                Audit::RefreshFailed.record(Some(client));
                self.ports.limiter.hit(&ip, &rule, now).await?;
                return Err(RefreshError::Invalid);
            }
        };
        // Deactivation through the API ends sessions; an account changed behind its back
        // (a direct database edit) must not keep minting tokens either.
        let active = self.ports.users.get(session.user_id).await?;
        if !active.is_some_and(|user| user.is_active) {
            return Err(RefreshError::Invalid);
        }
        let access = self.ports.access_tokens.issue(
            AccessClaims {
                user: session.user_id,
                session: session.id,
            },
            now,
        )?;
        Audit::Refresh { session: &session }.record(Some(client));
        Ok(TokenPair {
            access,
            refresh: successor,
        })
    }

    /// Ends sessions. With a principal, `scope` is relative to its session, and a refresh
    /// token of one of the caller's own sessions ends that one too. Without, the refresh
    /// token's session is the current one. Unknown, foreign or ended refresh tokens change
    /// nothing, and the answer is the same (idempotent, D6).
    ///
    /// # Errors
    /// `NotAuthenticated` with neither credential.
    #[instrument(skip_all)]
    pub async fn logout(
        &self,
        principal: Option<&Principal>,
        refresh: Option<&str>,
        scope: LogoutScope,
    ) -> Result<(), LogoutError> {
        let by_refresh = match refresh {
            Some(raw) => self.live_session_of(raw).await?,
            None => None,
        };
        let (user, current) = match (principal, &by_refresh) {
            (Some(p), _) => (p.user.id, p.session),
            (None, Some(s)) => (s.user_id, s.id),
            (None, None) if refresh.is_some() => return Ok(()),
            (None, None) => return Err(LogoutError::NotAuthenticated),
        };
        let scope_to_end = match scope {
            LogoutScope::Local => EndScope::One(current),
            LogoutScope::Global => EndScope::All,
            LogoutScope::Others => EndScope::AllExcept(current),
        };
        self.end_sessions(user, scope_to_end, EndReason::Logout)
            .await?;
        if let Some(s) = by_refresh.filter(|s| s.user_id == user && s.id != current) {
            self.end_sessions(user, EndScope::One(s.id), EndReason::Logout)
                .await?;
        }
        Audit::Logout {
            user,
            session: current,
            scope,
        }
        .record(None);
        Ok(())
    }

    /// The session a refresh token belongs to, if it is still live.
    async fn live_session_of(&self, raw: &str) -> Result<Option<Session>, Infra> {
        let Some(digest) = self.ports.opaque_tokens.digest(raw) else {
            return Ok(None);
        };
        let now = self.ports.clock.now();
        let session = self.ports.sessions.find_by_token(&digest).await?;
        Ok(session.filter(|s| s.is_live(now, self.policy.session_idle_timeout)))
    }

    /// The caller's live sessions, most recently used first.
    ///
    /// # Errors
    /// `Infra` only.
    #[instrument(skip_all)]
    pub async fn list_sessions(&self, me: &Principal) -> Result<Vec<Session>, Infra> {
        let now = self.ports.clock.now();
        self.ports
            .sessions
            .list_live(me.user.id, now, self.policy.session_idle_timeout)
            .await
    }

    /// Ends one of the caller's live sessions, possibly the current one.
    ///
    /// # Errors
    /// `NotFound` when it is not a live session of the caller.
    #[instrument(skip_all, fields(session_id = %id))]
    pub async fn revoke_session(
        &self,
        me: &Principal,
        id: SessionId,
    ) -> Result<(), RevokeSessionError> {
        let live = self.list_sessions(me).await?;
        if !live.iter().any(|s| s.id == id) {
            return Err(RevokeSessionError::NotFound);
        }
        self.end_sessions(me.user.id, EndScope::One(id), EndReason::Logout)
            .await?;
        Audit::SessionRevoked {
            user: me.user.id,
            session: id,
        }
        .record(None);
        Ok(())
    }

    /// Ends every session of the account with `email`, leaving it active: an operator's "log
    /// out everywhere" after a suspected compromise (SECURITY.md RT-10). Returns the account
    /// and how many sessions ended.
    ///
    /// # Errors
    /// `UnknownAccount` when no account has this address (compared case-insensitively).
    #[instrument(skip_all)]
    pub async fn end_account_sessions(
        &self,
        email: &Email,
    ) -> Result<(User, u64), EndAccountSessionsError> {
        let user = self
            .ports
            .users
            .find_by_email(&email.key())
            .await?
            .ok_or(EndAccountSessionsError::UnknownAccount)?;
        let ended = self
            .end_sessions(user.id, EndScope::All, EndReason::Admin)
            .await?;
        Audit::AccountSessionsEnded {
            user: user.id,
            count: ended,
        }
        .record(None);
        Ok((user, ended))
    }

    /// Ends sessions of `user` now.
    async fn end_sessions(
        &self,
        user: UserId,
        scope: EndScope,
        reason: EndReason,
    ) -> Result<u64, Infra> {
        let now = self.ports.clock.now();
        self.ports.sessions.end(user, scope, reason, now).await
    }
}
