//! Test databases: each test gets its own fresh database, migrated with the real migrator
//! and dropped afterwards — PostgreSQL when `TEST_DATABASE_URL` names a server (a new
//! database created through that URL's maintenance database), else a SQLite file in a
//! temporary directory. Tests that only mean something on PostgreSQL ask for it and are
//! reported as ignored when no server is configured.
//!
//! With `TEST_DATABASE_POOLER_URL` also set (PgBouncer in CI), the application's runtime
//! pool reaches the same databases through that pooler, while creating, migrating, dropping
//! and test-only SQL stay on the direct URL, as in production (SECURITY.md DB-04).

use std::path::PathBuf;
use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

use gatehouse_sql::migrate::Migrations;
use gatehouse_sql::{DbOptions, SqlStore};
use sea_orm::sqlx::{self, Connection, PgConnection};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use uuid::Uuid;

/// The variable naming the PostgreSQL server tests may create databases on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The variable naming a connection pooler in front of that server: only its host and
/// port are used, replacing the server's in [`TestDatabase::runtime_options`]; the pooler
/// must route every database name to the server (PgBouncer: `* = host=… port=…`).
pub const TEST_DATABASE_POOLER_URL: &str = "TEST_DATABASE_POOLER_URL";

/// Prefix of every database the harness creates; the rest is `<unix seconds>_<random>`.
const PREFIX: &str = "gatehouse_test_";

/// Databases of crashed runs older than this are swept away by the next run.
const STALE_AFTER_SECS: u64 = 3600;

pub use gatehouse_sql::Engine;

/// Every engine available here: SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set.
pub fn engines() -> Vec<Engine> {
    let mut engines = vec![Engine::Sqlite];
    if server_url().is_some() {
        engines.push(Engine::Postgres);
    }
    engines
}

/// The engine tests use by default: PostgreSQL when configured, else SQLite.
pub fn preferred_engine() -> Engine {
    if server_url().is_some() {
        Engine::Postgres
    } else {
        Engine::Sqlite
    }
}

/// One fresh database, removed when dropped.
pub struct TestDatabase {
    url: String,
    engine: Engine,
    _cleanup: Cleanup,
}

impl TestDatabase {
    /// A fresh, migrated database on the preferred engine.
    pub async fn new() -> Self {
        Self::create(preferred_engine(), true).await
    }

    /// A fresh database on `engine`, migrated when `migrated`.
    ///
    /// # Panics
    /// When `engine` is PostgreSQL and `TEST_DATABASE_URL` is unset, or setting up fails.
    pub async fn create(engine: Engine, migrated: bool) -> Self {
        let db = match engine {
            Engine::Postgres => Self::create_postgres().await,
            Engine::Sqlite => Self::create_sqlite(),
        };
        if migrated {
            db.migrations()
                .await
                .up(None)
                .await
                .expect("migrate the test database");
        }
        db
    }

    /// A fresh database on PostgreSQL, for tests that only mean something there. Such a
    /// test carries `#[cfg_attr(no_test_database, ignore = "…")]`, so without
    /// `TEST_DATABASE_URL` the runner lists it as ignored instead of passing it unrun
    /// (`tests/build.rs` sets the flag).
    ///
    /// # Panics
    /// When `TEST_DATABASE_URL` is unset (the test lacks that attribute), or setting up fails.
    pub async fn postgres(migrated: bool) -> Self {
        Self::create(Engine::Postgres, migrated).await
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine behind it.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Connection options for the application's runtime pool, with the adapter's defaults:
    /// on PostgreSQL through the pooler of `TEST_DATABASE_POOLER_URL` when it is set, else
    /// the database's own URL.
    pub fn runtime_options(&self) -> DbOptions {
        let pooler = match self.engine {
            Engine::Postgres => env_url(TEST_DATABASE_POOLER_URL),
            Engine::Sqlite => None,
        };
        DbOptions::new(match pooler {
            Some(pooler) => {
                let pooler = url::Url::parse(&pooler).expect("TEST_DATABASE_POOLER_URL is a URL");
                with_address(
                    &self.url,
                    pooler
                        .host_str()
                        .expect("TEST_DATABASE_POOLER_URL names a host"),
                    pooler.port().unwrap_or(DEFAULT_PORT),
                )
            }
            None => self.url.clone(),
        })
    }

    /// Connection options with the adapter's defaults.
    pub fn options(&self) -> DbOptions {
        DbOptions::new(self.url.clone())
    }

    /// The SQL adapter over this database.
    pub async fn store(&self) -> SqlStore {
        SqlStore::connect(&self.options())
            .await
            .expect("connect the SQL adapter to the test database")
    }

    /// The migration runner for this database.
    pub async fn migrations(&self) -> Migrations {
        Migrations::connect(&self.options())
            .await
            .expect("connect the migrator to the test database")
    }

    /// A plain sea-orm connection, for test-only SQL (catalog reads, injected triggers).
    pub async fn connection(&self) -> DatabaseConnection {
        let mut options = ConnectOptions::new(self.url.clone());
        options.max_connections(2).sqlx_logging(false);
        Database::connect(options)
            .await
            .expect("connect to the test database")
    }

    async fn create_postgres() -> Self {
        let server = server_url().expect("TEST_DATABASE_URL is set");
        let mut maintenance = PgConnection::connect(&server)
            .await
            .expect("connect to TEST_DATABASE_URL");
        static SWEEP: Once = Once::new();
        let mut sweep = false;
        SWEEP.call_once(|| sweep = true);
        if sweep {
            sweep_stale(&mut maintenance).await;
        }
        let name = format!("{PREFIX}{}_{}", unix_now(), Uuid::new_v4().simple());
        execute_ddl(&mut maintenance, &format!("CREATE DATABASE \"{name}\"")).await;
        let mut url = url::Url::parse(&server).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Self {
            url: url.to_string(),
            engine: Engine::Postgres,
            _cleanup: Cleanup::Postgres { server, name },
        }
    }

    fn create_sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("gatehouse-test-{}", Uuid::new_v4()));
        std::fs::create_dir(&dir).expect("create the test database directory");
        let url = format!("sqlite://{}?mode=rwc", dir.join("gatehouse.db").display());
        Self {
            url,
            engine: Engine::Sqlite,
            _cleanup: Cleanup::Sqlite { dir },
        }
    }
}

/// What to remove when the test is over.
enum Cleanup {
    Postgres { server: String, name: String },
    Sqlite { dir: PathBuf },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { server, name } => {
                // Drop runs inside the test's runtime, which cannot be blocked on; a thread
                // with its own runtime and a fresh connection does the work, and `FORCE`
                // ends whatever pools the test left open.
                let (server, doomed) = (server.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime to drop the test database")
                        .block_on(async move {
                            let mut conn = PgConnection::connect(&server).await?;
                            drop_database(&mut conn, &doomed).await
                        })
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("warning: test database {name} was not dropped: {dropped:?}");
                }
            }
        }
    }
}

/// PostgreSQL's port when a URL names none.
const DEFAULT_PORT: u16 = 5432;

/// `url` (PostgreSQL) with its host and port replaced: the same database and credentials
/// reached through a pooler or a test's proxy.
///
/// # Panics
/// When `url` is not a URL with a host.
pub fn with_address(url: &str, host: &str, port: u16) -> String {
    let mut url = url::Url::parse(url).expect("a PostgreSQL URL");
    url.set_host(Some(host)).expect("a URL with a host");
    url.set_port(Some(port)).expect("a URL with a host");
    url.to_string()
}

/// The `host:port` a PostgreSQL URL connects to.
///
/// # Panics
/// When `url` is not a URL with a host.
pub fn address(url: &str) -> String {
    let url = url::Url::parse(url).expect("a PostgreSQL URL");
    format!(
        "{}:{}",
        url.host_str().expect("a URL with a host"),
        url.port().unwrap_or(DEFAULT_PORT)
    )
}

fn server_url() -> Option<String> {
    env_url(TEST_DATABASE_URL)
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs a DDL statement naming a harness database. Identifiers cannot be bound; the names
/// are built here from digits, hex and underscores only, which the assertion re-checks.
async fn execute_ddl(conn: &mut PgConnection, sql: &str) {
    try_execute_ddl(conn, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn try_execute_ddl(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    assert!(
        sql.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _\"()".contains(c)),
        "unexpected characters in {sql}"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await
        .map(|_| ())
}

async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    try_execute_ddl(
        conn,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await
}

/// Drops harness databases left behind by runs that crashed more than an hour ago.
async fn sweep_stale(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(PREFIX)
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    let now = unix_now();
    for name in names {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|c| now.saturating_sub(c) > STALE_AFTER_SECS) {
            let _ = drop_database(conn, &name).await;
        }
    }
}
