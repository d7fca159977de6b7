//! A TCP proxy between the application and its database, so a test can take the database
//! away and bring it back at the same address (SECURITY.md §4.1): while cut, the port
//! refuses connections and every forwarded session is closed, as when the server stops.
//! It can also stall: connections stay open but no byte goes through until it resumes, as on
//! a congested or partitioned network. It forwards bytes only; it knows nothing of the
//! PostgreSQL protocol.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A proxy on a free local port.
pub struct TcpProxy {
    port: u16,
    upstream: String,
    /// The accepting task while the proxy serves; `None` while cut.
    accepting: Mutex<Option<JoinHandle<()>>>,
    /// One task per forwarded connection, so cutting can end them all and wait for it.
    links: Arc<Mutex<JoinSet<()>>>,
    /// `false` while stalled.
    flowing: watch::Sender<bool>,
}

impl TcpProxy {
    /// Starts forwarding `127.0.0.1:<free port>` to `upstream` (`host:port`).
    ///
    /// # Panics
    /// When no local port can be bound.
    pub async fn start(upstream: impl Into<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port for the proxy");
        let port = listener.local_addr().expect("a bound address").port();
        let proxy = Self {
            port,
            upstream: upstream.into(),
            accepting: Mutex::new(None),
            links: Arc::default(),
            flowing: watch::Sender::new(true),
        };
        proxy.serve(listener);
        proxy
    }

    /// The local port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Takes the database away: stops listening, so new connections are refused, and closes
    /// every forwarded connection. Both hold when this returns.
    pub async fn cut(&self) {
        let accepting = self
            .accepting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = accepting {
            task.abort();
            // An aborted task's future, and so its listener, is dropped before this returns.
            let _ = task.await;
        }
        let mut links =
            std::mem::take(&mut *self.links.lock().unwrap_or_else(PoisonError::into_inner));
        links.shutdown().await;
    }

    /// Brings the database back at the same port.
    ///
    /// # Panics
    /// When the port cannot be bound again.
    pub async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the proxy's port again");
        self.serve(listener);
    }

    /// Holds every byte of every connection, open or new, until [`TcpProxy::resume`].
    pub fn stall(&self) {
        self.flowing.send_replace(false);
    }

    /// Lets the held bytes, and all others, through again.
    pub fn resume(&self) {
        self.flowing.send_replace(true);
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, links) = (self.upstream.clone(), self.links.clone());
        let flowing = self.flowing.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut links = links.lock().unwrap_or_else(PoisonError::into_inner);
                while links.try_join_next().is_some() {}
                links.spawn(forward(client, upstream.clone(), flowing.subscribe()));
            }
        });
        *self
            .accepting
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(task);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(task) = self
            .accepting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        // The links' `JoinSet` aborts them when the last reference goes.
    }
}

/// Copies bytes both ways until both sides have closed, each direction shutting the other
/// side's writing down at its end, while `flowing`; a refused upstream closes the client.
async fn forward(client: TcpStream, upstream: String, flowing: watch::Receiver<bool>) {
    if let Ok(server) = TcpStream::connect(&upstream).await {
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        tokio::join!(
            pipe(client_read, server_write, flowing.clone()),
            pipe(server_read, client_write, flowing),
        );
    }
}

/// One direction of [`forward`].
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut flowing: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if flowing.wait_for(|flowing| *flowing).await.is_err()
            || to.write_all(&buf[..n]).await.is_err()
        {
            break;
        }
    }
    let _ = to.shutdown().await;
}
