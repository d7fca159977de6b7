//! Cross-cutting HTTP behaviour, outermost first: panics and framework errors into the
//! `{"detail"}` envelope, request id + tracing span + headers + the request timeout, CORS,
//! the body limit, and the detached task the handler runs in.

mod body_limit;
mod cors;
mod detach;
mod envelope;

pub use body_limit::BodyLimit;
pub use cors::Cors;
pub use detach::{Detach, Panicked};
pub use envelope::{ClientWatch, Envelope, REQUEST_TARGET};
