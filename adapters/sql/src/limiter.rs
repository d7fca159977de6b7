//! `AttemptLimiter` on `gatehouse_throttle`: fixed windows counted by one atomic upsert
//! (`INSERT … ON CONFLICT (key) DO UPDATE … RETURNING`, the same on both engines), so every
//! replica shares the counters and concurrent hits are never lost.

use std::borrow::Cow;

use async_trait::async_trait;
use gatehouse_domain::Infra;
use gatehouse_domain::ports::AttemptLimiter;
use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule, Verdict};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::db::Db;
use crate::entity::throttle;
use crate::error::infra;
use crate::stamp;

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

/// The events a stored window holds; the column is signed, a count never negative.
fn events(count: i32) -> u64 {
    count.try_into().unwrap_or(0)
}

#[async_trait]
impl AttemptLimiter for SqlLimiter {
    async fn check(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra> {
        let now = stamp::micros(now);
        let window = throttle::Entity::find_by_id(stored(key))
            .one(&self.0.conn)
            .await
            .map_err(infra)?;
        Ok(window.map_or(Verdict::Allowed, |w| {
            rule.verdict_for_next(w.window_start, events(w.count), now)
        }))
    }

    async fn hit(
        &self,
        key: &ThrottleKey,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Result<Verdict, Infra> {
        let now = stamp::micros(now);
        let stored_start = Expr::col((throttle::Entity, throttle::Column::WindowStart));
        // The stored window has ended when it started at least one window ago.
        let ended = stored_start.clone().lte(self.0.at(now - rule.window));
        let upsert = Query::insert()
            .into_table(throttle::Entity)
            .columns([
                throttle::Column::Key,
                throttle::Column::WindowStart,
                throttle::Column::Count,
            ])
            .values_panic([
                Expr::val(stored(key)),
                Expr::val(self.0.at(now)),
                Expr::val(1),
            ])
            .on_conflict(
                OnConflict::column(throttle::Column::Key)
                    .values([
                        (
                            throttle::Column::WindowStart,
                            Expr::case(ended.clone(), Expr::val(self.0.at(now)))
                                .finally(stored_start)
                                .into(),
                        ),
                        (
                            throttle::Column::Count,
                            Expr::case(ended, Expr::val(1))
                                .finally(
                                    Expr::col((throttle::Entity, throttle::Column::Count)).add(1),
                                )
                                .into(),
                        ),
                    ])
                    .to_owned(),
            )
            .returning_all()
            .to_owned();
        let window = self
            .0
            .conn
            .query_one(&upsert)
            .await
            .and_then(|row| {
                row.ok_or_else(|| DbErr::Custom("the throttle upsert returned no row".into()))
            })
            .and_then(|row| throttle::Model::from_query_result(&row, ""))
            .map_err(infra)?;
        Ok(rule.verdict(window.window_start, events(window.count), now))
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), Infra> {
        throttle::Entity::delete_by_id(stored(key))
            .exec(&self.0.conn)
            .await
            .map_err(infra)?;
        Ok(())
    }
}
