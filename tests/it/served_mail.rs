//! Email through the real `gatehouse serve` process: the SMTP settings, `FRONTEND_HOST` and
//! `PROJECT_NAME` travel from the environment through the composition root into the mail that
//! arrives at an SMTP sink (CONTRACT.md §4.3, §11; SECURITY.md RT-14); mail still in flight at
//! SIGTERM goes out before the process exits; without `SMTP_HOST` email counts as off.

use std::time::{Duration, Instant};

use gatehouse_tests::{app::send, process::ServedBinary, smtp::SmtpSink};
use reqwest::{Client, StatusCode};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");

/// `gatehouse serve` sending mail to `sink` as `noreply@example.com`, with the `extra`
/// variables, once it is ready.
async fn serve_mailing_to(sink: &SmtpSink, extra: &[(&str, &str)]) -> ServedBinary {
    let smtp_port = sink.port().to_string();
    let mut vars = vec![
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", smtp_port.as_str()),
        ("SMTP_TLS", "false"),
        ("EMAILS_FROM_EMAIL", "noreply@example.com"),
    ];
    vars.extend_from_slice(extra);
    let server = ServedBinary::start(BINARY, &vars);
    server.wait_ready().await;
    server
}

/// Signs up `dave@example.com`, the user whose password the mail tests recover.
async fn sign_up_dave(client: &Client, base: &str) {
    let (status, _) = send(
        client
            .post(format!("{base}/api/v1/users/signup"))
            .json(&json!({"email": "dave@example.com", "password": "dave-password-1"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn recovery_mail_takes_its_sender_link_and_subject_from_the_environment() {
    let sink = SmtpSink::start().await;
    let server = serve_mailing_to(
        &sink,
        &[
            ("FRONTEND_HOST", "https://app.example.com/"),
            ("PROJECT_NAME", "Acme Portal"),
            ("EMAILS_FROM_NAME", "Acme Mailer"),
        ],
    )
    .await;
    let (base, client) = (server.base(), Client::new());
    sign_up_dave(&client, &base).await;

    let (status, _) = send(
        client
            .post(format!("{base}/api/v1/password-recovery/dave@example.com"))
            .header("x-forwarded-host", "evil.example"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mail = sink.next_mail().await;
    assert_eq!(mail.recipients, ["dave@example.com"]);
    assert_eq!(mail.envelope_from, "noreply@example.com");
    assert_eq!(mail.from, "Acme Mailer <noreply@example.com>");
    assert_eq!(
        mail.subject,
        "Acme Portal - Password recovery for user dave@example.com"
    );
    let token = mail.reset_token("https://app.example.com");

    assert_eq!(
        send(
            client
                .post(format!("{base}/api/v1/reset-password/"))
                .json(&json!({"token": token, "new_password": "dave-password-2"}))
        )
        .await,
        (
            StatusCode::OK,
            json!({"message": "Password updated successfully"})
        )
    );
    let log = server.log();
    assert!(log.contains("email_sent"), "{log}");
    assert!(!log.contains(&token), "the reset token reached the log");
}

#[tokio::test]
async fn sigterm_lets_the_mail_in_flight_out_before_the_process_exits() {
    let sink = SmtpSink::start_holding().await;
    let mut server = serve_mailing_to(&sink, &[]).await;
    let (base, client) = (server.base(), Client::new());
    sign_up_dave(&client, &base).await;
    let (status, _) =
        send(client.post(format!("{base}/api/v1/password-recovery/dave@example.com"))).await;
    assert_eq!(status, StatusCode::OK);
    // The sink has the message but holds its confirmation: the delivery is in flight.
    assert_eq!(sink.next_mail().await.recipients, ["dave@example.com"]);

    server.terminate();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("letting queued mail out") {
        assert!(
            Instant::now() < deadline,
            "no mail drain after SIGTERM:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !server.log().contains("\"stopped\""),
        "stopped with mail in flight"
    );
    sink.release();
    // Off this thread, so the sink can confirm while the test waits.
    let (status, log) = tokio::task::spawn_blocking(move || (server.wait_exit(), server.log()))
        .await
        .expect("waiting for the exit");
    assert!(status.success(), "{log}");
    let sent = log.find("email_sent").expect("the delivery was cut short");
    assert!(
        sent < log.find("\"stopped\"").expect("a clean stop"),
        "{log}"
    );
}

#[tokio::test]
async fn without_smtp_host_email_is_off_and_recovery_still_answers() {
    let server = ServedBinary::start(BINARY, &[("EMAILS_FROM_EMAIL", "noreply@example.com")]);
    server.wait_ready().await;
    let (base, client) = (server.base(), Client::new());
    // Development seeds the template's superuser when FIRST_SUPERUSER is unset.
    let (status, tokens) = send(server.login(&client, "admin@example.com", "changethis")).await;
    assert_eq!(status, StatusCode::OK);
    let admin = tokens["access_token"].as_str().expect("an access token");

    assert_eq!(
        send(
            client
                .post(format!(
                    "{base}/api/v1/utils/test-email/?email_to=ops@example.com"
                ))
                .bearer_auth(admin)
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Email is not configured"})
        )
    );
    assert_eq!(
        send(client.post(format!("{base}/api/v1/password-recovery/admin@example.com"))).await,
        (
            StatusCode::OK,
            json!({"message": "If that email is registered, we sent a password recovery link"})
        )
    );
}
