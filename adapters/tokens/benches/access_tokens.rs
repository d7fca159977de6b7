//! Issuing and verifying one access token in each format, as the login and every authenticated
//! request do: `access_token/issue/<format>` and `access_token/verify/<format>`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_domain::ports::AccessTokens;
use gatehouse_tokens::{Ed25519SigningKey, HmacSecret, LocalKey, TokenFormat, build_access_tokens};
use support::{claims, settings};
use time::OffsetDateTime;

/// Every format with a fresh key, named as `TOKEN_FORMAT` names it.
fn formats() -> Vec<(&'static str, TokenFormat)> {
    let signing = || Ed25519SigningKey::generate().expect("an Ed25519 key");
    vec![
        (
            "jwt-hs256",
            TokenFormat::JwtHs256 {
                secret: HmacSecret::new(*b"benchmark-only SECRET_KEY, 32+ bytes")
                    .expect("a non-empty secret"),
            },
        ),
        (
            "jwt-eddsa",
            TokenFormat::JwtEdDsa {
                signing: signing(),
                previous: Vec::new(),
            },
        ),
        (
            "paseto-v4-local",
            TokenFormat::PasetoLocal {
                current: LocalKey::generate().expect("a v4.local key"),
                previous: Vec::new(),
            },
        ),
        (
            "paseto-v4-public",
            TokenFormat::PasetoPublic {
                signing: signing(),
                previous: Vec::new(),
            },
        ),
    ]
}

fn access_tokens(c: &mut Criterion) {
    let claims = claims();
    let built: Vec<(&str, Arc<dyn AccessTokens>)> = formats()
        .into_iter()
        .map(|(name, format)| {
            let tokens = build_access_tokens(format, settings()).expect("the format builds");
            (name, tokens)
        })
        .collect();

    let mut issue = c.benchmark_group("access_token/issue");
    for (name, tokens) in &built {
        issue.bench_function(*name, |b| {
            b.iter(|| tokens.issue(claims, OffsetDateTime::now_utc()));
        });
    }
    issue.finish();

    let mut verify = c.benchmark_group("access_token/verify");
    for (name, tokens) in &built {
        let now = OffsetDateTime::now_utc();
        let token = tokens.issue(claims, now).expect("issuing works").token;
        verify.bench_function(*name, |b| {
            b.iter(|| tokens.verify(token.expose(), now));
        });
    }
    verify.finish();
}

criterion_group!(benches, access_tokens);
criterion_main!(benches);
