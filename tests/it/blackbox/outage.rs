//! Database trouble as clients see it (SECURITY.md DB-03 and §4.1, ERR-01; issue 4 item 5):
//! a lost database or an exhausted pool gives the contract's 503 with `Retry-After` within
//! the acquire timeout, readiness fails while liveness holds, login and refresh fail closed
//! with 503 (never 400 or 401), service resumes by itself, and no acknowledged write is
//! lost. A database error nobody planned for is the fixed 500, with no SQL in the body.
//!
//! On PostgreSQL the application reaches its database through a [`TcpProxy`] the test cuts
//! and restores, as a stopped server refuses connections and drops sessions. SQLite has no
//! server to lose; what applies there is the exhausted pool, tested on both engines.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_sql::DbOptions;
use gatehouse_tests::app::{Options, TestApp};
use gatehouse_tests::db::{Engine, TestDatabase, address, engines, with_address};
use gatehouse_tests::proxy::TcpProxy;
use reqwest::{RequestBuilder, Response, StatusCode};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The runtime pool's acquire timeout here (production defaults to 3 s).
const ACQUIRE: Duration = Duration::from_millis(700);

/// Scheduling slack on a busy two-core machine: a 503 must arrive within `ACQUIRE + SLACK`.
const SLACK: Duration = Duration::from_millis(1000);

/// How long the service may take to serve again once its database is back.
const RECOVERY: Duration = Duration::from_secs(15);

/// Concurrent clients signing up while the database goes away and comes back.
const LOAD_CLIENTS: usize = 4;

/// What one request got, and how long it took.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Value,
    retry_after: Option<String>,
    took: Duration,
}

impl Answer {
    /// Times `response` and reads it.
    async fn timed(response: impl Future<Output = Response>) -> Self {
        let started = Instant::now();
        let response = response.await;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or("<not text>").to_owned());
        let text = response.text().await.unwrap_or_default();
        Self {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            retry_after,
            took: started.elapsed(),
        }
    }

    /// Sends `request`, timed.
    async fn of(request: RequestBuilder) -> Self {
        Self::timed(async { request.send().await.expect("the server answers") }).await
    }

    /// The contract's 503 (CONTRACT.md §2.2): the fixed body and a `Retry-After` of 1 to 5
    /// whole seconds (SECURITY.md §4.1).
    fn is_unavailable(&self) -> bool {
        self.status == StatusCode::SERVICE_UNAVAILABLE
            && self.body == json!({ "detail": "Service Unavailable" })
            && self
                .retry_after
                .as_deref()
                .and_then(|s| s.parse::<u8>().ok())
                .is_some_and(|s| (1..=5).contains(&s))
    }

    /// Asserts the contract's 503 within `ACQUIRE + SLACK`.
    fn assert_unavailable_in_time(&self, what: &str) {
        assert!(self.is_unavailable(), "{what}: {self:?}");
        assert!(self.took <= ACQUIRE + SLACK, "{what} took {:?}", self.took);
    }
}

/// The password of every account the load signs up.
const PASSWORD: &str = "correct horse battery";

/// Signups from [`LOAD_CLIENTS`] clients until stopped, each reported with its email.
struct Load {
    answers: mpsc::UnboundedReceiver<(String, Answer)>,
    clients: JoinSet<()>,
    /// Everything received so far.
    seen: Vec<(String, Answer)>,
}

impl Load {
    fn start(app: &Arc<TestApp>) -> Self {
        let (tx, answers) = mpsc::unbounded_channel();
        let mut clients = JoinSet::new();
        for client in 0..LOAD_CLIENTS {
            let (tx, app) = (tx.clone(), app.clone());
            clients.spawn(async move {
                for n in 0.. {
                    let email = format!("load-{client}-{n}@example.com");
                    let answer = Answer::timed(app.signup(&email, PASSWORD)).await;
                    if tx.send((email, answer)).is_err() {
                        return;
                    }
                }
            });
        }
        Self {
            answers,
            clients,
            seen: Vec::new(),
        }
    }

    /// Waits until `count` more answers satisfy `wanted`.
    async fn until(&mut self, what: &str, count: usize, wanted: impl Fn(&Answer) -> bool) {
        let deadline = tokio::time::Instant::now() + RECOVERY;
        let mut found = 0;
        while found < count {
            let next = tokio::time::timeout_at(deadline, self.answers.recv())
                .await
                .unwrap_or_else(|_| panic!("no {count} × {what} from the load in {RECOVERY:?}"))
                .expect("load clients run until stopped");
            found += usize::from(wanted(&next.1));
            self.seen.push(next);
        }
    }

    /// Stops the clients; everything they were answered.
    async fn stop(mut self) -> Vec<(String, Answer)> {
        self.clients.shutdown().await;
        self.answers.close();
        while let Some(next) = self.answers.recv().await {
            self.seen.push(next);
        }
        self.seen
    }
}

/// Polls readiness until it answers 200, failing after [`RECOVERY`].
async fn until_ready(app: &TestApp) {
    let deadline = Instant::now() + RECOVERY;
    loop {
        let answer = Answer::of(app.get("/health/ready")).await;
        if answer.status == StatusCode::OK {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not ready {RECOVERY:?} after the database came back: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn assert_live(app: &TestApp) {
    let live = Answer::of(app.get("/health/live")).await;
    assert_eq!(
        (live.status, live.body),
        (StatusCode::OK, json!({ "status": "ok" }))
    );
}

/// Every email in the `user` table.
async fn stored_emails(conn: &DatabaseConnection) -> BTreeSet<String> {
    conn.query_all_raw(Statement::from_string(
        conn.get_database_backend(),
        r#"SELECT email FROM "user""#,
    ))
    .await
    .expect("read the users")
    .iter()
    .map(|row| row.try_get::<String>("", "email").expect("an email"))
    .collect()
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_503_within_the_acquire_timeout_and_service_resumes_by_itself() {
    let db = TestDatabase::postgres(true).await;
    let runtime = db.runtime_options();
    let proxy = TcpProxy::start(address(&runtime.url)).await;
    let pool = DbOptions {
        url: with_address(&runtime.url, "127.0.0.1", proxy.port()),
        acquire_timeout: ACQUIRE,
        ..runtime
    };
    let app = Arc::new(TestApp::spawn_on(db, pool, Options::unthrottled()).await);
    let (account, _) = app.new_user().await;
    let tokens = app.tokens(&account.email, &account.password).await;
    let (access, refresh) = (tokens.access.as_str(), tokens.refresh.as_str());
    let mut load = Load::start(&app);
    load.until("200 before the cut", 5, |a| a.status == StatusCode::OK)
        .await;

    proxy.cut().await;
    for (what, answer) in [
        ("GET /users/me", Answer::timed(app.me(access)).await),
        (
            "login with the right password",
            Answer::timed(app.login(&account.email, &account.password)).await,
        ),
        (
            "login with a wrong password",
            Answer::timed(app.login(&account.email, "not the password")).await,
        ),
        ("refresh", Answer::timed(app.refresh(refresh)).await),
        (
            "signup",
            Answer::timed(app.signup("cut@example.com", PASSWORD)).await,
        ),
        ("readiness", Answer::of(app.get("/health/ready")).await),
    ] {
        answer.assert_unavailable_in_time(&format!("{what} with the database gone"));
    }
    assert_live(&app).await;
    load.until("503 during the cut", 3, Answer::is_unavailable)
        .await;

    proxy.restore().await;
    until_ready(&app).await;
    load.until("200 after the restore", 5, |a| a.status == StatusCode::OK)
        .await;
    let answers = load.stop().await;

    let refreshed = Answer::timed(app.refresh(refresh)).await;
    assert_eq!(
        refreshed.status,
        StatusCode::OK,
        "the refresh token outlives the outage"
    );
    let me = Answer::timed(app.me(access)).await;
    assert_eq!(me.body["email"], account.email.as_str());
    for (email, answer) in &answers {
        assert!(
            answer.status == StatusCode::OK || answer.is_unavailable(),
            "signup of {email}: {answer:?}"
        );
        assert!(
            answer.took <= ACQUIRE + SLACK,
            "signup of {email}: {answer:?}"
        );
    }
    let stored = stored_emails(&app.sql().await.expect("a SQL backend")).await;
    let lost: Vec<&String> = answers
        .iter()
        .filter(|(email, answer)| answer.status == StatusCode::OK && !stored.contains(email))
        .map(|(email, _)| email)
        .collect();
    assert!(lost.is_empty(), "acknowledged, then lost: {lost:?}");
}

/// Holds the database so the application's next request on it waits: on PostgreSQL an
/// exclusive lock on `user` (even reads of it queue); on SQLite the write lock (readers go
/// on in WAL mode, so only writes queue).
async fn hold(conn: &DatabaseConnection) -> DatabaseTransaction {
    match conn.get_database_backend() {
        DbBackend::Sqlite => conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
            .expect("take the SQLite write lock"),
        _ => {
            let txn = conn.begin().await.expect("begin");
            txn.execute_unprepared(r#"LOCK TABLE "user" IN ACCESS EXCLUSIVE MODE"#)
                .await
                .expect("lock the user table");
            txn
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_is_503_within_the_acquire_timeout_and_recovers() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let pool = DbOptions {
            max_connections: 1,
            acquire_timeout: ACQUIRE,
            ..db.runtime_options()
        };
        let app = Arc::new(TestApp::spawn_on(db, pool, Options::unthrottled()).await);
        let (account, _, token) = app.user_with_token().await;
        let direct = app.sql().await.expect("a SQL backend");
        let held = hold(&direct).await;

        // A request that takes the pool's only connection and waits on the held database.
        let waiting = {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                match engine {
                    Engine::Postgres => Answer::timed(app.me(&token)).await,
                    Engine::Sqlite => {
                        Answer::timed(app.signup("waiting@example.com", PASSWORD)).await
                    }
                }
            })
        };
        // Readiness touches no user row, so it cannot queue on the lock itself: it answers
        // 200 until the waiting request has the connection, then 503.
        let deadline = Instant::now() + RECOVERY;
        loop {
            let answer = Answer::of(app.get("/health/ready")).await;
            if answer.status != StatusCode::OK {
                answer.assert_unavailable_in_time(&format!("{engine:?}: readiness"));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{engine:?}: the pool never ran out"
            );
        }
        for (what, answer) in [
            ("GET /users/me", Answer::timed(app.me(&token)).await),
            (
                "login",
                Answer::timed(app.login(&account.email, &account.password)).await,
            ),
        ] {
            answer
                .assert_unavailable_in_time(&format!("{engine:?}: {what} with the pool exhausted"));
        }
        assert_live(&app).await;

        held.rollback().await.expect("release the database");
        let waited = waiting.await.expect("the waiting request");
        assert_eq!(waited.status, StatusCode::OK, "{engine:?}: {waited:?}");
        until_ready(&app).await;
        let answer = Answer::timed(app.me(&token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{engine:?}: {answer:?}");
        if engine == Engine::Sqlite {
            assert!(stored_emails(&direct).await.contains("waiting@example.com"));
        }
    }
}

#[tokio::test]
async fn a_database_error_nobody_planned_for_is_the_fixed_500_without_sql() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let pool = db.runtime_options();
        let app = TestApp::spawn_on(db, pool, Options::default()).await;
        let token = app.admin_token().await;
        app.sql()
            .await
            .expect("a SQL backend")
            .execute_unprepared("DROP TABLE item")
            .await
            .expect("drop the item table underneath the service");

        for (what, request) in [
            ("GET /items/", app.get("/api/v1/items/").bearer_auth(&token)),
            (
                "POST /items/",
                app.post("/api/v1/items/")
                    .bearer_auth(&token)
                    .json(&json!({ "title": "Notebook" })),
            ),
        ] {
            let answer = Answer::of(request).await;
            assert_eq!(
                (answer.status, answer.body),
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "detail": "Internal Server Error" })
                ),
                "{engine:?}: {what}"
            );
        }
        let answer = Answer::timed(app.me(&token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{engine:?}: still serving");
    }
}
