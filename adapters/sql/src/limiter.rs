//! `AttemptLimiter` on `gatehouse_throttle`: fixed windows counted by one atomic upsert
//! (`INSERT … ON CONFLICT (key) DO UPDATE … RETURNING`, the same on both engines), so every
//! replica shares the counters and concurrent hits are never lost.

use async_trait::async_trait;
use gatehouse_domain::Infra;
use gatehouse_domain::ports::AttemptLimiter;
use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule, Verdict};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult};
use time::OffsetDateTime;

use crate::db::Db;
use crate::entity::throttle;
use crate::error::infra;
use crate::stamp;

/// The throttling counters.
pub(crate) struct SqlLimiter(pub(crate) Db);

/// The verdict for a window that started at `window_start` and holds `events` events.
fn verdict(
    window_start: OffsetDateTime,
    events: i64,
    rule: &ThrottleRule,
    now: OffsetDateTime,
) -> Verdict {
    rule.verdict(window_start, events.try_into().unwrap_or(0), now)
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
        let window = throttle::Entity::find_by_id(key.as_str())
            .one(&self.0.conn)
            .await
            .map_err(infra)?;
        Ok(match window {
            // Locked once the window is full: the next event would be past the limit.
            Some(w) if now < w.window_start + rule.window => verdict(
                w.window_start,
                i64::from(w.count).saturating_add(1),
                rule,
                now,
            ),
            _ => Verdict::Allowed,
        })
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
                Expr::val(key.as_str()),
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
        Ok(verdict(
            window.window_start,
            i64::from(window.count),
            rule,
            now,
        ))
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), Infra> {
        throttle::Entity::delete_by_id(key.as_str())
            .exec(&self.0.conn)
            .await
            .map_err(infra)?;
        Ok(())
    }
}
