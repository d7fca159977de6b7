//! Password login: throttling, constant-time verification, transparent re-hash, and a new
//! session with its first refresh token, within the per-user session cap.

use gatehouse_domain::{
    EmailKey, EndReason, Infra, Password, Secret, Session, SessionId, User,
    ports::{AccessClaims, EndScope, IssuedAccessToken},
    throttle::ThrottleKey,
};
use time::OffsetDateTime;
use tracing::{info, warn};

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
    /// # Errors
    /// `Throttled` before any hashing when the account or the client IP is locked;
    /// `IncorrectCredentials` for an unknown email or a wrong password, after the same work
    /// in both cases; `Inactive` for a deactivated account with the right password.
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
        let ip = ThrottleKey::new("login:ip", client.ip_subject());
        self.throttle_hit(&ip, &rules.login_ip, now).await?;
        self.throttle_check(&account, &rules.login_account, now)
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
                self.ports
                    .limiter
                    .hit(&account, &rules.login_account, now)
                    .await?;
                client_event!(
                    info,
                    "login_failed",
                    client,
                    "incorrect_credentials",
                    user_id = user.as_ref().map(|u| u.id.to_string()),
                    account = self.fingerprints.account(&key)
                );
                return Err(LoginError::IncorrectCredentials);
            }
        };
        if !user.is_active {
            client_event!(info, "login_failed", client, "inactive", user_id = %user.id);
            return Err(LoginError::Inactive);
        }
        self.ports.limiter.clear(&account).await?;
        if verdict.needs_rehash {
            self.upgrade_hash(&user, password).await;
        }
        let pair = self.open_session(&user, client).await?;
        client_event!(info, "login_succeeded", client, "success", user_id = %user.id);
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

    /// Ends the user's least recently used live sessions beyond
    /// `Policy::max_sessions_per_user`, never the one `newest` a login just opened. Two
    /// logins at once may both end the same session; ending it twice is harmless.
    async fn evict_beyond_the_cap(
        &self,
        newest: &Session,
        now: OffsetDateTime,
    ) -> Result<(), Infra> {
        let live = self
            .ports
            .sessions
            .list_live(newest.user_id, now, self.policy.session_idle_timeout)
            .await?;
        let others = live.iter().filter(|s| s.id != newest.id);
        let mut evicted = 0;
        for old in others.skip(self.policy.max_sessions_per_user.saturating_sub(1)) {
            evicted += self
                .ports
                .sessions
                .end(
                    newest.user_id,
                    EndScope::One(old.id),
                    EndReason::Evicted,
                    now,
                )
                .await?;
        }
        if evicted > 0 {
            info!(
                event = "sessions_evicted",
                user_id = %newest.user_id,
                count = evicted,
                cap = self.policy.max_sessions_per_user,
                outcome = "ended"
            );
        }
        Ok(())
    }

    /// Creates a session for `user` and issues its first token pair.
    async fn open_session(&self, user: &User, client: &Client) -> Result<TokenPair, Infra> {
        let now = self.ports.clock.now();
        let refresh = self.ports.opaque_tokens.generate();
        let digest = self
            .ports
            .opaque_tokens
            .digest(refresh.expose())
            .ok_or_else(|| Infra::unexpected("generated refresh token failed its own format"))?;
        let session = Session {
            id: SessionId::random(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            not_after: now + self.policy.session_lifetime,
            revoked_at: None,
            revoked_reason: None,
            user_agent: client.user_agent.clone(),
            ip: client.ip.clone(),
        };
        self.ports.sessions.create(&session, &digest).await?;
        self.evict_beyond_the_cap(&session, now).await?;
        let access = self.ports.access_tokens.issue(
            AccessClaims {
                user: user.id,
                session: session.id,
            },
            now,
        )?;
        Ok(TokenPair { access, refresh })
    }
}
