//! Choosing and building the access-token format from configuration, with a start-up self-test
//! so a broken crypto backend fails when the service starts, not at the first login (pitfall J5).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use gatehouse_domain::ports::{AccessClaims, AccessTokens};
use gatehouse_domain::{SessionId, UserId};
use time::{Duration, OffsetDateTime};

use crate::jwt::JwtCodec;
use crate::keys::{Ed25519PublicKey, Ed25519SigningKey, HmacSecret, KeyError, LocalKey};
use crate::paseto::PasetoCodec;

/// What every access token says about where it comes from and how long it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSettings {
    /// `iss`, matched exactly on verify (TOK-04).
    pub issuer: String,
    /// `aud`, matched exactly on verify (TOK-04, pitfall J2).
    pub audience: String,
    /// Lifetime, `ACCESS_TOKEN_EXPIRE_MINUTES` (TOK-01).
    pub ttl: Duration,
    /// `ENVIRONMENT`: PASETO tokens are bound to it through their implicit assertion (TOK-09).
    pub environment: String,
}

/// The configured token format and its keys. The first key of each format signs; the others
/// only verify, which is how a key is rotated out (CFG-05): sign with B while A still verifies,
/// then drop A.
#[derive(Debug)]
pub enum TokenFormat {
    /// JWT HS256 keyed with `SECRET_KEY` (the default).
    JwtHs256 { secret: HmacSecret },
    /// JWT EdDSA (Ed25519); `kid` = RFC 7638 thumbprint; the public keys go to the JWKS document.
    JwtEdDsa {
        signing: Ed25519SigningKey,
        previous: Vec<Ed25519PublicKey>,
    },
    /// PASETO `v4.local`; footer `kid` = PASERK `k4.lid.` id.
    PasetoLocal {
        current: LocalKey,
        previous: Vec<LocalKey>,
    },
    /// PASETO `v4.public`; footer `kid` = PASERK `k4.pid.` id.
    PasetoPublic {
        signing: Ed25519SigningKey,
        previous: Vec<Ed25519PublicKey>,
    },
}

/// Why the token service could not be built; reported by the configuration layer (exit 78).
#[derive(Debug, thiserror::Error)]
pub enum TokenSetupError {
    #[error("the access-token lifetime must be at least one second")]
    Lifetime,
    #[error("the token {0} must not be empty")]
    Empty(&'static str),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the token backend failed its start-up self-test: {0}")]
    SelfTest(String),
}

/// Builds the `AccessTokens` port for `format`, after checking `settings` and signing and
/// verifying one token.
///
/// # Errors
/// `Lifetime` or `Empty` for unusable settings, `Key` for unusable keys, `SelfTest` when issuing
/// or verifying fails (e.g. jsonwebtoken built without exactly one crypto backend, which panics).
pub fn build_access_tokens(
    format: TokenFormat,
    settings: TokenSettings,
) -> Result<Arc<dyn AccessTokens>, TokenSetupError> {
    if settings.ttl < Duration::SECOND {
        return Err(TokenSetupError::Lifetime);
    }
    for (name, value) in [
        ("issuer", &settings.issuer),
        ("audience", &settings.audience),
        ("environment", &settings.environment),
    ] {
        if value.is_empty() {
            return Err(TokenSetupError::Empty(name));
        }
    }
    let tokens: Arc<dyn AccessTokens> = match format {
        TokenFormat::JwtHs256 { secret } => Arc::new(JwtCodec::hs256(&secret, settings)),
        TokenFormat::JwtEdDsa { signing, previous } => {
            Arc::new(JwtCodec::eddsa(&signing, &previous, settings))
        }
        TokenFormat::PasetoLocal { current, previous } => {
            Arc::new(PasetoCodec::local(&current, &previous, settings))
        }
        TokenFormat::PasetoPublic { signing, previous } => {
            Arc::new(PasetoCodec::public(&signing, &previous, settings)?)
        }
    };
    self_test(tokens.as_ref())?;
    Ok(tokens)
}

/// Issues and verifies one token now, turning a backend panic into an error.
fn self_test(tokens: &dyn AccessTokens) -> Result<(), TokenSetupError> {
    let claims = AccessClaims {
        user: UserId::random(),
        session: SessionId::random(),
    };
    let round_trip = catch_unwind(AssertUnwindSafe(|| {
        let now = OffsetDateTime::now_utc();
        let issued = tokens.issue(claims, now).map_err(|e| {
            let cause = std::error::Error::source(&e).map(ToString::to_string);
            format!("issue: {e}: {}", cause.unwrap_or_default())
        })?;
        tokens
            .verify(issued.token.expose(), now)
            .map_err(|e| format!("verify: {e}"))
    }));
    match round_trip {
        Ok(Ok(verified)) if verified == claims => Ok(()),
        Ok(Ok(_)) => Err(TokenSetupError::SelfTest("verified claims differ".into())),
        Ok(Err(message)) => Err(TokenSetupError::SelfTest(message)),
        Err(_) => Err(TokenSetupError::SelfTest(
            "the crypto backend panicked".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::Infra;
    use gatehouse_domain::ports::{IssuedAccessToken, PublicKey, TokenRejected};

    use super::*;
    use crate::testkit::{SECRET, settings};

    fn hs() -> TokenFormat {
        TokenFormat::JwtHs256 {
            secret: HmacSecret::new(SECRET).unwrap(),
        }
    }

    #[test]
    fn every_format_builds_and_passes_its_self_test() {
        for format in [
            hs(),
            TokenFormat::JwtEdDsa {
                signing: Ed25519SigningKey::generate().unwrap(),
                previous: Vec::new(),
            },
            TokenFormat::PasetoLocal {
                current: LocalKey::generate().unwrap(),
                previous: Vec::new(),
            },
            TokenFormat::PasetoPublic {
                signing: Ed25519SigningKey::generate().unwrap(),
                previous: Vec::new(),
            },
        ] {
            assert!(build_access_tokens(format, settings()).is_ok());
        }
    }

    #[test]
    fn unusable_settings_are_refused() {
        let zero = TokenSettings {
            ttl: Duration::ZERO,
            ..settings()
        };
        assert!(matches!(
            build_access_tokens(hs(), zero),
            Err(TokenSetupError::Lifetime)
        ));
        let absurd = TokenSettings {
            ttl: Duration::weeks(52 * 100_000),
            ..settings()
        };
        assert!(matches!(
            build_access_tokens(hs(), absurd),
            Err(TokenSetupError::SelfTest(_))
        ));
        let no_audience = TokenSettings {
            audience: String::new(),
            ..settings()
        };
        assert!(matches!(
            build_access_tokens(hs(), no_audience),
            Err(TokenSetupError::Empty("audience"))
        ));
    }

    /// A backend that panics like jsonwebtoken without exactly one crypto provider.
    struct Panicking;

    impl AccessTokens for Panicking {
        fn issue(&self, _: AccessClaims, _: OffsetDateTime) -> Result<IssuedAccessToken, Infra> {
            panic!("Could not automatically determine the process-level CryptoProvider")
        }
        fn verify(&self, _: &str, _: OffsetDateTime) -> Result<AccessClaims, TokenRejected> {
            Err(TokenRejected("unused".into()))
        }
        fn public_keys(&self) -> Vec<PublicKey> {
            Vec::new()
        }
    }

    #[test]
    fn a_panicking_backend_fails_the_self_test_instead_of_the_first_request() {
        assert!(matches!(
            self_test(&Panicking),
            Err(TokenSetupError::SelfTest(_))
        ));
    }

    #[test]
    fn debug_of_a_format_shows_no_key_material() {
        let local = LocalKey::generate().unwrap();
        let body = local.to_paserk().replace("k4.local.", "");
        let shown = format!(
            "{:?} {:?}",
            hs(),
            TokenFormat::PasetoLocal {
                current: local,
                previous: Vec::new(),
            }
        );
        assert!(!shown.contains(&body), "{shown}");
        assert!(
            !shown.contains(std::str::from_utf8(SECRET).unwrap()),
            "{shown}"
        );
    }
}
