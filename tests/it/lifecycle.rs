//! The process lifecycle of issue 2: SIGTERM stops accepting, lets the in-flight request
//! finish, then the process exits 0; and a request whose answer is abandoned (timeout,
//! client gone) still runs its use case to the end instead of being cancelled half-way.

use std::time::{Duration, Instant};

use gatehouse_tests::process::{ServedBinary, free_port};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");

#[tokio::test]
async fn sigterm_drains_the_in_flight_request_then_exits_zero() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let mut server = ServedBinary::start(
        BINARY,
        &[
            ("SHUTDOWN_GRACE_SECONDS", "20"),
            ("METRICS_ADDR", metrics_addr.as_str()),
        ],
    );
    server.wait_ready().await;
    let address = format!("127.0.0.1:{}", server.port);

    // A request whose body is still on its way: the handler is waiting for it.
    let body = r#"{"email":"drain@example.com","password":"correct horse battery"}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST /api/v1/users/signup HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    // SIGTERM only once the server works on the request: a connection whose head it has not
    // read yet is idle, and a graceful shutdown rightly closes it (the source of a flake).
    in_flight(&format!("http://{metrics_addr}/metrics")).await;

    server.terminate();
    // Proof the signal was taken while our request is in flight: new connections are refused.
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&address).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    stream
        .write_all(rest.as_bytes())
        .await
        .expect("send the rest of the body");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the response");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "in-flight request was not served: {response}"
    );
    assert!(response.contains("drain@example.com"));

    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "log:\n{}", server.log());
}

/// Waits (up to 20 s) until the metrics listener counts a request in flight.
async fn in_flight(metrics: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scrape = match reqwest::get(metrics).await {
            Ok(answer) => answer.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let working = scrape
            .lines()
            .filter(|line| line.starts_with("gatehouse_http_requests_in_flight"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .any(|n| n >= 1.0);
        if working {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the request never reached the server: {scrape}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Signs up `email` through the real HTTP stack and returns the status.
async fn signup_status(base: &str, email: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/users/signup"))
        .json(&serde_json::json!({"email": email, "password": "correct horse battery"}))
        .send()
        .await
        .expect("signup request")
        .status()
}

#[tokio::test]
async fn a_request_past_its_timeout_still_completes_its_use_case() {
    // Hashing at the cost ceiling takes seconds; the request timeout is one second.
    let server = ServedBinary::start(
        BINARY,
        &[
            ("REQUEST_TIMEOUT_SECONDS", "1"),
            ("ARGON2_MEMORY_KIB", "262144"),
            ("ARGON2_ITERATIONS", "10"),
            // The polling below must not run into the signup throttle.
            ("SIGNUP_MAX_PER_IP", "1000"),
        ],
    );
    server.wait_ready().await;
    let base = server.base();

    assert_eq!(
        signup_status(&base, "late@example.com").await,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "the first signup outlives the timeout; log:\n{}",
        server.log()
    );
    // A repeat is refused before any hashing once the first signup's insert happened; if the
    // timeout had cancelled it, no account would ever appear and repeats would time out too.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = signup_status(&base, "late@example.com").await;
        if status == reqwest::StatusCode::BAD_REQUEST {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the abandoned signup never completed (last {status})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Issue 15 item 3: a client that hangs up before its answer still gets its request's
/// completion line — the status the work ended with, the latency, and that nobody was there.
#[tokio::test]
async fn a_request_whose_client_hangs_up_still_writes_its_completion_line() {
    // A costly hash (a fraction of a second): the client is long gone when it ends.
    let server = ServedBinary::start(
        BINARY,
        &[
            ("ARGON2_MEMORY_KIB", "65536"),
            ("ARGON2_ITERATIONS", "4"),
            // However slow the machine, the work ends in a 200, not the timeout's 503.
            ("REQUEST_TIMEOUT_SECONDS", "600"),
        ],
    );
    server.wait_ready().await;
    let address = format!("127.0.0.1:{}", server.port);

    let body = r#"{"email":"gone@example.com","password":"correct horse battery"}"#;
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    let request = format!(
        "POST /api/v1/users/signup HTTP/1.1\r\nHost: {address}\r\nX-Request-Id: client-gone-1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    drop(stream);

    let line = server
        .wait_for_line("completion line of the abandoned request", |line| {
            line["span"]["request_id"] == "client-gone-1" && line["message"] == "request completed"
        })
        .await;
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["client_gone"], true, "{line}");
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{line}"
    );
}
