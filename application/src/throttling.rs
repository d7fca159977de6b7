//! Applying throttle rules: the shared `Throttled` answer and the two ways of asking.

use gatehouse_domain::{
    Infra,
    throttle::{ThrottleKey, ThrottleRule, Verdict},
};
use time::{Duration, OffsetDateTime};
use tracing::info;

use crate::Gatehouse;

/// Too many attempts; the client may retry after `retry_after` (CONTRACT.md §9c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts")]
pub struct Throttled {
    pub retry_after: Duration,
}

/// A throttled use case either refuses or fails on the store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ThrottleFailure {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl Gatehouse {
    /// Counts one event for `key` and refuses when it is past the limit.
    pub(crate) async fn throttle_hit(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<(), ThrottleFailure> {
        let verdict = self.ports.limiter.hit(key, rule, now).await?;
        refuse_if_throttled(key, verdict)
    }

    /// Refuses when `key` is already locked, counting nothing.
    pub(crate) async fn throttle_check(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<(), ThrottleFailure> {
        let verdict = self.ports.limiter.check(key, rule, now).await?;
        refuse_if_throttled(key, verdict)
    }
}

fn refuse_if_throttled(key: &ThrottleKey, verdict: Verdict) -> Result<(), ThrottleFailure> {
    match verdict {
        Verdict::Allowed => Ok(()),
        Verdict::Throttled { retry_after } => {
            // The key holds an email key or an IP, never a secret; scope tells which.
            let scope = key.as_str().rsplit_once(':').map_or("", |(scope, _)| scope);
            info!(
                event = "throttled",
                scope,
                retry_after_s = retry_after.whole_seconds()
            );
            Err(Throttled { retry_after }.into())
        }
    }
}

/// Lets `?` turn a [`ThrottleFailure`] into a use-case error with `Throttled` and `Infra`
/// variants.
macro_rules! throttled_errors {
    ($($error:ty),* $(,)?) => {$(
        impl From<ThrottleFailure> for $error {
            fn from(failure: ThrottleFailure) -> Self {
                match failure {
                    ThrottleFailure::Throttled(t) => Self::Throttled(t),
                    ThrottleFailure::Infra(e) => Self::Infra(e),
                }
            }
        }
    )*};
}

throttled_errors!(
    crate::LoginError,
    crate::SignupError,
    crate::RefreshError,
    crate::RecoveryError,
    crate::ResetError,
);
