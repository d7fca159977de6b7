//! Purpose-bound keys derived from `SECRET_KEY` with HKDF-SHA-256 (TOK-08): one label per
//! purpose, so a key made for one job never verifies another job's output.

use hkdf::Hkdf;
use sha2::Sha256;

/// What a derived key is for. Each purpose has its own HKDF label; adding a purpose means adding
/// a label, never reusing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// `K_refresh`: derives a refresh token's successor (SECURITY.md §2.2, "derived child").
    RefreshChild,
    /// The PASETO v4.local key when no `k4.local.` PASERK is configured.
    PasetoLocal,
}

impl KeyPurpose {
    /// The HKDF `info` label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::RefreshChild => "gatehouse/v1/refresh-child",
            Self::PasetoLocal => "gatehouse/v1/paseto-local",
        }
    }
}

/// A 32-byte derived key; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct DerivedKey([u8; 32]);

impl DerivedKey {
    /// The key bytes, for the MAC or cipher that uses them.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKey([REDACTED])")
    }
}

/// HKDF-SHA-256 of `secret` (no salt: the input is already a uniformly random key) with the
/// purpose's label as `info`.
pub fn derive_key(secret: &[u8], purpose: KeyPurpose) -> DerivedKey {
    let mut okm = [0u8; 32];
    Hkdf::<Sha256>::new(None, secret)
        .expand(purpose.label().as_bytes(), &mut okm)
        .expect("32 bytes is within HKDF-SHA-256's output limit");
    DerivedKey(okm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_distinct_deterministic_keys() {
        let secret = b"a 32-byte secret for the test!!!";
        let refresh = derive_key(secret, KeyPurpose::RefreshChild);
        assert_eq!(refresh, derive_key(secret, KeyPurpose::RefreshChild));
        assert_ne!(refresh, derive_key(secret, KeyPurpose::PasetoLocal));
        assert_ne!(
            refresh,
            derive_key(b"another secret", KeyPurpose::RefreshChild)
        );
        assert_ne!(refresh.as_bytes().as_slice(), &secret[..]);
        assert_eq!(format!("{refresh:?}"), "DerivedKey([REDACTED])");
    }
}
