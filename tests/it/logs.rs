//! Log hygiene and the audit trail of the real `gatehouse serve` process at `RUST_LOG=trace`,
//! JSON lines captured from its stdout and stderr (issue 6 acceptance 1; SECURITY.md ERR-04,
//! ERR-05, ERR-06, RL-06; CONTRACT.md §9i): a representative run of every security-relevant
//! flow leaves none of its passwords, tokens, the signing key or the database password in the
//! log, no user value can forge a line, and each audit event carries its fields.
//!
//! A separate process, because a global subscriber inside the shared test binary would
//! capture every other test's lines too. With `TEST_DATABASE_URL` the server runs on
//! PostgreSQL as a role with a password (so its URL holds a secret); otherwise on SQLite,
//! whose URL has none to leak.

use std::collections::BTreeMap;

use gatehouse_tests::{
    db::{Engine, TEST_DATABASE_URL, TestDatabase, engines},
    process::ServedBinary,
    smtp::SmtpSink,
};
use reqwest::{Client, RequestBuilder, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");
const FRONTEND: &str = "https://app.example.com";
/// Sent as every request's `User-Agent`: quotes meant to close the JSON string it lands in.
const USER_AGENT: &str = r#"log-test/1.0","level":"ERROR","message":"forged"#;
/// A `full_name` meant to start a log line of its own.
const FORGED_NAME: &str =
    "Mallory\n{\"timestamp\":\"2026-01-01T00:00:00Z\",\"level\":\"ERROR\",\"message\":\"forged\"}";
/// The request id of issue 2's acceptance.
const REQUEST_ID: &str = "abc-123";

/// Values that must never reach the log, each with what it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    /// A fresh value for `what`, remembered as secret.
    fn fresh(&mut self, what: &str) -> String {
        let value = format!("{what}-{}", Uuid::new_v4().simple());
        self.keep(what, &value);
        value
    }

    fn keep(&mut self, what: &str, value: &str) {
        self.0.push((what.to_owned(), value.to_owned()));
    }

    /// Remembers the access and refresh token of a token response and returns them.
    fn tokens(&mut self, what: &str, body: &Value) -> (String, String) {
        let access = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let refresh = body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned();
        self.keep(&format!("{what} access token"), &access);
        self.keep(&format!("{what} refresh token"), &refresh);
        (access, refresh)
    }
}

/// A database the server can reach with a password, when PostgreSQL is available.
struct PasswordDatabase {
    url: String,
    role: String,
    db: TestDatabase,
}

impl PasswordDatabase {
    /// A fresh, unmigrated PostgreSQL database owned by a new role with `password`.
    async fn create(password: &str) -> Self {
        let db = TestDatabase::postgres(false).await;
        let role = format!("gatehouse_log_{}", Uuid::new_v4().simple());
        let conn = db.connection().await;
        for statement in [
            format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"),
            format!(
                "ALTER DATABASE \"{}\" OWNER TO \"{role}\"",
                db.url().rsplit('/').next().expect("a database name")
            ),
            format!("GRANT ALL ON SCHEMA public TO \"{role}\""),
        ] {
            conn.execute_unprepared(&statement)
                .await
                .expect("role set-up");
        }
        conn.close().await.expect("close");
        let mut url = url::Url::parse(db.url()).expect("a URL");
        url.set_username(&role).expect("a user");
        url.set_password(Some(password)).expect("a password");
        Self {
            url: url.to_string(),
            role,
            db,
        }
    }

    /// Drops the database, then the role that owned it.
    async fn remove(self) {
        drop(self.db);
        let server = std::env::var(TEST_DATABASE_URL).expect("set when a role was made");
        let conn = Database::connect(server).await.expect("connect");
        conn.execute_unprepared(&format!("DROP ROLE IF EXISTS \"{}\"", self.role))
            .await
            .expect("drop the role");
    }
}

/// The client of the run: every request carries [`USER_AGENT`].
struct Run {
    client: Client,
    base: String,
}

impl Run {
    fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.base))
    }

    fn patch(&self, path: &str) -> RequestBuilder {
        self.client.patch(format!("{}{path}", self.base))
    }

    fn delete(&self, path: &str) -> RequestBuilder {
        self.client.delete(format!("{}{path}", self.base))
    }

    fn login(&self, email: &str, password: &str) -> RequestBuilder {
        self.post("/api/v1/login/access-token")
            .form(&[("username", email), ("password", password)])
    }
}

/// Sends `request`, checks its status and returns its JSON body (`null` if none).
async fn expect(request: RequestBuilder, status: StatusCode) -> Value {
    let response = request.send().await.expect("request sent");
    let got = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

#[tokio::test]
async fn a_trace_level_run_logs_no_secret_no_forged_line_and_every_audit_event() {
    let mut secrets = Secrets::default();
    let secret_key = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    secrets.keep("SECRET_KEY", &secret_key);
    let admin_email = "root@example.com";
    let admin_password = secrets.fresh("superuser password");
    let database = match engines().contains(&Engine::Postgres) {
        true => Some(PasswordDatabase::create(&secrets.fresh("database password")).await),
        false => {
            println!("note: logs: SQLite run, so no database password to look for");
            None
        }
    };
    let sink = SmtpSink::start().await;
    let smtp_port = sink.port().to_string();
    let mut env = vec![
        // `trace` for everything, the database crates included (they are quieted by default).
        ("RUST_LOG", "trace,sqlx=trace,sea_orm=trace"),
        ("SECRET_KEY", secret_key.as_str()),
        ("FIRST_SUPERUSER", admin_email),
        ("FIRST_SUPERUSER_PASSWORD", admin_password.as_str()),
        // No grace: the second use of a refresh token is reuse at once.
        ("REFRESH_GRACE_SECONDS", "0"),
        ("FRONTEND_HOST", FRONTEND),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", smtp_port.as_str()),
        ("SMTP_TLS", "false"),
        ("EMAILS_FROM_EMAIL", "noreply@example.com"),
    ];
    if let Some(db) = &database {
        env.push(("DATABASE_URL", db.url.as_str()));
    }
    let mut server = ServedBinary::start(BINARY, &env);
    server.wait_ready().await;
    let run = Run {
        client: Client::builder()
            .user_agent(USER_AGENT)
            .build()
            .expect("client"),
        base: server.base(),
    };

    // Self-service: signup, a wrong and a right login, a profile change.
    let email = "ursula@example.com";
    let first = secrets.fresh("signup password");
    let wrong = secrets.fresh("wrong password");
    expect(
        run.post("/api/v1/users/signup").json(&json!({
            "email": email, "password": first, "full_name": FORGED_NAME,
        })),
        StatusCode::OK,
    )
    .await;
    expect(run.login(email, &wrong), StatusCode::BAD_REQUEST).await;
    let body = expect(run.login(email, &first), StatusCode::OK).await;
    let (access, refresh) = secrets.tokens("first login", &body);
    expect(
        run.patch("/api/v1/users/me")
            .bearer_auth(&access)
            .json(&json!({ "full_name": FORGED_NAME })),
        StatusCode::OK,
    )
    .await;

    // An unknown address until it is throttled; its address must not be logged either.
    let ghost = format!("ghost-{}@example.com", Uuid::new_v4().simple());
    secrets.keep("an unknown login name", &ghost);
    for _ in 0..5 {
        expect(run.login(&ghost, &wrong), StatusCode::BAD_REQUEST).await;
    }
    expect(run.login(&ghost, &wrong), StatusCode::TOO_MANY_REQUESTS).await;

    // Rotation, then reuse of the rotated token, which ends the session.
    let body = expect(
        run.post("/api/v1/auth/refresh")
            .json(&json!({ "refresh_token": refresh })),
        StatusCode::OK,
    )
    .await;
    secrets.tokens("refresh", &body);
    expect(
        run.post("/api/v1/auth/refresh")
            .json(&json!({ "refresh_token": refresh })),
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // A password change (after a wrong current one), a token in a query string, a logout.
    let body = expect(run.login(email, &first), StatusCode::OK).await;
    let (access, refresh) = secrets.tokens("second login", &body);
    let second = secrets.fresh("changed password");
    expect(
        run.patch("/api/v1/users/me/password")
            .bearer_auth(&access)
            .json(&json!({ "current_password": wrong, "new_password": second })),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect(
        run.patch("/api/v1/users/me/password")
            .bearer_auth(&access)
            .json(&json!({ "current_password": first, "new_password": second })),
        StatusCode::OK,
    )
    .await;
    expect(
        run.get(&format!("/api/v1/users/me?access_token={access}")),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    expect(
        run.post("/api/v1/auth/logout")
            .bearer_auth(&access)
            .json(&json!({ "refresh_token": refresh })),
        StatusCode::OK,
    )
    .await;

    // Recovery by mail and the reset; the emailed token is a secret too.
    expect(
        run.post(&format!("/api/v1/password-recovery/{email}")),
        StatusCode::OK,
    )
    .await;
    let reset_token = sink.next_mail().await.reset_token(FRONTEND);
    secrets.keep("reset token", &reset_token);
    let third = secrets.fresh("reset password");
    expect(
        run.post("/api/v1/reset-password/")
            .json(&json!({ "token": reset_token, "new_password": third })),
        StatusCode::OK,
    )
    .await;
    let body = expect(run.login(email, &third), StatusCode::OK).await;
    secrets.tokens("login after the reset", &body);

    // Admin changes to another user.
    let body = expect(run.login(admin_email, &admin_password), StatusCode::OK).await;
    let (admin, _) = secrets.tokens("superuser login", &body);
    let created_password = secrets.fresh("admin-created password");
    let victor = expect(
        run.post("/api/v1/users/")
            .bearer_auth(&admin)
            .json(&json!({ "email": "victor@example.com", "password": created_password })),
        StatusCode::OK,
    )
    .await;
    let victor = format!("/api/v1/users/{}", victor["id"].as_str().expect("id"));
    let admin_set = secrets.fresh("admin-set password");
    for change in [
        json!({ "is_active": false }),
        json!({ "password": admin_set }),
    ] {
        expect(
            run.patch(&victor).bearer_auth(&admin).json(&change),
            StatusCode::OK,
        )
        .await;
    }
    expect(run.delete(&victor).bearer_auth(&admin), StatusCode::OK).await;

    // Issue 2: a client's request id is echoed and logged; a forged one is replaced.
    let echoed = run
        .get("/health/live")
        .header("x-request-id", REQUEST_ID)
        .send()
        .await
        .expect("request");
    assert_eq!(echoed.headers()["x-request-id"], REQUEST_ID);
    let forged_id = r#"x"},"level":"ERROR","message":"forged"#;
    run.get("/health/live")
        .header("x-request-id", forged_id)
        .send()
        .await
        .expect("request");

    server.terminate();
    assert!(server.wait_exit().success(), "{}", server.log());
    let log = server.log();
    if let Some(db) = database {
        db.remove().await;
    }

    for (what, value) in &secrets.0 {
        assert!(!log.contains(value.as_str()), "the {what} reached the log");
    }
    let lines = json_lines(&log);
    assert!(
        lines.iter().all(|line| line["message"] != "forged"),
        "a user value forged a log line"
    );
    assert!(
        lines
            .iter()
            .any(|line| span(line, "user_agent") == Some(USER_AGENT)),
        "the hostile user agent is logged, as one escaped value"
    );
    assert_request_id_logged_once(&lines);
    assert_audit_trail(&lines);
    // Issue 13 item 7: the adapter's work (here the pool checkout of a lookup) is logged in
    // the spans of its request, use case and adapter operation.
    let lookup = [json!("request"), json!("login"), json!("find_by_email")];
    assert!(
        lines.iter().any(|line| line["spans"]
            .as_array()
            .is_some_and(|spans| spans.starts_with(&lookup))),
        "no line inside the login's find_by_email"
    );
}

/// Every line of `log` as a JSON object (ERR-05): a line that is not one was forged or
/// written around the subscriber.
/// The lines of a served run that sent three requests with `X-Forwarded-For` from the
/// loopback peer, under `extra` settings, once it has exited.
async fn forwarded_run(extra: &[(&str, &str)]) -> Vec<Value> {
    let mut server = ServedBinary::start(BINARY, extra);
    server.wait_ready().await;
    let client = Client::new();
    for hop in ["203.0.113.1", "203.0.113.2", "203.0.113.1, 198.51.100.7"] {
        let url = format!("{}/api/v1/utils/health-check/", server.base());
        let answer = client.get(url).header("x-forwarded-for", hop).send().await;
        assert_eq!(answer.expect("request").status(), StatusCode::OK);
    }
    server.terminate();
    assert!(server.wait_exit().success(), "{}", server.log());
    json_lines(&server.log())
}

/// Issue 12 item 4: behind a reverse proxy nobody declared, every client shares the proxy's
/// address and its per-IP limits; the operator is told once per peer (per hour) what to set,
/// and nothing is said when the proxy is trusted.
#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_reported_once_with_the_fix() {
    let reported = |lines: &[Value]| -> Vec<Value> {
        lines
            .iter()
            .filter(|line| field(line, "event") == Some("untrusted_forwarded_for"))
            .cloned()
            .collect()
    };
    let untrusted = reported(&forwarded_run(&[]).await);
    assert_eq!(untrusted.len(), 1, "{untrusted:?}");
    assert_eq!(untrusted[0]["level"], "WARN");
    assert_eq!(field(&untrusted[0], "peer"), Some("127.0.0.1"));
    let advice = untrusted[0]["message"].as_str().expect("a message");
    assert!(advice.contains("TRUSTED_PROXIES=127.0.0.1"), "{advice}");

    let trusted = forwarded_run(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    assert_eq!(reported(&trusted), Vec::<Value>::new());
}

fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|line| !line.is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(value) if value.is_object() => value,
            _ => panic!("not one JSON object per line: {line:?}"),
        })
        .collect()
}

/// A field of the request span a line was written in.
fn span<'a>(line: &'a Value, field: &str) -> Option<&'a str> {
    line["span"][field].as_str()
}

/// A field of the event, or else of its request span.
fn field<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    line[name].as_str().or_else(|| span(line, name))
}

fn assert_request_id_logged_once(lines: &[Value]) {
    let completed: Vec<&Value> = lines
        .iter()
        .filter(|line| span(line, "request_id") == Some(REQUEST_ID))
        .filter(|line| line["message"] == "request completed")
        .collect();
    assert_eq!(completed.len(), 1, "one completion line for {REQUEST_ID}");
    assert_eq!(completed[0]["status"], 200);
    assert!(completed[0]["latency_ms"].is_number(), "{}", completed[0]);
}

/// RL-06: each security event is logged with a UTC time, the request id, the client IP and
/// user agent, who it concerns (user id, account fingerprint or the acting principal) and
/// its outcome.
fn assert_audit_trail(lines: &[Value]) {
    let mut events: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for line in lines {
        if let Some(event) = line["event"].as_str() {
            events.entry(event).or_default().push(line);
        }
    }
    // Each event with the use case it was recorded in (issue 13 item 7: `#[instrument]`).
    for (name, use_case) in [
        ("signup", "signup"),
        ("login_succeeded", "login"),
        ("login_failed", "login"),
        ("throttled", "login"),
        ("refresh", "refresh"),
        ("refresh_reuse_detected", "refresh"),
        ("password_change_failed", "change_password"),
        ("password_changed", "change_password"),
        ("logout", "logout"),
        ("password_recovery_requested", "recover_password"),
        ("password_reset", "reset_password"),
        ("user_created", "create_user"),
        ("user_updated", "update_user"),
        ("user_deleted", "delete_user"),
    ] {
        let found = events
            .get(name)
            .unwrap_or_else(|| panic!("no {name} event; events: {:?}", events.keys()));
        for line in found {
            assert_eq!(
                line["spans"],
                json!(["request", use_case]),
                "{name}: {line}"
            );
            assert_eq!(span(line, "name"), Some("request"), "{name}: {line}");
            let time = line["timestamp"].as_str().unwrap_or_default();
            assert!(time.ends_with('Z') && time.contains('T'), "{name}: {line}");
            assert!(
                span(line, "request_id").is_some(),
                "{name}: request id: {line}"
            );
            assert_eq!(field(line, "ip"), Some("127.0.0.1"), "{name}: {line}");
            assert_eq!(
                field(line, "user_agent"),
                Some(USER_AGENT),
                "{name}: {line}"
            );
            assert!(
                ["user_id", "account", "principal"]
                    .iter()
                    .any(|who| field(line, who).is_some()),
                "{name}: whom it concerns: {line}"
            );
            assert!(field(line, "outcome").is_some(), "{name}: outcome: {line}");
        }
    }
    let refused = events["throttled"][0];
    assert_eq!(refused["outcome"], "refused");
    assert!(refused["account"].as_str().is_some_and(|a| a.len() == 16));
}
