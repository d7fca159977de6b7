//! The HTTP server around the application service: bind, serve, drain on shutdown. The
//! binary and the black-box tests start Gatehouse through this same type (tests bind
//! port 0).

use std::{future::Future, io, sync::Arc, time::Duration};

use gatehouse_application::Gatehouse;
use gatehouse_http::HttpConfig;
use poem::{
    Server,
    endpoint::BoxEndpoint,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};

/// A bound, not yet serving, Gatehouse.
pub struct Application {
    acceptor: TcpAcceptor,
    endpoint: BoxEndpoint<'static>,
    port: u16,
}

impl Application {
    /// Binds `address` (`host:port`; port 0 picks a free one) and builds the endpoint.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(address: &str, app: Arc<Gatehouse>, http: HttpConfig) -> io::Result<Self> {
        let acceptor = TcpListener::bind(address.to_owned())
            .into_acceptor()
            .await?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().map(std::net::SocketAddr::port))
            .ok_or_else(|| io::Error::other("bound listener has no TCP address"))?;
        Ok(Self {
            acceptor,
            endpoint: gatehouse_http::endpoint(app, http),
            port,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish for up to `grace`.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> io::Result<()> {
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(self.endpoint, shutdown, Some(grace))
            .await
    }
}
