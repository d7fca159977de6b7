//! Columns an operator of the template added to the tables Gatehouse writes (issue 12 item
//! 1): unknown nullable columns are simply left NULL, but an unknown `NOT NULL` column without
//! a default makes every insert fail. Such a schema is reported by readiness and by
//! `gatehouse migrate status` as a clear problem, and a write that hits it answers 503, never
//! a 500.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// The columns Gatehouse writes, per table.
const KNOWN: [(&str, &[&str]); 2] = [
    (
        "user",
        &[
            "id",
            "email",
            "is_active",
            "is_superuser",
            "full_name",
            "hashed_password",
            "created_at",
            "email_key",
        ],
    ),
    (
        "item",
        &["id", "title", "description", "owner_id", "created_at"],
    ),
];

/// Every required column with no default on `"user"` and `item` (`table.column`).
const POSTGRES: &str = "SELECT table_name::text AS tbl, column_name::text AS col \
    FROM information_schema.columns \
    WHERE table_schema = current_schema() AND table_name IN ('user', 'item') \
    AND is_nullable = 'NO' AND column_default IS NULL \
    AND is_identity = 'NO' AND is_generated = 'NEVER' ORDER BY 1, 2";
const SQLITE: &str = "SELECT 'user' AS tbl, name AS col FROM pragma_table_info('user') \
    WHERE \"notnull\" = 1 AND dflt_value IS NULL \
    UNION ALL SELECT 'item', name FROM pragma_table_info('item') \
    WHERE \"notnull\" = 1 AND dflt_value IS NULL ORDER BY 1, 2";

/// The unknown required columns Gatehouse cannot fill, as `table.column`.
///
/// # Errors
/// The database's.
pub(crate) async fn unfillable_columns<C: ConnectionTrait>(conn: &C) -> Result<Vec<String>, DbErr> {
    let backend = conn.get_database_backend();
    let query = match backend {
        DbBackend::Postgres => POSTGRES,
        _ => SQLITE,
    };
    let mut unknown = Vec::new();
    for row in conn
        .query_all_raw(Statement::from_string(backend, query))
        .await?
    {
        let (table, column): (String, String) = (row.try_get("", "tbl")?, row.try_get("", "col")?);
        let known = KNOWN
            .iter()
            .any(|(t, columns)| *t == table && columns.contains(&column.as_str()));
        if !known {
            unknown.push(format!("{table}.{column}"));
        }
    }
    Ok(unknown)
}
