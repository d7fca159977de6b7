//! The operator's command line (clap derive): what each command and flag is for. Parsing only;
//! the commands themselves live in `commands` and the composition root.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Gatehouse: authentication and user management for the FastAPI template's clients.
///
/// Configuration comes from environment variables and an optional `.env` file in the working
/// directory (see `.env.example`). With no ENVIRONMENT set Gatehouse runs as production and
/// refuses to start without its required settings; `ENVIRONMENT=development` runs with an
/// embedded SQLite database and development defaults. A refused configuration exits with 78.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process arguments, printing help or usage errors and exiting as clap does.
    pub fn from_env() -> Self {
        Self::parse()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server until SIGTERM or SIGINT.
    ///
    /// Listens on HOST:PORT (127.0.0.1:8000 by default), and serves Prometheus metrics at
    /// /metrics on METRICS_ADDR when it is set. In development the database schema is
    /// migrated at start; elsewhere only with --migrate, and a server whose schema is behind
    /// answers /health/ready with 503 until `gatehouse migrate up` has run.
    Serve(ServeArgs),

    /// Apply, roll back or inspect database migrations.
    ///
    /// Uses DATABASE_MIGRATION_URL when set (a direct, non-pooled endpoint with a role allowed
    /// to change the schema), else DATABASE_URL. Concurrent runs are serialised by a database
    /// lock, so every replica may run `migrate up` at deploy time.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },

    /// Print the OpenAPI document, or check that the committed one is current.
    ///
    /// Needs no configuration. Use --check in CI to fail when `openapi/openapi.json` no longer
    /// matches the code.
    Openapi(OpenapiArgs),

    /// Create an active superuser, or report that the address is taken.
    ///
    /// For recovering access or seeding a fresh deployment without FIRST_SUPERUSER. Never
    /// changes an existing account.
    CreateSuperuser(CreateSuperuserArgs),

    /// End every session of an account, leaving the account active.
    ///
    /// "Log out everywhere" after a suspected compromise: every refresh token of the account
    /// stops working at once and its access tokens are refused on their next request. Exits 1
    /// when no account has the address.
    EndSessions(EndSessionsArgs),

    /// Delete long-ended sessions and throttle counters nobody needs any more.
    ///
    /// Every login adds a session and every refresh a token row; every client address that
    /// reaches a throttled route adds a counter. Run this daily (cron, a Kubernetes CronJob):
    /// it deletes sessions over for more than --keep-days, with their refresh tokens, and
    /// counters no throttle rule can still need. Live sessions are never touched.
    Prune(PruneArgs),

    /// Validate the configuration and print a summary without secrets.
    ///
    /// Exits 0 with "configuration OK" when Gatehouse would start, or 78 with one line per
    /// problem. Touches neither the network nor the database: run it before a deploy.
    CheckConfig,

    /// Ask the running server's /health/ready; exit 0 when it answers 200, else 1.
    ///
    /// For container health checks without a shell or curl (the image's HEALTHCHECK). Asks
    /// HOST:PORT as `serve` would listen on them, a wildcard HOST (0.0.0.0, ::) on loopback.
    /// Reads only HOST and PORT, so it logs nothing.
    Healthcheck(HealthcheckArgs),

    /// Print fresh random key material for SECRET_KEY or TOKEN_SIGNING_KEY.
    ///
    /// Writes the secret key to standard output (pipe it into your secret manager or a key
    /// file); a public half, if any, goes to standard error.
    GenerateKey(GenerateKeyArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Apply pending migrations before serving (always done in development).
    ///
    /// Handy for single-instance deployments; with several replicas prefer a separate
    /// `gatehouse migrate up` step.
    #[arg(long)]
    pub migrate: bool,

    /// Debug builds only: also serve two routes that fail on purpose (a 500 and a panic), for
    /// the black-box tests of error reporting.
    #[cfg(debug_assertions)]
    #[arg(long, hide = true)]
    pub test_faults: bool,
}

impl ServeArgs {
    /// Whether the failing routes are mounted; never in a release build.
    pub fn test_faults(&self) -> bool {
        #[cfg(debug_assertions)]
        return self.test_faults;
        #[cfg(not(debug_assertions))]
        false
    }
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply pending migrations (all of them, or the next N).
    Up {
        /// Apply only this many pending migrations.
        #[arg(short = 'n', long = "steps", value_name = "N")]
        steps: Option<u32>,
    },
    /// Roll back applied migrations, newest first (one by default).
    Down {
        /// Roll back this many migrations.
        #[arg(short = 'n', long = "steps", value_name = "N", default_value_t = 1)]
        steps: u32,
    },
    /// List every migration and whether it is applied.
    Status,
    /// Drop every table and re-apply all migrations: DESTROYS ALL DATA.
    ///
    /// For development and test databases only; refused in staging and production.
    Fresh {
        /// Confirm that all data in the database may be destroyed.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct OpenapiArgs {
    /// Write the document to FILE instead of standard output; with --check, the file to compare
    /// against (default `openapi/openapi.json`).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Compare instead of writing: exit non-zero with a summary of the differences when the file
    /// is out of date.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct CreateSuperuserArgs {
    /// The new superuser's email address (compared case-insensitively with existing accounts).
    #[arg(long, value_name = "EMAIL")]
    pub email: String,
    /// Read the password from the first line of standard input instead of prompting, for
    /// scripts: `printf '%s\n' "$PASSWORD" | gatehouse create-superuser --email … --password-stdin`.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct EndSessionsArgs {
    /// The account's email address (compared case-insensitively).
    #[arg(long, value_name = "EMAIL")]
    pub email: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Days an ended session is kept (for the audit trail) before it is deleted.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u16))]
    pub keep_days: u16,
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Seconds to wait for the answer before reporting unhealthy.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=60))]
    pub timeout: u8,
}

#[derive(Debug, Args)]
pub struct GenerateKeyArgs {
    /// Which key to generate.
    #[arg(long, value_enum, default_value_t = KeyKind::SecretKey)]
    pub format: KeyKind,
}

/// Key material `generate-key` can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyKind {
    /// A SECRET_KEY: 64 random URL-safe characters.
    #[value(name = "secret-key")]
    SecretKey,
    /// A TOKEN_SIGNING_KEY for jwt-eddsa: an Ed25519 private key as PKCS#8 PEM (the public key
    /// goes to stderr, for other services' rotation lists).
    #[value(name = "jwt-eddsa")]
    JwtEddsa,
    /// A TOKEN_SIGNING_KEY for paseto-v4-local: a k4.local. PASERK.
    #[value(name = "paseto-v4-local")]
    PasetoV4Local,
    /// A TOKEN_SIGNING_KEY for paseto-v4-public: a k4.secret. PASERK (the k4.public. key goes to
    /// stderr).
    #[value(name = "paseto-v4-public")]
    PasetoV4Public,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_and_flag_has_help() {
        fn check(command: &clap::Command, path: &str) {
            let path = format!("{path} {}", command.get_name());
            assert!(command.get_about().is_some(), "{path} has no help");
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                assert!(
                    builtin || arg.get_help().is_some(),
                    "{path} --{} has no help",
                    arg.get_id()
                );
            }
            for sub in command.get_subcommands() {
                check(sub, &path);
            }
        }
        check(&Cli::command(), "");
    }

    #[test]
    fn migrate_parses_steps_and_confirmation() {
        let cli = Cli::try_parse_from(["gatehouse", "migrate", "down", "-n", "2"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Migrate {
                action: MigrateAction::Down { steps: 2 }
            }
        ));
        let cli = Cli::try_parse_from(["gatehouse", "migrate", "fresh", "--yes"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Migrate {
                action: MigrateAction::Fresh { yes: true }
            }
        ));
    }
}
