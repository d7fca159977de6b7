//! Ports: the traits through which the core reaches storage, cryptography, tokens, mail
//! time and new identifiers. Each method states its contract in MUST language; the memory and SQL
//! adapters pass the same contract suite. Ports are `Send + Sync` and used as `Arc<dyn _>`.

mod access_tokens;
mod clock;
mod hasher;
mod ids;
mod items;
mod limiter;
mod mailer;
mod opaque;
mod owned;
mod readiness;
mod reset_tokens;
mod sessions;
mod users;

pub use access_tokens::{AccessClaims, AccessTokens, IssuedAccessToken, PublicKey, TokenRejected};
pub use clock::{Clock, SystemClock};
pub use hasher::{PasswordHasher, Verification};
pub use ids::{IdSource, RandomIds};
pub use items::ItemRepository;
pub use limiter::AttemptLimiter;
pub use mailer::{Mailer, OutgoingEmail};
pub use opaque::OpaqueTokens;
pub use owned::OwnedWriteError;
pub use readiness::{NotReady, Readiness};
pub use reset_tokens::{Redemption, ResetTokenStore};
pub use sessions::{EndScope, Rotation, RotationOutcome, RotationStep, SessionCap, SessionStore};
pub use users::{UserRepository, UserWriteError};
