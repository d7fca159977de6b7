//! `UserRepository` over the shared state: email-key uniqueness, the last-superuser guard
//! and the cascades of a user delete.

use async_trait::async_trait;
use gatehouse_domain::ports::{UserRepository, UserWriteError};
use gatehouse_domain::{EmailKey, Infra, Listing, Page, PasswordHash, SessionEnd, User, UserId};

use crate::listing::newest_first;
use crate::state::{Shared, State};

/// The user accounts of one memory store.
pub(crate) struct MemoryUsers(pub(crate) Shared);

#[async_trait]
impl UserRepository for MemoryUsers {
    async fn insert(&self, user: &User) -> Result<(), UserWriteError> {
        let mut state = self.0.lock()?;
        if state.email_holder(&user.email.key()).is_some() {
            return Err(UserWriteError::EmailTaken);
        }
        State::unique(state.users.contains_key(&user.id), "user id")?;
        state.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, Infra> {
        Ok(self.0.lock()?.users.get(&id).cloned())
    }

    async fn find_by_email(&self, key: &EmailKey) -> Result<Option<User>, Infra> {
        let state = self.0.lock()?;
        Ok(state
            .email_holder(key)
            .and_then(|id| state.users.get(&id))
            .cloned())
    }

    async fn list(&self, page: Page) -> Result<Listing<User>, Infra> {
        let rows = self.0.lock()?.users.values().cloned().collect();
        Ok(newest_first(rows, |u| (u.created_at, u.id.as_uuid()), page))
    }

    async fn update(&self, user: &User, sessions: SessionEnd) -> Result<(), UserWriteError> {
        let now = self.0.now();
        let mut state = self.0.lock()?;
        let stored = state.users.get(&user.id).ok_or(UserWriteError::NotFound)?;
        if state
            .email_holder(&user.email.key())
            .is_some_and(|holder| holder != user.id)
        {
            return Err(UserWriteError::EmailTaken);
        }
        let demotes = stored.is_active_superuser() && !user.is_active_superuser();
        let another_remains = state
            .users
            .values()
            .any(|u| u.id != user.id && u.is_active_superuser());
        if demotes && !another_remains {
            return Err(UserWriteError::LastActiveSuperuser);
        }
        let hash_changed = stored.hashed_password != user.hashed_password;
        state.users.insert(user.id, user.clone());
        if hash_changed {
            state.drop_reset_tokens(user.id);
        }
        state.apply_session_end(user.id, sessions, now);
        Ok(())
    }

    async fn upgrade_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<(), Infra> {
        let mut state = self.0.lock()?;
        if let Some(user) = state.users.get_mut(&id)
            && user.hashed_password == *old
        {
            user.hashed_password = new.clone();
        }
        Ok(())
    }

    async fn delete(&self, id: UserId) -> Result<bool, Infra> {
        let mut state = self.0.lock()?;
        if state.users.remove(&id).is_none() {
            return Ok(false);
        }
        state.items.retain(|_, item| item.owner_id != id);
        state.sessions.retain(|_, session| session.user_id != id);
        let State {
            sessions,
            refresh_tokens,
            ..
        } = &mut *state;
        refresh_tokens.retain(|_, token| sessions.contains_key(&token.session));
        state.drop_reset_tokens(id);
        Ok(true)
    }
}
