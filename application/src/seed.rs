//! First-superuser seeding at start-up (CONTRACT.md §11 `FIRST_SUPERUSER`).

use gatehouse_domain::{Email, Infra, Password, ports::UserWriteError};
use tracing::instrument;

use crate::Gatehouse;
use crate::audit::Audit;

/// What seeding did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    Created,
    /// An account with this address (in any case) exists; it was left untouched.
    AlreadyPresent,
}

impl Gatehouse {
    /// Creates the configured superuser unless the address exists; never modifies an
    /// existing user.
    ///
    /// # Errors
    /// `Infra` only; a concurrent replica creating it first counts as `AlreadyPresent`.
    #[instrument(skip_all)]
    pub async fn seed_superuser(
        &self,
        email: Email,
        password: &Password,
    ) -> Result<SeedOutcome, Infra> {
        match self.create_account(email, password, None, true, true).await {
            Ok(user) => {
                Audit::SuperuserSeeded { user: user.id }.record(None);
                Ok(SeedOutcome::Created)
            }
            Err(UserWriteError::EmailTaken) => Ok(SeedOutcome::AlreadyPresent),
            Err(e) => Err(crate::signup::infra_of(e)),
        }
    }
}
