//! Invariant 4, one IPv6 /64 is one client for the per-IP limits: a single host is usually
//! handed a whole /64, so keying the login limit on the full address gives it 2^64 fresh
//! buckets. Forty wrong logins from forty addresses of one /64, each for a different
//! unknown email (so the account rule never applies), must meet the per-IP login limit.
//! Sequential requests suffice: this is about the key, not about timing.

use gatehouse_application::Policy;
use gatehouse_tests::app::{TestApp, send};
use reqwest::StatusCode;

use super::{
    LOGIN_FAILED, THROTTLED, Target, assert_no_server_error, behind_proxy, detail, login_from,
    on_every_backend,
};

/// Logins sent, each from the next address of the /64.
const ATTEMPTS: usize = 40;

async fn one_prefix(app: TestApp, backend: Target) {
    let limit = Policy::default().throttle.login_ip.limit as usize;
    let mut answers = Vec::with_capacity(ATTEMPTS);
    for n in 1..=ATTEMPTS {
        let client = format!("2001:db8:1:2::{n:x}");
        let email = format!("nobody-{n}-{}@example.com", uuid::Uuid::new_v4().simple());
        answers.push(send(login_from(&app, &client, &email, "wrong password 123")).await);
    }
    assert_no_server_error(&answers, &backend.to_string());
    let throttled = detail(StatusCode::TOO_MANY_REQUESTS, THROTTLED);
    let failed = detail(StatusCode::BAD_REQUEST, LOGIN_FAILED);
    assert!(
        answers
            .iter()
            .all(|answer| *answer == throttled || *answer == failed),
        "{backend}: answers other than 400 and 429: {answers:?}"
    );
    let refused = answers
        .iter()
        .filter(|answer| **answer == throttled)
        .count();
    assert!(
        refused > 0 && ATTEMPTS - refused <= limit,
        "{backend}: {ATTEMPTS} logins from one /64 got {refused} answers 429; at most {limit} \
         may get through the per-IP login limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_logins_from_one_ipv6_slash_64_meet_the_per_ip_limit() {
    on_every_backend(behind_proxy, one_prefix).await;
}
