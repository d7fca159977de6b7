//! `LOG_FORMAT` and `RUST_LOG` into the telemetry settings.

use crate::telemetry::{LogFormat, LogSettings, check_directives, directives};

use super::raw::RawSettings;
use super::report::Report;

/// JSON by default outside development, human-readable lines in development.
pub(super) fn settings(report: &mut Report, raw: &RawSettings, development: bool) -> LogSettings {
    let default = if development {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    };
    let format = report.choice(
        "LOG_FORMAT",
        raw.log_format.as_deref(),
        default,
        &[("json", LogFormat::Json), ("pretty", LogFormat::Pretty)],
    );
    let filter = directives(raw.rust_log.as_deref());
    if check_directives(&filter).is_err() {
        report.error(
            "RUST_LOG",
            "expected tracing filter directives such as `info` or `warn,gatehouse=debug`",
        );
    }
    LogSettings { format, filter }
}
