//! The database: `DATABASE_URL` (or the legacy `POSTGRES_*` parts), the direct endpoint for
//! migrations, TLS and engine rules per environment, and the pool (SECURITY.md CFG-03, DB-01,
//! DB-02, DB-04). An explicit `sslmode=disable` to a private-network host is the one way to run
//! without TLS outside development (issue 12 item 3: the template's compose network).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use gatehouse_domain::Secret;
use gatehouse_sql::{DatabaseTarget, DbOptions, Engine};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::parse::{Bounds, seconds};
use super::raw::RawSettings;
use super::report::Report;
use super::secrets::placeholder;

/// The embedded database used in development when no URL is configured (issue 2 item 4).
pub const DEVELOPMENT_DATABASE_URL: &str = "sqlite://./gatehouse.db?mode=rwc";

/// A database URL ready for sea-orm (any `+driver` suffix removed). `Debug` shows it with the
/// password masked, so logging settings cannot leak it (SECURITY.md CFG-04).
#[derive(Clone)]
pub struct DatabaseUrl {
    url: Secret,
    redacted: String,
    engine: Engine,
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

    /// Whether it names SQLite (else PostgreSQL).
    pub fn is_sqlite(&self) -> bool {
        matches!(self.engine, Engine::Sqlite { .. })
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
        && url.is_sqlite() != direct.is_sqlite()
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
        if raw.postgres_sslmode.is_some() {
            report.warn(
                "POSTGRES_SSLMODE",
                "is ignored because DATABASE_URL is set (put ?sslmode=… in DATABASE_URL instead)",
            );
        }
        return checked_url(report, "DATABASE_URL", url);
    }
    if let Some(server) = raw.postgres_server.as_deref() {
        let composed = compose(report, raw, server)?;
        return checked_url(report, "POSTGRES_SERVER", &composed);
    }
    if raw.postgres_sslmode.is_some() {
        report.warn(
            "POSTGRES_SSLMODE",
            "is ignored because POSTGRES_SERVER is unset (it only completes a URL composed from POSTGRES_*)",
        );
    }
    if report.strict() {
        report.error(
            "DATABASE_URL",
            "is required outside development/local: expected postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full (or POSTGRES_SERVER, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_SSLMODE)",
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

/// The `sslmode` values PostgreSQL clients (and sqlx) understand.
const SSL_MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// The template's `postgresql://USER:PASSWORD@SERVER:PORT/DB`, percent-encoded, with
/// `?sslmode=POSTGRES_SSLMODE` when that is set (the template has no such variable; without it
/// a remote server is refused outside development, as a URL without `sslmode` is).
fn compose(report: &mut Report, raw: &RawSettings, server: &str) -> Option<String> {
    let sslmode = match raw.postgres_sslmode.as_deref().map(str::trim) {
        None => None,
        Some(mode) => {
            let mode = mode.to_ascii_lowercase();
            if !SSL_MODES.contains(&mode.as_str()) {
                report.error(
                    "POSTGRES_SSLMODE",
                    "expected one of disable, allow, prefer, require, verify-ca, verify-full",
                );
                return None;
            }
            Some(mode)
        }
    };
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
    let query = sslmode.map_or_else(String::new, |mode| format!("?sslmode={mode}"));
    Some(format!(
        "postgresql://{}:{}@{server}:{port}/{}{query}",
        encode(user),
        encode(raw.postgres_password.as_deref().unwrap_or("")),
        encode(raw.postgres_db.as_deref().unwrap_or("")),
    ))
}

/// Parses a URL (the SQL adapter's [`DatabaseTarget`] reads the scheme) and applies the
/// engine and TLS rules. Messages never include the URL.
fn checked_url(report: &mut Report, variable: &'static str, raw: &str) -> Option<DatabaseUrl> {
    let expected = "expected postgres://USER:PASSWORD@HOST:PORT/DB (postgresql:// and a +driver suffix are accepted) or a sqlite: URL";
    let Ok(target) = DatabaseTarget::parse(raw.trim()) else {
        report.error(variable, expected);
        return None;
    };
    if let engine @ Engine::Sqlite { .. } = target.engine() {
        if report.strict() {
            report.error(
                variable,
                "SQLite is for development and tests only; staging and production need PostgreSQL (postgres://…)",
            );
        }
        return Some(DatabaseUrl {
            url: Secret::new(target.url()),
            redacted: target.url().to_owned(),
            engine,
        });
    }
    let Some(parsed) = url::Url::parse(target.url())
        .ok()
        .filter(|url| url.has_host())
    else {
        report.error(variable, expected);
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
    check_tls(report, variable, &parsed);
    let mut redacted = parsed.clone();
    if parsed.password().is_some() {
        // Setting a password only fails on URLs without a host, which have none to hide.
        let _ = redacted.set_password(Some("***"));
    }
    Some(DatabaseUrl {
        url: Secret::new(target.url()),
        redacted: redacted.to_string(),
        engine: Engine::Postgres,
    })
}

/// Where the driver will connect, for the TLS rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// Loopback or a Unix socket: never leaves the machine.
    Local,
    /// An RFC 1918 or ULA address, or a single-label name such as compose's `db`.
    Private,
    /// Anything else, including every dotted name.
    Public,
}

/// Classifies the host the driver will really use: sqlx lets a `host` or `hostaddr` query
/// parameter (the last one wins) replace the URL's host, and a `host` starting with `/` is a
/// Unix socket directory.
fn reach(url: &url::Url) -> Reach {
    let mut host = url.host_str().map(str::to_owned);
    for (key, value) in url.query_pairs() {
        if key == "host" || key == "hostaddr" {
            host = Some(value.into_owned());
        }
    }
    let Some(host) = host else {
        return Reach::Local;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.starts_with('/') || host.eq_ignore_ascii_case("localhost") {
        return Reach::Local;
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => Reach::Local,
        Ok(ip) if private_address(ip) => Reach::Private,
        Ok(_) => Reach::Public,
        Err(_) if single_label(host) => Reach::Private,
        Err(_) => Reach::Public,
    }
}

/// RFC 1918 (10/8, 172.16/12, 192.168/16) and RFC 4193 unique local (fc00::/7) addresses, also
/// written as IPv4-mapped IPv6.
fn private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_private(),
            None => v6.is_unique_local(),
        },
    }
}

/// A name without dots that a resolver can only answer from a local source (compose's or
/// Kubernetes' DNS, `/etc/hosts`): a DNS label of letters, digits and hyphens starting with a
/// letter. Starting with a letter also keeps out numbers a C resolver reads as IPv4 addresses
/// (`134744072`, `0x08080808`).
fn single_label(host: &str) -> bool {
    host.len() <= 63
        && host.starts_with(|c: char| c.is_ascii_alphabetic())
        && !host.ends_with('-')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A remote PostgreSQL server must be reached over TLS (`sslmode=require` or stronger);
/// `require` and `verify-ca` are accepted with a warning because only `verify-full` checks the
/// host name (SECURITY.md DB-01). Loopback and Unix-socket connections are exempt. An explicit
/// `sslmode=disable` to a private-network host is accepted everywhere with one loud warning
/// naming the risk; to any other host it stays refused outside development (CFG-03, §4.3). As
/// in sqlx, the last `sslmode` in the URL is the one that counts.
fn check_tls(report: &mut Report, variable: &'static str, url: &url::Url) {
    let reach = reach(url);
    if reach == Reach::Local {
        return;
    }
    let sslmode = url
        .query_pairs()
        .filter(|(key, _)| key == "sslmode" || key == "ssl-mode")
        .last()
        .map(|(_, value)| value.to_ascii_lowercase());
    let composed = variable == "POSTGRES_SERVER";
    let disable = if composed {
        "POSTGRES_SSLMODE=disable"
    } else {
        "sslmode=disable"
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
        Some("disable") if reach == Reach::Private => report.warn(
            variable,
            format!(
                "connects to PostgreSQL WITHOUT TLS ({disable} to a private-network host, accepted because it was asked for explicitly): the database password and every query and row, password hashes and session data included, cross that network unencrypted and unauthenticated, so anyone able to reach or impersonate a host on it can read and change them; keep the database on an isolated network (such as the compose project's own) or use sslmode=verify-full"
            ),
        ),
        Some("disable") => report.weak(
            variable,
            format!(
                "{disable} is accepted only for a private-network host (an RFC 1918 or ULA address, or a single-label service name such as db), and this host is not one: use TLS (sslmode=verify-full)"
            ),
        ),
        _ => {
            let fix = if composed {
                "set POSTGRES_SSLMODE=verify-full"
            } else {
                "add ?sslmode=verify-full"
            };
            let private = if reach == Reach::Private {
                format!(
                    ", or {disable} to accept an unencrypted connection on a private network explicitly"
                )
            } else {
                String::new()
            };
            report.weak(
                variable,
                format!("connects to a remote PostgreSQL host without TLS: {fix}{private}"),
            );
        }
    }
}

/// The `check-config` lines of the database (URLs without passwords).
pub(super) fn describe(database: &DatabaseSettings) -> [(&'static str, String); 3] {
    [
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
    ]
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
            assert!(!db.unwrap().url.is_sqlite());
        }
        let (_, report) = validate(
            true,
            &raw_with(Some("postgres://app:pw@db.example.com/app?sslmode=require")),
        );
        assert_eq!(report.finish().unwrap().len(), 1, "require warns");
    }

    /// Issue 12 item 3 (SECURITY.md CFG-03, §4.3): the compose network's `db`, or any other
    /// private-network host, without TLS because the URL says so.
    #[test]
    fn an_explicit_sslmode_disable_to_a_private_host_starts_with_one_loud_warning() {
        for url in [
            "postgresql://u:pw@db:5432/app?sslmode=disable",
            "postgres://u:pw@DB/app?sslmode=DISABLE",
            "postgres://u:pw@postgres-primary/app?application_name=x&sslmode=disable",
            "postgres://u:pw@10.0.0.5/app?sslmode=disable",
            "postgres://u:pw@172.31.255.1/app?sslmode=disable",
            "postgres://u:pw@192.168.1.20/app?ssl-mode=disable",
            "postgres://u:pw@[fd12:3456::5]:5432/app?sslmode=disable",
            "postgres://u:pw@[::ffff:10.1.2.3]/app?sslmode=disable",
            "postgres://u:pw@db.example.com/app?sslmode=disable&host=db",
        ] {
            let (db, report) = validate(true, &raw_with(Some(url)));
            let warnings = report.finish().unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(warnings.len(), 1, "{url}: {warnings:?}");
            assert_eq!(warnings[0].variable, "DATABASE_URL");
            for words in [
                "WITHOUT TLS",
                "sslmode=disable",
                "private-network",
                "unencrypted",
            ] {
                assert!(warnings[0].message.contains(words), "{words}: {warnings:?}");
            }
            assert!(!warnings[0].message.contains("pw"), "{warnings:?}");
            assert!(!db.unwrap().url.is_sqlite());
        }
    }

    #[test]
    fn sslmode_disable_to_anything_but_a_private_host_stays_refused() {
        for url in [
            "postgres://u:pw@db.example.com/app?sslmode=disable",
            "postgres://u:pw@db.internal/app?sslmode=disable",
            "postgres://u:pw@db./app?sslmode=disable",
            "postgres://u:pw@8.8.8.8/app?sslmode=disable",
            "postgres://u:pw@172.32.0.1/app?sslmode=disable",
            "postgres://u:pw@100.64.0.1/app?sslmode=disable",
            "postgres://u:pw@169.254.1.1/app?sslmode=disable",
            "postgres://u:pw@[2001:db8::1]/app?sslmode=disable",
            "postgres://u:pw@[fe80::1]/app?sslmode=disable",
            // Numbers a C resolver reads as 8.8.8.8 are not service names.
            "postgres://u:pw@134744072/app?sslmode=disable",
            "postgres://u:pw@0x08080808/app?sslmode=disable",
            "postgres://u:pw@db_1/app?sslmode=disable",
            // The driver connects to the last `host`/`hostaddr` and obeys the last `sslmode`.
            "postgres://u:pw@db/app?sslmode=disable&host=db.example.com",
            "postgres://u:pw@10.0.0.5/app?sslmode=disable&hostaddr=8.8.8.8",
            "postgres://u:pw@db.example.com/app?sslmode=verify-full&sslmode=disable",
            "postgres://u:pw@localhost/app?host=db.example.com",
        ] {
            let (_, report) = validate(true, &raw_with(Some(url)));
            let errors = report.finish().unwrap_err();
            assert!(errors.names("DATABASE_URL"), "{url}: {errors}");
            assert!(!errors.to_string().contains("pw@"), "{errors}");
        }
        // Development tolerates it, as every other weakness, with a warning.
        let (_, report) = validate(
            false,
            &raw_with(Some("postgres://u:pw@db.example.com/app?sslmode=disable")),
        );
        assert_eq!(report.finish().unwrap().len(), 1);
    }

    #[test]
    fn a_private_host_without_an_explicit_disable_keeps_the_strict_rule() {
        for url in [
            "postgresql://u:pw@db:5432/app",
            "postgresql://u:pw@db:5432/app?sslmode=prefer",
            "postgresql://u:pw@10.0.0.5:5432/app?sslmode=allow",
            "postgresql://u:pw@db:5432/app?sslmode=disable&sslmode=prefer",
        ] {
            let (_, report) = validate(true, &raw_with(Some(url)));
            let errors = report.finish().unwrap_err();
            assert!(errors.names("DATABASE_URL"), "{url}");
            assert!(
                errors.to_string().contains("or sslmode=disable to accept"),
                "the way out is named: {errors}"
            );
        }
        let (_, report) = validate(
            true,
            &raw_with(Some("postgresql://u:pw@db:5432/app?sslmode=verify-full")),
        );
        assert!(report.finish().unwrap().is_empty());
    }

    #[test]
    fn postgres_sslmode_completes_the_composed_url() {
        let template = |mode: Option<&str>| RawSettings {
            postgres_server: Some("db".into()),
            postgres_user: Some("postgres".into()),
            postgres_password: Some("db-pass-31337".into()),
            postgres_db: Some("app".into()),
            postgres_sslmode: mode.map(str::to_owned),
            ..RawSettings::default()
        };
        let (db, report) = validate(true, &template(Some("disable")));
        let warnings = report.finish().unwrap();
        assert_eq!(
            db.unwrap().url.expose(),
            "postgresql://postgres:db-pass-31337@db:5432/app?sslmode=disable"
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].variable, "POSTGRES_SERVER");
        assert!(warnings[0].message.contains("POSTGRES_SSLMODE=disable"));
        let (_, report) = validate(true, &template(None));
        let errors = report.finish().unwrap_err();
        assert!(
            errors.to_string().contains("POSTGRES_SSLMODE=verify-full"),
            "{errors}"
        );
        let (_, report) = validate(true, &template(Some("VERIFY-FULL")));
        assert!(report.finish().unwrap().is_empty());
        let (_, report) = validate(true, &template(Some("off")));
        assert!(report.finish().unwrap_err().names("POSTGRES_SSLMODE"));
        let public = RawSettings {
            postgres_server: Some("db.example.com".into()),
            ..template(Some("disable"))
        };
        let (_, report) = validate(true, &public);
        assert!(report.finish().unwrap_err().names("POSTGRES_SERVER"));
        let beside_a_url = RawSettings {
            database_url: Some("postgres://a@localhost/app".into()),
            postgres_sslmode: Some("disable".into()),
            ..RawSettings::default()
        };
        let (_, report) = validate(true, &beside_a_url);
        let warnings = report.finish().unwrap();
        assert_eq!(warnings[0].variable, "POSTGRES_SSLMODE");
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

        // The scheme is read as the SQL adapter reads it: any case, any driver suffix.
        let (db, _) = validate(false, &raw_with(Some("SQLite+aiosqlite://./x.db")));
        assert_eq!(db.unwrap().url.expose(), "sqlite://./x.db");
        let (db, report) = validate(true, &raw_with(Some("postgres:no-host")));
        assert!(db.is_none(), "a URL without a host");
        assert!(report.finish().unwrap_err().names("DATABASE_URL"));
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
        assert!(db.url.is_sqlite());
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
