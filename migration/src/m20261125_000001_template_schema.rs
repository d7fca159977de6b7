//! The FastAPI template's tables exactly as CONTRACT.md §8.1 describes them (`"user"`,
//! `item`, their keys, the cascade and `ix_user_email`, no database defaults), and the
//! take-over of a database the template's own Alembic chain already created.

use sea_orm_migration::prelude::*;

/// The template's Alembic head: a database at this revision already holds these tables.
const TEMPLATE_HEAD: &str = "fe56fa70289e";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if created_by_template(manager).await? {
            tracing::info!(
                revision = TEMPLATE_HEAD,
                "the template's tables are already here; taking them over as the baseline"
            );
            return Ok(());
        }
        manager
            .create_table(
                Table::create()
                    .table("user")
                    .col(ColumnDef::new("email").string_len(255).not_null())
                    .col(ColumnDef::new("is_active").boolean().not_null())
                    .col(ColumnDef::new("is_superuser").boolean().not_null())
                    .col(ColumnDef::new("full_name").string_len(255).null())
                    .col(ColumnDef::new("hashed_password").string().not_null())
                    .col(ColumnDef::new("id").uuid().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .primary_key(Index::create().name("user_pkey").col("id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_user_email")
                    .table("user")
                    .col("email")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("item")
                    .col(ColumnDef::new("description").string_len(255).null())
                    .col(ColumnDef::new("title").string_len(255).not_null())
                    .col(ColumnDef::new("id").uuid().not_null())
                    .col(ColumnDef::new("owner_id").uuid().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .primary_key(Index::create().name("item_pkey").col("id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("item_owner_id_fkey")
                            .from("item", "owner_id")
                            .to("user", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The template's tables under its Alembic chain are not ours to drop (CONTRACT.md §8.2).
        if manager.has_table("alembic_version").await? {
            return Err(DbErr::Migration(
                "refusing to drop \"user\" and item: they belong to the FastAPI template's \
                 Alembic chain (alembic_version is present)"
                    .to_owned(),
            ));
        }
        manager
            .drop_table(Table::drop().table("item").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("user").to_owned())
            .await
    }
}

/// Whether the template's Alembic chain created this database at its head revision, in
/// which case its `"user"` and `item` tables are the baseline.
///
/// # Errors
/// Refuses any other Alembic revision, or the head revision without its tables: the
/// operator must bring the template's database to its head first.
async fn created_by_template(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    if !manager.has_table("alembic_version").await? {
        return Ok(false);
    }
    let query = Query::select()
        .column("version_num")
        .from("alembic_version")
        .to_owned();
    let revisions = manager
        .get_connection()
        .query_all(&query)
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "version_num"))
        .collect::<Result<Vec<_>, _>>()?;
    if revisions != [TEMPLATE_HEAD] {
        return Err(DbErr::Migration(format!(
            "this database was created by the FastAPI template at Alembic revision(s) {revisions:?}; \
             upgrade it with the template's Alembic to {TEMPLATE_HEAD} first"
        )));
    }
    if !(manager.has_table("user").await? && manager.has_table("item").await?) {
        return Err(DbErr::Migration(format!(
            "alembic_version says {TEMPLATE_HEAD} but \"user\" or item is missing; \
             restore the template's tables first"
        )));
    }
    Ok(true)
}
