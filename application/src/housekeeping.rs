//! Housekeeping: deleting what no rule needs any more, so the session and throttle tables
//! do not grow with every login and every client address forever.

use gatehouse_domain::Infra;
use time::Duration;
use tracing::{info, instrument};

use crate::Gatehouse;

/// What [`Gatehouse::prune`] deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruned {
    /// Sessions (with their refresh tokens) over for longer than the retention.
    pub sessions: u64,
    /// Throttle windows no rule can still need.
    pub throttle_windows: u64,
}

impl Gatehouse {
    /// Deletes sessions that have been over (revoked, expired or idle) for longer than
    /// `retention`, with their refresh tokens, and throttle windows older than both
    /// `retention` and the longest any rule remembers them. A token of a deleted session is
    /// refused as unknown, exactly as it was refused as ended.
    ///
    /// # Errors
    /// `Infra` only; what was deleted before the failure stays deleted.
    #[instrument(skip_all)]
    pub async fn prune(&self, retention: Duration) -> Result<Pruned, Infra> {
        let now = self.ports.clock.now();
        let sessions = self
            .ports
            .sessions
            .delete_ended(now - retention, self.policy.session_idle_timeout)
            .await?;
        let keep_windows = retention.max(self.policy.throttle.longest_memory());
        let throttle_windows = self
            .ports
            .limiter
            .delete_windows(now - keep_windows)
            .await?;
        info!(
            event = "pruned",
            sessions,
            throttle_windows,
            outcome = "deleted"
        );
        Ok(Pruned {
            sessions,
            throttle_windows,
        })
    }
}
