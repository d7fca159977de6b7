//! Routes 21 and 22 (CONTRACT.md §4.2), tag `utils`: the test email on a deployment without
//! email (§9a) and the legacy health check.

use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::StatusCode;
use serde_json::json;

const TEST_EMAIL: &str = "/api/v1/utils/test-email/";

async fn health_check_is_true_as_json_without_auth(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/api/v1/utils/health-check/").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(response.text().await.unwrap(), "true");
}

async fn test_email_without_email_configured_is_400_for_a_valid_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (status, body) = send(
        app.post(&format!("{TEST_EMAIL}?email_to=someone@example.com"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Email is not configured"})
        )
    );
    assert!(app.mailer.sent().is_empty());
}

async fn test_email_validates_email_to(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (status, body) = send(app.post(TEST_EMAIL).bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "missing",
            "loc": ["query", "email_to"],
            "msg": "Field required",
            "input": null
        }]})
    );
    let (status, body) = send(
        app.post(&format!("{TEST_EMAIL}?email_to=not-an-address"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "value_error",
            "loc": ["query", "email_to"],
            "msg": "value is not a valid email address: An email address must have an @-sign.",
            "input": "not-an-address",
            "ctx": {"reason": "An email address must have an @-sign."}
        }]})
    );
}

async fn test_email_is_for_superusers_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let url = format!("{TEST_EMAIL}?email_to=someone@example.com");
    let (status, body) = send(app.post(&url).bearer_auth(&token)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "The user doesn't have enough privileges"})
        )
    );
    let (status, body) = send(app.post(&url)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Not authenticated"})
        )
    );
}

storage_independent!(
    health_check_is_true_as_json_without_auth,
    test_email_without_email_configured_is_400_for_a_valid_address,
    test_email_validates_email_to,
    test_email_is_for_superusers_only,
);
