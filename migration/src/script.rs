//! Raw SQL for what sea-query cannot express (triggers, functions, partial indexes), one
//! script per engine.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Runs `postgres` on PostgreSQL and `sqlite`, when there is one, on SQLite.
pub(crate) async fn run(
    manager: &SchemaManager<'_>,
    postgres: &str,
    sqlite: Option<&str>,
) -> Result<(), DbErr> {
    let script = match manager.get_database_backend() {
        DbBackend::Postgres => postgres,
        _ => match sqlite {
            Some(script) => script,
            None => return Ok(()),
        },
    };
    manager
        .get_connection()
        .execute_unprepared(script)
        .await
        .map(|_| ())
}
