//! One address, one account, decided by the database's unique key on `lower(email)` rather
//! than a check-then-insert (CONTRACT.md §9d, SECURITY.md D5; issue 4 acceptance): fifty
//! concurrent signups spelling one address in fifty cases give exactly one 200, forty-nine
//! of the contract's 400 and one stored account, on every backend.

use std::sync::Arc;

use gatehouse_tests::app::{Backend, Options, TestApp, status_json};
use gatehouse_tests::db::{TestDatabase, engines};
use gatehouse_tests::emails::case_variant;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use tokio::task::JoinSet;

/// How many signups race.
const RACERS: usize = 50;

async fn race(app: TestApp, backend: &str) {
    let app = Arc::new(app);
    let mut signups = JoinSet::new();
    for n in 1..=RACERS {
        let app = app.clone();
        signups.spawn(async move {
            status_json(
                app.signup(&case_variant("racecondition", n), "correct horse battery")
                    .await,
            )
            .await
        });
    }
    let answers = signups.join_all().await;
    let won = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    let taken = answers
        .iter()
        .filter(|answer| {
            **answer
                == (
                    StatusCode::BAD_REQUEST,
                    json!({ "detail": "The user with this email already exists in the system" }),
                )
        })
        .count();
    assert_eq!((won, taken), (1, RACERS - 1), "{backend}: {answers:?}");

    let (status, listing) = status_json(
        app.get("/api/v1/users/?limit=1000")
            .bearer_auth(app.admin_token().await)
            .send()
            .await
            .expect("users listing"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{backend}");
    let accounts = listing["data"]
        .as_array()
        .expect("a user list")
        .iter()
        .filter(|user| {
            user["email"]
                .as_str()
                .is_some_and(|email| email.eq_ignore_ascii_case("racecondition@example.com"))
        })
        .count();
    assert_eq!(accounts, 1, "{backend}: {listing}");
    if let Some(conn) = app.sql().await {
        let rows = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                r#"SELECT count(*) AS n FROM "user" WHERE lower(email) = 'racecondition@example.com'"#,
            ))
            .await
            .expect("count the rows")
            .expect("a count")
            .try_get::<i64>("", "n")
            .expect("an integer");
        assert_eq!(rows, 1, "{backend}: rows in the user table");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_signups_differing_only_in_case_make_one_account() {
    race(
        TestApp::spawn_with(Backend::Memory, Options::unthrottled()).await,
        "memory",
    )
    .await;
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let pool = db.runtime_options();
        let app = TestApp::spawn_on(db, pool, Options::unthrottled()).await;
        race(app, &format!("{engine:?}")).await;
    }
}
