//! `SessionStore` on `gatehouse_session` and `gatehouse_refresh_token`: refresh-token
//! rotation as SECURITY.md §2.2 steps 2–5 (one transaction, the session row locked before
//! the token is read), the one-query principal lookup (TOK-13), and ending sessions.

use async_trait::async_trait;
use gatehouse_domain::ports::{
    EndScope, OwnedWriteError, Rotation, RotationOutcome, RotationStep, SessionCap, SessionStore,
};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{EndReason, Infra, Session, SessionId, User, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::db::{Db, finish};
use crate::entity::{refresh_token, session, user};
use crate::error::infra;
use crate::mapping::{session_from_row, session_to_row, user_from_row};
use crate::users::lock_user;
use crate::{stamp, write};

/// The sessions and their refresh-token families.
pub(crate) struct SqlSessions(pub(crate) Db);

/// Revokes the user's not-yet-revoked sessions in `scope`; returns how many.
pub(crate) async fn end_sessions<C: ConnectionTrait>(
    db: &Db,
    conn: &C,
    user: UserId,
    scope: EndScope,
    reason: EndReason,
    now: OffsetDateTime,
) -> Result<u64, DbErr> {
    let update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::val(db.at(now)))
        .col_expr(session::Column::RevokedReason, Expr::val(reason.as_str()))
        .filter(session::Column::UserId.eq(user.as_uuid()))
        .filter(session::Column::RevokedAt.is_null());
    let update = match scope {
        EndScope::One(id) => update.filter(session::Column::Id.eq(id.as_uuid())),
        EndScope::All => update,
        EndScope::AllExcept(id) => update.filter(session::Column::Id.ne(id.as_uuid())),
    };
    Ok(update.exec(conn).await?.rows_affected)
}

/// Sessions deleted per batch: the ids of one batch are bound as parameters, which
/// PostgreSQL limits to 65535 per statement.
pub(crate) const DELETE_BATCH: u64 = 1000;

/// Deletes up to [`DELETE_BATCH`] sessions matching `filter` with their refresh tokens,
/// locking the sessions before touching their tokens (the lock order of every session
/// write); returns how many. Used by `delete_ended` and by deleting a user.
pub(crate) async fn delete_session_batch(
    txn: &DatabaseTransaction,
    filter: Condition,
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(filter)
        .limit(DELETE_BATCH)
        .lock(LockType::Update)
        .into_tuple()
        .all(txn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::SessionId.is_in(ids.clone()))
        .exec(txn)
        .await?;
    let deleted = session::Entity::delete_many()
        .filter(session::Column::Id.is_in(ids))
        .exec(txn)
        .await?;
    Ok(deleted.rows_affected)
}

/// The session that issued `token`; with `lock`, its row is locked (PostgreSQL
/// `FOR NO KEY UPDATE OF gatehouse_session`, the token row itself stays unlocked).
async fn session_of_token<C: ConnectionTrait>(
    conn: &C,
    token: &TokenHash,
    lock: bool,
) -> Result<Option<session::Model>, DbErr> {
    let mut query = session::Entity::find()
        .join(
            JoinType::InnerJoin,
            refresh_token::Relation::Session.def().rev(),
        )
        .filter(refresh_token::Column::TokenHash.eq(token.0.to_vec()));
    if lock {
        QuerySelect::query(&mut query).lock_with_tables(LockType::NoKeyUpdate, [session::Entity]);
    }
    query.one(conn).await
}

/// One refresh-token row by its hash.
async fn token_row(
    txn: &DatabaseTransaction,
    token: &TokenHash,
) -> Result<Option<refresh_token::Model>, DbErr> {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token.0.to_vec()))
        .one(txn)
        .await
}

/// Stores an unused refresh token of `session`; `parent` is the token it succeeds.
async fn store_token(
    db: &Db,
    txn: &DatabaseTransaction,
    session: SessionId,
    hash: &TokenHash,
    parent: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<Uuid, DbErr> {
    let id = Uuid::new_v4();
    let row = vec![
        (refresh_token::Column::Id, id.into()),
        (refresh_token::Column::SessionId, session.as_uuid().into()),
        (refresh_token::Column::TokenHash, hash.0.to_vec().into()),
        (refresh_token::Column::ParentId, parent.into()),
        (refresh_token::Column::CreatedAt, db.at(now)),
        (refresh_token::Column::UsedAt, db.at_opt(None)),
        (
            refresh_token::Column::ReplacedById,
            Option::<Uuid>::None.into(),
        ),
    ];
    txn.execute(&write::insert::<refresh_token::Entity>(row))
        .await?;
    Ok(id)
}

/// Steps 3–5 on the locked session, decided by [`Rotation::decide`]. Returns the outcome
/// and whether it wrote anything.
async fn rotate_locked(
    db: &Db,
    txn: &DatabaseTransaction,
    r: &Rotation,
    now: OffsetDateTime,
) -> Result<(RotationOutcome, bool), DbErr> {
    let Some(row) = session_of_token(txn, &r.presented, true).await? else {
        return Ok((RotationOutcome::Invalid, false));
    };
    // Read only now that the session is locked: on PostgreSQL, rows joined to a locked row
    // are seen as of the statement's start, before a concurrent rotation committed.
    let Some(token) = token_row(txn, &r.presented).await? else {
        return Ok((RotationOutcome::Invalid, false));
    };
    let mut session = session_from_row(row);
    let successor_unused = match token.used_at {
        Some(_) => successor_unused(txn, &token, &r.successor).await?,
        None => false,
    };
    let decided = Rotation { now, ..r.clone() }.decide(&session, token.used_at, successor_unused);
    match decided {
        RotationStep::Invalid => Ok((RotationOutcome::Invalid, false)),
        RotationStep::Repeat => Ok((RotationOutcome::Repeated(session), false)),
        RotationStep::Rotate => {
            let child = store_token(db, txn, session.id, &r.successor, Some(token.id), now).await?;
            refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::UsedAt, Expr::val(db.at(now)))
                .col_expr(refresh_token::Column::ReplacedById, Expr::val(child))
                .filter(refresh_token::Column::Id.eq(token.id))
                .exec(txn)
                .await?;
            session::Entity::update_many()
                .col_expr(session::Column::LastUsedAt, Expr::val(db.at(now)))
                .filter(session::Column::Id.eq(session.id.as_uuid()))
                .exec(txn)
                .await?;
            session.last_used_at = now;
            Ok((RotationOutcome::Rotated(session), true))
        }
        RotationStep::RevokeForReuse => {
            end_sessions(
                db,
                txn,
                session.user_id,
                EndScope::One(session.id),
                EndReason::ReuseDetected,
                now,
            )
            .await?;
            session.revoked_at = Some(now);
            session.revoked_reason = Some(EndReason::ReuseDetected);
            Ok((RotationOutcome::ReuseDetected(session), true))
        }
    }
}

/// The user's live sessions at `now`, most recently used first (the SQL form of
/// `Session::is_live`).
async fn live_sessions<C: ConnectionTrait>(
    db: &Db,
    conn: &C,
    user: UserId,
    now: OffsetDateTime,
    idle_timeout: Duration,
) -> Result<Vec<Session>, DbErr> {
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(user.as_uuid()))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::NotAfter.gt(db.at(now)))
        .filter(session::Column::LastUsedAt.gte(db.at(now - idle_timeout)))
        .order_by_desc(session::Column::LastUsedAt)
        .order_by_asc(session::Column::Id)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(session_from_row).collect())
}

/// The body of [`SessionStore::create`] inside its transaction: the user row locked first
/// (it serialises the user's logins, so the cap is judged on every session they committed,
/// and holds off a concurrent delete), then the new session and token, then the cap.
async fn create_in(
    db: &Db,
    txn: &DatabaseTransaction,
    new: &Session,
    first_token: &TokenHash,
    cap: SessionCap,
) -> Result<u64, OwnedWriteError> {
    lock_user(txn, new.user_id.as_uuid(), LockType::NoKeyUpdate)
        .await
        .map_err(infra)?
        .ok_or(OwnedWriteError::OwnerGone)?;
    txn.execute(&write::insert::<session::Entity>(session_to_row(db, new)))
        .await
        .map_err(infra)?;
    store_token(db, txn, new.id, first_token, None, new.created_at)
        .await
        .map_err(infra)?;
    let now = stamp::micros(new.created_at);
    let live = live_sessions(db, txn, new.user_id, now, cap.idle_timeout)
        .await
        .map_err(infra)?;
    let mut evicted = 0;
    for old in Session::beyond_cap(&live, new.id, cap.max) {
        evicted += end_sessions(
            db,
            txn,
            new.user_id,
            EndScope::One(old),
            EndReason::Evicted,
            now,
        )
        .await
        .map_err(infra)?;
    }
    Ok(evicted)
}

/// Whether the child stored when `parent` was rotated is `successor` and still unused: a
/// benign repeat hands out that same child, so it must be the one this request derived.
async fn successor_unused(
    txn: &DatabaseTransaction,
    parent: &refresh_token::Model,
    successor: &TokenHash,
) -> Result<bool, DbErr> {
    let Some(child_id) = parent.replaced_by_id else {
        return Ok(false);
    };
    let child = refresh_token::Entity::find_by_id(child_id).one(txn).await?;
    Ok(child.is_some_and(|c| c.used_at.is_none() && c.token_hash == successor.0))
}

#[async_trait]
impl SessionStore for SqlSessions {
    async fn create(
        &self,
        session: &Session,
        first_token: &TokenHash,
        cap: SessionCap,
    ) -> Result<u64, OwnedWriteError> {
        let txn = self.0.begin_write().await.map_err(infra)?;
        let result = create_in(&self.0, &txn, session, first_token, cap).await;
        finish(txn, result.is_ok()).await.map_err(infra)?;
        result
    }

    async fn rotate(&self, rotation: &Rotation) -> Result<RotationOutcome, Infra> {
        let now = stamp::micros(rotation.now);
        let txn = self.0.begin_write().await.map_err(infra)?;
        let (outcome, wrote) = rotate_locked(&self.0, &txn, rotation, now)
            .await
            .map_err(infra)?;
        // A detected reuse is committed although the request fails (RT-04).
        finish(txn, wrote).await.map_err(infra)?;
        Ok(outcome)
    }

    async fn find_by_token(&self, token: &TokenHash) -> Result<Option<Session>, Infra> {
        let row = session_of_token(&self.0.reads(), token, false)
            .await
            .map_err(infra)?;
        Ok(row.map(session_from_row))
    }

    async fn load_principal(
        &self,
        user: UserId,
        session: SessionId,
    ) -> Result<Option<(User, Option<Session>)>, Infra> {
        let wanted = session.as_uuid();
        let row = user::Entity::find_by_id(user.as_uuid())
            .join(
                JoinType::LeftJoin,
                session::Relation::User
                    .def()
                    .rev()
                    .on_condition(move |_, session_table| {
                        Condition::all()
                            .add(Expr::col((session_table, session::Column::Id)).eq(wanted))
                    }),
            )
            .select_also(session::Entity)
            .one(&self.0.reads())
            .await
            .map_err(infra)?;
        Ok(row.map(|(u, s)| (user_from_row(u), s.map(session_from_row))))
    }

    async fn list_live(
        &self,
        user: UserId,
        now: OffsetDateTime,
        idle_timeout: Duration,
    ) -> Result<Vec<Session>, Infra> {
        live_sessions(
            &self.0,
            &self.0.reads(),
            user,
            stamp::micros(now),
            idle_timeout,
        )
        .await
        .map_err(infra)
    }

    async fn delete_ended(
        &self,
        ended_before: OffsetDateTime,
        idle_timeout: Duration,
    ) -> Result<u64, Infra> {
        let cutoff = stamp::micros(ended_before);
        // The SQL form of `Session::ended_before`.
        let ended = Condition::any()
            .add(session::Column::RevokedAt.lt(self.0.at(cutoff)))
            .add(session::Column::NotAfter.lt(self.0.at(cutoff)))
            .add(session::Column::LastUsedAt.lt(self.0.at(cutoff - idle_timeout)));
        let mut deleted = 0;
        loop {
            let txn = self.0.begin_write().await.map_err(infra)?;
            let batch = delete_session_batch(&txn, ended.clone())
                .await
                .map_err(infra)?;
            txn.commit().await.map_err(infra)?;
            deleted += batch;
            if batch < DELETE_BATCH {
                return Ok(deleted);
            }
        }
    }

    async fn end(
        &self,
        user: UserId,
        scope: EndScope,
        reason: EndReason,
        now: OffsetDateTime,
    ) -> Result<u64, Infra> {
        end_sessions(&self.0, &self.0.conn, user, scope, reason, now)
            .await
            .map_err(infra)
    }
}
