//! Races over real HTTP: requests lined up by a barrier so the server handles them at the
//! same moment, repeated over several rounds on memory, SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL. Each test states an invariant that must hold whatever
//! order the server happens to pick; a failure names the backend and the round.
//!
//! Only the HTTP API and the helpers of `gatehouse_tests` are used, so the same tests run
//! unchanged against any version of the server.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_tests::app::{Backend, Options, TestApp, send};
use gatehouse_tests::db::{TestDatabase, engines};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Barrier;

mod account_lock;
mod deletion;
mod ipv6_prefix;
mod last_superuser;
mod mail_template;
mod mailbox_identity;
mod stale_writes;

/// One answer: status and JSON body (`null` when the body is not JSON).
type Answer = (StatusCode, Value);

/// How many times a probabilistic race is run on a SQL backend, each time with fresh
/// accounts.
const ROUNDS: usize = 6;

/// How many times as many rounds run on memory: a round there takes milliseconds, but the
/// window between a request's read and its write is microseconds wide, so the old code
/// loses a race there only in a few rounds out of a hundred.
const MEMORY_FACTOR: usize = 8;

/// The backend a race runs on: its name for messages, and how many rounds it affords.
struct Target {
    name: String,
    memory: bool,
}

impl Target {
    /// `rounds` on SQL, [`MEMORY_FACTOR`] times as many on memory.
    fn rounds(&self, rounds: usize) -> usize {
        if self.memory {
            rounds * MEMORY_FACTOR
        } else {
            rounds
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The 429 body of every throttled route (CONTRACT.md §9c).
const THROTTLED: &str = "Too many login attempts. Try again later.";

/// The login failure for an unknown email or a wrong password (CONTRACT.md route 1).
const LOGIN_FAILED: &str = "Incorrect email or password";

/// Runs `race` on a fresh application per backend: memory, then every available SQL engine.
/// Every backend runs even when an earlier one fails, and the failure names them all, so a
/// single run shows where an invariant breaks. `options` is called once per application
/// because [`Options`] cannot be cloned.
async fn on_every_backend<F, Fut>(options: fn() -> Options, race: F)
where
    F: Fn(TestApp, Target) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut failures = Vec::new();
    let memory = TestApp::spawn_with(Backend::Memory, options()).await;
    let target = Target {
        name: "memory".to_owned(),
        memory: true,
    };
    failures.extend(failure_of(race(memory, target)).await);
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let pool = db.runtime_options();
        let app = TestApp::spawn_on(db, pool, options()).await;
        let target = Target {
            name: format!("{engine:?}"),
            memory: false,
        };
        failures.extend(failure_of(race(app, target)).await);
    }
    assert!(
        failures.is_empty(),
        "failed on {} backend(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs one backend's race in a task of its own and returns its panic message, if any.
async fn failure_of(race: impl Future<Output = ()> + Send + 'static) -> Option<String> {
    let error = tokio::spawn(race).await.err()?;
    Some(match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic without a message".to_owned()),
        Err(error) => error.to_string(),
    })
}

/// Sends every request at once and returns the answers in the order of `requests`. Each
/// request goes out from its own task right after a barrier shared by all of them, so no
/// request has a head start the test gave it.
async fn race(requests: Vec<RequestBuilder>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                send(request).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("a request task"));
    }
    answers
}

/// Fails when any answer is a 5xx: a race is never the server's failure to report.
fn assert_no_server_error(answers: &[Answer], at: &str) {
    assert!(
        answers.iter().all(|(status, _)| !status.is_server_error()),
        "{at}: a 5xx among {answers:?}"
    );
}

/// `{"detail": detail}` with `status`, for comparing whole answers.
fn detail(status: StatusCode, detail: &str) -> Answer {
    (status, json!({ "detail": detail }))
}

/// Options with every throttle far away, for races that sign up and log in many times.
fn unthrottled() -> Options {
    Options::unthrottled()
}

/// [`unthrottled`] with email on, for races that need a recovery link.
fn unthrottled_with_mail() -> Options {
    Options {
        mail_enabled: true,
        ..Options::unthrottled()
    }
}

/// The default policy with the loopback peer trusted as reverse proxy, so that
/// `X-Forwarded-For` names the client (adapters/http/src/client.rs takes its right-most
/// untrusted hop). Signups are unthrottled: the test makes every round's account from the
/// loopback address, more often than the per-IP signup rule allows.
fn behind_proxy() -> Options {
    let mut options = Options::default();
    options.policy.throttle.signup_ip = Options::unthrottled().policy.throttle.signup_ip;
    options.http.trusted_proxies = vec![
        "127.0.0.1/32".parse().expect("a network"),
        "::1/128".parse().expect("a network"),
    ];
    options
}

/// A form login (route 1) as it would arrive from `client` through our proxy.
fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> RequestBuilder {
    app.post("/api/v1/login/access-token")
        .header("x-forwarded-for", client)
        .form(&[("username", email), ("password", password)])
}

/// The status and body of a form login (route 1).
async fn login_answer(app: &TestApp, email: &str, password: &str) -> Answer {
    send(
        app.post("/api/v1/login/access-token")
            .form(&[("username", email), ("password", password)]),
    )
    .await
}

/// `PATCH /users/me` with `{}`: changes nothing, but a server that writes the whole row it
/// read while authenticating writes that (possibly stale) row back.
fn noop_profile_update(app: &TestApp, token: &str) -> RequestBuilder {
    app.patch("/api/v1/users/me")
        .bearer_auth(token)
        .json(&json!({}))
}

/// User `id` as the admin sees it (`GET /users/{id}`).
async fn user_as_admin(app: &TestApp, admin: &str, id: &str, at: &str) -> Value {
    let (status, user) = send(app.get(&format!("/api/v1/users/{id}")).bearer_auth(admin)).await;
    assert_eq!(status, StatusCode::OK, "{at}: reading user {id}: {user}");
    user
}

/// The token of the reset link mailed to `email`. The mail may leave off the request path,
/// so it is awaited for up to five seconds (a wait for a side effect, not a synchronisation
/// of racing requests).
async fn reset_token_mailed_to(app: &TestApp, email: &str) -> String {
    let mail = mail_to(app, email).await;
    let token = mail
        .html
        .split("reset-password?token=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no reset link in the mail to {email}: {}", mail.html));
    token.to_owned()
}

/// The parts of a recorded mail the races look at.
struct Mail {
    text: String,
    html: String,
}

/// The first mail recorded for `email`, awaited for up to five seconds.
async fn mail_to(app: &TestApp, email: &str) -> Mail {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(mail) = app
            .mailer
            .sent()
            .into_iter()
            .find(|mail| mail.to.as_str() == email)
        {
            return Mail {
                text: mail.text,
                html: mail.html,
            };
        }
        assert!(Instant::now() < deadline, "no mail reached {email}");
        tokio::task::yield_now().await;
    }
}
