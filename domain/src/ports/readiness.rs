//! `Readiness`: whether the storage behind the service can serve (`/health/ready`).

use async_trait::async_trait;

/// Why the service is not ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("database unreachable")]
    Unreachable,
    #[error("{pending} migration(s) pending")]
    SchemaBehind { pending: usize },
}

/// Readiness of the storage behind the service (`/health/ready`).
#[async_trait]
pub trait Readiness: Send + Sync {
    /// Ok when a trivial query succeeds within a short timeout and every known migration
    /// is applied.
    ///
    /// # Errors
    /// `Unreachable` or `SchemaBehind`.
    async fn check(&self) -> Result<(), NotReady>;
}
