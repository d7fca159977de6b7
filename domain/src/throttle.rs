//! Throttling vocabulary: what is counted, under which rule, and the verdict.

use std::net::{IpAddr, Ipv6Addr};

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

/// The throttling subject of a client address (SECURITY.md RL-02): an IPv4 address on its
/// own (/32); an IPv6 address by its network of `v6_prefix` bits (at most 128), since an
/// IPv6 client owns at least a /64 and would otherwise take a fresh bucket per address;
/// an IPv4-mapped IPv6 address as the IPv4 address it maps; anything else as given.
pub fn ip_subject(ip: &str, v6_prefix: u8) -> String {
    let prefix = u32::from(v6_prefix.min(128));
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                format!("{}/{prefix}", Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
        Err(_) => ip.to_owned(),
    }
}

/// `limit` events per `window`; past it the key is locked until the window ends.
///
/// Back-off (SECURITY.md RL-01): a window that filled up and is followed by more events
/// before it has been over for as long as it lasted is a strike; each strike in a row doubles
/// the next window, up to `max_doublings` times, so a guesser gets ever fewer tries per hour.
/// A quiet spell as long as the last window, or `AttemptLimiter::clear`, forgets the strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleRule {
    pub limit: u32,
    pub window: Duration,
    /// How many strikes in a row still lengthen the window (0: fixed windows).
    pub max_doublings: u32,
}

/// One stored counting window of a key, as both limiter adapters keep it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleWindow {
    pub started_at: OffsetDateTime,
    pub events: u64,
    /// Filled windows in a row before this one; sets its length.
    pub strikes: u32,
}

impl ThrottleWindow {
    /// The window after taking back one event counted at `counted_at`
    /// (`AttemptLimiter::release`), or `None` when this window does not hold it: it started
    /// after that moment, so the event's own window is gone. Never below zero.
    pub fn released(&self, counted_at: OffsetDateTime) -> Option<ThrottleWindow> {
        (self.started_at <= counted_at && self.events > 0).then(|| ThrottleWindow {
            events: self.events - 1,
            ..*self
        })
    }
}

impl ThrottleRule {
    /// A rule without back-off.
    pub const fn fixed(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            max_doublings: 0,
        }
    }

    /// How long a window lasts after `strikes` strikes in a row: `window × 2^strikes`, at
    /// most `window × 2^max_doublings`.
    pub fn window_length(&self, strikes: u32) -> Duration {
        let doublings = strikes.min(self.max_doublings).min(30);
        self.window.saturating_mul(1 << doublings)
    }

    /// When `window` ends.
    pub fn window_end(&self, window: &ThrottleWindow) -> OffsetDateTime {
        window.started_at + self.window_length(window.strikes)
    }

    /// The verdict for `window` at `now`: throttled past the limit, until the window ends
    /// (at least one second, since `Retry-After` is whole seconds). Both limiter adapters
    /// decide with this one rule.
    pub fn verdict(&self, window: &ThrottleWindow, now: OffsetDateTime) -> Verdict {
        if window.events <= u64::from(self.limit) {
            return Verdict::Allowed;
        }
        Verdict::Throttled {
            retry_after: (self.window_end(window) - now).max(Duration::SECOND),
        }
    }

    /// The verdict for one more event at `now` in the stored `window`, without counting it
    /// (`AttemptLimiter::check`): a window that has ended locks nothing, a full one locks
    /// until it ends.
    pub fn verdict_for_next(&self, window: &ThrottleWindow, now: OffsetDateTime) -> Verdict {
        if now >= self.window_end(window) {
            return Verdict::Allowed;
        }
        let next = ThrottleWindow {
            events: window.events.saturating_add(1),
            ..*window
        };
        self.verdict(&next, now)
    }

    /// The stored window after counting one event at `now` (`AttemptLimiter::hit`): the
    /// same window one event fuller, or, once it has ended, a new one holding this event,
    /// one strike longer when the ended window filled up and has not been over for as long
    /// as it lasted. The SQL adapter writes this same rule as one atomic upsert.
    pub fn count(&self, stored: Option<&ThrottleWindow>, now: OffsetDateTime) -> ThrottleWindow {
        let Some(window) = stored else {
            return ThrottleWindow {
                started_at: now,
                events: 1,
                strikes: 0,
            };
        };
        let end = self.window_end(window);
        if now < end {
            return ThrottleWindow {
                events: window.events.saturating_add(1),
                ..*window
            };
        }
        let filled = window.events >= u64::from(self.limit);
        let recent = now < end + self.window_length(window.strikes);
        let strikes = if filled && recent {
            window.strikes.saturating_add(1).min(self.max_doublings)
        } else {
            0
        };
        ThrottleWindow {
            started_at: now,
            events: 1,
            strikes,
        }
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

    /// Five events per quarter hour, doubling up to twice.
    const RULE: ThrottleRule = ThrottleRule {
        limit: 5,
        window: Duration::minutes(15),
        max_doublings: 2,
    };
    const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn window(events: u64, strikes: u32) -> ThrottleWindow {
        ThrottleWindow {
            started_at: START,
            events,
            strikes,
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_network_and_ipv4_clients_by_address() {
        assert_eq!(ip_subject("203.0.113.9", 64), "203.0.113.9");
        assert_eq!(
            ip_subject("2001:db8:1:2:aaaa::1", 64),
            ip_subject("2001:db8:1:2::ffff", 64)
        );
        assert_eq!(ip_subject("2001:db8:1:2::1", 64), "2001:db8:1:2::/64");
        assert_ne!(
            ip_subject("2001:db8:1:2::1", 64),
            ip_subject("2001:db8:1:3::1", 64)
        );
        assert_eq!(ip_subject("2001:db8:1:3::1", 48), "2001:db8:1::/48");
        assert_eq!(ip_subject("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(ip_subject("::ffff:203.0.113.9", 64), "203.0.113.9");
        assert_eq!(ip_subject("unknown", 64), "unknown");
    }

    #[test]
    fn throttled_past_the_limit_until_the_window_ends() {
        assert_eq!(RULE.verdict(&window(5, 0), START), Verdict::Allowed);
        assert_eq!(
            RULE.verdict(&window(6, 0), START + Duration::minutes(5)),
            Verdict::Throttled {
                retry_after: Duration::minutes(10)
            }
        );
        assert_eq!(
            RULE.verdict(&window(6, 0), START + Duration::minutes(15)),
            Verdict::Throttled {
                retry_after: Duration::SECOND
            },
            "never less than one second"
        );
    }

    #[test]
    fn a_full_window_locks_the_next_event_until_it_ends() {
        let later = START + Duration::minutes(5);
        assert_eq!(
            RULE.verdict_for_next(&window(4, 0), later),
            Verdict::Allowed
        );
        assert_eq!(
            RULE.verdict_for_next(&window(5, 0), later),
            Verdict::Throttled {
                retry_after: Duration::minutes(10)
            }
        );
        let ended = START + Duration::minutes(15);
        assert_eq!(
            RULE.verdict_for_next(&window(5, 0), ended),
            Verdict::Allowed,
            "an ended window locks nothing"
        );
    }

    #[test]
    fn a_release_takes_back_one_event_of_the_window_that_counted_it() {
        let held = window(3, 1);
        assert_eq!(held.released(START), Some(window(2, 1)));
        assert_eq!(
            held.released(START - Duration::SECOND),
            None,
            "counted in an earlier window"
        );
        assert_eq!(window(0, 0).released(START), None, "never below zero");
    }

    #[test]
    fn each_strike_doubles_the_window_up_to_the_cap() {
        let lengths: Vec<_> = (0..5).map(|s| RULE.window_length(s)).collect();
        assert_eq!(
            lengths,
            [15, 30, 60, 60, 60].map(Duration::minutes),
            "capped at two doublings"
        );
        assert_eq!(
            RULE.verdict_for_next(&window(5, 1), START + Duration::minutes(20)),
            Verdict::Throttled {
                retry_after: Duration::minutes(10)
            }
        );
        assert_eq!(
            ThrottleRule::fixed(5, Duration::minutes(15)).window_length(7),
            Duration::minutes(15),
            "no back-off without doublings"
        );
    }

    #[test]
    fn counting_fills_a_window_then_starts_the_next() {
        let first = RULE.count(None, START);
        assert_eq!(first, window(1, 0));
        assert_eq!(
            RULE.count(Some(&window(4, 1)), START + Duration::minutes(29)),
            window(5, 1),
            "a struck window lasts 30 minutes"
        );
        let next = START + Duration::minutes(15);
        assert_eq!(
            RULE.count(Some(&window(3, 0)), next),
            ThrottleWindow {
                started_at: next,
                events: 1,
                strikes: 0,
            },
            "a window that never filled is no strike"
        );
    }

    #[test]
    fn a_filled_window_followed_soon_is_a_strike_and_a_quiet_spell_forgives() {
        let strike = |strikes, minutes| {
            RULE.count(
                Some(&window(5, strikes)),
                START + Duration::minutes(minutes),
            )
            .strikes
        };
        assert_eq!(strike(0, 15), 1, "right after the lock");
        assert_eq!(strike(0, 29), 1, "less than one window of quiet");
        assert_eq!(strike(0, 30), 0, "one window of quiet forgives");
        assert_eq!(strike(1, 59), 2, "a 30-minute window, 29 minutes of quiet");
        assert_eq!(strike(2, 60), 2, "the cap holds");
        assert_eq!(
            strike(2, 120),
            0,
            "an hour of quiet after an hour-long window"
        );
    }
}
