//! Change notifications for the per-process principal cache (issue 14 item 3,
//! docs/principal-cache.md): every row inserted, updated or deleted in `"user"` or
//! `gatehouse_session` — by Gatehouse, by its CLI, by the template or by hand — sends the
//! affected user's id on the channel `gatehouse_principal` when its transaction commits, and a
//! `TRUNCATE` of either table sends `*` (every user). PostgreSQL folds the identical
//! notifications of one transaction into one, so ending all of a user's sessions sends one.
//!
//! PostgreSQL only: SQLite has no `NOTIFY`, and Gatehouse keeps no principal cache there.
//! Expand-only (issue 16): two triggers and their function, no table, column or index touched;
//! the previous release writes through them unaware.

use sea_orm_migration::prelude::*;

use crate::script;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The channel; `gatehouse_sql` listens on it under the same name.
const POSTGRES_UP: &str = r#"
CREATE OR REPLACE FUNCTION gatehouse_principal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('gatehouse_principal', '*');
    ELSIF TG_TABLE_NAME = 'user' THEN
        IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('gatehouse_principal', OLD.id::text); END IF;
        IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('gatehouse_principal', NEW.id::text); END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('gatehouse_principal', OLD.user_id::text); END IF;
        IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('gatehouse_principal', NEW.user_id::text); END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER gatehouse_user_principal AFTER INSERT OR UPDATE OR DELETE ON "user"
    FOR EACH ROW EXECUTE FUNCTION gatehouse_principal_changed();
CREATE TRIGGER gatehouse_user_principal_truncate AFTER TRUNCATE ON "user"
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_principal_changed();
CREATE TRIGGER gatehouse_session_principal AFTER INSERT OR UPDATE OR DELETE ON gatehouse_session
    FOR EACH ROW EXECUTE FUNCTION gatehouse_principal_changed();
CREATE TRIGGER gatehouse_session_principal_truncate AFTER TRUNCATE ON gatehouse_session
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_principal_changed();
"#;

const POSTGRES_DOWN: &str = r#"
DROP TRIGGER gatehouse_session_principal_truncate ON gatehouse_session;
DROP TRIGGER gatehouse_session_principal ON gatehouse_session;
DROP TRIGGER gatehouse_user_principal_truncate ON "user";
DROP TRIGGER gatehouse_user_principal ON "user";
DROP FUNCTION gatehouse_principal_changed();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        script::run(manager, POSTGRES_UP, None).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        script::run(manager, POSTGRES_DOWN, None).await
    }
}
