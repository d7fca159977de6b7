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
        Command::Healthcheck(args) => commands::healthcheck::run(&args).await,
        Command::Openapi(args) => commands::openapi::run(&args),
        Command::Serve(args) => {
            commands::serve::run(configure()?, args.migrate, args.test_faults()).await
        }
        Command::CreateSuperuser(args) => {
            commands::create_superuser::run(configure()?, &args).await
        }
        Command::EndSessions(args) => commands::end_sessions::run(configure()?, &args).await,
        Command::Prune(args) => commands::prune::run(configure()?, &args).await,
        Command::Migrate { action } => commands::migrate::run(&configure()?, action).await,
    })
}
