//! The log lines: JSON (or human-readable) lines with UTC RFC 3339 timestamps (SECURITY.md
//! ERR-05, ERR-06), filtered by `RUST_LOG`. It owns the log format and filter only; what is
//! logged, and that no secret is, is each caller's duty. The filter is this layer's alone, so
//! a quiet `RUST_LOG` never hides an event from the metrics or the error reports.

use std::fmt;

use serde_json::{Map, Value};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, FormatEvent, FormatFields, Json, Writer};
use tracing_subscriber::fmt::time::{FormatTime, UtcTime};
use tracing_subscriber::fmt::{FmtContext, FormattedFields, MakeWriter};
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
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .map_event_format(MergedSpans::new)
            .boxed(),
        LogFormat::Pretty => layer.boxed(),
    };
    layer.with_filter(EnvFilter::builder().parse_lossy(&settings.filter))
}

/// The JSON line with one `span` object holding the fields of every span the event was
/// written in, outermost first, a nested span's field winning over an outer one of the same
/// name; `span.name` stays the outermost's (`request`), and `spans` lists every name, outermost
/// first. So a use case's span (`#[instrument]`) adds its name and fields to a line without
/// hiding the request's id, route and client (docs/operations.md §4).
///
/// A line in one span (every completion line) is tracing-subscriber's own with `spans`
/// appended; only lines in nested spans (a use case's) pay for merging.
struct MergedSpans<T> {
    /// The format with the current span, for lines in at most one span.
    one_span: Format<Json, T>,
    /// The format without spans, for lines in nested spans.
    no_span: Format<Json, T>,
}

impl<T: Clone> MergedSpans<T> {
    fn new(format: Format<Json, T>) -> Self {
        Self {
            no_span: format.clone().with_current_span(false),
            one_span: format.with_current_span(true),
        }
    }
}

impl<S, N, T> FormatEvent<S, N> for MergedSpans<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let scope: Vec<_> = ctx
            .event_scope()
            .map(|scope| scope.from_root().collect())
            .unwrap_or_default();
        let mut line = String::new();
        let format = if scope.len() > 1 {
            &self.no_span
        } else {
            &self.one_span
        };
        format.format_event(ctx, Writer::new(&mut line), event)?;
        if scope.is_empty() {
            return writer.write_str(&line);
        }
        // The JSON format ends every line with `}` and a newline.
        let object = line.trim_end().strip_suffix('}').ok_or(fmt::Error)?;
        let mut merged = Map::new();
        if scope.len() > 1 {
            for span in &scope {
                let extensions = span.extensions();
                let fields = extensions.get::<FormattedFields<N>>().map(|f| f.as_str());
                let fields = fields.and_then(|f| serde_json::from_str::<Map<_, _>>(f).ok());
                merged.extend(fields.unwrap_or_default());
            }
            merged.insert("name".to_owned(), scope[0].name().into());
        }
        let names: Vec<&str> = scope.iter().map(|span| span.name()).collect();
        let names = serde_json::to_string(&names).map_err(|_| fmt::Error)?;
        if merged.is_empty() {
            writeln!(writer, "{object},\"spans\":{names}}}")
        } else {
            let merged = Value::Object(merged);
            writeln!(writer, "{object},\"span\":{merged},\"spans\":{names}}}")
        }
    }
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
        assert_eq!(line["spans"], serde_json::json!(["request"]));
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(timestamp.ends_with('Z'), "{timestamp}");
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
            .unwrap();
    }

    #[test]
    fn a_nested_span_adds_its_fields_without_hiding_the_request() {
        let out = lines(&LogSettings::default(), || {
            tracing::info!(spans = "an event field of that name", "outside every span");
            let request = tracing::info_span!("request", request_id = "abc-123", route = "/a");
            let _request = request.enter();
            let use_case = tracing::info_span!("login", route = "inner wins", user_id = 7);
            let _use_case = use_case.enter();
            tracing::debug_span!("hidden at info", secret_name = "x").in_scope(|| {
                tracing::info!(note = r#"a string with ,"spans":[ inside"#, "inside");
            });
        });
        let lines: Vec<serde_json::Value> = out
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines[0]["spans"], "an event field of that name");
        assert!(lines[0].get("span").is_none(), "{}", out[0]);
        let inside = &lines[1];
        assert_eq!(
            inside["span"],
            serde_json::json!({"request_id": "abc-123", "route": "inner wins", "user_id": 7, "name": "request"})
        );
        assert_eq!(inside["spans"], serde_json::json!(["request", "login"]));
        assert_eq!(inside["note"], r#"a string with ,"spans":[ inside"#);
        assert_eq!(inside["message"], "inside");
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
