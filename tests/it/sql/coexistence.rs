//! Gatehouse beside the template on one database (issue 12 item 1): rows written with plain
//! SQL exactly as the template writes them — its columns only, no Gatehouse column touched —
//! while a Gatehouse server runs are right for Gatehouse at once: logins, uniqueness of an
//! address in any case, ownership, deletes and (on PostgreSQL, where the template runs)
//! password changes, which end Gatehouse's sessions at their next use.

use gatehouse_sql::migrate::Migrations;
use gatehouse_tests::app::{Options, TestApp, send, status_json};
use gatehouse_tests::db::{Engine, TestDatabase, engines};
use reqwest::StatusCode;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use uuid::Uuid;

const PASSWORD: &str = "template password 1";

/// A Gatehouse server on a fresh database of `engine`, and a connection writing as the
/// template does.
async fn beside_the_template(engine: Engine) -> (TestApp, DatabaseConnection) {
    let db = TestDatabase::create(engine, true).await;
    let pool = db.runtime_options();
    let app = TestApp::spawn_on(db, pool, Options::unthrottled()).await;
    let template = app.sql().await.expect("a SQL backend");
    (app, template)
}

/// The template's signup: its columns only (bcrypt, as passlib hashed), no email key.
async fn template_inserts_user(template: &DatabaseConnection, email: &str, password: &str) -> Uuid {
    template_signup(template, email, password)
        .await
        .expect("the template's insert")
}

/// [`template_inserts_user`], reporting what the database answered.
async fn template_signup(
    template: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::new_v4();
    let hash = bcrypt::hash(password, 4).expect("a bcrypt hash");
    let insert = Query::insert()
        .into_table("user")
        .columns([
            "email",
            "is_active",
            "is_superuser",
            "full_name",
            "hashed_password",
            "id",
        ])
        .values_panic([
            email.into(),
            true.into(),
            false.into(),
            Option::<String>::None.into(),
            hash.into(),
            id.into(),
        ])
        .to_owned();
    template.execute(&insert).await?;
    Ok(id)
}

/// The template's `UPDATE "user" SET <column> = <value>` of the account at `email`.
async fn template_updates(
    template: &DatabaseConnection,
    email: &str,
    column: &'static str,
    value: &str,
) {
    let update = Query::update()
        .table("user")
        .value(column, value)
        .and_where(Expr::col("email").eq(email))
        .to_owned();
    let done = template
        .execute(&update)
        .await
        .expect("the template's update");
    assert_eq!(done.rows_affected(), 1);
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.login(email, password).await.status()
}

#[tokio::test]
async fn rows_the_template_inserts_changes_and_deletes_are_right_for_gatehouse_at_once() {
    for engine in engines() {
        let (app, template) = beside_the_template(engine).await;
        let id = template_inserts_user(&template, "Tess@Example.com", PASSWORD).await;

        assert_eq!(
            login_status(&app, " tess@EXAMPLE.com", PASSWORD).await,
            StatusCode::OK,
            "{engine:?}"
        );
        let (status, body) =
            status_json(app.signup("TESS@example.com", "another password").await).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"detail": "The user with this email already exists in the system"})
            ),
            "{engine:?}: a case variant of a template row is the same account"
        );

        template_updates(
            &template,
            "Tess@Example.com",
            "email",
            "tess.new@example.com",
        )
        .await;
        assert_eq!(
            login_status(&app, "Tess.New@example.com", PASSWORD).await,
            StatusCode::OK,
            "{engine:?}"
        );
        assert_eq!(
            login_status(&app, "tess@example.com", PASSWORD).await,
            StatusCode::BAD_REQUEST
        );
        let (status, _) =
            status_json(app.signup("tess@example.com", "another password").await).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{engine:?}: the old address is free again"
        );

        assert!(
            template_signup(&template, "TESS.NEW@example.com", "x")
                .await
                .is_err(),
            "{engine:?}: the database refuses the template a second account for one address"
        );

        let token = app.token("tess.new@example.com", PASSWORD).await;
        let item = Query::insert()
            .into_table("item")
            .columns(["title", "description", "id", "owner_id"])
            .values_panic([
                "from the template".into(),
                Option::<String>::None.into(),
                Uuid::new_v4().into(),
                id.into(),
            ])
            .to_owned();
        template.execute(&item).await.expect("the template's item");
        let (status, items) = send(app.get("/api/v1/items/").bearer_auth(&token)).await;
        assert_eq!(
            (status, items["count"].clone()),
            (StatusCode::OK, json!(1)),
            "{engine:?}: {items}"
        );

        let delete_items = Query::delete()
            .from_table("item")
            .and_where(Expr::col("owner_id").eq(id))
            .to_owned();
        template
            .execute(&delete_items)
            .await
            .expect("the template deletes the items");
        let delete = Query::delete()
            .from_table("user")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        template
            .execute(&delete)
            .await
            .expect("the template deletes the user");
        assert_eq!(
            send(app.get("/api/v1/users/me").bearer_auth(&token)).await,
            (StatusCode::NOT_FOUND, json!({"detail": "User not found"})),
            "{engine:?}"
        );
    }
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn a_password_the_template_changes_ends_gatehouse_sessions_but_gatehouse_own_writes_do_not() {
    let db = TestDatabase::postgres(true).await;
    let pool = db.runtime_options();
    let app = TestApp::spawn_on(db, pool, Options::unthrottled()).await;
    let template = app.sql().await.expect("a SQL backend");
    template_inserts_user(&template, "pat@example.com", PASSWORD).await;
    // The first login re-hashes passlib's bcrypt as argon2id: Gatehouse's own write, which
    // must end no session; the second session sees it.
    let first = app.tokens("pat@example.com", PASSWORD).await;
    let second = app.tokens("pat@example.com", PASSWORD).await;
    let (status, sessions) =
        send(app.get("/api/v1/auth/sessions").bearer_auth(&second.access)).await;
    assert_eq!(
        (status, sessions["count"].clone()),
        (StatusCode::OK, json!(2)),
        "{sessions}"
    );

    // Gatehouse's own password change keeps the caller's session.
    let changed = send(
        app.patch("/api/v1/users/me/password")
            .bearer_auth(&first.access)
            .json(&json!({"current_password": PASSWORD, "new_password": "gatehouse password 2"})),
    )
    .await;
    assert_eq!(changed.0, StatusCode::OK, "{changed:?}");
    assert_eq!(app.me(&first.access).await.status(), StatusCode::OK);

    let new_hash = bcrypt::hash("template password 3", 4).expect("a bcrypt hash");
    template_updates(&template, "pat@example.com", "hashed_password", &new_hash).await;

    assert_eq!(
        app.me(&first.access).await.status(),
        StatusCode::FORBIDDEN,
        "the template's change ends the session at its next use"
    );
    let refresh = first.refresh.as_str();
    assert_eq!(
        app.refresh(refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_status(&app, "pat@example.com", "gatehouse password 2").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        login_status(&app, "pat@example.com", "template password 3").await,
        StatusCode::OK
    );
}

#[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
#[tokio::test]
async fn an_unknown_required_column_is_reported_and_answered_503_never_500() {
    let db = TestDatabase::postgres(true).await;
    let pool = db.runtime_options();
    let migrations: Migrations = db.migrations().await;
    let app = TestApp::spawn_on(db, pool, Options::unthrottled()).await;
    let template = app.sql().await.expect("a SQL backend");
    let alter = |sql: &'static str| {
        let template = template.clone();
        async move { template.execute_unprepared(sql).await.expect(sql) }
    };

    alter(r#"ALTER TABLE "user" ADD COLUMN nickname text"#).await;
    assert_eq!(
        app.signup("nullable@example.com", "password-123")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/health/ready")
            .send()
            .await
            .expect("probe")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        migrations.unfillable_columns().await.expect("status"),
        Vec::<String>::new()
    );

    alter(r#"ALTER TABLE "user" ADD COLUMN badge text NOT NULL DEFAULT 'none'"#).await;
    alter(r#"ALTER TABLE "user" ALTER COLUMN badge DROP DEFAULT"#).await;
    assert_eq!(
        migrations.unfillable_columns().await.expect("status"),
        ["user.badge"]
    );
    assert_eq!(
        app.get("/health/ready")
            .send()
            .await
            .expect("probe")
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let refused = app.signup("required@example.com", "password-123").await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
}
