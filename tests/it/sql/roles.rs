//! The database roles docs/neon.md tells operators to create (SECURITY.md DB-06, DB-02): its
//! two SQL blocks, run exactly as written there on a fresh PostgreSQL database, let Gatehouse
//! serve as the application role, while that role can change no schema and carries the
//! documented timeouts. PostgreSQL only: roles and grants are its business.

use gatehouse_sql::DbOptions;
use gatehouse_sql::migrate::Migrations;
use gatehouse_tests::app::{Options, TestApp, status_json};
use gatehouse_tests::db::{TEST_DATABASE_URL, TestDatabase};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, RuntimeErr};
use serde_json::json;
use uuid::Uuid;

/// The operator documentation whose SQL this test runs.
const NEON_DOC: &str = include_str!("../../../docs/neon.md");
/// The switch guide, whose ownership step the take-over test runs.
const TEMPLATE_DOC: &str = include_str!("../../../docs/from-the-template.md");

/// The role names the documentation uses, replaced by unique ones here: roles belong to the
/// whole server, which other tests share.
const APP: &str = "gatehouse_app";
const MIGRATOR: &str = "gatehouse_migrator";

/// The fenced `sql` block of docs/neon.md whose first line is `first_line`.
fn documented_sql(first_line: &str) -> String {
    sql_block(NEON_DOC, first_line)
}

/// The fenced `sql` block of `doc` whose first line is `first_line`.
fn sql_block(doc: &str, first_line: &str) -> String {
    let mut lines = doc.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == "```sql" && lines.clone().next() == Some(first_line) {
            return lines
                .take_while(|line| *line != "```")
                .collect::<Vec<_>>()
                .join("\n");
        }
    }
    panic!("the documentation has no sql block starting {first_line:?}")
}

/// `url` logging in as `user`.
fn as_user(url: &str, user: &str) -> String {
    let mut url = url::Url::parse(url).expect("a PostgreSQL URL");
    url.set_username(user).expect("a URL with a host");
    url.to_string()
}

/// The SQLSTATE of a failed statement.
fn sqlstate(error: &DbErr) -> Option<String> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = error
    else {
        return None;
    };
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

async fn show(conn: &DatabaseConnection, setting: &str) -> String {
    conn.query_one_raw(sea_orm::Statement::from_string(
        conn.get_database_backend(),
        format!("SHOW {setting}"),
    ))
    .await
    .expect("SHOW")
    .expect("a row")
    .try_get_by_index::<String>(0)
    .expect("a text value")
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn the_documented_roles_serve_gatehouse_and_the_app_role_cannot_change_the_schema() {
    let db = TestDatabase::postgres(false).await;
    let suffix = &Uuid::new_v4().simple().to_string()[..12];
    let (app_role, migrator_role) = (format!("{APP}_{suffix}"), format!("{MIGRATOR}_{suffix}"));
    let named = |sql: String| {
        sql.replace(MIGRATOR, &migrator_role)
            .replace(APP, &app_role)
    };
    let owner = db.connection().await;
    owner
        .execute_unprepared(&format!(
            "CREATE ROLE {migrator_role} LOGIN; CREATE ROLE {app_role} LOGIN"
        ))
        .await
        .expect("create the roles (step 1)");
    owner
        .execute_unprepared(&named(documented_sql("-- as the database owner")))
        .await
        .expect("the owner's block (step 2)");

    // Step 3 in two halves around step 4, so both of step 4's claims are tested: grants on
    // the tables that exist, default privileges on those later migrations create.
    let migrations = Migrations::connect(&DbOptions::new(as_user(db.url(), &migrator_role)))
        .await
        .expect("connect as the migration role");
    migrations.up(Some(1)).await.expect("the first migration");
    let migrator = Database::connect(as_user(db.url(), &migrator_role))
        .await
        .expect("connect as the migration role");
    migrator
        .execute_unprepared(&named(documented_sql("-- as gatehouse_migrator")))
        .await
        .expect("the migration role's block (step 4)");
    migrations.up(None).await.expect("the later migrations");

    let direct_app = as_user(db.url(), &app_role);
    let restricted = Database::connect(direct_app.clone())
        .await
        .expect("connect as the app role");
    for (what, sql) in [
        ("DROP TABLE", r#"DROP TABLE "user""#),
        ("CREATE TABLE", "CREATE TABLE intruder (id integer)"),
        (
            "ALTER TABLE",
            "ALTER TABLE item ADD COLUMN intruder integer",
        ),
    ] {
        let refused = restricted
            .execute_unprepared(sql)
            .await
            .expect_err(&format!("{what} as the app role"));
        assert_eq!(
            sqlstate(&refused).as_deref(),
            Some("42501"),
            "{what}: {refused}"
        );
    }
    assert_eq!(show(&restricted, "statement_timeout").await, "5s");
    assert_eq!(
        show(&restricted, "idle_in_transaction_session_timeout").await,
        "15s"
    );
    drop((restricted, migrator, migrations, owner));

    let pool = DbOptions::new(as_user(&db.runtime_options().url, &app_role));
    let app = TestApp::spawn_on(db, pool, Options::default()).await;
    let (_, _, token) = app.user_with_token().await;
    let (status, item) = status_json(
        app.post("/api/v1/items/")
            .bearer_auth(&token)
            .json(&json!({ "title": "Notebook" }))
            .send()
            .await
            .expect("create an item"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    let (status, _) = status_json(app.me(&token).await).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = status_json(app.get("/health/ready").send().await.expect("readiness")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the app role reads the migration records"
    );

    // The database goes with the app; then nothing is left that depends on the roles. A
    // failing run leaves its two roles behind: no password, no privileges, unique names.
    drop(app);
    let server = Database::connect(std::env::var(TEST_DATABASE_URL).expect("set"))
        .await
        .expect("connect to the server");
    server
        .execute_unprepared(&format!("DROP ROLE {app_role}; DROP ROLE {migrator_role}"))
        .await
        .expect("drop the roles");
}

/// Issue 12: a template database whose tables belong to another role than the one running
/// the migrations gets a clear refusal naming the ownership step, not PostgreSQL's
/// misleading `relation "user" already exists`; after the documented step, the take-over
/// works.
#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn without_the_ownership_step_the_take_over_says_what_to_run() {
    let db = TestDatabase::postgres(false).await;
    let migrator_role = format!("{MIGRATOR}_{}", &Uuid::new_v4().simple().to_string()[..12]);
    let owner = db.connection().await;
    owner
        .execute_unprepared(&format!(
            "CREATE ROLE {migrator_role} LOGIN; GRANT CREATE ON SCHEMA public TO {migrator_role};"
        ))
        .await
        .expect("the migration role");
    // The template's Alembic left its tables, owned by the role it ran as.
    let template = Migrations::connect(&DbOptions::new(db.url().to_owned()))
        .await
        .expect("connect as the owner");
    template.up(Some(1)).await.expect("the template's tables");
    owner
        .execute_unprepared(
            "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY); \
             INSERT INTO alembic_version VALUES ('fe56fa70289e'); \
             DROP TABLE seaql_migrations;",
        )
        .await
        .expect("as the template's Alembic left it");

    let migrations = Migrations::connect(&DbOptions::new(as_user(db.url(), &migrator_role)))
        .await
        .expect("connect as the migration role");
    let refused = migrations.up(None).await.expect_err("refused").to_string();
    assert!(
        refused.contains(&format!("not to {migrator_role}")) && refused.contains("OWNER TO"),
        "{refused}"
    );
    assert!(!refused.contains("already exists"), "{refused}");

    let step = sql_block(TEMPLATE_DOC, "-- as the owner of the template's tables");
    owner
        .execute_unprepared(&step.replace(MIGRATOR, &migrator_role))
        .await
        .expect("the documented ownership step");
    migrations.up(None).await.expect("the take-over");
    assert_eq!(migrations.pending().await.expect("pending"), 0);

    drop((migrations, template, owner));
    drop(db);
    let server = Database::connect(std::env::var(TEST_DATABASE_URL).expect("set"))
        .await
        .expect("connect to the server");
    server
        .execute_unprepared(&format!("DROP ROLE {migrator_role}"))
        .await
        .expect("drop the role");
}
