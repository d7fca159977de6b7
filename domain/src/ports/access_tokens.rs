//! `AccessTokens`: issuing and verifying short-lived access tokens in the configured format.

use time::{Duration, OffsetDateTime};

use crate::{Infra, Secret, SessionId, UserId};

/// What an access token asserts: who, in which session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessClaims {
    pub user: UserId,
    pub session: SessionId,
}

/// A freshly issued access token.
#[derive(Clone, Debug)]
pub struct IssuedAccessToken {
    pub token: Secret,
    /// Lifetime, reported to clients as `expires_in`.
    pub expires_in: Duration,
}

/// A public verification key for the JWKS document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    /// The raw Ed25519 public key.
    pub ed25519: [u8; 32],
}

/// Why a presented access token was refused; every variant answers the same 403.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("access token rejected: {0}")]
pub struct TokenRejected(pub String);

/// Issues and verifies access tokens in the configured format.
pub trait AccessTokens: Send + Sync {
    /// Signs (or encrypts) a token for `claims`, valid from `now` for the configured lifetime.
    ///
    /// # Errors
    /// `Infra::Unexpected` if the cryptographic backend fails.
    fn issue(&self, claims: AccessClaims, now: OffsetDateTime) -> Result<IssuedAccessToken, Infra>;

    /// Verifies a token issued by [`AccessTokens::issue`] with the configured key set.
    ///
    /// # Errors
    /// MUST return `TokenRejected` for anything that is not such a token, valid at `now`:
    /// bad format, signature or key, another algorithm or version, wrong type, missing or
    /// mistyped claims, wrong issuer or audience, expired or not yet valid.
    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenRejected>;

    /// The public keys to publish, empty for symmetric formats.
    fn public_keys(&self) -> Vec<PublicKey>;
}
