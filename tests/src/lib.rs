//! Helpers shared by the integration tests in `it/`.

pub mod app;
pub mod db;
pub mod emails;
pub mod frontend;
pub mod process;
pub mod proxy;
pub mod sentry;
pub mod smtp;
pub mod stores;
pub mod tls;
pub mod work;
