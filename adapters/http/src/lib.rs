//! Gatehouse's HTTP front end: the FastAPI template's contract (CONTRACT.md) plus the
//! hardened `/auth` endpoints, on poem-openapi. This crate knows the application's use
//! cases and the domain's types; it never touches storage or token formats.

mod api;
mod client;
mod config;
mod dto;
mod errors;
mod extract;
#[cfg(debug_assertions)]
mod faults;
pub mod metrics;
mod middleware;
mod openapi;
mod problem;
mod routing;
mod server;
mod spa;
mod timestamp;
mod validation;

use std::sync::Arc;

use gatehouse_application::Gatehouse;
use poem::{EndpointExt, IntoResponse, endpoint::BoxEndpoint, middleware::CatchPanic};

pub use config::HttpConfig;
pub use middleware::REQUEST_TARGET;
pub use openapi::document as openapi_document;
pub use server::Server;

/// The whole HTTP application for `app` under `config`, as [`Server`] serves it.
pub fn endpoint(app: Arc<Gatehouse>, config: HttpConfig) -> BoxEndpoint<'static> {
    #[allow(unused_mut)]
    let mut routes = openapi::build(&config).routes;
    #[cfg(debug_assertions)]
    if config.test_faults {
        routes.extend(faults::routes());
    }
    let spa = config.frontend_dir.as_deref().map(spa::Spa::new);
    let config = Arc::new(config);
    routing::Router::new(routes, spa)
        .with(middleware::Detach)
        .with(middleware::BodyLimit::new(
            config.max_body_bytes,
            config.read_timeout,
        ))
        .with(middleware::Cors::new(config.cors_origins.clone()))
        .with(middleware::Envelope::new(config.request_timeout))
        .with(CatchPanic::new().with_handler(|_| {
            tracing::error!("a request handler panicked");
            problem::ApiError::internal().into_response()
        }))
        .data(app)
        .data(config)
        .data(Arc::new(client::UntrustedForwarders::default()))
        .boxed()
}
