//! Invariant 7, mail templates are filled in one pass: a value put into a template is
//! never searched for placeholders again. `{{link}}@example.com` is a valid address (braces
//! are allowed in a local part); if the recovery template's `{{email}}` is filled before its
//! `{{link}}` by repeated search-and-replace, the address itself turns into a second reset
//! link. The recovery mail to that address must show the address literally and hold as many
//! reset links as the same mail to an ordinary address.

use gatehouse_tests::app::{TestApp, send, status_json};
use reqwest::StatusCode;

use super::{Mail, Target, mail_to, on_every_backend, unthrottled_with_mail};

/// An address that is also a template placeholder followed by a domain.
const BRACED: &str = "{{link}}@example.com";

/// What every reset link contains (CONTRACT.md §4.3).
const RESET_LINK: &str = "reset-password?token=";

/// Requests a recovery mail for `email` (braces percent-encoded in the path) and returns it.
async fn recovery_mail(app: &TestApp, email: &str, backend: &Target) -> Mail {
    let path = email.replace('{', "%7B").replace('}', "%7D");
    let (status, body) = send(app.post(&format!("/api/v1/password-recovery/{path}"))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{backend}: recovery for {email}: {body}"
    );
    mail_to(app, email).await
}

async fn braced_address(app: TestApp, backend: Target) {
    let (status, body) = status_json(app.signup(BRACED, "correct horse battery").await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{backend}: signup of {BRACED}: {body}"
    );
    let (ordinary, _) = app.new_user().await;
    let reference = recovery_mail(&app, &ordinary.email, &backend).await;
    let mail = recovery_mail(&app, BRACED, &backend).await;
    assert!(
        reference.text.contains(RESET_LINK) && reference.html.contains(RESET_LINK),
        "{backend}: the ordinary recovery mail holds a reset link"
    );
    for (part, body, reference_body) in [
        ("text", &mail.text, &reference.text),
        ("html", &mail.html, &reference.html),
    ] {
        assert_eq!(
            body.matches(RESET_LINK).count(),
            reference_body.matches(RESET_LINK).count(),
            "{backend}: reset links in the {part} body of the mail to {BRACED}:\n{body}"
        );
        assert_eq!(
            body.matches(BRACED).count(),
            reference_body.matches(ordinary.email.as_str()).count(),
            "{backend}: {BRACED} shown literally in the {part} body as often as an ordinary \
             address:\n{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_address_that_looks_like_a_placeholder_is_filled_in_literally() {
    on_every_backend(unthrottled_with_mail, braced_address).await;
}
