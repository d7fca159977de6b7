//! Who is calling: the client IP (socket peer, or the right-most untrusted
//! `X-Forwarded-For` hop when the peer is a trusted proxy, SECURITY.md RL-03), the scheme
//! and host the client used (`X-Forwarded-Proto`/`-Host` from a trusted proxy only) and
//! the user agent.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

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

/// How often one peer's forwarding headers are reported at most.
const WARN_EVERY: Duration = Duration::from_secs(3600);
/// Peers remembered at most, so a flood of spoofing clients cannot grow the map.
const REMEMBERED_PEERS: usize = 1024;

/// Peers outside `TRUSTED_PROXIES` that sent `X-Forwarded-For`, with when each was last
/// reported. Behind a reverse proxy nobody declared, every client shares the proxy's
/// address and so its per-IP limits (issue 12 item 4): the operator is told once per peer
/// per hour what to set.
#[derive(Default)]
pub(crate) struct UntrustedForwarders(Mutex<HashMap<IpAddr, Instant>>);

impl UntrustedForwarders {
    /// Whether `peer` is due a report at `now` (and notes it as reported).
    fn due(&self, peer: IpAddr, now: Instant) -> bool {
        let mut reported = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let recent = |at: &Instant| now.duration_since(*at) < WARN_EVERY;
        if reported.get(&peer).is_some_and(recent) {
            return false;
        }
        if reported.len() >= REMEMBERED_PEERS {
            reported.retain(|_, at| recent(at));
            if reported.len() >= REMEMBERED_PEERS {
                return false;
            }
        }
        reported.insert(peer, now);
        true
    }

    /// Reports `peer` if it sent `X-Forwarded-For` and is due.
    fn notice(&self, request: &Request, peer: IpAddr) {
        if request.headers().contains_key("x-forwarded-for") && self.due(peer, Instant::now()) {
            tracing::warn!(
                event = "untrusted_forwarded_for",
                peer = %peer,
                "X-Forwarded-For from a peer outside TRUSTED_PROXIES is ignored, so every client \
                 behind it shares its address and per-IP limits; if it is your reverse proxy, \
                 set TRUSTED_PROXIES={peer} (or its network)"
            );
        }
    }
}

/// The client IP of a request under `config`'s trusted proxies.
fn client_ip(request: &Request, config: &HttpConfig) -> Option<IpAddr> {
    let peer = peer_ip(request.remote_addr())?;
    if !config.is_trusted_proxy(peer) {
        if let Some(forwarders) = request.data::<Arc<UntrustedForwarders>>() {
            forwarders.notice(request, peer);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_reported_once_an_hour_and_the_memory_stays_bounded() {
        let forwarders = UntrustedForwarders::default();
        let (peer, other) = ([192, 0, 2, 1].into(), [192, 0, 2, 2].into());
        let start = Instant::now();
        assert!(forwarders.due(peer, start));
        assert!(!forwarders.due(peer, start + Duration::from_secs(3599)));
        assert!(forwarders.due(other, start), "each peer on its own");
        assert!(forwarders.due(peer, start + WARN_EVERY));

        let flood = UntrustedForwarders::default();
        for n in 0..REMEMBERED_PEERS as u32 {
            assert!(flood.due(IpAddr::from(n.to_be_bytes()), start));
        }
        assert!(
            !flood.due(peer, start),
            "full of recent peers: quiet, not growing"
        );
        assert!(flood.due(peer, start + WARN_EVERY), "old entries make room");
    }
}
