//! Races the database must decide: one email key, one rotation of a refresh token, one
//! last superuser, shared throttling counters, and row locks that time out as unavailable.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use gatehouse_domain::ports::{RotationOutcome, UserWriteError};
use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule};
use gatehouse_domain::{Infra, Page, SessionEnd, User, UserPatch};
use gatehouse_tests::db::{TestDatabase, engines};
use gatehouse_tests::emails::case_variant;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use time::Duration;
use tokio::task::JoinSet;

use super::{SignedIn, T0, count_rows, rotation, signed_in, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_fifty_concurrent_signups_differing_in_case_exactly_one_wins() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let users = db.store().await.users();
        let mut signups = JoinSet::new();
        for mask in 1..=50 {
            let users = users.clone();
            let candidate = user(&case_variant("racecondition", mask));
            signups.spawn(async move { users.insert(&candidate).await });
        }
        let (mut won, mut taken) = (0, 0);
        for result in signups.join_all().await {
            match result {
                Ok(()) => won += 1,
                Err(UserWriteError::EmailTaken) => taken += 1,
                Err(other) => panic!("{engine:?}: {other:?}"),
            }
        }
        assert_eq!((won, taken), (1, 49), "{engine:?}");
        assert_eq!(users.list(Page::default()).await.expect("list").count, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_rotations_of_one_token_exactly_one_rotates() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let first = signed_in(&store, "rotations@example.com").await.refresh;
        let rotation = Arc::new(rotation(first, Duration::ZERO));
        let mut rotations = JoinSet::new();
        for _ in 0..20 {
            let (sessions, rotation) = (store.sessions(), rotation.clone());
            rotations.spawn(async move { sessions.rotate(&rotation).await });
        }
        let outcomes = rotations.join_all().await;
        let rotated = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(RotationOutcome::Rotated(_))))
            .count();
        assert_eq!(rotated, 1, "{engine:?}: {outcomes:?}");
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        let conn = db.connection().await;
        assert_eq!(count_rows(&conn, "gatehouse_refresh_token", None).await, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_demotions_cannot_both_leave_no_superuser() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let users = db.store().await.users();
        let admins: Vec<User> = ["a@example.com", "b@example.com"]
            .into_iter()
            .map(|e| User {
                is_superuser: true,
                ..user(e)
            })
            .collect();
        for admin in &admins {
            users.insert(admin).await.expect("admin");
        }
        let mut demotions = JoinSet::new();
        for admin in admins {
            let users = users.clone();
            let demote = UserPatch {
                is_superuser: Some(false),
                ..UserPatch::default()
            };
            demotions
                .spawn(async move { users.update(admin.id, &demote, SessionEnd::Keep, T0).await });
        }
        let results = demotions.join_all().await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(UserWriteError::LastActiveSuperuser)))
            .count();
        assert_eq!((won, refused), (1, 1), "{engine:?}: {results:?}");
        let listing = users.list(Page::default()).await.expect("list");
        assert_eq!(
            listing
                .data
                .iter()
                .filter(|u| u.is_active_superuser())
                .count(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_hits_on_one_key_are_all_counted() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let limiter = db.store().await.limiter();
        let key = ThrottleKey::new("login:ip", "203.0.113.9");
        let rule = ThrottleRule::fixed(49, Duration::minutes(15));
        let mut hits = JoinSet::new();
        for _ in 0..50 {
            let (limiter, key) = (limiter.clone(), key.clone());
            hits.spawn(async move { limiter.hit(&key, &rule, T0).await });
        }
        let verdicts = hits.join_all().await;
        let throttled = verdicts
            .iter()
            .filter(|v| v.as_ref().is_ok_and(|v| v.is_throttled()))
            .count();
        assert_eq!(throttled, 1, "{engine:?}: {verdicts:?}");
    }
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn a_rotation_behind_a_held_session_lock_gives_up_as_unavailable() {
    let db = TestDatabase::postgres(true).await;
    let store = db.store().await;
    let SignedIn {
        session: opened,
        refresh: first,
        ..
    } = signed_in(&store, "locked@example.com").await;
    let conn = db.connection().await;
    let holder = conn.begin().await.expect("begin");
    holder
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM gatehouse_session WHERE id = $1 FOR UPDATE",
            [opened.id.as_uuid().into()],
        ))
        .await
        .expect("lock the session row");
    let rotation = rotation(first, Duration::seconds(10));

    let started = Instant::now();
    let err = store
        .sessions()
        .rotate(&rotation)
        .await
        .expect_err("locked");
    let waited = started.elapsed();
    assert!(matches!(err, Infra::Unavailable(_)), "{err:?}");
    assert!(
        waited >= StdDuration::from_millis(1500) && waited < StdDuration::from_secs(5),
        "{waited:?}"
    );

    holder.rollback().await.expect("release");
    let outcome = store.sessions().rotate(&rotation).await.expect("rotate");
    assert!(
        matches!(outcome, RotationOutcome::Rotated(_)),
        "{outcome:?}"
    );
}
