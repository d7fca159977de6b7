//! JWT formats against SECURITY.md's TOK rows and §4.2's tampering table.

use gatehouse_domain::ports::OpaqueTokens;
use serde_json::{Value, json};
use time::Duration;

use crate::testkit::{
    SECRET, TTL, assert_minimal_claims, b64_json, build, decode_json, eddsa, hs256, hs512,
    issue_at, jwt_claims, now, rejection,
};
use crate::{
    Ed25519SigningKey, HmacSecret, KeyPurpose, OpaqueTokenService, TokenFormat, derive_key,
};

fn hs() -> TokenFormat {
    TokenFormat::JwtHs256 {
        secret: HmacSecret::new(SECRET).unwrap(),
    }
}

fn ed(signing: &Ed25519SigningKey) -> TokenFormat {
    TokenFormat::JwtEdDsa {
        signing: Ed25519SigningKey::parse(&signing.to_pem()).unwrap(),
        previous: Vec::new(),
    }
}

fn hs_header() -> Value {
    json!({"alg": "HS256", "typ": "at+jwt"})
}

fn parts(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

#[test]
fn hs256_round_trip_carries_exactly_the_minimal_claims() {
    let tokens = build(hs());
    let (claims, token) = issue_at(tokens.as_ref(), now());
    assert_eq!(tokens.verify(&token, now()).unwrap(), claims);

    let parts = parts(&token);
    assert_eq!(parts.len(), 3);
    assert_eq!(
        decode_json(parts[0]),
        json!({"alg": "HS256", "typ": "at+jwt"})
    );
    let payload = decode_json(parts[1]);
    assert_minimal_claims(&payload);
    assert_eq!(payload["sub"], claims.user.to_string());
    assert_eq!(payload["sid"], claims.session.to_string());
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(),
        900
    );
    assert_eq!(
        tokens.issue(claims, now()).unwrap().expires_in,
        TTL,
        "TOK-01"
    );
    assert!(tokens.public_keys().is_empty(), "no JWKS under HS256");
}

#[test]
fn tokens_use_only_url_safe_characters() {
    let (_, token) = issue_at(build(hs()).as_ref(), now());
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    );
}

#[test]
fn alg_none_is_refused() {
    let tokens = build(hs());
    let header = json!({"alg": "none", "typ": "at+jwt"});
    let unsigned = format!(
        "{}.{}.",
        b64_json(&header),
        b64_json(&Value::Object(jwt_claims(now())))
    );
    assert_eq!(rejection(tokens.as_ref(), &unsigned), "malformed token");
}

#[test]
fn an_hs256_token_maced_with_our_eddsa_public_key_is_refused() {
    let signing = Ed25519SigningKey::generate().unwrap();
    let tokens = build(ed(&signing));
    let public = signing.public_key();
    let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": public.jwk_thumbprint()});
    for key in [public.as_bytes().to_vec(), public.to_pem().into_bytes()] {
        let forged = hs256(&header, &jwt_claims(now()), &key);
        assert_eq!(
            rejection(tokens.as_ref(), &forged),
            "algorithm not allowed",
            "TOK-02"
        );
    }
}

#[test]
fn relabelled_or_other_hmac_algorithms_are_refused() {
    let tokens = build(hs());
    let (_, token) = issue_at(tokens.as_ref(), now());
    let parts = parts(&token);
    let relabelled = format!(
        "{}.{}.{}",
        b64_json(&json!({"alg": "HS512", "typ": "at+jwt"})),
        parts[1],
        parts[2]
    );
    assert_eq!(
        rejection(tokens.as_ref(), &relabelled),
        "algorithm not allowed"
    );
    let hs512 = hs512(
        &json!({"alg": "HS512", "typ": "at+jwt"}),
        &jwt_claims(now()),
        SECRET,
    );
    assert_eq!(rejection(tokens.as_ref(), &hs512), "algorithm not allowed");
}

#[test]
fn a_wrong_or_missing_typ_is_refused() {
    let tokens = build(hs());
    for header in [
        json!({"alg": "HS256", "typ": "JWT"}),
        json!({"alg": "HS256"}),
        json!({"alg": "HS256", "typ": "rt+jwt"}),
        json!({"alg": "HS256", "typ": "AT+JWT "}),
    ] {
        let token = hs256(&header, &jwt_claims(now()), SECRET);
        assert_eq!(
            rejection(tokens.as_ref(), &token),
            "not an access token",
            "{header}"
        );
    }
}

#[test]
fn a_hand_made_token_with_our_key_and_claims_verifies() {
    // Guards the tampering tests below: they fail for the tampering, not for the hand-making.
    let tokens = build(hs());
    let token = hs256(&hs_header(), &jwt_claims(now()), SECRET);
    assert!(tokens.verify(&token, now()).is_ok());
}

#[test]
fn each_claim_missing_in_turn_is_refused() {
    let tokens = build(hs());
    for claim in ["sub", "sid", "jti", "iat", "nbf", "exp", "iss", "aud"] {
        let mut claims = jwt_claims(now());
        claims.remove(claim);
        let token = hs256(&hs_header(), &claims, SECRET);
        let reason = rejection(tokens.as_ref(), &token);
        assert!(
            [
                "missing or mistyped claims",
                "wrong issuer",
                "wrong audience"
            ]
            .contains(&reason.as_str()),
            "{claim}: {reason}"
        );
    }
}

#[test]
fn mistyped_claims_are_refused() {
    let tokens = build(hs());
    for (claim, value) in [
        ("exp", json!("9999999999")),
        ("nbf", json!("0")),
        ("iat", json!("0")),
        ("iat", json!(1.5)),
        ("sub", json!(42)),
        ("sid", json!(null)),
        ("aud", json!(["someone-else"])),
    ] {
        let mut claims = jwt_claims(now());
        claims.insert(claim.into(), value);
        // `rejection` fails the test if the token is accepted.
        rejection(tokens.as_ref(), &hs256(&hs_header(), &claims, SECRET));
    }
    let mut claims = jwt_claims(now());
    claims.insert("exp".into(), json!("9999999999"));
    let token = hs256(&hs_header(), &claims, SECRET);
    assert_eq!(
        rejection(tokens.as_ref(), &token),
        "missing or mistyped claims",
        "TOK-05"
    );
}

#[test]
fn ids_that_are_not_uuids_are_refused() {
    let tokens = build(hs());
    for (claim, reason) in [
        ("sub", "subject is not a user id"),
        ("sid", "session is not a session id"),
        ("jti", "token id is not a UUID"),
    ] {
        let mut claims = jwt_claims(now());
        claims.insert(claim.into(), json!("admin@example.com"));
        let token = hs256(&hs_header(), &claims, SECRET);
        assert_eq!(rejection(tokens.as_ref(), &token), reason);
    }
}

#[test]
fn a_wrong_issuer_or_audience_is_refused() {
    let tokens = build(hs());
    for (claim, value, reason) in [
        ("iss", "https://evil.example", "wrong issuer"),
        ("iss", "Gatehouse", "wrong issuer"),
        ("aud", "gatehouse-api-other", "wrong audience"),
    ] {
        let mut claims = jwt_claims(now());
        claims.insert(claim.into(), json!(value));
        let token = hs256(&hs_header(), &claims, SECRET);
        assert_eq!(rejection(tokens.as_ref(), &token), reason);
    }
}

#[test]
fn expiry_allows_exactly_the_sixty_second_leeway() {
    let tokens = build(hs());
    let (_, beyond) = issue_at(tokens.as_ref(), now() - TTL - Duration::seconds(61));
    assert_eq!(
        rejection(tokens.as_ref(), &beyond),
        "expired",
        "TOK-07: exp = now - 61 s"
    );
    let (claims, within) = issue_at(tokens.as_ref(), now() - TTL - Duration::seconds(30));
    assert_eq!(
        tokens.verify(&within, now()).unwrap(),
        claims,
        "exp = now - 30 s"
    );
}

#[test]
fn validity_is_judged_at_the_callers_now() {
    let tokens = build(hs());
    let (claims, token) = issue_at(tokens.as_ref(), now());
    assert_eq!(tokens.verify(&token, now() + TTL).unwrap(), claims);
    let later = tokens.verify(&token, now() + TTL + Duration::seconds(61));
    assert_eq!(later.unwrap_err().0, "expired");
    let earlier = tokens.verify(&token, now() - Duration::seconds(90));
    assert_eq!(earlier.unwrap_err().0, "not yet valid");
}

#[test]
fn a_future_nbf_beyond_the_leeway_is_refused() {
    let tokens = build(hs());
    let mut claims = jwt_claims(now());
    claims.insert("nbf".into(), json!(now().unix_timestamp() + 120));
    let token = hs256(&hs_header(), &claims, SECRET);
    assert_eq!(rejection(tokens.as_ref(), &token), "not yet valid");

    claims.insert("nbf".into(), json!(now().unix_timestamp() + 30));
    let token = hs256(&hs_header(), &claims, SECRET);
    assert!(tokens.verify(&token, now()).is_ok(), "within the leeway");
}

#[test]
fn unknown_or_hostile_kids_are_refused() {
    let signing = Ed25519SigningKey::generate().unwrap();
    let tokens = build(ed(&signing));
    let pem = signing.to_pem();
    for kid in [
        json!("../../etc/passwd"),
        json!("x' OR 1=1--"),
        json!("unknown"),
        json!(""),
        json!(null),
    ] {
        let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
        let token = eddsa(&header, &jwt_claims(now()), &pem);
        assert_eq!(rejection(tokens.as_ref(), &token), "unknown key", "{kid}");
    }
    let no_kid = eddsa(
        &json!({"alg": "EdDSA", "typ": "at+jwt"}),
        &jwt_claims(now()),
        &pem,
    );
    assert_eq!(rejection(tokens.as_ref(), &no_kid), "unknown key");
}

#[test]
fn keys_embedded_or_referenced_in_the_header_are_ignored() {
    let ours = Ed25519SigningKey::generate().unwrap();
    let tokens = build(ed(&ours));
    let attacker = Ed25519SigningKey::generate().unwrap();
    let x = crate::testkit::b64(attacker.public_key().as_bytes());
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x});
    for header in [
        json!({"alg": "EdDSA", "typ": "at+jwt", "jwk": jwk, "kid": ours.public_key().jwk_thumbprint()}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "jwk": jwk, "kid": attacker.public_key().jwk_thumbprint()}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "jku": "https://evil.example/jwks.json",
               "kid": ours.public_key().jwk_thumbprint()}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "x5u": "https://evil.example/cert.pem",
               "kid": ours.public_key().jwk_thumbprint()}),
    ] {
        let token = eddsa(&header, &jwt_claims(now()), &attacker.to_pem());
        let reason = rejection(tokens.as_ref(), &token);
        assert!(
            ["bad signature", "unknown key"].contains(&reason.as_str()),
            "{header}: {reason}"
        );
    }
}

#[test]
fn a_token_maced_with_a_derived_subkey_is_refused() {
    let tokens = build(hs());
    for purpose in [KeyPurpose::RefreshChild, KeyPurpose::PasetoLocal] {
        let subkey = derive_key(SECRET, purpose);
        let token = hs256(&hs_header(), &jwt_claims(now()), subkey.as_bytes());
        assert_eq!(
            rejection(tokens.as_ref(), &token),
            "bad signature",
            "TOK-08 {purpose:?}"
        );
    }
}

#[test]
fn template_issued_tokens_are_refused() {
    let tokens = build(hs());
    let exp = now().unix_timestamp() + 3600;
    let mut claims = serde_json::Map::new();
    claims.insert("exp".into(), json!(exp));
    claims.insert("sub".into(), json!(uuid::Uuid::new_v4().to_string()));
    let template = hs256(&json!({"alg": "HS256", "typ": "JWT"}), &claims, SECRET);
    assert_eq!(rejection(tokens.as_ref(), &template), "not an access token");
    let typed = hs256(&hs_header(), &claims, SECRET);
    assert_eq!(
        rejection(tokens.as_ref(), &typed),
        "missing or mistyped claims"
    );
}

#[test]
fn refresh_tokens_and_garbage_are_refused_without_panicking() {
    let tokens = build(hs());
    let refresh = OpaqueTokenService::new(derive_key(SECRET, KeyPurpose::RefreshChild)).generate();
    let (_, token) = issue_at(tokens.as_ref(), now());
    let parts = parts(&token);
    let mut edited = jwt_claims(now());
    edited.insert("sub".into(), json!(uuid::Uuid::new_v4().to_string()));
    for garbage in [
        refresh.expose().to_owned(),
        String::new(),
        "Bearer".into(),
        "abc".into(),
        "a.b".into(),
        "a.b.c.d.e".into(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.", parts[0], parts[1]),
        format!("{}.{}.{}", parts[0], parts[1], &parts[2][..10]),
        format!(
            "{}.{}.{}",
            parts[0],
            b64_json(&Value::Object(edited)),
            parts[2]
        ),
        format!("{token}.{}", parts[2]),
        format!("{}.{}.{}", parts[0], "%%%", parts[2]),
    ] {
        rejection(tokens.as_ref(), &garbage);
    }
    let huge = format!("{}.{}.{}", parts[0], "A".repeat(5000), parts[2]);
    assert_eq!(rejection(tokens.as_ref(), &huge), "token too long");
}

/// Issue 16, version skew: a newer release may add claims (and non-critical header
/// parameters); this release ignores what it does not know and keeps honouring the token.
#[test]
fn claims_and_header_parameters_a_newer_release_adds_are_ignored() {
    let tokens = build(hs());
    let mut claims = jwt_claims(now());
    claims.insert("ver".into(), json!(2));
    claims.insert("scope".into(), json!("items:write"));
    claims.insert("amr".into(), json!(["pwd"]));
    claims.insert("ext".into(), json!({"tenant": null, "n": 1.5}));
    let header = json!({"alg": "HS256", "typ": "at+jwt", "cty": "x-gatehouse", "x5t": "abc"});
    let token = hs256(&header, &claims, SECRET);
    let accepted = tokens
        .verify(&token, now())
        .expect("unknown claims are ignored");
    assert_eq!(accepted.user.to_string(), claims["sub"].as_str().unwrap());
    assert_eq!(
        accepted.session.to_string(),
        claims["sid"].as_str().unwrap()
    );
}

#[test]
fn a_critical_header_is_refused() {
    let tokens = build(hs());
    let header = json!({"alg": "HS256", "typ": "at+jwt", "crit": ["exp"]});
    let token = hs256(&header, &jwt_claims(now()), SECRET);
    assert_eq!(
        rejection(tokens.as_ref(), &token),
        "critical header extension"
    );
}

#[test]
fn eddsa_tokens_name_their_key_and_publish_it() {
    let signing = Ed25519SigningKey::generate().unwrap();
    let tokens = build(ed(&signing));
    let (claims, token) = issue_at(tokens.as_ref(), now());
    assert_eq!(tokens.verify(&token, now()).unwrap(), claims);
    let kid = signing.public_key().jwk_thumbprint();
    assert_eq!(
        decode_json(parts(&token)[0]),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid})
    );
    let published = tokens.public_keys();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].kid, kid);
    assert_eq!(&published[0].ed25519, signing.public_key().as_bytes());
}

#[test]
fn rotation_keeps_old_tokens_while_their_key_verifies() {
    let a = Ed25519SigningKey::generate().unwrap();
    let b = Ed25519SigningKey::generate().unwrap();
    let (claims, old) = issue_at(build(ed(&a)).as_ref(), now());

    let rotating = build(TokenFormat::JwtEdDsa {
        signing: Ed25519SigningKey::parse(&b.to_paserk()).unwrap(),
        previous: vec![a.public_key()],
    });
    assert_eq!(
        rotating.verify(&old, now()).unwrap(),
        claims,
        "CFG-05: A still verifies"
    );
    let kids: Vec<String> = rotating.public_keys().into_iter().map(|k| k.kid).collect();
    assert_eq!(
        kids,
        [
            b.public_key().jwk_thumbprint(),
            a.public_key().jwk_thumbprint()
        ]
    );
    let (_, new) = issue_at(rotating.as_ref(), now());
    assert_eq!(
        decode_json(parts(&new)[0])["kid"],
        json!(b.public_key().jwk_thumbprint()),
        "B signs"
    );

    let rotated = build(ed(&b));
    assert_eq!(
        rejection(rotated.as_ref(), &old),
        "unknown key",
        "A dropped"
    );
    assert!(rotated.verify(&new, now()).is_ok());
}

#[test]
fn an_hs256_token_does_not_pass_as_eddsa_or_the_reverse() {
    let signing = Ed25519SigningKey::generate().unwrap();
    let hs_tokens = build(hs());
    let ed_tokens = build(ed(&signing));
    let (_, hs_token) = issue_at(hs_tokens.as_ref(), now());
    let (_, ed_token) = issue_at(ed_tokens.as_ref(), now());
    rejection(ed_tokens.as_ref(), &hs_token);
    rejection(hs_tokens.as_ref(), &ed_token);
}
