//! Every response leaves through here: framework errors become `{"detail": reason}`,
//! each request gets a request id and one tracing span with one completion log line,
//! and the security headers of CONTRACT.md §9i / SECURITY.md HDR-01 are set. URLs longer
//! than [`MAX_URI_BYTES`] are refused first with 414 (SECURITY.md §5 B4).
//!
//! The completion line and the HTTP metrics are written here, for every request, also one
//! whose client hung up before the answer (issue 15): the server runs each request in a task
//! of its own, which a hang-up does not cancel, and tells through a [`ClientWatch`] whether
//! anyone is still waiting, so the line says what was answered, how long it took, and that
//! the client was gone.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};
use tracing::{Instrument, field};

use super::Panicked;
use crate::{
    client::ClientInfo,
    metrics::{self, InFlight},
    problem::ApiError,
    routing::MatchedRoute,
};

/// Longest path and query accepted, as nginx's default; the server's head limit leaves room
/// above it, so a long URL gets this 414 rather than the parser's 431.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Header carrying the request id both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The tracing target of the request span and its completion line, which telemetry picks
/// out (error reporting) by it.
pub const REQUEST_TARGET: &str = "gatehouse_http::request";

/// CSP for JSON: nothing may load, nothing may frame us.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// CSP for the documentation pages: their bundled scripts and styles are inline; ReDoc
/// fetches fonts and runs a blob worker.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; worker-src blob:; frame-ancestors 'none'";

/// See the module documentation.
pub struct Envelope {
    request_timeout: Duration,
}

impl Envelope {
    /// `request_timeout` bounds a whole request; past it the client gets 503.
    pub fn new(request_timeout: Duration) -> Self {
        Self { request_timeout }
    }
}

impl<E: Endpoint> Middleware<E> for Envelope {
    type Output = EnvelopeEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        EnvelopeEndpoint {
            inner: ep,
            request_timeout: self.request_timeout,
        }
    }
}

/// See [`Envelope`].
pub struct EnvelopeEndpoint<E> {
    inner: E,
    request_timeout: Duration,
}

/// Whether the client of a request is still waiting for its answer: the server puts one in
/// the request's extensions and marks it when the connection drops the request, and the
/// completion line reports it. A request without one counts as watched throughout.
#[derive(Clone, Debug, Default)]
pub struct ClientWatch(Arc<AtomicBool>);

impl ClientWatch {
    /// The client went away before the answer.
    pub fn mark_gone(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_gone(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The client's request id when it is 1–128 visible ASCII characters, else a new UUID.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// A framework error (parse failure outside our extractors, nested router miss) in the
/// contract's envelope; our own `ApiError`s pass through as they are.
fn error_response(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error = %err, "framework error");
    }
    ApiError::reason(status).into_response()
}

fn set(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

fn secure(response: &mut Response, path: &str, request_id: &str) {
    set(response, REQUEST_ID, request_id);
    set(response, "x-content-type-options", "nosniff");
    set(response, "referrer-policy", "no-referrer");
    set(response, "x-frame-options", "DENY");
    set(
        response,
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    );
    // The front end's files bring a policy of their own (see `crate::spa`).
    if !response
        .headers()
        .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        let docs = path == "/docs" || path.starts_with("/docs/") || path == "/redoc";
        set(
            response,
            "content-security-policy",
            if docs { DOCS_CSP } else { API_CSP },
        );
    }
    // Everything under the API prefix is per-user or security-sensitive; the JWKS
    // document and the probes may be cached.
    if path.starts_with("/api/") {
        set(response, header::CACHE_CONTROL.as_str(), "no-store");
        set(response, header::PRAGMA.as_str(), "no-cache");
    }
    response.headers_mut().remove(header::SERVER);
}

/// What the completion line and the metrics say about one request.
struct Completion {
    started: Instant,
    method: Method,
    route: MatchedRoute,
}

impl Completion {
    /// Writes the completion line in the request's span and records the metrics; `gone` when
    /// the client hung up before the answer.
    fn finish(&self, response: &Response, gone: bool) {
        let status = response.status();
        let took = self.started.elapsed();
        let latency_ms = took.as_secs_f64() * 1000.0;
        // Present only when true, so ordinary lines stay as they were.
        let client_gone = gone.then_some(true);
        let panicked = response.extensions().get::<Panicked>().map(|_| true);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(
                target: REQUEST_TARGET,
                status = status.as_u16(),
                latency_ms,
                client_gone,
                panicked,
                "request completed"
            );
        } else {
            tracing::info!(
                target: REQUEST_TARGET,
                status = status.as_u16(),
                latency_ms,
                client_gone,
                "request completed"
            );
        }
        let route = self.route.get().unwrap_or(metrics::UNMATCHED);
        metrics::record(route, &self.method, status, took);
    }
}

impl<E: Endpoint> Endpoint for EnvelopeEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        let _in_flight = InFlight::start();
        let completion = Completion {
            started: Instant::now(),
            method: request.method().clone(),
            route: MatchedRoute::default(),
        };
        request.extensions_mut().insert(completion.route.clone());
        let watch = request
            .extensions()
            .get::<ClientWatch>()
            .cloned()
            .unwrap_or_default();
        let id = request_id(&request);
        let path = request.uri().path().to_owned();
        // The query string is never logged: it could carry a token (SECURITY.md W7). Who
        // called rides on the span, so every event of the request, audit events included,
        // carries the client IP, user agent and, once authenticated, the principal (RL-06).
        let info = ClientInfo::of(&request);
        let client = info.0.clone();
        request.extensions_mut().insert(info);
        let span = tracing::info_span!(
            target: REQUEST_TARGET,
            "request",
            request_id = %id,
            method = %request.method(),
            route = field::Empty,
            ip = client.ip,
            user_agent = client.user_agent,
            principal = field::Empty,
        );
        let too_long = request
            .uri()
            .path_and_query()
            .is_some_and(|target| target.as_str().len() > MAX_URI_BYTES);
        let inner = async {
            if too_long {
                return ApiError::reason(StatusCode::URI_TOO_LONG).into_response();
            }
            match tokio::time::timeout(self.request_timeout, self.inner.call(request)).await {
                Ok(Ok(output)) => output.into_response(),
                Ok(Err(err)) => error_response(err),
                Err(_) => {
                    // The handler's own work goes on (see `Detach`); only the answer is given up.
                    tracing::warn!("request timed out");
                    ApiError::unavailable().into_response()
                }
            }
        };
        let mut response = inner.instrument(span.clone()).await;
        secure(&mut response, &path, &id);
        span.in_scope(|| completion.finish(&response, watch.is_gone()));
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_id(value: &str) -> Request {
        Request::builder().header(REQUEST_ID, value).finish()
    }

    #[test]
    fn request_ids_are_echoed_only_when_short_visible_ascii() {
        assert_eq!(request_id(&with_id("abc-123")), "abc-123");
        assert_ne!(request_id(&with_id("has space")), "has space");
        assert_ne!(request_id(&with_id(&"x".repeat(129))), "x".repeat(129));
        assert_eq!(request_id(&Request::default()).len(), 36);
    }
}
