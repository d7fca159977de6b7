//! What ends a user's sessions besides logout (CONTRACT.md §3.1, §9f; SECURITY.md PW-12,
//! RT-09, AZ-06): a password change (the others), an admin setting the password, deactivation
//! and deletion (all).

use gatehouse_tests::app::{Backend, TestApp, send, status_json};
use reqwest::StatusCode;
use serde_json::json;

use super::answers::{
    Pair, assert_access_works, assert_invalid_refresh, assert_session_ended, log_in, rotate,
};

async fn a_password_change_ends_the_other_sessions_but_not_the_callers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (s1, s2) = (log_in(&app, &account).await, log_in(&app, &account).await);

    let answer = send(
        app.patch("/api/v1/users/me/password")
            .bearer_auth(&s1.access)
            .json(&json!({
                "current_password": account.password,
                "new_password": "a brand new password"
            })),
    )
    .await;
    assert_eq!(
        answer,
        (
            StatusCode::OK,
            json!({"message": "Password updated successfully"})
        )
    );
    assert_session_ended(&app, &s2).await;
    assert_access_works(&app, &s1).await;
    let s1 = rotate(&app, &s1.refresh).await;
    assert_access_works(&app, &s1).await;
}

async fn an_admin_setting_a_password_ends_every_session_of_the_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id) = app.new_user().await;
    let (s1, s2) = (log_in(&app, &account).await, log_in(&app, &account).await);

    let (status, _) = send(
        app.patch(&format!("/api/v1/users/{id}"))
            .bearer_auth(&admin)
            .json(&json!({"password": "set by the admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_session_ended(&app, &s1).await;
    assert_session_ended(&app, &s2).await;
    let fresh = Pair::from_response(app.login(&account.email, "set by the admin").await).await;
    assert_access_works(&app, &fresh).await;
}

/// `PATCH /users/{id}` as the superuser setting `is_active`.
async fn set_active(app: &TestApp, admin: &str, id: &str, active: bool) {
    let (status, body) = send(
        app.patch(&format!("/api/v1/users/{id}"))
            .bearer_auth(admin)
            .json(&json!({ "is_active": active })),
    )
    .await;
    assert_eq!(
        (status, body["is_active"].clone()),
        (StatusCode::OK, json!(active))
    );
}

async fn deactivation_ends_sessions_for_good(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id) = app.new_user().await;
    let pair = log_in(&app, &account).await;

    set_active(&app, &admin, &id, false).await;
    let inactive = (StatusCode::BAD_REQUEST, json!({"detail": "Inactive user"}));
    assert_eq!(status_json(app.me(&pair.access).await).await, inactive);
    assert_invalid_refresh(app.refresh(&pair.refresh).await).await;

    // Reactivation does not bring the sessions back (CONTRACT.md §3.1).
    set_active(&app, &admin, &id, true).await;
    assert_session_ended(&app, &pair).await;
    assert_access_works(&app, &log_in(&app, &account).await).await;
}

async fn deleting_a_user_ends_their_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let user_not_found = (StatusCode::NOT_FOUND, json!({"detail": "User not found"}));

    let (by_admin, id) = app.new_user().await;
    let pair = log_in(&app, &by_admin).await;
    let (status, _) = send(
        app.delete(&format!("/api/v1/users/{id}"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        status_json(app.me(&pair.access).await).await,
        user_not_found
    );
    assert_invalid_refresh(app.refresh(&pair.refresh).await).await;

    let (by_self, _) = app.new_user().await;
    let (s1, s2) = (log_in(&app, &by_self).await, log_in(&app, &by_self).await);
    let (status, _) = send(app.delete("/api/v1/users/me").bearer_auth(&s1.access)).await;
    assert_eq!(status, StatusCode::OK);
    for pair in [&s1, &s2] {
        assert_eq!(
            status_json(app.me(&pair.access).await).await,
            user_not_found
        );
        assert_invalid_refresh(app.refresh(&pair.refresh).await).await;
    }
}

/// Defence in depth: an account deactivated behind the API's back (a direct write that
/// leaves its sessions alone) cannot refresh either.
async fn an_inactive_account_cannot_refresh_even_with_a_live_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, id) = app.new_user().await;
    let pair = log_in(&app, &account).await;
    let users = &app.app.ports().users;
    let id = gatehouse_domain::UserId::from_uuid(id.parse().expect("user id"));
    let deactivate = gatehouse_domain::UserPatch {
        is_active: Some(false),
        ..gatehouse_domain::UserPatch::default()
    };
    users
        .update(
            id,
            &deactivate,
            gatehouse_domain::SessionEnd::Keep,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("direct deactivation");

    assert_invalid_refresh(
        app.post("/api/v1/auth/refresh")
            .json(&json!({"refresh_token": pair.refresh}))
            .send()
            .await
            .expect("refresh request"),
    )
    .await;
}

on_every_backend!(
    an_inactive_account_cannot_refresh_even_with_a_live_session,
    a_password_change_ends_the_other_sessions_but_not_the_callers,
    an_admin_setting_a_password_ends_every_session_of_the_user,
    deactivation_ends_sessions_for_good,
    deleting_a_user_ends_their_sessions,
);
