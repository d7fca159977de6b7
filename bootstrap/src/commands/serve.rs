//! `gatehouse serve`: assemble, bind, serve until SIGTERM/SIGINT, drain, let queued mail out,
//! close the pool.

use std::process::ExitCode;

use gatehouse_domain::error_chain;

use crate::{app::Application, config::Settings, wiring};

/// Runs the server; exit 0 after a graceful stop, 1 when it cannot start.
pub async fn run(settings: Settings, migrate: bool) -> ExitCode {
    let bind = settings.server.bind;
    let grace = settings.server.shutdown_grace;
    // Development applies migrations itself; elsewhere that is an explicit step, and a
    // server whose schema is behind stays not ready.
    let migrate = migrate || settings.environment.is_development();
    let service = match wiring::assemble(settings, migrate).await {
        Ok(service) => service,
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let server = match Application::bind(&bind.to_string(), service.app, service.http).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(error = %e, address = %bind, "cannot bind");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(address = %bind, port = server.port(), "serving");
    let result = server.run_until(shutdown_signal(), grace).await;
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
