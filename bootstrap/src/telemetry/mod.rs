//! Telemetry for the whole process, one global tracing subscriber with a layer per audience:
//! the log lines (`logs`, filtered by `RUST_LOG`); with `METRICS_ADDR`, the counters derived
//! from audit and resource events (`events`) beside the Prometheus recorder and listener
//! (`metrics`); with Sentry on, the reports of 5xx answers and panics (`sentry`, `request`,
//! `scrub`). Each layer filters for itself, so no audience's settings starve another. A panic
//! hook (`panics`) turns panics into log lines and, with Sentry on, reports.

mod events;
mod logs;
pub mod metrics;
mod panics;
mod request;
mod scrub;
pub mod sentry;

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};

use crate::config::ObservabilitySettings;

pub use logs::{LogFormat, LogSettings, check_directives, directives, subscriber};

/// Installs the process-wide subscriber on stdout, with the metrics and Sentry layers when they
/// are configured, and the panic hook. Never replaces a subscriber already installed.
///
/// # Errors
/// When a global subscriber (or `log` logger) is already set, e.g. by a test harness.
pub fn init(log: &LogSettings, observability: &ObservabilitySettings) -> Result<(), TryInitError> {
    let ansi = log.format == LogFormat::Pretty && std::io::stdout().is_terminal();
    let installed = tracing_subscriber::registry()
        .with(logs::layer(log, std::io::stdout, ansi))
        .with(observability.metrics_addr.is_some().then(events::layer))
        .with(observability.sentry.dsn().is_some().then(sentry::layer))
        .try_init();
    if installed.is_ok() {
        panics::install();
    }
    installed
}
