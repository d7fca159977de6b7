//! Routes 6, 7 and 13–15 (CONTRACT.md §4.2): the superuser's user administration, with its
//! order-of-checks quirks (§2.4: privilege before existence, 403 before 422 on PATCH), the
//! last-superuser guard (§9j), deactivation (§3.1) and delete cascades.

use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

const USERS: &str = "/api/v1/users/";

fn user_path(id: &str) -> String {
    format!("/api/v1/users/{id}")
}

fn privileges() -> (StatusCode, Value) {
    (
        StatusCode::FORBIDDEN,
        json!({"detail": "The user doesn't have enough privileges"}),
    )
}

fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn emails(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect()
}

async fn list_users_is_for_superusers_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    assert_eq!(send(app.get(USERS).bearer_auth(&token)).await, privileges());
}

async fn list_users_is_newest_first_and_counts_everyone_whatever_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    for name in ["first", "second", "third"] {
        app.clock.advance(Duration::seconds(1));
        app.create_user(
            &admin,
            json!({"email": format!("{name}@example.com"), "password": "password-123"}),
        )
        .await;
    }
    let (status, all) = send(app.get(USERS).bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        emails(&all),
        [
            "third@example.com",
            "second@example.com",
            "first@example.com",
            "admin@example.com"
        ]
    );
    assert_eq!(all["count"], 4);
    let (_, page) = send(
        app.get(&format!("{USERS}?skip=1&limit=2"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(emails(&page), ["second@example.com", "first@example.com"]);
    assert_eq!(page["count"], 4, "count ignores paging");
    let (_, none) = send(app.get(&format!("{USERS}?limit=0")).bearer_auth(&admin)).await;
    assert_eq!(none, json!({"data": [], "count": 4}));
    let (_, beyond) = send(app.get(&format!("{USERS}?skip=10")).bearer_auth(&admin)).await;
    assert_eq!(beyond, json!({"data": [], "count": 4}));
}

async fn create_user_honours_the_flags_and_ignores_unknown_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let user = app
        .create_user(
            &admin,
            json!({
                "email": "boss@example.com",
                "password": "boss-password",
                "confirm_password": "something else entirely",
                "full_name": "Big Boss",
                "is_superuser": true,
                "is_active": true,
            }),
        )
        .await;
    assert_eq!(user["email"], "boss@example.com");
    assert_eq!(user["is_superuser"], true);
    assert_eq!(user["is_active"], true);
    assert_eq!(user["full_name"], "Big Boss");
    let defaults = app
        .create_user(
            &admin,
            json!({"email": "plain@example.com", "password": "plain-password"}),
        )
        .await;
    assert_eq!(defaults["is_superuser"], false);
    assert_eq!(defaults["is_active"], true);
    assert_eq!(defaults["full_name"], json!(null));
    let boss = app.token("boss@example.com", "boss-password").await;
    let (status, _) = send(app.get(USERS).bearer_auth(&boss)).await;
    assert_eq!(status, StatusCode::OK, "the new superuser is one");
}

async fn create_user_with_a_taken_email_in_any_case_ends_with_a_period(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (status, body) = send(
        app.post(USERS)
            .bearer_auth(&admin)
            .json(&json!({"email": "ADMIN@example.COM", "password": "password-123"})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "The user with this email already exists in the system."})
        )
    );
    let (_, all) = send(app.get(USERS).bearer_auth(&admin)).await;
    assert_eq!(all["count"], 1, "nothing written");
}

async fn create_user_is_for_superusers_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let request = app
        .post(USERS)
        .bearer_auth(&token)
        .json(&json!({"email": "x@example.com", "password": "password-123"}));
    assert_eq!(send(request).await, privileges());
    let admin = app.admin_token().await;
    let (_, all) = send(app.get(USERS).bearer_auth(&admin)).await;
    assert_eq!(all["count"], 2, "nothing written");
}

async fn read_user_by_id_own_id_is_fine_for_anyone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (account, id, token) = app.user_with_token().await;
    let (status, body) = send(app.get(&user_path(&id)).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["email"], account.email.as_str());
}

async fn read_user_by_id_checks_privilege_before_existence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, other) = app.new_user().await;
    let (_, _, token) = app.user_with_token().await;
    let existing = send(app.get(&user_path(&other)).bearer_auth(&token)).await;
    let unknown = send(app.get(&user_path(&random_id())).bearer_auth(&token)).await;
    assert_eq!(existing, privileges());
    assert_eq!(unknown, privileges(), "identical: existence does not leak");
    let admin = app.admin_token().await;
    let (status, body) = send(app.get(&user_path(&other)).bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], other.as_str());
    let (status, body) = send(app.get(&user_path(&random_id())).bearer_auth(&admin)).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "User not found"}))
    );
}

async fn bad_user_id_is_422_on_get_but_403_on_patch_for_non_superusers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let (status, body) = send(app.get(&user_path("not-a-uuid")).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "uuid_parsing",
            "loc": ["path", "user_id"],
            "msg": "Input should be a valid UUID, invalid character: found `n` at 1",
            "input": "not-a-uuid",
            "ctx": {"error": "invalid character: found `n` at 1"}
        }]})
    );
    let patch = app
        .patch(&user_path("not-a-uuid"))
        .bearer_auth(&token)
        .json(&json!({"full_name": "x"}));
    assert_eq!(send(patch).await, privileges(), "step 3 before step 4");
    let delete = app.delete(&user_path("not-a-uuid")).bearer_auth(&token);
    assert_eq!(send(delete).await, privileges());
    let admin = app.admin_token().await;
    let (status, body) = send(
        app.patch(&user_path("not-a-uuid"))
            .bearer_auth(&admin)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "uuid_parsing");
}

async fn update_user_applies_present_keys_and_answers_404_for_unknown_ids(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id) = app.new_user().await;
    let (status, named) = send(
        app.patch(&user_path(&id))
            .bearer_auth(&admin)
            .json(&json!({"full_name": "Named", "is_superuser": "yes"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{named}");
    assert_eq!(named["full_name"], "Named");
    assert_eq!(named["is_superuser"], true, "lax boolean");
    assert_eq!(named["email"], account.email.as_str());
    let (status, same) = send(
        app.patch(&user_path(&id))
            .bearer_auth(&admin)
            .json(&json!({})),
    )
    .await;
    assert_eq!((status, &same), (StatusCode::OK, &named));
    let (status, cleared) = send(
        app.patch(&user_path(&id))
            .bearer_auth(&admin)
            .json(&json!({"full_name": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared["full_name"], json!(null));
    let (status, body) = send(
        app.patch(&user_path(&random_id()))
            .bearer_auth(&admin)
            .json(&json!({"full_name": "ghost"})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "The user with this id does not exist in the system"})
        )
    );
}

async fn update_user_to_another_users_email_is_a_conflict(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id) = app.new_user().await;
    let (status, body) = send(
        app.patch(&user_path(&id))
            .bearer_auth(&admin)
            .json(&json!({"email": "Admin@Example.com"})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({"detail": "User with this email already exists"})
        )
    );
    let (_, row) = send(app.get(&user_path(&id)).bearer_auth(&admin)).await;
    assert_eq!(row["email"], account.email.as_str(), "row unchanged");
}

async fn update_user_to_its_own_address_in_another_case_is_fine(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id) = app.new_user().await;
    let shouted = account.email.to_uppercase();
    let (status, body) = send(
        app.patch(&user_path(&id))
            .bearer_auth(&admin)
            .json(&json!({"email": shouted})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (local, _) = shouted.split_once('@').unwrap();
    assert_eq!(body["email"], format!("{local}@example.com"));
}

async fn update_user_password_lets_the_user_in_with_it_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id, token) = app.user_with_token().await;
    let (status, _) = send(
        app.patch(&user_path(&id))
            .bearer_auth(&admin)
            .json(&json!({"password": "set-by-admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.login(&account.email, &account.password).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.login(&account.email, "set-by-admin").await.status(),
        StatusCode::OK
    );
    let (status, _) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an admin-set password revokes (§9f)"
    );
}

async fn last_active_superuser_cannot_be_demoted_or_deactivated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (_, me) = send(app.get("/api/v1/users/me").bearer_auth(&admin)).await;
    let admin_id = me["id"].as_str().unwrap().to_owned();
    let guard = (
        StatusCode::BAD_REQUEST,
        json!({"detail": "The last active superuser cannot be demoted or deactivated"}),
    );
    for change in [
        json!({"is_superuser": false}),
        json!({"is_active": false}),
        json!({"is_superuser": false, "full_name": "Demoted"}),
    ] {
        let request = app
            .patch(&user_path(&admin_id))
            .bearer_auth(&admin)
            .json(&change);
        assert_eq!(send(request).await, guard, "{change}");
    }
    let (status, row) = send(app.get("/api/v1/users/me").bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(row, me, "row unchanged");

    // With a second active superuser the first may step down.
    app.create_user(
        &admin,
        json!({"email": "deputy@example.com", "password": "deputy-pass", "is_superuser": true}),
    )
    .await;
    let (status, demoted) = send(
        app.patch(&user_path(&admin_id))
            .bearer_auth(&admin)
            .json(&json!({"is_superuser": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(demoted["is_superuser"], false);
}

async fn an_inactive_superuser_does_not_count_for_the_last_superuser_guard(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (_, me) = send(app.get("/api/v1/users/me").bearer_auth(&admin)).await;
    let dormant = app
        .create_user(
            &admin,
            json!({
                "email": "dormant@example.com",
                "password": "dormant-pass",
                "is_superuser": true,
                "is_active": false,
            }),
        )
        .await;
    let (status, body) = send(
        app.patch(&user_path(me["id"].as_str().unwrap()))
            .bearer_auth(&admin)
            .json(&json!({"is_superuser": false})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "The last active superuser cannot be demoted or deactivated"})
        )
    );
    // Deactivating the dormant one, or another active one while we remain, is fine.
    let (status, _) = send(
        app.patch(&user_path(dormant["id"].as_str().unwrap()))
            .bearer_auth(&admin)
            .json(&json!({"is_superuser": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let deputy = app
        .create_user(
            &admin,
            json!({"email": "deputy@example.com", "password": "deputy-pass", "is_superuser": true}),
        )
        .await;
    let (status, body) = send(
        app.patch(&user_path(deputy["id"].as_str().unwrap()))
            .bearer_auth(&admin)
            .json(&json!({"is_active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["is_active"], false);
}

async fn deactivated_users_get_inactive_user_and_must_sign_in_again_when_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id, token) = app.user_with_token().await;
    let (status, body) = send(
        app.patch(&user_path(&id))
            .bearer_auth(&admin)
            .json(&json!({"is_active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["is_active"], false);
    let inactive = (StatusCode::BAD_REQUEST, json!({"detail": "Inactive user"}));
    assert_eq!(
        send(app.get("/api/v1/users/me").bearer_auth(&token)).await,
        inactive
    );
    let login = send(app.post("/api/v1/login/access-token").form(&[
        ("username", account.email.as_str()),
        ("password", account.password.as_str()),
    ]))
    .await;
    assert_eq!(login, inactive);

    let (status, _) = send(
        app.patch(&user_path(&id))
            .bearer_auth(&admin)
            .json(&json!({"is_active": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "sessions ended (§3.1)");
    let fresh = app.token(&account.email, &account.password).await;
    let (status, _) = send(app.get("/api/v1/users/me").bearer_auth(&fresh)).await;
    assert_eq!(status, StatusCode::OK);
}

async fn delete_user_cascades_and_guards_self_and_unknown_ids(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (_, me) = send(app.get("/api/v1/users/me").bearer_auth(&admin)).await;
    let (status, body) = send(
        app.delete(&user_path(me["id"].as_str().unwrap()))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Super users are not allowed to delete themselves"})
        )
    );
    let (status, body) = send(app.delete(&user_path(&random_id())).bearer_auth(&admin)).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "User not found"}))
    );

    let (account, id, token) = app.user_with_token().await;
    let item = app.create_item(&token, json!({"title": "doomed"})).await;
    let (status, body) = send(app.delete(&user_path(&id)).bearer_auth(&admin)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"message": "User deleted successfully"})
        )
    );
    assert_eq!(
        send(app.get("/api/v1/users/me").bearer_auth(&token)).await,
        (StatusCode::NOT_FOUND, json!({"detail": "User not found"}))
    );
    let (_, items) = send(app.get("/api/v1/items/").bearer_auth(&admin)).await;
    assert_eq!(items, json!({"data": [], "count": 0}), "{item} went too");
    assert_eq!(
        app.login(&account.email, &account.password).await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn delete_user_may_remove_another_superuser_but_not_for_non_superusers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let deputy = app
        .create_user(
            &admin,
            json!({"email": "deputy@example.com", "password": "deputy-pass", "is_superuser": true}),
        )
        .await;
    let deputy_path = user_path(deputy["id"].as_str().unwrap());
    let (_, _, token) = app.user_with_token().await;
    assert_eq!(
        send(app.delete(&deputy_path).bearer_auth(&token)).await,
        privileges()
    );
    assert_eq!(
        send(app.delete(&user_path(&random_id())).bearer_auth(&token)).await,
        privileges(),
        "privilege before existence"
    );
    let (status, _) = send(app.delete(&deputy_path).bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(app.get(&deputy_path).bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_every_backend!(
    list_users_is_for_superusers_only,
    list_users_is_newest_first_and_counts_everyone_whatever_the_page,
    create_user_honours_the_flags_and_ignores_unknown_fields,
    create_user_with_a_taken_email_in_any_case_ends_with_a_period,
    create_user_is_for_superusers_only,
    read_user_by_id_own_id_is_fine_for_anyone,
    read_user_by_id_checks_privilege_before_existence,
    bad_user_id_is_422_on_get_but_403_on_patch_for_non_superusers,
    update_user_applies_present_keys_and_answers_404_for_unknown_ids,
    update_user_to_another_users_email_is_a_conflict,
    update_user_to_its_own_address_in_another_case_is_fine,
    update_user_password_lets_the_user_in_with_it_only,
    last_active_superuser_cannot_be_demoted_or_deactivated,
    an_inactive_superuser_does_not_count_for_the_last_superuser_guard,
    deactivated_users_get_inactive_user_and_must_sign_in_again_when_back,
    delete_user_cascades_and_guards_self_and_unknown_ids,
    delete_user_may_remove_another_superuser_but_not_for_non_superusers,
);
