//! `gatehouse migrate up|down|status|fresh`: the SQL adapter's migration runner (advisory lock,
//! pooler refusal) on `DATABASE_MIGRATION_URL`, else `DATABASE_URL`. `fresh` needs `--yes` and
//! is refused outside development/local whatever the flag says.

use std::process::ExitCode;

use gatehouse_sql::migrate::Migrations;

use crate::cli::MigrateAction;
use crate::config::Settings;

/// Why the command stopped before or while migrating.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error(
        "`migrate fresh` drops every table of the database; it is refused in {0} even with --yes"
    )]
    FreshOutsideDevelopment(&'static str),
    #[error("`migrate fresh` drops every table of the database; re-run with --yes to confirm")]
    FreshUnconfirmed,
    #[error(transparent)]
    Migrate(#[from] gatehouse_sql::migrate::MigrateError),
}

/// Runs one action; failures are logged with their cause chain and exit 1.
pub async fn run(settings: &Settings, action: MigrateAction) -> ExitCode {
    match migrate(settings, action).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %gatehouse_domain::error_chain(&e), "migrate failed");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(settings: &Settings, action: MigrateAction) -> Result<(), Refusal> {
    if let MigrateAction::Fresh { yes } = action {
        if !settings.environment.is_development() {
            return Err(Refusal::FreshOutsideDevelopment(
                settings.environment.as_str(),
            ));
        }
        if !yes {
            return Err(Refusal::FreshUnconfirmed);
        }
    }
    let migrations = Migrations::connect(&settings.database.migration_options()).await?;
    match action {
        MigrateAction::Up { steps } => {
            migrations.up(steps).await?;
            tracing::info!(pending = migrations.pending().await?, "migrations applied");
        }
        MigrateAction::Down { steps } => {
            migrations.down(Some(steps)).await?;
            tracing::info!(steps, "migrations rolled back");
        }
        MigrateAction::Fresh { .. } => {
            migrations.fresh().await?;
            tracing::info!("database dropped and every migration applied");
        }
        MigrateAction::Status => {
            for state in migrations.status().await? {
                let mark = if state.applied { "applied" } else { "pending" };
                println!("{mark}  {}", state.name);
            }
            for column in migrations.unfillable_columns().await? {
                println!(
                    "problem  {column} is required and has no default: Gatehouse cannot fill \
                     it, so inserts fail and readiness reports not ready; give it a default or \
                     allow NULL"
                );
            }
        }
    }
    Ok(())
}
