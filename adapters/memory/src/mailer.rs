//! A `Mailer` that keeps every message instead of sending it, so tests can read the
//! reset link or assert that nothing was sent.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use gatehouse_domain::ports::{Mailer, OutgoingEmail};

/// Records sent messages; `is_enabled` is fixed at construction.
#[derive(Debug)]
pub struct RecordingMailer {
    enabled: bool,
    sent: Mutex<Vec<OutgoingEmail>>,
}

impl RecordingMailer {
    /// A mailer that reports email as configured.
    pub fn new() -> Self {
        Self::with_enabled(true)
    }

    /// A mailer that reports email as not configured (CONTRACT.md §4.3); anything still
    /// sent through it is recorded, so a test can prove nothing was.
    pub fn disabled() -> Self {
        Self::with_enabled(false)
    }

    fn with_enabled(enabled: bool) -> Self {
        Self {
            enabled,
            sent: Mutex::default(),
        }
    }

    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Default for RecordingMailer {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    fn is_enabled(&self) -> bool {
        self.enabled
    }

    async fn send(&self, email: OutgoingEmail) {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::Email;

    fn message(subject: &str) -> OutgoingEmail {
        OutgoingEmail {
            to: Email::unchecked("alice@example.com"),
            subject: subject.to_owned(),
            html: String::new(),
            text: String::new(),
        }
    }

    #[tokio::test]
    async fn messages_are_kept_in_order_even_when_mail_is_disabled() {
        let mailer = RecordingMailer::disabled();

        mailer.send(message("first")).await;
        mailer.send(message("second")).await;

        assert!(!mailer.is_enabled());
        assert_eq!(mailer.sent(), [message("first"), message("second")]);
        assert!(RecordingMailer::new().is_enabled());
    }
}
