//! Issue 15 acceptance 1: the real binary with `METRICS_ADDR` set, scraped before and after a
//! scripted sequence (signup, good and bad logins, a throttle, a refresh and a reuse, 404s);
//! every counter moves by exactly what the sequence did and no other counter moves; route
//! labels are templates, never ids; the public port has no `/metrics`.

use std::collections::BTreeMap;

use gatehouse_tests::process::{ServedBinary, free_port};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");

/// Every sample of a scrape, by its series (`name{labels}`) as rendered.
async fn scrape(client: &Client, url: &str) -> BTreeMap<String, f64> {
    let response = client.get(url).send().await.expect("scrape");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("exposition text");
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// The counters (`…_total`) that moved between two scrapes, by how much.
fn counter_deltas(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .filter(|(series, _)| series.split('{').next().unwrap().ends_with("_total"))
        .map(|(series, value)| (series.clone(), value - before.get(series).unwrap_or(&0.0)))
        .filter(|(_, delta)| *delta != 0.0)
        .collect()
}

async fn status(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_scripted_sequence_moves_each_counter_by_exactly_its_steps() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let mut server = ServedBinary::start(
        BINARY,
        &[
            ("METRICS_ADDR", metrics_addr.as_str()),
            // The second use of a rotated refresh token is a reuse at once.
            ("REFRESH_GRACE_SECONDS", "0"),
            ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "2"),
        ],
    );
    server.wait_ready().await;
    let client = Client::new();
    let base = server.base();
    let metrics = format!("http://{metrics_addr}/metrics");
    let before = scrape(&client, &metrics).await;

    let (email, password) = ("mia@example.com", "correct horse battery");
    let signup = client
        .post(format!("{base}/api/v1/users/signup"))
        .json(&json!({ "email": email, "password": password }));
    assert_eq!(status(signup).await.0, StatusCode::OK);
    let wrong = server.login(&client, email, "wrong password!");
    assert_eq!(status(wrong).await.0, StatusCode::BAD_REQUEST);
    let (code, tokens) = status(server.login(&client, email, password)).await;
    assert_eq!(code, StatusCode::OK);
    let ghost = "ghost@example.com";
    for expected in [
        StatusCode::BAD_REQUEST,
        StatusCode::BAD_REQUEST,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        assert_eq!(
            status(server.login(&client, ghost, password)).await.0,
            expected
        );
    }
    let refresh = |token: &Value| {
        client
            .post(format!("{base}/api/v1/auth/refresh"))
            .json(&json!({ "refresh_token": token }))
    };
    let (code, rotated) = status(refresh(&tokens["refresh_token"])).await;
    assert_eq!(code, StatusCode::OK);
    let item = Uuid::new_v4();
    let missing_item = client
        .get(format!("{base}/api/v1/items/{item}"))
        .bearer_auth(rotated["access_token"].as_str().unwrap());
    assert_eq!(status(missing_item).await.0, StatusCode::NOT_FOUND);
    // Replaying the rotated token ends the session.
    let reuse = refresh(&tokens["refresh_token"]);
    assert_eq!(status(reuse).await.0, StatusCode::UNAUTHORIZED);
    let nowhere = client.get(format!("{base}/api/v1/nowhere"));
    assert_eq!(status(nowhere).await.0, StatusCode::NOT_FOUND);
    let public_metrics = client.get(format!("{base}/metrics"));
    assert_eq!(
        status(public_metrics).await.0,
        StatusCode::NOT_FOUND,
        "the API port serves no metrics"
    );

    let after = scrape(&client, &metrics).await;
    let http = |route: &str, method: &str, class: &str| {
        format!(
            r#"gatehouse_http_requests_total{{route="{route}",method="{method}",status="{class}"}}"#
        )
    };
    let login = "/api/v1/login/access-token";
    let expected: BTreeMap<String, f64> = [
        (
            r#"gatehouse_logins_total{outcome="success"}"#.to_owned(),
            1.0,
        ),
        (
            r#"gatehouse_logins_total{outcome="wrong_credentials"}"#.to_owned(),
            3.0,
        ),
        (
            r#"gatehouse_logins_total{outcome="throttled"}"#.to_owned(),
            1.0,
        ),
        (
            r#"gatehouse_throttle_refusals_total{rule="login:account"}"#.to_owned(),
            1.0,
        ),
        (
            r#"gatehouse_refreshes_total{outcome="rotated"}"#.to_owned(),
            1.0,
        ),
        (
            r#"gatehouse_refreshes_total{outcome="reuse_detected"}"#.to_owned(),
            1.0,
        ),
        (http("/api/v1/users/signup", "POST", "2xx"), 1.0),
        (http(login, "POST", "2xx"), 1.0),
        (http(login, "POST", "4xx"), 4.0),
        (http("/api/v1/auth/refresh", "POST", "2xx"), 1.0),
        (http("/api/v1/auth/refresh", "POST", "4xx"), 1.0),
        (http("/api/v1/items/{id}", "GET", "4xx"), 1.0),
        (http("unmatched", "GET", "4xx"), 2.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(counter_deltas(&before, &after), expected);

    assert!(
        after
            .keys()
            .all(|series| !series.contains(&item.to_string())),
        "a raw id became a label"
    );
    let latency =
        r#"gatehouse_http_request_duration_seconds_count{route="/api/v1/items/{id}",method="GET"}"#;
    assert_eq!(after[latency] - before.get(latency).unwrap_or(&0.0), 1.0);
    for bound in ["0.001", "10", "+Inf"] {
        let bucket = format!(
            r#"gatehouse_http_request_duration_seconds_bucket{{route="/api/v1/items/{{id}}",method="GET",le="{bound}"}}"#
        );
        assert!(after.contains_key(&bucket), "no {bucket}");
    }
    assert_eq!(after["gatehouse_http_requests_in_flight"], 0.0);
    for gauge in [
        "gatehouse_db_pool_connections",
        "gatehouse_db_pool_idle_connections",
        "gatehouse_db_pool_max_connections",
        "gatehouse_argon2_permits_in_use",
        "gatehouse_start_time_seconds",
        "gatehouse_db_pool_acquire_wait_seconds_count",
        "gatehouse_argon2_queue_wait_seconds_count",
    ] {
        assert!(after.contains_key(gauge), "no {gauge}");
    }
    assert!(
        after.keys().any(|series| series.starts_with(&format!(
            r#"gatehouse_build_info{{version="{}",commit=""#,
            env!("CARGO_PKG_VERSION")
        ))),
        "no build info"
    );

    // The metrics listener stops with the server, which still exits cleanly.
    server.terminate();
    assert!(server.wait_exit().success(), "{}", server.log());
    assert!(!server.log().contains("grace elapsed"), "{}", server.log());
}
