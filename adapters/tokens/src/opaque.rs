//! [`OpaqueTokenService`]: the `OpaqueTokens` port. Refresh and reset tokens are 256 random bits
//! (RT-01), stored only as their SHA-256 (RT-02); a refresh token's successor is a keyed,
//! deterministic derivation (SECURITY.md §2.2 "derived child").

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_domain::Secret;
use gatehouse_domain::ports::OpaqueTokens;
use gatehouse_domain::session::TokenHash;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::derive::DerivedKey;
use crate::keys::random_bytes;

/// Characters in a token: 32 bytes in unpadded base64url.
const TOKEN_LEN: usize = 43;

/// Domain separation for the successor MAC, so `K_refresh` can never MAC anything else usefully.
const CHILD_LABEL: &[u8] = b"rt-child-v1";

/// Opaque token generation, digesting and succession.
pub struct OpaqueTokenService {
    refresh_key: DerivedKey,
}

impl OpaqueTokenService {
    /// Builds the service around `K_refresh`: derive it with
    /// [`KeyPurpose::RefreshChild`](crate::KeyPurpose::RefreshChild), never reuse another key.
    pub fn new(refresh_key: DerivedKey) -> Self {
        Self { refresh_key }
    }
}

impl std::fmt::Debug for OpaqueTokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaqueTokenService")
            .field("refresh_key", &self.refresh_key)
            .finish()
    }
}

/// Whether `raw` has the exact shape of a token we issue.
fn well_formed(raw: &str) -> bool {
    raw.len() == TOKEN_LEN
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl OpaqueTokens for OpaqueTokenService {
    fn generate(&self) -> Secret {
        // The port cannot fail: without the OS generator no token can be issued safely at all.
        let bytes: [u8; 32] = random_bytes().expect("the OS CSPRNG failed");
        Secret::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn digest(&self, raw: &str) -> Option<TokenHash> {
        well_formed(raw).then(|| TokenHash(Sha256::digest(raw.as_bytes()).into()))
    }

    fn successor(&self, raw: &str) -> Secret {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.refresh_key.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(CHILD_LABEL);
        mac.update(raw.as_bytes());
        Secret::new(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::derive::{KeyPurpose, derive_key};

    fn service(secret: &[u8]) -> OpaqueTokenService {
        OpaqueTokenService::new(derive_key(secret, KeyPurpose::RefreshChild))
    }

    #[test]
    fn a_thousand_tokens_are_distinct_43_character_base64url() {
        let tokens = service(b"secret");
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let token = tokens.generate();
            let raw = token.expose();
            assert_eq!(raw.len(), 43, "RT-01");
            assert!(well_formed(raw), "^[A-Za-z0-9_-]{{43}}$");
            assert_eq!(URL_SAFE_NO_PAD.decode(raw).unwrap().len(), 32);
            assert!(seen.insert(raw.to_owned()), "duplicate token");
        }
    }

    #[test]
    fn the_digest_is_sha256_of_the_presented_text() {
        let tokens = service(b"secret");
        let token = tokens.generate();
        let digest = tokens.digest(token.expose()).unwrap();
        assert_eq!(
            digest.0,
            <[u8; 32]>::from(Sha256::digest(token.expose().as_bytes()))
        );
        assert_eq!(tokens.digest(token.expose()), Some(digest), "stable");
    }

    #[test]
    fn malformed_input_has_no_digest() {
        let tokens = service(b"secret");
        let good = tokens.generate().expose().to_owned();
        for bad in [
            String::new(),
            good[..42].to_owned(),
            format!("{good}A"),
            format!("{}+", &good[..42]),
            format!("{}/", &good[..42]),
            format!("{}=", &good[..42]),
            format!("{} ", &good[..42]),
            format!("{}é", &good[..41]),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.signature".to_owned(),
        ] {
            assert_eq!(tokens.digest(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_successor_is_deterministic_keyed_and_well_formed() {
        let tokens = service(b"secret");
        let parent = tokens.generate();
        let child = tokens.successor(parent.expose());
        assert_eq!(
            child,
            tokens.successor(parent.expose()),
            "duplicates get the same child"
        );
        assert!(well_formed(child.expose()));
        assert_ne!(child, parent);
        assert_ne!(tokens.successor(child.expose()), child);
        assert_ne!(
            service(b"another secret").successor(parent.expose()),
            child,
            "only K_refresh can predict a child"
        );
    }

    #[test]
    fn debug_is_redacted() {
        assert!(format!("{:?}", service(b"secret")).contains("[REDACTED]"));
    }
}
