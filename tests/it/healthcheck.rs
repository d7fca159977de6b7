//! `gatehouse healthcheck`, the container image's HEALTHCHECK (issue 17): exit 0 when the server
//! on HOST:PORT answers `/health/ready` with 200, 1 for anything else, whatever the rest of the
//! configuration says. Runs the real executable with a cleared environment.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use gatehouse_tests::process::{ServedBinary, free_port};

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");

/// `gatehouse healthcheck` with exactly `vars`, in the temp directory (no `.env` there).
fn healthcheck(vars: &[(&str, &str)]) -> Output {
    Command::new(BINARY)
        .args(["healthcheck", "--timeout", "5"])
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the gatehouse binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn a_ready_server_is_healthy_on_its_configured_port() {
    let server = ServedBinary::start(BINARY, &[]);
    server.wait_ready().await;
    let port = server.port.to_string();
    // A container listens on 0.0.0.0: the probe asks loopback. The rest of the configuration
    // is not the probe's business (production with nothing else set would exit 78).
    for host in ["127.0.0.1", "0.0.0.0"] {
        let output = healthcheck(&[("HOST", host), ("PORT", &port)]);
        assert_eq!(output.status.code(), Some(0), "{host}: {}", text(&output));
        assert!(
            text(&output).contains("healthy: http://127.0.0.1:"),
            "{}",
            text(&output)
        );
    }
}

#[test]
fn anything_but_a_200_from_readiness_is_unhealthy() {
    // Nobody listening.
    let closed = free_port().to_string();
    let output = healthcheck(&[("PORT", &closed)]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("unhealthy"), "{}", text(&output));

    // A server that is up but not ready (database down, schema behind) answers 503.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local listener");
    let port = listener
        .local_addr()
        .expect("its address")
        .port()
        .to_string();
    let answering = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the probe connects");
        let mut request = [0u8; 1024];
        let read = stream.read(&mut request).expect("the probe's request");
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
            .expect("answered");
        String::from_utf8_lossy(&request[..read]).into_owned()
    });
    let output = healthcheck(&[("PORT", &port)]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("answered 503"), "{}", text(&output));
    let request = answering.join().expect("the fake server ran");
    assert!(
        request.starts_with("GET /health/ready HTTP/1.1\r\n"),
        "{request}"
    );

    // A PORT that says nothing usable is unhealthy too (1, never 78: a health check's codes).
    let output = healthcheck(&[("PORT", "http")]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("PORT"), "{}", text(&output));
}
