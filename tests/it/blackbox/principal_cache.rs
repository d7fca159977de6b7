//! The principal cache (issue 14 item 3, docs/principal-cache.md) over real HTTP on
//! PostgreSQL: two replicas on one database, each with its cache warmed (the second
//! `GET /users/me` is a hit), then a write that ends the principal on one of them. The replica
//! that answered the write refuses the very next request; the other refuses within a polling
//! deadline (its notification's trip; the 100 ms p99 is measured by bench/propagation.sh, not
//! asserted here). Writes other processes make with plain SQL invalidate too, and while the
//! listener is away the cache is bypassed, then cleared when it is back.

use std::time::{Duration, Instant};

use gatehouse_sql::{LISTENER_APPLICATION_NAME, PrincipalCacheStats};
use gatehouse_tests::app::{Backend, Options, PrincipalCache, TestApp, send};
use gatehouse_tests::db::{TestDatabase, address, with_address};
use gatehouse_tests::proxy::TcpProxy;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;

use super::answers::{LOGOUT, Pair, log_in};

/// Generous: a notification normally arrives in milliseconds; the listener reconnects within
/// its longest retry wait (5 s) of the database coming back.
const DEADLINE: Duration = Duration::from_secs(15);

/// How often a polling loop looks again.
const POLL: Duration = Duration::from_millis(10);

fn cached() -> Options {
    Options {
        principal_cache: PrincipalCache::On,
        ..Options::unthrottled()
    }
}

fn stats(app: &TestApp) -> PrincipalCacheStats {
    app.sql_store
        .as_ref()
        .and_then(gatehouse_sql::SqlStore::principal_cache_stats)
        .expect("a SQL store with a principal cache")
}

/// Polls `app`'s cache until `done` holds, failing the test after [`DEADLINE`].
async fn until(app: &TestApp, what: &str, done: impl Fn(&PrincipalCacheStats) -> bool) {
    let start = Instant::now();
    loop {
        let now = stats(app);
        if done(&now) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "{what}: still {now:?}");
        tokio::time::sleep(POLL).await;
    }
}

async fn listening(app: &TestApp) {
    until(app, "the listener listens", |s| s.listening).await;
}

/// A caching app on a fresh PostgreSQL database whose listener goes through a proxy the test
/// controls (the runtime pool does not), listening.
async fn behind_a_proxy() -> (TestApp, TcpProxy) {
    let db = TestDatabase::postgres(true).await;
    let proxy = TcpProxy::start(address(db.url())).await;
    let via = with_address(db.url(), "127.0.0.1", proxy.port());
    let pool = db.runtime_options();
    let options = Options {
        principal_cache: PrincipalCache::Via(via),
        ..Options::unthrottled()
    };
    let app = TestApp::spawn_on(db, pool, options).await;
    listening(&app).await;
    (app, proxy)
}

/// Two caching replicas on one fresh PostgreSQL database, both listening; the first one's
/// listener through the returned proxy.
async fn two_replicas() -> (TestApp, TestApp, TcpProxy) {
    let (a, proxy) = behind_a_proxy().await;
    let b = a.spawn_replica().await;
    listening(&b).await;
    (a, b, proxy)
}

async fn me_status(app: &TestApp, access: &str) -> StatusCode {
    app.me(access).await.status()
}

/// `GET /users/me` with `access` until one is answered from the cache, all 200. Usually the
/// second: the first one loads and stores, unless the notification of an earlier write of the
/// user (the login's session) arrives while it loads, which makes it store nothing.
async fn warm(app: &TestApp, access: &str) {
    let start = Instant::now();
    loop {
        let before = stats(app).hits;
        assert_eq!(me_status(app, access).await, StatusCode::OK);
        if stats(app).hits > before {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "never served from the cache");
    }
}

/// Polls `GET /users/me` on `app` until it answers `refused`, failing after [`DEADLINE`];
/// returns how long that took.
async fn refused_soon(app: &TestApp, access: &str, refused: StatusCode) -> Duration {
    let start = Instant::now();
    loop {
        let status = me_status(app, access).await;
        if status == refused {
            return start.elapsed();
        }
        assert_eq!(
            status,
            StatusCode::OK,
            "neither served nor refused as expected"
        );
        assert!(
            start.elapsed() < DEADLINE,
            "still served {:?} after the write",
            start.elapsed()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A principal-ending write, made through replica `a`'s API.
#[derive(Clone, Copy, Debug)]
enum Write {
    Logout,
    PasswordChange,
    Deactivation,
    Deletion,
}

impl Write {
    /// What `GET /users/me` answers afterwards (CONTRACT.md §3.1: the user's existence and
    /// activity are checked before the session).
    fn refusal(self) -> StatusCode {
        match self {
            Self::Logout | Self::PasswordChange => StatusCode::FORBIDDEN,
            Self::Deactivation => StatusCode::BAD_REQUEST,
            Self::Deletion => StatusCode::NOT_FOUND,
        }
    }
}

/// Warms both caches with a session of a fresh user, makes `write` on `a` (200), and checks
/// that `a` refuses that session's next request at once and `b` soon. `a`'s listener is
/// stalled meanwhile (connected, but no notification gets through), so `a` cannot owe its
/// refusal to the notification of its own write: it must have invalidated locally.
async fn a_write_on_one_replica_ends_the_principal_on_both(write: Write) {
    let (a, b, a_listener) = two_replicas().await;
    let (account, id) = a.new_user().await;
    // The session the write ends; a password change ends the caller's *other* sessions.
    let victim = log_in(&a, &account).await;
    let caller: Pair = log_in(&a, &account).await;
    let admin = a.admin_token().await;
    warm(&b, &victim.access).await;
    // Stalled before warming: a late notification of the logins above cannot empty the
    // cache after it was warmed, so the refusal below is the write's own doing.
    a_listener.stall();
    warm(&a, &victim.access).await;
    let (status, body) = match write {
        Write::Logout => send(a.post(LOGOUT).bearer_auth(&victim.access)).await,
        Write::PasswordChange => {
            send(
                a.patch("/api/v1/users/me/password")
                    .bearer_auth(&caller.access)
                    .json(&json!({
                        "current_password": account.password,
                        "new_password": "a brand new password"
                    })),
            )
            .await
        }
        Write::Deactivation => {
            send(
                a.patch(&format!("/api/v1/users/{id}"))
                    .bearer_auth(&admin)
                    .json(&json!({"is_active": false})),
            )
            .await
        }
        Write::Deletion => send(a.delete(&format!("/api/v1/users/{id}")).bearer_auth(&admin)).await,
    };
    assert_eq!(status, StatusCode::OK, "{write:?}: {body}");

    assert_eq!(
        me_status(&a, &victim.access).await,
        write.refusal(),
        "{write:?}: the replica that wrote refuses the next request at once"
    );
    let seen = stats(&a);
    assert!(
        seen.listening && seen.disconnects == 0,
        "{write:?}: the stalled listener was given up (its heartbeat waits 2 s) before the \
         check, which then proves nothing: {seen:?}"
    );
    let took = refused_soon(&b, &victim.access, write.refusal()).await;
    eprintln!("{write:?}: the other replica refused after {took:?}");
    a_listener.resume();
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_is_seen_at_once_on_its_replica_and_soon_on_the_other() {
    a_write_on_one_replica_ends_the_principal_on_both(Write::Logout).await;
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_is_seen_at_once_on_its_replica_and_soon_on_the_other() {
    a_write_on_one_replica_ends_the_principal_on_both(Write::PasswordChange).await;
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivation_is_seen_at_once_on_its_replica_and_soon_on_the_other() {
    a_write_on_one_replica_ends_the_principal_on_both(Write::Deactivation).await;
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_is_seen_at_once_on_its_replica_and_soon_on_the_other() {
    a_write_on_one_replica_ends_the_principal_on_both(Write::Deletion).await;
}

/// Runs `sql` with `$1` bound to `id` on a connection of the test's own, as another backend
/// (the template) or an operator would.
async fn direct(conn: &DatabaseConnection, sql: &str, id: &str) {
    let id: uuid::Uuid = id.parse().expect("a user id");
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [id.into()],
    ))
    .await
    .expect(sql);
}

const DEACTIVATE: &str = r#"UPDATE "user" SET is_active = false WHERE id = $1"#;
const REACTIVATE: &str = r#"UPDATE "user" SET is_active = true WHERE id = $1"#;

/// A caching app on a fresh database, listening.
async fn spawn_cached() -> TestApp {
    let app = TestApp::spawn_with(Backend::Sql, cached()).await;
    listening(&app).await;
    app
}

/// A signed-up user whose principal `app` serves from its cache, and a connection of another
/// process (as the template's would be) to write their rows with plain SQL.
struct Cached {
    other: DatabaseConnection,
    id: String,
    access: String,
}

async fn cached_user(app: &TestApp) -> Cached {
    let other = app.sql().await.expect("a SQL backend");
    let (account, id) = app.new_user().await;
    let access = log_in(app, &account).await.access;
    warm(app, &access).await;
    Cached { other, id, access }
}

impl Cached {
    /// Deactivates the user with plain SQL and checks that the very next request sees it:
    /// the cache is bypassed.
    async fn deactivated_and_seen_at_once(&self, app: &TestApp) {
        direct(&self.other, DEACTIVATE, &self.id).await;
        assert_eq!(
            me_status(app, &self.access).await,
            StatusCode::BAD_REQUEST,
            "bypassed: the change is seen by the very next request"
        );
    }

    /// Reactivates the user with plain SQL, waits until `app` serves them again, then until it
    /// serves them from the cache.
    async fn reactivated_and_cached_again(&self, app: &TestApp) {
        direct(&self.other, REACTIVATE, &self.id).await;
        let start = Instant::now();
        while me_status(app, &self.access).await != StatusCode::OK {
            assert!(start.elapsed() < DEADLINE, "the reactivation was not seen");
            tokio::time::sleep(POLL).await;
        }
        warm(app, &self.access).await;
    }
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_with_plain_sql_by_another_connection_invalidate() {
    let app = spawn_cached().await;
    let user = cached_user(&app).await;

    direct(&user.other, DEACTIVATE, &user.id).await;
    refused_soon(&app, &user.access, StatusCode::BAD_REQUEST).await;

    user.reactivated_and_cached_again(&app).await;
    direct(
        &user.other,
        "UPDATE gatehouse_session SET revoked_at = now(), revoked_reason = 'logout' \
         WHERE user_id = $1",
        &user.id,
    )
    .await;
    refused_soon(&app, &user.access, StatusCode::FORBIDDEN).await;
}

/// The listener's backend ended by the server (`pg_terminate_backend`, as a failover or an
/// idle-connection reaper would): the process notices, listens again on a new connection and
/// clears the cache before using it, which then works as before.
#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_listener_is_replaced_and_the_cache_cleared_before_use() {
    let app = spawn_cached().await;
    let user = cached_user(&app).await;
    let before = stats(&app);
    assert!(before.entries > 0, "{before:?}");

    let ended = user
        .other
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity \
             WHERE application_name = $1 AND datname = current_database()",
            [LISTENER_APPLICATION_NAME.into()],
        ))
        .await
        .expect("terminate the listener");
    assert_eq!(ended.len(), 1, "one listener connection");

    until(&app, "the listener is lost and back", |s| {
        s.disconnects == before.disconnects + 1 && s.connects == before.connects + 1 && s.listening
    })
    .await;
    assert_eq!(
        stats(&app).entries,
        0,
        "cleared when the listener came back"
    );
    warm(&app, &user.access).await;
    direct(&user.other, DEACTIVATE, &user.id).await;
    refused_soon(&app, &user.access, StatusCode::BAD_REQUEST).await;
}

/// The listener's path to the database cut (the proxy refuses new connections too): while it
/// is away every request reads the database, so a change made meanwhile is seen at once and
/// nothing is cached; once it is back the cache starts empty and is used again.
#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_listener_is_away_the_cache_is_bypassed() {
    let (app, proxy) = behind_a_proxy().await;
    let user = cached_user(&app).await;

    proxy.cut().await;
    until(&app, "the listener is lost", |s| !s.listening).await;
    assert_eq!(stats(&app).entries, 0, "dropped when the listener went");

    user.deactivated_and_seen_at_once(&app).await;
    direct(&user.other, REACTIVATE, &user.id).await;
    let hits = stats(&app).hits;
    for _ in 0..2 {
        assert_eq!(me_status(&app, &user.access).await, StatusCode::OK);
    }
    let now = stats(&app);
    assert_eq!(
        (now.hits, now.entries),
        (hits, 0),
        "nothing served or stored"
    );

    proxy.restore().await;
    until(&app, "the listener is back", |s| s.listening).await;
    warm(&app, &user.access).await;
    direct(&user.other, DEACTIVATE, &user.id).await;
    refused_soon(&app, &user.access, StatusCode::BAD_REQUEST).await;
}

/// SQLite keeps no cache: asking for one changes nothing.
#[tokio::test]
async fn sqlite_has_no_principal_cache() {
    let db = TestDatabase::create(gatehouse_tests::db::Engine::Sqlite, true).await;
    let store = gatehouse_sql::SqlStore::connect(&db.options())
        .await
        .expect("SQLite")
        .with_principal_cache(&db.options())
        .expect("accepted and ignored");
    assert_eq!(store.principal_cache_stats(), None);
}

/// The listener's connection silently dead (the proxy holds every byte, nothing is closed):
/// its heartbeat gives it up within seconds, after which the cache is bypassed; once bytes
/// flow again a new connection listens and the cache is used again.
#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_listener_is_given_up_by_its_heartbeat() {
    let (app, proxy) = behind_a_proxy().await;
    let user = cached_user(&app).await;

    proxy.stall();
    until(&app, "the heartbeat gives the listener up", |s| {
        !s.listening
    })
    .await;
    user.deactivated_and_seen_at_once(&app).await;

    proxy.resume();
    until(&app, "the listener is back", |s| {
        s.listening && s.connects == 2
    })
    .await;
    user.reactivated_and_cached_again(&app).await;
}

/// Without migration 000006's triggers nothing would tell the cache of a change: a trigger
/// disabled (as an operator's off switch, or a schema rolled back) turns every replica's cache
/// off within its next heartbeat, and enabling it again turns it back on.
#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_triggers_the_cache_is_bypassed() {
    let app = spawn_cached().await;
    let user = cached_user(&app).await;

    user.other
        .execute_unprepared(
            "ALTER TABLE gatehouse_session DISABLE TRIGGER gatehouse_session_principal",
        )
        .await
        .expect("disable the trigger");
    until(&app, "the heartbeat finds the trigger off", |s| {
        !s.listening
    })
    .await;
    user.deactivated_and_seen_at_once(&app).await;

    user.other
        .execute_unprepared(
            "ALTER TABLE gatehouse_session ENABLE TRIGGER gatehouse_session_principal",
        )
        .await
        .expect("enable the trigger");
    until(&app, "the listener is back", |s| s.listening).await;
    user.reactivated_and_cached_again(&app).await;
}
