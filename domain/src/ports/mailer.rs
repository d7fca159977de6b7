//! `Mailer`: handing rendered email over for delivery off the request path.

use async_trait::async_trait;

use crate::Email;

/// A rendered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: Email,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Sends email.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Whether email is configured at all (CONTRACT.md §4.3).
    fn is_enabled(&self) -> bool;

    /// Hands the message over for delivery. MUST return promptly whatever the state of the
    /// mail server: delivery happens off the request path, and its failures are logged,
    /// never reported here.
    async fn send(&self, email: OutgoingEmail);
}
