//! A local stand-in for Sentry's ingest (issue 15): an HTTP/1.1 listener on 127.0.0.1 that
//! takes the SDK's `POST /api/<project>/envelope/` requests, keeps each body exactly as it
//! arrived, and answers 200. Or, stalled, one that accepts connections and never answers, as
//! an ingest that has gone away mid-connection.

use std::{
    net::TcpListener as StdListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};

/// The public key the DSNs name; any value works for the stand-in.
const KEY: &str = "0123456789abcdef0123456789abcdef";

/// Every body received, in order.
type Bodies = Arc<Mutex<Vec<Vec<u8>>>>;

/// A running ingest; stops listening when dropped. It runs on a thread of its own, so it
/// keeps answering while the test blocks (e.g. waiting for the server process to exit,
/// which flushes its reports).
pub struct SentryIngest {
    port: u16,
    bodies: Bodies,
    _stop: oneshot::Sender<()>,
}

impl SentryIngest {
    /// An ingest that stores every envelope and answers 200.
    pub fn start() -> Self {
        Self::listen(false)
    }

    /// An ingest that accepts connections and never reads or answers them.
    pub fn stalled() -> Self {
        Self::listen(true)
    }

    fn listen(stalled: bool) -> Self {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("address").port();
        let bodies = Bodies::default();
        let store = Arc::clone(&bodies);
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = stopped => {}
                    () = accept(listener, store, stalled) => {}
                }
            });
        });
        Self {
            port,
            bodies,
            _stop: stop,
        }
    }

    /// The DSN pointing at this ingest, project 42.
    pub fn dsn(&self) -> String {
        format!("http://{KEY}@127.0.0.1:{}/42", self.port)
    }

    /// Every envelope body received so far, as sent.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().expect("bodies").clone()
    }

    /// The event items of every envelope received so far, parsed.
    pub fn events(&self) -> Vec<Value> {
        self.bodies()
            .iter()
            .flat_map(|body| event_items(body))
            .collect()
    }
}

async fn accept(listener: TcpListener, store: Bodies, stalled: bool) {
    let mut held = Vec::new();
    while let Ok((stream, _)) = listener.accept().await {
        if stalled {
            held.push(stream);
            continue;
        }
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let _ = serve(stream, store).await;
        });
    }
}

/// The `event` items of one envelope: newline-separated JSON, an envelope header, then per
/// item a header (`{"type": …, "length": …}`) and a payload.
fn event_items(body: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(body);
    let mut lines = text.lines().skip(1);
    let mut events = Vec::new();
    while let Some(header) = lines.next() {
        let Ok(header) = serde_json::from_str::<Value>(header) else {
            continue;
        };
        let Some(payload) = lines.next() else { break };
        if header["type"] == "event" {
            events.push(serde_json::from_str(payload).expect("an event is JSON"));
        }
    }
    events
}

/// Reads one request off a connection, stores its body, answers 200 and closes.
async fn serve(stream: TcpStream, store: Bodies) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut body)).await??;
    store.lock().expect("bodies").push(body);
    stream
        .get_mut()
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
        .await?;
    stream.get_mut().shutdown().await
}
