//! A `Clock` that tests drive by hand, to cross expiry, idle and throttle windows without
//! sleeping.

use std::sync::{Mutex, PoisonError};

use gatehouse_domain::ports::Clock;
use time::{Duration, OffsetDateTime};

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward (or back, with a negative `by`).
    pub fn advance(&self, by: Duration) {
        *self.reading() += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.reading() = to;
    }

    /// The reading; a poisoned lock still holds a valid instant, so poisoning is ignored.
    fn reading(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.reading()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_clock_moves_only_when_told() {
        let start = datetime!(2026-01-01 00:00 UTC);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);

        clock.advance(Duration::minutes(90));
        assert_eq!(clock.now(), start + Duration::minutes(90));

        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}
