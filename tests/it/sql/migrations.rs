//! The migrations: the template's schema as CONTRACT.md §8.1 states it, a full round trip
//! down to zero and back, concurrent runners on PostgreSQL, the refusal of case-variant
//! duplicates, the pooler guard, and readiness while the schema is behind.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use gatehouse_domain::ports::NotReady;
use gatehouse_domain::{EmailKey, Page};
use gatehouse_sql::DbOptions;
use gatehouse_sql::migrate::{LOCK_KEY, MigrateError, Migrations};
use gatehouse_tests::db::{Engine, TestDatabase, engines};
use sea_orm::sea_query::{ColumnDef, Expr, ExprTrait, Query, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

use super::count_rows;

/// Every migration, oldest first: a new one is added here.
const MIGRATIONS: [&str; 6] = [
    "m20261125_000001_template_schema",
    "m20261125_000002_gatehouse_auth",
    "m20261125_000003_throttle_backoff",
    "m20261204_000004_email_key_idna",
    "m20261204_000005_template_coexistence",
    "m20261205_000006_principal_notify",
];

/// One line per column, constraint and index of the database, read from its catalog.
async fn schema(conn: &DatabaseConnection) -> Vec<String> {
    let queries: &[&str] = match conn.get_database_backend() {
        DbBackend::Postgres => &[
            "SELECT table_name || '|' || column_name || '|' || ordinal_position || '|' || \
             data_type || '|' || coalesce(character_maximum_length::text, '') || '|' || \
             is_nullable || '|' || coalesce(column_default, '') AS line \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position",
            "SELECT conrelid::regclass::text || '|' || conname || '|' || \
             pg_get_constraintdef(oid) AS line FROM pg_constraint \
             WHERE connamespace = current_schema()::regnamespace ORDER BY 1",
            "SELECT indexdef AS line FROM pg_indexes WHERE schemaname = current_schema() \
             ORDER BY indexname",
        ],
        _ => &[
            "SELECT type || '|' || name || '|' || tbl_name || '|' || coalesce(sql, '') AS line \
             FROM sqlite_master ORDER BY name",
        ],
    };
    let mut lines = Vec::new();
    for sql in queries {
        let rows = conn
            .query_all_raw(Statement::from_string(conn.get_database_backend(), *sql))
            .await
            .expect("read the catalog");
        for row in rows {
            lines.push(row.try_get::<String>("", "line").expect("a text line"));
        }
    }
    lines
}

/// Migrations released before the index rule (issue 16) existed, which build indexes on
/// tables that already hold data without `CONCURRENTLY`: 000001 and 000002 on the
/// template's `"user"` and `item` (taken over with their rows), 000005 the unique
/// `lower(email)` index on `"user"`. They have shipped and are frozen (editing one would
/// not change a database that already ran it), so the rule applies from the next one on;
/// docs/upgrades.md states the one-off cost.
const INDEXES_GRANDFATHERED: [&str; 5] = [
    "m20261125_000001_template_schema",
    "m20261125_000002_gatehouse_auth",
    "m20261125_000003_throttle_backoff",
    "m20261204_000004_email_key_idna",
    "m20261204_000005_template_coexistence",
];

/// The schema as a release's code sees it, plus (PostgreSQL) which indexes exist and which
/// of them a `CREATE INDEX CONCURRENTLY` built.
#[derive(Default)]
struct Snapshot {
    /// Every column, `(table, column)`, with whether a writer that does not know it can
    /// still insert (it is nullable or has a default).
    columns: BTreeMap<(String, String), bool>,
    /// Every index by name, with its table (PostgreSQL only).
    indexes: BTreeMap<String, String>,
    /// The indexes a `CREATE INDEX CONCURRENTLY` statement built (PostgreSQL only).
    concurrent: BTreeSet<String>,
}

impl Snapshot {
    fn tables(&self) -> BTreeSet<&String> {
        self.columns.keys().map(|(table, _)| table).collect()
    }
}

/// The schema `gatehouse_rule_check` the index log lives in: outside `current_schema()`, so
/// the snapshots never see it.
const RULE_CHECK: &str = r#"
CREATE SCHEMA gatehouse_rule_check;
CREATE TABLE gatehouse_rule_check.index_built (index_name text, statement text);
CREATE FUNCTION gatehouse_rule_check.log_index() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE built record;
BEGIN
    FOR built IN SELECT objid FROM pg_event_trigger_ddl_commands()
                 WHERE command_tag = 'CREATE INDEX' LOOP
        INSERT INTO gatehouse_rule_check.index_built
            SELECT relname, current_query() FROM pg_class WHERE oid = built.objid;
    END LOOP;
END $$;
CREATE EVENT TRIGGER gatehouse_rule_check_index ON ddl_command_end
    WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION gatehouse_rule_check.log_index();
"#;

/// On PostgreSQL, records the statement of every `CREATE INDEX` from now on (an event
/// trigger; needs a superuser, as `TEST_DATABASE_URL`'s `postgres` is).
async fn log_index_builds(conn: &DatabaseConnection) {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_unprepared(RULE_CHECK)
            .await
            .expect("the index log (an event trigger: TEST_DATABASE_URL must be a superuser)");
    }
}

/// The schema now.
async fn snapshot(conn: &DatabaseConnection) -> Snapshot {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT table_name::text AS tbl, column_name::text AS col, \
             (is_nullable = 'YES' OR column_default IS NOT NULL OR is_identity = 'YES') AS fillable \
             FROM information_schema.columns WHERE table_schema = current_schema()"
        }
        _ => {
            "SELECT m.name AS tbl, p.name AS col, \
             (p.\"notnull\" = 0 OR p.dflt_value IS NOT NULL OR p.pk > 0) AS fillable \
             FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'"
        }
    };
    let rows = |sql: &str| {
        let statement = Statement::from_string(backend, sql);
        async move {
            conn.query_all_raw(statement)
                .await
                .expect("read the catalog")
        }
    };
    let mut snapshot = Snapshot::default();
    for row in rows(sql).await {
        let key = (
            row.try_get::<String>("", "tbl").expect("a table"),
            row.try_get::<String>("", "col").expect("a column"),
        );
        let fillable = row.try_get::<bool>("", "fillable").expect("a flag");
        snapshot.columns.insert(key, fillable);
    }
    if backend != DbBackend::Postgres {
        return snapshot;
    }
    let indexes = "SELECT indexname::text AS idx, tablename::text AS tbl FROM pg_indexes \
                   WHERE schemaname = current_schema()";
    for row in rows(indexes).await {
        snapshot.indexes.insert(
            row.try_get("", "idx").expect("an index"),
            row.try_get("", "tbl").expect("its table"),
        );
    }
    let concurrent = "SELECT index_name AS idx FROM gatehouse_rule_check.index_built \
                      WHERE statement ~* '\\mcreate\\s+(unique\\s+)?index\\s+concurrently\\M'";
    for row in rows(concurrent).await {
        snapshot
            .concurrent
            .insert(row.try_get("", "idx").expect("an index"));
    }
    snapshot
}

/// What migration `name` did that a replica of the previous release, still serving while
/// it is applied (issue 16), could not live with: a table or column it reads dropped or
/// renamed away, or a column added to an existing table that its inserts cannot fill; and,
/// unless `name` is grandfathered, an index built on an existing table without
/// `CONCURRENTLY` (PostgreSQL then blocks every write to that table while it builds).
fn breaks_the_previous_release(name: &str, before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut broken = Vec::new();
    let (existing, remaining) = (before.tables(), after.tables());
    for table in &existing {
        if !remaining.contains(table) {
            broken.push(format!(
                "{name} removes table {table} (drops or renames it)"
            ));
        }
    }
    for (table, column) in before.columns.keys() {
        let key = (table.clone(), column.clone());
        if remaining.contains(table) && !after.columns.contains_key(&key) {
            broken.push(format!(
                "{name} removes column {table}.{column} (drops or renames it)"
            ));
        }
    }
    for ((table, column), fillable) in &after.columns {
        let added = !before
            .columns
            .contains_key(&(table.clone(), column.clone()));
        if added && existing.contains(table) && !fillable {
            broken.push(format!(
                "{name} adds {table}.{column} NOT NULL without a default"
            ));
        }
    }
    if !INDEXES_GRANDFATHERED.contains(&name) {
        for (index, table) in &after.indexes {
            let built = !before.indexes.contains_key(index);
            if built && existing.contains(table) && !after.concurrent.contains(index) {
                broken.push(format!(
                    "{name} builds index {index} on the existing table {table} without \
                     CREATE INDEX CONCURRENTLY (writes to {table} wait until it is built)"
                ));
            }
        }
    }
    broken
}

/// Issue 16's rule, enforced: every migration is expand-only against the schema the
/// migrations before it produce, so the previous release keeps working while it is applied
/// (removals and renames wait for a later release), and on PostgreSQL it builds indexes on
/// existing tables with `CREATE INDEX CONCURRENTLY` (a migration doing so opts out of
/// sea-orm-migration's transaction with `use_transaction() -> Some(false)`). Runs every
/// migration one at a time on both engines, and proves on deliberately bad schema changes
/// that each check can fail.
#[tokio::test]
async fn every_migration_is_expand_only_for_the_release_before_it() {
    for engine in engines() {
        let db = TestDatabase::create(engine, false).await;
        let migrations = db.migrations().await;
        let conn = db.connection().await;
        log_index_builds(&conn).await;
        migrations.up(Some(1)).await.expect("the template's schema");
        let mut before = snapshot(&conn).await;
        let mut broken = Vec::new();
        for name in &MIGRATIONS[1..] {
            migrations.up(Some(1)).await.expect(name);
            let after = snapshot(&conn).await;
            broken.extend(breaks_the_previous_release(name, &before, &after));
            before = after;
        }
        assert_eq!(broken, Vec::<String>::new(), "{engine:?}");

        conn.execute_unprepared(
            "ALTER TABLE item RENAME COLUMN description TO details; \
             ALTER TABLE item ADD COLUMN rank integer NOT NULL DEFAULT 0; \
             ALTER TABLE gatehouse_throttle RENAME TO gatehouse_counter",
        )
        .await
        .expect("a bad change");
        let mut expected = vec![
            "a bad change removes table gatehouse_throttle (drops or renames it)".to_owned(),
            "a bad change removes column item.description (drops or renames it)".to_owned(),
        ];
        if engine == Engine::Postgres {
            // SQLite cannot add a NOT NULL column without a default at all.
            conn.execute_unprepared("ALTER TABLE item ADD COLUMN owner_note text NOT NULL")
                .await
                .expect("a required column");
            expected.push("a bad change adds item.owner_note NOT NULL without a default".into());
            // Outside a transaction, as a migration with `use_transaction() -> Some(false)`.
            conn.execute_unprepared("CREATE INDEX CONCURRENTLY ix_item_rank ON item (rank)")
                .await
                .expect("a concurrent index");
            conn.execute_unprepared("CREATE INDEX ix_item_title ON item (title)")
                .await
                .expect("a blocking index");
            expected.push(
                "a bad change builds index ix_item_title on the existing table item without \
                 CREATE INDEX CONCURRENTLY (writes to item wait until it is built)"
                    .into(),
            );
        }
        let bad = breaks_the_previous_release("a bad change", &before, &snapshot(&conn).await);
        assert_eq!(
            bad, expected,
            "{engine:?}: a defaulted NOT NULL column and a concurrent index are fine"
        );
    }
}

/// Issue 16 item 2: a release whose schema a newer release has moved ahead (a migration it
/// does not know is applied) serves normally and reports ready, and its `migrate up` (what
/// `serve --migrate` runs) is a no-op instead of an error.
#[tokio::test]
async fn a_schema_ahead_of_this_release_is_served_and_up_is_a_no_op() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let conn = db.connection().await;
        let newer = Query::insert()
            .into_table("seaql_migrations")
            .columns(["version", "applied_at"])
            .values_panic(["m20991231_000001_from_a_newer_release".into(), 0i64.into()])
            .to_owned();
        conn.execute(&newer)
            .await
            .expect("a newer release's migration");

        let migrations = db.migrations().await;
        migrations.up(None).await.expect("up is a no-op");
        assert_eq!(migrations.pending().await.expect("pending"), 0);
        let store = db.store().await;
        store.readiness().check().await.expect("ready");
    }
}

/// The tables of the database.
async fn tables(conn: &DatabaseConnection) -> Vec<String> {
    let sql = match conn.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
    };
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("list tables")
        .iter()
        .map(|row| row.try_get::<String>("", "name").expect("a table name"))
        .collect()
}

/// Inserts a user row as the template wrote them: its columns only, no email key.
async fn insert_template_user(conn: &DatabaseConnection, email: &str) {
    let insert = Query::insert()
        .into_table("user")
        .columns([
            "email",
            "is_active",
            "is_superuser",
            "hashed_password",
            "id",
        ])
        .values_panic([
            email.into(),
            true.into(),
            false.into(),
            "$2b$12$hash".into(),
            Uuid::new_v4().into(),
        ])
        .to_owned();
    conn.execute(&insert).await.expect("a template-written row");
}

#[tokio::test]
async fn up_then_down_to_zero_then_up_leaves_the_same_schema() {
    for engine in engines() {
        let db = TestDatabase::create(engine, false).await;
        let migrations = db.migrations().await;
        let conn = db.connection().await;

        migrations.up(None).await.expect("first up");
        let first = schema(&conn).await;
        assert!(first.iter().any(|l| l.contains("gatehouse_refresh_token")));

        migrations.down(None).await.expect("down to zero");
        assert_eq!(tables(&conn).await, ["seaql_migrations"], "{engine:?}");
        assert_eq!(
            migrations.pending().await.expect("pending"),
            MIGRATIONS.len()
        );

        migrations.up(None).await.expect("second up");
        assert_eq!(schema(&conn).await, first, "{engine:?}");
        let status = migrations.status().await.expect("status");
        assert!(status.iter().all(|m| m.applied), "{status:?}");
        assert_eq!(
            status.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            MIGRATIONS
        );
    }
}

#[tokio::test]
async fn fresh_drops_everything_and_applies_every_migration() {
    for engine in engines() {
        let db = TestDatabase::create(engine, true).await;
        let store = db.store().await;
        store
            .users()
            .insert(&super::user("gone@example.com"))
            .await
            .expect("insert");
        let migrations = db.migrations().await;

        migrations.fresh().await.expect("fresh");
        assert_eq!(
            migrations.pending().await.expect("pending"),
            0,
            "{engine:?}"
        );
        let listing = store.users().list(Page::default()).await.expect("list");
        assert_eq!(listing.count, 0, "{engine:?}");
    }
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn postgres_template_tables_match_the_contract_exactly() {
    let db = TestDatabase::postgres(true).await;
    let lines = schema(&db.connection().await).await;
    let of = |prefix: &str| -> Vec<&str> {
        lines
            .iter()
            .map(String::as_str)
            .filter(|l| l.starts_with(prefix))
            .collect()
    };
    assert_eq!(
        of("user|"),
        [
            "user|email|1|character varying|255|NO|",
            "user|is_active|2|boolean||NO|",
            "user|is_superuser|3|boolean||NO|",
            "user|full_name|4|character varying|255|YES|",
            "user|hashed_password|5|character varying||NO|",
            "user|id|6|uuid||NO|",
            "user|created_at|7|timestamp with time zone||YES|",
            "user|email_key|8|character varying|255|YES|",
        ]
    );
    assert_eq!(
        of("item|"),
        [
            "item|description|1|character varying|255|YES|",
            "item|title|2|character varying|255|NO|",
            "item|id|3|uuid||NO|",
            "item|owner_id|4|uuid||NO|",
            "item|created_at|5|timestamp with time zone||YES|",
            "item|item_owner_id_fkey|FOREIGN KEY (owner_id) REFERENCES \"user\"(id) ON DELETE CASCADE",
            "item|item_pkey|PRIMARY KEY (id)",
        ]
    );
    assert!(lines.contains(&"\"user\"|user_pkey|PRIMARY KEY (id)".to_owned()));
    assert!(
        lines.contains(
            &"CREATE UNIQUE INDEX ix_user_email ON public.\"user\" USING btree (email)".to_owned()
        ),
        "{lines:#?}"
    );
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn three_runners_at_once_on_an_empty_postgres_database_all_succeed_once_each() {
    let db = TestDatabase::postgres(false).await;
    // Three runners with their own pools, as three `gatehouse migrate up` processes.
    let (a, b, c) = (
        db.migrations().await,
        db.migrations().await,
        db.migrations().await,
    );
    let results = tokio::join!(a.up(None), b.up(None), c.up(None));
    assert!(
        results.0.is_ok() && results.1.is_ok() && results.2.is_ok(),
        "{results:?}"
    );
    let conn = db.connection().await;
    for version in MIGRATIONS {
        let recorded =
            count_rows(&conn, "seaql_migrations", Some(("version", version.into()))).await;
        assert_eq!(recorded, 1, "{version}");
    }
    assert_eq!(
        usize::try_from(count_rows(&conn, "seaql_migrations", None).await),
        Ok(MIGRATIONS.len())
    );
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn a_runner_waits_for_the_lock_only_as_long_as_it_was_told() {
    let db = TestDatabase::postgres(false).await;
    let holder = db.connection().await;
    let txn = sea_orm::TransactionTrait::begin(&holder)
        .await
        .expect("begin");
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [LOCK_KEY.into()],
    ))
    .await
    .expect("take the migration lock");

    let started = Instant::now();
    let err = db
        .migrations()
        .await
        .with_lock_wait(Duration::from_millis(300))
        .up(None)
        .await
        .expect_err("the lock is held");
    assert!(matches!(err, MigrateError::LockTimeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    txn.rollback().await.expect("release the lock");
    db.migrations()
        .await
        .up(None)
        .await
        .expect("up once the lock is free");
}

#[tokio::test]
async fn a_pooler_url_is_refused_before_connecting() {
    let err = Migrations::connect(&DbOptions::new(
        "postgresql://app:secret@ep-cool-darkness-123456-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require",
    ))
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, MigrateError::Pooler { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("direct endpoint"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
}

#[tokio::test]
async fn case_variant_duplicates_stop_the_auth_migration_with_a_count_and_no_change() {
    for engine in engines() {
        let db = TestDatabase::create(engine, false).await;
        let migrations = db.migrations().await;
        migrations.up(Some(1)).await.expect("template schema");
        let conn = db.connection().await;
        for email in ["Alice@Example.com", " alice@example.com", "bob@example.com"] {
            insert_template_user(&conn, email).await;
        }

        let err = migrations.up(None).await.expect_err("refused");
        let shown = err.to_string();
        assert!(shown.contains("2 users share 1 email"), "{shown}");
        assert!(!shown.to_lowercase().contains("alice"), "{shown}");
        assert_eq!(
            migrations.pending().await.expect("pending"),
            MIGRATIONS.len() - 1,
            "only the template's schema applied"
        );
        assert!(
            !tables(&conn)
                .await
                .contains(&"gatehouse_session".to_owned())
        );
        let key_column = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT email_key FROM \"user\"",
            ))
            .await;
        assert!(key_column.is_err(), "{engine:?}: email_key was added");
    }
}

/// Every stored email key, by address.
async fn email_keys(conn: &DatabaseConnection) -> Vec<(String, Option<String>)> {
    let mut keys: Vec<(String, Option<String>)> = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT email, email_key FROM \"user\"",
        ))
        .await
        .expect("read the keys")
        .iter()
        .map(|row| {
            (
                row.try_get("", "email").expect("email"),
                row.try_get("", "email_key").expect("email_key"),
            )
        })
        .collect();
    keys.sort();
    keys
}

/// Addresses the IDNA re-keying changes or must leave alone, none sharing a mailbox.
const IDN_ADDRESSES: [&str; 4] = [
    "x@xn--bcher-kva.com",
    "U\u{0308}ser@Example.com",
    "plain@example.com",
    "odd@xn--",
];

#[tokio::test]
async fn the_idna_migration_re_keys_every_row_as_the_application_keys_it_and_back() {
    for engine in engines() {
        let db = TestDatabase::create(engine, false).await;
        let migrations = db.migrations().await;
        migrations
            .up(Some(3))
            .await
            .expect("up to the previous release");
        let conn = db.connection().await;
        for email in IDN_ADDRESSES {
            insert_template_user(&conn, email).await;
        }
        let before = email_keys(&conn).await;

        migrations.up(Some(1)).await.expect("re-key");
        let after = email_keys(&conn).await;
        for (email, key) in &after {
            assert_eq!(
                key.as_deref(),
                Some(EmailKey::of(email).as_str()),
                "{engine:?}: the migration's frozen key is the application's"
            );
        }
        let users = db.store().await.users();
        for spelling in ["x@bücher.com", "üser@example.com", "X@XN--BCHER-KVA.COM"] {
            let found = users.find_by_email(&EmailKey::of(spelling)).await;
            assert!(found.expect("find").is_some(), "{engine:?}: {spelling}");
        }

        migrations.down(Some(1)).await.expect("down");
        let old_keys: Vec<_> = email_keys(&conn)
            .await
            .into_iter()
            .map(|(email, key)| (email.clone(), key, email.trim().to_lowercase()))
            .collect();
        for (email, key, expected) in old_keys {
            assert_eq!(key, Some(expected), "{engine:?}: {email} keyed as before");
        }
        assert_eq!(before.len(), IDN_ADDRESSES.len());
    }
}

#[tokio::test]
async fn one_mailbox_spelt_twice_stops_the_idna_migration_with_a_count_and_no_change() {
    for engine in engines() {
        let db = TestDatabase::create(engine, false).await;
        let migrations = db.migrations().await;
        migrations
            .up(Some(3))
            .await
            .expect("up to the previous release");
        let conn = db.connection().await;
        for email in ["x@bücher.com", "x@xn--bcher-kva.com", "plain@example.com"] {
            insert_template_user(&conn, email).await;
        }
        let before = email_keys(&conn).await;

        let err = migrations.up(Some(1)).await.expect_err("refused");
        let shown = err.to_string();
        assert!(shown.contains("2 users share 1 mailbox"), "{shown}");
        assert!(!shown.contains("bcher"), "{shown}");
        assert_eq!(
            migrations.pending().await.expect("pending"),
            MIGRATIONS.len() - 3,
            "the refused migration and every later one"
        );
        assert_eq!(
            email_keys(&conn).await,
            before,
            "{engine:?}: nothing changed"
        );
    }
}

#[tokio::test]
async fn case_variants_the_template_wrote_stop_the_coexistence_migration_with_no_change() {
    for engine in engines() {
        let db = TestDatabase::create(engine, false).await;
        let migrations = db.migrations().await;
        migrations
            .up(Some(4))
            .await
            .expect("up to the previous release");
        let conn = db.connection().await;
        for email in ["Kim@example.com", "kim@example.com", "plain@example.com"] {
            insert_template_user(&conn, email).await;
        }

        let err = migrations.up(None).await.expect_err("refused");
        let shown = err.to_string();
        assert!(
            shown.contains("2 users share 1 email"),
            "{engine:?}: {shown}"
        );
        assert!(!shown.to_lowercase().contains("kim"), "{shown}");
        assert_eq!(
            migrations.pending().await.expect("pending"),
            MIGRATIONS.len() - 4,
            "the refused migration and every later one"
        );
        let indexes = schema(&conn).await;
        assert!(
            !indexes
                .iter()
                .any(|line| line.contains("ix_user_email_lower")),
            "{engine:?}: nothing changed"
        );
    }
}

#[tokio::test]
async fn readiness_is_refused_while_a_migration_is_pending() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    store
        .readiness()
        .check()
        .await
        .expect("ready when migrated");

    db.migrations().await.down(Some(1)).await.expect("down one");
    let err = store.readiness().check().await.expect_err("behind");
    assert!(
        matches!(err, NotReady::SchemaBehind { pending: 1 }),
        "{err:?}"
    );
}

/// Turns a database holding the template's tables into one the template's Alembic chain
/// created at `revision`: an `alembic_version` row and no record of our first migration.
async fn as_if_created_by_alembic(conn: &DatabaseConnection, revision: &str) {
    let create = Table::create()
        .table("alembic_version")
        .col(
            ColumnDef::new("version_num")
                .string_len(32)
                .not_null()
                .primary_key(),
        )
        .to_owned();
    conn.execute(&create).await.expect("alembic_version");
    let stamp = Query::insert()
        .into_table("alembic_version")
        .columns(["version_num"])
        .values_panic([revision.into()])
        .to_owned();
    conn.execute(&stamp).await.expect("alembic revision");
    let forget = Query::delete()
        .from_table("seaql_migrations")
        .and_where(Expr::col("version").eq(MIGRATIONS[0]))
        .to_owned();
    conn.execute(&forget)
        .await
        .expect("forget the first migration");
}

#[tokio::test]
async fn a_template_database_at_its_alembic_head_is_taken_over_as_the_baseline() {
    for engine in engines() {
        let db = TestDatabase::create(engine, false).await;
        let migrations = db.migrations().await;
        migrations.up(Some(1)).await.expect("the template's tables");
        let conn = db.connection().await;
        as_if_created_by_alembic(&conn, "fe56fa70289e").await;
        insert_template_user(&conn, "Alice@Example.com").await;

        migrations.up(None).await.expect("take over and migrate");
        assert_eq!(migrations.pending().await.expect("pending"), 0);
        let found = db
            .store()
            .await
            .users()
            .find_by_email(&EmailKey::of("alice@example.com"))
            .await
            .expect("find");
        assert!(
            found.is_some(),
            "{engine:?}: the backfilled key finds the row"
        );

        migrations
            .down(Some(1))
            .await
            .expect("our own migration goes");
        let err = migrations
            .down(None)
            .await
            .expect_err("the template's tables stay");
        assert!(err.to_string().contains("alembic"), "{err}");
        assert!(tables(&conn).await.contains(&"user".to_owned()));
    }
}

#[tokio::test]
async fn a_template_database_at_another_alembic_revision_is_refused() {
    for engine in engines() {
        let db = TestDatabase::create(engine, false).await;
        let migrations = db.migrations().await;
        migrations.up(Some(1)).await.expect("the template's tables");
        as_if_created_by_alembic(&db.connection().await, "1a31ce608336").await;

        let err = migrations.up(None).await.expect_err("refused");
        let shown = err.to_string();
        assert!(
            shown.contains("1a31ce608336") && shown.contains("fe56fa70289e"),
            "{shown}"
        );
        assert_eq!(
            migrations.pending().await.expect("pending"),
            MIGRATIONS.len(),
            "{engine:?}: nothing recorded, the template's schema as Alembic left it"
        );
    }
}
