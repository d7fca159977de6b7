//! Routes 16–20 (CONTRACT.md §4.2): items owned by their creator, visible to them and to
//! superusers, with "unknown" answered before "not yours" (SECURITY.md D4, AZ-02).

use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

const ITEMS: &str = "/api/v1/items/";

fn item_path(item: &Value) -> String {
    format!("/api/v1/items/{}", item["id"].as_str().expect("item id"))
}

fn not_found() -> (StatusCode, Value) {
    (StatusCode::NOT_FOUND, json!({"detail": "Item not found"}))
}

fn not_yours() -> (StatusCode, Value) {
    (
        StatusCode::FORBIDDEN,
        json!({"detail": "Not enough permissions"}),
    )
}

fn titles(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect()
}

async fn a_new_user_has_no_items(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let (status, body) = send(app.get(ITEMS).bearer_auth(&token)).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"data": [], "count": 0}))
    );
}

async fn create_item_belongs_to_the_caller_whatever_owner_id_says(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, other) = app.new_user().await;
    let (_, me, token) = app.user_with_token().await;
    let item = app
        .create_item(&token, json!({"title": "Mine", "owner_id": other}))
        .await;
    assert_eq!(item["owner_id"], me.as_str(), "AZ-03");
    assert_eq!(item["title"], "Mine");
    assert_eq!(item["description"], json!(null));
    let (status, body) = send(app.get(&item_path(&item)).bearer_auth(&token)).await;
    assert_eq!((status, &body), (StatusCode::OK, &item));
}

async fn create_item_needs_a_title_of_1_to_255_characters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let (status, body) = send(
        app.post(ITEMS)
            .bearer_auth(&token)
            .json(&json!({"title": ""})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "string_too_short",
            "loc": ["body", "title"],
            "msg": "String should have at least 1 character",
            "input": "",
            "ctx": {"min_length": 1}
        }]})
    );
    let (status, body) = send(app.post(ITEMS).bearer_auth(&token).json(&json!({
        "title": "t".repeat(256),
        "description": "d".repeat(256),
    })))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (error, field) in body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["title", "description"])
    {
        assert_eq!(error["type"], "string_too_long");
        assert_eq!(error["loc"], json!(["body", field]));
        assert_eq!(error["msg"], "String should have at most 255 characters");
        assert_eq!(error["ctx"], json!({"max_length": 255}));
    }
    let (_, none) = send(app.get(ITEMS).bearer_auth(&token)).await;
    assert_eq!(none["count"], 0, "nothing written");
    let item = app
        .create_item(
            &token,
            json!({"title": "é".repeat(255), "description": "ü".repeat(255)}),
        )
        .await;
    assert_eq!(item["title"].as_str().unwrap().chars().count(), 255);
}

async fn read_item_is_for_its_owner_and_superusers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, owner) = app.user_with_token().await;
    let (_, _, stranger) = app.user_with_token().await;
    let item = app.create_item(&owner, json!({"title": "private"})).await;
    assert_eq!(
        send(app.get(&item_path(&item)).bearer_auth(&stranger)).await,
        not_yours()
    );
    let admin = app.admin_token().await;
    let (status, body) = send(app.get(&item_path(&item)).bearer_auth(&admin)).await;
    assert_eq!((status, &body), (StatusCode::OK, &item));
}

async fn unknown_items_are_404_before_ownership_is_considered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let path = format!("/api/v1/items/{}", uuid::Uuid::new_v4());
    assert_eq!(send(app.get(&path).bearer_auth(&token)).await, not_found());
    assert_eq!(
        send(
            app.put(&path)
                .bearer_auth(&token)
                .json(&json!({"title": "x"}))
        )
        .await,
        not_found()
    );
    assert_eq!(
        send(app.delete(&path).bearer_auth(&token)).await,
        not_found()
    );
}

async fn bad_item_ids_are_uuid_parsing_errors_at_path_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    for request in [
        app.get("/api/v1/items/not-a-uuid"),
        app.put("/api/v1/items/not-a-uuid").json(&json!({})),
        app.delete("/api/v1/items/not-a-uuid"),
    ] {
        let (status, body) = send(request.bearer_auth(&token)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            json!({"detail": [{
                "type": "uuid_parsing",
                "loc": ["path", "id"],
                "msg": "Input should be a valid UUID, invalid character: found `n` at 1",
                "input": "not-a-uuid",
                "ctx": {"error": "invalid character: found `n` at 1"}
            }]})
        );
    }
}

async fn update_item_applies_present_keys_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let item = app
        .create_item(&token, json!({"title": "Old", "description": "keep me"}))
        .await;
    let put = |body: Value| app.put(&item_path(&item)).bearer_auth(&token).json(&body);
    let (status, renamed) = send(put(json!({"title": "New"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["title"], "New");
    assert_eq!(renamed["description"], "keep me");
    assert_eq!(renamed["id"], item["id"]);
    assert_eq!(renamed["created_at"], item["created_at"]);
    let (status, same) = send(put(json!({}))).await;
    assert_eq!((status, &same), (StatusCode::OK, &renamed));
    let (status, cleared) = send(put(json!({"description": null}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared["description"], json!(null));
    assert_eq!(cleared["title"], "New");
    let (status, body) = send(put(json!({"title": null}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "string_type",
            "loc": ["body", "title"],
            "msg": "Input should be a valid string",
            "input": null
        }]}),
        "§9a: null on a non-nullable field"
    );
    let (_, reread) = send(app.get(&item_path(&item)).bearer_auth(&token)).await;
    assert_eq!(reread, cleared, "the refused update wrote nothing");
}

async fn update_item_by_a_stranger_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, owner) = app.user_with_token().await;
    let (_, _, stranger) = app.user_with_token().await;
    let item = app.create_item(&owner, json!({"title": "mine"})).await;
    let request = app
        .put(&item_path(&item))
        .bearer_auth(&stranger)
        .json(&json!({"title": "theirs"}));
    assert_eq!(send(request).await, not_yours());
    let (_, row) = send(app.get(&item_path(&item)).bearer_auth(&owner)).await;
    assert_eq!(row, item, "row unchanged");
    let admin = app.admin_token().await;
    let (status, body) = send(
        app.put(&item_path(&item))
            .bearer_auth(&admin)
            .json(&json!({"title": "moderated"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["title"], "moderated");
    assert_eq!(body["owner_id"], item["owner_id"], "the owner stays");
    let (_, _, other) = app.user_with_token().await;
    let (_, other_me) = send(app.get("/api/v1/users/me").bearer_auth(&other)).await;
    let (status, body) = send(
        app.put(&item_path(&item))
            .bearer_auth(&owner)
            .json(&json!({"owner_id": other_me["id"], "description": ""})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["owner_id"], item["owner_id"],
        "owner_id is not writable (AZ-03)"
    );
    assert_eq!(body["description"], "", "\"\" is stored as given");
}

async fn delete_item_is_for_its_owner_and_superusers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, owner) = app.user_with_token().await;
    let (_, _, stranger) = app.user_with_token().await;
    let first = app.create_item(&owner, json!({"title": "first"})).await;
    let second = app.create_item(&owner, json!({"title": "second"})).await;
    assert_eq!(
        send(app.delete(&item_path(&first)).bearer_auth(&stranger)).await,
        not_yours()
    );
    let (status, _) = send(app.get(&item_path(&first)).bearer_auth(&owner)).await;
    assert_eq!(status, StatusCode::OK, "still there");
    let deleted = (
        StatusCode::OK,
        json!({"message": "Item deleted successfully"}),
    );
    assert_eq!(
        send(app.delete(&item_path(&first)).bearer_auth(&owner)).await,
        deleted
    );
    assert_eq!(
        send(app.get(&item_path(&first)).bearer_auth(&owner)).await,
        not_found()
    );
    let admin = app.admin_token().await;
    assert_eq!(
        send(app.delete(&item_path(&second)).bearer_auth(&admin)).await,
        deleted
    );
    let (_, left) = send(app.get(ITEMS).bearer_auth(&owner)).await;
    assert_eq!(left, json!({"data": [], "count": 0}));
}

async fn list_items_shows_own_items_to_users_and_all_to_superusers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, alice) = app.user_with_token().await;
    let (_, _, bob) = app.user_with_token().await;
    let admin = app.admin_token().await;
    for (token, title) in [(&alice, "a1"), (&bob, "b1"), (&alice, "a2"), (&admin, "s1")] {
        app.clock.advance(Duration::seconds(1));
        app.create_item(token, json!({"title": title})).await;
    }
    let (_, mine) = send(app.get(ITEMS).bearer_auth(&alice)).await;
    assert_eq!(titles(&mine), ["a2", "a1"], "newest first");
    assert_eq!(mine["count"], 2);
    let (_, all) = send(app.get(ITEMS).bearer_auth(&admin)).await;
    assert_eq!(titles(&all), ["s1", "a2", "b1", "a1"]);
    assert_eq!(all["count"], 4);
    let (_, page) = send(
        app.get(&format!("{ITEMS}?skip=1&limit=2"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(titles(&page), ["a2", "b1"]);
    assert_eq!(page["count"], 4, "count ignores paging");
    let (_, none) = send(app.get(&format!("{ITEMS}?limit=0")).bearer_auth(&alice)).await;
    assert_eq!(none, json!({"data": [], "count": 2}));
}

async fn items_created_in_the_same_instant_page_consistently(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    for n in 0..5 {
        app.create_item(&token, json!({"title": format!("same instant {n}")}))
            .await;
    }
    let (_, all) = send(app.get(ITEMS).bearer_auth(&token)).await;
    let mut paged = Vec::new();
    for skip in 0..5 {
        let (_, page) = send(
            app.get(&format!("{ITEMS}?skip={skip}&limit=1"))
                .bearer_auth(&token),
        )
        .await;
        paged.push(page["data"][0]["title"].as_str().unwrap().to_owned());
    }
    assert_eq!(titles(&all), paged, "a stable tie-breaker (id)");
}

async fn items_need_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for request in [
        app.get(ITEMS),
        app.post(ITEMS).json(&json!({"title": "x"})),
        app.get(&format!("/api/v1/items/{}", uuid::Uuid::new_v4())),
    ] {
        let (status, body) = send(request).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::UNAUTHORIZED,
                json!({"detail": "Not authenticated"})
            )
        );
    }
}

on_every_backend!(
    a_new_user_has_no_items,
    create_item_belongs_to_the_caller_whatever_owner_id_says,
    create_item_needs_a_title_of_1_to_255_characters,
    read_item_is_for_its_owner_and_superusers,
    unknown_items_are_404_before_ownership_is_considered,
    bad_item_ids_are_uuid_parsing_errors_at_path_id,
    update_item_applies_present_keys_only,
    update_item_by_a_stranger_is_refused_and_changes_nothing,
    delete_item_is_for_its_owner_and_superusers,
    list_items_shows_own_items_to_users_and_all_to_superusers,
    items_created_in_the_same_instant_page_consistently,
    items_need_a_token,
);
