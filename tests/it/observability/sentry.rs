//! Issue 15 acceptance 2: the real binary in staging (Sentry reports outside development only,
//! and staging needs PostgreSQL) with `SENTRY_DSN` pointing at a local stand-in for Sentry's
//! ingest. A forced 5xx and a forced panic (the debug build's `--test-faults` routes, which
//! put the request's query into their failure) each arrive as exactly one event, tagged with
//! request id, route template, environment and release, and none of the test's email,
//! password or tokens is anywhere in the captured bytes. With the ingest stalled, requests
//! are answered as usual and without waiting on it.

use std::time::{Duration, Instant};

use gatehouse_tests::{db::TestDatabase, process::ServedBinary, sentry::SentryIngest};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");

/// A key staging accepts (32 bytes or more, 16 distinct or more).
const SECRET_KEY: &str = "kX9-2mQ_vR7tL4wZ8nB1cY6hJ3pF0sD5gA";

/// `gatehouse serve --test-faults` in staging on `db`, reporting to `dsn`.
fn staging(db: &TestDatabase, dsn: &str) -> ServedBinary {
    ServedBinary::start_with(
        BINARY,
        &["--test-faults"],
        &[
            ("ENVIRONMENT", "staging"),
            ("SECRET_KEY", SECRET_KEY),
            ("DATABASE_URL", db.url()),
            ("SENTRY_DSN", dsn),
        ],
    )
}

/// A user's credentials and tokens: what must never reach Sentry.
struct Secrets {
    email: String,
    password: String,
    access: String,
    refresh: String,
}

impl Secrets {
    async fn sign_up(server: &ServedBinary, client: &Client) -> Self {
        let email = format!("sentry-{}@example.com", Uuid::new_v4().simple());
        let password = format!("pw-{}", Uuid::new_v4().simple());
        let signup = client
            .post(format!("{}/api/v1/users/signup", server.base()))
            .json(&json!({ "email": email, "password": password }));
        assert_eq!(
            signup.send().await.expect("signup").status(),
            StatusCode::OK
        );
        let login = server.login(client, &email, &password).send().await;
        let tokens: Value = login.expect("login").json().await.expect("tokens");
        Self {
            access: tokens["access_token"].as_str().expect("access").to_owned(),
            refresh: tokens["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
            email,
            password,
        }
    }

    fn all(&self) -> [(&str, &str); 4] {
        [
            ("email", &self.email),
            ("password", &self.password),
            ("access token", &self.access),
            ("refresh token", &self.refresh),
        ]
    }

    /// A request to a failing route carrying every secret: in the query (which the route puts
    /// into its failure), the `Authorization` header and a cookie.
    fn fault(
        &self,
        server: &ServedBinary,
        client: &Client,
        route: &str,
        id: &str,
    ) -> RequestBuilder {
        client
            .get(format!("{}/__test__/{route}", server.base()))
            .query(&[
                ("email", self.email.as_str()),
                ("password", self.password.as_str()),
                ("token", self.refresh.as_str()),
            ])
            .bearer_auth(&self.access)
            .header("cookie", format!("session={}", self.refresh))
            .header("x-request-id", id)
    }
}

async fn answered(request: RequestBuilder) -> StatusCode {
    request.send().await.expect("request sent").status()
}

/// The event whose `request_id` tag is `id`.
fn event<'a>(events: &'a [Value], id: &str) -> &'a Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|event| event["tags"]["request_id"] == id)
        .collect();
    assert_eq!(found.len(), 1, "one event for {id}: {events:#?}");
    found[0]
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn a_5xx_and_a_panic_each_reach_sentry_once_tagged_and_without_personal_data() {
    let db = TestDatabase::postgres(true).await;
    let ingest = SentryIngest::start();
    let mut server = staging(&db, &ingest.dsn());
    server.wait_ready().await;
    let client = Client::new();
    let secrets = Secrets::sign_up(&server, &client).await;

    let failed = secrets.fault(&server, &client, "error", "sentry-500");
    assert_eq!(answered(failed).await, StatusCode::INTERNAL_SERVER_ERROR);
    let panicked = secrets.fault(&server, &client, "panic", "sentry-panic");
    assert_eq!(answered(panicked).await, StatusCode::INTERNAL_SERVER_ERROR);
    // Stopping flushes what is queued, so afterwards the ingest has everything.
    server.terminate();
    assert!(server.wait_exit().success(), "{}", server.log());

    let events = ingest.events();
    assert_eq!(events.len(), 2, "one event per failure: {events:#?}");
    let release = format!("gatehouse@{}+", env!("CARGO_PKG_VERSION"));
    for event in &events {
        assert_eq!(event["environment"], "staging");
        assert!(
            event["release"].as_str().unwrap().starts_with(&release),
            "{event}"
        );
        assert_eq!(event["tags"]["method"], "GET");
        assert!(event.get("request").is_none() && event.get("user").is_none());
    }
    let error = event(&events, "sentry-500");
    assert_eq!(error["tags"]["route"], "/__test__/error");
    assert_eq!(error["tags"]["status"], "500");
    assert_eq!(error["message"], "500 answer to GET /__test__/error");
    let cause = error["extra"]["cause"].as_str().expect("the cause");
    assert!(cause.contains("forced failure"), "{cause}");
    let panic = event(&events, "sentry-panic");
    assert_eq!(panic["tags"]["route"], "/__test__/panic");
    let exception = &panic["exception"]["values"][0];
    assert_eq!(exception["type"], "panic");
    assert!(
        exception["value"]
            .as_str()
            .unwrap()
            .contains("forced panic")
    );

    let captured: Vec<u8> = ingest.bodies().concat();
    let captured = String::from_utf8_lossy(&captured);
    let encoded_email = secrets.email.replace('@', "%40");
    for (what, secret) in secrets
        .all()
        .into_iter()
        .chain([("encoded email", encoded_email.as_str())])
    {
        assert!(!captured.contains(secret), "the {what} reached Sentry");
    }
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn a_stalled_ingest_leaves_requests_unaffected() {
    let db = TestDatabase::postgres(true).await;
    let ingest = SentryIngest::stalled();
    let server = staging(&db, &ingest.dsn());
    server.wait_ready().await;
    let client = Client::new();
    let secrets = Secrets::sign_up(&server, &client).await;

    // More reports than the SDK queues, each answered at once: if sending held a request up,
    // the first one alone would wait for the ingest's answer, which never comes.
    let started = Instant::now();
    for n in 0..40 {
        let failed = secrets.fault(&server, &client, "error", &format!("stalled-{n}"));
        assert_eq!(answered(failed).await, StatusCode::INTERNAL_SERVER_ERROR);
    }
    let panicked = secrets.fault(&server, &client, "panic", "stalled-panic");
    assert_eq!(answered(panicked).await, StatusCode::INTERNAL_SERVER_ERROR);
    let me = client
        .get(format!("{}/api/v1/users/me", server.base()))
        .bearer_auth(&secrets.access);
    assert_eq!(answered(me).await, StatusCode::OK);
    let login = server.login(&client, &secrets.email, &secrets.password);
    assert_eq!(answered(login).await, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "requests waited on the ingest: {:?}",
        started.elapsed()
    );
}
