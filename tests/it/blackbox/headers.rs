//! Response headers and CORS (CONTRACT.md §2.5, §9i; SECURITY.md HDR-01, HDR-03…HDR-05): the
//! security headers on every kind of answer, the request id, the CSP of the API and of the
//! docs, the CORS allowlist with its preflights, and the docs switch.

use gatehouse_tests::app::{Backend, Options, TestApp};
use reqwest::{
    Method, RequestBuilder, Response, StatusCode,
    header::{HeaderMap, HeaderValue},
};
use serde_json::{Value, json};

const FRONTEND: &str = "http://localhost:5173";
const EXTRA_ORIGIN: &str = "https://admin.example.com";
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const METHODS: &str = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

/// CORS from the default `FRONTEND_HOST` plus one `BACKEND_CORS_ORIGINS` entry; signups
/// throttled from the first one, so a 429 is one request away.
async fn spawn(backend: Backend) -> TestApp {
    let mut options = Options::default();
    options.http.cors_origins = vec![FRONTEND.to_owned(), EXTRA_ORIGIN.to_owned()];
    options.policy.throttle.signup_ip.limit = 0;
    TestApp::spawn_with(backend, options).await
}

async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("request sent")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("visible ASCII header"))
}

/// The headers of CONTRACT.md §9i and HDR-01/HDR-03 that every answer carries; `what` names
/// the case in failure messages.
fn assert_security_headers(what: &str, headers: &HeaderMap) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(header(headers, name), Some(value), "{what}: {name}");
    }
    let id = header(headers, "x-request-id").unwrap_or_else(|| panic!("{what}: x-request-id"));
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "{what}: a new UUID, got {id}"
    );
    assert_eq!(headers.get("server"), None, "{what}: no Server header");
}

/// An API answer: the security headers, the API CSP and `Cache-Control: no-store`.
fn assert_api_headers(what: &str, response: &Response, status: StatusCode) {
    assert_eq!(response.status(), status, "{what}");
    let headers = response.headers();
    assert_security_headers(what, headers);
    assert_eq!(
        header(headers, "content-security-policy"),
        Some(API_CSP),
        "{what}"
    );
    assert_eq!(header(headers, "cache-control"), Some("no-store"), "{what}");
}

async fn every_kind_of_answer_carries_the_security_headers(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let me = "/api/v1/users/me";
    let cases: Vec<(&str, RequestBuilder, StatusCode)> = vec![
        ("200", app.get(me).bearer_auth(&admin), StatusCode::OK),
        ("401", app.get(me), StatusCode::UNAUTHORIZED),
        (
            "403",
            app.get(me).bearer_auth("garbage"),
            StatusCode::FORBIDDEN,
        ),
        ("404", app.get("/api/v1/nope"), StatusCode::NOT_FOUND),
        ("405", app.put(me), StatusCode::METHOD_NOT_ALLOWED),
        (
            "413",
            app.post("/api/v1/users/signup")
                .header("content-type", "application/json")
                .body(vec![b' '; 70 * 1024]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "422",
            app.get("/api/v1/users/?skip=-1").bearer_auth(&admin),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "429",
            app.post("/api/v1/users/signup")
                .json(&json!({ "email": "x@example.com", "password": "long enough" })),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        (
            "400 login",
            app.post("/api/v1/login/access-token").form(&[
                ("username", "nobody@example.com"),
                ("password", "whatever1"),
            ]),
            StatusCode::BAD_REQUEST,
        ),
        (
            "307",
            app.get("/api/v1/users"),
            StatusCode::TEMPORARY_REDIRECT,
        ),
    ];
    for (what, request, status) in cases {
        assert_api_headers(what, &send(request).await, status);
    }
}

async fn the_docs_have_their_own_csp_that_still_forbids_framing(backend: Backend) {
    let app = spawn(backend).await;
    for path in ["/docs", "/redoc"] {
        let response = send(app.get(path)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_security_headers(path, headers);
        let csp = header(headers, "content-security-policy").expect("a CSP");
        assert_ne!(csp, API_CSP, "{path}: the UI needs its scripts");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
    }
    // Outside the API prefix, probes and the document of keys may be cached.
    let live = send(app.get("/health/live")).await;
    assert_security_headers("/health/live", live.headers());
    assert_eq!(
        header(live.headers(), "content-security-policy"),
        Some(API_CSP)
    );
    assert_eq!(live.headers().get("cache-control"), None);
}

async fn a_valid_request_id_is_echoed_and_any_other_replaced(backend: Backend) {
    let app = spawn(backend).await;
    let longest = "a".repeat(128);
    for kept in ["abc-123", "~!@#$%^&*()_+{}|:<>?", longest.as_str()] {
        let response = send(app.get("/health/live").header("x-request-id", kept)).await;
        assert_eq!(header(response.headers(), "x-request-id"), Some(kept));
    }
    let too_long = "a".repeat(129);
    let replaced: [&[u8]; 5] = [
        too_long.as_bytes(),
        b"has space",
        b"",
        b"tab\there",
        "café".as_bytes(),
    ];
    for sent in replaced {
        let value = HeaderValue::from_bytes(sent).expect("a header value reqwest sends");
        let response = send(app.get("/health/live").header("x-request-id", value)).await;
        let id = header(response.headers(), "x-request-id").expect("an id");
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "{:?} replaced by a UUID, got {id}",
            String::from_utf8_lossy(sent)
        );
    }
}

/// A preflight from `origin` for `PATCH /users/me` with two requested headers.
fn preflight(app: &TestApp, origin: &str) -> RequestBuilder {
    app.request(Method::OPTIONS, "/api/v1/users/me")
        .header("origin", origin)
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-custom",
        )
}

/// The `access-control-*` headers of a response, sorted.
fn cors_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut cors: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().expect("ASCII").to_owned(),
            )
        })
        .collect();
    cors.sort();
    cors
}

fn vary_names_origin(headers: &HeaderMap) -> bool {
    headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

async fn an_allowed_preflight_gets_200_ok_with_exactly_the_contract_headers(backend: Backend) {
    let app = spawn(backend).await;
    for origin in [FRONTEND, EXTRA_ORIGIN] {
        let response = send(preflight(&app, origin)).await;
        assert_eq!(response.status(), StatusCode::OK, "{origin}");
        let headers = response.headers().clone();
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(
            cors_headers(&headers),
            [
                ("access-control-allow-credentials", "true"),
                (
                    "access-control-allow-headers",
                    "authorization,content-type,x-custom"
                ),
                ("access-control-allow-methods", METHODS),
                ("access-control-allow-origin", origin),
                // Starlette's default, which the template sends too.
                ("access-control-max-age", "600"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned())),
            "{origin}"
        );
        assert!(vary_names_origin(&headers), "{origin}: vary: Origin");
        assert_security_headers(origin, &headers);
        assert_eq!(response.text().await.expect("body"), "OK");
    }
}

async fn a_preflight_from_another_origin_gets_400_without_allow_origin(backend: Backend) {
    let app = spawn(backend).await;
    for origin in [
        "https://evil.example",
        "http://localhost:5173/",
        "http://localhost:5174",
        "https://localhost:5173",
        "null",
    ] {
        let response = send(preflight(&app, origin)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{origin}");
        let headers = response.headers().clone();
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/plain; charset=utf-8"),
            "{origin}"
        );
        assert_eq!(headers.get("access-control-allow-origin"), None, "{origin}");
        assert_eq!(
            headers.get("access-control-allow-credentials"),
            None,
            "{origin}"
        );
        assert_security_headers(origin, &headers);
        assert_eq!(
            response.text().await.expect("body"),
            "Disallowed CORS origin"
        );
    }
}

async fn answers_to_an_allowed_origin_carry_the_cors_headers_errors_and_redirects_included(
    backend: Backend,
) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let cases = [
        (app.get("/api/v1/users/me").bearer_auth(&admin), 200),
        (app.get("/api/v1/users/me"), 401),
        (app.get("/api/v1/nope"), 404),
        (app.get("/api/v1/users"), 307),
        (
            app.get("/api/v1/users/?limit=1001").bearer_auth(&admin),
            422,
        ),
        (
            app.post("/api/v1/users/signup")
                .json(&json!({ "email": "y@example.com", "password": "long enough" })),
            429,
        ),
    ];
    for (request, status) in cases {
        let response = send(request.header("origin", EXTRA_ORIGIN)).await;
        assert_eq!(response.status().as_u16(), status);
        let headers = response.headers();
        assert_eq!(
            cors_headers(headers),
            [
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", EXTRA_ORIGIN),
                ("access-control-expose-headers", "X-Request-Id, Retry-After"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned())),
            "{status}"
        );
        assert!(vary_names_origin(headers), "{status}: vary: Origin");
    }
    // Another origin is served, without any permission for its scripts to read the answer.
    let foreign = send(
        app.get("/api/v1/users/me")
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(cors_headers(foreign.headers()), []);
}

async fn options_without_origin_or_without_a_requested_method_is_an_ordinary_405(backend: Backend) {
    let app = spawn(backend).await;
    for request in [
        app.request(Method::OPTIONS, "/api/v1/users/me"),
        app.request(Method::OPTIONS, "/api/v1/users/me")
            .header("access-control-request-method", "PATCH"),
    ] {
        let response = send(request).await;
        assert_api_headers("OPTIONS", &response, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header(response.headers(), "allow"), Some("PATCH"));
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body, json!({ "detail": "Method Not Allowed" }));
    }
    let no_method = send(
        app.request(Method::OPTIONS, "/api/v1/users/me")
            .header("origin", FRONTEND),
    )
    .await;
    assert_eq!(no_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        header(no_method.headers(), "access-control-allow-origin"),
        Some(FRONTEND)
    );
}

async fn switching_the_docs_off_removes_all_three_pages(backend: Backend) {
    let mut options = Options::default();
    options.http.docs = false;
    let off = TestApp::spawn_with(backend, options).await;
    let on = spawn(backend).await;
    for path in ["/docs", "/redoc", "/api/v1/openapi.json"] {
        let response = send(off.get(path)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_security_headers(path, response.headers());
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body, json!({ "detail": "Not Found" }), "{path}");
        assert_eq!(send(on.get(path)).await.status(), StatusCode::OK, "{path}");
    }
}

storage_independent!(
    every_kind_of_answer_carries_the_security_headers,
    the_docs_have_their_own_csp_that_still_forbids_framing,
    a_valid_request_id_is_echoed_and_any_other_replaced,
    an_allowed_preflight_gets_200_ok_with_exactly_the_contract_headers,
    a_preflight_from_another_origin_gets_400_without_allow_origin,
    answers_to_an_allowed_origin_carry_the_cors_headers_errors_and_redirects_included,
    options_without_origin_or_without_a_requested_method_is_an_ordinary_405,
    switching_the_docs_off_removes_all_three_pages,
);
