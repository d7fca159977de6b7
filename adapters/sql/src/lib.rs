//! Gatehouse's persistence on PostgreSQL (Neon in production) and SQLite through one
//! sea-orm adapter: every storage port of the domain, the connection settings, and the
//! migration runner. Nothing here reaches HTTP; nothing outside reaches sea-orm.
//!
//! Entities (`entity`) only describe rows; `mapping` turns them into domain values and
//! back. Every multi-row write is one transaction (`db`), and database errors become the
//! ports' `Infra` failures in one place (`error`). Only bound parameters reach SQL.

mod db;
mod entity;
mod error;
mod items;
mod limiter;
mod listing;
mod mapping;
pub mod migrate;
mod options;
mod principal_cache;
mod readiness;
mod reset_tokens;
mod sessions;
mod stamp;
mod unfillable;
mod users;
mod write;

use std::sync::Arc;

use gatehouse_domain::ports::{
    AttemptLimiter, ItemRepository, Readiness, ResetTokenStore, SessionStore, UserRepository,
};

pub use options::{ConnectError, DatabaseTarget, DbOptions, Engine};
pub use principal_cache::{LISTENER_APPLICATION_NAME, PrincipalCacheStats};

/// How many connections the pool holds, how many of them are idle, and its ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

impl PoolStats {
    fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> Self {
        Self {
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        }
    }
}

/// An open pool; every accessor hands out a port over it.
#[derive(Clone)]
pub struct SqlStore {
    db: db::Db,
    target: options::DatabaseTarget,
}

impl SqlStore {
    /// Opens the pool described by `options`.
    ///
    /// # Errors
    /// `UnsupportedScheme` for a URL that is neither PostgreSQL nor SQLite; `Database` when
    /// the first connection fails (unreachable server, refused credentials, TLS failure).
    pub async fn connect(options: &DbOptions) -> Result<Self, ConnectError> {
        let target = options::DatabaseTarget::parse(&options.url)?;
        let conn = options::open(&target, options).await?;
        Ok(Self {
            db: db::Db::new(conn),
            target,
        })
    }

    /// Serves `load_principal` from a per-process cache kept coherent by PostgreSQL
    /// `LISTEN/NOTIFY` (docs/principal-cache.md), listening through `listen`'s URL: a direct
    /// endpoint where the runtime URL is a transaction-mode pooler, which cannot `LISTEN`.
    /// Call before handing out ports: handles handed out earlier do not see the cache. The
    /// cache is bypassed until the listener listens and whenever it is not; a listener that
    /// cannot connect only logs a warning and tries again, it never fails a request.
    ///
    /// PostgreSQL only: on SQLite (the development and embedded engine, one process, no
    /// `NOTIFY`) this returns the store unchanged.
    ///
    /// # Errors
    /// `UnsupportedScheme` when `listen` is not a PostgreSQL URL; `Database` when sqlx cannot
    /// read it.
    pub fn with_principal_cache(mut self, listen: &DbOptions) -> Result<Self, ConnectError> {
        if self.target.engine() != Engine::Postgres {
            return Ok(self);
        }
        let target = options::DatabaseTarget::parse(&listen.url)?;
        if target.engine() != Engine::Postgres {
            return Err(ConnectError::UnsupportedScheme {
                scheme: listen.url.split(':').next().unwrap_or_default().to_owned(),
            });
        }
        let options = principal_cache::listener_options(target.url()).map_err(|e| {
            ConnectError::Database(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(
                e.into(),
            )))
        })?;
        self.db.principals = Some(Arc::new(principal_cache::PrincipalCacheHandle::start(
            options,
        )));
        Ok(self)
    }

    /// What the principal cache is doing; `None` without one.
    pub fn principal_cache_stats(&self) -> Option<PrincipalCacheStats> {
        self.db
            .principal_cache()
            .map(principal_cache::PrincipalCache::stats)
    }

    /// The user accounts.
    pub fn users(&self) -> Arc<dyn UserRepository> {
        Arc::new(users::SqlUsers(self.db.clone()))
    }

    /// The items.
    pub fn items(&self) -> Arc<dyn ItemRepository> {
        Arc::new(items::SqlItems(self.db.clone()))
    }

    /// The sessions and their refresh-token families.
    pub fn sessions(&self) -> Arc<dyn SessionStore> {
        Arc::new(sessions::SqlSessions(self.db.clone()))
    }

    /// The password-reset tokens.
    pub fn reset_tokens(&self) -> Arc<dyn ResetTokenStore> {
        Arc::new(reset_tokens::SqlResetTokens(self.db.clone()))
    }

    /// The throttling counters, shared by every replica using this database.
    pub fn limiter(&self) -> Arc<dyn AttemptLimiter> {
        Arc::new(limiter::SqlLimiter(self.db.clone()))
    }

    /// Readiness: reachable within a short timeout and no migration pending.
    pub fn readiness(&self) -> Arc<dyn Readiness> {
        Arc::new(readiness::SqlReadiness(self.db.clone()))
    }

    /// The pool's state right now, for the metrics (issue 15).
    pub fn pool_stats(&self) -> PoolStats {
        let conn = &self.db.conn;
        match conn.get_database_backend() {
            sea_orm::DbBackend::Postgres => PoolStats::of(conn.get_postgres_connection_pool()),
            _ => PoolStats::of(conn.get_sqlite_connection_pool()),
        }
    }

    /// Closes the pool, waiting for checked-out connections to come back (graceful
    /// shutdown). Ports handed out earlier fail as unavailable afterwards.
    pub async fn close(&self) {
        if let Some(principals) = &self.db.principals {
            principals.stop();
        }
        if let Err(error) = self.db.conn.close_by_ref().await {
            tracing::warn!(error = %error, "closing the database pool failed");
        }
    }
}
