//! Invariant 6, a user's writes racing the user's deletion: a request authenticated just
//! before the account disappears must still get an ordinary answer, never a 5xx, and must
//! not leave rows behind for a user that no longer exists. A server that checks the user at
//! authentication and writes later hits the foreign key (SQL: 500) or writes an orphan
//! (memory).

use gatehouse_tests::app::{Account, TestApp, send};
use reqwest::{RequestBuilder, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;

use super::{
    ROUNDS, Target, assert_no_server_error, detail, on_every_backend, race, unthrottled,
    unthrottled_with_mail,
};

/// Item creations racing one `DELETE /users/me`.
const CREATES: usize = 4;

/// Copies of the swept write racing one deletion, each from its own session.
const COPIES: usize = 3;

/// Rounds of the sweep on SQL (more on memory, see [`Target::rounds`]); every round runs
/// once per [`Deleter`].
const SWEEP_ROUNDS: usize = 4;

/// Who deletes the account.
#[derive(Clone, Copy, Debug)]
enum Deleter {
    /// The user: `DELETE /users/me`.
    Themselves,
    /// The seeded admin: `DELETE /users/{id}`.
    Admin,
}

/// One login's tokens.
struct Session {
    access: String,
    refresh: String,
}

/// A fresh user with [`COPIES`] sessions for the writes and one more for deleting itself.
struct Victim {
    account: Account,
    id: String,
    sessions: Vec<Session>,
}

impl Victim {
    async fn new(app: &TestApp) -> Self {
        let (account, id) = app.new_user().await;
        let mut sessions = Vec::with_capacity(COPIES + 1);
        for _ in 0..=COPIES {
            let tokens = app.tokens(&account.email, &account.password).await;
            sessions.push(Session {
                access: tokens.access,
                refresh: tokens.refresh,
            });
        }
        Self {
            account,
            id,
            sessions,
        }
    }

    /// The deletion of this account by `deleter` (`admin` is the admin's access token).
    fn deletion(&self, app: &TestApp, deleter: Deleter, admin: &str) -> RequestBuilder {
        match deleter {
            Deleter::Themselves => app
                .delete("/api/v1/users/me")
                .bearer_auth(&self.sessions[COPIES].access),
            Deleter::Admin => app
                .delete(&format!("/api/v1/users/{}", self.id))
                .bearer_auth(admin),
        }
    }
}

/// A write a user makes to their own account, swept against the account's deletion.
#[derive(Clone, Copy, Debug)]
enum Write {
    /// `PATCH /users/me` with a new full name.
    UpdateProfile,
    /// `PATCH /users/me/password`.
    ChangePassword,
    /// A fresh login (route 1), which opens a session.
    Login,
    /// `POST /password-recovery/{email}`, which issues a reset token (email is on).
    Recovery,
    /// `POST /auth/refresh`, which rotates the session's refresh token.
    Refresh,
    /// `POST /auth/logout`, which ends the session.
    Logout,
}

impl Write {
    /// Copy number `copy` of this write, made through `victim`'s session of that number.
    fn request(self, app: &TestApp, victim: &Victim, copy: usize) -> RequestBuilder {
        let session = &victim.sessions[copy];
        let account = &victim.account;
        match self {
            Write::UpdateProfile => app
                .patch("/api/v1/users/me")
                .bearer_auth(&session.access)
                .json(&json!({ "full_name": format!("Racer {copy}") })),
            Write::ChangePassword => app
                .patch("/api/v1/users/me/password")
                .bearer_auth(&session.access)
                .json(&json!({
                    "current_password": account.password,
                    "new_password": format!("another password {copy}"),
                })),
            Write::Login => app.post("/api/v1/login/access-token").form(&[
                ("username", account.email.as_str()),
                ("password", account.password.as_str()),
            ]),
            Write::Recovery => app.post(&format!("/api/v1/password-recovery/{}", account.email)),
            Write::Refresh => app
                .post("/api/v1/auth/refresh")
                .json(&json!({ "refresh_token": session.refresh })),
            Write::Logout => app.post("/api/v1/auth/logout").bearer_auth(&session.access),
        }
    }
}

/// No item owned by `owner` remains: none in the admin's listing, and on SQL none in the
/// table either (a listing could hide rows it cannot map).
async fn assert_no_items_owned_by(app: &TestApp, admin: &str, owner: &str, at: &str) {
    let (status, listing) = send(app.get("/api/v1/items/?limit=1000").bearer_auth(admin)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{at}: the admin lists items: {listing}"
    );
    let listed: Vec<_> = listing["data"]
        .as_array()
        .expect("an item list")
        .iter()
        .filter(|item| item["owner_id"] == json!(owner))
        .collect();
    assert!(
        listed.is_empty(),
        "{at}: items of the deleted user remain: {listed:?}"
    );
    let Some(conn) = app.sql().await else {
        return;
    };
    let backend = conn.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let owner = uuid::Uuid::parse_str(owner).expect("a UUID");
    let stored = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT count(*) AS n FROM item WHERE owner_id = {placeholder}"),
            [owner.into()],
        ))
        .await
        .expect("count the items")
        .expect("a count")
        .try_get::<i64>("", "n")
        .expect("an integer");
    assert_eq!(stored, 0, "{at}: item rows of the deleted user remain");
}

/// Per round: a fresh user creates [`CREATES`] items while deleting their own account.
async fn items_beside_deletion(app: TestApp, backend: Target) {
    let admin = app.admin_token().await;
    for round in 1..=backend.rounds(ROUNDS) {
        let at = format!("{backend}, round {round}");
        let (_, id, token) = app.user_with_token().await;
        let mut requests: Vec<_> = (0..CREATES)
            .map(|n| {
                app.post("/api/v1/items/")
                    .bearer_auth(&token)
                    .json(&json!({ "title": format!("racing item {n}") }))
            })
            .collect();
        requests.push(app.delete("/api/v1/users/me").bearer_auth(&token));
        let answers = race(requests).await;
        let (creates, deletion) = answers.split_at(CREATES);
        assert_eq!(
            deletion[0],
            (
                StatusCode::OK,
                json!({ "message": "User deleted successfully" })
            ),
            "{at}: the deletion"
        );
        let gone = detail(StatusCode::NOT_FOUND, "User not found");
        assert!(
            creates
                .iter()
                .all(|answer| answer.0 == StatusCode::OK || *answer == gone),
            "{at}: item creations answered other than 200 or 404 User not found: {creates:?}"
        );
        assert_no_items_owned_by(&app, &admin, &id, &at).await;
    }
}

/// Per round and [`Deleter`]: [`COPIES`] copies of `write` by a fresh user while the
/// account is deleted; no answer may be a 5xx.
async fn sweep(app: TestApp, backend: Target, write: Write) {
    let admin = app.admin_token().await;
    for round in 1..=backend.rounds(SWEEP_ROUNDS) {
        for deleter in [Deleter::Themselves, Deleter::Admin] {
            let at = format!("{backend}, round {round}, {write:?} beside deletion by {deleter:?}");
            let victim = Victim::new(&app).await;
            let mut requests: Vec<_> = (0..COPIES)
                .map(|copy| write.request(&app, &victim, copy))
                .collect();
            requests.push(victim.deletion(&app, deleter, &admin));
            assert_no_server_error(&race(requests).await, &at);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn item_creations_racing_the_owners_deletion_answer_200_or_404_and_leave_no_items() {
    on_every_backend(unthrottled, items_beside_deletion).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn profile_updates_racing_the_users_deletion_never_answer_5xx() {
    on_every_backend(unthrottled_with_mail, |app, backend| {
        sweep(app, backend, Write::UpdateProfile)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_changes_racing_the_users_deletion_never_answer_5xx() {
    on_every_backend(unthrottled_with_mail, |app, backend| {
        sweep(app, backend, Write::ChangePassword)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_the_users_deletion_never_answer_5xx() {
    on_every_backend(unthrottled_with_mail, |app, backend| {
        sweep(app, backend, Write::Login)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recovery_requests_racing_the_users_deletion_never_answer_5xx() {
    on_every_backend(unthrottled_with_mail, |app, backend| {
        sweep(app, backend, Write::Recovery)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refreshes_racing_the_users_deletion_never_answer_5xx() {
    on_every_backend(unthrottled_with_mail, |app, backend| {
        sweep(app, backend, Write::Refresh)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logouts_racing_the_users_deletion_never_answer_5xx() {
    on_every_backend(unthrottled_with_mail, |app, backend| {
        sweep(app, backend, Write::Logout)
    })
    .await;
}
