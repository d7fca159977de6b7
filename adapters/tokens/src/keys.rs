//! Key material from configuration: parsing (PEM, PASERK) with validation that reports instead of
//! panicking (pitfall K4), generation for operators, and the key ids tokens carry. Every secret
//! type here prints `[REDACTED]` under `Debug` (CFG-04).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_compact::{KeyPair, Seed};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey, SymmetricKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version4::V4;
use sha2::{Digest, Sha256};

use crate::derive::DerivedKey;

/// Why a key from configuration was refused. Messages name the expected format, never the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a recognised key: expected {expected}")]
    Format { expected: &'static str },
    #[error("wrong key length: expected {expected} bytes")]
    Length { expected: usize },
    #[error("the key is all zeros")]
    AllZero,
    #[error("the public half of the secret key does not match its seed")]
    Mismatch,
    #[error("not a usable Ed25519 public key (non-canonical or of small order)")]
    WeakPublicKey,
    #[error("the key is empty")]
    Empty,
    #[error("the operating system's random number generator failed")]
    Random,
}

const PEM_PRIVATE: &str = "a PKCS#8 PEM Ed25519 private key (openssl genpkey -algorithm ed25519)";
const PEM_PUBLIC: &str = "an SPKI PEM Ed25519 public key (openssl pkey -pubout)";
const PASERK_LOCAL: &str = "k4.local.";
const PASERK_SECRET: &str = "k4.secret.";
const PASERK_PUBLIC: &str = "k4.public.";

/// `N` bytes from the OS CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| KeyError::Random)?;
    Ok(bytes)
}

/// The `N` raw bytes of a PASERK with `header`, refusing all-zero keys before any library sees
/// them (pasetors panics on an all-zero Ed25519 seed).
fn paserk_bytes<const N: usize>(text: &str, header: &'static str) -> Result<[u8; N], KeyError> {
    let format = KeyError::Format { expected: header };
    let body = text.trim().strip_prefix(header).ok_or(format)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| format)?;
    let bytes: [u8; N] = bytes
        .try_into()
        .map_err(|_| KeyError::Length { expected: N })?;
    if bytes.iter().all(|b| *b == 0) {
        return Err(KeyError::AllZero);
    }
    Ok(bytes)
}

fn paserk(header: &str, bytes: &[u8]) -> String {
    format!("{header}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A PASERK key id (`k4.lid.…`, `k4.pid.…`) as text: what PASETO footers name keys by.
pub(crate) fn kid_text(id: &Id) -> String {
    let mut out = String::new();
    id.fmt(&mut out)
        .expect("formatting a PASERK id into a String cannot fail");
    out
}

/// An Ed25519 signing key (JWT EdDSA and PASETO v4.public).
pub struct Ed25519SigningKey {
    pair: KeyPair,
}

impl Ed25519SigningKey {
    /// Reads a PKCS#8 PEM private key (what `openssl genpkey -algorithm ed25519` writes) or a
    /// `k4.secret.` PASERK.
    ///
    /// # Errors
    /// `Format` for anything else, `Length` for a PASERK of the wrong size, `AllZero` for an
    /// all-zero seed, `Mismatch` when a PASERK's public half does not belong to its seed.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            let pair = KeyPair::from_pem(text).map_err(|e| match e {
                ed25519_compact::Error::InvalidSeed => KeyError::AllZero,
                _ => KeyError::Format {
                    expected: PEM_PRIVATE,
                },
            })?;
            return Ok(Self { pair });
        }
        let bytes: [u8; 64] = paserk_bytes(text, PASERK_SECRET)?;
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&bytes[..32]);
        let key = Self::from_seed(seed)?;
        if key.pair.pk.as_slice() != &bytes[32..] {
            return Err(KeyError::Mismatch);
        }
        Ok(key)
    }

    /// A fresh key from the OS CSPRNG.
    ///
    /// # Errors
    /// `Random` if the OS generator fails.
    pub fn generate() -> Result<Self, KeyError> {
        Self::from_seed(random_bytes()?)
    }

    fn from_seed(seed: [u8; 32]) -> Result<Self, KeyError> {
        KeyPair::try_from_seed(Seed::new(seed))
            .map(|pair| Self { pair })
            .map_err(|_| KeyError::AllZero)
    }

    /// The key as PKCS#8 PEM, for `JWT_SIGNING_KEY`-style variables and files.
    pub fn to_pem(&self) -> String {
        self.pair.sk.to_pem()
    }

    /// The key as a `k4.secret.` PASERK.
    pub fn to_paserk(&self) -> String {
        paserk(PASERK_SECRET, self.pair.sk.as_slice())
    }

    /// The matching public key.
    pub fn public_key(&self) -> Ed25519PublicKey {
        Ed25519PublicKey(*self.pair.pk)
    }

    /// PKCS#8 v1 DER, the form `jsonwebtoken::EncodingKey::from_ed_der` takes.
    pub(crate) fn pkcs8_der(&self) -> Vec<u8> {
        self.pair.sk.to_der()
    }

    /// The 64-byte seed-and-public-key form pasetors signs with.
    pub(crate) fn paseto_secret(&self) -> Result<AsymmetricSecretKey<V4>, KeyError> {
        AsymmetricSecretKey::from(self.pair.sk.as_slice()).map_err(|_| KeyError::Mismatch)
    }
}

impl std::fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ed25519SigningKey([REDACTED])")
    }
}

/// An Ed25519 public key: verifies tokens and is published in the JWKS document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ed25519PublicKey([u8; 32]);

impl Ed25519PublicKey {
    /// Reads an SPKI PEM public key (`openssl pkey -pubout`) or a `k4.public.` PASERK.
    ///
    /// # Errors
    /// `Format`/`Length` for malformed input, `AllZero`, or `WeakPublicKey` for an encoding that
    /// is not a canonical point of large order (such a key could never verify anything).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes: [u8; 32] = if text.starts_with("-----BEGIN") {
            *ed25519_compact::PublicKey::from_pem(text).map_err(|_| KeyError::Format {
                expected: PEM_PUBLIC,
            })?
        } else {
            paserk_bytes(text, PASERK_PUBLIC)?
        };
        Self::from_bytes(bytes)
    }

    /// Wraps raw key bytes after the same checks as [`Ed25519PublicKey::parse`].
    ///
    /// # Errors
    /// As [`Ed25519PublicKey::parse`].
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
        if bytes.iter().all(|b| *b == 0) {
            return Err(KeyError::AllZero);
        }
        ed25519_compact::PublicKey::new(bytes)
            .validate()
            .map_err(|_| KeyError::WeakPublicKey)?;
        Ok(Self(bytes))
    }

    /// The raw 32 bytes (the JWK `x` value).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as SPKI PEM.
    pub fn to_pem(&self) -> String {
        ed25519_compact::PublicKey::new(self.0).to_pem()
    }

    /// The key as a `k4.public.` PASERK.
    pub fn to_paserk(&self) -> String {
        paserk(PASERK_PUBLIC, &self.0)
    }

    /// The JWT `kid`: the RFC 7638 JWK thumbprint, so ids are derived, stable and never collide
    /// by operator mistake.
    pub fn jwk_thumbprint(&self) -> String {
        let x = URL_SAFE_NO_PAD.encode(self.0);
        // RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The PASETO footer `kid`: the PASERK `k4.pid.` id.
    pub(crate) fn paserk_id(&self) -> Result<Id, KeyError> {
        Ok(Id::from(&self.paseto()?))
    }

    pub(crate) fn paseto(&self) -> Result<AsymmetricPublicKey<V4>, KeyError> {
        AsymmetricPublicKey::from(&self.0).map_err(|_| KeyError::Length { expected: 32 })
    }
}

/// A 32-byte PASETO v4.local key.
#[derive(Clone)]
pub struct LocalKey(SymmetricKey<V4>);

impl LocalKey {
    /// Reads a `k4.local.` PASERK.
    ///
    /// # Errors
    /// `Format`, `Length` (not 32 bytes) or `AllZero`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(paserk_bytes(text, PASERK_LOCAL)?)
    }

    /// The key derived from `SECRET_KEY` for [`KeyPurpose::PasetoLocal`](crate::KeyPurpose), for
    /// deployments that configure no PASERK (TOK-08 allows either).
    ///
    /// # Errors
    /// `AllZero` (for practical purposes unreachable).
    pub fn from_derived(key: &DerivedKey) -> Result<Self, KeyError> {
        Self::from_bytes(*key.as_bytes())
    }

    /// A fresh key from the OS CSPRNG.
    ///
    /// # Errors
    /// `Random` if the OS generator fails.
    pub fn generate() -> Result<Self, KeyError> {
        Self::from_bytes(random_bytes()?)
    }

    fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
        if bytes.iter().all(|b| *b == 0) {
            return Err(KeyError::AllZero);
        }
        SymmetricKey::from(&bytes)
            .map(Self)
            .map_err(|_| KeyError::Length { expected: 32 })
    }

    /// The key as a `k4.local.` PASERK.
    pub fn to_paserk(&self) -> String {
        paserk(PASERK_LOCAL, self.0.as_bytes())
    }

    /// The PASETO footer `kid`: the PASERK `k4.lid.` id.
    pub(crate) fn paserk_id(&self) -> Id {
        Id::from(&self.0)
    }

    pub(crate) fn paseto(&self) -> &SymmetricKey<V4> {
        &self.0
    }
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalKey([REDACTED])")
    }
}

/// The HS256 key: the bytes of `SECRET_KEY` (TOK-08; strength rules belong to the configuration
/// layer, which only warns in development).
#[derive(Clone)]
pub struct HmacSecret(Vec<u8>);

impl HmacSecret {
    /// Wraps the secret.
    ///
    /// # Errors
    /// `Empty` for an empty secret.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self(bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSecret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8410 §10.3's example private key, in the form openssl writes.
    const RFC8410_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
";
    /// RFC 8410 §10.1's example public key, which belongs to the private key above.
    const RFC8410_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----
";

    fn pem_of(der: &[u8], label: &str) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n")
    }

    #[test]
    fn openssl_pem_keys_parse_and_match() {
        let signing = Ed25519SigningKey::parse(RFC8410_PEM).unwrap();
        let public = Ed25519PublicKey::parse(RFC8410_PUBLIC_PEM).unwrap();
        assert_eq!(signing.public_key(), public);
        assert_eq!(
            Ed25519SigningKey::parse(&signing.to_pem())
                .unwrap()
                .public_key(),
            public
        );
        assert_eq!(Ed25519PublicKey::parse(&public.to_pem()).unwrap(), public);
    }

    #[test]
    fn paserk_forms_round_trip_and_agree_with_pasetors() {
        let signing = Ed25519SigningKey::generate().unwrap();
        let secret = signing.to_paserk();
        assert!(secret.starts_with("k4.secret."));
        assert!(AsymmetricSecretKey::<V4>::try_from(secret.as_str()).is_ok());
        assert_eq!(
            Ed25519SigningKey::parse(&secret).unwrap().public_key(),
            signing.public_key()
        );
        let public = signing.public_key().to_paserk();
        assert!(AsymmetricPublicKey::<V4>::try_from(public.as_str()).is_ok());
        assert_eq!(
            Ed25519PublicKey::parse(&public).unwrap(),
            signing.public_key()
        );

        let local = LocalKey::generate().unwrap();
        let text = local.to_paserk();
        assert!(SymmetricKey::<V4>::try_from(text.as_str()).is_ok());
        assert_eq!(
            LocalKey::parse(&text).unwrap().paserk_id(),
            local.paserk_id()
        );
        assert!(kid_text(&local.paserk_id()).starts_with("k4.lid."));
        assert!(kid_text(&signing.public_key().paserk_id().unwrap()).starts_with("k4.pid."));
    }

    #[test]
    fn all_zero_keys_are_refused_without_panicking() {
        let zeros32 = paserk(PASERK_LOCAL, &[0; 32]);
        assert_eq!(LocalKey::parse(&zeros32).unwrap_err(), KeyError::AllZero);
        let zeros64 = paserk(PASERK_SECRET, &[0; 64]);
        assert_eq!(
            Ed25519SigningKey::parse(&zeros64).unwrap_err(),
            KeyError::AllZero
        );
        let mut zero_seed = [0u8; 64];
        zero_seed[32..].copy_from_slice(
            Ed25519SigningKey::generate()
                .unwrap()
                .public_key()
                .as_bytes(),
        );
        let zero_seed = paserk(PASERK_SECRET, &zero_seed);
        assert_eq!(
            Ed25519SigningKey::parse(&zero_seed).unwrap_err(),
            KeyError::AllZero
        );
        let zero_pem = pem_of(&[&hex_prefix()[..], &[0u8; 32][..]].concat(), "PRIVATE KEY");
        assert_eq!(
            Ed25519SigningKey::parse(&zero_pem).unwrap_err(),
            KeyError::AllZero
        );
        assert_eq!(
            Ed25519PublicKey::parse(&paserk(PASERK_PUBLIC, &[0; 32])).unwrap_err(),
            KeyError::AllZero
        );
    }

    /// The PKCS#8 v1 prefix of an Ed25519 private key.
    fn hex_prefix() -> [u8; 16] {
        [48, 46, 2, 1, 0, 48, 5, 6, 3, 43, 101, 112, 4, 34, 4, 32]
    }

    #[test]
    fn wrong_lengths_formats_and_mismatches_are_typed_errors() {
        assert_eq!(
            LocalKey::parse(&paserk(PASERK_LOCAL, &[7; 31])).unwrap_err(),
            KeyError::Length { expected: 32 }
        );
        assert_eq!(
            LocalKey::parse("k2.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap_err(),
            KeyError::Format {
                expected: "k4.local."
            }
        );
        assert!(matches!(
            LocalKey::parse("k4.local.not base64!"),
            Err(KeyError::Format { .. })
        ));
        let public = LocalKey::generate()
            .unwrap()
            .to_paserk()
            .replace("k4.local.", "k4.public.");
        assert!(
            LocalKey::parse(&public).is_err(),
            "a public PASERK is not a local key"
        );
        let mut mismatched = [0u8; 64];
        mismatched[..32].copy_from_slice(&[9; 32]);
        mismatched[32..].copy_from_slice(&[1; 32]);
        assert_eq!(
            Ed25519SigningKey::parse(&paserk(PASERK_SECRET, &mismatched)).unwrap_err(),
            KeyError::Mismatch
        );
        assert!(matches!(
            Ed25519SigningKey::parse(RFC8410_PUBLIC_PEM),
            Err(KeyError::Format { .. })
        ));
        assert!(matches!(
            Ed25519SigningKey::parse(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
            ),
            Err(KeyError::Format { .. })
        ));
        let small_order = {
            let mut bytes = [0u8; 32];
            bytes[0] = 1; // the identity point
            bytes
        };
        assert_eq!(
            Ed25519PublicKey::from_bytes(small_order).unwrap_err(),
            KeyError::WeakPublicKey
        );
        assert_eq!(HmacSecret::new(Vec::new()).unwrap_err(), KeyError::Empty);
    }

    #[test]
    fn debug_never_shows_key_material() {
        let signing = Ed25519SigningKey::generate().unwrap();
        let local = LocalKey::generate().unwrap();
        let hmac = HmacSecret::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        for (shown, secret) in [
            (format!("{signing:?}"), signing.to_paserk()),
            (format!("{local:?}"), local.to_paserk()),
        ] {
            assert!(shown.contains("[REDACTED]"));
            let body = secret.rsplit('.').next().unwrap();
            assert!(!shown.contains(body));
        }
        assert_eq!(format!("{hmac:?}"), "HmacSecret([REDACTED])");
    }

    #[test]
    fn the_jwk_thumbprint_follows_rfc_7638() {
        // RFC 8037 Appendix A.3: the thumbprint of RFC 8037's example Ed25519 key.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let key = Ed25519PublicKey::from_bytes(x.try_into().unwrap()).unwrap();
        assert_eq!(
            key.jwk_thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
