//! Gatehouse's outgoing email: the [`Mailer`](gatehouse_domain::ports::Mailer) port over SMTP
//! (lettre on tokio and rustls; no OpenSSL) behind a bounded background queue, and a log-only
//! stand-in for deployments without email.
//!
//! Nothing here knows about HTTP, storage, the use cases or where configuration comes from: the
//! composition root builds an [`SmtpConfig`] and a [`Delivery`], starts the queue with
//! [`smtp_mailer`] and keeps the [`MailWorker`] to let queued mail out at shutdown.

mod log;
mod message;
mod queue;
mod smtp;
mod tls;

pub use log::LogMailer;
pub use queue::{Delivery, MailWorker, QueueDepth, QueuedMailer};
pub use smtp::{Security, SmtpConfig, SmtpCredentials, SmtpSetupError, smtp_mailer};
pub use tls::{CaBundle, CaBundleError};
