//! PASETO formats against TOK-09, TOK-10 and §4.2's tampering table.

use gatehouse_domain::ports::{AccessTokens, OpaqueTokens};
use serde_json::{Value, json};
use time::Duration;

use super::*;
use crate::keys::kid_text;
use crate::testkit::{
    SECRET, TTL, assert_minimal_claims, b64, b64_json, claims, decode_json, issue_at, now,
    rejection, settings, settings_in,
};
use crate::{
    HmacSecret, KeyPurpose, OpaqueTokenService, TokenFormat, build_access_tokens, derive_key,
};

type Tokens = CodecTokens<PasetoCodec>;

fn local_with(key: &LocalKey) -> Tokens {
    PasetoCodec::local(key, &[], settings())
}

fn public_with(key: &Ed25519SigningKey) -> Tokens {
    PasetoCodec::public(key, &[], settings()).unwrap()
}

/// One instance of each purpose, for the cases that hold for both.
fn both() -> [Tokens; 2] {
    [
        local_with(&LocalKey::generate().unwrap()),
        public_with(&Ed25519SigningKey::generate().unwrap()),
    ]
}

/// Valid claims at the real time, for a test to edit before sealing.
fn valid_claims(tokens: &Tokens) -> Claims {
    let stamp = Stamp::new(claims(), now(), TTL, PasetoCodec::BACKDATE).unwrap();
    tokens.0.claims(&stamp).unwrap()
}

fn sealed(tokens: &Tokens, claims: &Claims) -> String {
    tokens.0.seal(claims).unwrap()
}

/// The token's parts: `v4`, purpose, message, footer.
fn parts(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

#[test]
fn local_tokens_round_trip_with_a_kid_footer() {
    let key = LocalKey::generate().unwrap();
    let tokens = local_with(&key);
    let (claims, token) = issue_at(&tokens, now());
    assert!(token.starts_with("v4.local."));
    assert_eq!(tokens.verify(&token, now()).unwrap(), claims);
    let parts = parts(&token);
    assert_eq!(parts.len(), 4);
    assert_eq!(
        decode_json(parts[3]),
        json!({"kid": kid_text(&key.paserk_id())})
    );
    assert!(tokens.public_keys().is_empty());
}

#[test]
fn public_tokens_carry_exactly_the_minimal_back_dated_claims() {
    let key = Ed25519SigningKey::generate().unwrap();
    let tokens = public_with(&key);
    let issued_at = now();
    let (claims, token) = issue_at(&tokens, issued_at);
    assert!(token.starts_with("v4.public."));
    assert_eq!(tokens.verify(&token, now()).unwrap(), claims);

    let parts = parts(&token);
    let kid = kid_text(&key.public_key().paserk_id().unwrap());
    assert_eq!(decode_json(parts[3]), json!({"kid": kid}));
    let message =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[2])
            .unwrap();
    let payload: Value = serde_json::from_slice(&message[..message.len() - 64]).unwrap();
    assert_minimal_claims(&payload);
    assert_eq!(payload["sid"], claims.session.to_string());
    let whole = issued_at.unix_timestamp();
    let at = |claim: &str| {
        OffsetDateTime::parse(payload[claim].as_str().unwrap(), &Rfc3339)
            .unwrap()
            .unix_timestamp()
    };
    assert_eq!(at("iat"), whole - 5, "TOK-07: back-dated 5 s");
    assert_eq!(at("nbf"), whole - 5);
    assert_eq!(at("exp"), whole + TTL.whole_seconds());

    let published = tokens.public_keys();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].kid, kid);
    assert_eq!(&published[0].ed25519, key.public_key().as_bytes());
}

#[test]
fn other_versions_and_purposes_are_refused() {
    let [local, public] = both();
    let (_, local_token) = issue_at(&local, now());
    let (_, public_token) = issue_at(&public, now());
    for prefix in ["v2.local.", "v3.local.", "v1.local.", "v4.public."] {
        let token = local_token.replacen("v4.local.", prefix, 1);
        assert_eq!(rejection(&local, &token), "malformed token", "{prefix}");
    }
    for prefix in ["v2.public.", "v3.public.", "v4.local."] {
        let token = public_token.replacen("v4.public.", prefix, 1);
        assert_eq!(rejection(&public, &token), "malformed token", "{prefix}");
    }
    assert_eq!(rejection(&local, &public_token), "malformed token");
    assert_eq!(rejection(&public, &local_token), "malformed token");
}

#[test]
fn an_edited_missing_or_unknown_footer_is_refused() {
    for tokens in both() {
        let (_, token) = issue_at(&tokens, now());
        let parts = parts(&token);
        let mut footer = decode_json(parts[3]);
        let head = format!("{}.{}.{}", parts[0], parts[1], parts[2]);

        footer["extra"] = json!("value");
        let edited = format!("{head}.{}", b64_json(&footer));
        assert_eq!(
            rejection(&tokens, &edited),
            "bad signature",
            "K1: compared, not parsed"
        );

        let spaced = format!(
            "{head}.{}",
            b64(format!(
                r#"{{"kid": "{}"}}"#,
                footer["kid"].as_str().unwrap()
            ))
        );
        assert_eq!(rejection(&tokens, &spaced), "bad signature");

        let other = kid_text(&LocalKey::generate().unwrap().paserk_id());
        let unknown = format!("{head}.{}", b64_json(&json!({"kid": other})));
        assert_eq!(rejection(&tokens, &unknown), "unknown key");

        for hostile in [json!("../../etc/passwd"), json!(42), json!(null)] {
            let token = format!("{head}.{}", b64_json(&json!({"kid": hostile})));
            assert_eq!(rejection(&tokens, &token), "unknown key", "{hostile}");
        }
        assert_eq!(rejection(&tokens, &head), "unknown key", "no footer");
    }
}

#[test]
fn another_environments_implicit_assertion_is_refused() {
    let key = LocalKey::generate().unwrap();
    let staging = PasetoCodec::local(&key, &[], settings_in("staging"));
    let production = local_with(&key);
    let (_, token) = issue_at(&staging, now());
    assert_eq!(rejection(&production, &token), "bad signature", "TOK-09");

    let signing = Ed25519SigningKey::generate().unwrap();
    let staging = PasetoCodec::public(&signing, &[], settings_in("staging")).unwrap();
    let (_, token) = issue_at(&staging, now());
    assert_eq!(rejection(&public_with(&signing), &token), "bad signature");
}

/// Issue 16, version skew: claims a newer release adds are ignored, the token honoured.
#[test]
fn claims_a_newer_release_adds_are_ignored() {
    for tokens in both() {
        let mut claims = valid_claims(&tokens);
        claims.add_additional("ver", 2).unwrap();
        claims.add_additional("scope", "items:write").unwrap();
        claims
            .add_additional("ext", json!({"tenant": null, "n": 1.5}))
            .unwrap();
        let token = sealed(&tokens, &claims);
        let accepted = tokens
            .verify(&token, now())
            .expect("unknown claims are ignored");
        assert_eq!(
            accepted.session.to_string(),
            claims.get_claim("sid").unwrap().as_str().unwrap()
        );
    }
}

#[test]
fn missing_or_wrong_claims_are_refused() {
    for tokens in both() {
        assert!(
            tokens
                .verify(&sealed(&tokens, &valid_claims(&tokens)), now())
                .is_ok()
        );

        for (claim, reason) in [
            ("exp", "missing or mistyped claims"),
            ("sid", "missing or mistyped claims"),
            ("iat", "missing or mistyped claims"),
            ("nbf", "missing or mistyped claims"),
            ("jti", "missing or mistyped claims"),
            ("sub", "missing or mistyped claims"),
            ("iss", "wrong issuer"),
            ("aud", "wrong audience"),
        ] {
            let mut claims = valid_claims(&tokens);
            claims.remove_claim(claim);
            let token = sealed(&tokens, &claims);
            assert_eq!(rejection(&tokens, &token), reason, "no {claim}");
        }

        let mut claims = valid_claims(&tokens);
        claims.audience("someone-else").unwrap();
        assert_eq!(
            rejection(&tokens, &sealed(&tokens, &claims)),
            "wrong audience"
        );
        let mut claims = valid_claims(&tokens);
        claims.issuer("https://evil.example").unwrap();
        assert_eq!(
            rejection(&tokens, &sealed(&tokens, &claims)),
            "wrong issuer"
        );
        let mut claims = valid_claims(&tokens);
        claims.subject("admin@example.com").unwrap();
        assert_eq!(
            rejection(&tokens, &sealed(&tokens, &claims)),
            "subject is not a user id"
        );
        let mut claims = valid_claims(&tokens);
        claims.add_additional("sid", 42).unwrap();
        assert_eq!(
            rejection(&tokens, &sealed(&tokens, &claims)),
            "missing or mistyped claims"
        );
    }
}

#[test]
fn expiry_is_checked_by_pasetors_and_at_the_callers_now() {
    for tokens in both() {
        let (_, expired) = issue_at(&tokens, now() - TTL - Duration::seconds(10));
        assert_eq!(rejection(&tokens, &expired), "expired");

        let (claims, token) = issue_at(&tokens, now());
        assert_eq!(
            tokens
                .verify(&token, now() + TTL - Duration::seconds(2))
                .unwrap(),
            claims
        );
        let later = tokens.verify(&token, now() + TTL + Duration::seconds(2));
        assert_eq!(later.unwrap_err().0, "expired");
        let earlier = tokens.verify(&token, now() - Duration::seconds(30));
        assert_eq!(earlier.unwrap_err().0, "not yet valid");

        let mut future = valid_claims(&tokens);
        let later = (now() + Duration::minutes(2)).format(&Rfc3339).unwrap();
        future.not_before(&later).unwrap();
        assert_eq!(
            rejection(&tokens, &sealed(&tokens, &future)),
            "not yet valid"
        );
    }
}

#[test]
fn rotation_keeps_old_tokens_while_their_key_verifies() {
    let a = LocalKey::generate().unwrap();
    let b = LocalKey::generate().unwrap();
    let (claims, old) = issue_at(&local_with(&a), now());
    let rotating = PasetoCodec::local(&b, std::slice::from_ref(&a), settings());
    assert_eq!(rotating.verify(&old, now()).unwrap(), claims, "CFG-05");
    let (_, new) = issue_at(&rotating, now());
    assert_eq!(
        decode_json(parts(&new)[3])["kid"],
        json!(kid_text(&b.paserk_id()))
    );
    assert_eq!(rejection(&local_with(&b), &old), "unknown key", "A dropped");

    let a = Ed25519SigningKey::generate().unwrap();
    let b = Ed25519SigningKey::generate().unwrap();
    let (claims, old) = issue_at(&public_with(&a), now());
    let rotating = PasetoCodec::public(&b, &[a.public_key()], settings()).unwrap();
    assert_eq!(rotating.verify(&old, now()).unwrap(), claims);
    assert_eq!(rotating.public_keys().len(), 2);
    assert_eq!(rejection(&public_with(&b), &old), "unknown key");
}

#[test]
fn jwts_refresh_tokens_and_oversized_input_are_refused() {
    let jwt = build_access_tokens(
        TokenFormat::JwtHs256 {
            secret: HmacSecret::new(SECRET).unwrap(),
        },
        settings(),
    )
    .unwrap();
    let (_, jwt_token) = issue_at(jwt.as_ref(), now());
    let refresh = OpaqueTokenService::new(derive_key(SECRET, KeyPurpose::RefreshChild)).generate();
    for tokens in both() {
        let (_, token) = issue_at(&tokens, now());
        assert_eq!(rejection(&tokens, &jwt_token), "malformed token");
        assert_eq!(rejection(&tokens, refresh.expose()), "malformed token");
        rejection(&tokens, "");
        rejection(&tokens, &token[..token.len() - 10]);
        let huge = format!("{token}{}", "A".repeat(5000));
        assert_eq!(rejection(&tokens, &huge), "token too long");
        assert_eq!(rejection(jwt.as_ref(), &token), "malformed token");
    }
}
