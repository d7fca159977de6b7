//! What the contract suite runs against: each backend hands every test its own fresh,
//! empty set of stores.

use async_trait::async_trait;
use gatehouse_memory::MemoryStore;
use gatehouse_tests::db::{Engine, TestDatabase};
pub use gatehouse_tests::stores::Stores;

/// A storage backend under contract test.
#[async_trait]
pub trait Backend: Sync {
    /// Fresh, empty stores.
    async fn stores(&self) -> Stores;
}

/// The in-memory adapter.
pub struct Memory;

#[async_trait]
impl Backend for Memory {
    async fn stores(&self) -> Stores {
        Stores::of_memory(&MemoryStore::new())
    }
}

/// The SQL adapter on a fresh, migrated SQLite database.
pub struct Sqlite;

#[async_trait]
impl Backend for Sqlite {
    async fn stores(&self) -> Stores {
        sql_stores(TestDatabase::create(Engine::Sqlite, true).await).await
    }
}

/// The SQL adapter on a fresh, migrated PostgreSQL database (`TEST_DATABASE_URL`; the
/// suite's tests are ignored without it).
pub struct Postgres;

#[async_trait]
impl Backend for Postgres {
    async fn stores(&self) -> Stores {
        sql_stores(TestDatabase::postgres(true).await).await
    }
}

/// The SQL adapter's ports over `db`, which lives as long as they do.
async fn sql_stores(db: TestDatabase) -> Stores {
    let store = db.store().await;
    Stores::of_sql(&store).owning(db)
}
