//! Password recovery (CONTRACT.md §9f): single-use, one-hour tokens; a reset ends every
//! session and does not log in; unknown addresses look the same and get no mail.

use gatehouse_application::{LoginError, ResetError};
use gatehouse_domain::Password;
use time::Duration;

use crate::harness::{Harness, client};

const NEW: &str = "a brand new password";

#[tokio::test]
async fn a_reset_sets_the_password_ends_every_session_and_spends_the_token() {
    let h = Harness::new();
    h.account("alice@example.com", false).await;
    let session = h.login("alice@example.com").await;
    h.app
        .recover_password("alice@example.com", &client())
        .await
        .expect("recovery");
    let token = h.reset_token_mailed_to("alice@example.com");

    let new = Password::new(NEW).expect("valid");
    h.app
        .reset_password(&token, &new, &client())
        .await
        .expect("reset");

    assert!(h.principal(&session).await.is_none(), "sessions end");
    assert!(matches!(
        h.login_with("alice@example.com", crate::harness::PASSWORD)
            .await,
        Err(LoginError::IncorrectCredentials)
    ));
    h.login_with("alice@example.com", NEW)
        .await
        .expect("the new password");
    assert!(matches!(
        h.app.reset_password(&token, &new, &client()).await,
        Err(ResetError::InvalidToken)
    ));
}

#[tokio::test]
async fn a_reset_token_expires_after_an_hour() {
    let h = Harness::new();
    h.account("alice@example.com", false).await;
    h.app
        .recover_password("alice@example.com", &client())
        .await
        .expect("recovery");
    let token = h.reset_token_mailed_to("alice@example.com");
    h.clock.advance(Duration::minutes(61));
    assert!(matches!(
        h.app
            .reset_password(&token, &Password::new(NEW).expect("valid"), &client())
            .await,
        Err(ResetError::InvalidToken)
    ));
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_mail() {
    let h = Harness::new();
    h.app
        .recover_password("nobody@example.com", &client())
        .await
        .expect("the same answer as for a known address");
    assert!(h.mail.sent().is_empty());
}
