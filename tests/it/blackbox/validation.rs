//! FastAPI's 422 body (CONTRACT.md §6), row by row, plus the body rules of §2.3 (content
//! types, lax booleans, unknown fields), the order of checks of §2.4 and the explicit
//! nulls of §9a.

use gatehouse_tests::app::{Backend, TestApp, keys, send};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SIGNUP: &str = "/api/v1/users/signup";

/// The `detail` list of a 422, failing the test on any other answer.
async fn errors(request: reqwest::RequestBuilder) -> Vec<Value> {
    let (status, body) = send(request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    body["detail"].as_array().expect("a list of errors").clone()
}

async fn the_error_object_keys_come_in_pydantic_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let with_ctx = errors(
        app.post(SIGNUP)
            .json(&json!({"email": "a@example.com", "password": "weak"})),
    )
    .await;
    assert_eq!(keys(&with_ctx[0]), ["type", "loc", "msg", "input", "ctx"]);
    let without_ctx = errors(
        app.post(SIGNUP)
            .json(&json!({"email": 1, "password": "long enough"})),
    )
    .await;
    assert_eq!(keys(&without_ctx[0]), ["type", "loc", "msg", "input"]);
}

async fn missing_body_is_reported_at_body_with_null_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let found = errors(app.post(SIGNUP)).await;
    assert_eq!(
        found,
        [json!({"type": "missing", "loc": ["body"], "msg": "Field required", "input": null})]
    );
}

async fn string_type_reports_the_non_string_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let found = errors(
        app.post(SIGNUP)
            .json(&json!({"email": 123, "password": "password-123"})),
    )
    .await;
    assert_eq!(
        found,
        [
            json!({"type": "string_type", "loc": ["body", "email"], "msg": "Input should be a valid string", "input": 123})
        ]
    );
}

async fn over_long_texts_are_string_too_long_and_over_long_emails_value_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let found = errors(app.post(SIGNUP).json(&json!({
        "email": format!("{}@example.com", "a".repeat(250)),
        "password": "password-123",
        "full_name": "n".repeat(256),
    })))
    .await;
    assert_eq!(found.len(), 2);
    assert_eq!(found[0]["type"], "value_error");
    assert_eq!(found[0]["loc"], json!(["body", "email"]));
    assert!(
        found[0]["msg"]
            .as_str()
            .unwrap()
            .starts_with("value is not a valid email address: ")
    );
    assert_eq!(found[1]["type"], "string_too_long");
    assert_eq!(found[1]["loc"], json!(["body", "full_name"]));
    assert_eq!(found[1]["msg"], "String should have at most 255 characters");
    assert_eq!(found[1]["ctx"], json!({"max_length": 255}));
    let ok = send(app.post(SIGNUP).json(&json!({
        "email": "name255@example.com",
        "password": "password-123",
        "full_name": "n".repeat(255),
    })))
    .await;
    assert_eq!(ok.0, StatusCode::OK, "255 is allowed (IN-03)");
}

async fn other_bad_addresses_keep_the_value_error_prefix(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for email in [
        "",
        "@example.com",
        "a@",
        "a b@example.com",
        "a..b@example.com",
    ] {
        let found = errors(
            app.post(SIGNUP)
                .json(&json!({"email": email, "password": "password-123"})),
        )
        .await;
        assert_eq!(found[0]["type"], "value_error", "{email:?}");
        assert_eq!(found[0]["input"], email);
        let reason = found[0]["ctx"]["reason"].as_str().unwrap();
        assert_eq!(
            found[0]["msg"],
            format!("value is not a valid email address: {reason}"),
            "{email:?}"
        );
    }
}

async fn non_json_content_types_and_non_objects_are_model_attributes_type(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let text = r#"{"email":"plain@example.com","password":"password-123"}"#;
    let as_plain = errors(
        app.post(SIGNUP)
            .header("content-type", "text/plain")
            .body(text),
    )
    .await;
    assert_eq!(
        as_plain,
        [json!({
            "type": "model_attributes_type",
            "loc": ["body"],
            "msg": "Input should be a valid dictionary or object to extract fields from",
            "input": text
        })]
    );
    let untyped = errors(app.post(SIGNUP).body(text)).await;
    assert_eq!(untyped[0]["type"], "model_attributes_type");
    for (body, input) in [("[]", json!([])), ("42", json!(42)), ("\"s\"", json!("s"))] {
        let found = errors(
            app.post(SIGNUP)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(found[0]["type"], "model_attributes_type", "{body}");
        assert_eq!(found[0]["input"], input, "{body}");
    }
    let vendor = send(
        app.post(SIGNUP)
            .header("content-type", "application/vnd.api+json; charset=utf-8")
            .body(text),
    )
    .await;
    assert_eq!(
        vendor.0,
        StatusCode::OK,
        "application/*+json is JSON: {}",
        vendor.1
    );
}

async fn malformed_json_is_json_invalid_even_without_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let found = errors(
        app.patch("/api/v1/users/me")
            .header("content-type", "application/json")
            .body(r#"{"email": "#),
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["type"], "json_invalid");
    assert_eq!(found[0]["msg"], "JSON decode error");
    assert_eq!(
        found[0]["loc"],
        json!(["body", 10]),
        "Python's offset: the end of the input, where a value was expected"
    );
    assert_eq!(found[0]["input"], json!({}));
    // Not JSON at all is judged after authentication (§2.4 steps 1, 2 and 4).
    let (status, _) = send(
        app.patch("/api/v1/users/me")
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn int_parsing_and_paging_bounds_are_query_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let query = |q: &str| app.get(&format!("/api/v1/users/?{q}")).bearer_auth(&admin);
    assert_eq!(
        errors(query("skip=abc")).await,
        [json!({
            "type": "int_parsing",
            "loc": ["query", "skip"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "abc"
        })]
    );
    assert_eq!(
        errors(query("skip=-1")).await,
        [json!({
            "type": "greater_than_equal",
            "loc": ["query", "skip"],
            "msg": "Input should be greater than or equal to 0",
            "input": "-1",
            "ctx": {"ge": 0}
        })]
    );
    let limit = errors(query("limit=1001")).await;
    assert_eq!(limit[0]["type"], "less_than_equal");
    assert_eq!(limit[0]["loc"], json!(["query", "limit"]));
    assert_eq!(
        limit[0]["msg"],
        "Input should be less than or equal to 1000"
    );
    assert_eq!(limit[0]["ctx"], json!({"le": 1000}));
    let both = errors(query("limit=-1&skip=x")).await;
    assert_eq!(
        both.iter().map(|e| e["loc"][1].clone()).collect::<Vec<_>>(),
        [json!("skip"), json!("limit")],
        "query parameters in declaration order"
    );
    assert_eq!(both[1]["type"], "greater_than_equal");
}

async fn booleans_are_lax(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (_, id) = app.new_user().await;
    let path = format!("/api/v1/users/{id}");
    for (given, meaning) in [
        (json!("yes"), true),
        (json!("OFF"), false),
        (json!("T"), true),
        (json!("n"), false),
        (json!(1), true),
        (json!(0.0), false),
        (json!("1"), true),
        (json!("False"), false),
        (json!(true), true),
    ] {
        let (status, body) = send(
            app.patch(&path)
                .bearer_auth(&admin)
                .json(&json!({"is_superuser": given})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{given}");
        assert_eq!(body["is_superuser"], meaning, "{given}");
    }
    let parsing = errors(
        app.patch(&path)
            .bearer_auth(&admin)
            .json(&json!({"is_active": "maybe"})),
    )
    .await;
    assert_eq!(
        parsing,
        [json!({
            "type": "bool_parsing",
            "loc": ["body", "is_active"],
            "msg": "Input should be a valid boolean, unable to interpret input",
            "input": "maybe"
        })]
    );
    let two = errors(
        app.patch(&path)
            .bearer_auth(&admin)
            .json(&json!({"is_active": 2})),
    )
    .await;
    assert_eq!(two[0]["type"], "bool_parsing");
    let typed = errors(
        app.patch(&path)
            .bearer_auth(&admin)
            .json(&json!({"is_active": [true]})),
    )
    .await;
    assert_eq!(typed[0]["type"], "bool_type");
    assert_eq!(typed[0]["msg"], "Input should be a valid boolean");
}

async fn explicit_nulls_on_non_nullable_fields_are_type_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id, token) = app.user_with_token().await;
    let me = errors(
        app.patch("/api/v1/users/me")
            .bearer_auth(&token)
            .json(&json!({"email": null})),
    )
    .await;
    assert_eq!(
        me,
        [
            json!({"type": "string_type", "loc": ["body", "email"], "msg": "Input should be a valid string", "input": null})
        ]
    );
    let admin_patch = errors(
        app.patch(&format!("/api/v1/users/{id}"))
            .bearer_auth(&admin)
            .json(
                &json!({"email": null, "is_active": null, "is_superuser": null, "password": null}),
            ),
    )
    .await;
    let summary: Vec<(Value, Value)> = admin_patch
        .iter()
        .map(|e| (e["loc"][1].clone(), e["type"].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (json!("email"), json!("string_type")),
            (json!("is_active"), json!("bool_type")),
            (json!("is_superuser"), json!("bool_type")),
            (json!("password"), json!("string_type")),
        ],
        "every error, in schema order"
    );
    assert!(admin_patch.iter().all(|e| e["input"].is_null()));
    let (_, row) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(row["email"], account.email.as_str(), "nothing written");
    assert_eq!(row["is_active"], true);
}

async fn path_then_body_errors_are_reported_together(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let found = errors(
        app.patch("/api/v1/users/not-a-uuid")
            .bearer_auth(&admin)
            .json(&json!({"email": 5, "is_superuser": "maybe"})),
    )
    .await;
    let locs: Vec<Value> = found.iter().map(|e| e["loc"].clone()).collect();
    assert_eq!(
        locs,
        [
            json!(["path", "user_id"]),
            json!(["body", "email"]),
            json!(["body", "is_superuser"])
        ]
    );
}

async fn json_to_the_login_form_is_two_missing_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let found = errors(
        app.post("/api/v1/login/access-token")
            .json(&json!({"username": "admin@example.com", "password": "admin-password-1"})),
    )
    .await;
    assert_eq!(
        found,
        [
            json!({"type": "missing", "loc": ["body", "username"], "msg": "Field required", "input": null}),
            json!({"type": "missing", "loc": ["body", "password"], "msg": "Field required", "input": null}),
        ]
    );
}

async fn logout_scope_outside_the_enum_is_an_enum_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.admin_token().await;
    let found = errors(
        app.post("/api/v1/auth/logout?scope=everything")
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(
        found,
        [json!({
            "type": "enum",
            "loc": ["query", "scope"],
            "msg": "Input should be 'local', 'global' or 'others'",
            "input": "everything",
            "ctx": {"expected": "'local', 'global' or 'others'"}
        })]
    );
    let (status, _) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK, "the refused logout ended nothing");
}

storage_independent!(
    the_error_object_keys_come_in_pydantic_order,
    missing_body_is_reported_at_body_with_null_input,
    string_type_reports_the_non_string_input,
    over_long_texts_are_string_too_long_and_over_long_emails_value_errors,
    other_bad_addresses_keep_the_value_error_prefix,
    non_json_content_types_and_non_objects_are_model_attributes_type,
    malformed_json_is_json_invalid_even_without_a_token,
    int_parsing_and_paging_bounds_are_query_errors,
    booleans_are_lax,
    explicit_nulls_on_non_nullable_fields_are_type_errors,
    path_then_body_errors_are_reported_together,
    json_to_the_login_form_is_two_missing_fields,
    logout_scope_outside_the_enum_is_an_enum_error,
);
