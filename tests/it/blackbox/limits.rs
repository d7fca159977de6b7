//! What one connection may cost, over raw TCP (SECURITY.md §5 B2–B4, issue 6 item 2): heads
//! too large or too slow, URLs too long, bodies that stall, requests over the overall timeout,
//! methods nobody serves, and a `Content-Length` + `Transfer-Encoding` request that tries to
//! smuggle a second one. After each, the server keeps serving.

use std::time::Duration;

use gatehouse_tests::app::{Backend, Options, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Longer than any limit under test: a connection still open after this is held.
const HELD: Duration = Duration::from_secs(5);

/// A short read timeout, so the tests that wait it out stay quick.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

async fn app_with_read_timeout(backend: Backend, request_timeout: Duration) -> TestApp {
    let mut options = Options::default();
    options.http.read_timeout = READ_TIMEOUT;
    options.http.request_timeout = request_timeout;
    TestApp::spawn_with(backend, options).await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect")
}

/// Everything the server sends until it closes the connection.
///
/// # Panics
/// When the connection is still open after [`HELD`].
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(HELD, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&received).into_owned();
    assert!(
        read.is_ok(),
        "connection still open after {HELD:?}; got {text:?}"
    );
    text
}

/// The status codes of every response in `raw`, in order.
fn statuses(raw: &str) -> Vec<u16> {
    raw.split("HTTP/1.1 ")
        .skip(1)
        .filter_map(|rest| rest.get(..3)?.parse().ok())
        .collect()
}

/// The JSON body of the last response in `raw`.
fn last_body(raw: &str) -> Value {
    let body = raw.rsplit("\r\n\r\n").next().unwrap_or_default();
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Sends `request` whole and returns everything answered until the server closes.
async fn exchange(app: &TestApp, request: &[u8]) -> String {
    let mut stream = connect(app).await;
    stream.write_all(request).await.expect("send");
    until_closed(&mut stream).await
}

async fn a_head_never_finished_is_cut_off_after_the_read_timeout(backend: Backend) {
    let app = app_with_read_timeout(backend, Duration::from_secs(10)).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("send");
    // hyper closes without answering: a client that never finished its head reads nothing.
    assert_eq!(until_closed(&mut stream).await, "");
    app.assert_serving().await;
}

async fn a_head_trickled_byte_by_byte_is_cut_off_after_the_read_timeout(backend: Backend) {
    // The timeout covers the whole head, not the gap between two reads: a client sending a
    // byte every 200 ms never idles, and is still cut off.
    let app = app_with_read_timeout(backend, Duration::from_secs(10)).await;
    let mut stream = connect(&app).await;
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let head =
        b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for byte in head {
        tick.tick().await;
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        assert!(
            started.elapsed() < HELD,
            "the trickling client was never cut off"
        );
    }
    assert_eq!(until_closed(&mut stream).await, "");
    assert!(started.elapsed() < HELD);
}

async fn an_idle_kept_alive_connection_is_closed_after_the_read_timeout(backend: Backend) {
    let app = app_with_read_timeout(backend, Duration::from_secs(10)).await;
    let answer = exchange(&app, b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(
        statuses(&answer),
        [200],
        "one answer, then closed: {answer:?}"
    );
}

async fn a_body_stalled_past_the_read_timeout_gets_408_and_the_connection_closes(backend: Backend) {
    let app = app_with_read_timeout(backend, Duration::from_secs(10)).await;
    let answer = exchange(
        &app,
        b"POST /api/v1/users/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"email\":",
    )
    .await;
    assert_eq!(statuses(&answer), [408], "{answer:?}");
    assert_eq!(last_body(&answer), json!({ "detail": "Request Timeout" }));
    assert!(
        answer.contains("x-content-type-options: nosniff"),
        "{answer}"
    );
    app.assert_serving().await;
}

async fn a_request_over_the_request_timeout_gets_503(backend: Backend) {
    // Here the overall timeout is the shorter one: it bounds a stalled body too.
    let mut options = Options::default();
    options.http.read_timeout = HELD;
    options.http.request_timeout = READ_TIMEOUT;
    let app = TestApp::spawn_with(backend, options).await;
    let answer = exchange(
        &app,
        b"POST /api/v1/users/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"email\":",
    )
    .await;
    assert_eq!(statuses(&answer), [503], "{answer:?}");
    assert_eq!(
        last_body(&answer),
        json!({ "detail": "Service Unavailable" })
    );
    assert!(answer.contains("retry-after: 1"), "{answer}");
}

async fn a_hundred_kib_header_gets_431(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let big = "a".repeat(100 * 1024);
    let answer = exchange(
        &app,
        format!("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(statuses(&answer), [431], "{answer:?}");
    app.assert_serving().await;
}

async fn two_hundred_headers_get_431(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let headers: String = (0..200).map(|n| format!("X-H{n}: v\r\n")).collect();
    let answer = exchange(
        &app,
        format!("GET /health/live HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes(),
    )
    .await;
    assert_eq!(statuses(&answer), [431], "{answer:?}");
    app.assert_serving().await;
}

async fn a_sixteen_kib_url_gets_414(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .get(&format!("/api/v1/items/?q={}", "a".repeat(16 * 1024)))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, json!({ "detail": "URI Too Long" }));
    // The limit is 8 KiB: a URL just under it is routed as usual.
    let near = app
        .get(&format!(
            "/api/v1/utils/health-check/?q={}",
            "a".repeat(8000)
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(near.status(), StatusCode::OK);
}

async fn trace_and_propfind_get_405(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for method in ["TRACE", "PROPFIND"] {
        let response = app
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                "/api/v1/users/me",
            )
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()["allow"], "PATCH", "{method}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body, json!({ "detail": "Method Not Allowed" }));
    }
}

/// hyper does not answer `Content-Length` with `Transfer-Encoding: chunked` with 400 as
/// SECURITY.md B3 expects: it follows RFC 9112 §6.3 instead — the chunked framing wins, the
/// length is dropped and the connection is closed after the answer. Either way nothing can
/// be smuggled, which is what this checks: the request hidden in the "body" is never served.
async fn content_length_with_chunked_cannot_smuggle_a_second_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let hidden = "GET /api/v1/utils/health-check/ HTTP/1.1\r\nHost: x\r\n\r\n";
    let body = format!("0\r\n\r\n{hidden}");
    for framing in [
        format!(
            "Content-Length: {}\r\nTransfer-Encoding: chunked",
            body.len()
        ),
        format!(
            "Transfer-Encoding: chunked\r\nContent-Length: {}",
            body.len()
        ),
    ] {
        let answer = exchange(
            &app,
            format!(
                "POST /api/v1/users/signup HTTP/1.1\r\nHost: x\r\n\
                 Content-Type: application/json\r\n{framing}\r\n\r\n{body}"
            )
            .as_bytes(),
        )
        .await;
        assert_eq!(
            statuses(&answer),
            [422],
            "only the outer request, with its empty chunked body: {answer:?}"
        );
        assert_eq!(last_body(&answer)["detail"][0]["type"], "missing");
    }
    app.assert_serving().await;
}

storage_independent!(
    a_head_never_finished_is_cut_off_after_the_read_timeout,
    a_head_trickled_byte_by_byte_is_cut_off_after_the_read_timeout,
    an_idle_kept_alive_connection_is_closed_after_the_read_timeout,
    a_body_stalled_past_the_read_timeout_gets_408_and_the_connection_closes,
    a_request_over_the_request_timeout_gets_503,
    a_hundred_kib_header_gets_431,
    two_hundred_headers_get_431,
    a_sixteen_kib_url_gets_414,
    trace_and_propfind_get_405,
    content_length_with_chunked_cannot_smuggle_a_second_request,
);
