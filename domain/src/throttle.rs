//! Throttling vocabulary: what is counted, under which rule, and the verdict.

use time::Duration;

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
