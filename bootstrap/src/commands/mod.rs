//! One module per `gatehouse` command.

pub mod check_config;
pub mod create_superuser;
pub mod generate_key;
pub mod migrate;
pub mod openapi;
pub mod serve;
