//! The `AccessTokens` port over any token format: what every format shares (the issue stamp, the
//! length cap before parsing, the lifetime reported, the published keys) lives here once; a
//! [`Codec`] only encodes and decodes.

use gatehouse_domain::ports::{
    AccessClaims, AccessTokens, IssuedAccessToken, PublicKey, TokenRejected,
};
use gatehouse_domain::{Infra, Secret};
use time::{Duration, OffsetDateTime};

use crate::TokenSettings;
use crate::claims::{Reason, Stamp};

/// Longest token accepted, checked before any parsing (§4.2; pitfall K1).
const MAX_TOKEN_LEN: usize = 4096;

/// One token format.
pub(crate) trait Codec: Send + Sync {
    /// How far `iat`/`nbf` are back-dated for verifiers whose clocks lag (TOK-07).
    const BACKDATE: Duration;

    fn settings(&self) -> &TokenSettings;

    /// The verification keys to publish; empty for symmetric formats.
    fn published(&self) -> &[PublicKey];

    /// Signs or encrypts `stamp`.
    ///
    /// # Errors
    /// `Infra::Unexpected` when the cryptographic backend fails.
    fn encode(&self, stamp: &Stamp) -> Result<String, Infra>;

    /// Verifies `token` and its claims at `now`.
    ///
    /// # Errors
    /// The [`Reason`] it is refused.
    fn decode(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, Reason>;
}

/// A [`Codec`] serving as the port.
pub(crate) struct CodecTokens<C>(pub(crate) C);

impl<C: Codec> AccessTokens for CodecTokens<C> {
    fn issue(&self, claims: AccessClaims, now: OffsetDateTime) -> Result<IssuedAccessToken, Infra> {
        let ttl = self.0.settings().ttl;
        let token = Stamp::new(claims, now, ttl, C::BACKDATE).and_then(|s| self.0.encode(&s));
        Ok(IssuedAccessToken {
            token: Secret::new(token.map_err(|e| e.during("access_tokens.issue"))?),
            expires_in: ttl,
        })
    }

    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenRejected> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Reason::TooLong.into());
        }
        Ok(self.0.decode(token, now)?)
    }

    fn public_keys(&self) -> Vec<PublicKey> {
        self.0.published().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::error_chain;
    use time::PrimitiveDateTime;

    use crate::TokenFormat;
    use crate::keys::HmacSecret;
    use crate::testkit::{SECRET, build, claims};

    #[test]
    fn a_failure_to_issue_names_the_operation() {
        let tokens = build(TokenFormat::JwtHs256 {
            secret: HmacSecret::new(SECRET).unwrap(),
        });
        let end_of_time = PrimitiveDateTime::MAX.assume_utc();
        let failure = tokens.issue(claims(), end_of_time).unwrap_err();
        assert_eq!(
            error_chain(&failure),
            "unexpected infrastructure failure: during access_tokens.issue: token lifetime beyond the representable dates"
        );
    }
}
