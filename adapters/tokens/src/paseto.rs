//! PASETO v4 access tokens with pasetors: `v4.local` (XChaCha20 + BLAKE2b, symmetric) or
//! `v4.public` (Ed25519). The footer names the key by its PASERK id and is compared, not just
//! parsed (pitfall K1); the implicit assertion `gatehouse/<environment>/access` binds a token to
//! its purpose and deployment (TOK-09).
//!
//! pasetors validates `exp`/`nbf`/`iat` against the system clock with no leeway (pitfall K3), so
//! `iat`/`nbf` are back-dated 5 s (TOK-07) and our own window check allows no leeway either.

use std::collections::HashMap;

use gatehouse_domain::Infra;
use gatehouse_domain::ports::{AccessClaims, PublicKey};
use pasetors::claims::{Claims, ClaimsValidationRules};
use pasetors::errors::{ClaimValidationError, Error as PasetoError};
use pasetors::footer::Footer;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey, SymmetricKey};
use pasetors::paserk::Id;
use pasetors::token::{TrustedToken, UntrustedToken};
use pasetors::version4::V4;
use pasetors::{Local, Public, local, public};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::TokenSettings;
use crate::access::{Codec, CodecTokens};
use crate::claims::{Reason, Rfc3339Time, Stamp, WireClaims, accept};
use crate::keys::{Ed25519PublicKey, Ed25519SigningKey, KeyError, LocalKey, kid_text};

/// A key with the footer that names it.
struct Entry<K> {
    key: K,
    footer: Footer,
}

impl<K> Entry<K> {
    fn new(key: K, kid: &Id) -> Self {
        let mut footer = Footer::new();
        footer.key_id(kid);
        Self { key, footer }
    }
}

/// Keys by PASERK id, for picking the verification key a footer names.
struct KeyRing<K>(HashMap<String, Entry<K>>);

impl<K> KeyRing<K> {
    /// The entry the untrusted footer's `kid` names; unknown or absent → refused (TOK-03).
    fn select(&self, untrusted_footer: &[u8]) -> Result<&Entry<K>, Reason> {
        let mut footer = Footer::new();
        footer
            .parse_bytes(untrusted_footer)
            .map_err(|_| Reason::UnknownKey)?;
        footer
            .get_claim("kid")
            .and_then(|kid| kid.as_str())
            .and_then(|kid| self.0.get(kid))
            .ok_or(Reason::UnknownKey)
    }
}

enum Keys {
    Local {
        current: Entry<SymmetricKey<V4>>,
        ring: KeyRing<SymmetricKey<V4>>,
    },
    Public {
        signing: Entry<AsymmetricSecretKey<V4>>,
        ring: KeyRing<AsymmetricPublicKey<V4>>,
    },
}

/// PASETO v4 encoding and decoding for one purpose.
pub(crate) struct PasetoCodec {
    keys: Keys,
    rules: ClaimsValidationRules,
    implicit: Vec<u8>,
    settings: TokenSettings,
    published: Vec<PublicKey>,
}

impl PasetoCodec {
    /// `v4.local` sealed with `current`; tokens of `current` and of every key in `previous` open.
    pub(crate) fn local(
        current: &LocalKey,
        previous: &[LocalKey],
        settings: TokenSettings,
    ) -> CodecTokens<Self> {
        let mut ring = HashMap::new();
        for key in std::iter::once(current).chain(previous) {
            let kid = key.paserk_id();
            ring.insert(kid_text(&kid), Entry::new(key.paseto().clone(), &kid));
        }
        let current = Entry::new(current.paseto().clone(), &current.paserk_id());
        Self::new(
            Keys::Local {
                current,
                ring: KeyRing(ring),
            },
            Vec::new(),
            settings,
        )
    }

    /// `v4.public` signed with `signing`; tokens of `signing` and of every key in `previous` verify.
    pub(crate) fn public(
        signing: &Ed25519SigningKey,
        previous: &[Ed25519PublicKey],
        settings: TokenSettings,
    ) -> Result<CodecTokens<Self>, KeyError> {
        let current = signing.public_key();
        let mut ring = HashMap::new();
        let mut published = Vec::new();
        for key in std::iter::once(&current).chain(previous) {
            let kid = key.paserk_id()?;
            let entry = Entry::new(key.paseto()?, &kid);
            if ring.insert(kid_text(&kid), entry).is_none() {
                published.push(PublicKey {
                    kid: kid_text(&kid),
                    ed25519: *key.as_bytes(),
                });
            }
        }
        let signing = Entry::new(signing.paseto_secret()?, &current.paserk_id()?);
        Ok(Self::new(
            Keys::Public {
                signing,
                ring: KeyRing(ring),
            },
            published,
            settings,
        ))
    }

    fn new(keys: Keys, published: Vec<PublicKey>, settings: TokenSettings) -> CodecTokens<Self> {
        let mut rules = ClaimsValidationRules::new();
        rules.validate_issuer_with(&settings.issuer);
        rules.validate_audience_with(&settings.audience);
        CodecTokens(Self {
            keys,
            rules,
            implicit: implicit_assertion(&settings.environment).into_bytes(),
            settings,
            published,
        })
    }

    fn claims(&self, stamp: &Stamp) -> Result<Claims, Infra> {
        let time = |t: OffsetDateTime| t.format(&Rfc3339).map_err(Infra::unexpected);
        // `new_expires_in`, never `Claims::new()` and its 1-hour default (TOK-10); the times it
        // takes from the system clock are then replaced by the ones computed from our `now`.
        let mut claims =
            Claims::new_expires_in(&self.settings.ttl.unsigned_abs()).map_err(Infra::unexpected)?;
        let paseto = |r: Result<(), PasetoError>| r.map_err(Infra::unexpected);
        paseto(claims.issued_at(&time(stamp.issued)?))?;
        paseto(claims.not_before(&time(stamp.issued)?))?;
        paseto(claims.expiration(&time(stamp.expires)?))?;
        paseto(claims.subject(&stamp.user.to_string()))?;
        paseto(claims.token_identifier(&stamp.jti.to_string()))?;
        paseto(claims.issuer(&self.settings.issuer))?;
        paseto(claims.audience(&self.settings.audience))?;
        paseto(claims.add_additional("sid", stamp.session.to_string()))?;
        Ok(claims)
    }

    /// Encrypts or signs `claims` with the current key, its footer and our implicit assertion.
    fn seal(&self, claims: &Claims) -> Result<String, PasetoError> {
        let implicit = Some(self.implicit.as_slice());
        match &self.keys {
            Keys::Local { current, .. } => {
                local::encrypt(&current.key, claims, Some(&current.footer), implicit)
            }
            Keys::Public { signing, .. } => {
                public::sign(&signing.key, claims, Some(&signing.footer), implicit)
            }
        }
    }

    fn open(&self, token: &str) -> Result<TrustedToken, Reason> {
        let implicit = Some(self.implicit.as_slice());
        let opened = match &self.keys {
            Keys::Local { ring, .. } => {
                let untrusted =
                    UntrustedToken::<Local, V4>::try_from(token).map_err(|_| Reason::Malformed)?;
                let entry = ring.select(untrusted.untrusted_footer())?;
                local::decrypt(
                    &entry.key,
                    &untrusted,
                    &self.rules,
                    Some(&entry.footer),
                    implicit,
                )
            }
            Keys::Public { ring, .. } => {
                let untrusted =
                    UntrustedToken::<Public, V4>::try_from(token).map_err(|_| Reason::Malformed)?;
                let entry = ring.select(untrusted.untrusted_footer())?;
                public::verify(
                    &entry.key,
                    &untrusted,
                    &self.rules,
                    Some(&entry.footer),
                    implicit,
                )
            }
        };
        opened.map_err(|e| reason(&e))
    }
}

/// The implicit assertion of access tokens in `environment`: a token of another purpose or
/// deployment cannot verify even under the same key (TOK-09, pitfall K2).
fn implicit_assertion(environment: &str) -> String {
    format!("gatehouse/{environment}/access")
}

/// Our reason for a pasetors failure.
fn reason(error: &PasetoError) -> Reason {
    match error {
        PasetoError::TokenValidation => Reason::Signature,
        PasetoError::ClaimValidation(claim) => match claim {
            ClaimValidationError::Exp => Reason::Expired,
            ClaimValidationError::Nbf => Reason::NotYetValid,
            ClaimValidationError::Iat => Reason::IssuedInFuture,
            ClaimValidationError::Iss | ClaimValidationError::NoIss => Reason::Issuer,
            ClaimValidationError::Aud | ClaimValidationError::NoAud => Reason::Audience,
            _ => Reason::Claims,
        },
        PasetoError::InvalidClaim | PasetoError::ClaimInvalidJson => Reason::Claims,
        _ => Reason::Malformed,
    }
}

impl Codec for PasetoCodec {
    const BACKDATE: Duration = Duration::seconds(5);

    fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    fn published(&self) -> &[PublicKey] {
        &self.published
    }

    fn encode(&self, stamp: &Stamp) -> Result<String, Infra> {
        self.seal(&self.claims(stamp)?).map_err(Infra::unexpected)
    }

    fn decode(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, Reason> {
        let trusted = self.open(token)?;
        let wire: WireClaims<Rfc3339Time> =
            serde_json::from_str(trusted.payload()).map_err(|_| Reason::Claims)?;
        accept(wire, now, Duration::ZERO)
    }
}

#[cfg(test)]
mod tests;
