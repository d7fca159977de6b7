//! `PasswordHasher`: hashing and constant-time verification of passwords.

use async_trait::async_trait;

use crate::{Infra, Password, PasswordHash};

/// The result of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The hash matched but is weaker than the configured parameters (bcrypt, another
    /// argon2 variant or lower cost): the caller should store a fresh hash.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords. Work runs off the async workers on a bounded pool.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash with the configured parameters and a fresh random salt.
    ///
    /// # Errors
    /// MUST return `Infra::Unavailable` when the hashing pool stays saturated past its wait
    /// limit (the caller answers 503).
    async fn hash(&self, password: &Password) -> Result<PasswordHash, Infra>;

    /// Checks `password` in constant time against `stored`. With `stored = None` (unknown
    /// user) it MUST do the same work against a dummy hash and answer no match, so timing
    /// does not reveal accounts. Hashes whose cost exceeds the ceiling, or that cannot be
    /// parsed, MUST answer no match without verifying.
    ///
    /// # Errors
    /// As [`PasswordHasher::hash`].
    async fn verify(
        &self,
        password: &Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verification, Infra>;
}
