//! The HTTP server's settings: bind address, limits and timeouts, the docs switch, trusted proxies,
//! the CORS allowlist (CONTRACT.md §2.5, §11; SECURITY.md RL-03, HDR-04, HDR-05) and the built
//! front end to serve (issue 12 item 5).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use super::vars::{Vars, list, origin, seconds};

/// Origins allowed to call the API from a browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// `BACKEND_CORS_ORIGINS=*`, accepted in development only.
    Any,
    /// `FRONTEND_HOST` first, then `BACKEND_CORS_ORIGINS`, without trailing slashes or repeats.
    List(Vec<String>),
}

/// How the server listens and protects itself.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// `HOST:PORT`; `127.0.0.1:8000` by default, `0.0.0.0` to accept other machines.
    pub bind: SocketAddr,
    /// Whether `/docs`, `/redoc` and `/api/v1/openapi.json` are served (SECURITY.md D11).
    pub docs_enabled: bool,
    /// Largest request body read (SECURITY.md IN-01).
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered with an error.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's head, and then its body.
    pub read_timeout: Duration,
    /// How long in-flight requests may finish after SIGTERM/SIGINT.
    pub shutdown_grace: Duration,
    /// Proxies whose `X-Forwarded-For` is believed; empty means the socket peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    pub cors_origins: AllowedOrigins,
    /// `FRONTEND_DIR`, canonical: a directory holding the built front end's `index.html`.
    pub frontend_dir: Option<PathBuf>,
}

/// Reads the server section; `frontend_host` is the already-validated `FRONTEND_HOST`.
pub(super) fn settings(v: &mut Vars<'_>, frontend_host: &str) -> ServerSettings {
    ServerSettings {
        bind: bind(v),
        docs_enabled: v.boolean("DOCS_ENABLED", true),
        max_body_bytes: v.number("MAX_BODY_BYTES", 65_536, 1..=16 * 1024 * 1024, "bytes"),
        request_timeout: v.seconds("REQUEST_TIMEOUT_SECONDS", 10, 1..=3_600),
        read_timeout: v.seconds("READ_TIMEOUT_SECONDS", 5, 1..=3_600),
        shutdown_grace: v.seconds("SHUTDOWN_GRACE_SECONDS", 30, 0..=3_600),
        trusted_proxies: trusted_proxies(v),
        cors_origins: cors_origins(v, frontend_host),
        frontend_dir: v
            .get("FRONTEND_DIR")
            .and_then(|dir| frontend_dir(v, Path::new(dir))),
    }
}

/// `FRONTEND_DIR` as a canonical path, when it is a directory with an `index.html` file: the
/// server would otherwise start and answer every page with 404 (or, with the page gone, every
/// client-side route).
fn frontend_dir(v: &mut Vars<'_>, dir: &Path) -> Option<PathBuf> {
    const EXPECTED: &str = "expected the directory of a built front end, holding index.html";
    let problem = match std::fs::canonicalize(dir) {
        Err(e) => format!("cannot be opened: {e}"),
        Ok(real) if !real.is_dir() => "is not a directory".to_owned(),
        Ok(real) if !real.join("index.html").is_file() => "has no index.html file".to_owned(),
        Ok(real) => return Some(real),
    };
    v.error(
        "FRONTEND_DIR",
        format!("{EXPECTED}; {} {problem}", dir.display()),
    );
    None
}

/// `HOST:PORT`, the address `serve` listens on (and `healthcheck` asks).
pub(super) fn bind(v: &mut Vars<'_>) -> SocketAddr {
    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let host = v.get("HOST").map_or(LOOPBACK, |host| {
        host.trim().parse().unwrap_or_else(|_| {
            v.error(
                "HOST",
                "expected an IP address to listen on, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
            );
            LOOPBACK
        })
    });
    SocketAddr::new(host, v.number("PORT", 8000u16, 1..=65535, "a port number"))
}

/// `FRONTEND_HOST`: an origin, trailing slash removed; the CORS origin and the base of email links.
pub(super) fn frontend_host(v: &mut Vars<'_>) -> String {
    const DEFAULT: &str = "http://localhost:5173";
    let Some(raw) = v.get("FRONTEND_HOST") else {
        return DEFAULT.to_owned();
    };
    origin(raw).unwrap_or_else(|| {
        v.error(
            "FRONTEND_HOST",
            "expected an http(s) origin such as https://app.example.com (scheme, host and optional port)",
        );
        DEFAULT.to_owned()
    })
}

fn cors_origins(v: &mut Vars<'_>, frontend_host: &str) -> AllowedOrigins {
    let mut origins = vec![frontend_host.to_owned()];
    let Some(raw) = v.get("BACKEND_CORS_ORIGINS") else {
        return AllowedOrigins::List(origins);
    };
    let Ok(entries) = list(raw) else {
        v.error(
            "BACKEND_CORS_ORIGINS",
            "expected origins separated by commas, or a JSON list of strings",
        );
        return AllowedOrigins::List(origins);
    };
    if entries.iter().any(|entry| entry == "*") {
        v.weak(
            "BACKEND_CORS_ORIGINS",
            "allows `*`, which lets every web site call the API with its visitors' tokens; list the allowed origins instead",
        );
        return AllowedOrigins::Any;
    }
    for (position, entry) in entries.iter().enumerate() {
        match origin(entry) {
            Some(origin) if !origins.contains(&origin) => origins.push(origin),
            Some(_) => {}
            None => v.error(
                "BACKEND_CORS_ORIGINS",
                format!(
                    "entry {} is not an http(s) origin such as https://app.example.com",
                    position + 1
                ),
            ),
        }
    }
    AllowedOrigins::List(origins)
}

fn trusted_proxies(v: &mut Vars<'_>) -> Vec<IpNet> {
    let Some(raw) = v.get("TRUSTED_PROXIES") else {
        return Vec::new();
    };
    let entries = raw.split(',').map(str::trim).filter(|e| !e.is_empty());
    let parsed: Result<Vec<IpNet>, _> = entries
        .map(|entry| {
            let net = entry.parse::<IpNet>().map(|net| net.trunc());
            net.or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        })
        .collect();
    let Ok(proxies) = parsed else {
        v.error(
            "TRUSTED_PROXIES",
            "expected IP addresses or CIDR networks separated by commas, e.g. 10.0.0.0/8, 192.0.2.7",
        );
        return Vec::new();
    };
    if proxies.iter().any(|net| net.prefix_len() == 0) {
        v.weak(
            "TRUSTED_PROXIES",
            "trusts every address (a /0 network): any client could forge X-Forwarded-For and dodge throttling (SECURITY.md RL-03)",
        );
    }
    proxies
}

/// The `check-config` lines of the HTTP server.
pub(super) fn describe(server: &ServerSettings) -> [(&'static str, String); 5] {
    let origins = match &server.cors_origins {
        AllowedOrigins::Any => "any (development only)".to_owned(),
        AllowedOrigins::List(list) => list.join(", "),
    };
    let proxies: Vec<String> = server
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    let proxies = if proxies.is_empty() {
        "none (the socket peer is the client)".to_owned()
    } else {
        proxies.join(", ")
    };
    let frontend = server
        .frontend_dir
        .as_ref()
        .map(|dir| format!("served from {}", dir.display()));
    [
        ("listen on", server.bind.to_string()),
        ("cors origins", origins),
        ("trusted proxies", proxies),
        (
            "limits",
            format!(
                "body {} bytes, request timeout {}, read timeout {}, shutdown grace {}, docs {}",
                server.max_body_bytes,
                seconds(server.request_timeout),
                seconds(server.read_timeout),
                seconds(server.shutdown_grace),
                if server.docs_enabled { "on" } else { "off" }
            ),
        ),
        (
            "frontend",
            frontend.unwrap_or_else(|| "not served".to_owned()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::vars::testing::{Checked, check};
    use super::*;

    fn validate(strict: bool, pairs: &[(&str, &str)]) -> Checked<ServerSettings> {
        check(strict, pairs, |v| settings(v, "http://localhost:5173"))
    }

    #[test]
    fn defaults() {
        let (server, result) = validate(true, &[]);
        assert!(result.unwrap().is_empty());
        assert_eq!(server.bind, "127.0.0.1:8000".parse().unwrap());
        assert!(server.docs_enabled);
        assert_eq!(server.max_body_bytes, 65_536);
        assert_eq!(server.request_timeout, Duration::from_secs(10));
        assert_eq!(server.read_timeout, Duration::from_secs(5));
        assert_eq!(server.shutdown_grace, Duration::from_secs(30));
        assert!(server.trusted_proxies.is_empty());
        assert_eq!(
            server.cors_origins,
            AllowedOrigins::List(vec!["http://localhost:5173".into()])
        );
        assert_eq!(server.frontend_dir, None);
    }

    #[test]
    fn frontend_dir_must_be_a_directory_holding_index_html() {
        let scratch =
            std::env::temp_dir().join(format!("gatehouse-frontend-dir-{}", std::process::id()));
        let built = scratch.join("dist");
        std::fs::create_dir_all(built.join("assets")).unwrap();
        std::fs::write(built.join("index.html"), "<!doctype html>").unwrap();
        std::fs::create_dir_all(scratch.join("empty").join("index.html")).unwrap();
        let check = |dir: &Path| {
            let (server, result) = validate(true, &[("FRONTEND_DIR", &dir.display().to_string())]);
            (server.frontend_dir, result)
        };
        let (dir, result) = check(&built.join("assets").join(".."));
        assert!(result.is_ok());
        assert_eq!(dir, Some(std::fs::canonicalize(&built).unwrap()));
        for bad in [
            scratch.join("missing"),
            built.join("index.html"),
            built.join("assets"),
            // index.html must be a file, not a directory of that name.
            scratch.join("empty"),
        ] {
            let (dir, result) = check(&bad);
            assert_eq!(dir, None, "{}", bad.display());
            assert!(
                result.unwrap_err().names("FRONTEND_DIR"),
                "{}",
                bad.display()
            );
        }
        std::fs::remove_dir_all(&scratch).unwrap();
    }

    #[test]
    fn cors_origins_from_a_comma_or_json_list_and_star_only_in_development() {
        for list in [
            "https://a.example.com/, http://localhost:5173/",
            r#"["https://a.example.com/"]"#,
        ] {
            let (server, result) = validate(true, &[("BACKEND_CORS_ORIGINS", list)]);
            assert!(result.is_ok());
            let expected = vec![
                "http://localhost:5173".into(),
                "https://a.example.com".into(),
            ];
            assert_eq!(server.cors_origins, AllowedOrigins::List(expected));
        }
        let star = [("BACKEND_CORS_ORIGINS", "*")];
        assert!(
            validate(true, &star)
                .1
                .unwrap_err()
                .names("BACKEND_CORS_ORIGINS")
        );
        let (server, result) = validate(false, &star);
        assert_eq!(result.unwrap().len(), 1);
        assert_eq!(server.cors_origins, AllowedOrigins::Any);
    }

    #[test]
    fn trusted_proxies_are_networks() {
        let (server, result) = validate(true, &[("TRUSTED_PROXIES", "10.0.0.1/8, 192.0.2.7,::1")]);
        assert!(result.is_ok());
        let shown: Vec<String> = server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]);
        assert!(
            validate(true, &[("TRUSTED_PROXIES", "0.0.0.0/0")])
                .1
                .is_err()
        );
    }
}
