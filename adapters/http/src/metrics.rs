//! The HTTP metrics (issue 15), recorded through the `metrics` facade: a no-op until the binary
//! installs a recorder (`METRICS_ADDR` set), so nothing is measured otherwise. Every label has a
//! bounded set of values — route templates, never raw paths; a fixed list of methods; status
//! classes — so no client can grow the series count.

use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use poem::{
    EndpointExt, IntoEndpoint, Response, Route,
    endpoint::{BoxEndpoint, make_sync},
    get,
    http::{Method, StatusCode},
};

/// Requests answered, by `route`, `method` and `status` class.
pub const REQUESTS: &str = "gatehouse_http_requests_total";
/// Time from the request head to the answer, by `route` and `method`.
pub const DURATION: &str = "gatehouse_http_request_duration_seconds";
/// Requests being worked on, including those whose client has hung up.
pub const IN_FLIGHT: &str = "gatehouse_http_requests_in_flight";

/// Bucket bounds of [`DURATION`], in seconds: 1 ms to 10 s.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The `route` label of a request no route template matched (404, 307 redirects, 414).
pub const UNMATCHED: &str = "unmatched";

/// The content type of the text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics` answering what `scrape` renders; any other path answers 404.
pub(crate) fn scrape_endpoint(
    scrape: impl Fn() -> String + Send + Sync + 'static,
) -> BoxEndpoint<'static> {
    let scrape = make_sync(move |_| Response::builder().content_type(EXPOSITION).body(scrape()));
    Route::new()
        .at("/metrics", get(scrape))
        .into_endpoint()
        .boxed()
}

/// Registers the help texts; call once after installing the recorder.
pub fn describe() {
    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by route template, method and status class"
    );
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "Time from request to answer, by route template and method"
    );
    describe_gauge!(
        IN_FLIGHT,
        "Requests being worked on, including those whose client has gone"
    );
}

/// Counts a request in flight until dropped.
pub(crate) struct InFlight(());

impl InFlight {
    pub(crate) fn start() -> Self {
        gauge!(IN_FLIGHT).increment(1.0);
        Self(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(IN_FLIGHT).decrement(1.0);
    }
}

/// Records one answered request.
pub(crate) fn record(route: &'static str, method: &Method, status: StatusCode, took: Duration) {
    let method = method_label(method);
    counter!(REQUESTS, "route" => route, "method" => method, "status" => status_class(status))
        .increment(1);
    histogram!(DURATION, "route" => route, "method" => method).record(took.as_secs_f64());
}

/// The standard methods by name; anything else (`PROPFIND`, made-up tokens) as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "other"
        );
        assert_eq!(status_class(StatusCode::TEMPORARY_REDIRECT), "3xx");
        assert_eq!(status_class(StatusCode::UNPROCESSABLE_ENTITY), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
    }

    #[test]
    fn buckets_resolve_a_millisecond_to_ten_seconds() {
        assert_eq!(DURATION_BUCKETS[0], 0.001);
        assert_eq!(DURATION_BUCKETS[DURATION_BUCKETS.len() - 1], 10.0);
        assert!(DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
