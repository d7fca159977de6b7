//! Request extractors that never decide the answer too early: they read raw input and
//! leave validation to the handler, so the contract's order of checks holds (CONTRACT.md
//! §2.4). Only a malformed JSON body fails here, before authentication, as FastAPI does.

mod auth;
mod body;
mod form;
mod params;

pub use auth::{Auth, OptionalAuth};
pub use body::{Body, JsonBody};
pub use form::LoginBody;
pub use params::{
    EmailSpec, EmailTo, IdSpec, LimitQuery, LogoutScopeQuery, Path, SkipQuery, UserIdSpec,
};
