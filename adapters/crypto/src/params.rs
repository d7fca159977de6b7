//! The hasher's configuration: Argon2id cost parameters, the cost ceiling on stored hashes, and
//! the limits of the blocking pool; plus the error a bad configuration produces.

use std::num::NonZeroUsize;
use std::time::Duration;

/// Argon2id cost parameters for new hashes (SECURITY.md D9, PW-01).
///
/// Always turned into explicit `argon2::Params`; `Argon2::default()` is never used, so a crate
/// upgrade cannot silently change what we store (pitfall H4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashParams {
    /// Memory cost `m`, in KiB.
    pub memory_kib: u32,
    /// Time cost `t`: passes over memory.
    pub iterations: u32,
    /// Parallelism `p`: lanes.
    pub parallelism: u32,
}

impl Default for HashParams {
    /// OWASP's Argon2id baseline: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashParams {
    /// The most a stored Argon2 hash may ask for (PW-05, our choice). A tampered or absurd hash
    /// above it is refused without verifying: the verifier follows the stored parameters (pitfall
    /// H3), so without a ceiling one row could make a login allocate gigabytes.
    pub const CEILING: Self = Self {
        memory_kib: 262_144,
        iterations: 10,
        parallelism: 16,
    };

    /// The highest bcrypt cost accepted on a stored hash (PW-05): cost 15 already takes seconds.
    pub const BCRYPT_MAX_COST: u32 = 14;

    /// Whether any parameter is above [`HashParams::CEILING`].
    pub(crate) fn exceeds_ceiling(self) -> bool {
        self.memory_kib > Self::CEILING.memory_kib
            || self.iterations > Self::CEILING.iterations
            || self.parallelism > Self::CEILING.parallelism
    }

    /// The explicit argon2 parameters (default output length, no key id or associated data).
    ///
    /// # Errors
    /// `InvalidParams` when argon2 refuses the combination (e.g. `m < 8·p`, `t = 0`).
    pub(crate) fn to_argon2(self) -> Result<argon2::Params, HasherConfigError> {
        argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(HasherConfigError::InvalidParams)
    }
}

impl From<&argon2::Params> for HashParams {
    fn from(params: &argon2::Params) -> Self {
        Self {
            memory_kib: params.m_cost(),
            iterations: params.t_cost(),
            parallelism: params.p_cost(),
        }
    }
}

/// How much hashing may run at once and how long a request waits for its turn (PW-06).
///
/// `permits × memory_kib` bounds the memory hashing can take; a request that cannot get a permit
/// within `max_wait` fails with `Infra::Unavailable` (503 + `Retry-After`) instead of queueing
/// without bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Hashes or verifications running at the same time.
    pub permits: NonZeroUsize,
    /// Longest wait for a permit.
    pub max_wait: Duration,
}

impl Default for PoolLimits {
    /// One permit per core (hashing is CPU-bound: more would only queue inside the OS) and a
    /// 5-second wait, well inside any client's timeout.
    fn default() -> Self {
        Self {
            permits: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            max_wait: Duration::from_secs(5),
        }
    }
}

/// Why the hasher could not be built; reported by the configuration layer (exit code 78).
#[derive(Debug, thiserror::Error)]
pub enum HasherConfigError {
    #[error("invalid argon2 parameters: {0}")]
    InvalidParams(#[source] argon2::Error),
    #[error(
        "argon2 parameters above the accepted ceiling (m <= 262144 KiB, t <= 10, p <= 16): \
         hashes made with them would be refused at login"
    )]
    AboveCeiling,
    #[error("could not compute the dummy hash used for unknown users")]
    DummyHash(#[source] argon2::password_hash::Error),
}
