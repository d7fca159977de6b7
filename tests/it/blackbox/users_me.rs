//! Routes 8–11 (CONTRACT.md §4.2): reading, updating and deleting one's own account and
//! changing one's own password, with their exact answers and what each leaves behind.

use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::StatusCode;
use serde_json::json;

const ME: &str = "/api/v1/users/me";
const PASSWORD: &str = "/api/v1/users/me/password";

async fn read_me_answers_the_callers_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, id, token) = app.user_with_token().await;
    let (status, body) = send(app.get(ME).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["email"], account.email.as_str());
    assert_eq!(body["is_active"], true);
    assert_eq!(body["is_superuser"], false);
    assert_eq!(body["full_name"], json!(null));
}

async fn update_me_applies_present_keys_only_and_ignores_privileged_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, id, token) = app.user_with_token().await;
    let (status, named) = send(app.patch(ME).bearer_auth(&token).json(&json!({
        "full_name": "Carol C",
        "is_superuser": true,
        "is_active": false,
        "id": "00000000-0000-0000-0000-000000000000",
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{named}");
    assert_eq!(named["full_name"], "Carol C");
    assert_eq!(named["is_superuser"], false, "AZ-03");
    assert_eq!(named["is_active"], true, "AZ-03");
    assert_eq!(named["id"], id.as_str());
    assert_eq!(named["email"], account.email.as_str());

    let (status, unchanged) = send(app.patch(ME).bearer_auth(&token).json(&json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        unchanged, named,
        "{{}} is a no-op returning the current object"
    );

    let (status, cleared) = send(
        app.patch(ME)
            .bearer_auth(&token)
            .json(&json!({"full_name": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        cleared["full_name"],
        json!(null),
        "null applies on full_name"
    );
    let (_, reread) = send(app.get(ME).bearer_auth(&token)).await;
    assert_eq!(reread, cleared);
}

async fn update_me_to_another_users_email_in_any_case_is_a_conflict(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (other, _) = app.new_user().await;
    let (account, _, token) = app.user_with_token().await;
    let (status, body) = send(
        app.patch(ME)
            .bearer_auth(&token)
            .json(&json!({"email": other.email.to_uppercase()})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({"detail": "User with this email already exists"})
        )
    );
    let (_, me) = send(app.get(ME).bearer_auth(&token)).await;
    assert_eq!(me["email"], account.email.as_str(), "row unchanged");
}

async fn update_me_to_ones_own_address_in_another_case_is_fine(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _, token) = app.user_with_token().await;
    let (local, _) = account.email.split_once('@').unwrap();
    let variant = format!("{}@EXAMPLE.com", local.to_uppercase());
    let (status, body) = send(
        app.patch(ME)
            .bearer_auth(&token)
            .json(&json!({"email": variant})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["email"],
        format!("{}@example.com", local.to_uppercase()),
        "local part kept, domain lower-cased (§5.4)"
    );
    let response = app.login(&account.email, &account.password).await;
    assert_eq!(response.status(), StatusCode::OK, "same identity (§9d)");
}

async fn update_me_moves_the_login_to_the_new_address_and_ignores_a_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _, token) = app.user_with_token().await;
    let (status, body) = send(app.patch(ME).bearer_auth(&token).json(&json!({
        "email": "Moved <Moved@Example.org>",
        "password": "sneaky-new-password",
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "Moved@example.org");
    assert_eq!(
        app.login("moved@example.org", &account.password)
            .await
            .status(),
        StatusCode::OK,
        "the password did not change (AZ-03)"
    );
    assert_eq!(
        app.login(&account.email, &account.password).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.signup(&account.email, "another-password")
            .await
            .status(),
        StatusCode::OK,
        "the old address is free"
    );
}

async fn change_password_checks_the_current_one_then_sameness(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _, token) = app.user_with_token().await;
    let change = |current: &str, new: &str| {
        app.patch(PASSWORD)
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": new}))
    };
    let wrong = send(change("not my password", "brand new password")).await;
    assert_eq!(
        wrong,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Incorrect password"})
        )
    );
    let same = send(change(&account.password, &account.password)).await;
    assert_eq!(
        same,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "New password cannot be the same as the current one"})
        )
    );
    let done = send(change(&account.password, "brand new password")).await;
    assert_eq!(
        done,
        (
            StatusCode::OK,
            json!({"message": "Password updated successfully"})
        )
    );
    let (status, _) = send(app.get(ME).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK, "the current session survives (§9f)");
    assert_eq!(
        app.login(&account.email, &account.password).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.login(&account.email, "brand new password")
            .await
            .status(),
        StatusCode::OK
    );
}

async fn change_password_validates_both_lengths_in_schema_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, _, token) = app.user_with_token().await;
    let (status, body) = send(app.patch(PASSWORD).bearer_auth(&token).json(&json!({
        "current_password": "short",
        "new_password": "x".repeat(129),
    })))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "string_too_short");
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "current_password"])
    );
    assert_eq!(body["detail"][1]["type"], "string_too_long");
    assert_eq!(body["detail"][1]["loc"], json!(["body", "new_password"]));
    assert_eq!(
        body["detail"][1]["msg"],
        "String should have at most 128 characters"
    );
    let (status, body) = send(app.patch(PASSWORD).bearer_auth(&token).json(&json!({
        "current_password": account.password,
        "new_password": "seven77",
    })))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["detail"],
        json!([{
            "type": "string_too_short",
            "loc": ["body", "new_password"],
            "msg": "String should have at least 8 characters",
            "input": "seven77",
            "ctx": {"min_length": 8}
        }])
    );
    assert_eq!(
        app.login(&account.email, &account.password).await.status(),
        StatusCode::OK,
        "nothing changed"
    );
}

async fn change_password_needs_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = send(app.patch(PASSWORD).json(&json!({
        "current_password": "whatever-1",
        "new_password": "whatever-2",
    })))
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Not authenticated"})
        )
    );
}

async fn superuser_cannot_delete_itself_through_me(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.admin_token().await;
    let (status, body) = send(app.delete(ME).bearer_auth(&token)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Super users are not allowed to delete themselves"})
        )
    );
    let (status, _) = send(app.get(ME).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK, "still there");
}

async fn delete_me_removes_the_user_and_their_items(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, _, token) = app.user_with_token().await;
    let item = app.create_item(&token, json!({"title": "mine"})).await;
    let (status, body) = send(app.delete(ME).bearer_auth(&token)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"message": "User deleted successfully"})
        )
    );
    let (status, body) = send(app.get(ME).bearer_auth(&token)).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "User not found"})),
        "the old token names a user that is gone"
    );
    let item_path = format!("/api/v1/items/{}", item["id"].as_str().unwrap());
    let (status, _) = send(app.get(&item_path).bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "items go with their owner");
    assert_eq!(
        app.login(&account.email, &account.password).await.status(),
        StatusCode::BAD_REQUEST
    );
    let again = app.signup(&account.email, &account.password).await;
    assert_eq!(again.status(), StatusCode::OK, "the address is free again");
}

on_every_backend!(
    read_me_answers_the_callers_account,
    update_me_applies_present_keys_only_and_ignores_privileged_fields,
    update_me_to_another_users_email_in_any_case_is_a_conflict,
    update_me_to_ones_own_address_in_another_case_is_fine,
    update_me_moves_the_login_to_the_new_address_and_ignores_a_password,
    change_password_checks_the_current_one_then_sameness,
    change_password_validates_both_lengths_in_schema_order,
    change_password_needs_a_token,
    superuser_cannot_delete_itself_through_me,
    delete_me_removes_the_user_and_their_items,
);
