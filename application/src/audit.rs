//! What audit events may say about an account nobody has proven to own: a keyed fingerprint
//! of the submitted identifier, never the address itself (SECURITY.md RL-06, ERR-04).

use std::hash::{BuildHasher, RandomState};

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
