//! What the HTTP front end needs to know from configuration.

use std::{net::IpAddr, time::Duration};

/// An IP network in CIDR form, for the trusted-proxy list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    /// Parses `203.0.113.0/24`, `::1/128` or a bare address.
    ///
    /// # Errors
    /// A description of what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{p}` is not a prefix length up to {max}"))?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

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
}

impl HttpConfig {
    /// Whether `ip` is one of our reverse proxies.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(ip))
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(
            IpNet::parse("::1")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(IpNet::parse("1.2.3.4/33").is_err());
        assert!(IpNet::parse("nope").is_err());
    }
}
