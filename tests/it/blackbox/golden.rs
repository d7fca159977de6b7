//! The golden sequence of CONTRACT.md §12, steps 1–8, 12, 14 and 15, in order on one fresh
//! instance; every answer is also checked for the §9i headers (step 15).

use gatehouse_tests::app::{Backend, TestApp};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// Sends `request` and checks the §9i headers on the answer: the security headers and a
/// request id always, `Cache-Control: no-store` on login, signup and authenticated calls.
async fn step(request: RequestBuilder) -> (StatusCode, Value) {
    let (client, request) = request.build_split();
    let request = request.expect("a valid request");
    let sensitive = request.headers().contains_key("authorization")
        || ["/login/", "/signup"]
            .iter()
            .any(|p| request.url().path().contains(p));
    let what = format!("{} {}", request.method(), request.url().path());
    let response = client.execute(request).await.expect("request sent");
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert!(!headers["x-request-id"].is_empty(), "{what}: a request id");
    if sensitive {
        assert_eq!(headers["cache-control"], "no-store", "{what}");
    }
    let status = response.status();
    let location = headers.get("location").cloned();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| match location {
        Some(l) => json!({"location": l.to_str().unwrap()}),
        None => Value::Null,
    });
    (status, body)
}

fn login_form(app: &TestApp, email: &str, password: &str) -> RequestBuilder {
    app.post("/api/v1/login/access-token")
        .form(&[("username", email), ("password", password)])
}

async fn golden_sequence_legacy_steps_and_hardening_steps_12_14_15(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // 1. Superuser form login.
    let (status, tokens) = step(login_form(
        &app,
        &app.superuser.email,
        &app.superuser.password,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tokens["token_type"], "bearer");
    assert!(tokens["refresh_token"].is_string());
    assert!(tokens["expires_in"].is_i64());
    let admin = tokens["access_token"].as_str().unwrap().to_owned();

    // 2. Carol signs up.
    let (status, carol) = step(app.post("/api/v1/users/signup").json(&json!({
        "email": "carol@example.com",
        "password": "carol-password",
        "full_name": "Carol",
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(carol["is_superuser"], false);
    assert_eq!(carol["email"], "carol@example.com");
    let carol_id = carol["id"].as_str().unwrap().to_owned();

    // 3. Carol logs in; no admin list for her; no items yet.
    let (status, tokens) = step(login_form(&app, "carol@example.com", "carol-password")).await;
    assert_eq!(status, StatusCode::OK);
    let carol_token = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        step(app.get("/api/v1/users/").bearer_auth(&carol_token)).await,
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "The user doesn't have enough privileges"})
        )
    );
    assert_eq!(
        step(app.get("/api/v1/items/").bearer_auth(&carol_token)).await,
        (StatusCode::OK, json!({"data": [], "count": 0}))
    );

    // 4. Carol's item: hers, hidden from others, random ids unknown.
    let (status, item) = step(
        app.post("/api/v1/items/")
            .bearer_auth(&carol_token)
            .json(&json!({"title": "Carol's"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(item["owner_id"], carol_id.as_str());
    let (status, _) = step(app.post("/api/v1/users/signup").json(&json!({
        "email": "other@example.com",
        "password": "other-password",
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, tokens) = step(login_form(&app, "other@example.com", "other-password")).await;
    let other = tokens["access_token"].as_str().unwrap().to_owned();
    let item_path = format!("/api/v1/items/{}", item["id"].as_str().unwrap());
    assert_eq!(
        step(app.get(&item_path).bearer_auth(&other)).await,
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Not enough permissions"})
        )
    );
    assert_eq!(
        step(
            app.get(&format!("/api/v1/items/{}", uuid::Uuid::new_v4()))
                .bearer_auth(&other)
        )
        .await,
        (StatusCode::NOT_FOUND, json!({"detail": "Item not found"}))
    );

    // 5. Carol changes her password.
    let change = |current: &str, new: &str| {
        app.patch("/api/v1/users/me/password")
            .bearer_auth(&carol_token)
            .json(&json!({"current_password": current, "new_password": new}))
    };
    assert_eq!(
        step(change("wrong-password", "carol-password-2")).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Incorrect password"})
        )
    );
    assert_eq!(
        step(change("carol-password", "carol-password")).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "New password cannot be the same as the current one"})
        )
    );
    assert_eq!(
        step(change("carol-password", "carol-password-2")).await,
        (
            StatusCode::OK,
            json!({"message": "Password updated successfully"})
        )
    );
    let (status, _) = step(app.get("/api/v1/users/me").bearer_auth(&carol_token)).await;
    assert_eq!(status, StatusCode::OK, "carol's token keeps working");

    // 6. The superuser deactivates carol.
    let (status, _) = step(
        app.patch(&format!("/api/v1/users/{carol_id}"))
            .bearer_auth(&admin)
            .json(&json!({"is_active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let inactive = (StatusCode::BAD_REQUEST, json!({"detail": "Inactive user"}));
    assert_eq!(
        step(app.get("/api/v1/users/me").bearer_auth(&carol_token)).await,
        inactive
    );
    assert_eq!(
        step(login_form(&app, "carol@example.com", "carol-password-2")).await,
        inactive
    );

    // 7. No token, garbage token.
    let response = app.get("/api/v1/users/me").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        step(app.get("/api/v1/users/me")).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Not authenticated"})
        )
    );
    assert_eq!(
        step(app.get("/api/v1/users/me").bearer_auth("garbage")).await,
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Could not validate credentials"})
        )
    );

    // 8. The slash-less collection path redirects.
    let (status, body) = step(app.get("/api/v1/users")).await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        body["location"],
        format!("http://127.0.0.1:{}/api/v1/users/", app.port)
    );

    // 12. Dave (with a changed password) logs in with a case variant; a signup with
    // another variant is a duplicate.
    let (status, _) = step(app.post("/api/v1/users/signup").json(&json!({
        "email": "Dave@Example.com",
        "password": "dave-password",
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, tokens) = step(login_form(&app, "Dave@Example.com", "dave-password")).await;
    let dave = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, _) = step(
        app.patch("/api/v1/users/me/password")
            .bearer_auth(&dave)
            .json(&json!({"current_password": "dave-password", "new_password": "dave-password-2"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = step(login_form(&app, "dave@EXAMPLE.COM", "dave-password-2")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        step(app.post("/api/v1/users/signup").json(&json!({
            "email": "DAVE@example.com",
            "password": "dave-password-3",
        })))
        .await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "The user with this email already exists in the system"})
        )
    );

    // 14. Bounds and explicit nulls answer 422, not 500.
    let (status, body) = step(app.get("/api/v1/users/?skip=-1").bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "greater_than_equal");
    let (status, body) = step(app.get("/api/v1/users/?limit=1001").bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "less_than_equal");
    let (status, body) = step(
        app.patch("/api/v1/users/me")
            .bearer_auth(&dave)
            .json(&json!({"email": null})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "string_type");

    // 15. Probes (the headers were checked on every step).
    for probe in ["/health/live", "/health/ready"] {
        assert_eq!(
            step(app.get(probe)).await,
            (StatusCode::OK, json!({"status": "ok"})),
            "{probe}"
        );
    }
}

on_every_backend!(golden_sequence_legacy_steps_and_hardening_steps_12_14_15);
