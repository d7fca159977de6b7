//! Password recovery and email over real SMTP (CONTRACT.md routes 3, 4, 5, 7, 21, §4.3, §9f,
//! §9g, golden step 11; SECURITY.md RT-13, RT-14, EN-03, AZ-06, §5 A2 and A3): Gatehouse runs
//! with its SMTP mailer pointed at a sink on a real socket, and the tests read what arrives.

use std::time::{Duration, Instant};

use gatehouse_application::Policy;
use gatehouse_domain::throttle::ThrottleRule;
use gatehouse_mail::Security;
use gatehouse_tests::{
    app::{Backend, Options, TestApp, send, status_json},
    smtp::{SmtpSink, smtp_mailer_at},
};
use reqwest::{RequestBuilder, Response, StatusCode, header};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

const FRONTEND: &str = "https://app.example.com";
const PROJECT: &str = "Acme Portal";
const NEW_PASSWORD: &str = "brand-new-password-7";

fn recovery_sent() -> (StatusCode, Value) {
    (
        StatusCode::OK,
        json!({"message": "If that email is registered, we sent a password recovery link"}),
    )
}

fn password_updated() -> (StatusCode, Value) {
    (
        StatusCode::OK,
        json!({"message": "Password updated successfully"}),
    )
}

fn invalid_token() -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, json!({"detail": "Invalid token"}))
}

fn invalid_credentials() -> (StatusCode, Value) {
    (
        StatusCode::FORBIDDEN,
        json!({"detail": "Could not validate credentials"}),
    )
}

/// The default policy with this file's frontend and project name.
fn policy() -> Policy {
    Policy {
        frontend_host: FRONTEND.into(),
        project_name: PROJECT.into(),
        ..Policy::default()
    }
}

/// Gatehouse sending through its SMTP mailer to a fresh sink.
async fn spawn_mailing(backend: Backend, policy: Policy) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(
        backend,
        Options {
            policy,
            mailer: Some(sink.mailer()),
            ..Options::default()
        },
    )
    .await;
    (app, sink)
}

fn recover(app: &TestApp, email: &str) -> RequestBuilder {
    app.post(&format!("/api/v1/password-recovery/{email}"))
}

fn reset(app: &TestApp, token: &str, new_password: &str) -> RequestBuilder {
    app.post("/api/v1/reset-password/")
        .json(&json!({"token": token, "new_password": new_password}))
}

/// Requests recovery for `email` and reads the token from the link in the mail that arrives.
async fn emailed_token(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    assert_eq!(send(recover(app, email)).await, recovery_sent());
    let mail = sink.next_mail().await;
    assert_eq!(mail.recipients, [email]);
    mail.reset_token(FRONTEND)
}

/// Whether `password` still opens `email`'s account.
async fn logs_in(app: &TestApp, email: &str, password: &str) -> bool {
    app.login(email, password).await.status() == StatusCode::OK
}

/// Status, headers and body, without the two headers that differ on every response.
async fn normalised(response: Response) -> (StatusCode, Vec<(String, String)>, String) {
    let mut headers: Vec<_> = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| {
            (
                name.to_string(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    headers.sort();
    (response.status(), headers, response.text().await.unwrap())
}

async fn the_recovery_mail_has_the_contract_subject_and_a_frontend_host_link(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let (user, _) = app.new_user().await;
    // RT-14: forged host headers must not reach the link.
    let answer = send(
        recover(&app, &user.email)
            .header(header::HOST, "evil.example")
            .header("x-forwarded-host", "evil.example")
            .header("forwarded", "host=evil.example"),
    )
    .await;
    assert_eq!(answer, recovery_sent());
    let mail = sink.next_mail().await;
    assert_eq!(mail.recipients, [user.email.as_str()]);
    assert_eq!(mail.envelope_from, "noreply@example.com");
    assert_eq!(mail.from, "Gatehouse <noreply@example.com>");
    assert_eq!(
        mail.subject,
        format!("{PROJECT} - Password recovery for user {}", user.email)
    );
    assert_eq!(
        mail.content_types,
        ["multipart/alternative", "text/plain", "text/html"]
    );
    let token = mail.reset_token(FRONTEND);
    assert_eq!(token.len(), 43, "256 random bits, base64url: {token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe: {token}"
    );
    assert!(
        mail.text
            .contains(&format!("{FRONTEND}/reset-password?token={token}")),
        "{}",
        mail.text
    );
    assert!(!format!("{}{}", mail.html, mail.text).contains("evil.example"));
}

async fn golden_step_11_the_emailed_token_resets_once_and_ends_every_session(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let (dave, _) = app.new_user().await;
    let sessions = [
        app.tokens(&dave.email, &dave.password).await,
        app.tokens(&dave.email, &dave.password).await,
    ];
    let token = emailed_token(&app, &sink, &dave.email).await;
    // A reset token never stands in for an access token (CONTRACT.md §3.1 row 2).
    assert_eq!(
        send(app.get("/api/v1/users/me").bearer_auth(&token)).await,
        invalid_credentials()
    );

    assert_eq!(
        send(reset(&app, &token, NEW_PASSWORD)).await,
        password_updated()
    );
    assert_eq!(
        send(reset(&app, &token, "yet-another-password-9")).await,
        invalid_token()
    );
    for session in &sessions {
        assert_eq!(
            status_json(app.me(&session.access).await).await,
            invalid_credentials()
        );
        assert_eq!(
            status_json(app.refresh(&session.refresh).await).await,
            (
                StatusCode::UNAUTHORIZED,
                json!({"detail": "Invalid refresh token"})
            )
        );
    }
    assert!(!logs_in(&app, &dave.email, &dave.password).await);
    assert!(logs_in(&app, &dave.email, NEW_PASSWORD).await);
}

async fn a_newer_reset_token_supersedes_the_older_one(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let (user, _) = app.new_user().await;
    let older = emailed_token(&app, &sink, &user.email).await;
    let newer = emailed_token(&app, &sink, &user.email).await;
    assert_ne!(older, newer);
    assert_eq!(
        send(reset(&app, &older, NEW_PASSWORD)).await,
        invalid_token()
    );
    assert!(
        logs_in(&app, &user.email, &user.password).await,
        "unchanged"
    );
    assert_eq!(
        send(reset(&app, &newer, NEW_PASSWORD)).await,
        password_updated()
    );
}

async fn an_expired_reset_token_is_invalid(backend: Backend) {
    let lifetime = time::Duration::seconds(30);
    let (app, sink) = spawn_mailing(
        backend,
        Policy {
            reset_token_lifetime: lifetime,
            ..policy()
        },
    )
    .await;
    let (user, _) = app.new_user().await;
    let token = emailed_token(&app, &sink, &user.email).await;
    app.clock.advance(lifetime + time::Duration::seconds(1));
    assert_eq!(
        send(reset(&app, &token, NEW_PASSWORD)).await,
        invalid_token()
    );
    assert!(
        logs_in(&app, &user.email, &user.password).await,
        "unchanged"
    );
}

async fn a_password_change_voids_an_outstanding_reset_token(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let (user, _, access) = app.user_with_token().await;
    let token = emailed_token(&app, &sink, &user.email).await;
    let (status, _) = send(
        app.patch("/api/v1/users/me/password")
            .bearer_auth(&access)
            .json(
                &json!({"current_password": user.password, "new_password": "changed-password-5"}),
            ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        send(reset(&app, &token, NEW_PASSWORD)).await,
        invalid_token()
    );
    assert!(logs_in(&app, &user.email, "changed-password-5").await);
}

async fn a_reset_for_a_deactivated_account_answers_inactive_user(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let (user, id) = app.new_user().await;
    let token = emailed_token(&app, &sink, &user.email).await;
    let admin = app.admin_token().await;
    let (status, _) = send(
        app.patch(&format!("/api/v1/users/{id}"))
            .bearer_auth(&admin)
            .json(&json!({"is_active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        send(reset(&app, &token, NEW_PASSWORD)).await,
        (StatusCode::BAD_REQUEST, json!({"detail": "Inactive user"}))
    );
}

async fn known_unknown_and_inactive_addresses_get_identical_answers_and_only_the_active_one_mail(
    backend: Backend,
) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let (active, _) = app.new_user().await;
    let (inactive, inactive_id) = app.new_user().await;
    let admin = app.admin_token().await;
    let (status, _) = send(
        app.patch(&format!("/api/v1/users/{inactive_id}"))
            .bearer_auth(&admin)
            .json(&json!({"is_active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let mut answers = Vec::new();
    for email in ["nobody@example.com", inactive.email.as_str(), &active.email] {
        answers.push(normalised(recover(&app, email).send().await.unwrap()).await);
    }
    assert_eq!(answers[0].0, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&answers[0].2).unwrap(),
        recovery_sent().1
    );
    assert_eq!(answers[0], answers[1], "unknown vs inactive");
    assert_eq!(answers[0], answers[2], "unknown vs active");
    // One worker delivers in order: had the unknown or the inactive address been mailed,
    // that mail would come first.
    let mail = sink.next_mail().await;
    assert_eq!(mail.recipients, [active.email.as_str()]);
}

async fn a_dead_or_silent_mail_server_changes_neither_the_answer_nor_its_promptness(
    backend: Backend,
) {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    // Accepted by the kernel, never answered: a synchronous send would wait out the timeout.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let stall = Duration::from_secs(30);
    for (server, port) in [("closed port", closed_port), ("silent server", silent_port)] {
        let app = TestApp::spawn_with(
            backend,
            Options {
                policy: policy(),
                mailer: Some(smtp_mailer_at(port, Security::Plain, stall)),
                ..Options::default()
            },
        )
        .await;
        let (user, _) = app.new_user().await;
        let admin = app.admin_token().await;
        for _ in 0..2 {
            let started = Instant::now();
            assert_eq!(
                send(recover(&app, &user.email)).await,
                recovery_sent(),
                "{server}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{server}: the answer waited for the mail server ({:?})",
                started.elapsed()
            );
        }
        let started = Instant::now();
        assert_eq!(
            send(
                app.post("/api/v1/utils/test-email/?email_to=ops@example.com")
                    .bearer_auth(&admin)
            )
            .await,
            (StatusCode::CREATED, json!({"message": "Test email sent"})),
            "{server}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{server}");
    }
    drop(silent);
}

async fn the_preview_renders_the_recovery_mail_without_a_live_token(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let (user, _, user_token) = app.user_with_token().await;
    let admin = app.admin_token().await;
    let preview = |email: &str, bearer: &str| {
        app.post(&format!("/api/v1/password-recovery-html-content/{email}"))
            .bearer_auth(bearer)
    };

    let response = preview(&user.email, &admin).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(
        response.headers()["subject"],
        format!("{PROJECT} - Password recovery for user {}", user.email).as_str()
    );
    let html = response.text().await.unwrap();
    let opening = format!("href=\"{FRONTEND}/reset-password?token=");
    let start = html.find(&opening).expect("the recovery link") + opening.len();
    let placeholder = &html[start..start + html[start..].find('"').unwrap()];
    assert_eq!(
        send(reset(&app, placeholder, NEW_PASSWORD)).await,
        invalid_token()
    );
    assert!(
        logs_in(&app, &user.email, &user.password).await,
        "unchanged"
    );

    assert_eq!(
        send(preview("nobody@example.com", &admin)).await,
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "The user with this username does not exist in the system."})
        )
    );
    assert_eq!(
        send(preview(&user.email, &user_token)).await,
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "The user doesn't have enough privileges"})
        )
    );
    // The preview mailed nothing: the next mail is the test mail sent now.
    let (status, _) = send(
        app.post("/api/v1/utils/test-email/?email_to=ops@example.com")
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        sink.next_mail().await.subject,
        format!("{PROJECT} - Test email")
    );
}

async fn the_test_email_arrives(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let admin = app.admin_token().await;
    assert_eq!(
        send(
            app.post("/api/v1/utils/test-email/?email_to=ops@example.com")
                .bearer_auth(&admin)
        )
        .await,
        (StatusCode::CREATED, json!({"message": "Test email sent"}))
    );
    let mail = sink.next_mail().await;
    assert_eq!(mail.recipients, ["ops@example.com"]);
    assert_eq!(mail.subject, format!("{PROJECT} - Test email"));
    assert!(mail.html.contains(PROJECT), "{}", mail.html);
}

async fn the_new_account_mail_arrives_and_never_holds_the_password(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let admin = app.admin_token().await;
    let password = "Initial-Secret-Pw-42";
    let (status, _) = send(app.post("/api/v1/users/").bearer_auth(&admin).json(&json!({
        "email": "newbie@example.com",
        "password": password,
        "full_name": "New Bie",
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    let mail = sink.next_mail().await;
    assert_eq!(mail.recipients, ["newbie@example.com"]);
    assert_eq!(
        mail.subject,
        format!("{PROJECT} - New account for user newbie@example.com")
    );
    assert!(
        mail.html.contains(&format!("href=\"{FRONTEND}\"")),
        "{}",
        mail.html
    );
    for body in [&mail.html, &mail.text] {
        assert!(!body.contains(password), "the password was mailed:\n{body}");
    }
}

async fn recovery_is_throttled_per_address_for_known_and_unknown_addresses_alike(backend: Backend) {
    let mut policy = policy();
    policy.throttle.recovery_ip = ThrottleRule::fixed(100, time::Duration::hours(1));
    policy.throttle.recovery_email = ThrottleRule::fixed(3, time::Duration::hours(1));
    let (app, _sink) = spawn_mailing(backend, policy).await;
    let (known, _) = app.new_user().await;
    for email in [known.email.as_str(), "nobody@example.com"] {
        for _ in 0..3 {
            assert_eq!(send(recover(&app, email)).await, recovery_sent(), "{email}");
        }
        let response = recover(&app, email).send().await.unwrap();
        let retry_after: u64 = response.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .expect("Retry-After in whole seconds");
        assert!(retry_after >= 1, "{email}");
        assert_eq!(
            status_json(response).await,
            (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"detail": "Too many login attempts. Try again later."})
            ),
            "{email}"
        );
    }
    // Keyed by the case-folded address (CONTRACT.md §9d), not by the client.
    let (status, _) = send(recover(&app, &known.email.to_uppercase())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        send(recover(&app, "someone-else@example.com")).await,
        recovery_sent()
    );
}

async fn a_token_only_in_the_query_is_missing_and_changes_nothing(backend: Backend) {
    let (app, sink) = spawn_mailing(backend, policy()).await;
    let (user, _) = app.new_user().await;
    let token = emailed_token(&app, &sink, &user.email).await;
    let in_query = format!("/api/v1/reset-password/?token={token}");
    assert_eq!(
        send(app.post(&in_query)).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}]})
        )
    );
    assert_eq!(
        send(
            app.post(&in_query)
                .json(&json!({"new_password": NEW_PASSWORD}))
        )
        .await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [{
                "type": "missing",
                "loc": ["body", "token"],
                "msg": "Field required",
                "input": {"new_password": NEW_PASSWORD},
            }]})
        )
    );
    assert!(
        logs_in(&app, &user.email, &user.password).await,
        "unchanged"
    );
    assert_eq!(
        send(reset(&app, &token, NEW_PASSWORD)).await,
        password_updated(),
        "the token was not spent"
    );
}

on_every_backend!(
    the_recovery_mail_has_the_contract_subject_and_a_frontend_host_link,
    golden_step_11_the_emailed_token_resets_once_and_ends_every_session,
    a_newer_reset_token_supersedes_the_older_one,
    an_expired_reset_token_is_invalid,
    a_password_change_voids_an_outstanding_reset_token,
    a_reset_for_a_deactivated_account_answers_inactive_user,
    known_unknown_and_inactive_addresses_get_identical_answers_and_only_the_active_one_mail,
    a_dead_or_silent_mail_server_changes_neither_the_answer_nor_its_promptness,
    the_preview_renders_the_recovery_mail_without_a_live_token,
    the_test_email_arrives,
    the_new_account_mail_arrives_and_never_holds_the_password,
    recovery_is_throttled_per_address_for_known_and_unknown_addresses_alike,
    a_token_only_in_the_query_is_missing_and_changes_nothing,
);

/// `SMTP_TLS` and `SMTP_SSL` never fall back to plain text: a server that cannot do TLS gets
/// no message (and so never a password), whatever the backend.
#[tokio::test]
async fn a_mail_server_without_tls_gets_nothing_when_tls_is_configured() {
    for security in [Security::StartTls, Security::ImplicitTls] {
        let sink = SmtpSink::start().await;
        let app = TestApp::spawn_with(
            Backend::Memory,
            Options {
                policy: policy(),
                mailer: Some(smtp_mailer_at(
                    sink.port(),
                    security,
                    Duration::from_secs(5),
                )),
                ..Options::default()
            },
        )
        .await;
        let (user, _) = app.new_user().await;
        assert_eq!(send(recover(&app, &user.email)).await, recovery_sent());
        // A plain-text fallback would deliver within this first connection.
        assert_eq!(sink.next_session().await.messages, 0, "{security:?}");
    }
}

/// RT-13: the database keeps the reset token's SHA-256 digest, never the token itself.
#[tokio::test]
async fn the_database_holds_only_the_reset_tokens_digest() {
    let (app, sink) = spawn_mailing(Backend::Sql, policy()).await;
    let (user, _) = app.new_user().await;
    let token = emailed_token(&app, &sink, &user.email).await;
    let conn = app.sql().await.expect("a SQL backend");
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT token_hash FROM gatehouse_reset_token",
        ))
        .await
        .expect("the reset tokens");
    let stored: Vec<Vec<u8>> = rows
        .iter()
        .map(|row| row.try_get("", "token_hash").expect("a digest"))
        .collect();
    assert_eq!(stored, [Sha256::digest(token.as_bytes()).to_vec()]);
}
