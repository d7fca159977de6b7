//! Connection settings and the one place a pool is opened: URL schemes accepted, pool
//! limits and timeouts (SECURITY.md DB-02), TLS through the URL's `sslmode` (DB-01), and
//! the SQLite pragmas the adapter relies on.

use std::fmt;
use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// How long SQLite waits for another connection's write lock before answering "busy"
/// (mapped to `Infra::Unavailable`).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled connection idle for longer than this is pinged before it is handed out; one in
/// use more recently is handed out as it is, which saves a round trip on every request under
/// load (bench/RESULTS.md, issue 14). The rare connection the server ended in between is
/// caught by its first statement instead (`crate::db`). HikariCP skips its check for
/// connections used within 500 ms.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// The level of sqlx's `sqlx::pool::acquire` event, which carries `acquired_after_secs`.
const ACQUIRE_TIME_LEVEL: log::LevelFilter = log::LevelFilter::Debug;

/// Where the database is and how the pool behaves. `Debug` hides the URL's password.
#[derive(Clone)]
pub struct DbOptions {
    /// `postgres://…` / `postgresql://…` (a `+driver` suffix such as `postgresql+psycopg://`
    /// from the FastAPI template's settings is accepted and ignored), with `sslmode` and
    /// `sslrootcert` honoured as sqlx does; or `sqlite://path?mode=rwc` / `sqlite::memory:`.
    pub url: String,
    /// Upper bound of pooled connections; size it to the server's (Neon's) limit.
    pub max_connections: u32,
    /// Connections kept open while idle; 0 lets a serverless database scale to zero.
    pub min_connections: u32,
    /// How long a query waits for a pooled connection before failing as unavailable
    /// (sqlx's own default of 30 s would hang requests, SECURITY.md S2).
    pub acquire_timeout: Duration,
    /// Idle connections are closed after this long.
    pub idle_timeout: Duration,
    /// Connections are recycled after this long, so server-side changes (role settings,
    /// failovers) reach every connection eventually.
    pub max_lifetime: Duration,
}

impl DbOptions {
    /// Options for `url` with the defaults: 10 connections at most, none kept idle, 3 s to
    /// acquire, 5 min idle, 30 min lifetime.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(300),
            max_lifetime: Duration::from_secs(1800),
        }
    }
}

impl fmt::Debug for DbOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match url::Url::parse(&self.url) {
            Ok(mut parsed) if parsed.password().is_some() => {
                // Only fails for URLs that cannot have a password, which this one has.
                let _ = parsed.set_password(Some("REDACTED"));
                parsed.to_string()
            }
            Ok(_) => self.url.clone(),
            Err(_) => "<unparsable url>".to_owned(),
        };
        f.debug_struct("DbOptions")
            .field("url", &url)
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// Why no pool could be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL names no engine this adapter speaks. Only the scheme is echoed: the rest may
    /// hold a password.
    #[error("unsupported database URL scheme {scheme:?}: expected postgres, postgresql or sqlite")]
    UnsupportedScheme { scheme: String },
    /// The server refused or could not be reached (including a TLS verification failure).
    #[error("cannot connect to the database")]
    Database(#[source] DbErr),
}

/// The engine behind a URL: the one list of engines, for the adapter, the configuration and
/// the test harness alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
}

/// A URL the drivers accept, and its engine: the one reader of database URL schemes, used by
/// this adapter to connect and by the configuration to validate (`DATABASE_URL`, …).
#[derive(Clone, Debug)]
pub struct DatabaseTarget {
    pub(crate) url: String,
    pub(crate) engine: Engine,
    /// A SQLite database living in the connection (`:memory:` or `mode=memory`).
    in_memory: bool,
}

impl DatabaseTarget {
    /// Reads the scheme, case-insensitively, dropping a `+driver` suffix (SQLAlchemy-style
    /// URLs such as the template's `postgresql+psycopg://`).
    ///
    /// # Errors
    /// `UnsupportedScheme` for anything but PostgreSQL and SQLite.
    pub fn parse(url: &str) -> Result<Self, ConnectError> {
        let (scheme, rest) = url.split_once(':').unwrap_or((url, ""));
        let base = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        let engine = match base.as_str() {
            "postgres" | "postgresql" => Engine::Postgres,
            "sqlite" => Engine::Sqlite,
            _ => {
                return Err(ConnectError::UnsupportedScheme {
                    scheme: scheme.to_owned(),
                });
            }
        };
        Ok(Self {
            url: format!("{base}:{rest}"),
            engine,
            in_memory: engine == Engine::Sqlite
                && (rest.starts_with(":memory:") || rest.contains("mode=memory")),
        })
    }

    /// The URL as the drivers take it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine it names.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The host name of a PostgreSQL URL, if it has one.
    pub(crate) fn host(&self) -> Option<String> {
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
    }
}

/// Opens a pool for `target` with `options`' limits.
///
/// # Errors
/// `Database` when the first connection cannot be made.
pub(crate) async fn open(
    target: &DatabaseTarget,
    options: &DbOptions,
) -> Result<DatabaseConnection, ConnectError> {
    let mut opt = ConnectOptions::new(target.url.clone());
    opt.max_connections(options.max_connections)
        .min_connections(options.min_connections)
        .acquire_timeout(options.acquire_timeout)
        .idle_timeout(options.idle_timeout)
        .max_lifetime(options.max_lifetime)
        .set_application_name("gatehouse")
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        // sqlx logs statements with their bound values (SECURITY.md S3, ERR-04).
        .sqlx_logging(false)
        .record_stmt_in_spans(false);
    // sqlx times every acquire; at DEBUG its event reaches the acquire-wait metric (issue 15)
    // and stays out of the logs unless `RUST_LOG` names `sqlx`.
    opt.map_sqlx_postgres_pool_opts(|o| o.acquire_time_level(ACQUIRE_TIME_LEVEL))
        .map_sqlx_sqlite_pool_opts(|o| o.acquire_time_level(ACQUIRE_TIME_LEVEL));
    match target.engine {
        Engine::Postgres => {
            // sqlx sends `extra_float_digits` as a startup parameter, which PgBouncer refuses
            // ("unsupported startup parameter", 08P01) unless told to ignore it; Gatehouse
            // reads no floats, and PostgreSQL ≥ 12 prints them exactly anyway (DB-04).
            opt.map_sqlx_postgres_opts(|o| o.extra_float_digits(None));
        }
        Engine::Sqlite => {
            let in_memory = target.in_memory;
            if in_memory {
                // Every connection to `:memory:` is a separate, empty database: keep exactly
                // one, forever.
                opt.max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
            opt.map_sqlx_sqlite_opts(move |o| {
                let o = o.foreign_keys(true).busy_timeout(SQLITE_BUSY_TIMEOUT);
                if in_memory {
                    o
                } else {
                    o.journal_mode(SqliteJournalMode::Wal)
                }
            });
        }
    }
    Database::connect(opt).await.map_err(ConnectError::Database)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_suffixes_are_dropped_and_engines_recognised() {
        let t = DatabaseTarget::parse("postgresql+psycopg://u:p@db.example.com:5432/app").unwrap();
        assert_eq!(t.url, "postgresql://u:p@db.example.com:5432/app");
        assert_eq!(t.engine, Engine::Postgres);
        assert_eq!(t.host().as_deref(), Some("db.example.com"));
        let memory = DatabaseTarget::parse("sqlite::memory:").unwrap();
        assert_eq!((memory.engine, memory.in_memory), (Engine::Sqlite, true));
        let file = DatabaseTarget::parse("sqlite://gatehouse.db?mode=rwc").unwrap();
        assert_eq!((file.engine, file.in_memory), (Engine::Sqlite, false));
    }

    #[test]
    fn other_schemes_are_refused_without_echoing_the_url() {
        let err = DatabaseTarget::parse("mysql://root:hunter2@db/app").unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("\"mysql\""), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", DbOptions::new("postgres://app:hunter2@db/app"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }
}
