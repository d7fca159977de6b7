//! The storage ports of one backend, bundled, so a test can pick memory or SQL; the contract
//! suite and the black-box harness both build their stores here.

use std::{any::Any, sync::Arc};

use gatehouse_application::Ports;
use gatehouse_domain::ports::{
    AttemptLimiter, ItemRepository, Readiness, ResetTokenStore, SessionCap, SessionStore,
    UserRepository,
};
use gatehouse_memory::MemoryStore;
use gatehouse_sql::{DbOptions, SqlStore};

/// A session cap no test fixture reaches, with the usual idle timeout (7 days), for tests
/// that open sessions straight through the port.
pub const UNCAPPED: SessionCap = SessionCap {
    max: 10_000,
    idle_timeout: time::Duration::days(7),
};

/// Every storage port of one backend, all over the same data.
pub struct Stores {
    pub users: Arc<dyn UserRepository>,
    pub items: Arc<dyn ItemRepository>,
    pub sessions: Arc<dyn SessionStore>,
    pub reset_tokens: Arc<dyn ResetTokenStore>,
    pub limiter: Arc<dyn AttemptLimiter>,
    pub readiness: Arc<dyn Readiness>,
    /// The SQL store behind the ports, when they are SQL (for the principal cache's state).
    pub sql_store: Option<SqlStore>,
    /// Whatever must live as long as the stores (a test database).
    _owner: Option<Box<dyn Any + Send + Sync>>,
}

/// Takes every port from anything with the adapters' shared accessors (`users()`, …).
macro_rules! stores_of {
    ($store:expr) => {{
        let store = $store;
        Stores {
            users: store.users(),
            items: store.items(),
            sessions: store.sessions(),
            reset_tokens: store.reset_tokens(),
            limiter: store.limiter(),
            readiness: store.readiness(),
            sql_store: None,
            _owner: None,
        }
    }};
}

impl Stores {
    /// The memory adapter's ports over `store`.
    pub fn of_memory(store: &MemoryStore) -> Self {
        stores_of!(store)
    }

    /// The SQL adapter's ports over `store`.
    pub fn of_sql(store: &SqlStore) -> Self {
        Self {
            sql_store: Some(store.clone()),
            ..stores_of!(store)
        }
    }

    /// The storage ports a running application uses (a replica shares them).
    pub fn of_ports(ports: &Ports) -> Self {
        Self {
            users: ports.users.clone(),
            items: ports.items.clone(),
            sessions: ports.sessions.clone(),
            reset_tokens: ports.reset_tokens.clone(),
            limiter: ports.limiter.clone(),
            readiness: ports.readiness.clone(),
            sql_store: None,
            _owner: None,
        }
    }

    /// Keeps `owner` (e.g. the test database) alive as long as these stores.
    pub fn owning(mut self, owner: impl Any + Send + Sync) -> Self {
        self._owner = Some(Box::new(owner));
        self
    }
}

/// The memory adapters, sharing one state.
pub fn memory() -> Stores {
    Stores::of_memory(&MemoryStore::new())
}

/// The SQL adapter on an already migrated database, with the adapter's default pool.
pub async fn sql(url: &str) -> Stores {
    sql_with(&DbOptions::new(url)).await
}

/// The SQL adapter on an already migrated database, with the pool `options` describe.
pub async fn sql_with(options: &DbOptions) -> Stores {
    sql_cached(options, None).await
}

/// [`sql_with`], with the principal cache listening through `listen` when given (PostgreSQL;
/// on SQLite there is no cache), as the composition root wires it.
pub async fn sql_cached(options: &DbOptions, listen: Option<&DbOptions>) -> Stores {
    let mut store = SqlStore::connect(options)
        .await
        .expect("connecting the test database");
    if let Some(listen) = listen {
        store = store
            .with_principal_cache(listen)
            .expect("a PostgreSQL URL to listen on");
    }
    Stores::of_sql(&store)
}
