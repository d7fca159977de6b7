//! `Readiness`: whether the storage behind the service can serve (`/health/ready`).

use async_trait::async_trait;

/// Why the service is not ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("database unreachable")]
    Unreachable,
    #[error("{pending} migration(s) pending")]
    SchemaBehind { pending: usize },
    /// Another backend's operator added required columns with no default to a table
    /// Gatehouse writes: every insert would fail until they get a default or allow NULL.
    #[error("required columns Gatehouse cannot fill: {}", columns.join(", "))]
    UnfillableColumns { columns: Vec<String> },
}

/// Readiness of the storage behind the service (`/health/ready`).
#[async_trait]
pub trait Readiness: Send + Sync {
    /// Ok when a trivial query succeeds within a short timeout, every known migration is
    /// applied, and Gatehouse can fill every required column of the tables it writes.
    ///
    /// # Errors
    /// `Unreachable`, `SchemaBehind` or `UnfillableColumns`.
    async fn check(&self) -> Result<(), NotReady>;
}
