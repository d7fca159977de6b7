//! JWT access tokens with jsonwebtoken: HS256 with `SECRET_KEY` (the default) or EdDSA with
//! rotating Ed25519 keys named by `kid` (CFG-05). One `Validation` per instance, built from
//! configuration and never from a token's header (TOK-02, pitfall J4).

use std::collections::HashMap;

use gatehouse_domain::Infra;
use gatehouse_domain::ports::{AccessClaims, PublicKey};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use time::{Duration, OffsetDateTime};

use crate::TokenSettings;
use crate::access::{Codec, CodecTokens};
use crate::claims::{Reason, Stamp, UnixTime, WireClaims, accept};
use crate::keys::{Ed25519PublicKey, Ed25519SigningKey, HmacSecret};

/// The `typ` header of our access tokens (RFC 9068 §2.1), checked by our code (TOK-06).
const ACCESS_TYP: &str = "at+jwt";

/// Clock skew allowed on `exp`, `nbf` and `iat`, stated explicitly (TOK-07, pitfall J3).
const LEEWAY: Duration = Duration::seconds(60);

/// Which key verifies a token.
enum VerifyingKeys {
    /// HS256: the one shared secret; any `kid` in the header is ignored.
    Shared(DecodingKey),
    /// EdDSA: our public keys by `kid`; a token without a known `kid` is refused (TOK-03).
    ByKid(HashMap<String, DecodingKey>),
}

/// JWT encoding and decoding for one algorithm.
pub(crate) struct JwtCodec {
    header: Header,
    signing: EncodingKey,
    verifying: VerifyingKeys,
    validation: Validation,
    settings: TokenSettings,
    published: Vec<PublicKey>,
}

impl JwtCodec {
    /// HS256 with `SECRET_KEY` (template-compatible key, not template-compatible tokens).
    pub(crate) fn hs256(secret: &HmacSecret, settings: TokenSettings) -> CodecTokens<Self> {
        Self::new(
            Algorithm::HS256,
            EncodingKey::from_secret(secret.as_bytes()),
            None,
            VerifyingKeys::Shared(DecodingKey::from_secret(secret.as_bytes())),
            Vec::new(),
            settings,
        )
    }

    /// EdDSA signing with `signing`; tokens of `signing` and of every key in `previous` verify.
    pub(crate) fn eddsa(
        signing: &Ed25519SigningKey,
        previous: &[Ed25519PublicKey],
        settings: TokenSettings,
    ) -> CodecTokens<Self> {
        let current = signing.public_key();
        let mut published = Vec::new();
        let mut by_kid = HashMap::new();
        for key in std::iter::once(&current).chain(previous) {
            let kid = key.jwk_thumbprint();
            if by_kid
                .insert(kid.clone(), DecodingKey::from_ed_der(key.as_bytes()))
                .is_none()
            {
                published.push(PublicKey {
                    kid,
                    ed25519: *key.as_bytes(),
                });
            }
        }
        Self::new(
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(&signing.pkcs8_der()),
            Some(current.jwk_thumbprint()),
            VerifyingKeys::ByKid(by_kid),
            published,
            settings,
        )
    }

    fn new(
        algorithm: Algorithm,
        signing: EncodingKey,
        kid: Option<String>,
        verifying: VerifyingKeys,
        published: Vec<PublicKey>,
        settings: TokenSettings,
    ) -> CodecTokens<Self> {
        let mut header = Header::new(algorithm);
        header.typ = Some(ACCESS_TYP.to_owned());
        header.kid = kid;

        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY.unsigned_abs().as_secs();
        CodecTokens(Self {
            header,
            signing,
            verifying,
            validation,
            settings,
            published,
        })
    }

    fn key_for(&self, header: &Header) -> Result<&DecodingKey, Reason> {
        match &self.verifying {
            VerifyingKeys::Shared(key) => Ok(key),
            VerifyingKeys::ByKid(keys) => header
                .kid
                .as_deref()
                .and_then(|kid| keys.get(kid))
                .ok_or(Reason::UnknownKey),
        }
    }
}

/// Our reason for a jsonwebtoken failure.
fn reason(kind: &ErrorKind) -> Reason {
    match kind {
        ErrorKind::InvalidSignature => Reason::Signature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => Reason::Algorithm,
        ErrorKind::ExpiredSignature => Reason::Expired,
        ErrorKind::ImmatureSignature => Reason::NotYetValid,
        ErrorKind::InvalidIssuer => Reason::Issuer,
        ErrorKind::InvalidAudience => Reason::Audience,
        ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::Json(_) => Reason::Claims,
        _ => Reason::Malformed,
    }
}

impl Codec for JwtCodec {
    const BACKDATE: Duration = Duration::ZERO;

    fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    fn published(&self) -> &[PublicKey] {
        &self.published
    }

    fn encode(&self, stamp: &Stamp) -> Result<String, Infra> {
        let wire = WireClaims {
            sub: stamp.user.to_string(),
            sid: stamp.session.to_string(),
            jti: stamp.jti.to_string(),
            iat: UnixTime(stamp.issued),
            nbf: UnixTime(stamp.issued),
            exp: UnixTime(stamp.expires),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
        };
        jsonwebtoken::encode(&self.header, &wire, &self.signing).map_err(Infra::unexpected)
    }

    fn decode(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, Reason> {
        // The header is untrusted until the signature verifies: it only names our key and type.
        let header = jsonwebtoken::decode_header(token).map_err(|_| Reason::Malformed)?;
        if header.typ.as_deref() != Some(ACCESS_TYP) {
            return Err(Reason::WrongType);
        }
        if header.crit.is_some() {
            // RFC 7515 §4.1.11: we understand no extension, so none may be critical.
            return Err(Reason::CriticalHeader);
        }
        let key = self.key_for(&header)?;
        let data = jsonwebtoken::decode::<WireClaims<UnixTime>>(token, key, &self.validation)
            .map_err(|e| reason(e.kind()))?;
        accept(data.claims, now, LEEWAY)
    }
}

#[cfg(test)]
mod tests;
