//! Outgoing email (CONTRACT.md §4.3, §11): on only when both `SMTP_HOST` and `EMAILS_FROM_EMAIL`
//! are set; every SMTP variable is still validated when mail is off, `SMTP_CA_FILE` included
//! (read and parsed here, so a bad file stops start-up instead of every later delivery).

use std::path::Path;

use gatehouse_domain::{Email, Secret};
use gatehouse_mail::CaBundle;

use super::parse::Bounds;
use super::raw::RawSettings;
use super::report::Report;

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
pub(super) fn settings(
    report: &mut Report,
    raw: &RawSettings,
    project_name: &str,
) -> Option<MailSettings> {
    let smtp_port = report.number(
        "SMTP_PORT",
        raw.smtp_port.as_deref(),
        587u16,
        Bounds::between(1, 65535, "a port number"),
    );
    let tls = report.boolean("SMTP_TLS", raw.smtp_tls.as_deref(), true);
    let ssl = report.boolean("SMTP_SSL", raw.smtp_ssl.as_deref(), false);
    if tls && ssl {
        report.warn(
            "SMTP_SSL",
            "is ignored while SMTP_TLS is true (STARTTLS is used); set SMTP_TLS=false for implicit TLS",
        );
    }
    let ca = raw
        .smtp_ca_file
        .as_deref()
        .and_then(|path| ca_bundle(report, Path::new(path)));
    if ca.is_some() && !tls && !ssl {
        report.warn(
            "SMTP_CA_FILE",
            "is ignored: SMTP_TLS and SMTP_SSL are both false, so the connection is not encrypted",
        );
    }
    let from_email = raw.emails_from_email.as_deref().and_then(|address| {
        Email::parse(address)
            .map_err(|e| {
                report.error(
                    "EMAILS_FROM_EMAIL",
                    format!("expected an email address: {}", e.reason()),
                );
            })
            .ok()
    });
    match (raw.smtp_host.as_deref(), raw.emails_from_email.is_some()) {
        (Some(_), false) => report.warn(
            "EMAILS_FROM_EMAIL",
            "is unset, so email stays off although SMTP_HOST is set",
        ),
        (None, true) => report.warn(
            "SMTP_HOST",
            "is unset, so email stays off although EMAILS_FROM_EMAIL is set",
        ),
        _ => {}
    }
    Some(MailSettings {
        smtp_host: raw.smtp_host.clone()?,
        smtp_port,
        security: match (tls, ssl) {
            (true, _) => SmtpSecurity::StartTls,
            (false, true) => SmtpSecurity::ImplicitTls,
            (false, false) => SmtpSecurity::Plain,
        },
        smtp_user: raw.smtp_user.clone(),
        smtp_password: raw.smtp_password.as_deref().map(Secret::new),
        ca,
        from_email: from_email?,
        from_name: raw
            .emails_from_name
            .clone()
            .unwrap_or_else(|| project_name.to_owned()),
    })
}

/// The CA certificates in the PEM file at `path`.
fn ca_bundle(report: &mut Report, path: &Path) -> Option<CaBundle> {
    let problem = match std::fs::read(path) {
        Err(e) => format!("could not read {}: {e}", path.display()),
        Ok(pem) => match CaBundle::from_pem(&pem) {
            Ok(bundle) => return Some(bundle),
            Err(e) => format!(
                "{} {e}; expected PEM CA certificates (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        },
    };
    report.error("SMTP_CA_FILE", problem);
    None
}

/// The `check-config` line of email (never the SMTP password).
pub(super) fn describe(mail: Option<&MailSettings>) -> String {
    mail.map_or("off".to_owned(), |mail| {
        format!(
            "{}:{} ({:?}, {}) from {} <{}>",
            mail.smtp_host,
            mail.smtp_port,
            mail.security,
            mail.ca.as_ref().map_or_else(
                || "system CA bundle".to_owned(),
                |ca| format!("{} CA certificates from SMTP_CA_FILE", ca.len())
            ),
            mail.from_name,
            mail.from_email
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(raw: &RawSettings) -> (Option<MailSettings>, Report) {
        let mut report = Report::new();
        (settings(&mut report, raw, "Gatehouse"), report)
    }

    #[test]
    fn mail_is_on_only_with_host_and_sender() {
        let (mail, report) = validate(&RawSettings::default());
        assert!(mail.is_none() && report.finish().unwrap().is_empty());
        let raw = RawSettings {
            smtp_host: Some("smtp.example.com".into()),
            ..RawSettings::default()
        };
        let (mail, report) = validate(&raw);
        assert!(mail.is_none());
        assert_eq!(report.finish().unwrap().len(), 1);
        let raw = RawSettings {
            smtp_host: Some("smtp.example.com".into()),
            emails_from_email: Some("noreply@example.com".into()),
            smtp_tls: Some("False".into()),
            smtp_ssl: Some("yes".into()),
            smtp_password: Some("mail-pw-123".into()),
            ..RawSettings::default()
        };
        let (mail, report) = validate(&raw);
        assert!(report.finish().unwrap().is_empty());
        let mail = mail.unwrap();
        assert_eq!(mail.security, SmtpSecurity::ImplicitTls);
        assert_eq!(mail.smtp_port, 587);
        assert_eq!(mail.from_name, "Gatehouse");
        assert!(!format!("{mail:?}").contains("mail-pw-123"));
    }

    #[test]
    fn malformed_values_fail_even_with_mail_off() {
        let raw = RawSettings {
            smtp_port: Some("smtp".into()),
            smtp_tls: Some("perhaps".into()),
            emails_from_email: Some("not-an-address".into()),
            ..RawSettings::default()
        };
        let errors = validate(&raw).1.finish().unwrap_err();
        for variable in ["SMTP_PORT", "SMTP_TLS", "EMAILS_FROM_EMAIL"] {
            assert!(errors.names(variable), "{variable}");
        }
    }

    #[test]
    fn an_unreadable_or_certificate_less_ca_file_is_refused_even_with_mail_off() {
        let not_pem =
            std::env::temp_dir().join(format!("gatehouse-smtp-ca-{}.pem", std::process::id()));
        std::fs::write(&not_pem, "not a certificate").unwrap();
        for path in [not_pem.clone(), "/nonexistent/ca.pem".into()] {
            let raw = RawSettings {
                smtp_ca_file: Some(path.display().to_string()),
                ..RawSettings::default()
            };
            let errors = validate(&raw).1.finish().unwrap_err();
            assert!(errors.names("SMTP_CA_FILE"), "{}", path.display());
        }
        std::fs::remove_file(not_pem).unwrap();
    }
}
