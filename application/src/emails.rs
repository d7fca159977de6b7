//! The messages Gatehouse sends (CONTRACT.md §4.3), rendered from the templates in
//! `application/templates/`. Links are built from `FRONTEND_HOST`, never from request
//! headers (RT-14); the new-account mail never holds a password (§9g).

use std::sync::LazyLock;

use gatehouse_domain::{Email, Infra, ports::OutgoingEmail};
use minijinja::{AutoEscape, Environment, Value};

use crate::Policy;

/// Every message's two bodies, named `<message>.html` and `<message>.txt`.
const TEMPLATES: [(&str, &str); 6] = [
    ("recovery.html", include_str!("../templates/recovery.html")),
    ("recovery.txt", include_str!("../templates/recovery.txt")),
    (
        "new_account.html",
        include_str!("../templates/new_account.html"),
    ),
    (
        "new_account.txt",
        include_str!("../templates/new_account.txt"),
    ),
    (
        "test_email.html",
        include_str!("../templates/test_email.html"),
    ),
    (
        "test_email.txt",
        include_str!("../templates/test_email.txt"),
    ),
];

/// The templates, parsed once. Rendering is one pass of a real template engine: values
/// (addresses, names) are data and never read as template text, and the HTML bodies
/// escape them automatically. A template that fails to parse is kept out and reported
/// when a message needs it (the unit tests render every one).
static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    for (name, source) in TEMPLATES {
        if let Err(error) = env.add_template(name, source) {
            tracing::error!(template = name, error = %error, "mail template does not parse");
        }
    }
    env
});

/// Renders one message's two bodies. `link` is built by us from `FRONTEND_HOST` and a
/// URL-safe token and must stay byte-for-byte inside a double-quoted `href`, so it is
/// marked safe; everything else is escaped in the HTML body.
fn render(
    message: &str,
    to: &Email,
    subject: String,
    link: &str,
    extra: &[(&str, String)],
) -> Result<OutgoingEmail, Infra> {
    let mut values = vec![
        ("subject", Value::from(subject.as_str())),
        ("email", Value::from(to.as_str())),
        ("link", Value::from_safe_string(link.to_owned())),
    ];
    values.extend(
        extra
            .iter()
            .map(|(name, value)| (*name, Value::from(value.as_str()))),
    );
    let context = Value::from_pairs(values);
    let body = |kind: &str| {
        ENVIRONMENT
            .get_template(&format!("{message}.{kind}"))
            .and_then(|template| template.render(&context))
            .map_err(|e| Infra::unexpected(format!("rendering the {message} mail: {e}")))
    };
    Ok(OutgoingEmail {
        to: to.clone(),
        html: body("html")?,
        text: body("txt")?,
        subject,
    })
}

impl Policy {
    fn project(&self) -> [(&str, String); 1] {
        [("project_name", self.project_name.clone())]
    }

    /// The recovery mail carrying `token` (or a placeholder for the admin preview).
    pub(crate) fn recovery_email(&self, to: &Email, token: &str) -> Result<OutgoingEmail, Infra> {
        let subject = format!(
            "{} - Password recovery for user {}",
            self.project_name,
            to.as_str()
        );
        let link = format!("{}/reset-password?token={token}", self.frontend_host);
        let hours = (self.reset_token_lifetime.whole_minutes() as f64 / 60.0).to_string();
        let [project] = self.project();
        render(
            "recovery",
            to,
            subject,
            &link,
            &[project, ("valid_hours", hours)],
        )
    }

    /// The mail telling a new user an account exists (route 7).
    pub(crate) fn new_account_email(&self, to: &Email) -> Result<OutgoingEmail, Infra> {
        let subject = format!(
            "{} - New account for user {}",
            self.project_name,
            to.as_str()
        );
        render(
            "new_account",
            to,
            subject,
            &self.frontend_host,
            &self.project(),
        )
    }

    /// The admin's test mail (route 21).
    pub(crate) fn test_email(&self, to: &Email) -> Result<OutgoingEmail, Infra> {
        let subject = format!("{} - Test email", self.project_name);
        render(
            "test_email",
            to,
            subject,
            &self.frontend_host,
            &self.project(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            frontend_host: "https://app.example.com".into(),
            project_name: "Acme <Corp>".into(),
            ..Policy::default()
        }
    }

    #[test]
    fn recovery_link_is_a_plain_double_quoted_href() {
        let to = Email::parse("dave@example.com").unwrap();
        let mail = policy().recovery_email(&to, "abc_DEF-123").unwrap();
        assert_eq!(
            mail.subject,
            "Acme <Corp> - Password recovery for user dave@example.com"
        );
        assert!(
            mail.html
                .contains("href=\"https://app.example.com/reset-password?token=abc_DEF-123\"")
        );
        assert!(mail.html.contains("Acme &lt;Corp&gt;"), "names are escaped");
        assert!(
            mail.text
                .contains("https://app.example.com/reset-password?token=abc_DEF-123")
        );
        assert!(mail.text.contains("valid for 1 hour(s)"));
    }

    #[test]
    fn new_account_mail_links_the_frontend_and_holds_no_password() {
        let to = Email::parse("new@example.com").unwrap();
        let mail = policy().new_account_email(&to).unwrap();
        assert_eq!(
            mail.subject,
            "Acme <Corp> - New account for user new@example.com"
        );
        assert!(mail.html.contains("href=\"https://app.example.com\""));
        assert!(!mail.html.to_lowercase().contains("password:"));
    }

    #[test]
    fn user_data_is_substituted_once_and_never_read_as_template_text() {
        // The private route stores an address as given, so any text can reach a template.
        let to = Email::unchecked("{{link}}{%raw%}<b>@example.com");
        let mail = policy().recovery_email(&to, "tok").unwrap();
        let link = "https://app.example.com/reset-password?token=tok";
        assert_eq!(mail.text.matches(link).count(), 1, "{}", mail.text);
        assert!(mail.text.contains("Hello {{link}}{%raw%}<b>@example.com,"));
        assert_eq!(mail.html.matches(link).count(), 1, "{}", mail.html);
        assert!(
            mail.html
                .contains("Hello {{link}}{%raw%}&lt;b&gt;@example.com,")
        );
    }

    #[test]
    fn every_message_renders_both_bodies() {
        let to = Email::parse("a@example.com").unwrap();
        let policy = policy();
        for mail in [
            policy.recovery_email(&to, "t"),
            policy.new_account_email(&to),
            policy.test_email(&to),
        ] {
            let mail = mail.unwrap();
            for body in [&mail.html, &mail.text] {
                assert!(body.contains("Acme"), "{body}");
                assert!(!body.contains("{{"), "{body}");
            }
        }
    }
}
