//! What the hashing pool tells the operator (issue 15), through the `metrics` facade (a no-op
//! until the binary installs a recorder): how many permits are busy, how long a hash waited
//! for one, and how often the wait gave up (each of those answered 503).

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram, gauge};

/// Permits held right now: hashes running, or finishing after their request went away.
pub const PERMITS_IN_USE: &str = "gatehouse_argon2_permits_in_use";
/// Time from asking for a permit to getting one (or giving up).
pub const QUEUE_WAIT: &str = "gatehouse_argon2_queue_wait_seconds";
/// Hashes refused because no permit freed up within `HASHING_QUEUE_TIMEOUT_SECONDS`.
pub const QUEUE_TIMEOUTS: &str = "gatehouse_argon2_queue_timeouts_total";

/// Registers the help texts; call once after installing the recorder.
pub fn describe() {
    describe_gauge!(PERMITS_IN_USE, "Password-hashing permits in use");
    describe_histogram!(
        QUEUE_WAIT,
        Unit::Seconds,
        "Time a password hash waited for a permit"
    );
    describe_counter!(
        QUEUE_TIMEOUTS,
        "Password hashes refused (503) because no permit freed up in time"
    );
}

/// Counts one permit in use until dropped.
pub(crate) struct Busy(());

impl Busy {
    pub(crate) fn start() -> Self {
        gauge!(PERMITS_IN_USE).increment(1.0);
        Self(())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        gauge!(PERMITS_IN_USE).decrement(1.0);
    }
}
