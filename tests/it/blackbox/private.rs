//! Route 23 (CONTRACT.md §4.2): the development-only user factory — no email or password
//! rules, `full_name` required, duplicates refused with 400 instead of the template's 500
//! (§9a). Its absence in production is in `openapi.rs`.

use gatehouse_tests::app::{Backend, TestApp, keys, send};
use reqwest::StatusCode;
use serde_json::json;

const PRIVATE: &str = "/api/v1/private/users/";

async fn private_route_creates_an_active_user_without_email_or_password_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = send(app.post(PRIVATE).json(&json!({
        "email": "Not An Email",
        "password": "x",
        "full_name": "Dev User",
        "is_verified": true,
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        keys(&body),
        [
            "email",
            "is_active",
            "is_superuser",
            "full_name",
            "id",
            "created_at"
        ]
    );
    assert_eq!(body["email"], "Not An Email", "stored as given");
    assert_eq!(body["is_active"], true);
    assert_eq!(body["is_superuser"], false);
    assert_eq!(body["full_name"], "Dev User");
    let admin = app.admin_token().await;
    let (_, row) = send(
        app.get(&format!("/api/v1/users/{}", body["id"].as_str().unwrap()))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(row, body);
}

async fn private_route_users_can_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, _) = send(app.post(PRIVATE).json(&json!({
        "email": "dev@example.com",
        "password": "short",
        "full_name": "Dev",
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.login("dev@example.com", "short").await.status(),
        StatusCode::OK
    );
}

async fn private_route_requires_full_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({"email": "dev@example.com", "password": "password"});
    let (status, answer) = send(app.post(PRIVATE).json(&body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer,
        json!({"detail": [{
            "type": "missing",
            "loc": ["body", "full_name"],
            "msg": "Field required",
            "input": body
        }]})
    );
}

async fn private_route_refuses_a_taken_email_in_any_case_with_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for email in ["admin@example.com", "ADMIN@EXAMPLE.COM"] {
        let (status, body) = send(app.post(PRIVATE).json(&json!({
            "email": email,
            "password": "password",
            "full_name": "Again",
        })))
        .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"detail": "The user with this email already exists in the system"})
            ),
            "{email}"
        );
    }
}

on_every_backend!(
    private_route_creates_an_active_user_without_email_or_password_rules,
    private_route_users_can_log_in,
    private_route_requires_full_name,
    private_route_refuses_a_taken_email_in_any_case_with_400,
);
