//! Mail as deployments send it (issue 12 item 8): the real `gatehouse serve` process with the
//! template's production mail settings (STARTTLS or implicit TLS, `SMTP_USER`/`SMTP_PASSWORD`,
//! `SMTP_CA_FILE` for a private relay) against the tests' SMTP sink speaking TLS under a CA made
//! at test time. Both sides are checked: what the sink received, and what the process logged.
//! A good relay gets the mail over an authenticated TLS session; one whose certificate is
//! untrusted or names another host gets nothing at all (no AUTH, no mail); a refused login is one
//! log line and no retry; the password never reaches the log.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use gatehouse_tests::{
    process::ServedBinary,
    smtp::{Session, SinkLogin, SinkOptions, SinkTls, SmtpSink},
    tls::TestCa,
};
use reqwest::{Client, StatusCode};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");
const USER: &str = "mailer@example.com";
const PASSWORD: &str = "relay-pass-31337";
/// The development superuser whose recovery mail each test asks for.
const RECIPIENT: &str = "admin@example.com";
/// The name Gatehouse connects to (`SMTP_HOST`).
const HOST: &str = "localhost";

/// A sink with `tls` that accepts [`USER`]/[`PASSWORD`] through `mechanisms`.
async fn relay(tls: SinkTls, mechanisms: &[&'static str]) -> SmtpSink {
    SmtpSink::start_with(SinkOptions {
        tls,
        login: Some(SinkLogin {
            user: USER.to_owned(),
            password: PASSWORD.to_owned(),
            mechanisms: mechanisms.to_vec(),
        }),
    })
    .await
}

/// `gatehouse serve` mailing to `sink` at `localhost` as [`USER`], with `extra` on top (a later
/// entry replaces an earlier one).
async fn serve_mailing_to(sink: &SmtpSink, extra: &[(&str, &str)]) -> ServedBinary {
    let port = sink.port().to_string();
    let mut vars = vec![
        ("SMTP_HOST", HOST),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_USER", USER),
        ("SMTP_PASSWORD", PASSWORD),
        ("EMAILS_FROM_EMAIL", "noreply@example.com"),
    ];
    for change in extra {
        vars.retain(|(name, _)| *name != change.0);
        vars.push(*change);
    }
    let server = ServedBinary::start(BINARY, &vars);
    server.wait_ready().await;
    server
}

fn ca_file(ca: &TestCa) -> &str {
    ca.pem_file().to_str().expect("a UTF-8 temp path")
}

/// The log's delivery lines: `email_sent` and `email_delivery_failed`, parsed.
fn deliveries(server: &ServedBinary) -> Vec<Value> {
    server
        .log()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| {
            matches!(
                line["event"].as_str(),
                Some("email_sent" | "email_delivery_failed")
            )
        })
        .collect()
}

/// Asks for [`RECIPIENT`]'s recovery mail and returns the first delivery line it leads to. That
/// line settles whether a retry follows: a failed try that will be retried logs "retrying".
async fn recover_and_await_the_outcome(server: &ServedBinary) -> Value {
    let response = Client::new()
        .post(format!(
            "{}/api/v1/password-recovery/{RECIPIENT}",
            server.base()
        ))
        .send()
        .await
        .expect("recovery request");
    assert_eq!(response.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(first) = deliveries(server).into_iter().next() {
            return first;
        }
        assert!(
            Instant::now() < deadline,
            "no delivery outcome logged:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Neither the password nor the AUTH PLAIN token carrying it is in the log.
fn assert_no_password(server: &ServedBinary, password: &str) {
    let log = server.log();
    let plain_token = STANDARD.encode(format!("\0{USER}\0{password}"));
    for secret in [password.to_owned(), plain_token, STANDARD.encode(password)] {
        assert!(!log.contains(&secret), "{secret} reached the log:\n{log}");
    }
}

/// The session delivered over TLS after logging in, and never sent AUTH in clear.
fn assert_delivered_over_authenticated_tls(session: &Session) {
    assert_eq!(session.messages, 1, "{session:?}");
    assert!(session.encrypted, "{session:?}");
    assert_eq!(session.authenticated.as_deref(), Some(USER), "{session:?}");
    assert!(
        session
            .commands
            .iter()
            .filter(|command| command.verb == "AUTH" || command.verb == "MAIL")
            .all(|command| command.encrypted),
        "credentials or mail in clear: {session:?}"
    );
}

/// The one line a refused delivery logs: an error naming `cause`, for the first and only try.
fn assert_final_failure(outcome: &Value, cause: &str, hint: &str) {
    assert_eq!(outcome["event"], "email_delivery_failed", "{outcome}");
    assert_eq!(outcome["level"], "ERROR", "{outcome}");
    assert_eq!(outcome["cause"], cause, "{outcome}");
    assert_eq!(outcome["attempt"], 1, "retried: {outcome}");
    assert_eq!(
        outcome["message"], "email delivery failed; message dropped",
        "{outcome}"
    );
    assert_eq!(outcome["to"], RECIPIENT, "{outcome}");
    let error = outcome["error"].as_str().unwrap_or_default();
    assert!(error.contains(hint), "{hint} not in {error}");
}

/// Nothing reached the sink past the greeting and, for STARTTLS, the upgrade request.
fn assert_nothing_sent(session: &Session) {
    assert_eq!(session.messages, 0, "{session:?}");
    assert!(!session.encrypted, "{session:?}");
    assert!(
        session
            .verbs()
            .iter()
            .all(|verb| ["EHLO", "STARTTLS"].contains(verb)),
        "sent more than EHLO/STARTTLS: {session:?}"
    );
}

/// `gatehouse serve` with `security` and `SMTP_CA_FILE` naming `ca` gets a recovery mail to
/// `sink` over an authenticated TLS session whose commands open with `opening`.
async fn assert_delivers(
    sink: &SmtpSink,
    ca: &TestCa,
    security: [(&str, &str); 2],
    opening: &[&str],
) {
    let mut vars = security.to_vec();
    vars.push(("SMTP_CA_FILE", ca_file(ca)));
    let server = serve_mailing_to(sink, &vars).await;

    let outcome = recover_and_await_the_outcome(&server).await;
    assert_eq!(outcome["event"], "email_sent", "{outcome}");
    assert_eq!(sink.next_mail().await.recipients, [RECIPIENT]);
    let session = sink.next_session().await;
    assert_eq!(session.verbs()[..opening.len()], *opening, "{session:?}");
    assert_delivered_over_authenticated_tls(&session);
    assert_no_password(&server, PASSWORD);
}

#[tokio::test]
async fn starttls_with_a_login_delivers_under_a_private_ca() {
    let ca = TestCa::new("Relay CA");
    let sink = relay(SinkTls::StartTls(ca.server(&[HOST])), &["PLAIN", "LOGIN"]).await;
    // The template's production settings, plus the relay's CA.
    assert_delivers(
        &sink,
        &ca,
        [("SMTP_TLS", "true"), ("SMTP_SSL", "false")],
        &["EHLO", "STARTTLS", "EHLO", "AUTH"],
    )
    .await;
}

#[tokio::test]
async fn implicit_tls_with_a_login_delivers() {
    let ca = TestCa::new("Relay CA");
    // LOGIN only, so the mechanism the STARTTLS test did not use is exercised too.
    let sink = relay(SinkTls::Implicit(ca.server(&[HOST])), &["LOGIN"]).await;
    assert_delivers(
        &sink,
        &ca,
        [("SMTP_TLS", "false"), ("SMTP_SSL", "true")],
        &["EHLO", "AUTH"],
    )
    .await;
}

/// What `SMTP_CA_FILE` says is trusted, for the refusal cases.
enum Trust {
    /// Unset: the system CA bundle, which knows no test CA.
    WebPki,
    /// A CA other than the one that signed the relay's certificate.
    OtherCa,
}

#[tokio::test]
async fn an_untrusted_certificate_gets_nothing_not_even_the_login() {
    let relay_ca = TestCa::new("Relay CA");
    let other_ca = TestCa::new("Somebody else's CA");
    for trust in [Trust::WebPki, Trust::OtherCa] {
        for implicit in [false, true] {
            let certificate = relay_ca.server(&[HOST]);
            let (tls, vars) = if implicit {
                (
                    SinkTls::Implicit(certificate),
                    vec![("SMTP_TLS", "false"), ("SMTP_SSL", "true")],
                )
            } else {
                (SinkTls::StartTls(certificate), vec![("SMTP_TLS", "true")])
            };
            let mut vars = vars;
            if matches!(trust, Trust::OtherCa) {
                vars.push(("SMTP_CA_FILE", ca_file(&other_ca)));
            }
            let sink = relay(tls, &["PLAIN", "LOGIN"]).await;
            let server = serve_mailing_to(&sink, &vars).await;

            let outcome = recover_and_await_the_outcome(&server).await;
            assert_final_failure(&outcome, "tls_certificate_refused", "SMTP_CA_FILE");
            assert_eq!(deliveries(&server).len(), 1, "one line:\n{}", server.log());
            assert_nothing_sent(&sink.next_session().await);
            assert_no_password(&server, PASSWORD);
        }
    }
}

#[tokio::test]
async fn a_certificate_for_another_host_gets_nothing() {
    let ca = TestCa::new("Relay CA");
    for implicit in [false, true] {
        // Signed by the trusted CA, but for a name other than SMTP_HOST.
        let certificate = ca.server(&["smtp.elsewhere.test"]);
        let (tls, security) = if implicit {
            (SinkTls::Implicit(certificate), ("SMTP_SSL", "true"))
        } else {
            (SinkTls::StartTls(certificate), ("SMTP_SSL", "false"))
        };
        let sink = relay(tls, &["PLAIN"]).await;
        let server = serve_mailing_to(
            &sink,
            &[
                ("SMTP_TLS", if implicit { "false" } else { "true" }),
                security,
                ("SMTP_CA_FILE", ca_file(&ca)),
            ],
        )
        .await;

        let outcome = recover_and_await_the_outcome(&server).await;
        assert_final_failure(
            &outcome,
            "tls_certificate_refused",
            "certificate not valid for name \"localhost\"",
        );
        assert_eq!(deliveries(&server).len(), 1, "one line:\n{}", server.log());
        assert_nothing_sent(&sink.next_session().await);
    }
}

#[tokio::test]
async fn a_wrong_password_is_one_log_line_and_never_retried() {
    let ca = TestCa::new("Relay CA");
    let sink = relay(SinkTls::StartTls(ca.server(&[HOST])), &["PLAIN", "LOGIN"]).await;
    let wrong = "not-the-relay-pass-27182";
    let server = serve_mailing_to(
        &sink,
        &[("SMTP_PASSWORD", wrong), ("SMTP_CA_FILE", ca_file(&ca))],
    )
    .await;

    let outcome = recover_and_await_the_outcome(&server).await;
    assert_final_failure(&outcome, "smtp_login_refused", "SMTP_USER");
    assert_eq!(deliveries(&server).len(), 1, "one line:\n{}", server.log());
    let session = sink.next_session().await;
    assert_eq!(session.authenticated, None, "{session:?}");
    assert_eq!(
        session
            .verbs()
            .iter()
            .filter(|verb| **verb == "AUTH")
            .count(),
        1,
        "{session:?}"
    );
    assert!(!session.received("MAIL"), "{session:?}");
    assert!(
        session
            .commands
            .iter()
            .all(|command| command.encrypted || command.verb != "AUTH"),
        "{session:?}"
    );
    assert_no_password(&server, wrong);
}
