//! Gatehouse's password hashing: the [`PasswordHasher`](gatehouse_domain::ports::PasswordHasher)
//! port implemented with Argon2id (new hashes) and bcrypt (legacy hashes, verify only), run on a
//! bounded blocking pool so a login storm can neither stall the async workers nor exhaust memory.
//!
//! Nothing here knows about HTTP, storage or configuration sources: the composition root builds
//! an [`Argon2Hasher`] from [`HashParams`] and [`PoolLimits`] and hands it out as the port.

mod hasher;
mod memory;
pub mod metrics;
mod params;
mod pool;
mod stored;

pub use hasher::Argon2Hasher;
pub use params::{HashParams, HasherConfigError, PoolLimits};
pub use pool::PoolSaturated;
