//! Password recovery by email and the single-use reset (CONTRACT.md routes 3, 4, 5, 21;
//! SECURITY.md RT-13, RT-14, EN-03).

use gatehouse_domain::{
    Email, EmailKey, Infra, Password, User,
    ports::{OutgoingEmail, OwnedWriteError, Redemption},
    throttle::ThrottleKey,
};
use tracing::{instrument, warn};

use crate::audit::{Audit, RecoveryOutcome};
use crate::{Client, Gatehouse, Superuser, throttling::Throttled};

/// Why a recovery request was refused (it never reveals whether the account exists).
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why a reset failed.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// Unknown, expired, used, superseded or foreign token, or its user is gone.
    #[error("invalid token")]
    InvalidToken,
    #[error("inactive user")]
    Inactive,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why the recovery-mail preview failed.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("user not found")]
    NotFound,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why the test mail was not sent.
#[derive(Debug, thiserror::Error)]
#[error("email is not configured")]
pub struct EmailNotConfigured;

/// The token shown in the admin preview instead of a live one (AZ-06).
const PREVIEW_TOKEN: &str = "PREVIEW-ONLY-NOT-A-VALID-TOKEN";

impl Gatehouse {
    /// Sends a recovery link to an active account with this address, if any. The answer
    /// is the same whatever happens; the mail leaves off the request path.
    ///
    /// # Errors
    /// `Throttled` past the per-IP or per-address limit (unknown addresses alike).
    #[instrument(skip_all)]
    pub async fn recover_password(
        &self,
        address: &str,
        client: &Client,
    ) -> Result<(), RecoveryError> {
        let now = self.ports.clock.now();
        let rules = self.policy.throttle;
        let key = EmailKey::of(address);
        self.throttle_hit(&self.ip_key("recovery:ip", client), &rules.recovery_ip, now)
            .await?;
        self.throttle_hit(
            &ThrottleKey::new("recovery:email", key.as_str()),
            &rules.recovery_email,
            now,
        )
        .await?;
        let Some(user) = self
            .ports
            .users
            .find_by_email(&key)
            .await?
            .filter(|u| u.is_active)
        else {
            Audit::PasswordRecoveryRequested {
                outcome: RecoveryOutcome::NoActiveAccount,
                user: None,
                account: Some(self.fingerprints.account(&key)),
            }
            .record(Some(client));
            return Ok(());
        };
        if !self.ports.mailer.is_enabled() {
            recovery_requested(RecoveryOutcome::EmailNotConfigured, &user, client);
            return Ok(());
        }
        let token = self.ports.opaque_tokens.generate();
        let digest = self
            .ports
            .opaque_tokens
            .digest(token.expose())
            .ok_or_else(|| Infra::unexpected("generated reset token failed its own format"))?;
        let expires_at = now + self.policy.reset_token_lifetime;
        match self
            .ports
            .reset_tokens
            .issue(user.id, &digest, now, expires_at)
            .await
        {
            Ok(()) => {}
            Err(OwnedWriteError::OwnerGone) => {
                recovery_requested(RecoveryOutcome::UserDeleted, &user, client);
                return Ok(());
            }
            Err(OwnedWriteError::Infra(e)) => return Err(e.into()),
        }
        self.ports
            .mailer
            .send(self.policy.recovery_email(&user.email, token.expose())?)
            .await;
        recovery_requested(RecoveryOutcome::Sent, &user, client);
        Ok(())
    }

    /// Sets a new password with a reset token; every session of the user ends and the
    /// token is spent. A reset does not log in (RT-13).
    ///
    /// # Errors
    /// `Throttled` past the per-IP limit of invalid tokens; `InvalidToken`; `Inactive`.
    #[instrument(skip_all)]
    pub async fn reset_password(
        &self,
        token: &str,
        new: &Password,
        client: &Client,
    ) -> Result<(), ResetError> {
        let now = self.ports.clock.now();
        let rule = self.policy.throttle.reset_ip;
        let ip = self.ip_key("reset:ip", client);
        self.throttle_check(&ip, &rule, now).await?;
        let verdict = match self.ports.opaque_tokens.digest(token) {
            Some(digest) => match self.ports.reset_tokens.check(&digest, now).await? {
                Redemption::Done(_) => {
                    let hash = self.ports.hasher.hash(new).await?;
                    self.ports.reset_tokens.redeem(&digest, &hash, now).await?
                }
                other => other,
            },
            None => Redemption::Invalid,
        };
        match verdict {
            Redemption::Done(user_id) => {
                if let Some(user) = self.ports.users.get(user_id).await? {
                    let account = ThrottleKey::new("login:account", user.email.key().as_str());
                    self.ports.limiter.clear(&account).await?;
                }
                Audit::PasswordReset { user: user_id }.record(Some(client));
                Ok(())
            }
            Redemption::Inactive => {
                Audit::PasswordResetFailed { inactive: true }.record(Some(client));
                Err(ResetError::Inactive)
            }
            Redemption::Invalid => {
                Audit::PasswordResetFailed { inactive: false }.record(Some(client));
                self.ports.limiter.hit(&ip, &rule, now).await?;
                Err(ResetError::InvalidToken)
            }
        }
    }

    /// The recovery mail a user would get, with a placeholder instead of a live token.
    ///
    /// # Errors
    /// `NotFound` when no account has this address.
    #[instrument(skip_all)]
    pub async fn recovery_preview(
        &self,
        _: &Superuser<'_>,
        address: &str,
    ) -> Result<OutgoingEmail, PreviewError> {
        let user = self
            .ports
            .users
            .find_by_email(&EmailKey::of(address))
            .await?
            .ok_or(PreviewError::NotFound)?;
        Ok(self.policy.recovery_email(&user.email, PREVIEW_TOKEN)?)
    }

    /// Sends the test mail; delivery failures are logged, not reported.
    ///
    /// # Errors
    /// [`EmailNotConfigured`] when no mailer is configured.
    #[instrument(skip_all)]
    pub async fn send_test_email(
        &self,
        _: &Superuser<'_>,
        to: &Email,
    ) -> Result<(), EmailNotConfigured> {
        if !self.ports.mailer.is_enabled() {
            return Err(EmailNotConfigured);
        }
        self.send_rendered(self.policy.test_email(to)).await;
        Ok(())
    }

    /// Tells a freshly created user about their account, when email is on.
    pub(crate) async fn announce_account(&self, to: &Email) {
        if self.ports.mailer.is_enabled() {
            self.send_rendered(self.policy.new_account_email(to)).await;
        }
    }

    /// Sends a rendered mail whose failure the request does not report, like a delivery
    /// failure: a rendering error is logged instead.
    async fn send_rendered(&self, mail: Result<OutgoingEmail, Infra>) {
        match mail {
            Ok(mail) => self.ports.mailer.send(mail).await,
            Err(e) => warn!(error = %gatehouse_domain::error_chain(&e), "mail not sent"),
        }
    }
}

/// The audit event of a recovery request for an existing account.
fn recovery_requested(outcome: RecoveryOutcome, user: &User, client: &Client) {
    Audit::PasswordRecoveryRequested {
        outcome,
        user: Some(user.id),
        account: None,
    }
    .record(Some(client));
}
