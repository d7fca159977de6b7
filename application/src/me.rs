//! The caller's own account: read, update, change password, delete
//! (CONTRACT.md routes 8–11).

use gatehouse_domain::{
    Email, EndReason, FullName, Infra, Password, SessionEnd, User, ports::UserWriteError,
};
use tracing::info;

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
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why `DELETE /users/me` failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteMeError {
    #[error("superusers may not delete themselves")]
    Superuser,
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl Gatehouse {
    /// Applies the present profile fields; `is_superuser` and friends are not reachable
    /// from here (mass assignment, SECURITY.md AZ-03).
    ///
    /// # Errors
    /// `EmailTaken` when another account holds the new address.
    pub async fn update_me(
        &self,
        me: &Principal,
        changes: ProfileChanges,
    ) -> Result<User, UpdateMeError> {
        let mut user = me.user.clone();
        if let Some(full_name) = changes.full_name {
            user.full_name = full_name;
        }
        if let Some(email) = changes.email {
            user.email = email;
        }
        self.ports
            .users
            .update(&user, SessionEnd::Keep)
            .await
            .map_err(|e| match e {
                UserWriteError::EmailTaken => UpdateMeError::EmailTaken,
                other => UpdateMeError::Infra(infra_of(other)),
            })?;
        Ok(user)
    }

    /// Changes the caller's password after checking the current one; every other session
    /// of the user ends, the caller's survives (CONTRACT.md §9f, PW-12).
    ///
    /// # Errors
    /// `IncorrectPassword`, then `SamePassword` (plain-text comparison), in that order.
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
            info!(event = "password_change_failed", user_id = %me.user.id, outcome = "incorrect_password");
            return Err(ChangePasswordError::IncorrectPassword);
        }
        if current.expose() == new.expose() {
            return Err(ChangePasswordError::SamePassword);
        }
        let mut user = me.user.clone();
        user.hashed_password = self.ports.hasher.hash(new).await?;
        self.ports
            .users
            .update(
                &user,
                SessionEnd::AllExcept(me.session, EndReason::PasswordChange),
            )
            .await
            .map_err(infra_of)?;
        info!(event = "password_changed", user_id = %user.id, outcome = "other_sessions_ended");
        Ok(())
    }

    /// Deletes the caller's account with their items and sessions.
    ///
    /// # Errors
    /// `Superuser` for superusers, who could otherwise lock everyone out.
    pub async fn delete_me(&self, me: &Principal) -> Result<(), DeleteMeError> {
        if me.user.is_superuser {
            return Err(DeleteMeError::Superuser);
        }
        self.ports.users.delete(me.user.id).await?;
        info!(event = "user_deleted", user_id = %me.user.id, by = "self", outcome = "deleted");
        Ok(())
    }
}
