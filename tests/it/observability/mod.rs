//! Issue 15: what operators watch — the Prometheus metrics on their own listener, and the
//! Sentry reports of 5xx answers and panics — each against the real binary.

mod metrics;
mod sentry;
