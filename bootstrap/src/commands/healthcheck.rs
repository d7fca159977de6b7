//! `gatehouse healthcheck`: asks the local server's `/health/ready` and exits 0 when it answers
//! 200, 1 otherwise (issue 17). It is the container image's `HEALTHCHECK`: the image has no shell
//! and no curl, and the template's compose file checks its backend the same way. Only `HOST` and
//! `PORT` are read, so a probe every few seconds neither validates nor logs anything else.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cli::HealthcheckArgs;
use crate::config::Settings;

/// The readiness probe: database reachable and schema current.
const READY: &str = "/health/ready";

/// Longest status line read; a real one is about 30 bytes.
const MAX_STATUS_LINE: usize = 1024;

/// Asks and reports: `healthy: …` on stdout and exit 0, or `unhealthy: …` on stderr and exit 1.
pub async fn run(args: &HealthcheckArgs) -> ExitCode {
    let address = match Settings::listen_address() {
        Ok(bind) => probe_target(bind),
        Err(errors) => {
            eprintln!(
                "gatehouse healthcheck: unhealthy: HOST/PORT do not say where the server listens:\n{errors}"
            );
            return ExitCode::FAILURE;
        }
    };
    let timeout = Duration::from_secs(args.timeout.into());
    match tokio::time::timeout(timeout, ask(address)).await {
        Ok(Ok(200)) => {
            println!("gatehouse healthcheck: healthy: http://{address}{READY} answered 200");
            ExitCode::SUCCESS
        }
        Ok(Ok(status)) => {
            eprintln!(
                "gatehouse healthcheck: unhealthy: http://{address}{READY} answered {status}"
            );
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("gatehouse healthcheck: unhealthy: http://{address}{READY}: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "gatehouse healthcheck: unhealthy: http://{address}{READY} did not answer within {} s",
                args.timeout
            );
            ExitCode::FAILURE
        }
    }
}

/// Where to ask: the listen address, except that a wildcard (`0.0.0.0`, `::`, as in a container)
/// is reached on the loopback address of its family.
pub fn probe_target(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// One `GET` over HTTP/1.1; the answer's status code.
async fn ask(address: SocketAddr) -> io::Result<u16> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!(
        "GET {READY} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: gatehouse-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(64);
    let mut buffer = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < MAX_STATUS_LINE {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    status_of(&head).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the answer is not an HTTP/1.x status line",
        )
    })
}

/// The status code of an `HTTP/1.x NNN reason` line at the start of `head`.
fn status_of(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    let code = parts.next()?;
    (version.starts_with("HTTP/1.") && code.len() == 3)
        .then(|| code.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_and_anything_else_is_not() {
        assert_eq!(
            status_of(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"),
            Some(200)
        );
        assert_eq!(
            status_of(b"HTTP/1.1 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(status_of(b"HTTP/1.0 204\r\n"), Some(204));
        for junk in [
            &b""[..],
            b"SSH-2.0-OpenSSH_9.2\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/2 200\r\n",
            b"\xff\xfe",
        ] {
            assert_eq!(status_of(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn a_wildcard_listen_address_is_asked_on_loopback() {
        let cases = [
            ("0.0.0.0:8000", "127.0.0.1:8000"),
            ("[::]:8000", "[::1]:8000"),
            ("10.1.2.3:9000", "10.1.2.3:9000"),
            ("127.0.0.1:8000", "127.0.0.1:8000"),
        ];
        for (bind, asked) in cases {
            assert_eq!(probe_target(bind.parse().unwrap()), asked.parse().unwrap());
        }
    }
}
