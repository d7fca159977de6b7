//! The caller's own account: read, update, change password, delete
//! (CONTRACT.md routes 8–11).

use gatehouse_domain::{
    Email, EndReason, FullName, Infra, NewPassword, Password, SessionEnd, User, UserPatch,
    ports::UserWriteError,
};
use tracing::instrument;

use crate::audit::{Actor, Audit};
use crate::{Gatehouse, Principal, signup::infra_of};

/// Changes to one's own profile; `None` leaves a field as it is, `Some(None)` clears the
/// nullable `full_name`.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    pub full_name: Option<Option<FullName>>,
    pub email: Option<Email>,
}

/// Why `PATCH /users/me` failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateMeError {
    /// Another user has this address (one's own, in any case, is fine).
    #[error("email taken by another user")]
    EmailTaken,
    /// The account was deleted while the request ran.
    #[error("user not found")]
    UserNotFound,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why `PATCH /users/me/password` failed, in the contract's order.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    #[error("incorrect password")]
    IncorrectPassword,
    #[error("new password equals the current one")]
    SamePassword,
    /// The account was deleted while the request ran.
    #[error("user not found")]
    UserNotFound,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why `DELETE /users/me` failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteMeError {
    #[error("superusers may not delete themselves")]
    Superuser,
    /// The account was deleted already (a concurrent request).
    #[error("user not found")]
    UserNotFound,
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl Gatehouse {
    /// Applies the present profile fields, and only those, to the account as it is now;
    /// `is_superuser` and friends are not reachable from here (mass assignment, SECURITY.md
    /// AZ-03).
    ///
    /// # Errors
    /// `EmailTaken` when another account holds the new address; `UserNotFound` when the
    /// account was deleted meanwhile.
    #[instrument(skip_all)]
    pub async fn update_me(
        &self,
        me: &Principal,
        changes: ProfileChanges,
    ) -> Result<User, UpdateMeError> {
        let patch = UserPatch {
            email: changes.email,
            full_name: changes.full_name,
            ..UserPatch::default()
        };
        self.ports
            .users
            .update(me.user.id, &patch, SessionEnd::Keep, self.ports.clock.now())
            .await
            .map_err(|e| match e {
                UserWriteError::EmailTaken => UpdateMeError::EmailTaken,
                UserWriteError::NotFound => UpdateMeError::UserNotFound,
                other => UpdateMeError::Infra(infra_of(other)),
            })
    }

    /// Changes the caller's password after checking the current one; every other session
    /// of the user ends, the caller's survives (CONTRACT.md §9f, PW-12). The new hash is
    /// stored only while the verified one is still stored (compare-and-set): when a
    /// concurrent change, reset or admin set wins, the password this request verified is no
    /// longer the current one, and it answers exactly as for a wrong current password.
    ///
    /// # Errors
    /// `IncorrectPassword`, then `SamePassword` (plain-text comparison), in that order;
    /// `UserNotFound` when the account was deleted meanwhile.
    #[instrument(skip_all)]
    pub async fn change_password(
        &self,
        me: &Principal,
        current: &Password,
        new: &Password,
    ) -> Result<(), ChangePasswordError> {
        let verdict = self
            .ports
            .hasher
            .verify(current, Some(&me.user.hashed_password))
            .await?;
        if !verdict.matches {
            Audit::PasswordChangeFailed {
                user: me.user.id,
                concurrently: false,
            }
            .record(None);
            return Err(ChangePasswordError::IncorrectPassword);
        }
        if current.expose() == new.expose() {
            return Err(ChangePasswordError::SamePassword);
        }
        let patch = UserPatch {
            password: Some(NewPassword {
                hash: self.ports.hasher.hash(new).await?,
                replaces: Some(me.user.hashed_password.clone()),
            }),
            ..UserPatch::default()
        };
        let ends = SessionEnd::AllExcept(me.session, EndReason::PasswordChange);
        let now = self.ports.clock.now();
        match self.ports.users.update(me.user.id, &patch, ends, now).await {
            Ok(_) => {}
            Err(UserWriteError::PasswordChanged) => {
                Audit::PasswordChangeFailed {
                    user: me.user.id,
                    concurrently: true,
                }
                .record(None);
                return Err(ChangePasswordError::IncorrectPassword);
            }
            Err(UserWriteError::NotFound) => return Err(ChangePasswordError::UserNotFound),
            Err(other) => return Err(infra_of(other).into()),
        }
        Audit::PasswordChanged { user: me.user.id }.record(None);
        Ok(())
    }

    /// Deletes the caller's account with their items and sessions.
    ///
    /// # Errors
    /// `Superuser` for superusers, who could otherwise lock everyone out (also when the
    /// account became the last active superuser meanwhile); `UserNotFound` when it was
    /// deleted already.
    #[instrument(skip_all)]
    pub async fn delete_me(&self, me: &Principal) -> Result<(), DeleteMeError> {
        if me.user.is_superuser {
            return Err(DeleteMeError::Superuser);
        }
        match self.ports.users.delete(me.user.id).await {
            Ok(()) => {}
            Err(UserWriteError::NotFound) => return Err(DeleteMeError::UserNotFound),
            Err(UserWriteError::LastActiveSuperuser) => return Err(DeleteMeError::Superuser),
            Err(other) => return Err(infra_of(other).into()),
        }
        Audit::UserDeleted {
            user: me.user.id,
            by: Actor::Holder,
        }
        .record(None);
        Ok(())
    }
}
