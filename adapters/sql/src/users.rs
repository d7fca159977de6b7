//! `UserRepository` on `"user"`: email-key uniqueness left to `ix_user_email_key`, the
//! last-active-superuser guard under row locks, and the explicit all-or-nothing delete.

use async_trait::async_trait;
use gatehouse_domain::ports::{UserRepository, UserWriteError};
use gatehouse_domain::{
    EmailKey, Infra, Listing, Page, PasswordHash, SessionEnd, User, UserId, UserPatch,
    removes_last_active_superuser,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::db::{Db, finish};
use crate::entity::{item, reset_token, session, user};
use crate::error::{infra, user_write};
use crate::listing::newest_first;
use crate::mapping::{patch_columns, user_from_row, user_to_row};
use crate::sessions::{DELETE_BATCH, delete_session_batch, end_sessions};
use crate::write;

/// The user accounts.
pub(crate) struct SqlUsers(pub(crate) Db);

/// Locks the ids of every active superuser, in id order (the first step of the lock order
/// in `crate::db`), and returns them.
async fn lock_active_superusers(txn: &DatabaseTransaction) -> Result<Vec<Uuid>, DbErr> {
    user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::IsSuperuser.eq(true))
        .order_by_asc(user::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .into_tuple()
        .all(txn)
        .await
}

/// Locks and reads one user row.
pub(crate) async fn lock_user(
    txn: &DatabaseTransaction,
    id: Uuid,
    lock: LockType,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).lock(lock).one(txn).await
}

/// Deletes every reset token of the user (a password change voids them, RT-13).
pub(crate) async fn drop_reset_tokens(txn: &DatabaseTransaction, id: Uuid) -> Result<(), DbErr> {
    reset_token::Entity::delete_many()
        .filter(reset_token::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The body of [`UserRepository::update`] inside its transaction: lock, decide on the row
/// as it is now ([`UserPatch::apply`]), write only the patch's columns.
async fn update_in(
    db: &Db,
    txn: &DatabaseTransaction,
    id: UserId,
    patch: &UserPatch,
    sessions: SessionEnd,
    now: OffsetDateTime,
) -> Result<User, UserWriteError> {
    let uuid = id.as_uuid();
    // A write that may demote locks every active superuser first, so two concurrent
    // demotions (or a demotion and a delete) queue and the second sees the first.
    let superusers = if patch.may_demote() {
        lock_active_superusers(txn)
            .await
            .map_err(infra("users.update"))?
    } else {
        Vec::new()
    };
    let stored = lock_user(txn, uuid, LockType::NoKeyUpdate)
        .await
        .map_err(infra("users.update"))?
        .map(user_from_row)
        .ok_or(UserWriteError::NotFound)?;
    // Written before the decision is taken so a taken email reports `EmailTaken` first, as
    // the memory store does; a refusal below rolls the write back.
    let columns = patch_columns(patch);
    if !columns.is_empty() {
        write::update::<user::Entity>(columns)
            .filter(user::Column::Id.eq(uuid))
            .exec(txn)
            .await
            .map_err(user_write("users.update"))?;
    }
    let user = patch.apply(&stored, superusers.iter().any(|other| *other != uuid))?;
    if patch.sets_password() {
        drop_reset_tokens(txn, uuid)
            .await
            .map_err(infra("users.update"))?;
    }
    if let Some((scope, reason)) = sessions.ending() {
        end_sessions(db, txn, id, scope, reason, now)
            .await
            .map_err(infra("users.update"))?;
    }
    Ok(user)
}

/// The body of [`UserRepository::delete`] inside its transaction: the active superusers
/// locked first (the lock order of `update_in`), then the user, whose last-superuser rule
/// is judged on the rows as they are now; then explicit deletes rather than trusting the
/// cascades alone, in lock order (the user, then their sessions, then the sessions' tokens).
async fn delete_in(txn: &DatabaseTransaction, id: Uuid) -> Result<(), UserWriteError> {
    let superusers = lock_active_superusers(txn)
        .await
        .map_err(infra("users.delete"))?;
    let stored = lock_user(txn, id, LockType::Update)
        .await
        .map_err(infra("users.delete"))?
        .map(user_from_row)
        .ok_or(UserWriteError::NotFound)?;
    if removes_last_active_superuser(&stored, None, superusers.iter().any(|other| *other != id)) {
        return Err(UserWriteError::LastActiveSuperuser);
    }
    delete_rows(txn, id).await.map_err(infra("users.delete"))?;
    Ok(())
}

/// Deletes the locked user with everything that belongs to them.
async fn delete_rows(txn: &DatabaseTransaction, id: Uuid) -> Result<(), DbErr> {
    let owned = Condition::all().add(session::Column::UserId.eq(id));
    while delete_session_batch(txn, owned.clone()).await? == DELETE_BATCH {}
    item::Entity::delete_many()
        .filter(item::Column::OwnerId.eq(id))
        .exec(txn)
        .await?;
    drop_reset_tokens(txn, id).await?;
    user::Entity::delete_by_id(id).exec(txn).await?;
    Ok(())
}

#[async_trait]
impl UserRepository for SqlUsers {
    #[instrument(level = "trace", skip_all)]
    async fn insert(&self, user: &User) -> Result<(), UserWriteError> {
        let statement = write::insert::<user::Entity>(user_to_row(&self.0, user));
        self.0
            .conn
            .execute(&statement)
            .await
            .map_err(user_write("users.insert"))?;
        Ok(())
    }

    #[instrument(level = "trace", skip_all)]
    async fn get(&self, id: UserId) -> Result<Option<User>, Infra> {
        let row = user::Entity::find_by_id(id.as_uuid())
            .one(&self.0.reads())
            .await
            .map_err(infra("users.get"))?;
        Ok(row.map(user_from_row))
    }

    #[instrument(level = "trace", skip_all)]
    async fn find_by_email(&self, key: &EmailKey) -> Result<Option<User>, Infra> {
        // Login names and recovery addresses arrive unvalidated. PostgreSQL text holds no
        // NUL, so no stored key has one, and asking would fail the query instead.
        if key.as_str().contains('\0') {
            return Ok(None);
        }
        // Rows another backend wrote (the template, on the same database) have no key, or
        // lost it when that backend changed the address: they are found by `lower(email)`
        // (the unique index `ix_user_email_lower`), and kept only when their address keys as
        // asked, whatever the database's `lower()` folds.
        let keyless = Condition::all()
            .add(user::Column::EmailKey.is_null())
            .add(Expr::expr(Func::lower(Expr::col(user::Column::Email))).eq(key.as_str()));
        let rows = user::Entity::find()
            .filter(
                Condition::any()
                    .add(user::Column::EmailKey.eq(key.as_str()))
                    .add(keyless),
            )
            .all(&self.0.reads())
            .await
            .map_err(infra("users.find_by_email"))?;
        Ok(rows
            .into_iter()
            .map(user_from_row)
            .find(|user| user.email.key() == *key))
    }

    #[instrument(level = "trace", skip_all)]
    async fn list(&self, page: Page) -> Result<Listing<User>, Infra> {
        let (rows, count) = newest_first(
            &self.0.reads(),
            user::Entity::find(),
            user::Column::CreatedAt,
            user::Column::Id,
            page,
        )
        .await
        .map_err(infra("users.list"))?;
        Ok(Listing {
            data: rows.into_iter().map(user_from_row).collect(),
            count,
        })
    }

    #[instrument(level = "trace", skip_all)]
    async fn update(
        &self,
        id: UserId,
        patch: &UserPatch,
        sessions: SessionEnd,
        now: OffsetDateTime,
    ) -> Result<User, UserWriteError> {
        let txn = self.0.begin_write().await.map_err(infra("users.update"))?;
        let result = update_in(&self.0, &txn, id, patch, sessions, now).await;
        let finished = finish(txn, result.is_ok()).await;
        self.0.wrote_principal(id.as_uuid());
        finished.map_err(infra("users.update"))?;
        result
    }

    #[instrument(level = "trace", skip_all)]
    async fn upgrade_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<(), Infra> {
        // In a write transaction, marked as Gatehouse's (`crate::db`): a re-hash is no
        // password change, and must not end the user's sessions.
        let txn = self
            .0
            .begin_write()
            .await
            .map_err(infra("users.upgrade_hash"))?;
        user::Entity::update_many()
            .col_expr(user::Column::HashedPassword, Expr::val(new.as_str()))
            .filter(user::Column::Id.eq(id.as_uuid()))
            .filter(user::Column::HashedPassword.eq(old.as_str()))
            .exec(&txn)
            .await
            .map_err(infra("users.upgrade_hash"))?;
        let committed = txn.commit().await;
        self.0.wrote_principal(id.as_uuid());
        committed.map_err(infra("users.upgrade_hash"))
    }

    #[instrument(level = "trace", skip_all)]
    async fn delete(&self, id: UserId) -> Result<(), UserWriteError> {
        let txn = self.0.begin_write().await.map_err(infra("users.delete"))?;
        let result = delete_in(&txn, id.as_uuid()).await;
        let finished = finish(txn, result.is_ok()).await;
        self.0.wrote_principal(id.as_uuid());
        finished.map_err(infra("users.delete"))?;
        result
    }
}
