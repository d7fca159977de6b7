//! Invariant 2, the account lock counts before it verifies: however many wrong passwords
//! for one account arrive at once, at most the per-account limit of them is verified (and
//! answered 400); the rest are refused with 429 before any hashing. A server that checks the
//! lock, verifies, and only then counts the failure lets every guess that arrives before the
//! first failure is counted through.
//!
//! Each guess comes from its own client IP (behind the trusted loopback proxy, in its own
//! /24), so the per-IP rule is never what stops them.

use gatehouse_application::Policy;
use gatehouse_tests::app::TestApp;
use reqwest::StatusCode;

use super::{
    Answer, LOGIN_FAILED, THROTTLED, Target, assert_no_server_error, behind_proxy, detail,
    login_from, on_every_backend, race,
};

/// Rounds on SQL (more on memory, see [`Target::rounds`]); each race is large, so a few
/// rounds fail the old code reliably.
const LOCK_ROUNDS: usize = 3;

/// Client IP number `n` of round `round`: one /24 per address, none shared across rounds,
/// so no address ever comes near the per-IP login limit.
fn client(round: usize, n: usize) -> String {
    format!("10.{round}.{n}.1")
}

/// `guesses` concurrent wrong-password logins for one fresh account, spread evenly over
/// `addresses` client IPs, per round: never more verifications than the account limit.
async fn guessing(app: TestApp, backend: Target, guesses: usize, addresses: usize) {
    let limit = u64::from(Policy::default().throttle.login_account.limit);
    for round in 1..=backend.rounds(LOCK_ROUNDS) {
        let at = format!("{backend}, round {round}");
        let (user, _) = app.new_user().await;
        let before = app.work.verifications();
        let requests = (0..guesses)
            .map(|n| {
                login_from(
                    &app,
                    &client(round, n % addresses),
                    &user.email,
                    "wrong password 123",
                )
            })
            .collect();
        let answers = race(requests).await;
        let verified = app.work.verifications() - before;
        assert_no_server_error(&answers, &at);
        let expected = [
            detail(StatusCode::BAD_REQUEST, LOGIN_FAILED),
            detail(StatusCode::TOO_MANY_REQUESTS, THROTTLED),
        ];
        let unexpected: Vec<&Answer> = answers
            .iter()
            .filter(|answer| !expected.contains(answer))
            .collect();
        assert!(
            unexpected.is_empty(),
            "{at}: answers other than 400 and 429: {unexpected:?}"
        );
        let failed = answers
            .iter()
            .filter(|answer| **answer == expected[0])
            .count();
        assert!(
            verified <= limit && failed as u64 <= limit,
            "{at}: {guesses} concurrent guesses from {addresses} addresses: {verified} \
             password verifications and {failed} answers 400, the account limit is {limit}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_guesses_from_fifty_addresses_verify_at_most_the_account_limit() {
    on_every_backend(behind_proxy, |app, backend| guessing(app, backend, 50, 50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_and_fifty_concurrent_guesses_from_thirty_addresses_verify_at_most_the_account_limit()
 {
    on_every_backend(behind_proxy, |app, backend| guessing(app, backend, 150, 30)).await;
}
