//! Invariant 5, one mailbox is one account: an internationalised domain can be written in
//! Unicode (NFC), in its ACE form (`xn--…`) or with decomposed characters (NFD), and all of
//! them deliver to the same mailbox. Signup must treat them as one address, and each of them
//! must log in to that account. No timing is involved; the same identity rule is what keeps
//! concurrent signups of the spellings from making several accounts.

use gatehouse_tests::app::{TestApp, status_json};
use reqwest::StatusCode;

use super::{Target, detail, login_answer, on_every_backend, unthrottled};

const PASSWORD: &str = "correct horse battery";

/// The address as signed up: the domain in Unicode, `ü` precomposed (NFC).
const UNICODE: &str = "x@b\u{fc}cher.com";

/// The same mailbox spelled otherwise: the domain's ACE form, and NFD (`u` + U+0308).
const OTHER_SPELLINGS: [&str; 2] = ["x@xn--bcher-kva.com", "x@bu\u{0308}cher.com"];

async fn spellings(app: TestApp, backend: Target) {
    let (status, body) = status_json(app.signup(UNICODE, PASSWORD).await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{backend}: signup of {UNICODE}: {body}"
    );
    for spelling in OTHER_SPELLINGS {
        assert_eq!(
            status_json(app.signup(spelling, PASSWORD).await).await,
            detail(
                StatusCode::BAD_REQUEST,
                "The user with this email already exists in the system"
            ),
            "{backend}: signup of {spelling:?} after {UNICODE:?}"
        );
    }
    for spelling in std::iter::once(UNICODE).chain(OTHER_SPELLINGS) {
        let (status, body) = login_answer(&app, spelling, PASSWORD).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{backend}: login as {spelling:?}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_unicode_ace_and_nfd_spellings_of_one_address_are_one_account() {
    on_every_backend(unthrottled, spellings).await;
}
