//! Which request an error report belongs to. A layer keeps, on each request span the HTTP
//! adapter opens, its id, method and route template, plus the last error logged inside it
//! (the cause of a 5xx); [`current`] reads them back for whatever is being reported on this
//! thread — the completion line of a 5xx, or a panic unwinding a handler. Installed only with
//! Sentry on.

use std::fmt;

use gatehouse_http::REQUEST_TARGET;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// What a report says about its request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct RequestFields {
    pub id: String,
    pub method: String,
    /// The route template; `None` for a path no route matched.
    pub route: Option<String>,
    /// The `error` of the last WARN or ERROR event inside the request.
    pub cause: Option<String>,
}

impl Visit for RequestFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "request_id" => value.clone_into(&mut self.id),
            "method" => value.clone_into(&mut self.method),
            "route" => self.route = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields arrive here, formatted with Display.
        self.record_str(field, &format!("{value:?}"));
    }
}

/// The `error` field of an event.
#[derive(Default)]
struct Cause(Option<String>);

impl Visit for Cause {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "error" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "error" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// See the module documentation.
pub(super) struct RequestScope;

impl<S> Layer<S> for RequestScope
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = RequestFields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<RequestFields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut cause = Cause::default();
        event.record(&mut cause);
        let (Some(cause), Some(span)) = (cause.0, ctx.event_span(event)) else {
            return;
        };
        for span in span.scope() {
            if let Some(fields) = span.extensions_mut().get_mut::<RequestFields>() {
                fields.cause = Some(cause);
                return;
            }
        }
    }
}

/// What [`RequestScope`] looks at: request spans, and WARN/ERROR events other than the
/// completion lines.
pub(super) struct RequestsAndErrors;

impl<S> Filter<S> for RequestsAndErrors {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        if meta.is_span() {
            meta.target() == REQUEST_TARGET && meta.name() == "request"
        } else {
            *meta.level() <= Level::WARN && meta.target() != REQUEST_TARGET
        }
    }
}

/// The request the current span belongs to, if any.
pub(super) fn current() -> Option<RequestFields> {
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let current = dispatch.current_span();
        let span = registry.span(current.id()?)?;
        span.scope()
            .find_map(|span| span.extensions().get::<RequestFields>().cloned())
    })
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn the_request_its_route_and_its_last_error_are_found_from_inside_it() {
        let subscriber =
            tracing_subscriber::registry().with(RequestScope.with_filter(RequestsAndErrors));
        let seen = tracing::subscriber::with_default(subscriber, || {
            assert_eq!(current(), None, "no request outside one");
            let span = tracing::info_span!(
                target: REQUEST_TARGET,
                "request",
                request_id = %"abc-123",
                method = %"GET",
                route = tracing::field::Empty,
            );
            let _entered = span.enter();
            span.record("route", "/api/v1/items/{id}");
            tracing::warn!(error = %"first", "dependency unavailable");
            tracing::error!(error = %"database gone: no such table", "unexpected failure");
            let inner = tracing::info_span!("query");
            let _inner = inner.enter();
            current()
        });
        assert_eq!(
            seen,
            Some(RequestFields {
                id: "abc-123".into(),
                method: "GET".into(),
                route: Some("/api/v1/items/{id}".into()),
                cause: Some("database gone: no such table".into()),
            })
        );
    }
}
