//! `AttemptLimiter` on `gatehouse_throttle`: windows counted by one atomic upsert
//! (`INSERT … ON CONFLICT (key) DO UPDATE … RETURNING`, the same on both engines), so every
//! replica shares the counters and concurrent hits are never lost.

use std::borrow::Cow;

use async_trait::async_trait;
use gatehouse_domain::Infra;
use gatehouse_domain::ports::AttemptLimiter;
use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule, ThrottleWindow, Verdict};
use sea_orm::sea_query::{
    Condition, DeleteStatement, Expr, ExprTrait, OnConflict, Query, SimpleExpr, UpdateStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tracing::instrument;

use crate::db::Db;
use crate::entity::throttle;
use crate::error::infra;
use crate::{stamp, write};

/// The throttling counters.
pub(crate) struct SqlLimiter(pub(crate) Db);

/// Characters `gatehouse_throttle.key` holds (`varchar(320)`).
const KEY_CHARS: usize = 320;

/// The stored form of `key`. Keys carry client input (login names, recovery addresses)
/// that PostgreSQL cannot store as sent: text holds no NUL and the column 320 characters.
/// Such keys are stored as the hex SHA-256 of their text, which no raw key equals (raw keys
/// always hold the `:` after their scope), so every key still counts on its own.
fn stored(key: &ThrottleKey) -> Cow<'_, str> {
    let raw = key.as_str();
    if !raw.contains('\0') && raw.chars().count() <= KEY_CHARS {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(
        Sha256::digest(raw.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// The domain's view of a stored window; the columns are signed, counts never negative.
fn window(row: &throttle::Model) -> ThrottleWindow {
    ThrottleWindow {
        started_at: row.window_start,
        events: row.count.try_into().unwrap_or(0),
        strikes: row.strikes.try_into().unwrap_or(0),
    }
}

/// A column of the stored window, as the `ON CONFLICT` branch sees it.
fn stored_column(column: throttle::Column) -> Expr {
    Expr::col((throttle::Entity, column))
}

/// `ThrottleRule::count` in SQL: the new `(column, value)` pairs of the stored window for the
/// `ON CONFLICT` branch of one upsert, so concurrent hits never lose a count. A window's
/// length depends on its stored strikes, so each test on it is spelt out once per possible
/// length (`max_doublings + 1` of them), with the instants computed here from the rule.
fn counted(
    db: &Db,
    rule: &ThrottleRule,
    now: OffsetDateTime,
) -> [(throttle::Column, SimpleExpr); 3] {
    let start = stored_column(throttle::Column::WindowStart);
    let count = stored_column(throttle::Column::Count);
    let strikes = stored_column(throttle::Column::Strikes);
    // The stored window has ended; it has been over for less than its own length.
    let (mut ended, mut recent) = (Condition::any(), Condition::any());
    for doublings in 0..=rule.max_doublings {
        let has_length = if doublings < rule.max_doublings {
            strikes.clone().eq(doublings)
        } else {
            strikes.clone().gte(doublings)
        };
        let length = rule.window_length(doublings);
        ended = ended.add(
            has_length
                .clone()
                .and(start.clone().lte(db.at(now - length))),
        );
        recent = recent.add(has_length.and(start.clone().gt(db.at(now - length - length))));
    }
    let ended = SimpleExpr::from(ended);
    let struck = Condition::all()
        .add(ended.clone())
        .add(count.clone().gte(i64::from(rule.limit)))
        .add(recent);
    let one_more_strike = Expr::case(
        strikes.clone().gte(rule.max_doublings),
        Expr::val(rule.max_doublings),
    )
    .finally(strikes.clone().add(1));
    [
        (
            throttle::Column::WindowStart,
            Expr::case(ended.clone(), Expr::val(db.at(now)))
                .finally(start)
                .into(),
        ),
        (
            throttle::Column::Count,
            Expr::case(ended.clone(), Expr::val(1))
                .finally(count.add(1))
                .into(),
        ),
        (
            throttle::Column::Strikes,
            Expr::case(struck, one_more_strike)
                .case(ended, Expr::val(0))
                .finally(strikes)
                .into(),
        ),
    ]
}

#[async_trait]
impl AttemptLimiter for SqlLimiter {
    #[instrument(level = "trace", skip_all)]
    async fn check(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra> {
        let now = stamp::micros(now);
        let row = throttle::Entity::find_by_id(stored(key))
            .one(&self.0.reads())
            .await
            .map_err(infra("limiter.check"))?;
        Ok(row.map_or(Verdict::Allowed, |row| {
            rule.verdict_for_next(&window(&row), now)
        }))
    }

    #[instrument(level = "trace", skip_all)]
    async fn hit(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra> {
        let now = stamp::micros(now);
        let first = rule.count(None, now);
        let upsert = Query::insert()
            .into_table(throttle::Entity)
            .columns([
                throttle::Column::Key,
                throttle::Column::WindowStart,
                throttle::Column::Count,
                throttle::Column::Strikes,
            ])
            .values_panic([
                Expr::val(stored(key)),
                Expr::val(self.0.at(first.started_at)),
                Expr::val(first.events),
                Expr::val(first.strikes),
            ])
            .on_conflict(
                OnConflict::column(throttle::Column::Key)
                    .values(counted(&self.0, rule, now))
                    .to_owned(),
            )
            .returning_all()
            .to_owned();
        let row = self
            .0
            .conn
            .query_one(&upsert)
            .await
            .and_then(|row| {
                row.ok_or_else(|| DbErr::Custom("the throttle upsert returned no row".into()))
            })
            .and_then(|row| throttle::Model::from_query_result(&row, ""))
            .map_err(infra("limiter.hit"))?;
        Ok(rule.verdict(&window(&row), now))
    }

    #[instrument(level = "trace", skip_all)]
    async fn release(&self, key: &ThrottleKey, counted_at: OffsetDateTime) -> Result<(), Infra> {
        self.0
            .conn
            .execute(&self.released(key, counted_at))
            .await
            .map_err(infra("limiter.release"))?;
        Ok(())
    }

    #[instrument(level = "trace", skip_all)]
    async fn delete_windows(&self, started_before: OffsetDateTime) -> Result<u64, Infra> {
        let deleted = throttle::Entity::delete_many()
            .filter(throttle::Column::WindowStart.lt(self.0.at(stamp::micros(started_before))))
            .exec(&self.0.conn)
            .await
            .map_err(infra("limiter.delete_windows"))?;
        Ok(deleted.rows_affected)
    }

    #[instrument(level = "trace", skip_all)]
    async fn clear(&self, key: &ThrottleKey) -> Result<(), Infra> {
        self.0
            .conn
            .execute(&cleared(key))
            .await
            .map_err(infra("limiter.clear"))?;
        Ok(())
    }

    /// One statement on PostgreSQL (the two keys are distinct rows); two on SQLite, which
    /// has no data-modifying `WITH` and runs in-process anyway.
    #[instrument(level = "trace", skip_all)]
    async fn clear_and_release(
        &self,
        clear: &ThrottleKey,
        release: &ThrottleKey,
        counted_at: OffsetDateTime,
    ) -> Result<(), Infra> {
        if self.0.backend() != DbBackend::Postgres {
            self.clear(clear).await?;
            return self.release(release, counted_at).await;
        }
        let both = write::after_writes(
            [("cleared", cleared(clear).into())],
            self.released(release, counted_at),
        );
        self.0
            .conn
            .execute(&both)
            .await
            .map_err(infra("limiter.clear_and_release"))?;
        Ok(())
    }
}

/// [`AttemptLimiter::clear`]: the key's window deleted.
fn cleared(key: &ThrottleKey) -> DeleteStatement {
    Query::delete()
        .from_table(throttle::Entity)
        .and_where(Expr::col(throttle::Column::Key).eq(stored(key).as_ref()))
        .to_owned()
}

impl SqlLimiter {
    /// [`AttemptLimiter::release`]: `ThrottleWindow::released` as one atomic statement.
    fn released(&self, key: &ThrottleKey, counted_at: OffsetDateTime) -> UpdateStatement {
        let counted_at = stamp::micros(counted_at);
        Query::update()
            .table(throttle::Entity)
            .value(
                throttle::Column::Count,
                stored_column(throttle::Column::Count).sub(1),
            )
            .and_where(Expr::col(throttle::Column::Key).eq(stored(key).as_ref()))
            .and_where(Expr::col(throttle::Column::Count).gt(0))
            .and_where(Expr::col(throttle::Column::WindowStart).lte(self.0.at(counted_at)))
            .to_owned()
    }
}
