//! Invariant 3, there is always an active superuser (CONTRACT.md §9j): two active
//! superusers who delete, demote or deactivate each other at the same moment must leave at
//! least one of them an active superuser, and neither request may fail with a 5xx. Each
//! round pits the last round's survivor against a fresh superuser it creates.

use gatehouse_tests::app::{Account, TestApp, send};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::json;

use super::{
    ROUNDS, Target, assert_no_server_error, login_answer, on_every_backend, race, unthrottled,
};

/// What one superuser does to the other.
#[derive(Clone, Copy, Debug)]
enum Move {
    /// `DELETE /users/{id}`.
    Delete,
    /// `PATCH /users/{id}` `{"is_superuser": false}`.
    Demote,
    /// `PATCH /users/{id}` `{"is_active": false}`.
    Deactivate,
}

impl Move {
    /// The request by the holder of `actor` doing this to user `target`.
    fn request(self, app: &TestApp, actor: &str, target: &str) -> RequestBuilder {
        let path = format!("/api/v1/users/{target}");
        let request = match self {
            Move::Delete => app.delete(&path),
            Move::Demote => app.patch(&path).json(&json!({ "is_superuser": false })),
            Move::Deactivate => app.patch(&path).json(&json!({ "is_active": false })),
        };
        request.bearer_auth(actor)
    }
}

/// A superuser account the test created (or the seeded one) and its id.
struct Superuser {
    account: Account,
    id: String,
}

impl Superuser {
    /// A fresh access token, or `None` when the account cannot log in (deleted, inactive).
    async fn login(&self, app: &TestApp) -> Option<String> {
        let (status, body) = login_answer(app, &self.account.email, &self.account.password).await;
        if status != StatusCode::OK {
            return None;
        }
        body["access_token"].as_str().map(str::to_owned)
    }
}

/// The seeded admin with its id.
async fn seeded(app: &TestApp) -> Superuser {
    let token = app.admin_token().await;
    let (status, me) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the seeded admin reads itself: {me}"
    );
    Superuser {
        account: app.superuser.clone(),
        id: me["id"].as_str().expect("an id").to_owned(),
    }
}

/// A fresh superuser created by the holder of `creator`.
async fn created_by(app: &TestApp, creator: &str) -> Superuser {
    let account = Account {
        email: format!("super-{}@example.com", uuid::Uuid::new_v4().simple()),
        password: "correct horse battery".into(),
    };
    let user = app
        .create_user(
            creator,
            json!({
                "email": account.email,
                "password": account.password,
                "is_superuser": true,
            }),
        )
        .await;
    Superuser {
        account,
        id: user["id"].as_str().expect("an id").to_owned(),
    }
}

/// The superusers among `known` that are still active superusers: they log in and
/// `/users/me` says `is_superuser`. Nobody is ever promoted here, so the others never come
/// back, and `known`, holding every superuser the application had, holds all of them.
async fn still_active(app: &TestApp, known: Vec<Superuser>) -> Vec<Superuser> {
    let mut active = Vec::new();
    for superuser in known {
        let Some(token) = superuser.login(app).await else {
            continue;
        };
        let (status, me) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
        if status == StatusCode::OK && me["is_superuser"] == json!(true) {
            active.push(superuser);
        }
    }
    active
}

/// Per round: a surviving superuser A creates a superuser B; then A does `first` to B while
/// B does `second` to A.
async fn mutual(app: TestApp, backend: Target, first: Move, second: Move) {
    let mut active = vec![seeded(&app).await];
    for round in 1..=backend.rounds(ROUNDS) {
        let at = format!("{backend}, round {round}");
        let a = &active[0];
        let a_token = a
            .login(&app)
            .await
            .unwrap_or_else(|| panic!("{at}: the survivor logs in"));
        let b = created_by(&app, &a_token).await;
        let b_token = b
            .login(&app)
            .await
            .unwrap_or_else(|| panic!("{at}: the new superuser logs in"));
        let answers = race(vec![
            first.request(&app, &a_token, &b.id),
            second.request(&app, &b_token, &a.id),
        ])
        .await;
        assert_no_server_error(&answers, &at);
        active.push(b);
        active = still_active(&app, active).await;
        assert!(
            !active.is_empty(),
            "{at}: {first:?} against {second:?} left no active superuser; answers {answers:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_superusers_deleting_each_other_leave_an_active_superuser() {
    on_every_backend(unthrottled, |app, backend| {
        mutual(app, backend, Move::Delete, Move::Delete)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_superusers_demoting_each_other_leave_an_active_superuser() {
    on_every_backend(unthrottled, |app, backend| {
        mutual(app, backend, Move::Demote, Move::Demote)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_demotion_against_a_deactivation_leaves_an_active_superuser() {
    on_every_backend(unthrottled, |app, backend| {
        mutual(app, backend, Move::Demote, Move::Deactivate)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_against_a_demotion_leaves_an_active_superuser() {
    on_every_backend(unthrottled, |app, backend| {
        mutual(app, backend, Move::Delete, Move::Demote)
    })
    .await;
}
