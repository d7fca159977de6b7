//! Gatehouse's pure core: entities, value objects that validate themselves, the ports
//! (traits) through which the core reaches the outside world, and the domain errors.
//!
//! Nothing here performs I/O or knows about HTTP, SQL, token formats or environment
//! variables; adapters implement the ports (see `ARCHITECTURE.md`).

pub mod email;
pub mod ids;
pub mod infra;
pub mod item;
pub mod page;
pub mod password;
pub mod ports;
pub mod secret;
pub mod session;
pub mod text;
pub mod throttle;
pub mod user;

pub use email::{Email, EmailError, EmailKey};
pub use ids::{ItemId, SessionId, UserId};
pub use infra::{BoxError, Infra, error_chain};
pub use item::{Item, ItemPatch};
pub use page::{Listing, Page};
pub use password::{Password, PasswordError, PasswordHash};
pub use secret::Secret;
pub use session::{EndReason, Session, SessionEnd};
pub use text::{FullName, ItemDescription, ItemTitle, TextError, check as check_text};
pub use user::{NewPassword, User, UserPatch, UserRefusal, removes_last_active_superuser};
