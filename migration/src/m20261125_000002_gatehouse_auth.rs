//! Gatehouse's own state: the case-insensitive email key on `"user"` (CONTRACT.md §9d),
//! login sessions with their refresh-token families (SECURITY.md §2.2), password-reset
//! tokens and throttling counters. Columns added to template tables are nullable, so the
//! template could still write rows.

use std::collections::HashMap;

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: a failure leaves no half-built schema on either engine.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Decided before any change, so a refusal leaves the database untouched.
        let keys = email_keys(manager).await?;
        manager
            .alter_table(
                Table::alter()
                    .table("user")
                    .add_column(ColumnDef::new("email_key").string_len(255).null())
                    .to_owned(),
            )
            .await?;
        for (email, key) in keys {
            let backfill = Query::update()
                .table("user")
                .value("email_key", key)
                .and_where(Expr::col("email").eq(email))
                .to_owned();
            manager.get_connection().execute(&backfill).await?;
        }
        manager
            .create_index(unique_index("ix_user_email_key", "user", "email_key"))
            .await?;
        // Items are listed and deleted by owner; the template has no index for that.
        manager
            .create_index(index("ix_item_owner_id", "item", "owner_id"))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("gatehouse_session")
                    .col(ColumnDef::new("id").uuid().not_null())
                    .col(ColumnDef::new("user_id").uuid().not_null())
                    .col(timestamp("created_at"))
                    .col(timestamp("last_used_at"))
                    .col(timestamp("not_after"))
                    .col(
                        ColumnDef::new("revoked_at")
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new("revoked_reason").string().null())
                    .col(ColumnDef::new("user_agent").string_len(512).null())
                    .col(ColumnDef::new("ip").string_len(64).null())
                    .primary_key(Index::create().name("gatehouse_session_pkey").col("id"))
                    .foreign_key(&mut cascade("gatehouse_session", "user_id", "user"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_gatehouse_session_user_id",
                "gatehouse_session",
                "user_id",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("gatehouse_refresh_token")
                    .col(ColumnDef::new("id").uuid().not_null())
                    .col(ColumnDef::new("session_id").uuid().not_null())
                    .col(ColumnDef::new("token_hash").binary_len(32).not_null())
                    .col(ColumnDef::new("parent_id").uuid().null())
                    .col(timestamp("created_at"))
                    .col(ColumnDef::new("used_at").timestamp_with_time_zone().null())
                    .col(ColumnDef::new("replaced_by_id").uuid().null())
                    .primary_key(
                        Index::create()
                            .name("gatehouse_refresh_token_pkey")
                            .col("id"),
                    )
                    .foreign_key(&mut cascade(
                        "gatehouse_refresh_token",
                        "session_id",
                        "gatehouse_session",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ix_gatehouse_refresh_token_token_hash",
                "gatehouse_refresh_token",
                "token_hash",
            ))
            .await?;
        manager
            .create_index(index(
                "ix_gatehouse_refresh_token_session_id",
                "gatehouse_refresh_token",
                "session_id",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("gatehouse_reset_token")
                    .col(ColumnDef::new("token_hash").binary_len(32).not_null())
                    .col(ColumnDef::new("user_id").uuid().not_null())
                    .col(timestamp("created_at"))
                    .col(timestamp("expires_at"))
                    .primary_key(
                        Index::create()
                            .name("gatehouse_reset_token_pkey")
                            .col("token_hash"),
                    )
                    .foreign_key(&mut cascade("gatehouse_reset_token", "user_id", "user"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_gatehouse_reset_token_user_id",
                "gatehouse_reset_token",
                "user_id",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("gatehouse_throttle")
                    .col(ColumnDef::new("key").string_len(320).not_null())
                    .col(timestamp("window_start"))
                    .col(ColumnDef::new("count").integer().not_null())
                    .primary_key(Index::create().name("gatehouse_throttle_pkey").col("key"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "gatehouse_throttle",
            "gatehouse_reset_token",
            "gatehouse_refresh_token",
            "gatehouse_session",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for (name, table) in [("ix_item_owner_id", "item"), ("ix_user_email_key", "user")] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("user")
                    .drop_column("email_key")
                    .to_owned(),
            )
            .await
    }
}

/// The email key of every stored address, computed exactly as the application computes
/// `EmailKey` (Rust's `trim().to_lowercase()`, Unicode-aware — SQL `lower()` folds only
/// ASCII on SQLite and depends on the collation on PostgreSQL). Frozen with this migration:
/// the application's key must never change without a migration of its own.
///
/// # Errors
/// When two stored addresses share a key the migration stops before changing anything and
/// reports how many rows collide, never the addresses themselves.
async fn email_keys(manager: &SchemaManager<'_>) -> Result<Vec<(String, String)>, DbErr> {
    let query = Query::select().column("email").from("user").to_owned();
    let keys = manager
        .get_connection()
        .query_all(&query)
        .await?
        .iter()
        .map(|row| {
            let email: String = row.try_get("", "email")?;
            let key = email.trim().to_lowercase();
            Ok((email, key))
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for (_, key) in &keys {
        *holders.entry(key.as_str()).or_default() += 1;
    }
    let shared: Vec<usize> = holders.into_values().filter(|n| *n > 1).collect();
    if !shared.is_empty() {
        return Err(DbErr::Migration(format!(
            "{} users share {} email address(es) that differ only in case or surrounding \
             spaces, which Gatehouse treats as one account; resolve them (rename or delete all \
             but one user per address) and run the migration again. Nothing was changed.",
            shared.iter().sum::<usize>(),
            shared.len()
        )));
    }
    Ok(keys)
}

/// A timestamp column that is always set.
fn timestamp(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

/// A foreign key from `table.column` to `target.id` whose rows die with their target.
fn cascade(
    table: &'static str,
    column: &'static str,
    target: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("{table}_{column}_fkey"))
        .from(table, column)
        .to(target, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A plain index on one column.
fn index(name: &'static str, table: &'static str, column: &'static str) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(table)
        .col(column)
        .to_owned()
}

/// A unique index on one column.
fn unique_index(
    name: &'static str,
    table: &'static str,
    column: &'static str,
) -> IndexCreateStatement {
    index(name, table, column).unique().to_owned()
}
