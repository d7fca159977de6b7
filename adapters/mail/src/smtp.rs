//! The SMTP transport: lettre on tokio with rustls (ring, bundled web PKI roots). `SMTP_TLS`
//! means STARTTLS that must succeed (a server that does not offer it gets nothing, not even
//! the credentials), `SMTP_SSL` implicit TLS; with neither the connection is plain.

use gatehouse_domain::{Email, Secret, error_chain, ports::OutgoingEmail};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    address::AddressError,
    message::Mailbox,
    transport::smtp::{self, authentication::Credentials},
};

use crate::{
    message,
    queue::{self, Delivery, Failure, MailWorker, QueuedMailer, Transport},
};

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS; refused when the server cannot upgrade.
    StartTls,
    /// TLS from the first byte (SMTPS).
    ImplicitTls,
    /// No encryption: only for a relay on the same host or a test sink.
    Plain,
}

/// `SMTP_USER` and `SMTP_PASSWORD`.
#[derive(Clone, Debug)]
pub struct SmtpCredentials {
    pub user: String,
    pub password: Secret,
}

/// Where and as whom mail is sent.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<SmtpCredentials>,
    /// `EMAILS_FROM_EMAIL`.
    pub from_email: Email,
    /// `EMAILS_FROM_NAME`.
    pub from_name: String,
}

/// Why the SMTP mailer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("SMTP_HOST cannot be checked against a TLS certificate")]
    TlsName(#[source] smtp::Error),
    #[error("EMAILS_FROM_EMAIL cannot be used as an SMTP sender")]
    Sender(#[source] AddressError),
}

/// Starts the queue in front of the SMTP server on the current Tokio runtime: the mailer for
/// the use cases and the worker handle for shutdown.
///
/// # Errors
/// [`SmtpSetupError`] when the host name or the sender cannot be used.
///
/// # Panics
/// Outside a Tokio runtime.
pub fn smtp_mailer(
    config: SmtpConfig,
    delivery: Delivery,
) -> Result<(QueuedMailer, MailWorker), SmtpSetupError> {
    let transport = SmtpTransport::new(config, &delivery)?;
    Ok(queue::start(transport, delivery))
}

/// lettre's client plus the sender every message carries.
struct SmtpTransport {
    client: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpTransport {
    fn new(config: SmtpConfig, delivery: &Delivery) -> Result<Self, SmtpSetupError> {
        let host = config.host.as_str();
        let builder = match config.security {
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(SmtpSetupError::TlsName)?,
            Security::ImplicitTls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(SmtpSetupError::TlsName)?,
            Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let builder = builder.port(config.port).timeout(Some(delivery.timeout));
        let builder = match config.credentials {
            Some(SmtpCredentials { user, password }) => {
                builder.credentials(Credentials::new(user, password.expose().to_owned()))
            }
            None => builder,
        };
        let sender = config
            .from_email
            .as_str()
            .parse()
            .map_err(SmtpSetupError::Sender)?;
        Ok(Self {
            client: builder.build(),
            from: Mailbox::new(Some(config.from_name), sender),
        })
    }
}

impl Transport for SmtpTransport {
    async fn deliver(&self, email: &OutgoingEmail) -> Result<(), Failure> {
        let message = message::build(&self.from, email).map_err(|e| Failure {
            retry: false,
            reason: error_chain(&e),
        })?;
        self.client
            .send(message)
            .await
            .map(drop)
            .map_err(|e| Failure {
                // A 5xx answer or a message lettre refuses will be refused again.
                retry: !(e.is_permanent() || e.is_client()),
                reason: error_chain(&e),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(security: Security, host: &str) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: 2525,
            security,
            credentials: Some(SmtpCredentials {
                user: "mailer".into(),
                password: Secret::new("smtp-pw-123"),
            }),
            from_email: Email::unchecked("noreply@example.com"),
            from_name: "Gatehouse".into(),
        }
    }

    #[tokio::test]
    async fn every_security_mode_starts_with_a_host_name() {
        for security in [Security::StartTls, Security::ImplicitTls, Security::Plain] {
            let (_mailer, worker) =
                smtp_mailer(config(security, "smtp.example.com"), Delivery::default())
                    .unwrap_or_else(|e| panic!("{security:?}: {e}"));
            worker.drain(std::time::Duration::from_secs(1)).await;
        }
    }

    #[tokio::test]
    async fn a_sender_smtp_cannot_carry_stops_start_up() {
        let mut bad = config(Security::Plain, "smtp.example.com");
        bad.from_email = Email::unchecked("no sender");
        assert!(matches!(
            smtp_mailer(bad, Delivery::default()),
            Err(SmtpSetupError::Sender(_))
        ));
    }

    #[test]
    fn the_smtp_password_never_shows_in_debug_output() {
        let shown = format!("{:?}", config(Security::StartTls, "smtp.example.com"));
        assert!(!shown.contains("smtp-pw-123"), "{shown}");
    }
}
