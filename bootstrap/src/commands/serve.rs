//! `gatehouse serve`: start error reporting and the metrics recorder when configured,
//! assemble, bind (the API, and the metrics on their own listener), serve until
//! SIGTERM/SIGINT, drain, let queued mail out, close the pool.

use std::process::ExitCode;
use std::time::Duration;

use gatehouse_domain::error_chain;
use gatehouse_http::Server;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::telemetry::{metrics, sentry};
use crate::{config::Settings, wiring};

/// Runs the server; exit 0 after a graceful stop, 1 when it cannot start. `test_faults`
/// mounts the failing test routes (debug builds only).
pub async fn run(settings: Settings, migrate: bool, test_faults: bool) -> ExitCode {
    // Reporting starts first, and is flushed last (when this guard drops).
    let _reporter = settings
        .observability
        .sentry
        .dsn()
        .map(|dsn| sentry::start(dsn, settings.environment.as_str()));
    let recorder = match settings.observability.metrics_addr {
        None => None,
        Some(address) => match metrics::install() {
            Ok(handle) => Some((address, handle)),
            Err(e) => {
                tracing::error!(error = %e, "cannot install the metrics recorder");
                return ExitCode::FAILURE;
            }
        },
    };
    let bind = settings.server.bind;
    let grace = settings.server.shutdown_grace;
    // Development applies migrations itself; elsewhere that is an explicit step, and a
    // server whose schema is behind stays not ready.
    let migrate = migrate || settings.environment.is_development();
    let mut service = match wiring::assemble(settings, migrate).await {
        Ok(service) => service,
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "cannot start");
            return ExitCode::FAILURE;
        }
    };
    service.http.test_faults = test_faults;
    let read_timeout = service.http.read_timeout;
    let metrics_server = match recorder {
        None => None,
        Some((address, handle)) => {
            let scrape = metrics::scrape(handle.clone(), service.resources.gauges());
            match Server::bind_metrics(&address.to_string(), scrape, read_timeout).await {
                Ok(listener) => Some(MetricsServer::start(listener, handle)),
                Err(e) => {
                    tracing::error!(error = %e, address = %address, "cannot bind the metrics listener");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let server = match Server::bind(&bind.to_string(), service.app, service.http).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(error = %e, address = %bind, "cannot bind");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(address = %bind, port = server.port(), "serving");
    let result = server.run_until(shutdown_signal(), grace).await;
    if let Some(metrics_server) = metrics_server {
        metrics_server.stop().await;
    }
    service.resources.close().await;
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

/// How long a scrape under way may finish once the server stops.
const SCRAPE_GRACE: Duration = Duration::from_secs(1);

/// The metrics listener and the recorder's upkeep, running beside the API.
struct MetricsServer {
    stop: oneshot::Sender<()>,
    serving: JoinHandle<()>,
    upkeep: JoinHandle<()>,
}

impl MetricsServer {
    fn start(listener: Server, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        let address = listener.local_addr();
        tracing::info!(address = %address, "serving metrics at /metrics");
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            // Idle scrape connections close at once; a scrape under way gets a moment.
            if let Err(e) = listener.run_until(stopped, SCRAPE_GRACE).await {
                tracing::warn!(error = %e, "the metrics listener failed");
            }
        });
        Self {
            stop,
            serving,
            upkeep: tokio::spawn(metrics::upkeep(handle)),
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.serving.await;
        self.upkeep.abort();
    }
}

/// Completes on SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutdown requested; draining in-flight requests");
}
