//! The per-user session cap (SECURITY.md RT-12): a login past it ends the least recently
//! used session.

use gatehouse_application::Policy;
use time::Duration;

use crate::harness::Harness;

#[tokio::test]
async fn a_login_past_the_cap_ends_the_least_recently_used_session() {
    let h = Harness::with_policy(Policy {
        max_sessions_per_user: 3,
        ..Policy::default()
    });
    h.account("alice@example.com", false).await;
    let oldest = h.login("alice@example.com").await;
    h.clock.advance(Duration::seconds(1));
    let used = h.login("alice@example.com").await;
    h.clock.advance(Duration::seconds(1));
    let third = h.login("alice@example.com").await;
    h.clock.advance(Duration::seconds(1));
    // Using the oldest session makes the second one the least recently used.
    let oldest = h.rotate(&oldest).await;
    h.clock.advance(Duration::seconds(1));

    let fourth = h.login("alice@example.com").await;

    assert!(
        h.principal(&used).await.is_none(),
        "the least recently used ends"
    );
    for kept in [&oldest, &third, &fourth] {
        assert!(h.principal(kept).await.is_some());
    }
}

#[tokio::test]
async fn the_cap_counts_one_users_sessions_only() {
    let h = Harness::with_policy(Policy {
        max_sessions_per_user: 1,
        ..Policy::default()
    });
    h.account("alice@example.com", false).await;
    h.account("bob@example.com", false).await;
    let alice = h.login("alice@example.com").await;
    let bob = h.login("bob@example.com").await;
    assert!(h.principal(&alice).await.is_some());
    assert!(h.principal(&bob).await.is_some());
}
