//! Error reports to Sentry (issue 15), as the template sends them when `SENTRY_DSN` is set
//! outside development: one event per 5xx answer, read off the HTTP adapter's completion line
//! by sentry-tracing, and one per panic, built by sentry-panic's converter. Both are tagged
//! with the request id, route template and method of the request they happened in, and carry
//! the environment and release; [`scrub`](super::scrub) masks what must not leave.
//!
//! Sending never holds up a request: events go to the SDK's bounded queue, which drops when
//! full, and one background thread sends them with a time limit. The panic hook does not flush
//! (sentry-panic's own handler would, stalling a worker thread on a slow ingest).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_http::REQUEST_TARGET;
use sentry::integrations::backtrace::ProcessStacktraceIntegration;
use sentry::integrations::panic::PanicIntegration;
use sentry::integrations::tracing::ErrorLayer;
use sentry::protocol::{Context, Event, Value};
use sentry::transports::UreqHttpTransportOptions;
use sentry::{Client, ClientOptions, Hub, Transport, TransportFactory, TransportOptions};
use tracing::field::{Field, Visit};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::request::{self, RequestFields, RequestScope, RequestsAndErrors};
use super::scrub;
use crate::build_info;
use crate::config::SentryDsn;

/// How long one attempt to deliver an event may take before the sender gives up on it.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stopping process waits for queued events to go out.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The context sentry-tracing puts an event's fields in.
const FIELDS: &str = "Rust Tracing Fields";

/// The tracing layers: the request bookkeeping, then the reports of failed answers.
pub(super) fn layer<S>() -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    RequestScope
        .with_filter(RequestsAndErrors)
        .and_then(ErrorLayer::new().with_filter(FailedAnswers))
}

/// Passes the completion lines of 5xx answers, except those standing for a panic (the panic
/// is reported by itself, with its stack).
struct FailedAnswers;

impl<S> Filter<S> for FailedAnswers {
    fn enabled(&self, meta: &Metadata<'_>, _: &LayerContext<'_, S>) -> bool {
        meta.is_event() && meta.target() == REQUEST_TARGET
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, _: &LayerContext<'_, S>) -> bool {
        let mut answer = Answer::default();
        event.record(&mut answer);
        answer.status >= 500 && !answer.panicked
    }
}

/// The completion line's status and panic mark.
#[derive(Default)]
struct Answer {
    status: u64,
    panicked: bool,
}

impl Visit for Answer {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "status" {
            self.status = value;
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "panicked" {
            self.panicked = value;
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// The SDK's ureq transport, with a time limit on each delivery: a stalled ingest must not
/// wedge the sending thread for good.
struct TimeBoundTransport;

impl TransportFactory for TimeBoundTransport {
    fn create_transport_with_options(&self, options: TransportOptions) -> Arc<dyn Transport> {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(SEND_TIMEOUT))
            .build()
            .new_agent();
        Arc::new(
            UreqHttpTransportOptions::from(options)
                .with_agent(agent)
                .build(),
        )
    }
}

/// The reporting client; dropping it sends what is queued (for up to two seconds).
pub struct Reporter(Arc<Client>);

impl Drop for Reporter {
    fn drop(&mut self) {
        self.0.close(Some(FLUSH_TIMEOUT));
    }
}

/// Starts reporting to `dsn` from every thread. The client is built here rather than by
/// `sentry::init`, which would also read `SENTRY_*`, proxy and `SSL_VERIFY` variables behind
/// the validated configuration's back.
pub fn start(dsn: &SentryDsn, environment: &str) -> Reporter {
    let mut options = ClientOptions::default();
    options.dsn = Some(dsn.dsn().clone());
    options.release = Some(build_info::release().into());
    options.environment = Some(environment.to_owned().into());
    options.send_default_pii = false;
    options.max_breadcrumbs = 0;
    options.default_integrations = false;
    options.integrations = vec![Arc::new(ProcessStacktraceIntegration)];
    options.in_app_include = vec!["gatehouse"];
    options.before_send = Some(Arc::new(|event| Some(scrub::event(decorate(event)))));
    options.transport = Some(Arc::new(TimeBoundTransport));
    options.shutdown_timeout = FLUSH_TIMEOUT;
    let client = Arc::new(Client::from(options));
    Hub::main().bind_client(Some(Arc::clone(&client)));
    Reporter(client)
}

/// Reports a panic, from the panic hook; nothing when Sentry is off.
pub(super) fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let hub = Hub::current();
    if hub.client().is_some_and(|client| client.is_enabled()) {
        hub.capture_event(PanicIntegration::new().event_from_panic_info(info));
    }
}

/// Tags a report with the request it belongs to and names a failed answer after it.
fn decorate(mut event: Event<'static>) -> Event<'static> {
    let Some(request) = request::current() else {
        return event;
    };
    let RequestFields {
        id,
        method,
        route,
        cause,
    } = request;
    let route = route.unwrap_or_else(|| gatehouse_http::metrics::UNMATCHED.to_owned());
    if event.logger.as_deref() == Some(REQUEST_TARGET) {
        let status = match event.contexts.get(FIELDS) {
            Some(Context::Other(fields)) => fields.get("status").and_then(Value::as_u64),
            _ => None,
        };
        if let Some(status) = status {
            event.tags.insert("status".into(), status.to_string());
            event.message = Some(format!("{status} answer to {method} {route}"));
        }
    }
    if let Some(cause) = cause {
        event.extra.insert("cause".into(), cause.into());
    }
    event.tags.insert("request_id".into(), id);
    event.tags.insert("route".into(), route);
    event.tags.insert("method".into(), method);
    event
}
