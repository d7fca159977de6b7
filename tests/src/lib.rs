//! Helpers shared by the integration tests in `it/`.

pub mod db;
