//! The shortest path through the service: health, login, a protected route.

use gatehouse_tests::app::{Backend, TestApp, status_json};
use reqwest::StatusCode;
use serde_json::json;

async fn health_check_answers_true(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) =
        status_json(app.get("/api/v1/utils/health-check/").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!(true));
}

async fn superuser_logs_in_and_reads_itself(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.admin_token().await;
    let (status, body) = status_json(
        app.get("/api/v1/users/me")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["email"], "admin@example.com");
    assert_eq!(body["is_superuser"], true);
}

on_every_backend!(
    health_check_answers_true,
    superuser_logs_in_and_reads_itself
);
