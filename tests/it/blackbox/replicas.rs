//! Two Gatehouse replicas on one PostgreSQL database (issue 5 item 7; ARCHITECTURE.md "Data
//! and scale"): sessions live in the database, the session row lock serialises rotations
//! across processes, and replicas configured with the same `SECRET_KEY` derive the same
//! successor tokens. Only meaningful on PostgreSQL: ignored without `TEST_DATABASE_URL`.

use gatehouse_tests::app::{Backend, TestApp};
use time::Duration;
use tokio::task::JoinSet;

use super::answers::{
    Pair, assert_credentials_rejected, assert_invalid_refresh, children_of, log_in, revoked_reason,
    rotate, stored_token,
};

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_rotated_on_one_replica_is_reuse_on_the_other() {
    let one = TestApp::spawn(Backend::Sql).await;
    let two = one.spawn_replica().await;
    let (account, _) = one.new_user().await;
    let r0 = log_in(&one, &account).await;
    let r1 = rotate(&one, &r0.refresh).await;

    // Within the grace the other replica derives and hands out the same successor.
    assert_eq!(rotate(&two, &r0.refresh).await.refresh, r1.refresh);

    two.clock.advance(Duration::seconds(11));
    assert_invalid_refresh(two.refresh(&r0.refresh).await).await;

    // The revocation is in the database, so both replicas refuse the session at once.
    for replica in [&one, &two] {
        assert_invalid_refresh(replica.refresh(&r1.refresh).await).await;
        assert_credentials_rejected(replica.me(&r1.access).await).await;
    }
    let db = one.sql().await.expect("a SQL backend");
    let session = stored_token(&db, &r0.refresh).await.unwrap().session_id;
    assert_eq!(
        revoked_reason(&db, session).await.as_deref(),
        Some("reuse_detected")
    );
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_on_two_replicas_mint_one_child() {
    let one = TestApp::spawn(Backend::Sql).await;
    let two = one.spawn_replica().await;
    let (account, _) = one.new_user().await;
    let r0 = log_in(&one, &account).await;

    let mut requests = JoinSet::new();
    for n in 0..20 {
        let replica = if n % 2 == 0 { &one } else { &two };
        requests.spawn(
            replica
                .post("/api/v1/auth/refresh")
                .json(&serde_json::json!({ "refresh_token": r0.refresh }))
                .send(),
        );
    }
    let mut successors = Vec::new();
    for response in requests.join_all().await {
        successors.push(Pair::from_response(response.unwrap()).await.refresh);
    }
    successors.dedup();
    assert_eq!(successors.len(), 1, "one successor for all: {successors:?}");

    let db = one.sql().await.expect("a SQL backend");
    let parent = stored_token(&db, &r0.refresh).await.unwrap();
    assert_eq!(children_of(&db, parent.id).await, 1, "one child row");
    assert_eq!(revoked_reason(&db, parent.session_id).await, None);
}
