//! Superuser administration of accounts (CONTRACT.md routes 6, 7, 13–15).

use gatehouse_domain::{
    Email, EndReason, FullName, Infra, Listing, NewPassword, Page, Password, SessionEnd, User,
    UserId, UserPatch, ports::UserWriteError,
};
use tracing::instrument;

use crate::audit::{Actor, Audit};
use crate::{Gatehouse, Principal, Superuser};

/// An account created by a superuser (or the `create-superuser` command).
#[derive(Debug)]
pub struct NewUser {
    pub email: Email,
    pub password: Password,
    pub full_name: Option<FullName>,
    pub is_active: bool,
    pub is_superuser: bool,
}

/// Changes to an account by a superuser; `None` leaves a field unchanged.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub email: Option<Email>,
    pub password: Option<Password>,
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    pub full_name: Option<Option<FullName>>,
}

/// Why reading a user failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadUserError {
    /// A non-superuser asked for someone else (privilege before existence, D4).
    #[error("not enough privileges")]
    Forbidden,
    #[error("user not found")]
    NotFound,
    #[error(transparent)]
    Infra(#[from] Infra),
}

/// Why an administrative write failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminUserError {
    #[error("user not found")]
    NotFound,
    #[error("email taken")]
    EmailTaken,
    /// The change would leave no active superuser (CONTRACT.md §9j).
    #[error("last active superuser")]
    LastActiveSuperuser,
    /// A superuser tried to delete their own account.
    #[error("cannot delete oneself")]
    DeleteSelf,
    #[error(transparent)]
    Infra(#[from] Infra),
}

impl From<UserWriteError> for AdminUserError {
    fn from(e: UserWriteError) -> Self {
        match e {
            UserWriteError::EmailTaken => Self::EmailTaken,
            UserWriteError::NotFound => Self::NotFound,
            UserWriteError::LastActiveSuperuser => Self::LastActiveSuperuser,
            // Only a compare-and-set change returns it, and admins set passwords outright.
            UserWriteError::PasswordChanged => Self::Infra(Infra::unexpected(e)),
            UserWriteError::Infra(i) => Self::Infra(i),
        }
    }
}

impl Gatehouse {
    /// A page of all users, newest first.
    ///
    /// # Errors
    /// `Infra` only.
    #[instrument(skip_all)]
    pub async fn list_users(&self, _: &Superuser<'_>, page: Page) -> Result<Listing<User>, Infra> {
        self.ports.users.list(page).await
    }

    /// Creates an account with the given flags.
    ///
    /// # Errors
    /// `EmailTaken` when the address is registered in any case.
    #[instrument(skip_all)]
    pub async fn create_user(
        &self,
        admin: &Superuser<'_>,
        new: NewUser,
    ) -> Result<User, AdminUserError> {
        let user = self.create_user_for(new).await?;
        Audit::UserCreated {
            user: &user,
            by: Actor::Superuser(admin.principal().user.id),
        }
        .record(None);
        Ok(user)
    }

    /// The operator's door (`gatehouse create-superuser`): an active superuser made
    /// without a caller, because whoever runs the binary with its configuration already
    /// holds the database. No front end serving requests may call it.
    ///
    /// # Errors
    /// `EmailTaken` when the address is registered in any case.
    #[instrument(skip_all)]
    pub async fn create_superuser(
        &self,
        email: Email,
        password: Password,
    ) -> Result<User, AdminUserError> {
        let new = NewUser {
            email,
            password,
            full_name: None,
            is_active: true,
            is_superuser: true,
        };
        let user = self.create_user_for(new).await?;
        Audit::UserCreated {
            user: &user,
            by: Actor::Operator,
        }
        .record(None);
        Ok(user)
    }

    /// Creates the account and announces it.
    async fn create_user_for(&self, new: NewUser) -> Result<User, AdminUserError> {
        let user = self
            .create_account(
                new.email,
                &new.password,
                new.full_name,
                new.is_superuser,
                new.is_active,
            )
            .await?;
        self.announce_account(&user.email).await;
        Ok(user)
    }

    /// One user: one's own account, or any account for a superuser.
    ///
    /// # Errors
    /// `Forbidden` for a non-superuser asking for another id (existing or not), then
    /// `NotFound`.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn read_user(&self, me: &Principal, id: UserId) -> Result<User, ReadUserError> {
        if id == me.user.id {
            return Ok(me.user.clone());
        }
        if !me.user.is_superuser {
            return Err(ReadUserError::Forbidden);
        }
        self.ports
            .users
            .get(id)
            .await?
            .ok_or(ReadUserError::NotFound)
    }

    /// Applies a superuser's changes — the fields present, and only those, to the account
    /// as it is at the moment of writing. Setting a password or deactivating ends all the
    /// user's sessions (CONTRACT.md §9f, §3.1).
    ///
    /// # Errors
    /// `NotFound`, then `EmailTaken`, then `LastActiveSuperuser` (row unchanged).
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn update_user(
        &self,
        admin: &Superuser<'_>,
        id: UserId,
        changes: UserChanges,
    ) -> Result<User, AdminUserError> {
        let sessions = if changes.is_active == Some(false) {
            SessionEnd::All(EndReason::UserDisabled)
        } else if changes.password.is_some() {
            SessionEnd::All(EndReason::Admin)
        } else {
            SessionEnd::Keep
        };
        let password = match &changes.password {
            Some(password) => Some(NewPassword {
                hash: self.ports.hasher.hash(password).await?,
                replaces: None,
            }),
            None => None,
        };
        let patch = UserPatch {
            email: changes.email,
            full_name: changes.full_name,
            is_active: changes.is_active,
            is_superuser: changes.is_superuser,
            password,
        };
        let user = self
            .ports
            .users
            .update(id, &patch, sessions, self.ports.clock.now())
            .await?;
        Audit::UserUpdated {
            user: &user,
            by: Actor::Superuser(admin.principal().user.id),
            password_set: patch.sets_password(),
        }
        .record(None);
        Ok(user)
    }

    /// Deletes another account with its items and sessions.
    ///
    /// # Errors
    /// `NotFound`, then `DeleteSelf`; `LastActiveSuperuser` when the account is the last
    /// active superuser at the moment of deleting (two superusers deleting each other).
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn delete_user(
        &self,
        admin: &Superuser<'_>,
        id: UserId,
    ) -> Result<(), AdminUserError> {
        let admin = admin.principal();
        if self.ports.users.get(id).await?.is_none() {
            return Err(AdminUserError::NotFound);
        }
        if id == admin.user.id {
            return Err(AdminUserError::DeleteSelf);
        }
        self.ports.users.delete(id).await?;
        Audit::UserDeleted {
            user: id,
            by: Actor::Superuser(admin.user.id),
        }
        .record(None);
        Ok(())
    }
}
