//! How timestamps are written: in UTC, cut to whole microseconds (PostgreSQL's precision),
//! and in a form each engine orders and compares correctly.
//!
//! PostgreSQL gets `timestamptz`. SQLite stores text, and sqlx's RFC 3339 text for an
//! `OffsetDateTime` drops trailing fraction zeros before a `Z` (`…:00.5Z` sorts after
//! `…:00.55Z`), so there the UTC wall-clock form `YYYY-MM-DD HH:MM:SS.f` is written
//! instead: always a fraction, nothing after it, hence byte order is time order. Both read
//! back as the same `OffsetDateTime`.

use sea_orm::{DbBackend, Value};
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// `t` in UTC without its sub-microsecond part: what the database will hand back.
pub(crate) fn micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t - Duration::nanoseconds(i64::from(t.nanosecond() % 1_000))
}

/// The bound value of an optional timestamp for `backend`.
pub(crate) fn bind_opt(backend: DbBackend, t: Option<OffsetDateTime>) -> Value {
    let t = t.map(micros);
    match backend {
        DbBackend::Sqlite => {
            Value::TimeDateTime(t.map(|t| PrimitiveDateTime::new(t.date(), t.time())))
        }
        _ => Value::TimeDateTimeWithTimeZone(t),
    }
}

/// The bound value of a timestamp for `backend`.
pub(crate) fn bind(backend: DbBackend, t: OffsetDateTime) -> Value {
    bind_opt(backend, Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn nanoseconds_are_cut_and_the_offset_normalised() {
        let t = datetime!(2026-01-01 01:00:00.123456789 +01:00);
        let m = micros(t);
        assert_eq!(m, datetime!(2026-01-01 00:00:00.123456 UTC));
        assert_eq!(m.offset(), UtcOffset::UTC);
    }
}
