//! Throttling vocabulary: what is counted, under which rule, and the verdict.

use time::{Duration, OffsetDateTime};

/// What a counter counts: a scope (the route family and whether by account or address)
/// and a subject (a normalised email key or a client IP).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    /// Builds a key such as `login:account:alice@example.com` or `signup:ip:203.0.113.9`.
    pub fn new(scope: &str, subject: &str) -> Self {
        Self(format!("{scope}:{subject}"))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `limit` events per `window`; past it the key is locked until the window ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleRule {
    pub limit: u32,
    pub window: Duration,
}

impl ThrottleRule {
    /// When a window that started at `window_start` ends.
    pub fn window_end(&self, window_start: OffsetDateTime) -> OffsetDateTime {
        window_start + self.window
    }

    /// The verdict for a window started at `window_start` that holds `events` events at
    /// `now`: throttled past the limit, until the window ends (at least one second, since
    /// `Retry-After` is whole seconds). Both limiter adapters decide with this one rule.
    pub fn verdict(
        &self,
        window_start: OffsetDateTime,
        events: u64,
        now: OffsetDateTime,
    ) -> Verdict {
        if events <= u64::from(self.limit) {
            return Verdict::Allowed;
        }
        Verdict::Throttled {
            retry_after: (self.window_end(window_start) - now).max(Duration::SECOND),
        }
    }

    /// The verdict for one more event at `now` in the stored window that started at
    /// `window_start` and holds `events`, without counting it (`AttemptLimiter::check`): a
    /// window that has ended locks nothing, a full one locks until it ends. Both limiter
    /// adapters decide with this one rule.
    pub fn verdict_for_next(
        &self,
        window_start: OffsetDateTime,
        events: u64,
        now: OffsetDateTime,
    ) -> Verdict {
        if now >= self.window_end(window_start) {
            return Verdict::Allowed;
        }
        self.verdict(window_start, events.saturating_add(1), now)
    }
}

/// The limiter's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Locked; the client may retry after this long (≥ 1 s, sent as `Retry-After`).
    Throttled {
        retry_after: Duration,
    },
}

impl Verdict {
    /// Whether the request must be refused.
    pub fn is_throttled(&self) -> bool {
        matches!(self, Self::Throttled { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Five events per quarter hour.
    const RULE: ThrottleRule = ThrottleRule {
        limit: 5,
        window: Duration::minutes(15),
    };
    const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    #[test]
    fn throttled_past_the_limit_until_the_window_ends() {
        assert_eq!(RULE.verdict(START, 5, START), Verdict::Allowed);
        assert_eq!(
            RULE.verdict(START, 6, START + Duration::minutes(5)),
            Verdict::Throttled {
                retry_after: Duration::minutes(10)
            }
        );
        assert_eq!(
            RULE.verdict(START, 6, START + Duration::minutes(15)),
            Verdict::Throttled {
                retry_after: Duration::SECOND
            },
            "never less than one second"
        );
    }

    #[test]
    fn a_full_window_locks_the_next_event_until_it_ends() {
        let later = START + Duration::minutes(5);
        assert_eq!(RULE.verdict_for_next(START, 4, later), Verdict::Allowed);
        assert_eq!(
            RULE.verdict_for_next(START, 5, later),
            Verdict::Throttled {
                retry_after: Duration::minutes(10)
            }
        );
        let ended = START + Duration::minutes(15);
        assert_eq!(
            RULE.verdict_for_next(START, 5, ended),
            Verdict::Allowed,
            "an ended window locks nothing"
        );
    }
}
