//! What the two engines do differently unless the adapter makes them agree: timestamp
//! precision and ordering, NULLs in descending lists, Unicode case folding, huge offsets;
//! and the row-level effects of rotation, principal lookup, resets and throttling.

use gatehouse_domain::ports::{
    EndScope, OwnedWriteError, Redemption, Rotation, RotationOutcome, UserWriteError,
};
use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule, Verdict};
use gatehouse_domain::{
    Email, EmailKey, EndReason, NewPassword, Page, SessionEnd, SessionId, User, UserId, UserPatch,
};
use gatehouse_tests::db::{TestDatabase, engines};
use gatehouse_tests::stores::UNCAPPED;
use sea_orm::ConnectionTrait;
use time::Duration;

use super::{
    SignedIn, T0, issue_reset, item, new_password_hash, rotation, session, signed_in, token, user,
};

#[tokio::test]
async fn timestamps_read_back_as_written_to_the_microsecond() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let precise = User {
            created_at: Some(T0 + Duration::nanoseconds(123_456_789)),
            ..user("precise@example.com")
        };
        store.users().insert(&precise).await.expect("insert");
        let stored = store
            .users()
            .get(precise.id)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(
            stored.created_at,
            Some(T0 + Duration::microseconds(123_456)),
            "{engine:?}"
        );
        let again = User {
            created_at: stored.created_at,
            ..precise
        };
        assert_eq!(stored, again);
    }
}

#[tokio::test]
async fn lists_put_unknown_creation_times_first_then_newest_then_by_id() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let owner = user("owner@example.com");
        store.users().insert(&owner).await.expect("owner");
        // Fractions that sort wrongly as trimmed RFC 3339 text (`.5Z` after `.55Z`).
        let times = [
            Some(T0),
            None,
            Some(T0 + Duration::milliseconds(500)),
            Some(T0 + Duration::milliseconds(550)),
            None,
            Some(T0 + Duration::seconds(1)),
        ];
        let mut items = Vec::new();
        for at in times {
            let thing = item(owner.id, at);
            store.items().insert(&thing).await.expect("item");
            items.push(thing);
        }
        items.sort_by_key(|i| {
            (
                i.created_at.is_some(),
                std::cmp::Reverse(i.created_at),
                i.id,
            )
        });

        let all = store
            .items()
            .list(Some(owner.id), Page::default())
            .await
            .expect("list");
        assert_eq!(all.count, 6);
        assert_eq!(all.data, items, "{engine:?}");
        let middle = store
            .items()
            .list(None, Page::new(2, 3).expect("page"))
            .await
            .expect("list");
        assert_eq!((middle.count, &middle.data[..]), (6, &items[2..5]));
        let others = store
            .items()
            .list(Some(UserId::random()), Page::default())
            .await
            .expect("list");
        assert_eq!((others.count, others.data.len()), (0, 0));

        for skip in [10_000_000, u64::MAX] {
            let beyond = store
                .users()
                .list(Page::new(skip, 1000).expect("page"))
                .await
                .expect("list");
            assert_eq!((beyond.count, beyond.data.len()), (1, 0), "{engine:?}");
        }
    }
}

#[tokio::test]
async fn email_identity_folds_unicode_case_on_every_engine() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let users = db.store().await.users();
        let umlaut = user("Ärger@example.com");
        users.insert(&umlaut).await.expect("insert");
        let found = users
            .find_by_email(&EmailKey::of(" ärger@EXAMPLE.com "))
            .await
            .expect("find");
        assert_eq!(found.map(|u| u.id), Some(umlaut.id), "{engine:?}");
        let shouting = users.insert(&user("ÄRGER@example.com")).await;
        assert!(
            matches!(shouting, Err(UserWriteError::EmailTaken)),
            "{engine:?}: {shouting:?}"
        );
    }
}

#[tokio::test]
async fn user_updates_are_guarded_and_carry_their_side_effects() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let users = store.users();
        let alice = user("alice@example.com");
        let bob = user("bob@example.com");
        users.insert(&alice).await.expect("alice");
        users.insert(&bob).await.expect("bob");

        let ghost = users
            .update(
                UserId::random(),
                &UserPatch::default(),
                SessionEnd::Keep,
                T0,
            )
            .await;
        assert!(matches!(ghost, Err(UserWriteError::NotFound)), "{ghost:?}");
        let stealing = UserPatch {
            email: Some(Email::parse("BOB@example.com").expect("email")),
            ..UserPatch::default()
        };
        let taken = users
            .update(alice.id, &stealing, SessionEnd::Keep, T0)
            .await;
        assert!(
            matches!(taken, Err(UserWriteError::EmailTaken)),
            "{taken:?}"
        );
        assert_eq!(users.get(alice.id).await.expect("get"), Some(alice.clone()));

        let current = session(alice.id);
        let other = session(alice.id);
        store
            .sessions()
            .create(&current, &token(), UNCAPPED)
            .await
            .expect("current");
        let other_token = token();
        store
            .sessions()
            .create(&other, &other_token, UNCAPPED)
            .await
            .expect("other");
        let reset = issue_reset(&store, alice.id).await;
        let change = UserPatch {
            password: Some(NewPassword {
                hash: new_password_hash(),
                replaces: Some(alice.hashed_password.clone()),
            }),
            ..UserPatch::default()
        };
        let changed = users
            .update(
                alice.id,
                &change,
                SessionEnd::AllExcept(current.id, EndReason::PasswordChange),
                T0,
            )
            .await
            .expect("password change");
        assert_eq!(changed.hashed_password, new_password_hash());
        assert_eq!(users.get(alice.id).await.expect("get"), Some(changed));
        let ended = store
            .sessions()
            .find_by_token(&other_token)
            .await
            .expect("find")
            .expect("session");
        assert_eq!(ended.revoked_reason, Some(EndReason::PasswordChange));
        let live = store
            .sessions()
            .list_live(alice.id, T0, Duration::days(7))
            .await
            .expect("live");
        assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), [current.id]);
        assert_eq!(
            store.reset_tokens().check(&reset, T0).await.expect("check"),
            Redemption::Invalid,
            "{engine:?}: a password change voids reset tokens"
        );
    }
}

#[tokio::test]
async fn a_token_repeated_within_the_grace_is_benign_and_later_reuse_revokes_for_good() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let r0 = signed_in(&store, "family@example.com").await.refresh;
        let r1 = token();
        let rotate = |now| Rotation {
            presented: r0,
            successor: r1,
            now,
            grace: Duration::seconds(10),
            idle_timeout: Duration::days(7),
        };
        let rotated_at = T0 + Duration::minutes(1);

        let first = store
            .sessions()
            .rotate(&rotate(rotated_at))
            .await
            .expect("rotate");
        let RotationOutcome::Rotated(live) = first else {
            panic!("{engine:?}: {first:?}");
        };
        assert_eq!(live.last_used_at, rotated_at);
        let repeat = store
            .sessions()
            .rotate(&rotate(rotated_at + Duration::seconds(5)))
            .await
            .expect("repeat");
        assert_eq!(repeat, RotationOutcome::Repeated(live));
        let reuse = store
            .sessions()
            .rotate(&rotate(rotated_at + Duration::seconds(20)))
            .await
            .expect("reuse");
        assert!(
            matches!(reuse, RotationOutcome::ReuseDetected(_)),
            "{reuse:?}"
        );

        let revoked = store
            .sessions()
            .find_by_token(&r1)
            .await
            .expect("find")
            .expect("session");
        assert_eq!(revoked.revoked_reason, Some(EndReason::ReuseDetected));
        let child = Rotation {
            now: rotated_at + Duration::seconds(21),
            ..rotation(r1, Duration::seconds(10))
        };
        assert_eq!(
            store.sessions().rotate(&child).await.expect("rotate"),
            RotationOutcome::Invalid
        );
    }
}

#[tokio::test]
async fn the_principal_lookup_joins_only_the_users_own_session() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let SignedIn {
            user: alice,
            session: hers,
            ..
        } = signed_in(&store, "alice@example.com").await;
        let bob = user("bob@example.com");
        store.users().insert(&bob).await.expect("bob");
        let sessions = store.sessions();

        assert_eq!(
            sessions
                .load_principal(alice.id, hers.id)
                .await
                .expect("load"),
            Some((alice.clone(), Some(hers.clone())))
        );
        assert_eq!(
            sessions
                .load_principal(bob.id, hers.id)
                .await
                .expect("load"),
            Some((bob, None))
        );
        assert_eq!(
            sessions
                .load_principal(alice.id, SessionId::random())
                .await
                .expect("load"),
            Some((alice, None))
        );
        assert_eq!(
            sessions
                .load_principal(UserId::random(), hers.id)
                .await
                .expect("load"),
            None,
            "{engine:?}"
        );
        assert_eq!(
            sessions
                .end(hers.user_id, EndScope::One(hers.id), EndReason::Logout, T0)
                .await
                .expect("end"),
            1
        );
    }
}

#[tokio::test]
async fn reset_tokens_are_single_use_superseded_and_expiring() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let owner = signed_in(&store, "reset@example.com").await.user;
        let resets = store.reset_tokens();
        let expires = T0 + Duration::hours(1);
        let older = token();
        resets
            .issue(owner.id, &older, T0, expires)
            .await
            .expect("issue");
        let newer = token();
        resets
            .issue(owner.id, &newer, T0, expires)
            .await
            .expect("issue");

        assert_eq!(
            resets.check(&older, T0).await.expect("check"),
            Redemption::Invalid
        );
        assert_eq!(
            resets.check(&newer, expires).await.expect("check"),
            Redemption::Invalid
        );
        let hash = new_password_hash();
        assert_eq!(
            resets.redeem(&newer, &hash, T0).await.expect("redeem"),
            Redemption::Done(owner.id),
            "{engine:?}"
        );
        assert_eq!(
            resets.redeem(&newer, &hash, T0).await.expect("again"),
            Redemption::Invalid
        );
        let stored = store
            .users()
            .get(owner.id)
            .await
            .expect("get")
            .expect("user");
        assert_eq!(stored.hashed_password, hash);
        assert!(
            store
                .sessions()
                .list_live(owner.id, T0, Duration::days(7))
                .await
                .expect("live")
                .is_empty()
        );
    }
}

#[tokio::test]
async fn throttling_counts_in_fixed_windows() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let limiter = db.store().await.limiter();
        let key = ThrottleKey::new("login:account", "alice@example.com");
        let rule = ThrottleRule::fixed(2, Duration::minutes(1));
        assert_eq!(
            limiter.hit(&key, &rule, T0).await.expect("hit"),
            Verdict::Allowed
        );
        assert_eq!(
            limiter.check(&key, &rule, T0).await.expect("check"),
            Verdict::Allowed
        );
        assert_eq!(
            limiter.hit(&key, &rule, T0).await.expect("hit"),
            Verdict::Allowed
        );
        let half = T0 + Duration::seconds(30);
        assert_eq!(
            limiter.check(&key, &rule, half).await.expect("check"),
            Verdict::Throttled {
                retry_after: Duration::seconds(30)
            },
            "{engine:?}"
        );
        assert_eq!(
            limiter.hit(&key, &rule, half).await.expect("hit"),
            Verdict::Throttled {
                retry_after: Duration::seconds(30)
            }
        );
        let next = T0 + Duration::minutes(1);
        assert_eq!(
            limiter.hit(&key, &rule, next).await.expect("hit"),
            Verdict::Allowed
        );
        assert_eq!(
            limiter.hit(&key, &rule, next).await.expect("hit"),
            Verdict::Allowed
        );
        limiter.clear(&key).await.expect("clear");
        assert_eq!(
            limiter.hit(&key, &rule, next).await.expect("hit"),
            Verdict::Allowed
        );
    }
}

#[tokio::test]
async fn rows_pointing_at_a_missing_user_are_refused_on_every_engine() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let nobody = UserId::random();
        let orphan = store.items().insert(&item(nobody, Some(T0))).await;
        assert!(
            matches!(orphan, Err(OwnedWriteError::OwnerGone)),
            "{engine:?}: {orphan:?}"
        );
        let stray = store
            .sessions()
            .create(&session(nobody), &token(), UNCAPPED)
            .await;
        assert!(
            matches!(stray, Err(OwnedWriteError::OwnerGone)),
            "{engine:?}: {stray:?}"
        );
    }
}

#[tokio::test]
async fn deleting_ended_sessions_goes_through_a_backlog_in_batches() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let user = user("backlog@example.com");
        store.users().insert(&user).await.expect("user");
        let sessions = store.sessions();
        // One more than a batch, all over at T0 + 40 days; one live.
        for _ in 0..1001 {
            sessions
                .create(&session(user.id), &token(), UNCAPPED)
                .await
                .expect("session");
        }
        let now = T0 + Duration::days(40);
        let live = gatehouse_domain::Session {
            last_used_at: now,
            not_after: now + Duration::days(30),
            ..session(user.id)
        };
        sessions
            .create(&live, &token(), UNCAPPED)
            .await
            .expect("live");

        let deleted = sessions
            .delete_ended(now, Duration::days(7))
            .await
            .expect("delete");

        assert_eq!(deleted, 1001, "{engine:?}");
        let left = sessions
            .list_live(user.id, now, Duration::days(7))
            .await
            .expect("list");
        assert_eq!(left.len(), 1, "{engine:?}");
        let tokens =
            super::count_rows(&db.connection().await, "gatehouse_refresh_token", None).await;
        assert_eq!(
            tokens, 1,
            "{engine:?}: the deleted sessions' tokens went with them"
        );
    }
}

#[tokio::test]
async fn a_failure_names_the_operation_it_happened_in() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        db.connection()
            .await
            .execute_unprepared("DROP TABLE item")
            .await
            .expect("drop");
        let failure = store
            .items()
            .get(gatehouse_domain::ItemId::random())
            .await
            .expect_err("no table");
        let chain = gatehouse_domain::error_chain(&failure);
        assert!(
            chain.starts_with("unexpected infrastructure failure: during items.get: "),
            "{engine:?}: {chain}"
        );
    }
}
