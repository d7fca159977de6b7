//! What a panic leaves behind: one ERROR log line in the configured format, inside the span
//! it happened in (so a request's panic carries its request id), instead of the standard
//! hook's plain text on stderr; and, with Sentry on, a report. The panic itself then unwinds
//! as before (a request's task answers 500, see the HTTP adapter's `Detach`).

use std::backtrace::{Backtrace, BacktraceStatus};

use sentry::integrations::panic::message_from_panic_info;

/// The target of the panic log line.
const TARGET: &str = "gatehouse::panic";

/// Replaces the panic hook.
pub(super) fn install() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|at| format!("{}:{}", at.file(), at.line()));
        // Only with RUST_BACKTRACE set, as the standard hook.
        let backtrace = Backtrace::capture();
        let backtrace =
            (backtrace.status() == BacktraceStatus::Captured).then(|| backtrace.to_string());
        tracing::error!(
            target: TARGET,
            panic = message_from_panic_info(info),
            location,
            backtrace,
            "panicked"
        );
        super::sentry::report_panic(info);
    }));
}
