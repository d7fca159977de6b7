//! Connecting: TLS honouring `sslmode` (SECURITY.md DB-01), schemes refused without
//! echoing secrets, in-memory SQLite, and a connection killed under the pool replaced
//! without the caller noticing.

use gatehouse_sql::migrate::Migrations;
use gatehouse_sql::{ConnectError, DbOptions, SqlStore};
use gatehouse_tests::db::{Engine, TestDatabase};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::user;

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn sslmode_require_encrypts_and_verify_full_rejects_a_self_signed_server() {
    let db = TestDatabase::postgres(true).await;
    let required = format!("{}?sslmode=require", db.url());
    let store = SqlStore::connect(&DbOptions::new(required.clone()))
        .await
        .expect("sslmode=require connects to the snakeoil certificate");
    store.readiness().check().await.expect("usable over TLS");
    let conn = sea_orm::Database::connect(required)
        .await
        .expect("connect over TLS");
    let ssl: bool = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .expect("query")
        .expect("a row")
        .try_get("", "ssl")
        .expect("a boolean");
    assert!(ssl);

    let verified =
        SqlStore::connect(&DbOptions::new(format!("{}?sslmode=verify-full", db.url()))).await;
    assert!(
        matches!(verified, Err(ConnectError::Database(_))),
        "verify-full must refuse an unknown issuer"
    );
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_without_echoing_the_url() {
    let err = SqlStore::connect(&DbOptions::new("mysql://root:hunter2@db/app"))
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, ConnectError::UnsupportedScheme { .. }));
    assert!(!err.to_string().contains("hunter2"));
}

#[tokio::test]
async fn an_in_memory_sqlite_store_is_migrated_through_its_own_pool() {
    let store = SqlStore::connect(&DbOptions::new("sqlite::memory:"))
        .await
        .expect("in-memory SQLite");
    Migrations::of_store(&store)
        .expect("not a pooler")
        .up(None)
        .await
        .expect("migrate");
    let alice = user("alice@example.com");
    store.users().insert(&alice).await.expect("insert");
    assert_eq!(store.users().get(alice.id).await.expect("get"), Some(alice));
    store.readiness().check().await.expect("ready");
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn a_connection_killed_under_the_pool_is_replaced_transparently() {
    let db = TestDatabase::postgres(true).await;
    let store = SqlStore::connect(&DbOptions {
        max_connections: 1,
        ..db.options()
    })
    .await
    .expect("connect");
    let alice = user("alice@example.com");
    store.users().insert(&alice).await.expect("insert");

    let killer = db.connection().await;
    killer
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
            ["gatehouse".into()],
        ))
        .await
        .expect("terminate the pool's connection");

    // The pool tests idle connections before handing them out and replaces dead ones.
    assert_eq!(
        store.users().get(alice.id).await.expect("recovered"),
        Some(alice)
    );
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn a_write_transaction_begun_on_a_killed_connection_begins_again_on_another() {
    let db = TestDatabase::postgres(true).await;
    let store = SqlStore::connect(&DbOptions {
        max_connections: 1,
        ..db.options()
    })
    .await
    .expect("connect");
    let alice = user("alice@example.com");
    store.users().insert(&alice).await.expect("insert");

    db.connection()
        .await
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
            ["gatehouse".into()],
        ))
        .await
        .expect("terminate the pool's connection");

    // The pool hands a recently used connection out untested; a BEGIN that finds it dead
    // started nothing, so it is sent again on a fresh connection.
    store.users().delete(alice.id).await.expect("deleted");
    assert_eq!(store.users().get(alice.id).await.expect("read"), None);
}

#[tokio::test]
async fn a_sqlite_file_database_is_switched_to_write_ahead_logging() {
    let db = TestDatabase::create(Engine::Sqlite, true).await;
    let _store = db.store().await;
    // The journal mode is a property of the file, so a plain connection sees it too.
    let mode: String = db
        .connection()
        .await
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA journal_mode",
        ))
        .await
        .expect("query")
        .expect("a row")
        .try_get("", "journal_mode")
        .expect("a mode");
    assert_eq!(mode, "wal");
}
