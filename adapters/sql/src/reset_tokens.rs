//! `ResetTokenStore` on `gatehouse_reset_token`: one live token per user, and a redemption
//! that validates, sets the password, voids every token and ends every session in one
//! transaction, with the user row locked first (the lock order of `crate::db`).

use async_trait::async_trait;
use gatehouse_domain::ports::{EndScope, OwnedWriteError, Redemption, ResetTokenStore};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{EndReason, Infra, PasswordHash, UserId};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use time::OffsetDateTime;
use tracing::instrument;

use crate::db::{Db, finish};
use crate::entity::{reset_token, user};
use crate::error::infra;
use crate::mapping::user_from_row;
use crate::sessions::end_sessions;
use crate::stamp;
use crate::users::{drop_reset_tokens, lock_user};
use crate::write;

/// The password-reset tokens.
pub(crate) struct SqlResetTokens(pub(crate) Db);

/// What redeeming a token at `now` would do, given its row and its user's.
fn verdict(
    row: Option<(reset_token::Model, Option<user::Model>)>,
    now: OffsetDateTime,
) -> Redemption {
    row.map_or(Redemption::Invalid, |(token, user)| {
        Redemption::judge(token.expires_at, user.map(user_from_row).as_ref(), now)
    })
}

/// The token with its user, unlocked.
async fn token_with_user<C: ConnectionTrait>(
    conn: &C,
    token: &TokenHash,
) -> Result<Option<(reset_token::Model, Option<user::Model>)>, DbErr> {
    reset_token::Entity::find_by_id(token.0.to_vec())
        .find_also_related(user::Entity)
        .one(conn)
        .await
}

/// Validates and applies a redemption inside `txn`; returns the outcome and whether it wrote.
async fn redeem_in(
    db: &Db,
    txn: &DatabaseTransaction,
    token: &TokenHash,
    new_hash: &PasswordHash,
    now: OffsetDateTime,
) -> Result<(Redemption, bool), DbErr> {
    // The token names the user; lock that user, then the token, then read both again so a
    // concurrent redemption of the same token finds it gone.
    let Some((first_look, _)) = token_with_user(txn, token).await? else {
        return Ok((Redemption::Invalid, false));
    };
    let locked_user = lock_user(txn, first_look.user_id, LockType::NoKeyUpdate).await?;
    let locked_token = reset_token::Entity::find_by_id(token.0.to_vec())
        .lock(LockType::Update)
        .one(txn)
        .await?;
    let outcome = verdict(locked_token.map(|t| (t, locked_user)), now);
    let Redemption::Done(id) = outcome else {
        return Ok((outcome, false));
    };
    user::Entity::update_many()
        .col_expr(user::Column::HashedPassword, Expr::val(new_hash.as_str()))
        .filter(user::Column::Id.eq(id.as_uuid()))
        .exec(txn)
        .await?;
    drop_reset_tokens(txn, id.as_uuid()).await?;
    end_sessions(db, txn, id, EndScope::All, EndReason::PasswordReset, now).await?;
    Ok((outcome, true))
}

#[async_trait]
impl ResetTokenStore for SqlResetTokens {
    #[instrument(level = "trace", skip_all)]
    async fn issue(
        &self,
        user: UserId,
        token: &TokenHash,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), OwnedWriteError> {
        let id = user.as_uuid();
        let txn = self
            .0
            .begin_write()
            .await
            .map_err(infra("reset_tokens.issue"))?;
        // Holds off a concurrent delete of the user (lock order: user row first); a user
        // deleted already writes nothing (the transaction rolls back when dropped).
        lock_user(&txn, id, LockType::KeyShare)
            .await
            .map_err(infra("reset_tokens.issue"))?
            .ok_or(OwnedWriteError::OwnerGone)?;
        drop_reset_tokens(&txn, id)
            .await
            .map_err(infra("reset_tokens.issue"))?;
        let row = vec![
            (reset_token::Column::TokenHash, token.0.to_vec().into()),
            (reset_token::Column::UserId, id.into()),
            (
                reset_token::Column::CreatedAt,
                self.0.at(stamp::micros(now)),
            ),
            (reset_token::Column::ExpiresAt, self.0.at(expires_at)),
        ];
        txn.execute(&write::insert::<reset_token::Entity>(row))
            .await
            .map_err(infra("reset_tokens.issue"))?;
        txn.commit().await.map_err(infra("reset_tokens.issue"))?;
        Ok(())
    }

    #[instrument(level = "trace", skip_all)]
    async fn check(&self, token: &TokenHash, now: OffsetDateTime) -> Result<Redemption, Infra> {
        let row = token_with_user(&self.0.reads(), token)
            .await
            .map_err(infra("reset_tokens.check"))?;
        Ok(verdict(row, stamp::micros(now)))
    }

    #[instrument(level = "trace", skip_all)]
    async fn redeem(
        &self,
        token: &TokenHash,
        new_hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<Redemption, Infra> {
        let txn = self
            .0
            .begin_write()
            .await
            .map_err(infra("reset_tokens.redeem"))?;
        let (outcome, wrote) = redeem_in(&self.0, &txn, token, new_hash, stamp::micros(now))
            .await
            .map_err(infra("reset_tokens.redeem"))?;
        let finished = finish(txn, wrote).await;
        if let Redemption::Done(user) = &outcome {
            // The password changed and the user's sessions ended.
            self.0.wrote_principal(user.as_uuid());
        }
        finished.map_err(infra("reset_tokens.redeem"))?;
        Ok(outcome)
    }
}
