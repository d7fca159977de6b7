//! Who is calling: the client IP (socket peer, or the right-most untrusted
//! `X-Forwarded-For` hop when the peer is a trusted proxy, SECURITY.md RL-03), the scheme
//! and host the client used (`X-Forwarded-Proto`/`-Host` from a trusted proxy only) and
//! the user agent.

use std::{net::IpAddr, sync::Arc};

use gatehouse_application::Client;
use poem::{FromRequest, Request, RequestBody, http::header, web::RemoteAddr};

use crate::config::HttpConfig;

/// Longest user agent kept (CONTRACT.md §10 `SessionPublic.user_agent`).
const MAX_USER_AGENT: usize = 512;

/// The [`Client`] of a request, as a poem extractor. The envelope middleware works it out
/// once per request (for the log span) and leaves it in the request's extensions, where
/// handlers pick it up instead of parsing the forwarding headers again.
#[derive(Clone)]
pub struct ClientInfo(pub Client);

/// The client IP of a request under `config`'s trusted proxies.
fn client_ip(request: &Request, config: &HttpConfig) -> Option<IpAddr> {
    let peer = peer_ip(request.remote_addr())?;
    if !config.is_trusted_proxy(peer) {
        return Some(peer);
    }
    // Walk X-Forwarded-For from the right, skipping our own proxies; never trust the
    // left-most (client-written) entries, X-Real-IP or Forwarded.
    let hops: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !config.is_trusted_proxy(*ip))
            .unwrap_or(peer),
    )
}

/// The value our proxy put in header `name` (the right-most of a list), when the peer is a
/// trusted proxy; `None` from anyone else, whose forwarding headers are their own words.
pub fn forwarded<'a>(request: &'a Request, config: &HttpConfig, name: &str) -> Option<&'a str> {
    let peer = peer_ip(request.remote_addr())?;
    if !config.is_trusted_proxy(peer) {
        return None;
    }
    let value = request.headers().get_all(name).iter().next_back()?;
    let last = value.to_str().ok()?.rsplit(',').next()?.trim();
    (!last.is_empty()).then_some(last)
}

fn peer_ip(addr: &RemoteAddr) -> Option<IpAddr> {
    addr.as_socket_addr().map(|a| a.ip().to_canonical())
}

impl ClientInfo {
    /// Works out who is calling (the envelope calls this once per request).
    pub fn of(request: &Request) -> Self {
        let ip = request
            .data::<Arc<HttpConfig>>()
            .and_then(|config| client_ip(request, config))
            .map(|ip| ip.to_string());
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Self(Client { ip, user_agent })
    }
}

impl<'a> FromRequest<'a> for ClientInfo {
    async fn from_request(request: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        Ok(request
            .extensions()
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self::of(request)))
    }
}
