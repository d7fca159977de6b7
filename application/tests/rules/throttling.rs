//! The account lock (CONTRACT.md §9c, SECURITY.md RL-01): counted before the password is
//! checked, cleared by a success, doubled while guessing goes on.

use gatehouse_application::LoginError;
use time::Duration;

use crate::harness::{Harness, PASSWORD};

const ADDRESS: &str = "alice@example.com";

/// Five wrong guesses, each answered as incorrect credentials.
async fn five_wrong_guesses(h: &Harness) {
    for guess in 1..=5 {
        assert!(
            matches!(
                h.login_with(ADDRESS, "wrong password").await,
                Err(LoginError::IncorrectCredentials)
            ),
            "guess {guess} is checked"
        );
    }
}

fn locked_for(result: Result<gatehouse_application::TokenPair, LoginError>) -> i64 {
    match result {
        Err(LoginError::Throttled(t)) => t.retry_after_seconds(),
        other => panic!("expected a lock, got {other:?}"),
    }
}

#[tokio::test]
async fn five_failures_lock_the_account_even_for_the_right_password_until_the_window_ends() {
    let h = Harness::new();
    h.account(ADDRESS, false).await;
    five_wrong_guesses(&h).await;

    assert_eq!(locked_for(h.login_with(ADDRESS, PASSWORD).await), 15 * 60);
    h.clock.advance(Duration::minutes(15));
    h.login(ADDRESS).await;
}

#[tokio::test]
async fn a_success_clears_the_count() {
    let h = Harness::new();
    h.account(ADDRESS, false).await;
    for _ in 0..4 {
        assert!(h.login_with(ADDRESS, "wrong password").await.is_err());
    }
    h.login(ADDRESS).await;
    // Four more failures after the success do not lock: the earlier four were forgotten.
    for _ in 0..4 {
        assert!(matches!(
            h.login_with(ADDRESS, "wrong password").await,
            Err(LoginError::IncorrectCredentials)
        ));
    }
    h.login(ADDRESS).await;
}

#[tokio::test]
async fn guessing_on_after_a_lock_doubles_the_next_one() {
    let h = Harness::new();
    h.account(ADDRESS, false).await;
    five_wrong_guesses(&h).await;
    // Guessing during the lock is refused, and counted as a strike.
    locked_for(h.login_with(ADDRESS, "wrong password").await);
    h.clock.advance(Duration::minutes(15));
    five_wrong_guesses(&h).await;
    assert_eq!(locked_for(h.login_with(ADDRESS, PASSWORD).await), 30 * 60);
}

#[tokio::test]
async fn an_unknown_account_is_counted_and_locked_like_a_known_one() {
    let h = Harness::new();
    for _ in 0..5 {
        assert!(matches!(
            h.login_with("nobody@example.com", "wrong password").await,
            Err(LoginError::IncorrectCredentials)
        ));
    }
    assert_eq!(
        locked_for(h.login_with("nobody@example.com", "wrong password").await),
        15 * 60
    );
}
