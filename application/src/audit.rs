//! What audit events may say about an account nobody has proven to own: a keyed fingerprint
//! of the submitted identifier, never the address itself (SECURITY.md RL-06, ERR-04).

use std::hash::{BuildHasher, RandomState};

/// Logs the audit event `$event` (SECURITY.md RL-06) at `$level` (`info` or `warn`) with the
/// request's client (IP and user agent) and `$outcome`; other fields, in tracing's syntax,
/// come after the outcome here and right after the name in the line. One list of client
/// fields for every event, so none of them can drop one.
macro_rules! client_event {
    ($level:ident, $event:literal, $client:expr, $outcome:literal $(, $($field:tt)+)?) => {
        tracing::$level!(
            event = $event,
            $($($field)+,)?
            ip = $client.ip.as_deref(),
            user_agent = $client.user_agent.as_deref(),
            outcome = $outcome
        )
    };
}

use gatehouse_domain::EmailKey;

/// Fingerprints identifiers with a key drawn at start-up. A plain hash of an email address
/// is reversed by hashing guesses; a keyed one is not, and it still ties together the
/// attempts on one address within this process (not across replicas or restarts).
pub(crate) struct Fingerprints(RandomState);

impl Fingerprints {
    pub(crate) fn new() -> Self {
        Self(RandomState::new())
    }

    /// 64 keyed bits of `subject`, as 16 hex digits.
    pub(crate) fn of(&self, subject: &str) -> String {
        format!("{:016x}", self.0.hash_one(subject))
    }

    /// The fingerprint of a normalised email key.
    pub(crate) fn account(&self, key: &EmailKey) -> String {
        self.of(key.as_str())
    }
}
