//! Routes 3, 4 and 5 (CONTRACT.md §4.2) on a deployment without email: recovery answers as
//! if it sent mail (§9a), reset refuses unknown tokens, the HTML preview still renders.

use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::StatusCode;
use serde_json::json;

async fn recovery_answers_the_same_200_for_known_unknown_and_odd_addresses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let expected = (
        StatusCode::OK,
        json!({"message": "If that email is registered, we sent a password recovery link"}),
    );
    for email in [
        "admin@example.com",
        "ADMIN@example.com",
        "nobody@example.com",
        "not-an-email",
    ] {
        let answer = send(app.post(&format!("/api/v1/password-recovery/{email}"))).await;
        assert_eq!(answer, expected, "{email}");
    }
    assert!(app.mailer.sent().is_empty(), "email is off");
}

async fn reset_refuses_a_token_it_never_issued(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = send(
        app.post("/api/v1/reset-password/")
            .json(&json!({"token": "made-up", "new_password": "new-password-1"})),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"detail": "Invalid token"}))
    );
    let (status, body) = send(app.post("/api/v1/reset-password/")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}]})
    );
}

async fn recovery_preview_renders_html_with_a_subject_header_for_known_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let response = app
        .post("/api/v1/password-recovery-html-content/admin@example.com")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(
        response.headers()["subject"],
        "Gatehouse - Password recovery for user admin@example.com"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("http://localhost:5173/reset-password?token="),
        "{html}"
    );
    let variant = app
        .post("/api/v1/password-recovery-html-content/ADMIN@Example.COM")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(variant.status(), StatusCode::OK, "one identity (§9d)");
}

async fn recovery_preview_of_a_unicode_address_still_has_a_valid_subject_header(backend: Backend) {
    // The template dropped the connection here: its subject header could not be encoded
    // (CONTRACT.md §9a).
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.signup("ünï@exämple.com", "password-123").await.status(),
        StatusCode::OK
    );
    let admin = app.admin_token().await;
    let response = app
        .post("/api/v1/password-recovery-html-content/ünï@exämple.com")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let subject = response.headers().get("subject").expect("a subject header");
    assert!(
        subject
            .as_bytes()
            .starts_with(b"Gatehouse - Password recovery for user "),
        "{subject:?}"
    );
    assert!(response.text().await.unwrap().contains("<"), "an HTML body");
}

async fn recovery_preview_never_lets_an_address_break_the_subject_header(backend: Backend) {
    // Route 23 stores any address, control characters included.
    let app = TestApp::spawn(backend).await;
    let (status, _) = send(app.post("/api/v1/private/users/").json(&json!({
        "email": "evil\r\nX-Injected: 1",
        "password": "password",
        "full_name": "Evil",
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    let admin = app.admin_token().await;
    let response = app
        .post("/api/v1/password-recovery-html-content/evil%0D%0AX-Injected%3A%201")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("x-injected").is_none());
    let subject = response.headers()["subject"].as_bytes();
    assert!(!subject.iter().any(|b| b.is_ascii_control()), "{subject:?}");
}

async fn recovery_preview_of_an_unknown_address_is_404_with_a_period(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (status, body) = send(
        app.post("/api/v1/password-recovery-html-content/nobody@example.com")
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "The user with this username does not exist in the system."})
        )
    );
}

async fn recovery_preview_is_for_superusers_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _, token) = app.user_with_token().await;
    let (status, body) = send(
        app.post(&format!(
            "/api/v1/password-recovery-html-content/{}",
            account.email
        ))
        .bearer_auth(&token),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "The user doesn't have enough privileges"})
        )
    );
}

storage_independent!(
    recovery_answers_the_same_200_for_known_unknown_and_odd_addresses,
    reset_refuses_a_token_it_never_issued,
    recovery_preview_renders_html_with_a_subject_header_for_known_users,
    recovery_preview_of_a_unicode_address_still_has_a_valid_subject_header,
    recovery_preview_never_lets_an_address_break_the_subject_header,
    recovery_preview_of_an_unknown_address_is_404_with_a_period,
    recovery_preview_is_for_superusers_only,
);
