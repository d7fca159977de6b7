//! Route 12 (CONTRACT.md §4.2): self-service signup, the email rules of §5.4, the password
//! lengths of §5.1 in code points (SECURITY.md PW-07…PW-09), unknown and duplicate keys
//! (§2.3) and case-insensitive identity (§9d).

use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SIGNUP: &str = "/api/v1/users/signup";

fn taken() -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({"detail": "The user with this email already exists in the system"}),
    )
}

/// The single 422 error of signing up with `email`.
async fn email_error(app: &TestApp, email: &str) -> Value {
    let (status, body) = send(
        app.post(SIGNUP)
            .json(&json!({"email": email, "password": "password-123"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{email:?}: {body}"
    );
    assert_eq!(body["detail"].as_array().unwrap().len(), 1, "{body}");
    body["detail"][0].clone()
}

async fn signup_creates_an_active_non_superuser_whatever_the_body_claims(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = send(app.post(SIGNUP).json(&json!({
        "email": "carol@example.com",
        "password": "carol-password",
        "full_name": "Carol",
        "is_superuser": true,
        "is_active": false,
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "carol@example.com");
    assert_eq!(body["is_active"], true);
    assert_eq!(body["is_superuser"], false, "AZ-03");
    assert_eq!(body["full_name"], "Carol");
    let token = app.token("carol@example.com", "carol-password").await;
    let (status, _) = send(app.get("/api/v1/users/").bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn signup_keeps_an_empty_full_name_as_given(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = send(app.post(SIGNUP).json(&json!({
        "email": "empty@example.com",
        "password": "password-123",
        "full_name": "",
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["full_name"], "",
        "\"\" is stored and returned as given (§5.2)"
    );
}

async fn signup_of_a_taken_email_in_any_case_has_no_period(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.signup("Alice@Example.com", "password-123")
            .await
            .status(),
        StatusCode::OK
    );
    for variant in [
        "Alice@Example.com",
        "alice@example.COM",
        "ALICE@EXAMPLE.COM",
        " alice@example.com ",
    ] {
        let response = app.signup(variant, "password-456").await;
        assert_eq!(
            gatehouse_tests::app::status_json(response).await,
            taken(),
            "{variant:?}"
        );
    }
    assert_eq!(
        app.login("alice@example.com", "password-456")
            .await
            .status(),
        StatusCode::BAD_REQUEST,
        "the first account kept its password"
    );
}

async fn signup_stores_the_address_with_the_domain_lower_cased(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (given, stored) in [
        ("  Alice.Smith@Example.COM ", "Alice.Smith@example.com"),
        ("Dan D <dan@example.com>", "dan@example.com"),
        ("ünï@EXÄMPLE.com", "ünï@exämple.com"),
    ] {
        let (status, body) = send(
            app.post(SIGNUP)
                .json(&json!({"email": given, "password": "password-123"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{given:?}: {body}");
        assert_eq!(body["email"], stored, "{given:?}");
    }
}

async fn signup_without_an_at_sign_has_the_contract_body(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        email_error(&app, "invalid-email").await,
        json!({
            "type": "value_error",
            "loc": ["body", "email"],
            "msg": "value is not a valid email address: An email address must have an @-sign.",
            "input": "invalid-email",
            "ctx": {"reason": "An email address must have an @-sign."}
        })
    );
}

async fn signup_with_a_dotless_domain_says_it_should_have_a_period(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let error = email_error(&app, "bob@localhost").await;
    assert_eq!(error["type"], "value_error");
    assert_eq!(error["loc"], json!(["body", "email"]));
    assert_eq!(
        error["msg"],
        "value is not a valid email address: The part after the @-sign is not valid. It should have a period."
    );
}

async fn signup_refuses_special_use_domains(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for email in [
        "a@printer.local",
        "a@example.test",
        "a@example.invalid",
        "a@app.localhost",
        "a@hidden.onion",
        "a@in-addr.arpa",
    ] {
        let error = email_error(&app, email).await;
        assert_eq!(error["type"], "value_error", "{email}");
        assert!(
            error["msg"]
                .as_str()
                .unwrap()
                .starts_with("value is not a valid email address: "),
            "{email}: {error}"
        );
    }
    let (_, all) = send(
        app.get("/api/v1/users/")
            .bearer_auth(&app.admin_token().await),
    )
    .await;
    assert_eq!(all["count"], 1, "nothing written");
}

async fn signup_measures_passwords_in_code_points_from_8_to_128(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let attempt = |email: &str, password: &str| {
        app.post(SIGNUP)
            .json(&json!({"email": email, "password": password}))
    };
    let (status, body) = send(attempt("seven@example.com", "1234567")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["detail"],
        json!([{
            "type": "string_too_short",
            "loc": ["body", "password"],
            "msg": "String should have at least 8 characters",
            "input": "1234567",
            "ctx": {"min_length": 8}
        }])
    );
    let long = "p".repeat(129);
    let (status, body) = send(attempt("long@example.com", &long)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "string_too_long");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "password"]));
    assert_eq!(
        body["detail"][0]["msg"],
        "String should have at most 128 characters"
    );
    assert_eq!(body["detail"][0]["ctx"], json!({"max_length": 128}));

    // Seven emoji are 28 bytes but seven characters; eight are enough.
    let (status, _) = send(attempt("emoji7@example.com", &"🔑".repeat(7))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.signup("emoji8@example.com", &"🔑".repeat(8))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("emoji8@example.com", &"🔑".repeat(8))
            .await
            .status(),
        StatusCode::OK
    );
    // 128 emoji: 512 bytes, still 128 characters.
    assert_eq!(
        app.signup("emoji128@example.com", &"🔑".repeat(128))
            .await
            .status(),
        StatusCode::OK
    );

    let eight = "        ";
    assert_eq!(
        app.signup("spaces@example.com", eight).await.status(),
        StatusCode::OK,
        "8 spaces: no composition rules (PW-07)"
    );
    let max = "m".repeat(128);
    assert_eq!(
        app.signup("max@example.com", &max).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("max@example.com", &max).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("max@example.com", &format!("{max}m"))
            .await
            .status(),
        StatusCode::BAD_REQUEST,
        "never truncated (PW-08)"
    );
    let (_, all) = send(
        app.get("/api/v1/users/?limit=0")
            .bearer_auth(&app.admin_token().await),
    )
    .await;
    assert_eq!(all["count"], 5, "the refused signups wrote nothing");
}

async fn signup_uses_the_password_exactly_as_given(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let password = "  Pässwörd 🔑  ";
    assert_eq!(
        app.signup("exact@example.com", password).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("exact@example.com", password).await.status(),
        StatusCode::OK
    );
    for variant in [password.trim(), "  Pa\u{308}sswo\u{308}rd 🔑  "] {
        assert_eq!(
            app.login("exact@example.com", variant).await.status(),
            StatusCode::BAD_REQUEST,
            "{variant:?}: no trimming or normalisation (PW-09)"
        );
    }
}

async fn signup_with_a_missing_password_reports_the_whole_object(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = send(
        app.post(SIGNUP)
            .json(&json!({"email": "ivan2@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "missing",
            "loc": ["body", "password"],
            "msg": "Field required",
            "input": {"email": "ivan2@example.com"}
        }]})
    );
}

async fn signup_with_duplicate_keys_takes_the_last_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let text =
        r#"{"email":"first@example.com","password":"password-123","email":"second@example.com"}"#;
    let (status, body) = send(
        app.post(SIGNUP)
            .header("content-type", "application/json")
            .body(text),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "second@example.com");
    assert_eq!(
        app.login("second@example.com", "password-123")
            .await
            .status(),
        StatusCode::OK,
        "stored as validated (IN-09)"
    );
    assert_eq!(
        app.signup("first@example.com", "password-123")
            .await
            .status(),
        StatusCode::OK,
        "the first value was never stored"
    );
}

on_every_backend!(
    signup_creates_an_active_non_superuser_whatever_the_body_claims,
    signup_keeps_an_empty_full_name_as_given,
    signup_of_a_taken_email_in_any_case_has_no_period,
    signup_stores_the_address_with_the_domain_lower_cased,
    signup_without_an_at_sign_has_the_contract_body,
    signup_with_a_dotless_domain_says_it_should_have_a_period,
    signup_refuses_special_use_domains,
    signup_measures_passwords_in_code_points_from_8_to_128,
    signup_uses_the_password_exactly_as_given,
    signup_with_a_missing_password_reports_the_whole_object,
    signup_with_duplicate_keys_takes_the_last_one,
);
