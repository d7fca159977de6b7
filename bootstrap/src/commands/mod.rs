//! One module per `gatehouse` command.

pub mod check_config;
pub mod create_superuser;
pub mod end_sessions;
pub mod generate_key;
pub mod healthcheck;
pub mod migrate;
pub mod openapi;
pub mod prune;
pub mod serve;

/// Reports why `command` failed on standard error; exit 1.
fn fail(command: &str, reason: &str) -> std::process::ExitCode {
    eprintln!("gatehouse {command}: {reason}");
    std::process::ExitCode::FAILURE
}
