//! An `IdSource` that tests can predict: 1, 2, 3, … as UUIDs, so a test can name the id of
//! what it is about to create. Never for production, whose ids must be unguessable.

use std::sync::atomic::{AtomicU64, Ordering};

use gatehouse_domain::ports::IdSource;
use uuid::Uuid;

/// Hands out `00000000-0000-0000-0000-000000000001`, then `…0002`, and so on.
#[derive(Debug, Default)]
pub struct SequentialIds {
    last: AtomicU64,
}

impl SequentialIds {
    /// The id the `n`-th call returns (from 1).
    pub fn nth(n: u64) -> Uuid {
        Uuid::from_u128(u128::from(n))
    }
}

impl IdSource for SequentialIds {
    fn next(&self) -> Uuid {
        Self::nth(self.last.fetch_add(1, Ordering::Relaxed) + 1)
    }
}
