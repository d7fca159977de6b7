//! The `gatehouse` executable: parse the command line, load and validate the configuration
//! (exit 78 with every problem on stderr), start telemetry, log the warnings, dispatch.

use std::process::ExitCode;

use clap::Parser;
use gatehouse::cli::{Cli, Command};
use gatehouse::commands;
use gatehouse::config::{EX_CONFIG, Settings};
use gatehouse::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    run(Cli::parse().command).await.unwrap_or_else(|code| code)
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
        Command::Migrate { .. } => {
            configure()?;
            not_wired_yet("migrate")
        }
    })
}

/// Loads the settings, then starts telemetry so that the warnings come out as log lines in the
/// configured format. On a refused configuration prints every problem and yields exit code 78.
fn configure() -> Result<Settings, ExitCode> {
    let (settings, warnings) = Settings::load().map_err(|errors| {
        eprintln!(
            "gatehouse: refusing to start, the configuration has {} problem(s):",
            errors.0.len()
        );
        eprintln!("{errors}");
        ExitCode::from(EX_CONFIG)
    })?;
    if let Err(e) = telemetry::init(&settings.log) {
        eprintln!("gatehouse: logging was already set up, keeping it: {e}");
    }
    for warning in warnings {
        tracing::warn!(variable = warning.variable, "{}", warning.message);
    }
    Ok(settings)
}

/// LEAD: to be replaced by the composition root (`gatehouse::app`), which wires `serve`,
/// `openapi` and `create-superuser`. Until then these commands fail instead of pretending.
fn not_wired_yet(command: &str) -> ExitCode {
    eprintln!("gatehouse {command}: not available in this build yet");
    ExitCode::FAILURE
}
