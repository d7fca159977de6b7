//! The SMTP transport: lettre on tokio with rustls (ring). `SMTP_TLS` means STARTTLS that must
//! succeed (a server that does not offer it gets nothing, not even the credentials), `SMTP_SSL`
//! implicit TLS; with neither the connection is plain. The server's certificate must name
//! `SMTP_HOST` and chain to the system CA bundle, or to `SMTP_CA_FILE`'s CAs when set.
//!
//! A failed try is retried only when a later one may succeed: a refused certificate, a TLS
//! handshake the two sides cannot agree on and a refused login are final (retrying a login the
//! server refused can get the account locked at the provider), as are 5xx answers.

use gatehouse_domain::{Email, Secret, error_chain, ports::OutgoingEmail};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    address::AddressError,
    message::Mailbox,
    transport::smtp::{self, authentication::Credentials, client::Tls},
};

use crate::{
    message,
    queue::{self, Delivery, Failure, MailWorker, QueuedMailer, Transport},
    tls::{self, CaBundle},
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
    /// `SMTP_CA_FILE`: the only CAs trusted for the server's certificate; `None` trusts the
    /// system CA bundle.
    pub ca: Option<CaBundle>,
    pub credentials: Option<SmtpCredentials>,
    /// `EMAILS_FROM_EMAIL`.
    pub from_email: Email,
    /// `EMAILS_FROM_NAME`.
    pub from_name: String,
}

/// Why the SMTP mailer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("cannot set up TLS for SMTP_HOST")]
    Tls(#[source] smtp::Error),
    #[error("EMAILS_FROM_EMAIL cannot be used as an SMTP sender")]
    Sender(#[source] AddressError),
}

/// Starts the queue in front of the SMTP server on the current Tokio runtime: the mailer for
/// the use cases and the worker handle for shutdown.
///
/// # Errors
/// [`SmtpSetupError`] when TLS cannot be set up for the host or the sender cannot be used.
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
        let protected = |wrap: fn(_) -> Tls| {
            tls::parameters(host, config.ca.as_ref())
                .map(wrap)
                .map_err(SmtpSetupError::Tls)
        };
        let tls = match config.security {
            Security::StartTls => protected(Tls::Required)?,
            Security::ImplicitTls => protected(Tls::Wrapper)?,
            Security::Plain => Tls::None,
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(delivery.timeout));
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

/// Answers that refuse the login (RFC 4954 §6: 530 authentication required, 534 mechanism too
/// weak, 535 credentials invalid, 538 encryption required; 454 temporary failure, also final here
/// so a wrong password is never tried again).
const LOGIN_REFUSED: &[u16] = &[454, 530, 534, 535, 538];

/// What the queue needs to know of a failed try: whether to try again, and what to log.
fn failure(e: &smtp::Error) -> Failure {
    if let Some(refusal) = tls::refusal(e) {
        let (cause, hint) = match refusal {
            rustls::Error::InvalidCertificate(_) => (
                "tls_certificate_refused",
                "the mail server's TLS certificate was refused (it must name SMTP_HOST and chain to a trusted CA; set SMTP_CA_FILE for a private CA); nothing was sent",
            ),
            _ => (
                "tls_handshake_failed",
                "the TLS handshake with the mail server failed; nothing was sent",
            ),
        };
        // The TLS library's own words say it best; lettre's wrapping repeats them.
        return Failure {
            retry: false,
            cause,
            reason: format!("{hint}: {refusal}"),
        };
    }
    let code = e.status().map(u16::from);
    if code.is_some_and(|code| LOGIN_REFUSED.contains(&code)) {
        return Failure {
            retry: false,
            cause: "smtp_login_refused",
            reason: format!(
                "the mail server refused the login of SMTP_USER with SMTP_PASSWORD; not retried: {e}"
            ),
        };
    }
    // A 5xx answer or a message lettre refuses will be refused again.
    let permanent = e.is_permanent() || e.is_client();
    Failure {
        retry: !permanent,
        cause: if permanent { "refused" } else { "unavailable" },
        reason: error_chain(e),
    }
}

impl Transport for SmtpTransport {
    async fn deliver(&self, email: &OutgoingEmail) -> Result<(), Failure> {
        let message = message::build(&self.from, email).map_err(|e| Failure {
            retry: false,
            cause: "unbuildable",
            reason: error_chain(&e),
        })?;
        self.client
            .send(message)
            .await
            .map(drop)
            .map_err(|e| failure(&e))
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
            ca: None,
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
