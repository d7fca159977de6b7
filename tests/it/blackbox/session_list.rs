//! The caller's sessions (CONTRACT.md §10, SECURITY.md RT-10): `GET /auth/sessions` and
//! `DELETE /auth/sessions/{id}`, and the per-user cap on live sessions (RT-12).

use gatehouse_tests::app::{Backend, Options, TestApp, keys, send, status_json};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use super::answers::{
    Pair, assert_access_works, assert_not_authenticated, assert_session_ended, log_in, logged_out,
    logout, rotate,
};

const LOGIN: &str = "/api/v1/login/access-token";
const SESSIONS: &str = "/api/v1/auth/sessions";

/// A login through route 1 sending `user_agent`.
async fn log_in_as(app: &TestApp, email: &str, password: &str, user_agent: &str) -> Pair {
    Pair::from_response(
        app.post(LOGIN)
            .header("user-agent", user_agent)
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// CONTRACT.md §5.2: UTC, `Z`, six fractional digits.
fn is_timestamp(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    text.len() == 27 && text.ends_with('Z') && text.as_bytes()[19] == b'.'
}

async fn the_session_list_shows_live_sessions_most_recently_used_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (email, password) = (account.email.as_str(), account.password.as_str());
    let long_agent = "A".repeat(600);
    let first = log_in_as(&app, email, password, "first").await;
    app.clock.advance(Duration::seconds(1));
    let second = log_in_as(&app, email, password, &long_agent).await;
    app.clock.advance(Duration::seconds(1));
    let third = log_in(&app, &account).await;
    app.clock.advance(Duration::seconds(1));
    let first = rotate(&app, &first.refresh).await;
    let ended = log_in(&app, &account).await;
    assert_eq!(
        logout(&app, Some(&ended.access), None, None).await,
        logged_out()
    );

    let response = app
        .get(SESSIONS)
        .bearer_auth(&second.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = status_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(keys(&body), ["data", "count"]);
    assert_eq!(body["count"], 3, "the ended session is not listed: {body}");
    let data = body["data"].as_array().unwrap();
    for session in data {
        assert_eq!(
            keys(session),
            [
                "id",
                "created_at",
                "last_used_at",
                "user_agent",
                "ip",
                "current"
            ]
        );
        assert!(is_timestamp(&session["created_at"]), "{session}");
        assert!(is_timestamp(&session["last_used_at"]), "{session}");
        assert_eq!(session["ip"], "127.0.0.1");
    }
    let agents: Vec<&Value> = data.iter().map(|s| &s["user_agent"]).collect();
    assert_eq!(
        agents,
        [&json!("first"), &Value::Null, &json!("A".repeat(512))],
        "most recently used first; agents cut to 512 characters"
    );
    let current: Vec<bool> = data
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, [false, false, true]);
    assert!(
        data[0]["last_used_at"].as_str() > data[0]["created_at"].as_str(),
        "a refresh counts as use"
    );
    // The list as seen from another session marks that one.
    let (_, seen_by_third) = send(app.get(SESSIONS).bearer_auth(&third.access)).await;
    let current: Vec<bool> = seen_by_third["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, [false, true, false]);
    assert_access_works(&app, &first).await;

    assert_not_authenticated(app.get(SESSIONS).send().await.unwrap()).await;
}

/// The listed session ids of the caller, most recently used first.
async fn session_ids(app: &TestApp, access: &str) -> Vec<String> {
    let (status, body) = send(app.get(SESSIONS).bearer_auth(access)).await;
    assert_eq!(status, StatusCode::OK);
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn revoking_a_session_ends_it_and_only_own_live_sessions_can_be_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let (stranger, _) = app.new_user().await;
    let s1 = log_in(&app, &account).await;
    app.clock.advance(Duration::seconds(1));
    let s2 = log_in(&app, &account).await;
    let theirs = log_in(&app, &stranger).await;
    let ids = session_ids(&app, &s1.access).await;
    let (s2_id, s1_id) = (ids[0].clone(), ids[1].clone());
    let their_id = session_ids(&app, &theirs.access).await.remove(0);
    let revoke = |id: &str| {
        app.delete(&format!("{SESSIONS}/{id}"))
            .bearer_auth(&s1.access)
    };

    assert_eq!(
        send(revoke(&s2_id)).await,
        (StatusCode::OK, json!({"message": "Session revoked"}))
    );
    assert_session_ended(&app, &s2).await;
    let not_found = (
        StatusCode::NOT_FOUND,
        json!({"detail": "Session not found"}),
    );
    for id in [
        s2_id.as_str(),
        their_id.as_str(),
        &uuid::Uuid::new_v4().to_string(),
    ] {
        assert_eq!(send(revoke(id)).await, not_found, "{id}");
    }
    assert_access_works(&app, &theirs).await;
    let (status, body) = send(revoke("not-a-uuid")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "uuid_parsing");
    assert_eq!(body["detail"][0]["loc"], json!(["path", "id"]));
    assert_not_authenticated(
        app.delete(&format!("{SESSIONS}/{s1_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;

    // The current session may end itself.
    assert_eq!(
        send(revoke(&s1_id)).await,
        (StatusCode::OK, json!({"message": "Session revoked"}))
    );
    assert_session_ended(&app, &s1).await;
}

async fn a_login_past_the_cap_ends_the_least_recently_used_session(backend: Backend) {
    let mut options = Options::default();
    options.policy.max_sessions_per_user = 3;
    let app = TestApp::spawn_with(backend, options).await;
    let (account, _) = app.new_user().await;
    let (other, _) = app.new_user().await;
    let bystander = log_in(&app, &other).await;
    let oldest = log_in(&app, &account).await;
    app.clock.advance(Duration::seconds(1));
    let idle = log_in(&app, &account).await;
    app.clock.advance(Duration::seconds(1));
    let third = log_in(&app, &account).await;
    app.clock.advance(Duration::seconds(1));
    let oldest = rotate(&app, &oldest.refresh).await;
    app.clock.advance(Duration::seconds(1));
    let before = session_ids(&app, &third.access).await;

    let fourth = log_in(&app, &account).await;

    assert_session_ended(&app, &idle).await;
    let after = session_ids(&app, &fourth.access).await;
    assert_eq!(after.len(), 3, "{after:?}");
    assert_eq!(
        after[1..],
        before[..2],
        "the fourth first, then the two used latest"
    );
    for kept in [&oldest, &third, &fourth] {
        assert_access_works(&app, kept).await;
    }
    assert_access_works(&app, &bystander).await;
}

on_every_backend!(
    the_session_list_shows_live_sessions_most_recently_used_first,
    revoking_a_session_ends_it_and_only_own_live_sessions_can_be_revoked,
    a_login_past_the_cap_ends_the_least_recently_used_session,
);
