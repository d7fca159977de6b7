//! The migration runner behind `gatehouse migrate up|down|status|fresh` and readiness:
//! applies `gatehouse_migration::Migrator` with every change serialised by a PostgreSQL
//! advisory lock (SECURITY.md DB-05, §4.4), and refuses a transaction-mode pooler, which
//! cannot keep that lock (DB-04).
//!
//! The lock is a session lock on one connection detached from the pool (which frees its
//! slot, so even a one-connection pool keeps working) while the migrations run on pooled
//! connections, each in its own transaction together with its `seaql_migrations` row. Whoever gets the lock second finds nothing pending.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use gatehouse_migration::Migrator;
use sea_orm::sqlx::{self, Connection};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityName, EntityTrait, Statement,
};
use sea_orm_migration::{MigratorTrait, SchemaManager, seaql_migrations};

use crate::SqlStore;
use crate::options::{ConnectError, DatabaseTarget, DbOptions, Engine, open};

/// The PostgreSQL advisory-lock key every Gatehouse migration runner takes ("gatehous" in
/// ASCII); `pg_locks.objid` shows who holds it.
pub const LOCK_KEY: i64 = 0x6761_7465_686f_7573;

/// How long a runner waits for another one by default: long enough for a large backfill.
const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(120);

/// SQLSTATE `lock_not_available`: `lock_timeout` expired.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// One migration and whether the database has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// Why a migration command failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The URL points at a connection pooler (Neon's `-pooler` host).
    #[error(
        "refusing to migrate through the connection pooler {host}: migrations hold a \
         session-level advisory lock, which a transaction-mode pooler cannot keep; use the \
         direct endpoint (DATABASE_MIGRATION_URL) instead"
    )]
    Pooler { host: String },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Another runner kept the migration lock longer than we were willing to wait.
    #[error("another migration runner held the migration lock for more than {0:?}")]
    LockTimeout(Duration),
    /// The lock could not be taken for another reason (the database went away).
    #[error("cannot take the migration lock")]
    Lock(#[source] sqlx::Error),
    /// The template's tables belong to a role the migrations do not run as (the ownership
    /// step of docs/from-the-template.md was skipped).
    #[error(
        "\"user\" belongs to role {owner}, not to {runner}, which runs the migrations: it could \
         neither see the template's alembic_version nor alter its tables. As {owner}, run \
         ALTER TABLE \"user\" OWNER TO {runner}; and the same for item and alembic_version \
         (docs/from-the-template.md, the ownership step), then migrate again"
    )]
    ForeignOwner { owner: String, runner: String },
    /// A migration failed; on PostgreSQL its transaction left nothing behind.
    #[error("migration failed: {0}")]
    Failed(DbErr),
}

/// A connection for running migrations.
pub struct Migrations {
    db: DatabaseConnection,
    lock_wait: Duration,
}

impl Migrations {
    /// Connects for migrating.
    ///
    /// # Errors
    /// `Pooler` for a `-pooler` host (before connecting), `Connect` when the database
    /// cannot be reached.
    pub async fn connect(options: &DbOptions) -> Result<Self, MigrateError> {
        let target = DatabaseTarget::parse(&options.url)?;
        refuse_pooler(&target)?;
        Ok(Self::over(open(&target, options).await?))
    }

    /// Migrates through `store`'s own pool: the only way to reach an in-memory SQLite
    /// database, and one pool fewer for a server that migrates at start-up.
    ///
    /// # Errors
    /// `Pooler` when the store was opened through a `-pooler` host.
    pub fn of_store(store: &SqlStore) -> Result<Self, MigrateError> {
        refuse_pooler(&store.target)?;
        Ok(Self::over(store.db.conn.clone()))
    }

    fn over(db: DatabaseConnection) -> Self {
        Self {
            db,
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }

    /// How long to wait for another runner's lock (default two minutes).
    pub fn with_lock_wait(self, lock_wait: Duration) -> Self {
        Self { lock_wait, ..self }
    }

    /// Applies `steps` pending migrations, or all of them.
    ///
    /// # Errors
    /// See [`MigrateError`].
    pub async fn up(&self, steps: Option<u32>) -> Result<(), MigrateError> {
        // Nothing of ours to apply: a no-op, also on a schema a newer release has moved ahead
        // (sea-orm-migration refuses applied migrations it has no file for, which would stop
        // an older replica's `serve --migrate` in the middle of a rolling upgrade or rollback).
        if self.pending().await? == 0 {
            return Ok(());
        }
        refuse_foreign_owner(&self.db).await?;
        self.locked(Migrator::up(&self.db, steps)).await
    }

    /// Rolls back the last `steps` applied migrations, or all of them.
    ///
    /// # Errors
    /// See [`MigrateError`].
    pub async fn down(&self, steps: Option<u32>) -> Result<(), MigrateError> {
        self.locked(Migrator::down(&self.db, steps)).await
    }

    /// Drops every table of the database (not only Gatehouse's) and applies every migration.
    ///
    /// # Errors
    /// See [`MigrateError`].
    pub async fn fresh(&self) -> Result<(), MigrateError> {
        self.locked(Migrator::fresh(&self.db)).await
    }

    /// Every known migration, oldest first, with whether it is applied. Reads only.
    ///
    /// # Errors
    /// `Failed` when the database cannot be read.
    pub async fn status(&self) -> Result<Vec<MigrationState>, MigrateError> {
        let applied = applied_versions(&self.db)
            .await
            .map_err(MigrateError::Failed)?;
        Ok(Migrator::migrations()
            .iter()
            .map(|m| MigrationState {
                name: m.name().to_owned(),
                applied: applied.contains(m.name()),
            })
            .collect())
    }

    /// Unknown required columns without a default on the tables Gatehouse writes, as
    /// `table.column` (see `crate::unfillable`). Reads only.
    ///
    /// # Errors
    /// `Failed` when the database cannot be read.
    pub async fn unfillable_columns(&self) -> Result<Vec<String>, MigrateError> {
        crate::unfillable::unfillable_columns(&self.db)
            .await
            .map_err(MigrateError::Failed)
    }

    /// How many known migrations are not applied yet. Reads only.
    ///
    /// # Errors
    /// `Failed` when the database cannot be read.
    pub async fn pending(&self) -> Result<usize, MigrateError> {
        pending_count(&self.db).await.map_err(MigrateError::Failed)
    }

    /// Runs `work` holding the migration lock on PostgreSQL (SQLite has one writer anyway).
    async fn locked(
        &self,
        work: impl Future<Output = Result<(), DbErr>>,
    ) -> Result<(), MigrateError> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return work.await.map_err(MigrateError::Failed);
        }
        // Detached, so the session (and its lock and `lock_timeout`) never returns to the pool.
        let mut holder = self
            .db
            .get_postgres_connection_pool()
            .acquire()
            .await
            .map_err(MigrateError::Lock)?
            .detach();
        sqlx::query("SELECT set_config('lock_timeout', $1, false)")
            .bind(format!("{}ms", self.lock_wait.as_millis()))
            .execute(&mut holder)
            .await
            .map_err(MigrateError::Lock)?;
        if let Err(e) = sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut holder)
            .await
        {
            let timed_out = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == LOCK_NOT_AVAILABLE);
            return Err(if timed_out {
                MigrateError::LockTimeout(self.lock_wait)
            } else {
                MigrateError::Lock(e)
            });
        }
        let result = work.await;
        // Ending the session releases the lock, whatever became of the work.
        if let Err(error) = holder.close().await {
            tracing::warn!(error = %error, "closing the migration lock's connection failed");
        }
        result.map_err(MigrateError::Failed)
    }
}

/// Refuses to migrate a PostgreSQL database whose `"user"` table belongs to a role the
/// migrations do not run as: PostgreSQL hides `alembic_version` from a role without a
/// privilege on it, so the take-over would not be recognised and the first migration would
/// fail with a misleading `relation "user" already exists` (or a later one with "must be
/// owner"). Read from `pg_class`, which every role sees.
async fn refuse_foreign_owner(db: &DatabaseConnection) -> Result<(), MigrateError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let query = "SELECT pg_get_userbyid(c.relowner) AS owner, current_user::text AS runner, \
        pg_has_role(current_user, c.relowner, 'USAGE') AS own \
        FROM pg_class c WHERE c.oid = to_regclass('\"user\"')";
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, query))
        .await
        .map_err(MigrateError::Failed)?;
    let Some(row) = row else {
        return Ok(());
    };
    let read = |column: &str| {
        row.try_get::<String>("", column)
            .map_err(MigrateError::Failed)
    };
    if row
        .try_get::<bool>("", "own")
        .map_err(MigrateError::Failed)?
    {
        return Ok(());
    }
    Err(MigrateError::ForeignOwner {
        owner: read("owner")?,
        runner: read("runner")?,
    })
}

/// Refuses a PostgreSQL URL whose host is a connection pooler (Neon names them `-pooler`).
fn refuse_pooler(target: &DatabaseTarget) -> Result<(), MigrateError> {
    if target.engine != Engine::Postgres {
        return Ok(());
    }
    match target.host().filter(|h| h.contains("-pooler")) {
        Some(host) => Err(MigrateError::Pooler { host }),
        None => Ok(()),
    }
}

/// The versions recorded in `seaql_migrations`, without creating that table when it is
/// missing (so an application role without DDL rights can ask).
async fn applied_versions(db: &DatabaseConnection) -> Result<HashSet<String>, DbErr> {
    if !SchemaManager::new(db)
        .has_table(seaql_migrations::Entity.table_name())
        .await?
    {
        return Ok(HashSet::new());
    }
    Ok(seaql_migrations::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect())
}

/// How many migrations this build knows that the database has not applied. Versions the
/// database has but this build does not (a newer release's) are ignored, so replicas of
/// the previous release stay ready during a rolling deploy.
pub(crate) async fn pending_count(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let applied = applied_versions(db).await?;
    Ok(Migrator::migrations()
        .iter()
        .filter(|m| !applied.contains(m.name()))
        .count())
}
