//! The OpenAPI document (CONTRACT.md §7) as served and as committed: operationIds and
//! schema names the generated client depends on, security markings, media types, nullable
//! fields, trailing-slash paths, and route 23's absence in production.

use std::collections::BTreeSet;

use gatehouse_http::HttpConfig;
use gatehouse_tests::app::{Backend, Options, TestApp, send};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The 23 legacy operations by route number: path, method, operationId, secured.
const LEGACY: [(&str, &str, &str, bool); 23] = [
    (
        "/api/v1/login/access-token",
        "post",
        "login-login_access_token",
        false,
    ),
    ("/api/v1/login/test-token", "post", "login-test_token", true),
    (
        "/api/v1/password-recovery/{email}",
        "post",
        "login-recover_password",
        false,
    ),
    (
        "/api/v1/reset-password/",
        "post",
        "login-reset_password",
        false,
    ),
    (
        "/api/v1/password-recovery-html-content/{email}",
        "post",
        "login-recover_password_html_content",
        true,
    ),
    ("/api/v1/users/", "get", "users-read_users", true),
    ("/api/v1/users/", "post", "users-create_user", true),
    ("/api/v1/users/me", "get", "users-read_user_me", true),
    ("/api/v1/users/me", "patch", "users-update_user_me", true),
    ("/api/v1/users/me", "delete", "users-delete_user_me", true),
    (
        "/api/v1/users/me/password",
        "patch",
        "users-update_password_me",
        true,
    ),
    ("/api/v1/users/signup", "post", "users-register_user", false),
    (
        "/api/v1/users/{user_id}",
        "get",
        "users-read_user_by_id",
        true,
    ),
    (
        "/api/v1/users/{user_id}",
        "patch",
        "users-update_user",
        true,
    ),
    (
        "/api/v1/users/{user_id}",
        "delete",
        "users-delete_user",
        true,
    ),
    ("/api/v1/items/", "get", "items-read_items", true),
    ("/api/v1/items/", "post", "items-create_item", true),
    ("/api/v1/items/{id}", "get", "items-read_item", true),
    ("/api/v1/items/{id}", "put", "items-update_item", true),
    ("/api/v1/items/{id}", "delete", "items-delete_item", true),
    (
        "/api/v1/utils/test-email/",
        "post",
        "utils-test_email",
        true,
    ),
    (
        "/api/v1/utils/health-check/",
        "get",
        "utils-health_check",
        false,
    ),
    (
        "/api/v1/private/users/",
        "post",
        "private-create_user",
        false,
    ),
];

/// Gatehouse's own operations (CONTRACT.md §9h, §10).
const OWN: [&str; 8] = [
    "auth-login",
    "auth-refresh",
    "auth-logout",
    "auth-list_sessions",
    "auth-revoke_session",
    "auth-jwks",
    "health-live",
    "health-ready",
];

const SCHEMAS: [&str; 18] = [
    "Token",
    "Message",
    "UserPublic",
    "UsersPublic",
    "ItemPublic",
    "ItemsPublic",
    "UserCreate",
    "UserRegister",
    "UserUpdate",
    "UserUpdateMe",
    "UpdatePassword",
    "NewPassword",
    "ItemCreate",
    "ItemUpdate",
    "PrivateUserCreate",
    "HTTPValidationError",
    "ValidationError",
    "Body_login-login_access_token",
];

/// Fields the contract makes "or null", by schema.
const NULLABLE: [(&str, &[&str]); 9] = [
    ("UserPublic", &["full_name", "created_at"]),
    ("ItemPublic", &["description", "created_at"]),
    ("UserCreate", &["full_name"]),
    ("UserRegister", &["full_name"]),
    (
        "UserUpdate",
        &[
            "email",
            "is_active",
            "is_superuser",
            "full_name",
            "password",
        ],
    ),
    ("UserUpdateMe", &["full_name", "email"]),
    ("ItemCreate", &["description"]),
    ("ItemUpdate", &["title", "description"]),
    (
        "Body_login-login_access_token",
        &["grant_type", "client_id", "client_secret"],
    ),
];

fn committed() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json"))
        .expect("the committed document is JSON")
}

async fn served(app: &TestApp) -> Value {
    let (status, document) = send(app.get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    document
}

fn operations(document: &Value) -> impl Iterator<Item = (&str, &str, &Value)> {
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .iter()
                .map(move |(method, op)| (path.as_str(), method.as_str(), op))
        })
}

fn operation_ids(document: &Value) -> BTreeSet<&str> {
    operations(document)
        .map(|(_, _, op)| op["operationId"].as_str().expect("operationId"))
        .collect()
}

/// Every check of CONTRACT.md §7 that a full (development) document must pass.
fn assert_contract_document(document: &Value) {
    assert_eq!(document["info"]["title"], "Gatehouse", "PROJECT_NAME");
    let expected: BTreeSet<&str> = LEGACY.iter().map(|(_, _, id, _)| *id).chain(OWN).collect();
    assert_eq!(operation_ids(document), expected);
    for (path, method, id, secured) in LEGACY {
        let op = &document["paths"][path][method];
        assert_eq!(op["operationId"], id, "{method} {path}");
        if secured {
            assert_eq!(
                op["security"],
                json!([{"OAuth2PasswordBearer": []}]),
                "{id} is secured"
            );
        } else {
            assert!(op.get("security").is_none(), "{id} is unsecured: {op}");
        }
    }
    for slash_less in [
        "/api/v1/users",
        "/api/v1/items",
        "/api/v1/reset-password",
        "/api/v1/utils/test-email",
        "/api/v1/utils/health-check",
        "/api/v1/private/users",
    ] {
        assert!(
            document["paths"].get(slash_less).is_none(),
            "{slash_less} is documented with its trailing slash"
        );
    }

    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for name in SCHEMAS {
        assert!(schemas.contains_key(name), "schema {name}");
    }
    for (schema, fields) in NULLABLE {
        for field in fields {
            assert_eq!(
                schemas[schema]["properties"][field]["nullable"], true,
                "{schema}.{field}"
            );
        }
    }
    assert_eq!(
        schemas["UserPublic"]["properties"]["email"].get("nullable"),
        None
    );
    let required: BTreeSet<&str> = schemas["ValidationError"]["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(["loc", "msg", "type"].iter().all(|f| required.contains(f)));
    assert!(!required.contains("input") && !required.contains("ctx"));
    assert_eq!(
        schemas["HTTPValidationError"]["properties"]["detail"]["items"]["$ref"],
        "#/components/schemas/ValidationError"
    );

    let login = &document["paths"]["/api/v1/login/access-token"]["post"];
    assert_eq!(
        login["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/Body_login-login_access_token"
    );
    let test_email = &document["paths"]["/api/v1/utils/test-email/"]["post"]["responses"];
    assert!(test_email.get("201").is_some(), "route 21 documents 201");
    assert!(test_email.get("200").is_none());
    let health = &document["paths"]["/api/v1/utils/health-check/"]["get"]["responses"]["200"];
    let media = health["content"]
        .as_object()
        .expect("content")
        .values()
        .next()
        .unwrap();
    assert_eq!(
        media["schema"]["type"], "boolean",
        "route 22 returns a boolean"
    );
    let preview = &document["paths"]["/api/v1/password-recovery-html-content/{email}"]["post"]["responses"]
        ["200"];
    assert!(
        preview["content"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("text/html")),
        "route 5 answers HTML: {preview}"
    );

    let scheme = &document["components"]["securitySchemes"]["OAuth2PasswordBearer"];
    assert_eq!(scheme["type"], "oauth2");
    assert_eq!(
        scheme["flows"]["password"]["tokenUrl"],
        "/api/v1/login/access-token"
    );
    assert_eq!(scheme["flows"]["password"]["scopes"], json!({}));

    for (path, method, name) in [
        ("/api/v1/users/{user_id}", "get", "user_id"),
        ("/api/v1/items/{id}", "get", "id"),
        ("/api/v1/password-recovery/{email}", "post", "email"),
        ("/api/v1/users/", "get", "skip"),
        ("/api/v1/users/", "get", "limit"),
        ("/api/v1/utils/test-email/", "post", "email_to"),
    ] {
        let parameters = document["paths"][path][method]["parameters"]
            .as_array()
            .expect("parameters");
        assert!(
            parameters.iter().any(|p| p["name"] == name),
            "{method} {path} takes {name}"
        );
    }
}

async fn served_document_meets_the_contract(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_contract_document(&served(&app).await);
}

async fn committed_document_meets_the_contract_and_matches_the_served_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let committed = committed();
    assert_contract_document(&committed);
    assert_eq!(
        served(&app).await,
        committed,
        "openapi/openapi.json is stale: run `gatehouse openapi`"
    );
}

async fn production_has_no_private_route_in_the_document_or_the_router(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            http: HttpConfig {
                private_routes: false,
                ..HttpConfig::default()
            },
            ..Options::default()
        },
    )
    .await;
    let document = served(&app).await;
    assert!(document["paths"].get("/api/v1/private/users/").is_none());
    let ids = operation_ids(&document);
    assert!(!ids.contains("private-create_user"));
    assert_eq!(ids.len(), LEGACY.len() - 1 + OWN.len());
    let (status, body) = send(app.post("/api/v1/private/users/").json(&json!({
        "email": "dev@example.com",
        "password": "password",
        "full_name": "Dev",
    })))
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );
    assert_eq!(
        app.login("dev@example.com", "password").await.status(),
        StatusCode::BAD_REQUEST,
        "nothing written"
    );
}

storage_independent!(
    served_document_meets_the_contract,
    committed_document_meets_the_contract_and_matches_the_served_one,
    production_has_no_private_route_in_the_document_or_the_router,
);
