//! Gatehouse and the template on one database (issue 12 item 1): whatever the template
//! writes to `"user"` is right for Gatehouse at once, with no job to run.
//!
//! - `ix_user_email_lower`, unique on `lower(email)`: no two accounts for one address in any
//!   case, whichever backend inserts (the template's own index is case-sensitive, so its
//!   insert of a case variant now fails instead of making a second account).
//! - `gatehouse_user_email_changed`: an update that changes `email` but not `email_key` (a
//!   writer that knows nothing of the key: the template) clears the key, so the row is
//!   looked up by `lower(email)` like the rows the template inserts without one.
//! - PostgreSQL only, as the template runs nowhere else: `gatehouse_user_password_changed`
//!   ends every Gatehouse session and reset token of a user whose hash another writer
//!   changed (the template's password change or reset); Gatehouse marks its own writes
//!   with the transaction-local setting `gatehouse.writer`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::Statement;

use crate::script;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE UNIQUE INDEX ix_user_email_lower ON "user" (lower(email));

CREATE OR REPLACE FUNCTION gatehouse_user_email_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.email IS DISTINCT FROM OLD.email AND NEW.email_key IS NOT DISTINCT FROM OLD.email_key THEN
        NEW.email_key := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER gatehouse_user_email_changed BEFORE UPDATE OF email ON "user"
    FOR EACH ROW EXECUTE FUNCTION gatehouse_user_email_changed();

CREATE OR REPLACE FUNCTION gatehouse_user_password_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hashed_password IS DISTINCT FROM OLD.hashed_password
       AND current_setting('gatehouse.writer', true) IS DISTINCT FROM 'gatehouse' THEN
        UPDATE gatehouse_session SET revoked_at = now(), revoked_reason = 'password_change'
            WHERE user_id = NEW.id AND revoked_at IS NULL;
        DELETE FROM gatehouse_reset_token WHERE user_id = NEW.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER gatehouse_user_password_changed AFTER UPDATE OF hashed_password ON "user"
    FOR EACH ROW EXECUTE FUNCTION gatehouse_user_password_changed();
"#;

const POSTGRES_DOWN: &str = r#"
DROP TRIGGER gatehouse_user_password_changed ON "user";
DROP FUNCTION gatehouse_user_password_changed();
DROP TRIGGER gatehouse_user_email_changed ON "user";
DROP FUNCTION gatehouse_user_email_changed();
DROP INDEX ix_user_email_lower;
"#;

const SQLITE_UP: &str = r#"
CREATE UNIQUE INDEX ix_user_email_lower ON "user" (lower(email));
CREATE TRIGGER gatehouse_user_email_changed AFTER UPDATE OF email ON "user"
    WHEN NEW.email IS NOT OLD.email AND NEW.email_key IS OLD.email_key
BEGIN
    UPDATE "user" SET email_key = NULL WHERE id = NEW.id;
END;
"#;

const SQLITE_DOWN: &str = r#"
DROP TRIGGER gatehouse_user_email_changed;
DROP INDEX ix_user_email_lower;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        refuse_case_duplicates(manager).await?;
        script::run(manager, POSTGRES_UP, Some(SQLITE_UP)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        script::run(manager, POSTGRES_DOWN, Some(SQLITE_DOWN)).await
    }
}

/// Stops the migration, before anything changed, when rows the template inserted since the
/// take-over share an address in some case with another row (the new index would refuse
/// them): it reports how many, never the addresses, decided by the database's own
/// `lower()` so the check and the index agree.
async fn refuse_case_duplicates(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let query = r#"SELECT count(*) AS rows, count(DISTINCT lower(email)) AS addresses
        FROM "user" WHERE lower(email) IN
            (SELECT lower(email) FROM "user" GROUP BY lower(email) HAVING count(*) > 1)"#;
    let backend = manager.get_database_backend();
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_string(backend, query))
        .await?
        .ok_or_else(|| DbErr::Custom("counting shared addresses returned no row".into()))?;
    let rows: i64 = row.try_get("", "rows")?;
    let addresses: i64 = row.try_get("", "addresses")?;
    if rows == 0 {
        return Ok(());
    }
    Err(DbErr::Migration(format!(
        "{rows} users share {addresses} email address(es) that differ only in case, written \
         after the take-over by another backend; Gatehouse treats each as one account. Resolve \
         them (rename or delete all but one user per address) and run the migration again. \
         Nothing was changed."
    )))
}
