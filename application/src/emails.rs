//! The messages Gatehouse sends (CONTRACT.md §4.3), rendered from the templates in
//! `application/templates/`. Links are built from `FRONTEND_HOST`, never from request
//! headers (RT-14); the new-account mail never holds a password (§9g).

use gatehouse_domain::{Email, ports::OutgoingEmail};

use crate::Policy;

struct Template {
    html: &'static str,
    text: &'static str,
}

const RECOVERY: Template = Template {
    html: include_str!("../templates/recovery.html"),
    text: include_str!("../templates/recovery.txt"),
};
const NEW_ACCOUNT: Template = Template {
    html: include_str!("../templates/new_account.html"),
    text: include_str!("../templates/new_account.txt"),
};
const TEST: Template = Template {
    html: include_str!("../templates/test_email.html"),
    text: include_str!("../templates/test_email.txt"),
};

/// Escapes text for HTML element content and double-quoted attributes.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills `{{name}}` placeholders; values are escaped for HTML except the link, which is
/// built by us from `FRONTEND_HOST` and a URL-safe token and must stay byte-for-byte
/// (`/`, `?`, `=` unescaped inside a double-quoted `href`).
fn render(
    template: &Template,
    to: &Email,
    subject: String,
    link: &str,
    extra: &[(&str, String)],
) -> OutgoingEmail {
    let fill = |body: &str, escape: fn(&str) -> String| {
        let mut out = body
            .replace("{{subject}}", &escape(&subject))
            .replace("{{email}}", &escape(to.as_str()))
            .replace("{{link}}", link);
        for (name, value) in extra {
            out = out.replace(&format!("{{{{{name}}}}}"), &escape(value));
        }
        out
    };
    OutgoingEmail {
        to: to.clone(),
        html: fill(template.html, escape_html),
        text: fill(template.text, str::to_owned),
        subject,
    }
}

impl Policy {
    fn project(&self) -> [(&str, String); 1] {
        [("project_name", self.project_name.clone())]
    }

    /// The recovery mail carrying `token` (or a placeholder for the admin preview).
    pub(crate) fn recovery_email(&self, to: &Email, token: &str) -> OutgoingEmail {
        let subject = format!(
            "{} - Password recovery for user {}",
            self.project_name,
            to.as_str()
        );
        let link = format!("{}/reset-password?token={token}", self.frontend_host);
        let hours = (self.reset_token_lifetime.whole_minutes() as f64 / 60.0).to_string();
        let [project] = self.project();
        render(
            &RECOVERY,
            to,
            subject,
            &link,
            &[project, ("valid_hours", hours)],
        )
    }

    /// The mail telling a new user an account exists (route 7).
    pub(crate) fn new_account_email(&self, to: &Email) -> OutgoingEmail {
        let subject = format!(
            "{} - New account for user {}",
            self.project_name,
            to.as_str()
        );
        render(
            &NEW_ACCOUNT,
            to,
            subject,
            &self.frontend_host,
            &self.project(),
        )
    }

    /// The admin's test mail (route 21).
    pub(crate) fn test_email(&self, to: &Email) -> OutgoingEmail {
        let subject = format!("{} - Test email", self.project_name);
        render(&TEST, to, subject, &self.frontend_host, &self.project())
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
        let mail = policy().recovery_email(&to, "abc_DEF-123");
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
        let mail = policy().new_account_email(&to);
        assert_eq!(
            mail.subject,
            "Acme <Corp> - New account for user new@example.com"
        );
        assert!(mail.html.contains("href=\"https://app.example.com\""));
        assert!(!mail.html.to_lowercase().contains("password:"));
    }
}
