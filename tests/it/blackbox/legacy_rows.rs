//! Rows left by old template releases (CONTRACT.md §8.3): a NULL `created_at` is served as
//! `null` and sorts first in the newest-first lists of routes 6 and 16 (§4.2 "NULLs
//! first"). The rows are written through the application's storage ports, as a migrated
//! database would hold them.

use gatehouse_domain::{Email, EmailKey, Item, ItemId, ItemTitle, User, UserId};
use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The seeded superuser as stored.
async fn stored_admin(app: &TestApp) -> User {
    app.app
        .ports()
        .users
        .find_by_email(&EmailKey::of(&app.superuser.email))
        .await
        .expect("storage")
        .expect("the seeded superuser")
}

async fn users_without_created_at_show_null_and_come_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let legacy = User {
        id: UserId::random(),
        email: Email::parse("old-timer@example.com").unwrap(),
        is_superuser: false,
        created_at: None,
        ..stored_admin(&app).await
    };
    app.app.ports().users.insert(&legacy).await.expect("insert");
    app.new_user().await;
    let (status, page) = send(app.get("/api/v1/users/").bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 3);
    let first = &page["data"][0];
    assert_eq!(first["email"], "old-timer@example.com", "{page}");
    assert_eq!(first["created_at"], Value::Null, "emitted, not omitted");
    assert_eq!(
        first.as_object().unwrap().len(),
        6,
        "every UserPublic field"
    );
    let (_, one) = send(
        app.get(&format!("/api/v1/users/{}", first["id"].as_str().unwrap()))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(&one, first);
}

async fn items_without_created_at_show_null_and_come_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let legacy = Item {
        id: ItemId::random(),
        title: ItemTitle::new("from the template").unwrap(),
        description: None,
        owner_id: stored_admin(&app).await.id,
        created_at: None,
    };
    app.app.ports().items.insert(&legacy).await.expect("insert");
    app.create_item(&admin, json!({"title": "new"})).await;
    let (status, page) = send(app.get("/api/v1/items/").bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 2);
    assert_eq!(page["data"][0]["title"], "from the template", "{page}");
    assert_eq!(page["data"][0]["created_at"], Value::Null);
    assert_eq!(page["data"][1]["title"], "new");
}

on_every_backend!(
    users_without_created_at_show_null_and_come_first,
    items_without_created_at_show_null_and_come_first,
);
