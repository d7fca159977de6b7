//! What the contract suite runs against: each backend hands every test its own fresh,
//! empty set of stores.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_domain::ports::{
    AttemptLimiter, ItemRepository, ResetTokenStore, SessionStore, UserRepository,
};
use gatehouse_memory::MemoryStore;
use gatehouse_tests::db::{Engine, TestDatabase};

/// The storage ports of one backend, all over the same data.
pub struct Stores {
    pub users: Arc<dyn UserRepository>,
    pub items: Arc<dyn ItemRepository>,
    pub sessions: Arc<dyn SessionStore>,
    pub reset_tokens: Arc<dyn ResetTokenStore>,
    pub limiter: Arc<dyn AttemptLimiter>,
    /// Whatever must outlive the test for the stores to work (a test database).
    _owner: Box<dyn Any + Send + Sync>,
}

/// Builds [`Stores`] from any adapter with the shared accessors (`users()`, `items()`, …),
/// keeping `$owner` alive alongside.
macro_rules! stores_of {
    ($store:expr, $owner:expr) => {{
        let store = $store;
        Stores {
            users: store.users(),
            items: store.items(),
            sessions: store.sessions(),
            reset_tokens: store.reset_tokens(),
            limiter: store.limiter(),
            _owner: Box::new($owner),
        }
    }};
}

/// A storage backend under contract test.
#[async_trait]
pub trait Backend: Sync {
    /// Fresh, empty stores; `None` when this backend is not available here (PostgreSQL
    /// without `TEST_DATABASE_URL`), and the test then checks nothing.
    async fn stores(&self) -> Option<Stores>;
}

/// The in-memory adapter.
pub struct Memory;

#[async_trait]
impl Backend for Memory {
    async fn stores(&self) -> Option<Stores> {
        Some(stores_of!(MemoryStore::new(), ()))
    }
}

/// The SQL adapter on a fresh, migrated SQLite database.
pub struct Sqlite;

#[async_trait]
impl Backend for Sqlite {
    async fn stores(&self) -> Option<Stores> {
        Some(sql_stores(TestDatabase::create(Engine::Sqlite, true).await).await)
    }
}

/// The SQL adapter on a fresh, migrated PostgreSQL database (`TEST_DATABASE_URL`).
pub struct Postgres;

#[async_trait]
impl Backend for Postgres {
    async fn stores(&self) -> Option<Stores> {
        Some(sql_stores(TestDatabase::postgres("the contract suite", true).await?).await)
    }
}

/// The SQL adapter's ports over `db`, which lives as long as they do.
async fn sql_stores(db: TestDatabase) -> Stores {
    let store = db.store().await;
    stores_of!(store, db)
}
