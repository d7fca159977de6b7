//! Refresh tokens end to end (CONTRACT.md §10, SECURITY.md §1.4 and §2.2): the token pair
//! and its headers on every login route and on refresh, the login routes' shared 422s,
//! rotation, reuse inside and outside the grace window, concurrent refreshes, absolute and idle
//! lifetimes; golden sequence step 9.

use gatehouse_application::Policy;
use gatehouse_tests::app::{Backend, Options, TestApp, keys, send, status_json};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use time::Duration;
use tokio::task::JoinSet;

use super::answers::{
    Pair, app_with_dave, assert_access_works, assert_credentials_rejected, assert_invalid_refresh,
    assert_session_ended, children_of, log_in, revoked_reason, rotate, stored_token,
};

const LOGIN: &str = "/api/v1/login/access-token";
const AUTH_LOGIN: &str = "/api/v1/auth/login";

/// Just past the default grace window of 10 s (D14).
const AFTER_GRACE: Duration = Duration::seconds(11);

/// A refresh token's shape (RT-01): 256 bits, base64url without padding.
fn is_refresh_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RT-11 and CONTRACT.md §9b on one token answer; returns the pair.
async fn assert_token_answer(response: Response) -> Pair {
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    let (status, body) = status_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        keys(&body),
        ["access_token", "token_type", "refresh_token", "expires_in"]
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    let pair = Pair::from_body(&body);
    assert!(is_refresh_token(&pair.refresh), "{}", pair.refresh);
    pair
}

async fn every_login_route_and_refresh_answer_a_bearer_pair_that_is_never_cached(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let credentials = [
        ("username", account.email.as_str()),
        ("password", account.password.as_str()),
    ];
    let mut pairs = vec![
        assert_token_answer(app.login(&account.email, &account.password).await).await,
        assert_token_answer(
            app.post(AUTH_LOGIN)
                .form(&credentials)
                .send()
                .await
                .unwrap(),
        )
        .await,
        assert_token_answer(
            app.post(AUTH_LOGIN)
                .json(&json!({"username": account.email, "password": account.password}))
                .send()
                .await
                .unwrap(),
        )
        .await,
    ];
    let refreshed = assert_token_answer(app.refresh(&pairs[0].refresh).await).await;
    pairs.push(refreshed);
    for pair in &pairs {
        assert_access_works(&app, pair).await;
    }
    let mut refresh_tokens: Vec<&str> = pairs.iter().map(|p| p.refresh.as_str()).collect();
    refresh_tokens.sort_unstable();
    refresh_tokens.dedup();
    assert_eq!(
        refresh_tokens.len(),
        4,
        "every pair has its own refresh token"
    );
}

async fn auth_login_answers_the_same_422s_and_400s_as_route_1(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let missing = |field: &str| json!({"type": "missing", "loc": ["body", field], "msg": "Field required", "input": null});
    let both_missing = json!({"detail": [missing("username"), missing("password")]});
    for path in [LOGIN, AUTH_LOGIN] {
        for form in [
            vec![],
            vec![("username", ""), ("password", "")],
            vec![("grant_type", "password")],
        ] {
            let answer = send(app.post(path).form(&form)).await;
            assert_eq!(
                answer,
                (StatusCode::UNPROCESSABLE_ENTITY, both_missing.clone()),
                "{path} {form:?}"
            );
        }
        let pattern = send(app.post(path).form(&[
            ("grant_type", "client_credentials"),
            ("username", account.email.as_str()),
            ("password", account.password.as_str()),
        ]))
        .await;
        assert_eq!(pattern.0, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(pattern.1["detail"][0]["type"], "string_pattern_mismatch");
        assert_eq!(pattern.1["detail"][0]["loc"], json!(["body", "grant_type"]));
        let wrong = send(app.post(path).form(&[
            ("username", account.email.as_str()),
            ("password", "not the password"),
        ]))
        .await;
        assert_eq!(
            wrong,
            (
                StatusCode::BAD_REQUEST,
                json!({"detail": "Incorrect email or password"})
            ),
            "{path}"
        );
    }
    // The JSON body of /auth/login: absent and empty fields are the same `missing`s.
    for body in [
        json!({}),
        json!({"username": "", "password": ""}),
        json!({"username": null}),
    ] {
        let answer = send(app.post(AUTH_LOGIN).json(&body)).await;
        assert_eq!(
            answer,
            (StatusCode::UNPROCESSABLE_ENTITY, both_missing.clone()),
            "{body}"
        );
    }
    let wrong = send(
        app.post(AUTH_LOGIN)
            .json(&json!({"username": account.email, "password": "not the password"})),
    )
    .await;
    assert_eq!(
        wrong,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Incorrect email or password"})
        )
    );
    // Route 1 reads forms only (C2): JSON there is two `missing`s, even with good values.
    let json_on_route_1 = send(
        app.post(LOGIN)
            .json(&json!({"username": account.email, "password": account.password})),
    )
    .await;
    assert_eq!(
        json_on_route_1,
        (StatusCode::UNPROCESSABLE_ENTITY, both_missing)
    );
}

async fn refresh_refuses_every_bad_token_alike_and_validates_its_body(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let pair = log_in(&app, &account).await;

    // D6: malformed, unknown and wrong-length tokens are one answer, never cached.
    for token in [
        "",
        "abc",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &format!("{}A", pair.refresh),
        &pair.refresh[1..],
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    ] {
        let response = app.refresh(token).await;
        assert_eq!(response.headers()["cache-control"], "no-store", "{token:?}");
        assert_invalid_refresh(response).await;
    }
    let refresh = "/api/v1/auth/refresh";
    let (status, body) = send(app.post(refresh).json(&json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["detail"][0],
        json!({"type": "missing", "loc": ["body", "refresh_token"], "msg": "Field required", "input": {}})
    );
    let (status, body) = send(app.post(refresh)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["loc"], json!(["body"]));
    let (status, body) = send(app.post(refresh).json(&json!({"refresh_token": 42}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "string_type");
    // None of it touched the real token.
    rotate(&app, &pair.refresh).await;
}

async fn each_refresh_consumes_its_token_and_links_the_successor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let r0 = log_in(&app, &account).await;
    let r1 = rotate(&app, &r0.refresh).await;
    let r2 = rotate(&app, &r1.refresh).await;

    assert_ne!(r0.refresh, r1.refresh);
    assert_ne!(r1.refresh, r2.refresh);
    assert_ne!(r0.refresh, r2.refresh);
    assert_ne!(r1.access, r2.access);
    assert_access_works(&app, &r2).await;

    if let Some(db) = app.sql().await {
        let t0 = stored_token(&db, &r0.refresh)
            .await
            .expect("R0 stored by hash");
        let t1 = stored_token(&db, &r1.refresh)
            .await
            .expect("R1 stored by hash");
        let t2 = stored_token(&db, &r2.refresh)
            .await
            .expect("R2 stored by hash");
        assert_eq!(
            (t0.parent_id, t0.used, t0.replaced_by_id),
            (None, true, Some(t1.id))
        );
        assert_eq!(
            (t1.parent_id, t1.used, t1.replaced_by_id),
            (Some(t0.id), true, Some(t2.id))
        );
        assert_eq!(
            (t2.parent_id, t2.used, t2.replaced_by_id),
            (Some(t1.id), false, None)
        );
        assert!(t0.session_id == t1.session_id && t1.session_id == t2.session_id);
    }
}

async fn a_refresh_token_replayed_after_the_grace_ends_its_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let r0 = log_in(&app, &account).await;
    let r1 = rotate(&app, &r0.refresh).await;
    let r2 = rotate(&app, &r1.refresh).await;
    let other = log_in(&app, &account).await;

    app.clock.advance(AFTER_GRACE);
    assert_invalid_refresh(app.refresh(&r0.refresh).await).await;

    // The whole session is over: its newest refresh token and every access token.
    assert_invalid_refresh(app.refresh(&r2.refresh).await).await;
    for pair in [&r0, &r1, &r2] {
        assert_credentials_rejected(app.me(&pair.access).await).await;
    }
    // The user's other session is not touched.
    assert_access_works(&app, &other).await;
    rotate(&app, &other.refresh).await;

    if let Some(db) = app.sql().await {
        let session = stored_token(&db, &r0.refresh).await.unwrap().session_id;
        assert_eq!(
            revoked_reason(&db, session).await.as_deref(),
            Some("reuse_detected")
        );
    }
}

async fn a_grandparent_replayed_within_the_grace_is_reuse_too(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let r0 = log_in(&app, &account).await;
    let r1 = rotate(&app, &r0.refresh).await;
    let r2 = rotate(&app, &r1.refresh).await;

    // R0's successor R1 is used already, so a repeat of R0 is no benign race (§2.2 step 5).
    assert_invalid_refresh(app.refresh(&r0.refresh).await).await;
    assert_session_ended(&app, &r2).await;
}

async fn duplicate_refreshes_within_the_grace_share_one_successor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let r0 = log_in(&app, &account).await;

    let mut requests = JoinSet::new();
    for _ in 0..5 {
        requests.spawn(
            app.post("/api/v1/auth/refresh")
                .json(&json!({ "refresh_token": r0.refresh }))
                .send(),
        );
    }
    let mut successors = Vec::new();
    for response in requests.join_all().await {
        successors.push(Pair::from_response(response.unwrap()).await);
    }
    let r1 = successors[0].refresh.clone();
    assert!(
        successors.iter().all(|p| p.refresh == r1),
        "one successor for all: {successors:?}"
    );
    for pair in &successors {
        assert_access_works(&app, pair).await;
    }
    // Within the grace, once more and sequentially: still the same, nothing revoked.
    app.clock.advance(Duration::seconds(9));
    assert_eq!(rotate(&app, &r0.refresh).await.refresh, r1);

    if let Some(db) = app.sql().await {
        let parent = stored_token(&db, &r0.refresh).await.unwrap();
        assert_eq!(children_of(&db, parent.id).await, 1, "one child row");
        assert_eq!(revoked_reason(&db, parent.session_id).await, None);
    }
    let r2 = rotate(&app, &r1).await;
    assert_access_works(&app, &r2).await;

    // Past the grace the same repeat is reuse (RT-04).
    app.clock.advance(Duration::seconds(2));
    assert_invalid_refresh(app.refresh(&r0.refresh).await).await;
    assert_session_ended(&app, &r2).await;
}

async fn without_a_grace_window_twenty_concurrent_refreshes_mint_one_child(backend: Backend) {
    let options = Options {
        policy: Policy {
            refresh_grace: Duration::ZERO,
            ..Policy::default()
        },
        ..Options::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let (account, _) = app.new_user().await;
    let r0 = log_in(&app, &account).await;

    let mut requests = JoinSet::new();
    for _ in 0..20 {
        requests.spawn(
            app.post("/api/v1/auth/refresh")
                .json(&json!({ "refresh_token": r0.refresh }))
                .send(),
        );
    }
    let mut answers = Vec::new();
    for response in requests.join_all().await {
        answers.push(status_json(response.unwrap()).await);
    }
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, b)| b)
        .collect();
    let refused = answers
        .iter()
        .filter(|a| {
            **a == (
                StatusCode::UNAUTHORIZED,
                json!({"detail": "Invalid refresh token"}),
            )
        })
        .count();
    assert_eq!((ok.len(), refused), (1, 19), "{answers:?}");

    if let Some(db) = app.sql().await {
        let parent = stored_token(&db, &r0.refresh).await.unwrap();
        assert_eq!(children_of(&db, parent.id).await, 1, "one child row");
    }
}

async fn sessions_end_at_their_absolute_lifetime_however_recently_used(backend: Backend) {
    let options = Options {
        policy: Policy {
            session_lifetime: Duration::minutes(2),
            ..Policy::default()
        },
        ..Options::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let (account, _) = app.new_user().await;
    let r0 = log_in(&app, &account).await;

    app.clock.advance(Duration::minutes(1));
    let r1 = rotate(&app, &r0.refresh).await;
    app.clock.advance(Duration::seconds(59));
    let r2 = rotate(&app, &r1.refresh).await;
    app.clock.advance(Duration::seconds(1));
    assert_invalid_refresh(app.refresh(&r2.refresh).await).await;
}

async fn sessions_end_after_the_idle_timeout_and_each_refresh_restarts_it(backend: Backend) {
    let options = Options {
        policy: Policy {
            session_idle_timeout: Duration::minutes(1),
            ..Policy::default()
        },
        ..Options::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let (account, _) = app.new_user().await;
    let r0 = log_in(&app, &account).await;

    app.clock.advance(Duration::seconds(59));
    let r1 = rotate(&app, &r0.refresh).await;
    app.clock.advance(Duration::seconds(59));
    let r2 = rotate(&app, &r1.refresh).await;
    app.clock.advance(Duration::seconds(61));
    assert_invalid_refresh(app.refresh(&r2.refresh).await).await;
}

async fn golden_step_9_a_replayed_refresh_token_ends_the_pair_it_was_rotated_into(
    backend: Backend,
) {
    let (app, dave) = app_with_dave(backend).await;
    let first = log_in(&app, &dave).await;
    let new = assert_token_answer(app.refresh(&first.refresh).await).await;

    app.clock.advance(AFTER_GRACE);
    assert_invalid_refresh(app.refresh(&first.refresh).await).await;
    assert_credentials_rejected(app.me(&new.access).await).await;
}

on_every_backend!(
    every_login_route_and_refresh_answer_a_bearer_pair_that_is_never_cached,
    auth_login_answers_the_same_422s_and_400s_as_route_1,
    refresh_refuses_every_bad_token_alike_and_validates_its_body,
    each_refresh_consumes_its_token_and_links_the_successor,
    a_refresh_token_replayed_after_the_grace_ends_its_session,
    a_grandparent_replayed_within_the_grace_is_reuse_too,
    duplicate_refreshes_within_the_grace_share_one_successor,
    without_a_grace_window_twenty_concurrent_refreshes_mint_one_child,
    sessions_end_at_their_absolute_lifetime_however_recently_used,
    sessions_end_after_the_idle_timeout_and_each_refresh_restarts_it,
    golden_step_9_a_replayed_refresh_token_ends_the_pair_it_was_rotated_into,
);
