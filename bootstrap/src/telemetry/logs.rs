//! The log lines: JSON (or human-readable) lines with UTC RFC 3339 timestamps (SECURITY.md
//! ERR-05, ERR-06), filtered by `RUST_LOG`. It owns the log format and filter only; what is
//! logged, and that no secret is, is each caller's duty. The filter is this layer's alone, so
//! a quiet `RUST_LOG` never hides an event from the metrics or the error reports.

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

/// `LOG_FORMAT`: JSON for machines (the default outside development), plain lines for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// What to log and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `RUST_LOG` directives (default `info`) with the database crates quieted; see [`directives`].
    pub filter: String,
}

impl Default for LogSettings {
    /// JSON at `info`: what commands that read no configuration log with.
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            filter: directives(None),
        }
    }
}

/// Crates kept at WARN unless `RUST_LOG` names them: sqlx logs every statement at INFO and
/// sea-orm at DEBUG, with bound values (SECURITY.md pitfall S3). `sea_orm::` (with the colons)
/// leaves `sea_orm_migration`'s progress lines at the base level.
const QUIET: [(&str, &str); 2] = [("sqlx", "sqlx=warn"), ("sea_orm", "sea_orm::=warn")];

/// The filter for a `RUST_LOG` value (`info` when unset), plus the [`QUIET`] directives for the
/// crates it does not mention.
pub fn directives(rust_log: Option<&str>) -> String {
    let base = rust_log.map_or("info", str::trim);
    let mut filter = base.to_owned();
    for (target, directive) in QUIET {
        if !names_target(base, target) {
            if !filter.is_empty() {
                filter.push(',');
            }
            filter.push_str(directive);
        }
    }
    filter
}

/// Whether a directive list mentions `target` or one of its modules.
fn names_target(directives: &str, target: &str) -> bool {
    directives.split(',').any(|directive| {
        let named = directive
            .split(['[', '='])
            .next()
            .unwrap_or_default()
            .trim();
        named == target || named.starts_with(&format!("{target}::"))
    })
}

/// Checks filter directives, so a bad `RUST_LOG` is a configuration error rather than a filter
/// that silently drops everything.
///
/// # Errors
/// The parser's complaint (it quotes the directive, which is not a secret).
pub fn check_directives(filter: &str) -> Result<(), tracing_subscriber::filter::ParseError> {
    EnvFilter::builder().parse(filter).map(drop)
}

/// The log layer writing to `writer`, with its own `RUST_LOG` filter.
pub fn layer<S, W>(settings: &LogSettings, writer: W, ansi: bool) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_timer(UtcTime::rfc_3339())
        .with_ansi(ansi);
    let layer = match settings.format {
        // The current span (request id, route) rides along on every line; the full span list
        // would repeat it.
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => layer.boxed(),
    };
    layer.with_filter(EnvFilter::builder().parse_lossy(&settings.filter))
}

/// A subscriber with only the log layer, writing to `writer`. Exposed so tests can capture log
/// lines.
pub fn subscriber<W>(
    settings: &LogSettings,
    writer: W,
    ansi: bool,
) -> impl Subscriber + for<'span> LookupSpan<'span> + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry().with(layer(settings, writer, ansi))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Self;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    fn lines(settings: &LogSettings, emit: impl FnOnce()) -> Vec<String> {
        let captured = Captured::default();
        tracing::subscriber::with_default(subscriber(settings, captured.clone(), false), emit);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn database_crates_are_quiet_unless_named() {
        assert_eq!(directives(None), "info,sqlx=warn,sea_orm::=warn");
        assert_eq!(directives(Some("debug")), "debug,sqlx=warn,sea_orm::=warn");
        assert_eq!(
            directives(Some("info,sqlx=debug")),
            "info,sqlx=debug,sea_orm::=warn"
        );
        assert_eq!(
            directives(Some("sea_orm::driver=trace")),
            "sea_orm::driver=trace,sqlx=warn"
        );
        assert_eq!(
            directives(Some("sea_orm_migration=debug")),
            "sea_orm_migration=debug,sqlx=warn,sea_orm::=warn"
        );
        for filter in [directives(None), directives(Some("gatehouse=debug,warn"))] {
            check_directives(&filter).unwrap();
        }
        assert!(check_directives("gatehouse=loud").is_err());
    }

    #[test]
    fn json_lines_are_flat_with_utc_rfc3339_timestamps() {
        let settings = LogSettings::default();
        let out = lines(&settings, || {
            let span = tracing::info_span!("request", request_id = "abc-123");
            let _guard = span.enter();
            tracing::info!(status = 200, "request finished");
        });
        assert_eq!(out.len(), 1);
        let line: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
        assert_eq!(line["message"], "request finished");
        assert_eq!(line["status"], 200);
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["span"]["request_id"], "abc-123");
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(timestamp.ends_with('Z'), "{timestamp}");
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
            .unwrap();
    }

    #[test]
    fn filter_levels_apply_per_target() {
        let out = lines(&LogSettings::default(), || {
            tracing::info!(target: "sqlx::query", "select 1");
            tracing::info!(target: "sea_orm::driver::sqlx_postgres", "statement");
            tracing::info!(target: "sea_orm_migration::migrator", "Applying migration");
            tracing::debug!(target: "gatehouse", "hidden at info");
            tracing::warn!(target: "sqlx::pool", "slow");
        });
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out[0].contains("Applying migration"));
        assert!(out[1].contains("slow"));
    }

    #[test]
    fn pretty_lines_are_single_lines() {
        let settings = LogSettings {
            format: LogFormat::Pretty,
            filter: directives(None),
        };
        let out = lines(&settings, || {
            tracing::warn!(variable = "SENTRY_DSN", "ignored")
        });
        assert_eq!(out.len(), 1);
        assert!(out[0].contains("WARN") && out[0].contains("ignored"));
        assert!(out[0].contains('Z'));
    }
}
