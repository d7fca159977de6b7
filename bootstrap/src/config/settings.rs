//! The typed, validated configuration and the order in which its sections are checked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gatehouse_application::Policy;
use gatehouse_domain::Secret;

use crate::telemetry::LogSettings;

use super::database::{self, DatabaseSettings};
use super::environment::{self, Environment};
use super::mail::{self, MailSettings};
use super::policy::{self, HashingSettings};
use super::raw::RawSettings;
use super::report::{ConfigError, ConfigErrors, Report, Warning};
use super::secrets::{self, FirstSuperuser};
use super::server::{self, ServerSettings};
use super::tokens::{self, TokenSettings};
use super::{logging, source};

/// The only API prefix Gatehouse serves; `API_V1_STR` may only repeat it (CONTRACT.md §11).
pub const API_V1_STR: &str = "/api/v1";

/// Everything the binary needs, validated once at start-up. `Debug` shows no secret: keys,
/// passwords and database URLs are redacting types (SECURITY.md CFG-04).
#[derive(Clone, Debug)]
pub struct Settings {
    pub environment: Environment,
    /// OpenAPI title, email subjects, default sender name.
    pub project_name: String,
    /// HS256 key and the root of derived keys; random per process in development when unset.
    pub secret_key: Secret,
    /// The web front end's origin: first CORS origin and base of links in emails.
    pub frontend_host: String,
    pub server: ServerSettings,
    pub log: LogSettings,
    pub database: DatabaseSettings,
    pub tokens: TokenSettings,
    /// Session, reset-token and throttle rules, ready for `Gatehouse::new`.
    pub policy: Policy,
    pub hashing: HashingSettings,
    /// `None` when email is off (no `SMTP_HOST` or no `EMAILS_FROM_EMAIL`).
    pub mail: Option<MailSettings>,
    /// Seeded at start-up unless the address exists.
    pub first_superuser: Option<FirstSuperuser>,
}

impl Settings {
    /// Reads the process environment over `./.env` and validates it.
    ///
    /// # Errors
    /// Every problem found, one per line; the binary prints them and exits with 78.
    pub fn load() -> Result<(Self, Vec<Warning>), ConfigErrors> {
        let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Self::from_vars(source::gather(&dir)?)
    }

    /// Validates the given variables alone (no process environment, no `.env`): the pure core
    /// of [`Settings::load`], for tests. Empty values count as unset; a repeated name keeps the
    /// last value. The warnings are for the caller to log once telemetry is up.
    ///
    /// # Errors
    /// Every problem found.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<Warning>), ConfigErrors> {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .collect();
        // Every field is an optional string, so envy cannot fail on a value; keep its message
        // out of the output anyway, in case a future field type would quote one.
        let raw: RawSettings = envy::from_iter(vars).map_err(|_| {
            ConfigErrors(vec![ConfigError {
                variable: "environment",
                message: "could not be read".to_owned(),
            }])
        })?;
        validate(&raw)
    }

    /// The effective configuration as `(topic, value)` lines without secrets, for
    /// `gatehouse check-config`.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let seconds = |d: std::time::Duration| format!("{} s", d.as_secs());
        let database = &self.database;
        let tokens = &self.tokens;
        let server = &self.server;
        let policy = &self.policy;
        let hashing = &self.hashing;
        let signing = match (&tokens.signing_key, &tokens.signing_key_id) {
            (None, _) => "SECRET_KEY".to_owned(),
            (Some(_), None) => "TOKEN_SIGNING_KEY (kid derived)".to_owned(),
            (Some(_), Some(kid)) => format!("TOKEN_SIGNING_KEY (kid {kid})"),
        };
        vec![
            ("environment", self.environment.to_string()),
            ("project name", self.project_name.clone()),
            ("listen on", server.bind.to_string()),
            ("database", database.url.redacted().to_owned()),
            (
                "migrations via",
                database.migration_url().redacted().to_owned(),
            ),
            (
                "database pool",
                format!(
                    "{}–{} connections, acquire timeout {}, idle {}, lifetime {}",
                    database.min_connections,
                    database.max_connections,
                    seconds(database.acquire_timeout),
                    seconds(database.idle_timeout),
                    seconds(database.max_lifetime)
                ),
            ),
            (
                "log",
                format!("{:?}, filter {}", self.log.format, self.log.filter),
            ),
            (
                "access tokens",
                format!(
                    "{}, issuer {}, audience {}, {} min, signed with {signing}",
                    tokens.format.as_str(),
                    tokens.issuer,
                    tokens.audience,
                    tokens.access_token_lifetime.whole_minutes()
                ),
            ),
            (
                "sessions",
                format!(
                    "{} days, idle {} days, refresh grace {} s, reset tokens {} h",
                    policy.session_lifetime.whole_days(),
                    policy.session_idle_timeout.whole_days(),
                    policy.refresh_grace.whole_seconds(),
                    policy.reset_token_lifetime.whole_hours()
                ),
            ),
            ("throttling", policy::describe_throttles(&policy.throttle)),
            (
                "password hashing",
                format!(
                    "argon2id m={} KiB t={} p={}, {} at once, queue timeout {}",
                    hashing.memory_kib,
                    hashing.iterations,
                    hashing.parallelism,
                    hashing.concurrency,
                    seconds(hashing.queue_timeout)
                ),
            ),
            ("cors origins", describe_origins(&server.cors_origins)),
            (
                "trusted proxies",
                if server.trusted_proxies.is_empty() {
                    "none (the socket peer is the client)".to_owned()
                } else {
                    let nets: Vec<String> = server
                        .trusted_proxies
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    nets.join(", ")
                },
            ),
            (
                "limits",
                format!(
                    "body {} bytes, request timeout {}, shutdown grace {}, docs {}",
                    server.max_body_bytes,
                    seconds(server.request_timeout),
                    seconds(server.shutdown_grace),
                    if server.docs_enabled { "on" } else { "off" }
                ),
            ),
            (
                "email",
                self.mail.as_ref().map_or("off".to_owned(), |mail| {
                    format!(
                        "{}:{} ({:?}) from {} <{}>",
                        mail.smtp_host,
                        mail.smtp_port,
                        mail.security,
                        mail.from_name,
                        mail.from_email
                    )
                }),
            ),
            (
                "first superuser",
                self.first_superuser
                    .as_ref()
                    .map_or("none".to_owned(), |s| s.email.to_string()),
            ),
        ]
    }
}

fn describe_origins(origins: &server::AllowedOrigins) -> String {
    match origins {
        server::AllowedOrigins::Any => "any (development only)".to_owned(),
        server::AllowedOrigins::List(list) => list.join(", "),
    }
}

/// Checks every section, collecting all problems; the environment goes first because it
/// decides which weaknesses are errors.
fn validate(raw: &RawSettings) -> Result<(Settings, Vec<Warning>), ConfigErrors> {
    let mut report = Report::new();
    let environment = environment::resolve(
        &mut report,
        raw.environment.as_deref(),
        raw.fastapi_env.as_deref(),
    );
    let development = environment.is_development();
    report.set_strict(!development);
    if raw
        .api_v1_str
        .as_deref()
        .is_some_and(|prefix| prefix != API_V1_STR)
    {
        report.error(
            "API_V1_STR",
            "Gatehouse serves its API under /api/v1 only; unset API_V1_STR or set it to /api/v1",
        );
    }
    let project_name = raw
        .project_name
        .clone()
        .unwrap_or_else(|| "Gatehouse".to_owned());
    let secret_key = secrets::secret_key(&mut report, raw.secret_key.as_deref());
    let database = database::settings(&mut report, raw);
    let first_superuser = secrets::first_superuser(
        &mut report,
        raw.first_superuser.as_deref(),
        raw.first_superuser_password.as_deref(),
    );
    let frontend_host = server::frontend_host(&mut report, raw.frontend_host.as_deref());
    let server = server::settings(&mut report, raw, &frontend_host);
    let log = logging::settings(&mut report, raw, development);
    let tokens = tokens::settings(&mut report, raw, development);
    let policy = policy::policy(&mut report, raw);
    let hashing = policy::hashing(&mut report, raw);
    let mail = mail::settings(&mut report, raw, &project_name);
    if raw.sentry_dsn.is_some() {
        report.warn(
            "SENTRY_DSN",
            "is set but Gatehouse does not report to Sentry; it is ignored",
        );
    }
    match (report.finish(), secret_key.zip(database)) {
        (Err(errors), _) => Err(errors),
        (Ok(warnings), Some((secret_key, database))) => Ok((
            Settings {
                environment,
                project_name,
                secret_key,
                frontend_host,
                server,
                log,
                database,
                tokens,
                policy,
                hashing,
                mail,
                first_superuser,
            },
            warnings,
        )),
        // Each section records an error whenever it yields nothing; this only guards that rule.
        (Ok(_), None) => Err(ConfigErrors(vec![ConfigError {
            variable: "configuration",
            message: "a required setting is missing".to_owned(),
        }])),
    }
}
