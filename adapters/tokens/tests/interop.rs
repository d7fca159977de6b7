//! Interop (issue 5 item 6): Gatehouse's asymmetric tokens verify with independent
//! implementations, so the formats are standard and not only self-consistent.
//!
//! - EdDSA JWTs: `jwt-compact` with its `ed25519-dalek` backend (a different JOSE library and a
//!   different Ed25519 implementation from jsonwebtoken/aws-lc-rs), keyed from the JWKS document.
//! - v4.public PASETO: `rusty_paseto` (its own PAE and `ed25519-dalek` verification, not
//!   pasetors/ed25519-compact), keyed from the published public key.

use gatehouse_domain::ports::AccessClaims;
use gatehouse_domain::{SessionId, UserId};
use gatehouse_tokens::{
    Ed25519SigningKey, TokenFormat, TokenSettings, build_access_tokens, jwk_set,
};
use jwt_compact::alg::Ed25519;
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmExt, UntrustedToken};
use rusty_paseto::core::{
    Footer, ImplicitAssertion, Key, Paseto, PasetoAsymmetricPublicKey, Public, V4,
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// jwt-compact's Ed25519 verifying key: `ed25519_dalek::VerifyingKey`.
type DalekKey = <Ed25519 as Algorithm>::VerifyingKey;

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "gatehouse".into(),
        audience: "gatehouse-api".into(),
        ttl: Duration::minutes(15),
        environment: "production".into(),
    }
}

fn claims() -> AccessClaims {
    AccessClaims {
        user: UserId::random(),
        session: SessionId::random(),
    }
}

/// The non-time claims, as a foreign client reads them.
#[derive(Debug, Deserialize)]
struct Custom {
    sub: String,
    sid: String,
    jti: String,
    iss: String,
    aud: String,
}

#[test]
fn eddsa_jwts_verify_with_jwt_compact_through_the_jwks_document() {
    let old = Ed25519SigningKey::generate().unwrap();
    let tokens = build_access_tokens(
        TokenFormat::JwtEdDsa {
            signing: Ed25519SigningKey::generate().unwrap(),
            previous: vec![old.public_key()],
        },
        settings(),
    )
    .unwrap();
    let claims = claims();
    let now = OffsetDateTime::now_utc();
    let issued = tokens.issue(claims, now).unwrap();

    // What `GET /.well-known/jwks.json` serves, as a client receives it.
    let document: serde_json::Value =
        serde_json::from_str(&jwk_set(&tokens.public_keys()).to_string()).unwrap();
    let untrusted = UntrustedToken::new(issued.token.expose()).unwrap();
    assert_eq!(untrusted.algorithm(), "EdDSA");
    assert_eq!(untrusted.header().token_type.as_deref(), Some("at+jwt"));
    let kid = untrusted.header().key_id.clone().unwrap();
    let jwk_json = document["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's kid is in the JWKS document");
    assert!(jwk_json.get("d").is_none(), "public keys only");
    let jwk: JsonWebKey<'_> = serde_json::from_value(jwk_json.clone()).unwrap();
    let thumbprint = jwt_compact::jwk::JsonWebKey::thumbprint::<sha2::Sha256>(&jwk);
    assert_eq!(
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            thumbprint
        ),
        kid,
        "the kid is the RFC 7638 thumbprint"
    );
    let key = DalekKey::try_from(&jwk).unwrap();

    let token = Ed25519
        .validator::<Custom>(&key)
        .validate(&untrusted)
        .unwrap();
    let verified = token.claims();
    assert_eq!(verified.custom.sub, claims.user.to_string());
    assert_eq!(verified.custom.sid, claims.session.to_string());
    assert!(!verified.custom.jti.is_empty());
    assert_eq!(verified.custom.iss, "gatehouse");
    assert_eq!(verified.custom.aud, "gatehouse-api");
    let exp = verified.expiration.unwrap().timestamp();
    assert_eq!(exp - verified.issued_at.unwrap().timestamp(), 900);
    assert_eq!(exp, verified.not_before.unwrap().timestamp() + 900);

    // A signature made by the other published key does not verify under this one.
    let other: Vec<_> = document["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kid"] != kid.as_str())
        .collect();
    assert_eq!(other.len(), 1, "the rotated-out key is still published");
    let other: JsonWebKey<'_> = serde_json::from_value(other[0].clone()).unwrap();
    let other = DalekKey::try_from(&other).unwrap();
    assert!(
        Ed25519
            .validator::<Custom>(&other)
            .validate(&untrusted)
            .is_err()
    );
}

#[test]
fn v4_public_pasetos_verify_with_rusty_paseto() {
    let tokens = build_access_tokens(
        TokenFormat::PasetoPublic {
            signing: Ed25519SigningKey::generate().unwrap(),
            previous: Vec::new(),
        },
        settings(),
    )
    .unwrap();
    let claims = claims();
    let issued = tokens.issue(claims, OffsetDateTime::now_utc()).unwrap();
    let published = tokens.public_keys();
    let key = Key::<32>::from(published[0].ed25519);
    let key = PasetoAsymmetricPublicKey::<V4, Public>::from(&key);
    let footer = format!(r#"{{"kid":"{}"}}"#, published[0].kid);

    let payload = Paseto::<V4, Public>::try_verify(
        issued.token.expose(),
        &key,
        Footer::from(footer.as_str()),
        ImplicitAssertion::from("gatehouse/production/access"),
    )
    .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["sub"], claims.user.to_string());
    assert_eq!(payload["sid"], claims.session.to_string());
    assert_eq!(payload["iss"], "gatehouse");
    assert_eq!(payload["aud"], "gatehouse-api");

    let wrong_assertion = Paseto::<V4, Public>::try_verify(
        issued.token.expose(),
        &key,
        Footer::from(footer.as_str()),
        ImplicitAssertion::from("gatehouse/staging/access"),
    );
    assert!(
        wrong_assertion.is_err(),
        "the implicit assertion is part of the signature"
    );
}
