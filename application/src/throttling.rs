//! Applying throttle rules: the shared `Throttled` answer and the two ways of asking.

use gatehouse_domain::{
    Infra,
    throttle::{ThrottleKey, ThrottleRule, Verdict, ip_subject},
};
use time::{Duration, OffsetDateTime};

use crate::audit::Audit;
use crate::{Client, Gatehouse};

/// Too many attempts; the client may retry after `retry_after` (CONTRACT.md §9c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts")]
pub struct Throttled {
    pub retry_after: Duration,
}

impl Throttled {
    /// `Retry-After` in whole seconds, rounded up and at least 1: a client that waits
    /// exactly this long finds the lock over (rounding down sent it back too early).
    pub fn retry_after_seconds(&self) -> i64 {
        let started_second = i64::from(self.retry_after.subsec_nanoseconds() > 0);
        (self.retry_after.whole_seconds() + started_second).max(1)
    }
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
    /// The per-IP key of `scope` for `client`: its address's network (IPv4 /32, IPv6 by
    /// `ThrottlePolicy::ipv6_prefix`); requests without an address share one bucket.
    pub(crate) fn ip_key(&self, scope: &str, client: &Client) -> ThrottleKey {
        let subject = client.ip.as_deref().map_or_else(
            || "unknown".to_owned(),
            |ip| ip_subject(ip, self.policy.throttle.ipv6_prefix),
        );
        ThrottleKey::new(scope, &subject)
    }

    /// Counts one event for `key` and refuses when it is past the limit.
    pub(crate) async fn throttle_hit(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<(), ThrottleFailure> {
        let verdict = self.ports.limiter.hit(key, rule, now).await?;
        self.refuse_if_throttled(key, verdict)
    }

    /// Refuses when `key` is already locked, counting nothing.
    pub(crate) async fn throttle_check(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<(), ThrottleFailure> {
        let verdict = self.ports.limiter.check(key, rule, now).await?;
        self.refuse_if_throttled(key, verdict)
    }

    /// Logs and refuses a throttled verdict. A key is `<route>:<kind>:<subject>`: IP
    /// subjects are already on the request's span; an address is only fingerprinted.
    fn refuse_if_throttled(
        &self,
        key: &ThrottleKey,
        verdict: Verdict,
    ) -> Result<(), ThrottleFailure> {
        let Verdict::Throttled { retry_after } = verdict else {
            return Ok(());
        };
        let throttled = Throttled { retry_after };
        let mut parts = key.as_str().splitn(3, ':');
        let (route, kind, subject) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let account = (kind != "ip").then(|| self.fingerprints.of(subject));
        Audit::Throttled {
            route,
            per: kind,
            account,
            retry_after_s: throttled.retry_after_seconds(),
        }
        .record(None);
        Err(throttled.into())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_a_started_second_up() {
        let seconds = |retry_after| Throttled { retry_after }.retry_after_seconds();
        assert_eq!(seconds(Duration::seconds(900)), 900);
        assert_eq!(seconds(Duration::milliseconds(899_400)), 900);
        assert_eq!(seconds(Duration::milliseconds(1)), 1);
        assert_eq!(seconds(Duration::ZERO), 1);
    }
}
