//! Route resolution (CONTRACT.md §2.1): 307 to the other trailing-slash form with an
//! absolute `location` and the query kept, 405 with `allow`, the 404 envelope, and the
//! declaration-order quirks (`/users/signup` on GET is a user id, `/users/me` never is).

use gatehouse_tests::app::{Backend, TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn redirect(app: &TestApp, method: Method, path: &str) -> String {
    let response = app.request(method, path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT, "{path}");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.text().await.unwrap(), "", "empty body");
    location
}

async fn the_other_slash_form_redirects_absolutely_keeping_the_query(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let host = format!("127.0.0.1:{}", app.port);
    assert_eq!(
        redirect(&app, Method::GET, "/api/v1/users?skip=0&limit=2").await,
        format!("http://{host}/api/v1/users/?skip=0&limit=2")
    );
    assert_eq!(
        redirect(&app, Method::POST, "/api/v1/users/signup/").await,
        format!("http://{host}/api/v1/users/signup")
    );
    assert_eq!(
        redirect(
            &app,
            Method::POST,
            "/api/v1/utils/test-email?email_to=a@example.com"
        )
        .await,
        format!("http://{host}/api/v1/utils/test-email/?email_to=a@example.com")
    );
    assert_eq!(
        redirect(&app, Method::GET, "/api/v1/users/me/").await,
        format!("http://{host}/api/v1/users/me")
    );
    assert_eq!(
        redirect(&app, Method::POST, "/api/v1/login/access-token/").await,
        format!("http://{host}/api/v1/login/access-token")
    );
    let item = uuid::Uuid::new_v4();
    assert_eq!(
        redirect(&app, Method::DELETE, &format!("/api/v1/items/{item}/")).await,
        format!("http://{host}/api/v1/items/{item}"),
        "the method does not matter for the redirect"
    );
}

async fn the_redirect_is_built_from_the_host_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .get("/api/v1/items")
        .header("host", "api.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        response.headers()["location"],
        "http://api.example.org/api/v1/items/"
    );
}

async fn a_known_path_with_the_wrong_method_is_405_with_allow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let item = format!("/api/v1/items/{}", uuid::Uuid::new_v4());
    for (method, path, allow) in [
        (Method::PUT, "/api/v1/users/me", "PATCH"),
        (Method::PATCH, item.as_str(), "GET"),
        (Method::GET, "/api/v1/login/access-token", "POST"),
        (
            Method::from_bytes(b"TRACE").unwrap(),
            "/api/v1/users/me",
            "PATCH",
        ),
        (Method::OPTIONS, "/api/v1/users/", "GET"),
    ] {
        let response = app.request(method.clone(), path).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, json!({"detail": "Method Not Allowed"}));
    }
}

async fn unknown_paths_are_404_json_whatever_the_accept_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/api/v1/nope",
        "/api/v1/users/me/nope",
        "/nope",
        "/api/v2/users/",
    ] {
        let response = app
            .get(path)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, json!({"detail": "Not Found"}));
    }
}

async fn get_users_signup_is_a_user_id_checked_after_auth(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = send(app.get("/api/v1/users/signup")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Not authenticated"})
        )
    );
    let (_, _, token) = app.user_with_token().await;
    let (status, body) = send(app.get("/api/v1/users/signup").bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "uuid_parsing");
    assert_eq!(body["detail"][0]["loc"], json!(["path", "user_id"]));
    assert_eq!(body["detail"][0]["input"], "signup");
    assert_eq!(
        body["detail"][0]["msg"],
        "Input should be a valid UUID, invalid character: found `s` at 1"
    );
}

async fn users_me_is_never_parsed_as_an_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, id, token) = app.user_with_token().await;
    let (status, body) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], id.as_str());
    let (status, body) = send(
        app.patch("/api/v1/users/me")
            .bearer_auth(&token)
            .json(&json!({"full_name": "Me"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "PATCH /users/me is route 9, not 14");
    assert_eq!(body["full_name"], "Me");
}

storage_independent!(
    the_other_slash_form_redirects_absolutely_keeping_the_query,
    the_redirect_is_built_from_the_host_header,
    a_known_path_with_the_wrong_method_is_405_with_allow,
    unknown_paths_are_404_json_whatever_the_accept_header,
    get_users_signup_is_a_user_id_checked_after_auth,
    users_me_is_never_parsed_as_an_id,
);
