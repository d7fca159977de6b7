//! The HTTP server around the application service: bind, serve, drain on shutdown. The
//! binary and the black-box tests start Gatehouse through this same type (tests bind
//! port 0); the metrics listener is served by it too, with the same limits. It lives in
//! the HTTP adapter, which owns everything about HTTP; the binary only composes and runs it.
//!
//! Connections are served by hyper's HTTP/1.1 server directly, with the poem endpoint as
//! the service, rather than by `poem::Server`: that one builds hyper without a timer, so
//! hyper's header read timeout never runs (a client trickling header bytes holds its
//! connection forever), and it exposes none of the parser's limits. What one connection
//! may cost is set here (SECURITY.md §5 B2–B4); the body's share is the HTTP adapter's.
//! HTTP/2 is left to the TLS-terminating proxy in front, as for the template's uvicorn.

use std::{convert::Infallible, future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use gatehouse_application::Gatehouse;
use hyper::{
    body::{Body, Bytes},
    server::conn::http1,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use poem::{
    Addr, Endpoint, IntoResponse, Request,
    endpoint::BoxEndpoint,
    http::{StatusCode, uri::Scheme},
    web::{LocalAddr, RemoteAddr},
};
use tokio::net::TcpListener;

use crate::{HttpConfig, middleware::ClientWatch};

/// Most header fields in one request; more answer 431 (hyper's default, stated here).
const MAX_HEADERS: usize = 100;
/// Largest request head (request line and header fields); larger answers 431. Roomy enough
/// for a URL at the adapter's 414 limit plus ordinary headers, so long URLs get the more
/// precise 414.
const MAX_HEAD_BYTES: usize = 32 * 1024;
/// hyper's read buffer; a head still incomplete at this size answers 431. hyper's default,
/// about 400 KiB, would let every connection park that much before being refused.
const MAX_READ_BUFFER: usize = 2 * MAX_HEAD_BYTES;
/// Pause after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A bound, not yet serving, Gatehouse (or metrics listener).
pub struct Server {
    listener: TcpListener,
    endpoint: Arc<BoxEndpoint<'static>>,
    local: SocketAddr,
    /// How long a client may take to send a request head; also how long an idle kept-alive
    /// connection stays open, since hyper starts the clock when it waits for the next head.
    header_read_timeout: Duration,
}

impl Server {
    /// Binds `address` (`host:port`; port 0 picks a free one) and builds the endpoint.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(address: &str, app: Arc<Gatehouse>, http: HttpConfig) -> io::Result<Self> {
        let read_timeout = http.read_timeout;
        Self::bind_endpoint(address, crate::endpoint(app, http), read_timeout).await
    }

    /// Binds `address` for `GET /metrics`, answered with what `scrape` renders (the text
    /// exposition format), with the same limits as the API; any other path answers 404.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind_metrics(
        address: &str,
        scrape: impl Fn() -> String + Send + Sync + 'static,
        header_read_timeout: Duration,
    ) -> io::Result<Self> {
        Self::bind_endpoint(
            address,
            crate::metrics::scrape_endpoint(scrape),
            header_read_timeout,
        )
        .await
    }

    async fn bind_endpoint(
        address: &str,
        endpoint: BoxEndpoint<'static>,
        header_read_timeout: Duration,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let local = listener.local_addr()?;
        Ok(Self {
            listener,
            header_read_timeout,
            endpoint: Arc::new(endpoint),
            local,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.local.port()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish for up to `grace`.
    ///
    /// # Errors
    /// None today; kept so callers handle a server failure if one becomes possible.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> io::Result<()> {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_headers(MAX_HEADERS)
            .max_header_size(MAX_HEAD_BYTES)
            .max_buf_size(MAX_READ_BUFFER);
        let connections = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
            };
            let service = Service {
                endpoint: self.endpoint.clone(),
                local: self.local,
                peer,
            };
            let connection = connections.watch(http.serve_connection(
                TokioIo::new(stream),
                hyper::service::service_fn(move |request| service.clone().call(request)),
            ));
            tokio::spawn(async move {
                // Client resets, parser refusals and timeouts end here; hyper has answered
                // what deserved an answer (400, 408, 414, 431).
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
        drop(self.listener);
        tokio::select! {
            () = connections.shutdown() => {}
            () = tokio::time::sleep(grace) => {
                tracing::warn!("shutdown grace elapsed with requests still in flight");
            }
        }
        Ok(())
    }
}

/// One connection's view of the endpoint.
#[derive(Clone)]
struct Service {
    endpoint: Arc<BoxEndpoint<'static>>,
    local: SocketAddr,
    peer: SocketAddr,
}

impl Service {
    /// Starts `request` at once, in a task of its own, and returns the wait for its answer.
    /// hyper drops that wait when the client hangs up — possibly before ever polling it —
    /// but the task runs on, and the [`ClientWatch`] it carries tells the completion line
    /// that nobody is waiting any more (issue 15).
    fn call(
        self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<
        Output = Result<
            hyper::Response<impl Body<Data = Bytes, Error = io::Error> + Send + 'static>,
            Infallible,
        >,
    > {
        let watch = ClientWatch::default();
        let mut request = Request::from((
            request,
            LocalAddr(Addr::SocketAddr(self.local)),
            RemoteAddr(Addr::SocketAddr(self.peer)),
            Scheme::HTTP,
        ));
        request.extensions_mut().insert(watch.clone());
        let endpoint = self.endpoint;
        let answer = tokio::spawn(async move { endpoint.get_response(request).await });
        let waiting = Waiting(Some(watch));
        async move {
            let response = answer.await.unwrap_or_else(|failed| {
                // The endpoint catches its handlers' panics; this is a middleware's bug.
                tracing::error!(error = %failed, "request task failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            });
            waiting.answered();
            Ok(response.into())
        }
    }
}

/// Marks the request's client gone when the wait for its answer is dropped unanswered.
struct Waiting(Option<ClientWatch>);

impl Waiting {
    fn answered(mut self) {
        self.0 = None;
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(watch) = &self.0 {
            watch.mark_gone();
        }
    }
}
