//! In-memory implementations of every Gatehouse port that stores state, plus the test
//! doubles for time and mail. They honour the SQL adapters' contract exactly (the
//! contract suite in `gatehouse-tests` runs against both), so use-case tests wired with
//! them say something true about production.
//!
//! All stored state lives in one struct behind one [`std::sync::Mutex`], held only across
//! synchronous code: every port method is therefore atomic, and the ports see each other's
//! data the way tables do (a session lookup joins users, a user delete cascades).

mod clock;
mod ids;
mod items;
mod limiter;
mod listing;
mod mailer;
mod readiness;
mod reset_tokens;
mod sessions;
mod state;
mod users;

use std::sync::Arc;

use gatehouse_domain::ports::{
    AttemptLimiter, ItemRepository, Readiness, ResetTokenStore, SessionStore, UserRepository,
};

pub use clock::ManualClock;
pub use ids::SequentialIds;
pub use mailer::RecordingMailer;

use state::Shared;

/// One in-memory database: every accessor hands out a port over the same shared state.
#[derive(Clone)]
pub struct MemoryStore {
    shared: Shared,
}

impl MemoryStore {
    /// An empty store. It keeps no clock: every write is stamped with the `now` its
    /// caller passes, so one clock (the application's) times everything.
    pub fn new() -> Self {
        Self {
            shared: Shared::default(),
        }
    }

    /// The user accounts.
    pub fn users(&self) -> Arc<dyn UserRepository> {
        Arc::new(users::MemoryUsers(self.shared.clone()))
    }

    /// The items.
    pub fn items(&self) -> Arc<dyn ItemRepository> {
        Arc::new(items::MemoryItems(self.shared.clone()))
    }

    /// The sessions and their refresh-token families.
    pub fn sessions(&self) -> Arc<dyn SessionStore> {
        Arc::new(sessions::MemorySessions(self.shared.clone()))
    }

    /// The password-reset tokens.
    pub fn reset_tokens(&self) -> Arc<dyn ResetTokenStore> {
        Arc::new(reset_tokens::MemoryResetTokens(self.shared.clone()))
    }

    /// The throttling counters.
    pub fn limiter(&self) -> Arc<dyn AttemptLimiter> {
        Arc::new(limiter::MemoryLimiter(self.shared.clone()))
    }

    /// Readiness of this store: always ready, there is nothing to reach or migrate.
    pub fn readiness(&self) -> Arc<dyn Readiness> {
        Arc::new(readiness::AlwaysReady)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}
