//! `AttemptLimiter` over the shared state: fixed windows per key, a window starting at
//! the first event after the previous one ended.

use async_trait::async_trait;
use gatehouse_domain::Infra;
use gatehouse_domain::ports::AttemptLimiter;
use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule, Verdict};
use time::OffsetDateTime;

use crate::state::Shared;

/// One fixed throttling window of one key.
pub(crate) struct Window {
    pub(crate) started_at: OffsetDateTime,
    pub(crate) events: u32,
}

impl Window {
    /// When this window ends under `rule`.
    fn ends_at(&self, rule: &ThrottleRule) -> OffsetDateTime {
        rule.window_end(self.started_at)
    }

    /// The verdict for a window holding `events` events at `now`.
    fn verdict(&self, rule: &ThrottleRule, events: u32, now: OffsetDateTime) -> Verdict {
        rule.verdict(self.started_at, u64::from(events), now)
    }
}

/// The throttling counters of one memory store.
pub(crate) struct MemoryLimiter(pub(crate) Shared);

#[async_trait]
impl AttemptLimiter for MemoryLimiter {
    async fn check(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra> {
        let state = self.0.lock()?;
        Ok(state.windows.get(key).map_or(Verdict::Allowed, |w| {
            rule.verdict_for_next(w.started_at, u64::from(w.events), now)
        }))
    }

    async fn hit(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra> {
        let mut state = self.0.lock()?;
        let window = state.windows.entry(key.clone()).or_insert(Window {
            started_at: now,
            events: 0,
        });
        if now >= window.ends_at(rule) {
            *window = Window {
                started_at: now,
                events: 0,
            };
        }
        window.events = window.events.saturating_add(1);
        Ok(window.verdict(rule, window.events, now))
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), Infra> {
        self.0.lock()?.windows.remove(key);
        Ok(())
    }
}
