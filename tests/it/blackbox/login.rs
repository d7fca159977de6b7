//! Routes 1 and 2 (CONTRACT.md §4.2) and the shared bearer check (§3.1 rows 1–2): the
//! password form, its 422s, the identical login failure, inactive users, case-insensitive
//! login names (§9d) and tokens whose `sub` is not a UUID (§9a).

use gatehouse_tests::app::{Backend, TestApp, keys, send};
use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use super::forge::{hs256, jwt_part};

const LOGIN: &str = "/api/v1/login/access-token";
const TEST_TOKEN: &str = "/api/v1/login/test-token";

/// The characters the contract allows in tokens (§3.1).
fn url_safe(token: &str) -> bool {
    !token.is_empty()
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
}

fn missing_form_field(name: &str) -> Value {
    json!({"type": "missing", "loc": ["body", name], "msg": "Field required", "input": null})
}

async fn login_answers_the_token_superset_in_schema_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .login(&app.superuser.email, &app.superuser.password)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&body),
        ["access_token", "token_type", "refresh_token", "expires_in"]
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900, "15 minutes by default (§9e)");
    assert!(url_safe(body["access_token"].as_str().unwrap()));
    assert!(url_safe(body["refresh_token"].as_str().unwrap()));
}

async fn login_failure_is_identical_for_unknown_email_and_wrong_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _) = app.new_user().await;
    let expected = (
        StatusCode::BAD_REQUEST,
        json!({"detail": "Incorrect email or password"}),
    );
    let wrong = send(app.post(LOGIN).form(&[
        ("username", &*account.email),
        ("password", "wrong password"),
    ]))
    .await;
    let unknown = send(app.post(LOGIN).form(&[
        ("username", "nobody@example.com"),
        ("password", &*account.password),
    ]))
    .await;
    assert_eq!(wrong, expected);
    assert_eq!(unknown, expected);
}

async fn login_with_absent_or_empty_fields_reports_one_missing_error_per_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let both = json!({"detail": [missing_form_field("username"), missing_form_field("password")]});
    let absent = send(app.post(LOGIN).form(&[("scope", "")])).await;
    assert_eq!(absent, (StatusCode::UNPROCESSABLE_ENTITY, both.clone()));
    let empty = send(app.post(LOGIN).form(&[("username", ""), ("password", "")])).await;
    assert_eq!(empty, (StatusCode::UNPROCESSABLE_ENTITY, both));
    let no_password = send(
        app.post(LOGIN)
            .form(&[("username", app.superuser.email.as_str())]),
    )
    .await;
    assert_eq!(
        no_password,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [missing_form_field("password")]})
        )
    );
}

async fn login_with_a_grant_type_other_than_password_is_a_pattern_mismatch(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form = |grant: &'static str| {
        [
            ("grant_type", grant),
            ("username", "admin@example.com"),
            ("password", "admin-password-1"),
        ]
    };
    let (status, body) = send(app.post(LOGIN).form(&form("client_credentials"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "string_pattern_mismatch",
            "loc": ["body", "grant_type"],
            "msg": "String should match pattern '^password$'",
            "input": "client_credentials",
            "ctx": {"pattern": "^password$"}
        }]})
    );
    let (status, _) = send(app.post(LOGIN).form(&form("password"))).await;
    assert_eq!(status, StatusCode::OK);
}

async fn login_reads_forms_with_a_charset_parameter(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = format!(
        "username={}&password={}",
        app.superuser.email, app.superuser.password
    );
    let (status, tokens) = send(
        app.post(LOGIN)
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

async fn login_reads_multipart_forms_too(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form = multipart::Form::new()
        .text("username", app.superuser.email.clone())
        .text("password", app.superuser.password.clone());
    let (status, body) = send(app.post(LOGIN).multipart(form)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
}

async fn login_of_an_inactive_user_says_inactive_only_with_the_right_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    app.create_user(
        &admin,
        json!({"email": "idle@example.com", "password": "idle-password", "is_active": false}),
    )
    .await;
    let right = send(app.post(LOGIN).form(&[
        ("username", "idle@example.com"),
        ("password", "idle-password"),
    ]))
    .await;
    assert_eq!(
        right,
        (StatusCode::BAD_REQUEST, json!({"detail": "Inactive user"}))
    );
    let wrong = send(app.post(LOGIN).form(&[
        ("username", "idle@example.com"),
        ("password", "not-the-password"),
    ]))
    .await;
    assert_eq!(
        wrong,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Incorrect email or password"})
        )
    );
}

async fn login_names_match_case_insensitively_after_trimming(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.signup("Mixed.Case@Example.com", "case-password").await;
    assert_eq!(response.status(), StatusCode::OK);
    for variant in [
        "Mixed.Case@Example.com",
        "mixed.case@example.com",
        "MIXED.CASE@EXAMPLE.COM",
        "  mixed.case@example.COM  ",
    ] {
        let response = app.login(variant, "case-password").await;
        assert_eq!(response.status(), StatusCode::OK, "{variant:?}");
    }
}

async fn test_token_answers_the_current_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, id, token) = app.user_with_token().await;
    let (status, body) = send(app.post(TEST_TOKEN).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["email"], account.email.as_str());
    let (_, me) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(body, me);
}

async fn bearer_check_answers_401_without_credentials_and_403_for_bad_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.admin_token().await;
    for request in [
        app.post(TEST_TOKEN),
        app.post(TEST_TOKEN)
            .basic_auth("admin@example.com", Some("x")),
        app.post(&format!("{TEST_TOKEN}?access_token={token}")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"detail": "Not authenticated"}));
    }
    for header in ["Bearer garbage", "Bearer ", "Bearer a.b.c"] {
        let response = app
            .post(TEST_TOKEN)
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{header:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"detail": "Could not validate credentials"}));
    }
    let (status, _) = send(
        app.post(TEST_TOKEN)
            .header("authorization", format!("bEaReR {token}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the scheme is case-insensitive");
}

async fn token_whose_sub_is_not_a_uuid_is_refused_not_a_500(backend: Backend) {
    // The template answered 500 here (CONTRACT.md §9a); a missing `sub` is in tokens.rs.
    let app = TestApp::spawn(backend).await;
    let token = app.admin_token().await;
    let claims = jwt_part(&token, 1);
    let control = hs256(&claims, "at+jwt", &app.secret_key);
    let (status, _) = send(app.post(TEST_TOKEN).bearer_auth(&control)).await;
    assert_eq!(status, StatusCode::OK, "the re-signed claims are accepted");
    for sub in [json!("admin@example.com"), json!(42), json!("")] {
        let mut forged = claims.clone();
        forged["sub"] = sub.clone();
        let response = app
            .post(TEST_TOKEN)
            .bearer_auth(hs256(&forged, "at+jwt", &app.secret_key))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "sub {sub}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"detail": "Could not validate credentials"}));
    }
}

on_every_backend!(
    login_answers_the_token_superset_in_schema_order,
    login_failure_is_identical_for_unknown_email_and_wrong_password,
    login_with_absent_or_empty_fields_reports_one_missing_error_per_field,
    login_with_a_grant_type_other_than_password_is_a_pattern_mismatch,
    login_reads_forms_with_a_charset_parameter,
    login_reads_multipart_forms_too,
    login_of_an_inactive_user_says_inactive_only_with_the_right_password,
    login_names_match_case_insensitively_after_trimming,
    test_token_answers_the_current_user,
    bearer_check_answers_401_without_credentials_and_403_for_bad_tokens,
    token_whose_sub_is_not_a_uuid_is_refused_not_a_500,
);
