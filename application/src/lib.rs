//! Gatehouse's use cases: one module per operation, each with its own error enum, all
//! methods of [`Gatehouse`], which holds the ports and the [`Policy`].
//!
//! This crate decides who may do what (ownership, superuser rules, throttling, session
//! rules); it never touches HTTP, SQL or a token's wire format.
//!
//! Each use case runs in a span of its name (`#[instrument(skip_all)]`: arguments hold
//! passwords and tokens, so only ids are recorded), so its audit events and its adapters'
//! log lines say which operation they belong to, beside the request's fields.

mod admin_users;
mod audit;
mod auth;
mod client;
mod emails;
mod housekeeping;
mod items;
mod login;
mod me;
mod policy;
mod recovery;
mod seed;
mod sessions;
mod signup;
mod throttling;

use std::sync::Arc;

use gatehouse_domain::ports::{
    AccessTokens, AttemptLimiter, Clock, IdSource, ItemRepository, Mailer, OpaqueTokens,
    PasswordHasher, Readiness, ResetTokenStore, SessionStore, UserRepository,
};

pub use admin_users::{AdminUserError, NewUser, ReadUserError, UserChanges};
pub use auth::{AuthError, Forbidden, Principal, Superuser};
pub use client::Client;
pub use housekeeping::Pruned;
pub use items::{ItemError, NewItem};
pub use login::{LoginError, TokenPair};
pub use me::{ChangePasswordError, DeleteMeError, ProfileChanges, UpdateMeError};
pub use policy::{Policy, ThrottlePolicy};
pub use recovery::{EmailNotConfigured, PreviewError, RecoveryError, ResetError};
pub use seed::SeedOutcome;
pub use sessions::{
    EndAccountSessionsError, LogoutError, LogoutScope, RefreshError, RevokeSessionError,
};
pub use signup::{Registration, SignupError};
pub use throttling::Throttled;

/// Every port the use cases need, as shared trait objects.
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserRepository>,
    pub items: Arc<dyn ItemRepository>,
    pub sessions: Arc<dyn SessionStore>,
    pub reset_tokens: Arc<dyn ResetTokenStore>,
    pub limiter: Arc<dyn AttemptLimiter>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub access_tokens: Arc<dyn AccessTokens>,
    pub opaque_tokens: Arc<dyn OpaqueTokens>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    /// The one source of the ids the use cases mint (users, items, sessions).
    pub ids: Arc<dyn IdSource>,
    pub readiness: Arc<dyn Readiness>,
}

/// The application service: the use cases over the ports, under one policy.
pub struct Gatehouse {
    ports: Ports,
    policy: Policy,
    fingerprints: audit::Fingerprints,
}

impl Gatehouse {
    /// Assembles the service; the composition root (the `gatehouse` binary, or a test)
    /// chooses the adapters.
    pub fn new(ports: Ports, policy: Policy) -> Self {
        Self {
            ports,
            policy,
            fingerprints: audit::Fingerprints::new(),
        }
    }

    /// The policy in force (the HTTP layer reports token lifetimes from it).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The ports, for probes and the JWKS document.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }
}
