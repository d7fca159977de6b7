//! The handle every repository shares: the pool, the clock for writes whose port method
//! carries no time, and the transaction discipline.
//!
//! Every multi-row write is one transaction begun by [`Db::begin_write`]. Row locks are
//! always taken in the same order so concurrent writers queue instead of deadlocking:
//! user rows first (active superusers by id, then the target), then session rows, then
//! token rows. On SQLite `BEGIN IMMEDIATE` takes the database write lock up front, which
//! serialises writers outright; sea-query omits the `FOR …` clauses there.
//!
//! The pool does not ping a connection it hands out unless the connection sat idle for a
//! while (`crate::options`), so a connection the server ended meanwhile is found by the
//! first statement on it instead. What that statement was decides what happens: a read
//! ([`Db::reads`]) and a `BEGIN` run once more on another connection, as the ping would
//! have replaced it; any other write fails as unavailable, because whether it ran before the
//! connection broke cannot be known.

use std::future::Future;
use std::sync::Arc;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};
use time::OffsetDateTime;

use crate::error::connection_lost;
use crate::principal_cache::{PrincipalCache, PrincipalCacheHandle};
use crate::stamp;

/// How long a write waits for a row lock on PostgreSQL before giving up as unavailable
/// (SECURITY.md §2.2: 503 with `Retry-After` rather than a hung request).
const LOCK_TIMEOUT: &str = "2s";

/// The pool, and the principal cache when there is one, cloned into every port handle. It
/// keeps no clock: every write is stamped with the `now` its caller passes.
#[derive(Clone)]
pub(crate) struct Db {
    pub(crate) conn: DatabaseConnection,
    pub(crate) principals: Option<Arc<PrincipalCacheHandle>>,
}

impl Db {
    pub(crate) fn new(conn: DatabaseConnection) -> Self {
        Self {
            conn,
            principals: None,
        }
    }

    /// The principal cache, when this store keeps one (`crate::principal_cache`).
    pub(crate) fn principal_cache(&self) -> Option<&PrincipalCache> {
        self.principals.as_deref().map(|handle| &*handle.cache)
    }

    /// Tells the principal cache that this process wrote rows of `user` (its `"user"` row or
    /// its sessions): called once the write is over, committed or not, before the port method
    /// returns, so the next request on this replica reads them again at once (the
    /// notification the triggers send reaches the other replicas, and this one a little later).
    pub(crate) fn wrote_principal(&self, user: uuid::Uuid) {
        if let Some(cache) = self.principal_cache() {
            cache.invalidate(user);
        }
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// A timestamp as bound on this engine (see [`crate::stamp`]).
    pub(crate) fn at(&self, t: OffsetDateTime) -> Value {
        stamp::bind(self.backend(), t)
    }

    /// An optional timestamp as bound on this engine.
    pub(crate) fn at_opt(&self, t: Option<OffsetDateTime>) -> Value {
        stamp::bind_opt(self.backend(), t)
    }

    /// The pool, for statements that only read: see [`Reads`].
    pub(crate) fn reads(&self) -> Reads<'_> {
        Reads(&self.conn)
    }

    /// Begins a transaction that will write: on SQLite with the write lock already held
    /// (waiting at most the busy timeout), on PostgreSQL with row-lock waits capped at
    /// [`LOCK_TIMEOUT`]. Either timeout surfaces as an error `crate::error::infra` maps
    /// to `Unavailable`. Dropping the transaction without committing rolls it back.
    ///
    /// # Errors
    /// The database's.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        // A `BEGIN` that found its connection dead started nothing: begin again.
        let txn = once_more_if_lost(|| {
            self.conn.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
        })
        .await?;
        if self.backend() == DbBackend::Postgres {
            // `SET LOCAL` cannot take a parameter; `set_config(…, true)` is the same, bound.
            // `gatehouse.writer` tells the database triggers of migration 000005 that this
            // write is Gatehouse's own (its password changes end sessions themselves).
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('lock_timeout', $1, true), \
                 set_config('gatehouse.writer', 'gatehouse', true)",
                [LOCK_TIMEOUT.into()],
            ))
            .await?;
        }
        Ok(txn)
    }
}

/// Runs `attempt`, and once more when it failed because its connection was gone (the pool
/// drops a broken connection when it comes back, so the second attempt gets another).
async fn once_more_if_lost<T, F, Fut>(attempt: F) -> Result<T, DbErr>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    match attempt().await {
        Err(error) if connection_lost(&error) => {
            tracing::debug!(event = "db_connection_lost", error = %error, "trying once more");
            attempt().await
        }
        result => result,
    }
}

/// The pool as seen by reads: a query whose connection turns out to be gone runs once more
/// on another connection, so a connection the server ended while idle costs the caller
/// nothing, as when the pool pinged every connection it handed out. Only for statements
/// that change nothing: running one twice must be harmless. Statements through
/// `execute_*` are passed on as they are, never repeated.
pub(crate) struct Reads<'a>(&'a DatabaseConnection);

#[async_trait::async_trait]
impl ConnectionTrait for Reads<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.0.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.0.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.0.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        once_more_if_lost(|| self.0.query_one_raw(stmt.clone())).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        once_more_if_lost(|| self.0.query_all_raw(stmt.clone())).await
    }

    fn support_returning(&self) -> bool {
        self.0.support_returning()
    }
}

/// Ends a transaction whose outcome is known: commits when `keep` (including writes that
/// must stay although the request fails, like a detected token reuse), else rolls back at
/// once so locks are released without waiting for the connection's return to the pool. A
/// failed rollback is only logged: the transaction dies with its connection anyway.
///
/// # Errors
/// The commit's.
pub(crate) async fn finish(txn: DatabaseTransaction, keep: bool) -> Result<(), DbErr> {
    if keep {
        return txn.commit().await;
    }
    if let Err(error) = txn.rollback().await {
        tracing::warn!(error = %error, "rolling back a transaction failed");
    }
    Ok(())
}
