//! Interop (issue 5 item 6): Gatehouse's v4.public tokens verify with an independent PASETO
//! implementation, `rusty_paseto` (its own PAE and `ed25519-dalek` verification, not
//! pasetors/ed25519-compact), keyed from the published public key, so the format is standard and
//! not only self-consistent. EdDSA JWTs are checked the same way, with `jwt-compact`, through the
//! JWKS document the server actually serves (`tests/it/blackbox/tokens.rs`).

mod support;

use gatehouse_tokens::{Ed25519SigningKey, TokenFormat, build_access_tokens};
use rusty_paseto::core::{
    Footer, ImplicitAssertion, Key, Paseto, PasetoAsymmetricPublicKey, Public, V4,
};
use support::{claims, settings};
use time::OffsetDateTime;

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
