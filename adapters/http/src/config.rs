//! What the HTTP front end needs to know from configuration.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use ipnet::IpNet;

/// HTTP-level settings, built by the composition root from `Settings`.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// OpenAPI title (`PROJECT_NAME`).
    pub project_name: String,
    /// Serve the development-only `POST /private/users/` (CONTRACT.md route 23).
    pub private_routes: bool,
    /// Serve `/docs`, `/redoc` and `/api/v1/openapi.json` (SECURITY.md D11).
    pub docs: bool,
    /// CORS origins: `FRONTEND_HOST` plus `BACKEND_CORS_ORIGINS`, without trailing slashes.
    pub cors_origins: Vec<String>,
    /// Peers whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest request body accepted (IN-01).
    pub max_body_bytes: usize,
    /// Longest a request may take end to end before 503.
    pub request_timeout: Duration,
    /// How long a client may take to send a request's head (then the connection closes),
    /// and then its body (then 408): slow or stalled clients cannot hold a connection
    /// (SECURITY.md §5 B2). Shorter than `request_timeout`, or that answers first.
    pub read_timeout: Duration,
    /// `FRONTEND_DIR`: the built web front end to serve for every path no route claims (outside
    /// the API, docs, health and `/.well-known/` prefixes); `None` serves none.
    pub frontend_dir: Option<PathBuf>,
    /// Debug builds only: mount the routes that fail on purpose (`faults.rs`), for the
    /// black-box tests of error reporting. Ignored by release builds.
    pub test_faults: bool,
}

impl HttpConfig {
    /// Whether `ip` is one of our reverse proxies.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            project_name: "Gatehouse".to_owned(),
            private_routes: false,
            docs: true,
            cors_origins: vec!["http://localhost:5173".to_owned()],
            trusted_proxies: Vec::new(),
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(5),
            frontend_dir: None,
            test_faults: false,
        }
    }
}
