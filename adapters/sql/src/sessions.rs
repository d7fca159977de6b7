//! `SessionStore` on `gatehouse_session` and `gatehouse_refresh_token`: refresh-token
//! rotation as SECURITY.md §2.2 steps 2–5 (one transaction, the session row locked before
//! the token is read), the one-query principal lookup (TOK-13), and ending sessions.
//!
//! On PostgreSQL the writes that follow a decision go in one statement (data-modifying
//! `WITH` clauses), so a login and a rotation wait for fewer round trips inside their
//! transaction, while their row lock is held (issue 14). SQLite has no such clauses; it runs
//! the same writes one statement at a time, in-process.

use async_trait::async_trait;
use gatehouse_domain::ports::{
    EndScope, OwnedWriteError, Rotation, RotationOutcome, RotationStep, SessionCap, SessionStore,
};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{EndReason, Infra, Session, SessionId, User, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, LockType, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    Select, UpdateMany,
};
use time::{Duration, OffsetDateTime};
use tracing::instrument;
use uuid::Uuid;

use crate::db::{Db, finish};
use crate::entity::{refresh_token, session, user};
use crate::error::infra;
use crate::mapping::{session_from_row, session_to_row, user_from_row};
use crate::principal_cache::Lookup;
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
    let update = ending(db, user, reason, now);
    let update = match scope {
        EndScope::One(id) => update.filter(session::Column::Id.eq(id.as_uuid())),
        EndScope::All => update,
        EndScope::AllExcept(id) => update.filter(session::Column::Id.ne(id.as_uuid())),
    };
    Ok(update.exec(conn).await?.rows_affected)
}

/// The `UPDATE` ending the user's not-yet-revoked sessions; the caller narrows it.
fn ending(
    db: &Db,
    user: UserId,
    reason: EndReason,
    now: OffsetDateTime,
) -> UpdateMany<session::Entity> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::val(db.at(now)))
        .col_expr(session::Column::RevokedReason, Expr::val(reason.as_str()))
        .filter(session::Column::UserId.eq(user.as_uuid()))
        .filter(session::Column::RevokedAt.is_null())
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

/// The `INSERT` of an unused refresh token of `session`, and its id; `parent` is the token it
/// succeeds.
fn token_insert(
    db: &Db,
    session: SessionId,
    hash: &TokenHash,
    parent: Option<Uuid>,
    now: OffsetDateTime,
) -> (Uuid, InsertStatement) {
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
    (id, write::insert::<refresh_token::Entity>(row))
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
            let (child, insert_child) =
                token_insert(db, session.id, &r.successor, Some(token.id), now);
            let use_parent = refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::UsedAt, Expr::val(db.at(now)))
                .col_expr(refresh_token::Column::ReplacedById, Expr::val(child))
                .filter(refresh_token::Column::Id.eq(token.id))
                .into_query();
            let touch_session = session::Entity::update_many()
                .col_expr(session::Column::LastUsedAt, Expr::val(db.at(now)))
                .filter(session::Column::Id.eq(session.id.as_uuid()))
                .into_query();
            if db.backend() == DbBackend::Postgres {
                txn.execute(&write::after_writes(
                    [
                        ("new_token", insert_child.into()),
                        ("used_token", use_parent.into()),
                    ],
                    touch_session,
                ))
                .await?;
            } else {
                txn.execute(&insert_child).await?;
                txn.execute(&use_parent).await?;
                txn.execute(&touch_session).await?;
            }
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
    let rows = live_query(db, user, now, idle_timeout).all(conn).await?;
    Ok(rows.into_iter().map(session_from_row).collect())
}

/// The query of [`live_sessions`].
fn live_query(
    db: &Db,
    user: UserId,
    now: OffsetDateTime,
    idle_timeout: Duration,
) -> Select<session::Entity> {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user.as_uuid()))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::NotAfter.gt(db.at(now)))
        .filter(session::Column::LastUsedAt.gte(db.at(now - idle_timeout)))
        .order_by_desc(session::Column::LastUsedAt)
        .order_by_asc(session::Column::Id)
}

/// Stores `new` and its first token, then lists the user's live sessions at `now` (most
/// recently used first). On PostgreSQL one statement, whose list is read as the statement
/// started and so lacks `new` itself, which [`Session::beyond_cap`] leaves out anyway. The
/// caller holds the user's row lock from an earlier statement, so the list sees every
/// session the user's earlier logins committed.
async fn insert_and_list_live(
    db: &Db,
    txn: &DatabaseTransaction,
    new: &Session,
    first_token: &TokenHash,
    now: OffsetDateTime,
    idle_timeout: Duration,
) -> Result<Vec<Session>, DbErr> {
    let insert_session = write::insert::<session::Entity>(session_to_row(db, new));
    let (_, insert_token) = token_insert(db, new.id, first_token, None, new.created_at);
    if db.backend() != DbBackend::Postgres {
        txn.execute(&insert_session).await?;
        txn.execute(&insert_token).await?;
        return live_sessions(db, txn, new.user_id, now, idle_timeout).await;
    }
    let live: SelectStatement = live_query(db, new.user_id, now, idle_timeout).into_query();
    let rows = txn
        .query_all(&write::after_writes(
            [
                ("new_session", insert_session.into()),
                ("new_token", insert_token.into()),
            ],
            live,
        ))
        .await?;
    rows.iter()
        .map(|row| session::Model::from_query_result(row, "").map(session_from_row))
        .collect()
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
        .map_err(infra("sessions.create"))?
        .ok_or(OwnedWriteError::OwnerGone)?;
    let now = stamp::micros(new.created_at);
    let live = insert_and_list_live(db, txn, new, first_token, now, cap.idle_timeout)
        .await
        .map_err(infra("sessions.create"))?;
    let beyond = Session::beyond_cap(&live, new.id, cap.max);
    if beyond.is_empty() {
        return Ok(0);
    }
    // One statement for all of them.
    ending(db, new.user_id, EndReason::Evicted, now)
        .filter(session::Column::Id.is_in(beyond.iter().map(|id| id.as_uuid())))
        .exec(txn)
        .await
        .map(|done| done.rows_affected)
        .map_err(|e| infra("sessions.create")(e).into())
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
    #[instrument(level = "trace", skip_all)]
    async fn create(
        &self,
        session: &Session,
        first_token: &TokenHash,
        cap: SessionCap,
    ) -> Result<u64, OwnedWriteError> {
        let txn = self
            .0
            .begin_write()
            .await
            .map_err(infra("sessions.create"))?;
        let result = create_in(&self.0, &txn, session, first_token, cap).await;
        let finished = finish(txn, result.is_ok()).await;
        // The cap may have ended other sessions of the user.
        self.0.wrote_principal(session.user_id.as_uuid());
        finished.map_err(infra("sessions.create"))?;
        result
    }

    #[instrument(level = "trace", skip_all)]
    async fn rotate(&self, rotation: &Rotation) -> Result<RotationOutcome, Infra> {
        let now = stamp::micros(rotation.now);
        let txn = self
            .0
            .begin_write()
            .await
            .map_err(infra("sessions.rotate"))?;
        let (outcome, wrote) = rotate_locked(&self.0, &txn, rotation, now)
            .await
            .map_err(infra("sessions.rotate"))?;
        // A detected reuse is committed although the request fails (RT-04).
        let finished = finish(txn, wrote).await;
        if let RotationOutcome::Rotated(session) | RotationOutcome::ReuseDetected(session) =
            &outcome
        {
            // `last_used_at` moved, or the session was revoked.
            self.0.wrote_principal(session.user_id.as_uuid());
        }
        finished.map_err(infra("sessions.rotate"))?;
        Ok(outcome)
    }

    #[instrument(level = "trace", skip_all)]
    async fn find_by_token(&self, token: &TokenHash) -> Result<Option<Session>, Infra> {
        let row = session_of_token(&self.0.reads(), token, false)
            .await
            .map_err(infra("sessions.find_by_token"))?;
        Ok(row.map(session_from_row))
    }

    #[instrument(level = "trace", skip_all)]
    async fn load_principal(
        &self,
        user: UserId,
        session: SessionId,
    ) -> Result<Option<(User, Option<Session>)>, Infra> {
        // The cache, when there is one, only stores: `Gatehouse::authenticate` judges a
        // cached principal exactly as a fresh one (crate::principal_cache).
        let ticket = match self
            .0
            .principal_cache()
            .map(|c| (c, c.lookup(user, session)))
        {
            Some((_, Lookup::Hit(principal))) => return Ok(Some(*principal)),
            Some((cache, Lookup::Miss(ticket))) => Some((cache, ticket)),
            Some((_, Lookup::Bypass)) | None => None,
        };
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
            .map_err(infra("sessions.load_principal"))?;
        let principal = row.map(|(u, s)| (user_from_row(u), s.map(session_from_row)));
        if let (Some((cache, ticket)), Some(found)) = (ticket, &principal) {
            cache.store(ticket, user, session, found.clone());
        }
        Ok(principal)
    }

    #[instrument(level = "trace", skip_all)]
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
        .map_err(infra("sessions.list_live"))
    }

    #[instrument(level = "trace", skip_all)]
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
            let txn = self
                .0
                .begin_write()
                .await
                .map_err(infra("sessions.delete_ended"))?;
            let batch = delete_session_batch(&txn, ended.clone())
                .await
                .map_err(infra("sessions.delete_ended"))?;
            txn.commit().await.map_err(infra("sessions.delete_ended"))?;
            deleted += batch;
            if batch < DELETE_BATCH {
                return Ok(deleted);
            }
        }
    }

    #[instrument(level = "trace", skip_all)]
    async fn end(
        &self,
        user: UserId,
        scope: EndScope,
        reason: EndReason,
        now: OffsetDateTime,
    ) -> Result<u64, Infra> {
        let ended = end_sessions(&self.0, &self.0.conn, user, scope, reason, now).await;
        self.0.wrote_principal(user.as_uuid());
        ended.map_err(infra("sessions.end"))
    }
}
