//! Response serialization (CONTRACT.md §2.2, §5.1, §5.2): every schema's keys in
//! declaration order, nullable fields present as `null`, datetimes with six fractional
//! digits and `Z`, lower-case UUIDs, compact JSON with raw UTF-8.

use gatehouse_tests::app::{Backend, TestApp, keys, send};
use reqwest::StatusCode;
use serde_json::{Value, json};

const USER_PUBLIC: [&str; 6] = [
    "email",
    "is_active",
    "is_superuser",
    "full_name",
    "id",
    "created_at",
];
const ITEM_PUBLIC: [&str; 5] = ["title", "description", "id", "owner_id", "created_at"];

/// `2026-11-25T15:31:41.505517Z`: UTC, microseconds, `Z`.
fn assert_contract_datetime(value: &Value) {
    let text = value.as_str().expect("a datetime string");
    let bytes = text.as_bytes();
    assert_eq!(text.len(), 27, "{text}");
    let digits = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..26];
    assert!(
        digits
            .into_iter()
            .all(|r| bytes[r].iter().all(u8::is_ascii_digit)),
        "{text}"
    );
    assert_eq!(
        [
            bytes[4], bytes[7], bytes[10], bytes[13], bytes[16], bytes[19], bytes[26]
        ],
        *b"--T::.Z",
        "{text}"
    );
}

fn assert_lower_case_uuid(value: &Value) {
    let text = value.as_str().expect("a UUID string");
    assert_eq!(uuid::Uuid::parse_str(text).unwrap().to_string(), text);
}

async fn user_public_has_its_fields_in_order_with_nulls_present(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let response = app
        .get("/api/v1/users/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let user: Value = response.json().await.unwrap();
    assert_eq!(keys(&user), USER_PUBLIC);
    assert_eq!(user["full_name"], Value::Null, "emitted, not omitted");
    assert_lower_case_uuid(&user["id"]);
    assert_contract_datetime(&user["created_at"]);
}

async fn users_public_is_data_then_count(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (status, page) = send(app.get("/api/v1/users/").bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&page), ["data", "count"]);
    assert_eq!(keys(&page["data"][0]), USER_PUBLIC);
}

async fn item_public_and_items_public_have_their_fields_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, owner, token) = app.user_with_token().await;
    let item = app.create_item(&token, json!({"title": "t"})).await;
    assert_eq!(keys(&item), ITEM_PUBLIC);
    assert_eq!(item["description"], Value::Null, "emitted, not omitted");
    assert_eq!(item["owner_id"], owner.as_str());
    assert_lower_case_uuid(&item["id"]);
    assert_contract_datetime(&item["created_at"]);
    let (_, page) = send(app.get("/api/v1/items/").bearer_auth(&token)).await;
    assert_eq!(keys(&page), ["data", "count"]);
    assert_eq!(keys(&page["data"][0]), ITEM_PUBLIC);
    assert_eq!(page["data"][0], item);
    let upper = item["id"].as_str().unwrap().to_uppercase();
    let (status, same) = send(
        app.get(&format!("/api/v1/items/{upper}"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["id"], item["id"], "ids are answered lower-case");
}

async fn message_is_a_single_message_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let item = app.create_item(&token, json!({"title": "t"})).await;
    let (status, body) = send(
        app.delete(&format!("/api/v1/items/{}", item["id"].as_str().unwrap()))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&body), ["message"]);
}

async fn json_is_compact_with_raw_utf8(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let text = app
        .post("/api/v1/items/")
        .bearer_auth(&token)
        .json(&json!({"title": "Grüße 🔑", "description": "d"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.starts_with(r#"{"title":"Grüße 🔑","description":"d","id":""#),
        "{text}"
    );
}

on_every_backend!(
    user_public_has_its_fields_in_order_with_nulls_present,
    users_public_is_data_then_count,
    item_public_and_items_public_have_their_fields_in_order,
    message_is_a_single_message_key,
    json_is_compact_with_raw_utf8,
);
