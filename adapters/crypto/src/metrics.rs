//! What the hashing pool tells the operator (issue 15), through the `metrics` facade (a no-op
//! until the binary installs a recorder): how long a hash waited for a permit, and how often
//! the wait gave up (each of those answered 503). The permits in use are read at each scrape
//! ([`Argon2Hasher::permits_in_use`](crate::Argon2Hasher::permits_in_use)).

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Permits held right now: hashes running, or finishing after their request went away. Set by
/// the binary at each scrape.
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
