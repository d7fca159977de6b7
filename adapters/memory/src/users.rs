//! `UserRepository` over the shared state: email-key uniqueness, the last-superuser guard
//! and the cascades of a user delete.

use async_trait::async_trait;
use gatehouse_domain::ports::{UserRepository, UserWriteError};
use gatehouse_domain::{
    EmailKey, Infra, Listing, Page, PasswordHash, SessionEnd, User, UserId, UserPatch,
    removes_last_active_superuser,
};
use time::OffsetDateTime;

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

    async fn update(
        &self,
        id: UserId,
        patch: &UserPatch,
        sessions: SessionEnd,
        now: OffsetDateTime,
    ) -> Result<User, UserWriteError> {
        let mut state = self.0.lock()?;
        let stored = state.users.get(&id).ok_or(UserWriteError::NotFound)?;
        if let Some(email) = &patch.email
            && state
                .email_holder(&email.key())
                .is_some_and(|holder| holder != id)
        {
            return Err(UserWriteError::EmailTaken);
        }
        let user = patch.apply(stored, state.another_active_superuser(id))?;
        state.users.insert(id, user.clone());
        if patch.sets_password() {
            state.drop_reset_tokens(id);
        }
        state.apply_session_end(id, sessions, now);
        Ok(user)
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

    async fn delete(&self, id: UserId) -> Result<(), UserWriteError> {
        let mut state = self.0.lock()?;
        let stored = state.users.get(&id).ok_or(UserWriteError::NotFound)?;
        if removes_last_active_superuser(stored, None, state.another_active_superuser(id)) {
            return Err(UserWriteError::LastActiveSuperuser);
        }
        state.users.remove(&id);
        state.items.retain(|_, item| item.owner_id != id);
        state.sessions.retain(|_, session| session.user_id != id);
        let State {
            sessions,
            refresh_tokens,
            ..
        } = &mut *state;
        refresh_tokens.retain(|_, token| sessions.contains_key(&token.session));
        state.drop_reset_tokens(id);
        Ok(())
    }
}
