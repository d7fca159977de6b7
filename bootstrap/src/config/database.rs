//! The database: `DATABASE_URL` (or the legacy `POSTGRES_*` parts), the direct endpoint for
//! migrations, TLS and engine rules per environment, and the pool (SECURITY.md CFG-03, DB-01,
//! DB-02, DB-04).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use gatehouse_domain::Secret;
use gatehouse_sql::DbOptions;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::parse::Bounds;
use super::raw::RawSettings;
use super::report::Report;
use super::secrets::placeholder;

/// The embedded database used in development when no URL is configured (issue 2 item 4).
pub const DEVELOPMENT_DATABASE_URL: &str = "sqlite://./gatehouse.db?mode=rwc";

/// The engine a URL speaks; the SQL adapter supports both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A database URL ready for sea-orm (any `+driver` suffix removed). `Debug` shows it with the
/// password masked, so logging settings cannot leak it (SECURITY.md CFG-04).
#[derive(Clone)]
pub struct DatabaseUrl {
    url: Secret,
    redacted: String,
    backend: Backend,
}

impl DatabaseUrl {
    /// The URL itself, only for connecting.
    pub fn expose(&self) -> &str {
        self.url.expose()
    }

    /// The URL with its password replaced by `***`, for logs and `check-config`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// Where the service keeps its data and how it pools connections.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// The runtime endpoint (may be a pooler).
    pub url: DatabaseUrl,
    /// `DATABASE_MIGRATION_URL`: a direct endpoint (and typically a DDL-capable role) for
    /// migrations; `None` means migrations use `url`.
    pub migration_url: Option<DatabaseUrl>,
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long a request waits for a pooled connection before answering 503 (DB-02: 3 s).
    pub acquire_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

impl DatabaseSettings {
    /// The URL migrations run against: the direct endpoint when configured, else the runtime one.
    pub fn migration_url(&self) -> &DatabaseUrl {
        self.migration_url.as_ref().unwrap_or(&self.url)
    }

    /// The SQL adapter's options for the runtime pool (`SqlStore::connect`).
    pub fn runtime_options(&self) -> DbOptions {
        self.options(&self.url)
    }

    /// The SQL adapter's options for migrations (`Migrations::connect`): the same pool limits
    /// on [`DatabaseSettings::migration_url`].
    pub fn migration_options(&self) -> DbOptions {
        self.options(self.migration_url())
    }

    fn options(&self, url: &DatabaseUrl) -> DbOptions {
        DbOptions {
            url: url.expose().to_owned(),
            max_connections: self.max_connections,
            min_connections: self.min_connections,
            acquire_timeout: self.acquire_timeout,
            idle_timeout: self.idle_timeout,
            max_lifetime: self.max_lifetime,
        }
    }
}

/// Reads the URLs and the pool. `None` only with an error recorded.
pub(super) fn settings(report: &mut Report, raw: &RawSettings) -> Option<DatabaseSettings> {
    if let Some(password) = raw.postgres_password.as_deref() {
        placeholder(report, "POSTGRES_PASSWORD", password);
    }
    let url = runtime_url(report, raw);
    let migration_url = raw
        .database_migration_url
        .as_deref()
        .and_then(|raw_url| checked_url(report, "DATABASE_MIGRATION_URL", raw_url));
    if let (Some(url), Some(direct)) = (&url, &migration_url)
        && url.backend != direct.backend
    {
        report.error(
            "DATABASE_MIGRATION_URL",
            "must use the same engine as DATABASE_URL (both PostgreSQL or both SQLite)",
        );
    }
    let max_connections = report.number(
        "DATABASE_MAX_CONNECTIONS",
        raw.database_max_connections.as_deref(),
        10,
        // The pool allocates its bookkeeping for the maximum up front.
        Bounds::between(1, 1_000, "connections"),
    );
    let min_connections = report.number(
        "DATABASE_MIN_CONNECTIONS",
        raw.database_min_connections.as_deref(),
        0,
        Bounds::at_least(0, "connections"),
    );
    if min_connections > max_connections {
        report.error(
            "DATABASE_MIN_CONNECTIONS",
            "must not exceed DATABASE_MAX_CONNECTIONS",
        );
    }
    let acquire_timeout = report.seconds(
        "DATABASE_ACQUIRE_TIMEOUT_SECONDS",
        raw.database_acquire_timeout_seconds.as_deref(),
        3,
        1..=300,
    );
    let idle_timeout = report.seconds(
        "DATABASE_IDLE_TIMEOUT_SECONDS",
        raw.database_idle_timeout_seconds.as_deref(),
        300,
        1..=86_400,
    );
    let max_lifetime = report.seconds(
        "DATABASE_MAX_LIFETIME_SECONDS",
        raw.database_max_lifetime_seconds.as_deref(),
        1800,
        1..=86_400,
    );
    Some(DatabaseSettings {
        url: url?,
        migration_url,
        max_connections,
        min_connections,
        acquire_timeout,
        idle_timeout,
        max_lifetime,
    })
}

/// `DATABASE_URL`, else the URL composed from `POSTGRES_*`, else (development only) SQLite.
fn runtime_url(report: &mut Report, raw: &RawSettings) -> Option<DatabaseUrl> {
    if let Some(url) = raw.database_url.as_deref() {
        if raw.postgres_server.is_some() {
            report.warn(
                "POSTGRES_SERVER",
                "is ignored because DATABASE_URL is set (POSTGRES_* only compose a URL when DATABASE_URL is absent)",
            );
        }
        return checked_url(report, "DATABASE_URL", url);
    }
    if let Some(server) = raw.postgres_server.as_deref() {
        let composed = compose(report, raw, server)?;
        return checked_url(report, "POSTGRES_SERVER", &composed);
    }
    if report.strict() {
        report.error(
            "DATABASE_URL",
            "is required outside development/local: expected postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full (or POSTGRES_SERVER, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB)",
        );
        return None;
    }
    report.warn(
        "DATABASE_URL",
        format!(
            "is unset: DEVELOPMENT SETUP ONLY, using the embedded SQLite database {DEVELOPMENT_DATABASE_URL} (created on first start); never run a deployment like this"
        ),
    );
    checked_url(report, "DATABASE_URL", DEVELOPMENT_DATABASE_URL)
}

/// Characters left as they are in user, password and database name; everything else is
/// percent-encoded so a `@` or `/` in a password cannot change the URL's meaning.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The template's `postgresql://USER:PASSWORD@SERVER:PORT/DB`, percent-encoded.
fn compose(report: &mut Report, raw: &RawSettings, server: &str) -> Option<String> {
    let port = report.number(
        "POSTGRES_PORT",
        raw.postgres_port.as_deref(),
        5432u16,
        Bounds::at_least(1, "a port number"),
    );
    let Some(user) = raw.postgres_user.as_deref() else {
        report.error(
            "POSTGRES_USER",
            "is required with POSTGRES_SERVER when DATABASE_URL is unset",
        );
        return None;
    };
    let encode = |part: &str| utf8_percent_encode(part, COMPONENT).to_string();
    let server = if server.contains(':') && !server.starts_with('[') {
        format!("[{server}]")
    } else {
        server.to_owned()
    };
    Some(format!(
        "postgresql://{}:{}@{server}:{port}/{}",
        encode(user),
        encode(raw.postgres_password.as_deref().unwrap_or("")),
        encode(raw.postgres_db.as_deref().unwrap_or("")),
    ))
}

/// Parses a URL and applies the engine and TLS rules. Messages never include the URL.
fn checked_url(report: &mut Report, variable: &'static str, raw: &str) -> Option<DatabaseUrl> {
    let raw = raw.trim();
    if raw.starts_with("sqlite:") {
        if report.strict() {
            report.error(
                variable,
                "SQLite is for development and tests only; staging and production need PostgreSQL (postgres://…)",
            );
        }
        return Some(DatabaseUrl {
            url: Secret::new(raw),
            redacted: raw.to_owned(),
            backend: Backend::Sqlite,
        });
    }
    let postgres = raw.split_once("://").and_then(|(scheme, rest)| {
        let engine = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        matches!(engine.as_str(), "postgres" | "postgresql").then(|| format!("{engine}://{rest}"))
    });
    let parsed = postgres.and_then(|url| Some((url::Url::parse(&url).ok()?, url)));
    let Some((parsed, url)) = parsed else {
        report.error(
            variable,
            "expected postgres://USER:PASSWORD@HOST:PORT/DB (postgresql:// and a +driver suffix are accepted) or a sqlite: URL",
        );
        return None;
    };
    // A composed URL's password is POSTGRES_PASSWORD, already checked under that name.
    if variable != "POSTGRES_SERVER"
        && let Some(password) = parsed.password()
    {
        let password = percent_decode_str(password).decode_utf8_lossy();
        let part = if variable == "DATABASE_URL" {
            "DATABASE_URL password"
        } else {
            "DATABASE_MIGRATION_URL password"
        };
        placeholder(report, part, &password);
    }
    let host = parsed
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'));
    check_tls(report, variable, host, &parsed);
    let mut redacted = parsed.clone();
    if parsed.password().is_some() {
        // Setting a password only fails on URLs without a host, which have none to hide.
        let _ = redacted.set_password(Some("***"));
    }
    Some(DatabaseUrl {
        url: Secret::new(url),
        redacted: redacted.to_string(),
        backend: Backend::Postgres,
    })
}

/// A remote PostgreSQL server must be reached over TLS (`sslmode=require` or stronger);
/// `require` and `verify-ca` are accepted with a warning because only `verify-full` checks the
/// host name (SECURITY.md DB-01). Loopback and Unix-socket connections are exempt.
fn check_tls(report: &mut Report, variable: &'static str, host: Option<&str>, url: &url::Url) {
    let local = match host {
        None | Some("") | Some("localhost") => true,
        Some(host) => host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
    };
    if local {
        return;
    }
    let sslmode = url
        .query_pairs()
        .find(|(key, _)| key == "sslmode" || key == "ssl-mode")
        .map(|(_, value)| value.to_ascii_lowercase());
    let fix = if variable == "POSTGRES_SERVER" {
        "set DATABASE_URL with ?sslmode=verify-full instead of POSTGRES_*"
    } else {
        "add ?sslmode=verify-full"
    };
    match sslmode.as_deref() {
        Some("verify-full") => {}
        Some("require" | "verify-ca") => {
            if report.strict() {
                report.warn(
                    variable,
                    "uses an sslmode that encrypts but does not verify the server's host name; prefer sslmode=verify-full (SECURITY.md DB-01)",
                );
            }
        }
        _ => report.weak(
            variable,
            format!("connects to a remote PostgreSQL host without TLS: {fix}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_with(url: Option<&str>) -> RawSettings {
        RawSettings {
            database_url: url.map(str::to_owned),
            ..RawSettings::default()
        }
    }

    fn validate(strict: bool, raw: &RawSettings) -> (Option<DatabaseSettings>, Report) {
        let mut report = Report::new();
        report.set_strict(strict);
        (settings(&mut report, raw), report)
    }

    #[test]
    fn production_refuses_sqlite_missing_urls_and_unencrypted_remote_hosts() {
        for url in [
            None,
            Some("sqlite://x.db"),
            Some("postgres://app:pw@db.example.com/app"),
            Some("postgres://app:pw@db.example.com/app?sslmode=disable"),
            Some("postgres://app:pw@db.example.com/app?sslmode=prefer"),
            Some("mysql://app:pw@db.example.com/app"),
            Some("postgres://app:pw@[::1/app"),
        ] {
            let (_, report) = validate(true, &raw_with(url));
            let errors = report.finish().unwrap_err();
            assert!(errors.names("DATABASE_URL"), "{url:?}");
            assert!(!errors.to_string().contains("pw@"), "URL echoed: {errors}");
        }
    }

    #[test]
    fn production_accepts_tls_and_loopback() {
        for url in [
            "postgres://app:pw@db.example.com/app?sslmode=verify-full",
            "postgresql+psycopg://app:pw@localhost:5432/app",
            "postgres://app:pw@127.0.0.1/app",
            "postgres://app:pw@[::1]:5432/app",
        ] {
            let (db, report) = validate(true, &raw_with(Some(url)));
            assert!(report.finish().unwrap().is_empty(), "{url}");
            assert_eq!(db.unwrap().url.backend(), Backend::Postgres);
        }
        let (_, report) = validate(
            true,
            &raw_with(Some("postgres://app:pw@db.example.com/app?sslmode=require")),
        );
        assert_eq!(report.finish().unwrap().len(), 1, "require warns");
    }

    #[test]
    fn the_driver_suffix_is_dropped_and_the_password_is_masked() {
        let (db, _) = validate(
            true,
            &raw_with(Some("postgresql+psycopg://app:s3cr%40t@localhost/app")),
        );
        let url = db.unwrap().url;
        assert_eq!(url.expose(), "postgresql://app:s3cr%40t@localhost/app");
        assert_eq!(url.redacted(), "postgresql://app:***@localhost/app");
        assert!(!format!("{url:?}").contains("s3cr"));
    }

    #[test]
    fn postgres_parts_compose_a_percent_encoded_url_only_without_database_url() {
        let mut raw = RawSettings {
            postgres_server: Some("localhost".into()),
            postgres_user: Some("app".into()),
            postgres_password: Some("p@ss/w:rd".into()),
            postgres_db: Some("gate house".into()),
            ..RawSettings::default()
        };
        let (db, report) = validate(true, &raw);
        assert!(report.finish().is_ok());
        assert_eq!(
            db.unwrap().url.expose(),
            "postgresql://app:p%40ss%2Fw%3Ard@localhost:5432/gate%20house"
        );
        raw.database_url = Some("postgres://other@localhost/x".into());
        let (db, _) = validate(true, &raw);
        assert_eq!(db.unwrap().url.expose(), "postgres://other@localhost/x");
    }

    #[test]
    fn composed_remote_urls_need_tls_and_a_user() {
        let raw = RawSettings {
            postgres_server: Some("db".into()),
            postgres_user: Some("app".into()),
            ..RawSettings::default()
        };
        let (_, report) = validate(true, &raw);
        assert!(report.finish().unwrap_err().names("POSTGRES_SERVER"));
        let raw = RawSettings {
            postgres_server: Some("localhost".into()),
            postgres_port: Some("x".into()),
            ..RawSettings::default()
        };
        let (_, report) = validate(true, &raw);
        let errors = report.finish().unwrap_err();
        assert!(errors.names("POSTGRES_USER") && errors.names("POSTGRES_PORT"));
    }

    #[test]
    fn placeholder_database_passwords_follow_the_changethis_rule() {
        let raw = RawSettings {
            database_url: Some("postgres://app:changethis@localhost/app".into()),
            postgres_password: Some("changeme".into()),
            ..RawSettings::default()
        };
        let (_, report) = validate(true, &raw);
        let errors = report.finish().unwrap_err();
        assert!(errors.0.iter().any(|e| e.variable == "DATABASE_URL password"
            && e.message == "The value of DATABASE_URL password is \"changethis\", for security, please change it, at least for deployments."));
        assert!(errors.names("POSTGRES_PASSWORD"));
        let (_, report) = validate(false, &raw);
        assert_eq!(report.finish().unwrap().len(), 2);
    }

    #[test]
    fn development_falls_back_to_sqlite_loudly() {
        let (db, report) = validate(false, &raw_with(None));
        let db = db.unwrap();
        assert_eq!(db.url.expose(), DEVELOPMENT_DATABASE_URL);
        assert_eq!(db.url.backend(), Backend::Sqlite);
        let warnings = report.finish().unwrap();
        assert!(warnings[0].message.contains("DEVELOPMENT SETUP"));
    }

    #[test]
    fn migration_url_must_use_the_same_engine() {
        let raw = RawSettings {
            database_url: Some("postgres://a@localhost/app".into()),
            database_migration_url: Some("sqlite://m.db".into()),
            ..RawSettings::default()
        };
        let (_, report) = validate(false, &raw);
        assert!(report.finish().unwrap_err().names("DATABASE_MIGRATION_URL"));
        let raw = RawSettings {
            database_url: Some("postgres://a@ep-x-pooler.neon.tech/app?sslmode=verify-full".into()),
            database_migration_url: Some(
                "postgres://a@ep-x.neon.tech/app?sslmode=verify-full".into(),
            ),
            ..RawSettings::default()
        };
        let (db, report) = validate(true, &raw);
        assert!(report.finish().is_ok());
        assert_eq!(
            db.unwrap().migration_url().expose(),
            "postgres://a@ep-x.neon.tech/app?sslmode=verify-full"
        );
    }

    #[test]
    fn pool_values_are_checked() {
        let raw = RawSettings {
            database_url: Some("postgres://a@localhost/app".into()),
            database_max_connections: Some("2".into()),
            database_min_connections: Some("3".into()),
            ..RawSettings::default()
        };
        let (_, report) = validate(true, &raw);
        assert!(
            report
                .finish()
                .unwrap_err()
                .names("DATABASE_MIN_CONNECTIONS")
        );
        let (db, _) = validate(true, &raw_with(Some("postgres://a@localhost/app")));
        let db = db.unwrap();
        assert_eq!(
            (db.max_connections, db.min_connections, db.acquire_timeout),
            (10, 0, Duration::from_secs(3))
        );
        let options = db.migration_options();
        assert_eq!(options.url, "postgres://a@localhost/app");
        assert_eq!(options.max_lifetime, Duration::from_secs(1800));
    }
}
