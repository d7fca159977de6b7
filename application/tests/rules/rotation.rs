//! Refresh-token rotation (D14): a rotation hands out a successor; a repeat within the grace
//! gets the same successor; a replay after it is reuse, and the whole session ends.

use gatehouse_application::RefreshError;
use time::Duration;

use crate::harness::Harness;

#[tokio::test]
async fn a_rotation_replaces_the_token_and_a_repeat_within_the_grace_gets_the_same_one() {
    let h = Harness::new();
    h.account("alice@example.com", false).await;
    let first = h.login("alice@example.com").await;

    let second = h.rotate(&first).await;
    assert_ne!(second.refresh, first.refresh);
    h.clock.advance(Duration::seconds(9));
    let repeat = h.rotate(&first).await;
    assert_eq!(repeat.refresh, second.refresh, "the same successor");
    assert!(h.principal(&second).await.is_some());
}

#[tokio::test]
async fn a_replay_after_the_grace_is_reuse_and_ends_the_whole_session() {
    let h = Harness::new();
    h.account("alice@example.com", false).await;
    let first = h.login("alice@example.com").await;
    let second = h.rotate(&first).await;

    h.clock.advance(Duration::seconds(11));
    assert!(matches!(
        h.refresh(&first).await,
        Err(RefreshError::Invalid)
    ));
    // The legitimate holder's successor and access token die with the session.
    assert!(matches!(
        h.refresh(&second).await,
        Err(RefreshError::Invalid)
    ));
    assert!(h.principal(&second).await.is_none());
}

#[tokio::test]
async fn another_session_of_the_same_user_survives_a_reuse() {
    let h = Harness::new();
    h.account("alice@example.com", false).await;
    let phone = h.login("alice@example.com").await;
    let laptop = h.login("alice@example.com").await;
    h.rotate(&phone).await;
    h.clock.advance(Duration::seconds(11));
    assert!(h.refresh(&phone).await.is_err());

    assert!(
        h.principal(&laptop).await.is_some(),
        "only the reused session ends"
    );
}
