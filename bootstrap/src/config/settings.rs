//! The typed, validated configuration and the order in which its sections are checked.

use std::net::SocketAddr;
use std::path::PathBuf;

use gatehouse_application::Policy;
use gatehouse_domain::Secret;

use crate::telemetry::LogSettings;

use super::database::{self, DatabaseSettings};
use super::environment::{self, Environment};
use super::mail::{self, MailSettings};
use super::observability::{self, ObservabilitySettings};
use super::policy::{self, HashingSettings};
use super::secrets::{self, FirstSuperuser};
use super::server::{self, ServerSettings};
use super::source;
use super::tokens::{self, AccessTokenSettings};
use super::vars::{ConfigError, ConfigErrors, Vars, Warning, recognise};

/// The only API prefix Gatehouse serves; `API_V1_STR` may only repeat it (CONTRACT.md §11).
pub const API_V1_STR: &str = "/api/v1";

/// Everything the binary needs, validated once at start-up. `Debug` shows no secret: keys,
/// passwords and database URLs are redacting types (SECURITY.md CFG-04). Not `Clone`: the token
/// keys are moved into the token service.
#[derive(Debug)]
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
    /// Metrics and Sentry (issue 15).
    pub observability: ObservabilitySettings,
    pub database: DatabaseSettings,
    /// Token format with parsed keys and claims, for `gatehouse_tokens::build_access_tokens`.
    pub tokens: AccessTokenSettings,
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
        Self::from_vars(source::gather(&working_dir())?)
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
        validate(Vars::new(&recognise(vars)?))
    }

    /// The address `gatehouse serve` listens on (`HOST:PORT` from the environment over `./.env`),
    /// read without validating anything else, for `gatehouse healthcheck`: a probe must not
    /// depend on settings it does not use, nor log their warnings every few seconds.
    ///
    /// # Errors
    /// A `.env` that cannot be read, or a malformed `HOST` or `PORT`.
    pub fn listen_address() -> Result<SocketAddr, ConfigErrors> {
        let values = recognise(source::gather(&working_dir())?)?;
        let mut vars = Vars::new(&values);
        let address = server::bind(&mut vars);
        vars.finish().map(|_| address)
    }

    /// The effective configuration as `(topic, value)` lines without secrets, for
    /// `gatehouse check-config`: each section describes itself.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![
            ("environment", self.environment.to_string()),
            ("project name", self.project_name.clone()),
        ];
        lines.extend(database::describe(&self.database));
        let log = format!("{:?}, filter {}", self.log.format, self.log.filter);
        lines.extend([
            ("log", log),
            ("access tokens", tokens::describe(&self.tokens)),
        ]);
        lines.extend(policy::describe(&self.policy, &self.hashing));
        lines.extend(server::describe(&self.server));
        lines.push(("email", mail::describe(self.mail.as_ref())));
        let superuser = self.first_superuser.as_ref().map(|s| s.email.to_string());
        lines.push((
            "first superuser",
            superuser.unwrap_or_else(|| "none".to_owned()),
        ));
        lines.extend(observability::describe(&self.observability));
        lines
    }
}

fn working_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Checks every section, collecting all problems; the environment goes first because it
/// decides which weaknesses are errors.
fn validate(mut v: Vars<'_>) -> Result<(Settings, Vec<Warning>), ConfigErrors> {
    let environment = environment::resolve(&mut v);
    let development = environment.is_development();
    v.set_strict(!development);
    if v.get("API_V1_STR")
        .is_some_and(|prefix| prefix != API_V1_STR)
    {
        v.error(
            "API_V1_STR",
            "Gatehouse serves its API under /api/v1 only; unset API_V1_STR or set it to /api/v1",
        );
    }
    let project_name = v.get("PROJECT_NAME").unwrap_or("Gatehouse").to_owned();
    let secret_key = secrets::secret_key(&mut v);
    let database = database::settings(&mut v);
    let first_superuser = secrets::first_superuser(&mut v);
    let frontend_host = server::frontend_host(&mut v);
    let server = server::settings(&mut v, &frontend_host);
    let log = observability::log(&mut v, development);
    let tokens = tokens::settings(&mut v, environment, secret_key.as_ref());
    // Mail links and subjects use the same values as CORS and OpenAPI (CONTRACT.md §4.3, RT-14).
    let policy = Policy {
        frontend_host: frontend_host.clone(),
        project_name: project_name.clone(),
        ..policy::policy(&mut v)
    };
    let hashing = policy::hashing(&mut v);
    let mail = mail::settings(&mut v, &project_name);
    let observability = observability::settings(&mut v, server.bind, development);
    match (v.finish(), secret_key, database, tokens) {
        (Err(errors), ..) => Err(errors),
        (Ok(warnings), Some(secret_key), Some(database), Some(tokens)) => Ok((
            Settings {
                environment,
                project_name,
                secret_key,
                frontend_host,
                server,
                log,
                observability,
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
        (Ok(_), ..) => Err(ConfigErrors(vec![ConfigError {
            variable: "configuration",
            message: "a required setting is missing".to_owned(),
        }])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "kX9-2mQ_vR7tL4wZ8nB1cY6hJ3pF0sD5gA";
    const DB: &str =
        "postgres://gatehouse:db-pass-31337@db.example.com/gatehouse?sslmode=verify-full";

    fn load(vars: &[(&str, &str)]) -> Result<(Settings, Vec<Warning>), ConfigErrors> {
        Settings::from_vars(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    }

    fn production<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let base = [
            ("ENVIRONMENT", "production"),
            ("SECRET_KEY", KEY),
            ("DATABASE_URL", DB),
        ];
        base.iter().chain(extra).copied().collect()
    }

    #[test]
    fn a_minimal_production_configuration_is_accepted_silently() {
        let (settings, warnings) = load(&production(&[])).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(settings.environment, Environment::Production);
        assert!(settings.first_superuser.is_none() && settings.mail.is_none());
        assert_eq!(settings.log.format, crate::telemetry::LogFormat::Json);
    }

    #[test]
    fn frontend_host_and_project_name_reach_the_mails() {
        let (settings, _) = load(&production(&[
            ("FRONTEND_HOST", "https://app.example.com/"),
            ("PROJECT_NAME", "Acme Portal"),
        ]))
        .unwrap();
        assert_eq!(settings.policy.frontend_host, "https://app.example.com");
        assert_eq!(settings.policy.project_name, "Acme Portal");
    }

    #[test]
    fn every_problem_is_reported_at_once_without_the_secret() {
        let errors = load(&[
            ("ENVIRONMENT", "production"),
            ("SECRET_KEY", "short"),
            ("DATABASE_URL", "sqlite://x.db"),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "abc"),
        ])
        .unwrap_err();
        let names: Vec<&str> = errors.0.iter().map(|e| e.variable).collect();
        assert_eq!(
            names,
            ["SECRET_KEY", "DATABASE_URL", "ACCESS_TOKEN_EXPIRE_MINUTES"]
        );
        assert!(!errors.to_string().contains("short"));
    }

    #[test]
    fn nothing_set_means_production_and_names_what_is_missing() {
        let errors = load(&[]).unwrap_err();
        assert!(errors.names("SECRET_KEY") && errors.names("DATABASE_URL"));
        let errors = load(&[("FIRST_SUPERUSER", "root@example.com")]).unwrap_err();
        assert_eq!(errors.0.len(), 3, "{errors}");
    }

    #[test]
    fn development_with_nothing_set_starts_with_warnings() {
        let (settings, warnings) = load(&[("ENVIRONMENT", "development")]).unwrap();
        assert_eq!(
            settings.database.url.expose(),
            database::DEVELOPMENT_DATABASE_URL
        );
        assert_eq!(settings.log.format, crate::telemetry::LogFormat::Pretty);
        let warned: Vec<&str> = warnings.iter().map(|w| w.variable).collect();
        for variable in [
            "SECRET_KEY",
            "DATABASE_URL",
            "FIRST_SUPERUSER",
            "FIRST_SUPERUSER_PASSWORD",
        ] {
            assert!(
                warned.contains(&variable),
                "{variable} not warned: {warned:?}"
            );
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let (settings, _) = load(&production(&[
            ("FIRST_SUPERUSER", "root@example.com"),
            ("FIRST_SUPERUSER_PASSWORD", "seed-pass-31337"),
            ("SMTP_HOST", "smtp.example.com"),
            ("SMTP_PASSWORD", "smtp-pass-31337"),
            ("EMAILS_FROM_EMAIL", "noreply@example.com"),
        ]))
        .unwrap();
        let shown = format!("{settings:?}");
        for secret in [KEY, "db-pass-31337", "seed-pass-31337", "smtp-pass-31337"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("root@example.com"),
            "non-secrets stay visible"
        );
    }

    /// SECURITY.md pitfall E2: a malformed optional fails instead of falling back to its default.
    /// Each case's last variable is the one that must be named.
    #[test]
    fn every_optional_refuses_a_malformed_value() {
        let cases: &[&[(&str, &str)]] = &[
            &[("ENVIRONMENT", "prodution")],
            &[("FASTAPI_ENV", "production")],
            &[("API_V1_STR", "/api/v2")],
            &[("DATABASE_URL", "mysql://db/app")],
            &[("DATABASE_MIGRATION_URL", "not a url")],
            &[
                ("POSTGRES_SERVER", "localhost"),
                ("POSTGRES_USER", "app"),
                ("POSTGRES_PORT", "x"),
            ],
            &[("DATABASE_MAX_CONNECTIONS", "0")],
            &[("DATABASE_MIN_CONNECTIONS", "-1")],
            &[("DATABASE_ACQUIRE_TIMEOUT_SECONDS", "0")],
            &[("DATABASE_IDLE_TIMEOUT_SECONDS", "5m")],
            &[("DATABASE_MAX_LIFETIME_SECONDS", "x")],
            &[
                ("FIRST_SUPERUSER_PASSWORD", "long enough"),
                ("FIRST_SUPERUSER", "root"),
            ],
            &[
                ("FIRST_SUPERUSER", "root@example.com"),
                ("FIRST_SUPERUSER_PASSWORD", "7chars!"),
            ],
            &[("HOST", "localhost")],
            &[("PORT", "99999")],
            &[("LOG_FORMAT", "xml")],
            &[("RUST_LOG", "gatehouse=loud")],
            &[("DOCS_ENABLED", "maybe")],
            &[("MAX_BODY_BYTES", "0")],
            &[("REQUEST_TIMEOUT_SECONDS", "0")],
            &[("READ_TIMEOUT_SECONDS", "0")],
            &[("SHUTDOWN_GRACE_SECONDS", "-1")],
            &[("TRUSTED_PROXIES", "proxy.internal")],
            &[("FRONTEND_DIR", "/nonexistent/dist")],
            &[("FRONTEND_HOST", "localhost:5173")],
            &[("BACKEND_CORS_ORIGINS", "https://a.example.com/app")],
            &[("ACCESS_TOKEN_EXPIRE_MINUTES", "abc")],
            &[("ACCESS_TOKEN_EXPIRE_MINUTES", "0")],
            &[("TOKEN_FORMAT", "jwt-rs256")],
            &[("TOKEN_ISSUER", "gate house")],
            &[("TOKEN_AUDIENCE", "ä")],
            &[("TOKEN_SIGNING_KEY_FILE", "/nonexistent/key")],
            &[("TOKEN_VERIFICATION_KEYS_FILE", "/nonexistent/keys")],
            &[("REFRESH_TOKEN_LIFETIME_DAYS", "0")],
            &[("SESSION_IDLE_TIMEOUT_DAYS", "x")],
            &[("REFRESH_GRACE_SECONDS", "31")],
            &[("REFRESH_GRACE_SECONDS", "-1")],
            &[("REFRESH_GRACE_SECONDS", "x")],
            &[("EMAIL_RESET_TOKEN_EXPIRE_HOURS", "0")],
            &[("ARGON2_MEMORY_KIB", "lots")],
            &[("ARGON2_ITERATIONS", "0")],
            &[("ARGON2_PARALLELISM", "0")],
            &[("HASHING_CONCURRENCY", "0")],
            &[("HASHING_QUEUE_TIMEOUT_SECONDS", "0")],
            &[("SMTP_PORT", "smtp")],
            &[("SMTP_TLS", "perhaps")],
            &[("SMTP_SSL", "2")],
            &[("EMAILS_FROM_EMAIL", "noreply")],
            &[("EMAILS_FROM_EMAIL", "not-an-address")],
            &[("SMTP_CA_FILE", "/nonexistent/ca.pem")],
            &[("METRICS_ADDR", "localhost:9100")],
            &[("SENTRY_DSN", "sentry.example.com")],
        ];
        for case in cases {
            let mut vars = vec![("ENVIRONMENT", "development")];
            vars.retain(|(name, _)| !case.iter().any(|(n, _)| n == name));
            vars.extend_from_slice(case);
            let errors = load(&vars).unwrap_err();
            let named = case.last().unwrap().0;
            assert!(errors.names(named), "{named}: {errors}");
        }
    }

    #[test]
    fn template_variables_are_accepted_and_sentry_reports_outside_development() {
        let (settings, warnings) = load(&production(&[
            ("SENTRY_DSN", "https://key@sentry.example.com/1"),
            ("EMAIL_TEST_USER", "test@example.com"),
        ]))
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(settings.observability.sentry.dsn().is_some());
        assert!(!format!("{settings:?}").contains("key@"));
    }

    #[test]
    fn env_example_is_a_valid_development_setup_and_refused_in_production() {
        let example = include_str!("../../../.env.example");
        let vars: Vec<(String, String)> = dotenvy::from_read_iter(example.as_bytes())
            .map(Result::unwrap)
            .collect();
        assert!(vars.contains(&("SECRET_KEY".into(), super::super::EXAMPLE_SECRET_KEY.into())));
        let (settings, _) = Settings::from_vars(vars.clone()).unwrap();
        assert!(settings.environment.is_development());
        let production = vars
            .into_iter()
            .chain([("ENVIRONMENT".into(), "production".into())]);
        let errors = Settings::from_vars(production).unwrap_err();
        for variable in ["SECRET_KEY", "DATABASE_URL", "FIRST_SUPERUSER_PASSWORD"] {
            assert!(errors.names(variable), "{variable} accepted in production");
        }
    }
}
