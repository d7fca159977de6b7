//! `POST /auth/logout` (CONTRACT.md §10, SECURITY.md RT-08, D6, TOK-13): every scope, by
//! bearer or by refresh token, idempotent, and what counts as a credential; golden sequence
//! step 10.

use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::StatusCode;
use serde_json::json;

use super::answers::{
    LOGOUT, app_with_dave, assert_access_works, assert_credentials_rejected,
    assert_not_authenticated, assert_session_ended, log_in, logged_out, logout, rotate,
};

async fn local_logout_ends_the_current_session_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (s1, s2) = (log_in(&app, &account).await, log_in(&app, &account).await);

    assert_eq!(
        logout(&app, Some(&s1.access), None, None).await,
        logged_out()
    );

    // TOK-13: the access token dies at once, not at its expiry.
    assert_session_ended(&app, &s1).await;
    assert_access_works(&app, &s2).await;
    let s2 = rotate(&app, &s2.refresh).await;
    assert_eq!(
        logout(&app, Some(&s2.access), Some("local"), None).await,
        logged_out()
    );
    assert_session_ended(&app, &s2).await;
}

async fn global_logout_ends_every_session_of_the_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (bystander, _) = app.new_user().await;
    let sessions = [
        log_in(&app, &account).await,
        log_in(&app, &account).await,
        log_in(&app, &account).await,
    ];
    let theirs = log_in(&app, &bystander).await;

    assert_eq!(
        logout(&app, Some(&sessions[1].access), Some("global"), None).await,
        logged_out()
    );
    for pair in &sessions {
        assert_session_ended(&app, pair).await;
    }
    assert_access_works(&app, &theirs).await;
}

async fn logout_of_the_others_keeps_the_current_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (s1, s2, s3) = (
        log_in(&app, &account).await,
        log_in(&app, &account).await,
        log_in(&app, &account).await,
    );

    assert_eq!(
        logout(&app, Some(&s2.access), Some("others"), None).await,
        logged_out()
    );
    assert_session_ended(&app, &s1).await;
    assert_session_ended(&app, &s3).await;
    assert_access_works(&app, &s2).await;
    rotate(&app, &s2.refresh).await;
}

async fn logout_by_refresh_token_alone_is_idempotent_and_reveals_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (s1, s2) = (log_in(&app, &account).await, log_in(&app, &account).await);

    assert_eq!(
        logout(&app, None, None, Some(&s1.refresh)).await,
        logged_out()
    );
    assert_session_ended(&app, &s1).await;
    assert_access_works(&app, &s2).await;
    // Again, an unknown well-formed token, and a malformed one: the same answer.
    for token in [
        s1.refresh.as_str(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not a token",
        "",
    ] {
        assert_eq!(
            logout(&app, None, None, Some(token)).await,
            logged_out(),
            "{token:?}"
        );
    }
    assert_access_works(&app, &s2).await;

    // Without a bearer token, `global` and `others` act on the refresh token's user.
    let (s3, s4) = (log_in(&app, &account).await, log_in(&app, &account).await);
    assert_eq!(
        logout(&app, None, Some("others"), Some(&s3.refresh)).await,
        logged_out()
    );
    assert_session_ended(&app, &s2).await;
    assert_session_ended(&app, &s4).await;
    assert_access_works(&app, &s3).await;
    assert_eq!(
        logout(&app, None, Some("global"), Some(&s3.refresh)).await,
        logged_out()
    );
    assert_session_ended(&app, &s3).await;
}

async fn logout_with_a_bearer_also_ends_the_own_session_named_in_the_body(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (stranger, _) = app.new_user().await;
    let (s1, s2, s3) = (
        log_in(&app, &account).await,
        log_in(&app, &account).await,
        log_in(&app, &account).await,
    );
    let foreign = log_in(&app, &stranger).await;

    // A foreign refresh token in the body changes nothing for its owner.
    assert_eq!(
        logout(&app, Some(&s1.access), None, Some(&foreign.refresh)).await,
        logged_out()
    );
    assert_session_ended(&app, &s1).await;
    let foreign = rotate(&app, &foreign.refresh).await;
    assert_access_works(&app, &foreign).await;

    assert_eq!(
        logout(&app, Some(&s2.access), None, Some(&s3.refresh)).await,
        logged_out()
    );
    assert_session_ended(&app, &s2).await;
    assert_session_ended(&app, &s3).await;
}

async fn logout_needs_some_credential_and_a_known_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let pair = log_in(&app, &account).await;

    assert_not_authenticated(app.post(LOGOUT).send().await.unwrap()).await;
    assert_not_authenticated(app.post(LOGOUT).json(&json!({})).send().await.unwrap()).await;
    // TOK-11: a token in the query or under another scheme is no credential.
    assert_not_authenticated(
        app.post(&format!("{LOGOUT}?access_token={}", pair.access))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_not_authenticated(
        app.post(LOGOUT)
            .header("authorization", format!("Basic {}", pair.access))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A present but invalid bearer fails as §3.1, whatever the body holds.
    assert_credentials_rejected(
        app.post(LOGOUT)
            .bearer_auth("garbage")
            .json(&json!({ "refresh_token": pair.refresh }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (status, body) = logout(&app, Some(&pair.access), Some("everything"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "enum",
            "loc": ["query", "scope"],
            "msg": "Input should be 'local', 'global' or 'others'",
            "input": "everything",
            "ctx": {"expected": "'local', 'global' or 'others'"}
        }]})
    );
    // Nothing above ended the session.
    assert_access_works(&app, &pair).await;
    rotate(&app, &pair.refresh).await;
}

/// The document marks `refresh_token` nullable and the body optional (issue 12 item 7): a
/// null token is no token, with or without a bearer.
async fn a_null_refresh_token_is_no_refresh_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let pair = log_in(&app, &account).await;
    let null = json!({ "refresh_token": null });

    assert_not_authenticated(app.post(LOGOUT).json(&null).send().await.unwrap()).await;
    assert_access_works(&app, &pair).await;
    assert_eq!(
        send(app.post(LOGOUT).bearer_auth(&pair.access).json(&null)).await,
        logged_out()
    );
    assert_session_ended(&app, &pair).await;
}

async fn golden_step_10_logout_stops_the_access_token_at_once(backend: Backend) {
    let (app, dave) = app_with_dave(backend).await;
    let token = app.token(&dave.email, &dave.password).await;

    assert_eq!(
        send(app.post(LOGOUT).bearer_auth(&token)).await,
        logged_out()
    );
    assert_credentials_rejected(app.me(&token).await).await;
}

on_every_backend!(
    local_logout_ends_the_current_session_only,
    global_logout_ends_every_session_of_the_user,
    logout_of_the_others_keeps_the_current_session,
    logout_by_refresh_token_alone_is_idempotent_and_reveals_nothing,
    logout_with_a_bearer_also_ends_the_own_session_named_in_the_body,
    logout_needs_some_credential_and_a_known_scope,
    a_null_refresh_token_is_no_refresh_token,
    golden_step_10_logout_stops_the_access_token_at_once,
);
