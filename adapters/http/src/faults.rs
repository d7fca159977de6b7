//! Debug builds only: two routes that fail on purpose, so black-box tests can see what a 5xx
//! answer and a panic leave behind (the completion line, the Sentry report; issue 15). Each
//! puts the request's query string into its failure, as careless code might, so the tests
//! prove the report scrubs what reaches it. Mounted only with [`HttpConfig::test_faults`]
//! (`gatehouse serve --test-faults`); a release build has neither the routes nor the flag.
//!
//! [`HttpConfig::test_faults`]: crate::HttpConfig::test_faults

use gatehouse_domain::Infra;
use poem::{Request, handler};

use crate::{
    problem::ApiError,
    routing::{Route, r},
};

/// The failing routes, for the router.
pub fn routes() -> [Route; 2] {
    [
        Route::fixed(r("GET", "/__test__/panic"), panic),
        Route::fixed(r("GET", "/__test__/error"), error),
    ]
}

fn query(request: &Request) -> &str {
    request.uri().query().unwrap_or_default()
}

#[handler]
fn panic(request: &Request) -> &'static str {
    panic!("forced panic (test build); query: {}", query(request))
}

#[handler]
fn error(request: &Request) -> poem::Result<&'static str> {
    let cause = std::io::Error::other(format!(
        "forced failure (test build); query: {}",
        query(request)
    ));
    Err(ApiError::from(Infra::unexpected(cause)).into())
}
