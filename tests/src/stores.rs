//! The storage ports of one backend, bundled, so a test can pick memory or SQL.

use std::sync::Arc;

use gatehouse_domain::ports::{
    AttemptLimiter, Clock, ItemRepository, Readiness, ResetTokenStore, SessionStore, UserRepository,
};
use gatehouse_memory::MemoryStore;
use gatehouse_sql::{DbOptions, SqlStore};

/// Every storage port of one backend.
pub struct Stores {
    pub users: Arc<dyn UserRepository>,
    pub items: Arc<dyn ItemRepository>,
    pub sessions: Arc<dyn SessionStore>,
    pub reset_tokens: Arc<dyn ResetTokenStore>,
    pub limiter: Arc<dyn AttemptLimiter>,
    pub readiness: Arc<dyn Readiness>,
}

/// The memory adapters, sharing one state.
pub fn memory(clock: Arc<dyn Clock>) -> Stores {
    let store = MemoryStore::with_clock(clock);
    Stores {
        users: store.users(),
        items: store.items(),
        sessions: store.sessions(),
        reset_tokens: store.reset_tokens(),
        limiter: store.limiter(),
        readiness: store.readiness(),
    }
}

/// The SQL adapter on an already migrated database, with the adapter's default pool.
pub async fn sql(url: &str) -> Stores {
    sql_with(&DbOptions::new(url)).await
}

/// The SQL adapter on an already migrated database, with the pool `options` describe.
pub async fn sql_with(options: &DbOptions) -> Stores {
    let store = SqlStore::connect(options)
        .await
        .expect("connecting the test database");
    Stores {
        users: store.users(),
        items: store.items(),
        sessions: store.sessions(),
        reset_tokens: store.reset_tokens(),
        limiter: store.limiter(),
        readiness: store.readiness(),
    }
}
