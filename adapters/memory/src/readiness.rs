//! `Readiness` of the memory store: nothing to reach and nothing to migrate.

use async_trait::async_trait;
use gatehouse_domain::ports::{NotReady, Readiness};

/// Always ready.
pub(crate) struct AlwaysReady;

#[async_trait]
impl Readiness for AlwaysReady {
    async fn check(&self) -> Result<(), NotReady> {
        Ok(())
    }
}
