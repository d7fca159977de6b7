//! Every access-token format over HTTP (SECURITY.md D10, TOK-08, CFG-05; CONTRACT.md §10):
//! JWT EdDSA and PASETO v4.public and v4.local serve every flow, the JWKS document (404 under
//! the symmetric formats) verified with independent JOSE and PASETO implementations (issue 5
//! item 6), and key rotation across replicas until the old key is dropped.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gatehouse_tests::app::{Backend, TestApp, keys, send, status_json};
use gatehouse_tokens::{Ed25519SigningKey, LocalKey, TokenFormat};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::answers::{Pair, assert_access_works, assert_credentials_rejected, log_in, rotate};
use super::forge::{ed25519_pair, jwt_part, kid_of, options, paseto_kid};

const SESSIONS: &str = "/api/v1/auth/sessions";
const JWKS: &str = "/.well-known/jwks.json";

async fn hs256_publishes_no_key_set(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        send(app.get(JWKS)).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );
}

/// Login, `/users/me`, refresh and the session list under the app's format; returns the
/// pair of the login and the user's id.
async fn assert_the_format_serves_every_flow(app: &TestApp, prefix: &str) -> (Pair, String) {
    let (account, id) = app.new_user().await;
    let pair = log_in(app, &account).await;
    assert!(pair.access.starts_with(prefix), "{}", pair.access);
    let (status, me) = status_json(app.me(&pair.access).await).await;
    assert_eq!(
        (status, me["email"].clone()),
        (StatusCode::OK, json!(account.email))
    );
    let next = rotate(app, &pair.refresh).await;
    assert!(next.access.starts_with(prefix));
    let (status, sessions) = send(app.get(SESSIONS).bearer_auth(&next.access)).await;
    assert_eq!(
        (status, sessions["count"].clone()),
        (StatusCode::OK, json!(1))
    );
    (pair, id)
}

/// The JWK the contract prescribes for an Ed25519 public key (CONTRACT.md §10).
fn expected_jwk(key: &Ed25519SigningKey, kid: &str) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.public_key().as_bytes()),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    })
}

/// The JWKS document, checked for public members only (TOK-08).
async fn key_set(app: &TestApp) -> Vec<Value> {
    let (status, body) = send(app.get(JWKS)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(keys(&body), ["keys"]);
    let keys = body["keys"].as_array().unwrap().clone();
    for key in &keys {
        assert!(key.get("d").is_none(), "a private member: {key}");
    }
    keys
}

/// jwt-compact's Ed25519 verifying key (ed25519-dalek).
type DalekKey = <jwt_compact::alg::Ed25519 as jwt_compact::Algorithm>::VerifyingKey;

async fn eddsa_tokens_verify_through_the_published_key_set(backend: Backend) {
    let (signing, copy) = ed25519_pair();
    let format = TokenFormat::JwtEdDsa {
        signing,
        previous: Vec::new(),
    };
    let app = TestApp::spawn_with(backend, options(format)).await;
    let (pair, user_id) = assert_the_format_serves_every_flow(&app, "ey").await;

    let header = jwt_part(&pair.access, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    let kid = header["kid"].as_str().expect("a kid").to_owned();
    assert_eq!(kid, copy.public_key().jwk_thumbprint());
    let keys = key_set(&app).await;
    assert_eq!(keys, [expected_jwk(&copy, &kid)]);

    // An independent JOSE library (jwt-compact on ed25519-dalek) verifies the token with
    // the key the document names, so the format is standard, not only self-consistent.
    use jwt_compact::{AlgorithmExt, UntrustedToken, jwk::JsonWebKey};
    let jwk: JsonWebKey<'_> = serde_json::from_value(keys[0].clone()).unwrap();
    let thumbprint = jwk.thumbprint::<sha2::Sha256>();
    assert_eq!(
        URL_SAFE_NO_PAD.encode(thumbprint),
        kid,
        "kid = RFC 7638 thumbprint"
    );
    let key = DalekKey::try_from(&jwk).unwrap();
    let untrusted = UntrustedToken::new(&pair.access).unwrap();
    let verified = jwt_compact::alg::Ed25519
        .validator::<Value>(&key)
        .validate(&untrusted)
        .expect("the token verifies under the published key");
    let claims = verified.claims();
    assert_eq!(claims.custom["sub"], json!(user_id));
    assert!(claims.custom["sid"].is_string() && claims.custom["jti"].is_string());
    assert_eq!(claims.custom["iss"], "gatehouse");
    assert_eq!(claims.custom["aud"], "gatehouse-api");
    let (exp, iat, nbf) = (
        claims.expiration.unwrap().timestamp(),
        claims.issued_at.unwrap().timestamp(),
        claims.not_before.unwrap().timestamp(),
    );
    assert_eq!((exp - iat, exp - nbf), (900, 900), "TOK-01: 15 minutes");
    // A token of a foreign key fails the same check.
    let (other, _) = ed25519_pair();
    let other_app = TestApp::spawn_with(
        Backend::Memory,
        options(TokenFormat::JwtEdDsa {
            signing: other,
            previous: Vec::new(),
        }),
    )
    .await;
    let foreign = other_app.admin_token().await;
    let foreign = UntrustedToken::new(&foreign).unwrap();
    assert!(
        jwt_compact::alg::Ed25519
            .validator::<Value>(&key)
            .validate(&foreign)
            .is_err()
    );
}

async fn v4_public_tokens_verify_through_the_published_key_set(backend: Backend) {
    let (signing, copy) = ed25519_pair();
    let format = TokenFormat::PasetoPublic {
        signing,
        previous: Vec::new(),
    };
    let app = TestApp::spawn_with(backend, options(format)).await;
    let (pair, _) = assert_the_format_serves_every_flow(&app, "v4.public.").await;

    // Served: v4.public signs with Ed25519, an asymmetric key CONTRACT.md §10 publishes;
    // the JWK's kid is the PASERK id the token's footer names.
    let kid = paseto_kid(&pair.access);
    assert!(kid.starts_with("k4.pid."), "{kid}");
    let keys = key_set(&app).await;
    assert_eq!(keys, [expected_jwk(&copy, &kid)]);

    // An independent PASETO implementation (rusty_paseto) verifies with that key.
    use rusty_paseto::core::{
        Footer, ImplicitAssertion, Key, Paseto, PasetoAsymmetricPublicKey, Public, V4,
    };
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(keys[0]["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = Key::<32>::from(x);
    let key = PasetoAsymmetricPublicKey::<V4, Public>::from(&key);
    let footer = format!(r#"{{"kid":"{kid}"}}"#);
    let payload = Paseto::<V4, Public>::try_verify(
        &pair.access,
        &key,
        Footer::from(footer.as_str()),
        ImplicitAssertion::from("gatehouse/test/access"),
    )
    .expect("the token verifies under the published key");
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["iss"], "gatehouse");
}

async fn v4_local_tokens_serve_every_flow_and_publish_no_key_set(backend: Backend) {
    let format = TokenFormat::PasetoLocal {
        current: LocalKey::generate().unwrap(),
        previous: Vec::new(),
    };
    let app = TestApp::spawn_with(backend, options(format)).await;
    let (pair, _) = assert_the_format_serves_every_flow(&app, "v4.local.").await;
    assert!(paseto_kid(&pair.access).starts_with("k4.lid."));
    assert_eq!(
        send(app.get(JWKS)).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );
}

/// One rotation of a format's keys: signing with A; then signing with B while A still
/// verifies; then B alone.
struct Rotation {
    old: TokenFormat,
    both: TokenFormat,
    new: TokenFormat,
    /// Whether the keys are published (asymmetric formats).
    published: bool,
}

fn rotations() -> Vec<(&'static str, Rotation)> {
    let (a1, a2) = ed25519_pair();
    let (b1, b2) = ed25519_pair();
    let (c1, c2) = ed25519_pair();
    let (d1, d2) = ed25519_pair();
    let (e, f) = (LocalKey::generate().unwrap(), LocalKey::generate().unwrap());
    vec![
        (
            "jwt-eddsa",
            Rotation {
                old: TokenFormat::JwtEdDsa {
                    signing: a1,
                    previous: Vec::new(),
                },
                both: TokenFormat::JwtEdDsa {
                    signing: b1,
                    previous: vec![a2.public_key()],
                },
                new: TokenFormat::JwtEdDsa {
                    signing: b2,
                    previous: Vec::new(),
                },
                published: true,
            },
        ),
        (
            "paseto-v4-public",
            Rotation {
                old: TokenFormat::PasetoPublic {
                    signing: c1,
                    previous: Vec::new(),
                },
                both: TokenFormat::PasetoPublic {
                    signing: d1,
                    previous: vec![c2.public_key()],
                },
                new: TokenFormat::PasetoPublic {
                    signing: d2,
                    previous: Vec::new(),
                },
                published: true,
            },
        ),
        (
            "paseto-v4-local",
            Rotation {
                old: TokenFormat::PasetoLocal {
                    current: e.clone(),
                    previous: Vec::new(),
                },
                both: TokenFormat::PasetoLocal {
                    current: f.clone(),
                    previous: vec![e],
                },
                new: TokenFormat::PasetoLocal {
                    current: f,
                    previous: Vec::new(),
                },
                published: false,
            },
        ),
    ]
}

async fn rotated_keys_verify_until_dropped(backend: Backend) {
    for (name, rotation) in rotations() {
        let old = TestApp::spawn_with(backend, options(rotation.old)).await;
        let (account, _) = old.new_user().await;
        let before = log_in(&old, &account).await;

        // Replicas on the same data, as a rolling deployment would start them (CFG-05).
        let both = old.spawn_replica_with(Some(rotation.both)).await;
        assert_access_works(&both, &before).await;
        let during = log_in(&both, &account).await;
        assert_ne!(kid_of(&during.access), kid_of(&before.access), "{name}");
        if rotation.published {
            let kids: Vec<String> = key_set(&both)
                .await
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                kids,
                [kid_of(&during.access), kid_of(&before.access)],
                "{name}: the signing key first, then the one rotated out"
            );
        }

        let new = old.spawn_replica_with(Some(rotation.new)).await;
        assert_access_works(&new, &during).await;
        let response = new.me(&before.access).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
        assert_credentials_rejected(response).await;
        // The session itself lives on: a refresh on the new keys issues a usable token.
        let after = rotate(&new, &before.refresh).await;
        assert_access_works(&new, &after).await;
    }
}

on_every_backend!(
    hs256_publishes_no_key_set,
    eddsa_tokens_verify_through_the_published_key_set,
    v4_public_tokens_verify_through_the_published_key_set,
    v4_local_tokens_serve_every_flow_and_publish_no_key_set,
    rotated_keys_verify_until_dropped,
);
