//! Access tokens refused end to end (SECURITY.md §1.3, §4.2; CONTRACT.md §3.1, §3.2): where
//! they are read from, what they cannot stand in for, template-issued tokens, tampered JWTs
//! and PASETOs of every kind, and the superuser flag read per request.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gatehouse_tests::app::{Backend, TestApp, send};
use gatehouse_tokens::{Ed25519SigningKey, KeyPurpose, LocalKey, TokenFormat, derive_key};
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::answers::{
    Pair, assert_access_works, assert_credentials_rejected, assert_invalid_refresh,
    assert_not_authenticated, log_in, rotate,
};
use super::forge::{ed25519_pair, hs256, jwt, jwt_part, options, paseto_kid};

const SESSIONS: &str = "/api/v1/auth/sessions";

async fn access_tokens_are_read_from_the_authorization_header_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;

    for request in [
        app.get(&format!("{SESSIONS}?access_token={token}")),
        app.get(SESSIONS)
            .header("authorization", format!("Basic {token}")),
        app.get(SESSIONS).header("authorization", token.clone()),
    ] {
        assert_not_authenticated(request.send().await.unwrap()).await;
    }
    for scheme in ["bearer", "Bearer", "BEARER"] {
        let (status, _) = send(
            app.get(SESSIONS)
                .header("authorization", format!("{scheme} {token}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{scheme}");
    }
}

async fn refresh_and_access_tokens_never_stand_in_for_each_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let pair = log_in(&app, &account).await;

    assert_credentials_rejected(app.me(&pair.refresh).await).await;
    assert_invalid_refresh(app.refresh(&pair.access).await).await;
    // Neither attempt spent or ended anything.
    assert_access_works(&app, &pair).await;
    rotate(&app, &pair.refresh).await;
}

/// Asserts that every `(token, why)` gets 403-CV.
async fn assert_all_rejected(app: &TestApp, tokens: Vec<(String, String)>) {
    for (token, why) in tokens {
        let response = app.me(&token).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{why}");
        assert_credentials_rejected(response).await;
    }
}

async fn tampered_hs256_tokens_all_get_the_same_403(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (_, other_id) = app.new_user().await;
    let pair = log_in(&app, &account).await;
    let ours = jwt_part(&pair.access, 1);
    let secret = EncodingKey::from_secret(&app.secret_key);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let with = |claim: &str, value: Value| {
        let mut claims = ours.clone();
        claims[claim] = value;
        hs256(&claims, "at+jwt", &app.secret_key)
    };
    // Controls: the forging is sound, and TOK-07's 60 s leeway holds both ways.
    assert_access_works(
        &app,
        &Pair {
            access: with("exp", ours["exp"].clone()),
            ..pair.clone()
        },
    )
    .await;
    assert_access_works(
        &app,
        &Pair {
            access: with("exp", json!(now - 30)),
            ..pair.clone()
        },
    )
    .await;

    let (header, payload, signature) = {
        let mut parts = pair.access.split('.');
        let mut next = || parts.next().unwrap().to_owned();
        (next(), next(), next())
    };
    let mut tampered: Vec<(String, String)> = vec![
        (
            format!(
                "{}.{payload}.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#)
            ),
            "alg none".into(),
        ),
        (
            jwt(
                &json!({"typ": "at+jwt", "alg": "HS512"}),
                &ours,
                &secret,
                Algorithm::HS512,
            ),
            "relabelled HS512".into(),
        ),
        (format!("{header}.{payload}."), "signature stripped".into()),
        (
            format!("{header}.{payload}.{}", &signature[..20]),
            "signature shortened".into(),
        ),
        (
            format!(
                "{header}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(
                    ours.to_string()
                        .replace(ours["sub"].as_str().unwrap(), &other_id)
                )
            ),
            "payload edited".into(),
        ),
        (header.clone(), "one segment".into()),
        (
            format!("{}.{}", pair.access, pair.access),
            "five segments".into(),
        ),
        ("a".repeat(5000), "over 4 KiB".into()),
        (
            with("exp", json!(now - 61)),
            "expired past the leeway".into(),
        ),
        (
            with("exp", json!((now + 600).to_string())),
            "string exp (TOK-05)".into(),
        ),
        (with("nbf", json!(now + 3600)), "future nbf".into()),
        (with("iat", json!(now + 3600)), "future iat".into()),
        (with("iss", json!("someone-else")), "wrong iss".into()),
        (with("aud", json!("another-api")), "wrong aud".into()),
    ];
    for claim in ["exp", "nbf", "iat", "iss", "aud", "sub", "sid", "jti"] {
        let mut claims = ours.clone();
        claims.as_object_mut().unwrap().remove(claim);
        tampered.push((
            hs256(&claims, "at+jwt", &app.secret_key),
            format!("no {claim}"),
        ));
    }
    assert_all_rejected(&app, tampered).await;
    assert_access_works(&app, &pair).await;
}

async fn tokens_issued_by_the_template_or_of_another_type_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, id) = app.new_user().await;
    let pair = log_in(&app, &account).await;
    let ours = jwt_part(&pair.access, 1);

    // Control: our own claims re-signed the way this test forges answer 200, so the 403s
    // below come from what was changed, not from the forging.
    let resigned = hs256(&ours, "at+jwt", &app.secret_key);
    assert_eq!(app.me(&resigned).await.status(), StatusCode::OK);

    let exp = OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let refresh_key = derive_key(&app.secret_key, KeyPurpose::RefreshChild);
    assert_all_rejected(
        &app,
        vec![
            (
                hs256(&json!({"exp": exp, "sub": id}), "JWT", &app.secret_key),
                "a template token (CONTRACT.md §3.2)".into(),
            ),
            (
                hs256(&ours, "JWT", &app.secret_key),
                "typ JWT (TOK-06)".into(),
            ),
            (
                hs256(&ours, "at+jwt", refresh_key.as_bytes()),
                "MACed with a derived subkey (TOK-08)".into(),
            ),
        ],
    )
    .await;
}

async fn a_demoted_superuser_loses_admin_routes_with_the_token_in_hand(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (status, second) = send(app.post("/api/v1/users/").bearer_auth(&admin).json(&json!({
        "email": "second-admin@example.com",
        "password": "second-admin-password",
        "is_superuser": true
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = app
        .token("second-admin@example.com", "second-admin-password")
        .await;
    let (status, _) = send(app.get("/api/v1/users/").bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = send(
        app.patch(&format!("/api/v1/users/{}", second["id"].as_str().unwrap()))
            .bearer_auth(&admin)
            .json(&json!({"is_superuser": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // TOK-15: the flag comes from the database per request, not from the token.
    assert_eq!(
        send(app.get("/api/v1/users/").bearer_auth(&token)).await,
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "The user doesn't have enough privileges"})
        )
    );
    let (status, me) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(
        (status, me["is_superuser"].clone()),
        (StatusCode::OK, json!(false))
    );
}

async fn tampered_eddsa_tokens_all_get_the_same_403(backend: Backend) {
    let (signing, copy) = ed25519_pair();
    let format = TokenFormat::JwtEdDsa {
        signing,
        previous: Vec::new(),
    };
    let app = TestApp::spawn_with(backend, options(format)).await;
    let (account, _) = app.new_user().await;
    let pair = log_in(&app, &account).await;
    let (header, claims) = (jwt_part(&pair.access, 0), jwt_part(&pair.access, 1));
    let ours = EncodingKey::from_ed_pem(copy.to_pem().as_bytes()).unwrap();
    let (attacker, _) = ed25519_pair();
    let theirs = EncodingKey::from_ed_pem(attacker.to_pem().as_bytes()).unwrap();
    let headed = |edit: &dyn Fn(&mut Value)| {
        let mut header = header.clone();
        edit(&mut header);
        header
    };
    // Control: re-signing our header and claims with our key is accepted.
    let resigned = jwt(&header, &claims, &ours, Algorithm::EdDSA);
    assert_access_works(
        &app,
        &Pair {
            access: resigned,
            ..pair.clone()
        },
    )
    .await;

    let public = copy.public_key();
    let mut tampered = Vec::new();
    for bogus in ["../../etc/passwd", "x' OR 1=1--", ""] {
        let header = headed(&|h| h["kid"] = json!(bogus));
        tampered.push((
            jwt(&header, &claims, &ours, Algorithm::EdDSA),
            format!("kid {bogus:?}"),
        ));
    }
    let no_kid = headed(&|h| {
        h.as_object_mut().unwrap().remove("kid");
    });
    tampered.push((
        jwt(&no_kid, &claims, &ours, Algorithm::EdDSA),
        "no kid".into(),
    ));
    let embedded = headed(&|h| {
        h["kid"] = json!(attacker.public_key().jwk_thumbprint());
        h["jwk"] = json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(attacker.public_key().as_bytes()),
        });
        h["jku"] = json!("https://attacker.example/jwks.json");
    });
    tampered.push((
        jwt(&embedded, &claims, &theirs, Algorithm::EdDSA),
        "embedded jwk and jku".into(),
    ));
    tampered.push((
        jwt(&header, &claims, &theirs, Algorithm::EdDSA),
        "another key, our kid".into(),
    ));
    for (name, secret) in [
        ("raw", public.as_bytes().to_vec()),
        ("PEM", public.to_pem().into_bytes()),
    ] {
        let confused = headed(&|h| h["alg"] = json!("HS256"));
        let key = EncodingKey::from_secret(&secret);
        tampered.push((
            jwt(&confused, &claims, &key, Algorithm::HS256),
            format!("HS256 MACed with the {name} public key (TOK-02)"),
        ));
    }
    assert_all_rejected(&app, tampered).await;
}

async fn tampered_pasetos_all_get_the_same_403(backend: Backend) {
    let format = TokenFormat::PasetoPublic {
        signing: Ed25519SigningKey::generate().unwrap(),
        previous: Vec::new(),
    };
    let app = TestApp::spawn_with(backend, options(format)).await;
    let (account, _) = app.new_user().await;
    let pair = log_in(&app, &account).await;
    let body = pair.access.strip_prefix("v4.public.").unwrap();
    let (payload, _) = body.rsplit_once('.').unwrap();
    let footer = |text: &str| URL_SAFE_NO_PAD.encode(text);
    let stranger = TestApp::spawn_with(
        Backend::Memory,
        options(TokenFormat::PasetoPublic {
            signing: Ed25519SigningKey::generate().unwrap(),
            previous: Vec::new(),
        }),
    )
    .await;
    let local = TestApp::spawn_with(
        Backend::Memory,
        options(TokenFormat::PasetoLocal {
            current: LocalKey::generate().unwrap(),
            previous: Vec::new(),
        }),
    )
    .await;
    let other_kid = paseto_kid(&stranger.admin_token().await);
    let tampered = vec![
        (format!("v4.local.{body}"), "other purpose".into()),
        (format!("v3.public.{body}"), "v3".into()),
        (format!("v2.local.{body}"), "v2".into()),
        (format!("v4.public.{payload}"), "footer removed".into()),
        (
            format!(
                "v4.public.{payload}.{}",
                footer(&format!(r#"{{"kid":"{other_kid}"}}"#))
            ),
            "footer naming another key".into(),
        ),
        (
            format!(
                "v4.public.{payload}.{}",
                footer(r#"{"kid":"../../etc/passwd"}"#)
            ),
            "footer edited".into(),
        ),
        (
            stranger.admin_token().await,
            "signed by a key we do not hold".into(),
        ),
        (local.admin_token().await, "a v4.local token".into()),
    ];
    assert_all_rejected(&app, tampered).await;
    assert_access_works(&app, &pair).await;
}

on_every_backend!(
    access_tokens_are_read_from_the_authorization_header_only,
    refresh_and_access_tokens_never_stand_in_for_each_other,
    tokens_issued_by_the_template_or_of_another_type_are_refused,
    tampered_hs256_tokens_all_get_the_same_403,
    tampered_eddsa_tokens_all_get_the_same_403,
    tampered_pasetos_all_get_the_same_403,
    a_demoted_superuser_loses_admin_routes_with_the_token_in_hand,
);
