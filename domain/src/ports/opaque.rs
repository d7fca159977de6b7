//! `OpaqueTokens`: random refresh and reset tokens and the digests stored for them.

use crate::{Secret, session::TokenHash};

/// Opaque random tokens (refresh and reset): generation and the one-way digest stored.
pub trait OpaqueTokens: Send + Sync {
    /// A new token: 256 bits from the OS CSPRNG, base64url without padding (43 characters).
    fn generate(&self) -> Secret;

    /// The SHA-256 digest of a presented token; `None` when it is not 43 base64url
    /// characters, so malformed input never reaches storage.
    fn digest(&self, raw: &str) -> Option<TokenHash>;

    /// The refresh token that succeeds `raw` in its family: a keyed, deterministic
    /// derivation, so duplicate refresh requests inside the grace window get the same child.
    fn successor(&self, raw: &str) -> Secret;
}
