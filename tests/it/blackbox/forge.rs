//! Reading and forging tokens in tests: JWT parts and PASETO footers read without
//! verification (the test knows where a token came from), hand-signed JWTs whose header may
//! lie, Ed25519 keys with copies, and apps on a chosen token format.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gatehouse_tests::app::Options;
use gatehouse_tokens::{Ed25519SigningKey, TokenFormat};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

/// The claims of a JWT, read without verifying it (the test knows where it came from).
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).expect("JSON")
}

/// A JWT of exactly `header` and `claims`, signed with `key` under `alg` whatever the
/// header says (so headers can lie).
pub fn jwt(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(signed.as_bytes(), key, alg).unwrap();
    format!("{signed}.{signature}")
}

/// `claims` signed HS256 with `key` under a header of type `typ`.
pub fn hs256(claims: &Value, typ: &str, key: &[u8]) -> String {
    let header = json!({"typ": typ, "alg": "HS256"});
    jwt(
        &header,
        claims,
        &EncodingKey::from_secret(key),
        Algorithm::HS256,
    )
}

/// An Ed25519 key with a copy, through its PEM (keys are deliberately not `Clone`).
pub fn ed25519_pair() -> (Ed25519SigningKey, Ed25519SigningKey) {
    let key = Ed25519SigningKey::generate().unwrap();
    let copy = Ed25519SigningKey::parse(&key.to_pem()).unwrap();
    (key, copy)
}

/// Options for an app issuing `format` tokens.
pub fn options(format: TokenFormat) -> Options {
    Options {
        token_format: Some(format),
        ..Options::default()
    }
}

/// The `kid` in a PASETO token's footer.
pub fn paseto_kid(token: &str) -> String {
    let footer = token.rsplit('.').next().unwrap();
    let footer: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(footer).unwrap()).unwrap();
    footer["kid"]
        .as_str()
        .expect("a kid in the footer")
        .to_owned()
}

/// The `kid` a token names, whatever its format.
pub fn kid_of(token: &str) -> String {
    if token.starts_with("v4.") {
        paseto_kid(token)
    } else {
        jwt_part(token, 0)["kid"].as_str().unwrap().to_owned()
    }
}
