//! Password login: throttling, constant-time verification, transparent re-hash, and a new
//! session with its first refresh token, within the per-user session cap.

use gatehouse_domain::{
    EmailKey, Infra, Password, Secret, Session, SessionId, User,
    ports::{AccessClaims, IssuedAccessToken, OwnedWriteError, SessionCap},
    throttle::ThrottleKey,
};
use tracing::{info, instrument, warn};

use crate::audit::{Audit, LoginFailure};
use crate::{Client, Gatehouse, throttling::Throttled};

/// What a successful login or refresh hands to the client.
#[derive(Debug)]
pub struct TokenPair {
    pub access: IssuedAccessToken,
    pub refresh: Secret,
}

/// Why a login failed (CONTRACT.md route 1).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// Unknown email or wrong password: one answer for both (EN-01).
    #[error("incorrect email or password")]
    IncorrectCredentials,
    /// Correct password, deactivated account.
    #[error("inactive user")]
    Inactive,
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl Gatehouse {
    /// Logs in with an email and password and opens a session.
    ///
    /// Both limits count the attempt before the password is verified (an atomic reserve:
    /// increment, then judge the new count), so however many guesses arrive together, at
    /// most the account limit of them are verified per window; a success clears the
    /// account's count.
    ///
    /// # Errors
    /// `Throttled` before any hashing when the account or the client IP is locked;
    /// `IncorrectCredentials` for an unknown email or a wrong password, after the same work
    /// in both cases (and for an account deleted while the login ran); `Inactive` for a
    /// deactivated account with the right password.
    #[instrument(skip_all)]
    pub async fn login(
        &self,
        username: &str,
        password: &Password,
        client: &Client,
    ) -> Result<TokenPair, LoginError> {
        let now = self.ports.clock.now();
        let rules = self.policy.throttle;
        let key = EmailKey::of(username);
        let account = ThrottleKey::new("login:account", key.as_str());
        let ip = self.ip_key("login:ip", client);
        self.throttle_hit(&ip, &rules.login_ip, now).await?;
        self.throttle_hit(&account, &rules.login_account, now)
            .await?;

        let user = self.ports.users.find_by_email(&key).await?;
        let verdict = self
            .ports
            .hasher
            .verify(password, user.as_ref().map(|u| &u.hashed_password))
            .await?;
        let user = match user {
            Some(user) if verdict.matches => user,
            _ => {
                Audit::LoginFailed {
                    outcome: LoginFailure::IncorrectCredentials,
                    user: user.as_ref().map(|u| u.id),
                    account: Some(self.fingerprints.account(&key)),
                }
                .record(Some(client));
                return Err(LoginError::IncorrectCredentials);
            }
        };
        if !user.is_active {
            Audit::LoginFailed {
                outcome: LoginFailure::Inactive,
                user: Some(user.id),
                account: None,
            }
            .record(Some(client));
            return Err(LoginError::Inactive);
        }
        // A success is no guess: it consumes neither the account's count nor the address's
        // (SECURITY.md RL-02: a site behind one proxy address keeps working at cut-over).
        self.ports
            .limiter
            .clear_and_release(&account, &ip, now)
            .await?;
        if verdict.needs_rehash {
            self.upgrade_hash(&user, password).await;
        }
        let Some(pair) = self.open_session(&user, client).await? else {
            Audit::LoginFailed {
                outcome: LoginFailure::UserDeleted,
                user: Some(user.id),
                account: None,
            }
            .record(Some(client));
            return Err(LoginError::IncorrectCredentials);
        };
        Audit::LoginSucceeded { user: user.id }.record(Some(client));
        Ok(pair)
    }

    /// Stores a hash with the current parameters; a failure never fails the login (PW-04).
    async fn upgrade_hash(&self, user: &User, password: &Password) {
        let result = match self.ports.hasher.hash(password).await {
            Ok(new) => {
                self.ports
                    .users
                    .upgrade_hash(user.id, &user.hashed_password, &new)
                    .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => info!(event = "password_hash_upgraded", user_id = %user.id),
            Err(e) => warn!(event = "password_hash_upgrade_failed", user_id = %user.id, error = %e),
        }
    }

    /// Creates a session for `user` within the per-user cap and issues its first token
    /// pair; `None` when the user was deleted meanwhile.
    async fn open_session(&self, user: &User, client: &Client) -> Result<Option<TokenPair>, Infra> {
        let now = self.ports.clock.now();
        let refresh = self.ports.opaque_tokens.generate();
        let digest = self
            .ports
            .opaque_tokens
            .digest(refresh.expose())
            .ok_or_else(|| Infra::unexpected("generated refresh token failed its own format"))?;
        let session = Session {
            id: SessionId::from_uuid(self.ports.ids.next()),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            not_after: now + self.policy.session_lifetime,
            revoked_at: None,
            revoked_reason: None,
            user_agent: client.user_agent.clone(),
            ip: client.ip.clone(),
        };
        let cap = SessionCap {
            max: self.policy.max_sessions_per_user,
            idle_timeout: self.policy.session_idle_timeout,
        };
        let evicted = match self.ports.sessions.create(&session, &digest, cap).await {
            Ok(evicted) => evicted,
            Err(OwnedWriteError::OwnerGone) => return Ok(None),
            Err(OwnedWriteError::Infra(e)) => return Err(e),
        };
        if evicted > 0 {
            Audit::SessionsEvicted {
                user: user.id,
                count: evicted,
                cap: cap.max,
            }
            .record(None);
        }
        let access = self.ports.access_tokens.issue(
            AccessClaims {
                user: user.id,
                session: session.id,
            },
            now,
        )?;
        Ok(Some(TokenPair { access, refresh }))
    }
}
