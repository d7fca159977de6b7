//! What every configured command does first: load the settings (or print every problem and
//! yield exit 78), start telemetry, then log the configuration warnings through it.

use std::process::ExitCode;

use crate::config::{EX_CONFIG, Settings};
use crate::telemetry;

/// Loads the settings, then starts telemetry so that the warnings come out as log lines in the
/// configured format.
///
/// # Errors
/// Exit code 78 after printing the refused configuration's problems to stderr, one per line.
pub fn configure() -> Result<Settings, ExitCode> {
    let (settings, warnings) = Settings::load().map_err(|errors| {
        eprintln!(
            "gatehouse: refusing to start, the configuration has {} problem(s):",
            errors.0.len()
        );
        eprintln!("{errors}");
        ExitCode::from(EX_CONFIG)
    })?;
    if let Err(e) = telemetry::init(&settings.log, &settings.observability) {
        eprintln!("gatehouse: logging was already set up, keeping it: {e}");
    }
    for warning in warnings {
        tracing::warn!(variable = warning.variable, "{}", warning.message);
    }
    Ok(settings)
}
