//! The stand-in while email is off (no `SMTP_HOST` or no `EMAILS_FROM_EMAIL`, CONTRACT.md §4.3).
//!
//! It reports email as not configured, so the contract's answers for such a deployment hold:
//! route 21 answers 400 `Email is not configured`, recovery answers the same 200 and sends
//! nothing, admin-create sends no welcome. Anything still handed to it is logged by recipient
//! and subject only: bodies carry reset links and are never logged.

use async_trait::async_trait;
use gatehouse_domain::ports::{Mailer, OutgoingEmail};

/// Logs instead of sending; email counts as off.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    fn is_enabled(&self) -> bool {
        false
    }

    async fn send(&self, email: OutgoingEmail) {
        tracing::info!(
            event = "email_not_sent",
            to = %email.to,
            subject = %email.subject,
            "email is not configured; message logged, not sent"
        );
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::Email;

    use super::*;
    use crate::queue::tests::captured_logs;

    #[tokio::test]
    async fn reports_email_off_and_logs_no_body() {
        assert!(!LogMailer.is_enabled());
        let logs = captured_logs(async {
            LogMailer
                .send(OutgoingEmail {
                    to: Email::unchecked("dave@example.com"),
                    subject: "Gatehouse - Password recovery for user dave@example.com".into(),
                    html: "<a href=\"http://x/reset-password?token=html-secret\">".into(),
                    text: "http://x/reset-password?token=text-secret".into(),
                })
                .await;
        })
        .await;
        assert!(logs.contains("dave@example.com"), "{logs}");
        assert!(logs.contains("Password recovery"), "{logs}");
        assert!(!logs.contains("secret"), "a body reached the log: {logs}");
    }
}
