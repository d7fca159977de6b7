//! `IdSource`: where the use cases get the identifiers of what they create, a port so a
//! test can name them in advance, as the clock lets it name the time.

use uuid::Uuid;

/// New identifiers for users, items and sessions.
pub trait IdSource: Send + Sync {
    /// A UUID no earlier call returned. Production ids MUST be unguessable (SECURITY.md
    /// EN-05): an item or user id in a URL is not a capability, but guessing them must not
    /// be a way to enumerate accounts.
    fn next(&self) -> Uuid;
}

/// Random (v4) identifiers: what production uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next(&self) -> Uuid {
        Uuid::new_v4()
    }
}
