//! Who may do what: the superuser capability, and reading other accounts.

use gatehouse_application::ReadUserError;
use gatehouse_domain::Page;

use crate::harness::Harness;

#[tokio::test]
async fn only_a_superuser_gets_the_capability_the_admin_use_cases_take() {
    let h = Harness::new();
    h.account("root@example.com", true).await;
    h.account("alice@example.com", false).await;

    let alice = h.logged_in("alice@example.com").await;
    assert!(alice.as_superuser().is_err(), "a plain user is refused");

    let root = h.logged_in("root@example.com").await;
    let admin = root.as_superuser().expect("a superuser gets it");
    let listing = h
        .app
        .list_users(&admin, Page::new(0, 100).expect("a page"))
        .await
        .expect("list");
    assert_eq!(listing.count, 2);
}

#[tokio::test]
async fn the_superuser_flag_is_read_on_every_request_not_kept_from_login() {
    let h = Harness::new();
    h.account("root@example.com", true).await;
    let other = h.account("other@example.com", true).await;
    let pair = h.login("other@example.com").await;
    let root = h.logged_in("root@example.com").await;
    let admin = root.as_superuser().expect("root is a superuser");
    let demote = gatehouse_application::UserChanges {
        is_superuser: Some(false),
        ..Default::default()
    };
    h.app
        .update_user(&admin, other.id, demote)
        .await
        .expect("demote");

    let again = h.principal(&pair).await.expect("the session lives on");
    assert!(
        again.as_superuser().is_err(),
        "a token issued to a superuser no longer carries the capability"
    );
}

#[tokio::test]
async fn a_plain_user_reads_only_their_own_account_and_learns_nothing_of_others() {
    let h = Harness::new();
    let alice = h.account("alice@example.com", false).await;
    let bob = h.account("bob@example.com", false).await;
    let me = h.logged_in("alice@example.com").await;

    assert_eq!(
        h.app.read_user(&me, alice.id).await.expect("self").id,
        alice.id
    );
    assert!(matches!(
        h.app.read_user(&me, bob.id).await,
        Err(ReadUserError::Forbidden)
    ));
    // Privilege before existence: an unknown id answers the same as a known one.
    assert!(matches!(
        h.app
            .read_user(&me, gatehouse_domain::UserId::random())
            .await,
        Err(ReadUserError::Forbidden)
    ));
}
