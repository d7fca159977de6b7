//! Invariant 1, stale whole-row writes: a `PATCH /users/me {}` changes nothing, so however
//! it interleaves with a password change, a reset, a demotion or a deactivation of the same
//! account, that change must stick. A server that writes back the whole row it read while
//! authenticating undoes the change whenever its read came before the change and its write
//! after it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gatehouse_tests::app::{Account, TestApp, send};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use super::{
    Answer, LOGIN_FAILED, ROUNDS, Target, assert_no_server_error, detail, login_answer,
    noop_profile_update, on_every_backend, reset_token_mailed_to, unthrottled,
    unthrottled_with_mail, user_as_admin,
};

/// How many streams of no-op profile updates race each change.
const NOOPS: usize = 6;

const NEW_PASSWORD: &str = "a brand new password 42";

/// Runs the backend's rounds of `round` (given "backend, round n" for its messages), which
/// answers whether the raced change was applied. Fails when it never was: then no round
/// checked anything.
async fn each_round<F, Fut>(backend: &Target, mut round: F)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut applied = 0;
    for n in 1..=backend.rounds(ROUNDS) {
        if round(format!("{backend}, round {n}")).await {
            applied += 1;
        }
    }
    assert!(
        applied > 0,
        "{backend}: the raced change never answered 200"
    );
}

/// Sends `change` while [`NOOPS`] streams of no-op profile updates made with `token` run
/// beside it, and returns its answer; no answer may be a 5xx. Every stream starts at the
/// same barrier as `change` and keeps sending, one request after the other, until `change`
/// has answered: no-ops are in flight during the whole change, not only in its first
/// microseconds, which matters where a change waits for hashing before it writes.
async fn beside_noops(app: &TestApp, change: RequestBuilder, token: &str, at: &str) -> Answer {
    let barrier = Arc::new(Barrier::new(NOOPS + 1));
    let answered = Arc::new(AtomicBool::new(false));
    let streams: Vec<_> = (0..NOOPS)
        .map(|_| {
            let (barrier, answered) = (barrier.clone(), answered.clone());
            let noop = noop_profile_update(app, token);
            tokio::spawn(async move {
                barrier.wait().await;
                let mut answers = Vec::new();
                loop {
                    let request = noop.try_clone().expect("a body that can be cloned");
                    answers.push(send(request).await);
                    if answered.load(Ordering::SeqCst) {
                        return answers;
                    }
                }
            })
        })
        .collect();
    barrier.wait().await;
    let answer = send(change).await;
    answered.store(true, Ordering::SeqCst);
    let mut answers = vec![answer.clone()];
    for stream in streams {
        answers.extend(stream.await.expect("a no-op stream"));
    }
    assert_no_server_error(&answers, at);
    answer
}

/// After a password change that answered 200: the new password logs in, the old one fails.
async fn assert_only_the_new_password_logs_in(app: &TestApp, user: &Account, at: &str) {
    let (status, body) = login_answer(app, &user.email, NEW_PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{at}: the new password does not log in: {body}"
    );
    assert_eq!(
        login_answer(app, &user.email, &user.password).await,
        detail(StatusCode::BAD_REQUEST, LOGIN_FAILED),
        "{at}: the old password logs in again"
    );
}

/// A fresh superuser created by `admin`: the account and its id.
async fn new_superuser(app: &TestApp, admin: &str) -> (Account, String) {
    let account = Account {
        email: format!("super-{}@example.com", uuid::Uuid::new_v4().simple()),
        password: "correct horse battery".into(),
    };
    let user = app
        .create_user(
            admin,
            json!({
                "email": account.email,
                "password": account.password,
                "is_superuser": true,
            }),
        )
        .await;
    let id = user["id"].as_str().expect("an id").to_owned();
    (account, id)
}

/// `PATCH /users/{id}` with `body` as the superuser holding `admin`.
fn admin_patch(app: &TestApp, admin: &str, id: &str, body: Value) -> RequestBuilder {
    app.patch(&format!("/api/v1/users/{id}"))
        .bearer_auth(admin)
        .json(&body)
}

/// 1(a): the user changes their password in one session while another session of theirs
/// sends no-op profile updates.
async fn own_password_change(app: &TestApp, at: String) -> bool {
    let (user, _) = app.new_user().await;
    let changer = app.token(&user.email, &user.password).await;
    let other = app.token(&user.email, &user.password).await;
    let change = app
        .patch("/api/v1/users/me/password")
        .bearer_auth(&changer)
        .json(&json!({ "current_password": user.password, "new_password": NEW_PASSWORD }));
    if beside_noops(app, change, &other, &at).await.0 != StatusCode::OK {
        return false;
    }
    assert_only_the_new_password_logs_in(app, &user, &at).await;
    true
}

/// 1(b): an admin sets the user's password while the user sends no-op profile updates.
async fn password_set_by_admin(app: &TestApp, at: String) -> bool {
    let (user, id) = app.new_user().await;
    let token = app.token(&user.email, &user.password).await;
    let admin = app.admin_token().await;
    let set = admin_patch(app, &admin, &id, json!({ "password": NEW_PASSWORD }));
    if beside_noops(app, set, &token, &at).await.0 != StatusCode::OK {
        return false;
    }
    assert_only_the_new_password_logs_in(app, &user, &at).await;
    true
}

/// 1(c): the user resets their password through the mailed link while a session of theirs
/// sends no-op profile updates.
async fn password_reset_by_link(app: &TestApp, at: String) -> bool {
    let (user, _) = app.new_user().await;
    let token = app.token(&user.email, &user.password).await;
    let (status, body) = send(app.post(&format!("/api/v1/password-recovery/{}", user.email))).await;
    assert_eq!(status, StatusCode::OK, "{at}: recovery request: {body}");
    let reset_token = reset_token_mailed_to(app, &user.email).await;
    let reset = app
        .post("/api/v1/reset-password/")
        .json(&json!({ "token": reset_token, "new_password": NEW_PASSWORD }));
    if beside_noops(app, reset, &token, &at).await.0 != StatusCode::OK {
        return false;
    }
    assert_only_the_new_password_logs_in(app, &user, &at).await;
    true
}

/// 1(d): the seeded admin demotes a second superuser, who sends no-op profile updates.
async fn demotion(app: &TestApp, at: String) -> bool {
    let admin = app.admin_token().await;
    let (target, id) = new_superuser(app, &admin).await;
    let token = app.token(&target.email, &target.password).await;
    let demote = admin_patch(app, &admin, &id, json!({ "is_superuser": false }));
    if beside_noops(app, demote, &token, &at).await.0 != StatusCode::OK {
        return false;
    }
    let user = user_as_admin(app, &admin, &id, &at).await;
    assert_eq!(
        user["is_superuser"],
        json!(false),
        "{at}: the demotion was undone: {user}"
    );
    let fresh = app.token(&target.email, &target.password).await;
    let (status, body) = send(app.get("/api/v1/users/").bearer_auth(&fresh)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{at}: the demoted user still lists all users: {body}"
    );
    true
}

/// 1(e): the seeded admin deactivates a user, who sends no-op profile updates.
async fn deactivation(app: &TestApp, at: String) -> bool {
    let (user, id) = app.new_user().await;
    let token = app.token(&user.email, &user.password).await;
    let admin = app.admin_token().await;
    let deactivate = admin_patch(app, &admin, &id, json!({ "is_active": false }));
    if beside_noops(app, deactivate, &token, &at).await.0 != StatusCode::OK {
        return false;
    }
    let stored = user_as_admin(app, &admin, &id, &at).await;
    assert_eq!(
        stored["is_active"],
        json!(false),
        "{at}: the deactivation was undone: {stored}"
    );
    assert_eq!(
        login_answer(app, &user.email, &user.password).await,
        detail(StatusCode::BAD_REQUEST, "Inactive user"),
        "{at}: the deactivated user logs in"
    );
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_survives_concurrent_noop_profile_updates() {
    on_every_backend(unthrottled, |app, backend| async move {
        each_round(&backend, |at| own_password_change(&app, at)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_set_by_an_admin_survives_concurrent_noop_profile_updates() {
    on_every_backend(unthrottled, |app, backend| async move {
        each_round(&backend, |at| password_set_by_admin(&app, at)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_reset_by_link_survives_concurrent_noop_profile_updates() {
    on_every_backend(unthrottled_with_mail, |app, backend| async move {
        each_round(&backend, |at| password_reset_by_link(&app, at)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_demotion_survives_the_targets_concurrent_noop_profile_updates() {
    on_every_backend(unthrottled, |app, backend| async move {
        each_round(&backend, |at| demotion(&app, at)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deactivation_survives_the_targets_concurrent_noop_profile_updates() {
    on_every_backend(unthrottled, |app, backend| async move {
        each_round(&backend, |at| deactivation(&app, at)).await;
    })
    .await;
}
