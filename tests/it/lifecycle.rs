//! The process lifecycle of issue 2: SIGTERM stops accepting, lets the in-flight request
//! finish, then the process exits 0.

use std::time::{Duration, Instant};

use gatehouse_tests::process::ServedBinary;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");

#[tokio::test]
async fn sigterm_drains_the_in_flight_request_then_exits_zero() {
    let mut server = ServedBinary::start(BINARY, &[("SHUTDOWN_GRACE_SECONDS", "20")]);
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
