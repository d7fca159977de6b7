//! Self-service registration (CONTRACT.md route 12).

use gatehouse_domain::{Email, FullName, Infra, Password, User, UserId, ports::UserWriteError};
use tracing::instrument;

use crate::audit::Audit;
use crate::{Client, Gatehouse, throttling::Throttled};

/// A registration request, already parsed.
#[derive(Debug)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub full_name: Option<FullName>,
}

/// Why a signup failed.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// The address (in any case) is registered already (SECURITY.md D5).
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl From<UserWriteError> for SignupError {
    fn from(e: UserWriteError) -> Self {
        match e {
            UserWriteError::EmailTaken => Self::EmailTaken,
            other => Self::Infra(infra_of(other)),
        }
    }
}

impl Gatehouse {
    /// Registers an active, non-superuser account. No session, no email.
    ///
    /// # Errors
    /// `Throttled` past the per-IP limit, `EmailTaken` for a registered address.
    #[instrument(skip_all)]
    pub async fn signup(&self, form: Registration, client: &Client) -> Result<User, SignupError> {
        let now = self.ports.clock.now();
        let ip = self.ip_key("signup:ip", client);
        self.throttle_hit(&ip, &self.policy.throttle.signup_ip, now)
            .await?;
        let user = self
            .create_account(form.email, &form.password, form.full_name, false, true)
            .await?;
        Audit::Signup { user: user.id }.record(Some(client));
        Ok(user)
    }

    /// The development-only private route: an active user with the address stored as
    /// given and no password rule (CONTRACT.md route 23).
    ///
    /// # Errors
    /// `EmailTaken` for a registered address (in any case).
    #[instrument(skip_all)]
    pub async fn create_private_user(
        &self,
        email: Email,
        password: &Password,
        full_name: FullName,
    ) -> Result<User, SignupError> {
        self.create_account(email, password, Some(full_name), false, true)
            .await
            .map_err(SignupError::from)
    }

    /// Hashes the password and stores a new account. Checks the address first so that a
    /// duplicate costs no hashing; the store's unique index still decides races.
    pub(crate) async fn create_account(
        &self,
        email: Email,
        password: &Password,
        full_name: Option<FullName>,
        is_superuser: bool,
        is_active: bool,
    ) -> Result<User, UserWriteError> {
        if self
            .ports
            .users
            .find_by_email(&email.key())
            .await?
            .is_some()
        {
            return Err(UserWriteError::EmailTaken);
        }
        let hashed_password = self.ports.hasher.hash(password).await?;
        let user = User {
            id: UserId::from_uuid(self.ports.ids.next()),
            email,
            is_active,
            is_superuser,
            full_name,
            hashed_password,
            created_at: Some(self.ports.clock.now()),
        };
        self.ports.users.insert(&user).await?;
        Ok(user)
    }
}

/// The infrastructure failure inside a write error that has no business meaning where it
/// occurred (e.g. `NotFound` from an insert, which the port never returns).
pub(crate) fn infra_of(e: UserWriteError) -> Infra {
    match e {
        UserWriteError::Infra(i) => i,
        other => Infra::unexpected(other),
    }
}
