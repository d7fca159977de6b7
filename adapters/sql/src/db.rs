//! The handle every repository shares: the pool, the clock for writes whose port method
//! carries no time, and the transaction discipline.
//!
//! Every multi-row write is one transaction begun by [`Db::begin_write`]. Row locks are
//! always taken in the same order so concurrent writers queue instead of deadlocking:
//! user rows first (active superusers by id, then the target), then session rows, then
//! token rows. On SQLite `BEGIN IMMEDIATE` takes the database write lock up front, which
//! serialises writers outright; sea-query omits the `FOR …` clauses there.

use std::sync::Arc;

use gatehouse_domain::ports::Clock;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};
use time::OffsetDateTime;

use crate::stamp;

/// How long a write waits for a row lock on PostgreSQL before giving up as unavailable
/// (SECURITY.md §2.2: 503 with `Retry-After` rather than a hung request).
const LOCK_TIMEOUT: &str = "2s";

/// Pool plus clock, cloned into every port handle.
#[derive(Clone)]
pub(crate) struct Db {
    pub(crate) conn: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

impl Db {
    pub(crate) fn new(conn: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self { conn, clock }
    }

    pub(crate) fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// The time for writes whose port method carries none, as it will be stored.
    pub(crate) fn now(&self) -> OffsetDateTime {
        stamp::micros(self.clock.now())
    }

    /// A timestamp as bound on this engine (see [`crate::stamp`]).
    pub(crate) fn at(&self, t: OffsetDateTime) -> Value {
        stamp::bind(self.backend(), t)
    }

    /// An optional timestamp as bound on this engine.
    pub(crate) fn at_opt(&self, t: Option<OffsetDateTime>) -> Value {
        stamp::bind_opt(self.backend(), t)
    }

    /// Begins a transaction that will write: on SQLite with the write lock already held
    /// (waiting at most the busy timeout), on PostgreSQL with row-lock waits capped at
    /// [`LOCK_TIMEOUT`]. Either timeout surfaces as an error `crate::error::infra` maps
    /// to `Unavailable`. Dropping the transaction without committing rolls it back.
    ///
    /// # Errors
    /// The database's.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let txn = self
            .conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
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
