//! `AttemptLimiter` over the shared state: the domain's counting rule applied to one
//! window per key.

use async_trait::async_trait;
use gatehouse_domain::Infra;
use gatehouse_domain::ports::AttemptLimiter;
use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule, Verdict};
use time::OffsetDateTime;

use crate::state::Shared;

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
        Ok(state
            .windows
            .get(key)
            .map_or(Verdict::Allowed, |w| rule.verdict_for_next(w, now)))
    }

    async fn hit(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra> {
        let mut state = self.0.lock()?;
        let window = rule.count(state.windows.get(key), now);
        state.windows.insert(key.clone(), window);
        Ok(rule.verdict(&window, now))
    }

    async fn release(&self, key: &ThrottleKey, counted_at: OffsetDateTime) -> Result<(), Infra> {
        let mut state = self.0.lock()?;
        if let Some(released) = state.windows.get(key).and_then(|w| w.released(counted_at)) {
            state.windows.insert(key.clone(), released);
        }
        Ok(())
    }

    async fn delete_windows(&self, started_before: OffsetDateTime) -> Result<u64, Infra> {
        let mut state = self.0.lock()?;
        let before = state.windows.len();
        state.windows.retain(|_, w| w.started_at >= started_before);
        Ok((before - state.windows.len()) as u64)
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), Infra> {
        self.0.lock()?.windows.remove(key);
        Ok(())
    }
}
