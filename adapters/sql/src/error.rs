//! Sorting database errors into the ports' two infrastructure failures: transient ones
//! (unreachable, pool exhausted, lock or statement timeout, busy) become
//! `Infra::Unavailable`, everything else `Infra::Unexpected`. Conflicts that a port names
//! are recognised here too, portably through `DbErr::sql_err()`.

use gatehouse_domain::Infra;
use gatehouse_domain::ports::{OwnedWriteError, UserWriteError};
use sea_orm::sqlx;
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlErr};

/// SQLSTATEs meaning "try again shortly": lock and statement timeouts, serialisation and
/// deadlock aborts, too many connections. Classes 08 (connection) and 57P (shutdown,
/// cannot connect now) are transient as a whole.
const TRANSIENT_SQLSTATES: [&str; 5] = ["55P03", "57014", "40001", "40P01", "53300"];

/// SQLSTATEs of a session the server ended: `admin_shutdown` (`pg_terminate_backend`, a
/// fast shutdown), `crash_shutdown`, `cannot_connect_now` (starting up or shutting down).
const CONNECTION_ENDED: [&str; 3] = ["57P01", "57P02", "57P03"];

/// SQLite primary result codes meaning another connection holds the lock.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// SQLSTATE and SQLite extended code of a NOT NULL violation.
const NOT_NULL_VIOLATION: &str = "23502";
const SQLITE_CONSTRAINT_NOTNULL: &str = "1299";

/// The port-level failure for a database error; the error is kept as the source for logs.
/// A NOT NULL violation is a schema Gatehouse cannot fill (a required column another
/// backend's operator added, `crate::unfillable`): the service is not ready, so it answers
/// as unavailable rather than with a 500.
///
/// `operation` (`file.function`) names where it happened, for the log line
/// ([`Infra::during`]).
pub(crate) fn infra(operation: &'static str) -> impl Fn(DbErr) -> Infra {
    move |e| {
        let failure = if is_transient(&e) || is_not_null_violation(&e) {
            Infra::unavailable(e)
        } else {
            Infra::unexpected(e)
        };
        failure.during(operation)
    }
}

/// A user write's failure: a unique violation is the email key (ids are random v4, and
/// `ix_user_email` is implied by the key), anything else infrastructure.
pub(crate) fn user_write(operation: &'static str) -> impl Fn(DbErr) -> UserWriteError {
    move |e| {
        if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
            UserWriteError::EmailTaken
        } else {
            UserWriteError::Infra(infra(operation)(e))
        }
    }
}

/// The failure of a write whose row belongs to a user: a foreign-key violation means the
/// user was deleted after the caller read it (the statement wrote nothing).
pub(crate) fn owned_write(operation: &'static str) -> impl Fn(DbErr) -> OwnedWriteError {
    move |e| {
        if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) {
            OwnedWriteError::OwnerGone
        } else {
            OwnedWriteError::Infra(infra(operation)(e))
        }
    }
}

/// Whether `e` says the connection itself is gone (the server ended it while it sat idle in
/// the pool, a restart, a reset): a read that failed so ran on no live session, and may be
/// run again on another connection (`crate::db::Reads`). Statement errors, timeouts and an
/// exhausted pool are not this: trying again would not help or would wait twice.
pub(crate) fn connection_lost(e: &DbErr) -> bool {
    match statement_error(e) {
        None => false,
        Some(sqlx::Error::Io(_)) => true,
        Some(sqlx::Error::Database(db)) => {
            db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
                && db.code().is_some_and(|code| {
                    code.starts_with("08") || CONNECTION_ENDED.contains(&code.as_ref())
                })
        }
        Some(_) => false,
    }
}

/// The driver's error behind a failed statement (not behind connecting or acquiring).
fn statement_error(e: &DbErr) -> Option<&sqlx::Error> {
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

fn is_not_null_violation(e: &DbErr) -> bool {
    let Some(sqlx::Error::Database(db)) = statement_error(e) else {
        return false;
    };
    matches!(
        db.code().as_deref(),
        Some(NOT_NULL_VIOLATION | SQLITE_CONSTRAINT_NOTNULL)
    )
}

fn is_transient(e: &DbErr) -> bool {
    match e {
        DbErr::ConnectionAcquire(reason) => {
            if matches!(reason, ConnAcquireErr::Timeout) {
                // The pool-exhaustion count of the metrics (issue 15); the caller logs the error.
                tracing::debug!(event = "db_acquire_timeout", "no pooled connection in time");
            }
            true
        }
        // A connection that could not be set up is the database being unreachable, whatever
        // sqlx calls it: a peer that accepts and at once closes (a proxy or pooler whose
        // backend is gone) is reported as "unexpected response from SSLRequest: 0x00".
        DbErr::Conn(RuntimeErr::SqlxError(e)) => {
            is_transient_sqlx(e) || matches!(**e, sqlx::Error::Protocol(_))
        }
        _ => statement_error(e).is_some_and(is_transient_sqlx),
    }
}

fn is_transient_sqlx(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                code.starts_with("08")
                    || code.starts_with("57P")
                    || TRANSIENT_SQLSTATES.contains(&code.as_ref())
            } else {
                // sqlx reports SQLite's extended result code; the primary code is its low byte.
                code.parse::<i64>()
                    .is_ok_and(|c| matches!(c & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_pool_is_unavailable_and_a_logic_error_unexpected() {
        assert!(matches!(
            infra("test")(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            Infra::Unavailable(_)
        ));
        assert!(matches!(
            infra("test")(DbErr::RecordNotFound("x".into())),
            Infra::Unexpected(_)
        ));
    }

    #[test]
    fn a_peer_closing_during_connection_set_up_is_unavailable() {
        let closed = || sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert!(matches!(
            infra("test")(DbErr::Conn(RuntimeErr::SqlxError(closed().into()))),
            Infra::Unavailable(_)
        ));
        assert!(
            matches!(
                infra("test")(DbErr::Query(RuntimeErr::SqlxError(closed().into()))),
                Infra::Unexpected(_)
            ),
            "mid-query protocol errors stay unexpected"
        );
    }

    #[test]
    fn only_a_lost_connection_lets_a_read_run_again() {
        let lost = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(connection_lost(&DbErr::Query(RuntimeErr::SqlxError(
            sqlx::Error::Io(lost()).into()
        ))));
        assert!(!connection_lost(&DbErr::Query(RuntimeErr::SqlxError(
            sqlx::Error::PoolTimedOut.into()
        ))));
        assert!(!connection_lost(&DbErr::ConnectionAcquire(
            ConnAcquireErr::Timeout
        )));
        assert!(!connection_lost(&DbErr::RecordNotFound("x".into())));
    }
}
