//! `AttemptLimiter`: throttle counters in storage shared by every replica.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{
    Infra,
    throttle::{ThrottleKey, ThrottleRule, Verdict},
};

/// Counts attempts per key in windows, in storage shared by every replica, exactly as
/// [`ThrottleRule::count`] says (fixed windows, lengthened by back-off strikes). Keys hold
/// client input (login names, recovery addresses): every key, whatever its length or
/// characters (NUL included), MUST be counted on its own.
#[async_trait]
pub trait AttemptLimiter: Send + Sync {
    /// Whether `key` is locked under `rule` at `now`, without counting anything: locked when
    /// the current window already holds `rule.limit` events ([`ThrottleRule::verdict_for_next`]).
    ///
    /// # Errors
    /// `Infra` only.
    async fn check(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra>;

    /// Counts one event for `key` atomically ([`ThrottleRule::count`]: a new window starts
    /// when the last one has ended, carrying its strikes) and returns the verdict for the
    /// event itself: `Throttled` when it is past `rule.limit`.
    ///
    /// # Errors
    /// `Infra` only.
    async fn hit(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra>;

    /// Takes back one event of `key` counted at `counted_at` by [`AttemptLimiter::hit`] — a
    /// reserved attempt that turned out to be one the rule does not count (a successful
    /// login) — if the stored window still holds it ([`crate::throttle::ThrottleWindow::released`]),
    /// atomically.
    ///
    /// # Errors
    /// `Infra` only.
    async fn release(&self, key: &ThrottleKey, counted_at: OffsetDateTime) -> Result<(), Infra>;

    /// Deletes every window that started before `started_before`, whatever its key; the
    /// caller picks a moment after which no rule still needs them. Returns how many.
    ///
    /// # Errors
    /// `Infra` only.
    async fn delete_windows(&self, started_before: OffsetDateTime) -> Result<u64, Infra>;

    /// Forgets every event and strike of `key` (a successful login clears the account counter).
    ///
    /// # Errors
    /// `Infra` only.
    async fn clear(&self, key: &ThrottleKey) -> Result<(), Infra>;

    /// A successful login's bookkeeping: [`AttemptLimiter::clear`] of `clear` and
    /// [`AttemptLimiter::release`] of `release`'s event counted at `counted_at`, each atomic
    /// as those are. The keys differ (an account's and an address's). An adapter that can do
    /// both in one round trip overrides this; the default runs one after the other.
    ///
    /// # Errors
    /// `Infra` only.
    async fn clear_and_release(
        &self,
        clear: &ThrottleKey,
        release: &ThrottleKey,
        counted_at: OffsetDateTime,
    ) -> Result<(), Infra> {
        self.clear(clear).await?;
        self.release(release, counted_at).await
    }
}
