//! Outgoing email (CONTRACT.md §4.3, §11): on only when both `SMTP_HOST` and `EMAILS_FROM_EMAIL`
//! are set; every SMTP variable is still validated when mail is off, `SMTP_CA_FILE` included
//! (read and parsed here, so a bad file stops start-up instead of every later delivery).

use gatehouse_domain::{Email, Secret};
use gatehouse_mail::CaBundle;

use super::vars::Vars;

/// How the SMTP connection is protected: `SMTP_TLS` (STARTTLS) wins over `SMTP_SSL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    ImplicitTls,
    Plain,
}

/// Everything the SMTP mailer needs.
#[derive(Clone, Debug)]
pub struct MailSettings {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub security: SmtpSecurity,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<Secret>,
    /// `SMTP_CA_FILE`'s certificates: the only CAs the server's certificate may chain to.
    pub ca: Option<CaBundle>,
    pub from_email: Email,
    /// `EMAILS_FROM_NAME`, defaulting to `PROJECT_NAME`.
    pub from_name: String,
}

/// `None` when mail is off (the log mailer stands in).
pub(super) fn settings(v: &mut Vars<'_>, project_name: &str) -> Option<MailSettings> {
    let smtp_port = v.number("SMTP_PORT", 587u16, 1..=65535, "a port number");
    let tls = v.boolean("SMTP_TLS", true);
    let ssl = v.boolean("SMTP_SSL", false);
    if tls && ssl {
        v.warn(
            "SMTP_SSL",
            "is ignored while SMTP_TLS is true (STARTTLS is used); set SMTP_TLS=false for implicit TLS",
        );
    }
    let ca = v.get("SMTP_CA_FILE").and_then(|path| ca_bundle(v, path));
    if ca.is_some() && !tls && !ssl {
        v.warn(
            "SMTP_CA_FILE",
            "is ignored: SMTP_TLS and SMTP_SSL are both false, so the connection is not encrypted",
        );
    }
    let from_email = v.get("EMAILS_FROM_EMAIL").and_then(|address| {
        let parsed = Email::parse(address).map_err(|e| {
            v.error(
                "EMAILS_FROM_EMAIL",
                format!("expected an email address: {}", e.reason()),
            );
        });
        parsed.ok()
    });
    match (v.get("SMTP_HOST"), v.get("EMAILS_FROM_EMAIL")) {
        (Some(_), None) => v.warn(
            "EMAILS_FROM_EMAIL",
            "is unset, so email stays off although SMTP_HOST is set",
        ),
        (None, Some(_)) => v.warn(
            "SMTP_HOST",
            "is unset, so email stays off although EMAILS_FROM_EMAIL is set",
        ),
        _ => {}
    }
    Some(MailSettings {
        smtp_host: v.get("SMTP_HOST")?.to_owned(),
        smtp_port,
        security: match (tls, ssl) {
            (true, _) => SmtpSecurity::StartTls,
            (false, true) => SmtpSecurity::ImplicitTls,
            (false, false) => SmtpSecurity::Plain,
        },
        smtp_user: v.get("SMTP_USER").map(str::to_owned),
        smtp_password: v.get("SMTP_PASSWORD").map(Secret::new),
        ca,
        from_email: from_email?,
        from_name: v.get("EMAILS_FROM_NAME").unwrap_or(project_name).to_owned(),
    })
}

/// The CA certificates in the PEM file at `path`.
fn ca_bundle(v: &mut Vars<'_>, path: &str) -> Option<CaBundle> {
    let problem = match std::fs::read(path) {
        Err(e) => format!("could not read {path}: {e}"),
        Ok(pem) => match CaBundle::from_pem(&pem) {
            Ok(bundle) => return Some(bundle),
            Err(e) => {
                format!("{path} {e}; expected PEM CA certificates (-----BEGIN CERTIFICATE-----)")
            }
        },
    };
    v.error("SMTP_CA_FILE", problem);
    None
}

/// The `check-config` line of email (never the SMTP password).
pub(super) fn describe(mail: Option<&MailSettings>) -> String {
    mail.map_or("off".to_owned(), |mail| {
        let ca = mail
            .ca
            .as_ref()
            .map(|ca| format!("{} CA certificates from SMTP_CA_FILE", ca.len()));
        format!(
            "{}:{} ({:?}, {}) from {} <{}>",
            mail.smtp_host,
            mail.smtp_port,
            mail.security,
            ca.unwrap_or_else(|| "system CA bundle".to_owned()),
            mail.from_name,
            mail.from_email
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::vars::testing::{Checked, check};
    use super::*;

    fn validate(pairs: &[(&str, &str)]) -> Checked<Option<MailSettings>> {
        check(true, pairs, |v| settings(v, "Gatehouse"))
    }

    #[test]
    fn mail_is_on_only_with_host_and_sender() {
        let (mail, result) = validate(&[]);
        assert!(mail.is_none() && result.unwrap().is_empty());
        let (mail, result) = validate(&[("SMTP_HOST", "smtp.example.com")]);
        assert!(mail.is_none());
        assert_eq!(result.unwrap().len(), 1);
        let (mail, result) = validate(&[
            ("SMTP_HOST", "smtp.example.com"),
            ("EMAILS_FROM_EMAIL", "noreply@example.com"),
            ("SMTP_TLS", "False"),
            ("SMTP_SSL", "yes"),
            ("SMTP_PASSWORD", "mail-pw-123"),
        ]);
        assert!(result.unwrap().is_empty());
        let mail = mail.unwrap();
        assert_eq!(mail.security, SmtpSecurity::ImplicitTls);
        assert_eq!(mail.smtp_port, 587);
        assert_eq!(mail.from_name, "Gatehouse");
        assert!(!format!("{mail:?}").contains("mail-pw-123"));
    }

    #[test]
    fn an_unreadable_or_certificate_less_ca_file_is_refused_even_with_mail_off() {
        let not_pem =
            std::env::temp_dir().join(format!("gatehouse-smtp-ca-{}.pem", std::process::id()));
        std::fs::write(&not_pem, "not a certificate").unwrap();
        for path in [not_pem.display().to_string(), "/nonexistent/ca.pem".into()] {
            let errors = validate(&[("SMTP_CA_FILE", &path)]).1.unwrap_err();
            assert!(errors.names("SMTP_CA_FILE"), "{path}");
        }
        std::fs::remove_file(not_pem).unwrap();
    }
}
