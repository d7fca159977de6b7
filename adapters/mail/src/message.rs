//! One [`OutgoingEmail`] as a MIME message: `multipart/alternative` with the text part first
//! and the HTML part last (mail clients show the last part they can render).

use gatehouse_domain::ports::OutgoingEmail;
use lettre::{
    Address, Message,
    address::AddressError,
    message::{Mailbox, MultiPart},
};

/// Why a message could not be put together; retrying would not help.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MessageError {
    #[error("the recipient address cannot be used over SMTP")]
    Recipient(#[source] AddressError),
    #[error("the message cannot be built")]
    Build(#[source] lettre::error::Error),
}

/// The message from `from` to `email.to`.
pub(crate) fn build(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, MessageError> {
    let to: Address = email.to.as_str().parse().map_err(MessageError::Recipient)?;
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(email.subject.as_str())
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(MessageError::Build)
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::Email;

    use super::*;

    fn sender() -> Mailbox {
        Mailbox::new(
            Some("Gatehouse Ops".into()),
            "noreply@example.com".parse().unwrap(),
        )
    }

    #[test]
    fn text_and_html_travel_as_alternatives_from_the_named_sender() {
        let email = OutgoingEmail {
            to: Email::unchecked("dave@example.com"),
            subject: "Gatehouse - Test email".into(),
            html: "<p>hello</p>".into(),
            text: "hello".into(),
        };
        let raw = String::from_utf8(build(&sender(), &email).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("From: \"Gatehouse Ops\" <noreply@example.com>\r\n"),
            "{raw}"
        );
        assert!(raw.contains("To: dave@example.com\r\n"), "{raw}");
        assert!(raw.contains("Subject: Gatehouse - Test email\r\n"), "{raw}");
        assert!(raw.contains("Message-ID: <"), "{raw}");
        assert!(raw.contains("Content-Type: multipart/alternative"), "{raw}");
        let text = raw.find("Content-Type: text/plain").expect("a text part");
        let html = raw.find("Content-Type: text/html").expect("an HTML part");
        assert!(text < html, "the HTML part comes last");
    }

    #[test]
    fn an_address_smtp_cannot_carry_is_refused_not_sent() {
        let email = OutgoingEmail {
            to: Email::unchecked("not an address"),
            subject: "s".into(),
            html: String::new(),
            text: String::new(),
        };
        assert!(matches!(
            build(&sender(), &email),
            Err(MessageError::Recipient(_))
        ));
    }
}
