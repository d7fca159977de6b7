//! The `gatehouse` executable: parse the command line, configure (exit 78 on a refused
//! configuration), dispatch. Also compiled as `gatehouse-tests`' `gatehouse-for-tests` binary,
//! so it may only use this crate's library and tokio.

use std::process::ExitCode;

use gatehouse::cli::{Cli, Command};
use gatehouse::commands;
use gatehouse::startup::configure;

#[tokio::main]
async fn main() -> ExitCode {
    run(Cli::from_env().command)
        .await
        .unwrap_or_else(|code| code)
}

/// Runs one command; `Err` carries the exit code of a refused configuration.
async fn run(command: Command) -> Result<ExitCode, ExitCode> {
    Ok(match command {
        Command::GenerateKey(args) => commands::generate_key::run(&args),
        Command::CheckConfig => commands::check_config::run(&configure()?),
        Command::Openapi(_) => not_wired_yet("openapi"),
        Command::Serve(_) => {
            configure()?;
            not_wired_yet("serve")
        }
        Command::CreateSuperuser(_) => {
            configure()?;
            not_wired_yet("create-superuser")
        }
        Command::Migrate { action } => commands::migrate::run(&configure()?, action).await,
    })
}

/// LEAD: to be replaced by the composition root (`gatehouse::app`), which wires `serve`,
/// `openapi` and `create-superuser`. Until then these commands fail instead of pretending.
fn not_wired_yet(command: &str) -> ExitCode {
    eprintln!("gatehouse {command}: not available in this build yet");
    ExitCode::FAILURE
}
