//! Test fixtures shared by the format tests: settings, claims, and hand-made tokens for the
//! tampering cases (tests may assemble tokens by hand; product code never does).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_domain::ports::{AccessClaims, AccessTokens};
use gatehouse_domain::{SessionId, UserId};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{TokenFormat, TokenSettings, build_access_tokens};

pub(crate) const SECRET: &[u8] = b"test-only SECRET_KEY of 32+ bytes";
pub(crate) const ISSUER: &str = "gatehouse";
pub(crate) const AUDIENCE: &str = "gatehouse-api";
pub(crate) const TTL: Duration = Duration::minutes(15);

pub(crate) fn settings() -> TokenSettings {
    settings_in("production")
}

pub(crate) fn settings_in(environment: &str) -> TokenSettings {
    TokenSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        ttl: TTL,
        environment: environment.into(),
    }
}

pub(crate) fn build(format: TokenFormat) -> Arc<dyn AccessTokens> {
    build_access_tokens(format, settings()).unwrap()
}

pub(crate) fn claims() -> AccessClaims {
    AccessClaims {
        user: UserId::random(),
        session: SessionId::random(),
    }
}

/// The real time: the libraries validate against it (see `claims.rs`).
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A token issued at `now` for fresh claims, as text.
pub(crate) fn issue_at(tokens: &dyn AccessTokens, now: OffsetDateTime) -> (AccessClaims, String) {
    let claims = claims();
    let issued = tokens.issue(claims, now).unwrap();
    (claims, issued.token.expose().to_owned())
}

/// The reason a token was refused, or a panic if it was accepted.
pub(crate) fn rejection(tokens: &dyn AccessTokens, token: &str) -> String {
    match tokens.verify(token, now()) {
        Ok(claims) => panic!("accepted a token that must be refused: {claims:?}"),
        Err(rejected) => rejected.0,
    }
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn b64_json(value: &Value) -> String {
    b64(value.to_string())
}

pub(crate) fn decode_json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Asserts TOK-15: the payload holds the eight claims and nothing else.
pub(crate) fn assert_minimal_claims(payload: &Value) {
    let mut names: Vec<&str> = payload
        .as_object()
        .expect("a JSON object payload")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["aud", "exp", "iat", "iss", "jti", "nbf", "sid", "sub"],
        "TOK-15"
    );
}

/// A complete, valid JWT claim set at `now`, to be edited by a test.
pub(crate) fn jwt_claims(now: OffsetDateTime) -> Map<String, Value> {
    let at = now.unix_timestamp();
    let Value::Object(map) = json!({
        "sub": Uuid::new_v4().to_string(),
        "sid": Uuid::new_v4().to_string(),
        "jti": Uuid::new_v4().to_string(),
        "iat": at,
        "nbf": at,
        "exp": at + TTL.whole_seconds(),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }) else {
        unreachable!("a JSON object literal")
    };
    map
}

/// `header.payload` in compact JWS form.
pub(crate) fn signing_input(header: &Value, claims: &Map<String, Value>) -> String {
    format!(
        "{}.{}",
        b64_json(header),
        b64_json(&Value::Object(claims.clone()))
    )
}

/// An HMAC-SHA-256 JWS over `header` and `claims` with `key`, whatever the header says.
pub(crate) fn hs256(header: &Value, claims: &Map<String, Value>, key: &[u8]) -> String {
    let input = signing_input(header, claims);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// An HMAC-SHA-512 JWS, for the algorithm-relabelling cases.
pub(crate) fn hs512(header: &Value, claims: &Map<String, Value>, key: &[u8]) -> String {
    let input = signing_input(header, claims);
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// An Ed25519 JWS with the key in `pem`, whatever the header says.
pub(crate) fn eddsa(header: &Value, claims: &Map<String, Value>, pem: &str) -> String {
    let pair = ed25519_compact::KeyPair::from_pem(pem).unwrap();
    let input = signing_input(header, claims);
    let signature = pair.sk.sign(input.as_bytes(), None);
    format!("{input}.{}", b64(signature.as_slice()))
}
