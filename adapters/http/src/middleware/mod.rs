//! Cross-cutting HTTP behaviour, outermost first: panics and framework errors into the
//! `{"detail"}` envelope, request id + tracing span + headers, CORS, the body limit and
//! the request timeout.

mod body_limit;
mod cors;
mod envelope;

pub use body_limit::BodyLimit;
pub use cors::Cors;
pub use envelope::Envelope;
