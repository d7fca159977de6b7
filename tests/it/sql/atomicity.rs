//! Multi-row writes are all or nothing: a trigger created by the test makes the last write
//! of a port method fail, and everything the method wrote before it must be gone again.

use gatehouse_domain::Infra;
use gatehouse_domain::ports::{Redemption, RotationOutcome, UserWriteError};
use gatehouse_tests::db::{Engine, TestDatabase, engines};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use time::Duration;

use super::{SignedIn, T0, count_rows, issue_reset, item, new_password_hash, rotation, signed_in};

/// Makes every `event` (`DELETE`, `UPDATE`) on `table` fail until [`heal`] is called.
async fn inject_failure(conn: &DatabaseConnection, engine: Engine, table: &str, event: &str) {
    let statements = match engine {
        Engine::Sqlite => vec![format!(
            "CREATE TRIGGER injected_failure BEFORE {event} ON \"{table}\" \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )],
        Engine::Postgres => vec![
            "CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER injected_failure BEFORE {event} ON \"{table}\" \
                 FOR EACH ROW EXECUTE FUNCTION injected_failure()"
            ),
        ],
    };
    execute_all(conn, statements, "inject the failure").await;
}

/// Removes the trigger of [`inject_failure`].
async fn heal(conn: &DatabaseConnection, engine: Engine, table: &str) {
    let statements = match engine {
        Engine::Sqlite => vec!["DROP TRIGGER injected_failure".to_owned()],
        Engine::Postgres => vec![
            format!("DROP TRIGGER injected_failure ON \"{table}\""),
            "DROP FUNCTION injected_failure()".to_owned(),
        ],
    };
    execute_all(conn, statements, "heal the failure").await;
}

/// Runs `statements` in order; `purpose` names them when one fails.
async fn execute_all(conn: &DatabaseConnection, statements: Vec<String>, purpose: &str) {
    for sql in statements {
        conn.execute_unprepared(&sql).await.expect(purpose);
    }
}

#[tokio::test]
async fn a_user_delete_failing_at_its_last_write_deletes_nothing() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let SignedIn {
            user: owner,
            refresh: first,
            ..
        } = signed_in(&store, "owner@example.com").await;
        let thing = item(owner.id, Some(T0));
        store.items().insert(&thing).await.expect("item");
        let reset = issue_reset(&store, owner.id).await;
        let session_of = || async { store.sessions().find_by_token(&first).await.expect("find") };
        let conn = db.connection().await;
        inject_failure(&conn, engine, "user", "DELETE").await;

        let err = store.users().delete(owner.id).await.expect_err("injected");
        assert!(
            matches!(err, UserWriteError::Infra(Infra::Unexpected(_))),
            "{engine:?}: {err:?}"
        );
        assert!(store.users().get(owner.id).await.expect("get").is_some());
        assert!(store.items().get(thing.id).await.expect("get").is_some());
        assert!(session_of().await.is_some());
        assert_eq!(count_rows(&conn, "gatehouse_refresh_token", None).await, 1);
        assert_eq!(
            store.reset_tokens().check(&reset, T0).await.expect("check"),
            Redemption::Done(owner.id)
        );

        heal(&conn, engine, "user").await;
        store.users().delete(owner.id).await.expect("delete");
        assert!(store.items().get(thing.id).await.expect("get").is_none());
        assert!(session_of().await.is_none());
        for table in [
            "gatehouse_refresh_token",
            "gatehouse_session",
            "gatehouse_reset_token",
        ] {
            assert_eq!(
                count_rows(&conn, table, None).await,
                0,
                "{engine:?}: {table}"
            );
        }
    }
}

#[tokio::test]
async fn a_reset_failing_while_ending_sessions_keeps_the_password_and_the_token() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let owner = signed_in(&store, "reset@example.com").await.user;
        let reset = issue_reset(&store, owner.id).await;
        let conn = db.connection().await;
        inject_failure(&conn, engine, "gatehouse_session", "UPDATE").await;

        let new_hash = new_password_hash();
        store
            .reset_tokens()
            .redeem(&reset, &new_hash, T0)
            .await
            .expect_err("injected");
        let stored = store
            .users()
            .get(owner.id)
            .await
            .expect("get")
            .expect("user");
        assert_eq!(stored.hashed_password, owner.hashed_password, "{engine:?}");
        assert_eq!(
            store.reset_tokens().check(&reset, T0).await.expect("check"),
            Redemption::Done(owner.id)
        );

        heal(&conn, engine, "gatehouse_session").await;
        assert_eq!(
            store
                .reset_tokens()
                .redeem(&reset, &new_hash, T0)
                .await
                .expect("redeem"),
            Redemption::Done(owner.id)
        );
    }
}

#[tokio::test]
async fn a_rotation_failing_at_its_last_write_stores_no_child() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        let first = signed_in(&store, "rotate@example.com").await.refresh;
        let conn = db.connection().await;
        inject_failure(&conn, engine, "gatehouse_session", "UPDATE").await;
        let rotation = rotation(first, Duration::seconds(10));

        store
            .sessions()
            .rotate(&rotation)
            .await
            .expect_err("injected");
        assert_eq!(
            count_rows(&conn, "gatehouse_refresh_token", None).await,
            1,
            "{engine:?}"
        );

        heal(&conn, engine, "gatehouse_session").await;
        let outcome = store.sessions().rotate(&rotation).await.expect("rotate");
        assert!(
            matches!(outcome, RotationOutcome::Rotated(_)),
            "{outcome:?}"
        );
        assert_eq!(count_rows(&conn, "gatehouse_refresh_token", None).await, 2);
    }
}
