//! `FRONTEND_DIR` (issue 12 item 5): a built front end served as FastAPI's
//! `app.frontend("/", directory=…)` serves it, over real HTTP against a Vite-like build the test
//! writes. Routes always win; files come with their content type and cache rule; browser
//! navigations to client-side routes get `index.html`; a missing asset is the contract's 404;
//! nothing outside the directory is reachable, however the path is spelled. The front end touches
//! no storage, so these run on the memory adapters only.

use gatehouse_http::HttpConfig;
use gatehouse_tests::{
    app::{Backend, Options, RawResponse, TestApp, send},
    frontend::{DOT_FILE, INNER_LINK, OUTER_LINK, PUBLIC_IMAGE, SCRIPT, STYLESHEET, ViteBuild},
};
use reqwest::{
    Response, StatusCode,
    header::{self, HeaderValue},
};
use serde_json::{Value, json};

/// What a browser sends when it opens a page (Chrome's navigation `Accept`).
const NAVIGATION: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8";
/// What a browser sends for a `<script src>`.
const SCRIPT_ACCEPT: &str = "*/*";
/// What a browser sends for a `<link rel=stylesheet>`.
const STYLE_ACCEPT: &str = "text/css,*/*;q=0.1";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn not_found() -> (StatusCode, Value) {
    (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
}

/// Gatehouse serving `build`, with `http` otherwise.
async fn serving_with(build: &ViteBuild, http: HttpConfig) -> TestApp {
    TestApp::spawn_with(
        Backend::Memory,
        Options {
            http: HttpConfig {
                frontend_dir: Some(build.dist.clone()),
                ..http
            },
            ..Options::default()
        },
    )
    .await
}

async fn serving(build: &ViteBuild) -> TestApp {
    serving_with(build, Options::default().http).await
}

async fn get(app: &TestApp, path: &str, accept: &str) -> Response {
    app.get(path)
        .header(header::ACCEPT, accept)
        .send()
        .await
        .expect("request sent")
}

fn header(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// `response` is `file` (200, the body) with `content_type` and `cache`.
async fn assert_file(response: Response, content_type: &str, cache: &str, body: &str) {
    let url = response.url().clone();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    assert_eq!(
        header(&response, header::CONTENT_TYPE),
        content_type,
        "{url}"
    );
    assert_eq!(header(&response, header::CACHE_CONTROL), cache, "{url}");
    assert_eq!(response.text().await.unwrap(), body, "{url}");
}

/// The value of the first `name="…"` attribute in `html`.
fn attribute<'h>(html: &'h str, name: &str) -> &'h str {
    let opening = format!("{name}=\"");
    let start = html.find(&opening).expect("the attribute") + opening.len();
    let length = html[start..].find('"').expect("its closing quote");
    &html[start..start + length]
}

#[tokio::test]
async fn a_vite_build_is_served_and_navigable() {
    let build = ViteBuild::create();
    let app = serving(&build).await;

    let page = get(&app, "/", NAVIGATION).await;
    let policy = header(&page, header::CONTENT_SECURITY_POLICY).to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert_file(
        page,
        "text/html; charset=utf-8",
        "no-cache",
        &build.index_html,
    )
    .await;

    // What the page loads, found in it as a browser finds it.
    let script = attribute(&build.index_html, "src");
    let stylesheet = attribute(&build.index_html, "href");
    assert_eq!((script, stylesheet), (SCRIPT, STYLESHEET));
    for (url, accept, content_type, body) in [
        (
            script,
            SCRIPT_ACCEPT,
            "text/javascript; charset=utf-8",
            &build.script,
        ),
        (
            stylesheet,
            STYLE_ACCEPT,
            "text/css; charset=utf-8",
            &build.stylesheet,
        ),
    ] {
        assert_file(get(&app, url, accept).await, content_type, IMMUTABLE, body).await;
    }

    // Client-side routes, opened directly or reloaded.
    for deep_link in [
        "/items",
        "/admin",
        "/settings/profile",
        "/reset-password?token=abc",
        "/index.html",
    ] {
        assert_file(
            get(&app, deep_link, NAVIGATION).await,
            "text/html; charset=utf-8",
            "no-cache",
            &build.index_html,
        )
        .await;
    }
    let head = app
        .request(reqwest::Method::HEAD, "/items")
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, header::CONTENT_LENGTH),
        build.index_html.len().to_string()
    );
    assert_eq!(head.text().await.unwrap(), "");

    // The API beside it keeps its own headers.
    let api = get(&app, "/api/v1/utils/health-check/", NAVIGATION).await;
    assert_eq!(
        header(&api, header::CONTENT_SECURITY_POLICY),
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(header(&api, header::CACHE_CONTROL), "no-store");
}

#[tokio::test]
async fn only_hashed_assets_are_cached_for_good() {
    let build = ViteBuild::create();
    build.add("favicon.ico", "icon");
    let app = serving(&build).await;
    assert_file(
        get(&app, PUBLIC_IMAGE, "image/avif,image/webp,*/*").await,
        "image/svg+xml; charset=utf-8",
        "no-cache",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .await;
    assert_file(
        get(&app, "/favicon.ico", "image/*").await,
        "image/x-icon",
        "no-cache",
        "icon",
    )
    .await;
}

#[tokio::test]
async fn routes_always_win_over_files_of_the_same_name() {
    let build = ViteBuild::create();
    for bait in [
        "api/v1/nope",
        "api/v1/utils/health-check/index.html",
        "docs",
        "redoc",
        "health/live",
        "health/nope",
        ".well-known/jwks.json",
        ".well-known/nope",
    ] {
        build.add(bait, "BAIT");
    }
    let app = serving(&build).await;

    assert_eq!(
        send(app.get("/api/v1/utils/health-check/")).await,
        (StatusCode::OK, json!(true))
    );
    assert_eq!(
        send(app.get("/health/live")).await.0,
        StatusCode::OK,
        "the probe"
    );
    for path in [
        "/api/v1/nope",
        "/api",
        "/api/",
        "/health/nope",
        "/.well-known/nope",
    ] {
        let answer = send(app.get(path).header(header::ACCEPT, NAVIGATION)).await;
        assert_eq!(answer, not_found(), "{path}");
    }
    let jwks = get(&app, "/.well-known/jwks.json", NAVIGATION).await;
    assert_ne!(jwks.text().await.unwrap(), "BAIT");
    // The contract's own resolution stays: 307 to the other slash form, 405 with `allow`.
    let redirect = get(&app, "/api/v1/users", NAVIGATION).await;
    assert_eq!(redirect.status(), StatusCode::TEMPORARY_REDIRECT);
    let wrong_method = app.put("/api/v1/users/me").send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&wrong_method, header::ALLOW), "PATCH");

    for docs in ["/docs", "/redoc"] {
        let page = get(&app, docs, NAVIGATION).await.text().await.unwrap();
        assert!(page.contains("<html") && !page.contains("BAIT"), "{docs}");
    }
    let (status, document) = send(app.get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        document,
        serde_json::from_str::<Value>(&gatehouse_http::openapi_document()).unwrap(),
        "serving a front end leaves the OpenAPI document as it is"
    );
}

#[tokio::test]
async fn docs_switched_off_stay_404_with_a_front_end() {
    let build = ViteBuild::create();
    build.add("docs", "BAIT");
    let app = serving_with(
        &build,
        HttpConfig {
            docs: false,
            ..Options::default().http
        },
    )
    .await;
    for path in ["/docs", "/redoc", "/api/v1/openapi.json"] {
        let answer = send(app.get(path).header(header::ACCEPT, NAVIGATION)).await;
        assert_eq!(answer, not_found(), "{path}");
    }
}

#[tokio::test]
async fn a_missing_asset_or_a_non_navigation_is_the_contracts_404() {
    let build = ViteBuild::create();
    let app = serving(&build).await;
    for (path, accept) in [
        ("/assets/index-Zz9Zz9Zz.js", SCRIPT_ACCEPT),
        ("/assets/index-Zz9Zz9Zz.css", STYLE_ACCEPT),
        ("/favicon.ico", "image/avif,image/webp,*/*"),
        ("/items", "application/json"),
        ("/items", "*/*"),
        ("/items", "text/html;q=0"),
        ("/assets", SCRIPT_ACCEPT),
    ] {
        let answer = send(app.get(path).header(header::ACCEPT, accept)).await;
        assert_eq!(answer, not_found(), "{path} with {accept}");
    }
    let mut no_accept = app.get("/items").build().unwrap();
    no_accept.headers_mut().remove(header::ACCEPT);
    let answer = app.client.execute(no_accept).await.unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND, "no Accept at all");
    // Only GET and HEAD read the front end; the page itself is no exception.
    for path in ["/items", "/", SCRIPT] {
        let answer = send(app.post(path).header(header::ACCEPT, NAVIGATION)).await;
        assert_eq!(answer, not_found(), "POST {path}");
    }
}

#[tokio::test]
async fn without_frontend_dir_every_other_path_is_the_404_as_before() {
    let app = TestApp::spawn(Backend::Memory).await;
    for path in ["/", "/items", SCRIPT, "/index.html"] {
        let response = get(&app, path, NAVIGATION).await;
        assert_eq!(
            header(&response, header::CONTENT_SECURITY_POLICY),
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(
            (response.status(), response.json::<Value>().await.unwrap()),
            not_found(),
            "{path}"
        );
    }
}

/// `GET target` written as is on a fresh connection, so no client library normalises it.
async fn raw_get(app: &TestApp, target: &str, accept: &str) -> RawResponse {
    app.raw(
        &format!(
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
        ),
        Vec::new(),
    )
    .await
}

#[tokio::test]
async fn nothing_outside_the_directory_is_reachable() {
    let build = ViteBuild::create();
    let app = serving(&build).await;
    let traversals = [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/assets%2F..%2F..%2Fsecret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%5Csecret.txt",
        "/assets/..%5C..%5Csecret.txt",
        "/%5C..%5Csecret.txt",
        "/%2F..%2Fsecret.txt",
        "/%2Fetc%2Fpasswd",
        "/index.html%00.js",
        "/index.html%00",
        "/./index.html",
        "/%2e/index.html",
        OUTER_LINK,
        DOT_FILE,
        "/%2eenv",
        "http://127.0.0.1/../secret.txt",
    ];
    for target in traversals {
        for accept in [NAVIGATION, SCRIPT_ACCEPT] {
            let answer = raw_get(&app, target, accept).await;
            assert!(
                !answer.body.contains(&build.secret),
                "{target} leaked the secret"
            );
            // A request that tries to leave is no navigation: never the page, always the 404.
            assert_eq!(
                (answer.status, answer.json()),
                (404, json!({"detail": "Not Found"})),
                "{target} with {accept}: {answer:?}"
            );
        }
    }
    // Spellings the HTTP parser itself refuses never reach the front end.
    for target in ["/..\\secret.txt", "/assets/..\\..\\secret.txt"] {
        let answer = raw_get(&app, target, NAVIGATION).await;
        assert!(!answer.body.contains(&build.secret), "{target}");
        assert!([400, 404].contains(&answer.status), "{target}: {answer:?}");
    }
    // An absolute path names a file under the directory, never the system's.
    let answer = raw_get(&app, "//etc/passwd", SCRIPT_ACCEPT).await;
    assert_eq!(
        (answer.status, answer.json()),
        (404, json!({"detail": "Not Found"}))
    );
    // A link that stays inside is followed: containment is judged on the resolved path.
    let inner = raw_get(&app, INNER_LINK, SCRIPT_ACCEPT).await;
    assert_eq!(
        (inner.status, inner.body.as_str()),
        (200, build.script.as_str())
    );
    app.assert_serving().await;
}

#[tokio::test]
async fn precompressed_siblings_are_sent_to_clients_that_accept_them() {
    let build = ViteBuild::create();
    // Opaque bytes standing for `gzip -k` output: the server only chooses the file.
    build.add(&format!("{}.gz", &SCRIPT[1..]), "GZIPPED-SCRIPT");
    build.link_to_secret(&format!("{}.br", &STYLESHEET[1..]));
    let app = serving(&build).await;
    let compressed = |encoding: &'static str, path: &'static str| {
        app.get(path)
            .header(header::ACCEPT, SCRIPT_ACCEPT)
            .header(header::ACCEPT_ENCODING, encoding)
            .send()
    };

    let gzipped = compressed("br, gzip", SCRIPT).await.unwrap();
    assert_eq!(header(&gzipped, header::CONTENT_ENCODING), "gzip");
    assert_eq!(header(&gzipped, header::VARY), "accept-encoding");
    assert_file(
        gzipped,
        "text/javascript; charset=utf-8",
        IMMUTABLE,
        "GZIPPED-SCRIPT",
    )
    .await;
    for refused in ["gzip;q=0", "identity", "br"] {
        let plain = compressed(refused, SCRIPT).await.unwrap();
        assert_eq!(
            plain.headers().get(header::CONTENT_ENCODING),
            None,
            "{refused}"
        );
        assert_file(
            plain,
            "text/javascript; charset=utf-8",
            IMMUTABLE,
            &build.script,
        )
        .await;
    }
    // A sibling that links out of the directory is ignored like any other such link.
    let stylesheet = compressed("br", STYLESHEET).await.unwrap();
    assert_eq!(stylesheet.headers().get(header::CONTENT_ENCODING), None);
    assert_file(
        stylesheet,
        "text/css; charset=utf-8",
        IMMUTABLE,
        &build.stylesheet,
    )
    .await;
}

#[tokio::test]
async fn a_cached_copy_is_revalidated_without_the_body() {
    let build = ViteBuild::create();
    let app = serving(&build).await;
    let first = get(&app, "/items", NAVIGATION).await;
    let etag = first
        .headers()
        .get(header::ETAG)
        .cloned()
        .expect("an ETag on the page");
    let again = app
        .get("/items")
        .header(header::ACCEPT, NAVIGATION)
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        again.headers().get(header::CACHE_CONTROL),
        Some(&HeaderValue::from_static("no-cache"))
    );
    assert_eq!(again.text().await.unwrap(), "");
}
