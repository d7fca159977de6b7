//! `Readiness`: a trivial query answered within a short timeout, and no known migration
//! left unapplied (SECURITY.md DB-05: replicas stay unready while the schema is behind).

use std::time::Duration;

use async_trait::async_trait;
use gatehouse_domain::ports::{NotReady, Readiness};
use tracing::instrument;

use crate::db::Db;
use crate::migrate::pending_count;
use crate::unfillable::unfillable_columns;

/// How long the probe may take before the database counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness of the database behind the stores.
pub(crate) struct SqlReadiness(pub(crate) Db);

#[async_trait]
impl Readiness for SqlReadiness {
    #[instrument(level = "trace", skip_all)]
    async fn check(&self) -> Result<(), NotReady> {
        let probe = async {
            self.0.conn.ping().await?;
            let pending = pending_count(&self.0.conn).await?;
            Ok::<_, sea_orm::DbErr>((pending, unfillable_columns(&self.0.conn).await?))
        };
        match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(Ok((0, columns))) if columns.is_empty() => Ok(()),
            Ok(Ok((0, columns))) => Err(NotReady::UnfillableColumns { columns }),
            Ok(Ok((pending, _))) => Err(NotReady::SchemaBehind { pending }),
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "readiness probe failed");
                Err(NotReady::Unreachable)
            }
            Err(_) => {
                tracing::warn!(timeout = ?PROBE_TIMEOUT, "readiness probe timed out");
                Err(NotReady::Unreachable)
            }
        }
    }
}
