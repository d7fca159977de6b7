//! The shared bearer check (CONTRACT.md §3.1 rows 2–6): who is calling, through which
//! session, and whether they may act as a superuser.
//!
//! Acting as a superuser is a capability, [`Superuser`], that only this crate mints: every
//! administrative use case takes one, so no front end can reach them without the check.

use gatehouse_domain::{Infra, SessionId, User};
use tracing::instrument;

use crate::Gatehouse;
use crate::audit::Audit;

/// An authenticated caller: an active user acting through a live session.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    pub session: SessionId,
}

/// Why a bearer token does not authenticate, in the contract's order.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Row 2: not a valid access token of ours.
    #[error("invalid access token")]
    InvalidToken,
    /// Row 3: the token's user no longer exists.
    #[error("user not found")]
    UserNotFound,
    /// Row 4: the user is deactivated (checked before the session, CONTRACT.md §3.1).
    #[error("inactive user")]
    Inactive,
    /// Row 5: the session was ended, expired or never existed.
    #[error("session ended")]
    SessionEnded,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Row 6: the caller is not a superuser.
#[derive(Debug, thiserror::Error)]
#[error("the user doesn't have enough privileges")]
pub struct Forbidden;

/// Proof that a caller is a superuser (CONTRACT.md §3.1 row 6), taken by every
/// administrative use case. Only [`Principal::as_superuser`] makes one, so a front end can
/// choose *when* to ask (the contract checks it before validating input, §2.4 step 3) but
/// cannot skip asking:
///
/// ```compile_fail
/// # fn forge(principal: &gatehouse_application::Principal) {
/// // The field is private: a capability cannot be built outside the application.
/// let admin = gatehouse_application::Superuser { principal };
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Superuser<'a> {
    principal: &'a Principal,
}

impl Superuser<'_> {
    /// The superuser acting.
    pub fn principal(&self) -> &Principal {
        self.principal
    }
}

impl Principal {
    /// The superuser capability; the flag comes from the database on every request (TOK-15).
    ///
    /// # Errors
    /// [`Forbidden`] for anyone else.
    pub fn as_superuser(&self) -> Result<Superuser<'_>, Forbidden> {
        if self.user.is_superuser {
            Ok(Superuser { principal: self })
        } else {
            Audit::NotSuperuser { user: self.user.id }.record(None);
            Err(Forbidden)
        }
    }
}

impl Gatehouse {
    /// Verifies an access token and loads its user and session in one query (TOK-13).
    ///
    /// # Errors
    /// The [`AuthError`] variant of the first failing check; `Infra` when the store is down
    /// (auth fails closed: never skipped).
    #[instrument(skip_all)]
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let now = self.ports.clock.now();
        let claims = self.ports.access_tokens.verify(token, now).map_err(|e| {
            Audit::AccessTokenRejected { reason: &e.0 }.record(None);
            AuthError::InvalidToken
        })?;
        let (user, session) = self
            .ports
            .sessions
            .load_principal(claims.user, claims.session)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        if !user.is_active {
            return Err(AuthError::Inactive);
        }
        match session {
            Some(s) if s.is_live(now, self.policy.session_idle_timeout) => Ok(Principal {
                user,
                session: s.id,
            }),
            _ => Err(AuthError::SessionEnded),
        }
    }
}
