//! The database: `DATABASE_URL` (or the legacy `POSTGRES_*` parts), the direct endpoint for
//! migrations, TLS and engine rules per environment, and the pool (SECURITY.md CFG-03, DB-01,
//! DB-02, DB-04). An explicit `sslmode=disable` to a private-network host is the one way to run
//! without TLS outside development (issue 12 item 3: the template's compose network).

use std::fmt;
use std::net::IpAddr;

use gatehouse_domain::Secret;
use gatehouse_sql::{DatabaseTarget, DbOptions, Engine};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::secrets::placeholder;
use super::vars::{Vars, seconds};

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
        self.engine == Engine::Sqlite
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
    /// The pool's limits and timeouts on `url` (DB-02: 3 s to acquire a connection, then 503).
    pub pool: DbOptions,
}

impl DatabaseSettings {
    /// The URL migrations run against: the direct endpoint when configured, else the runtime one.
    pub fn migration_url(&self) -> &DatabaseUrl {
        self.migration_url.as_ref().unwrap_or(&self.url)
    }

    /// The SQL adapter's options for the runtime pool (`SqlStore::connect`).
    pub fn runtime_options(&self) -> DbOptions {
        self.pool.clone()
    }

    /// The SQL adapter's options for migrations (`Migrations::connect`): the same pool limits
    /// on [`DatabaseSettings::migration_url`].
    pub fn migration_options(&self) -> DbOptions {
        let url = self.migration_url().expose().to_owned();
        DbOptions {
            url,
            ..self.pool.clone()
        }
    }
}

/// Reads the URLs and the pool, whose defaults are the SQL adapter's. `None` only with an error
/// recorded.
pub(super) fn settings(v: &mut Vars<'_>) -> Option<DatabaseSettings> {
    if let Some(password) = v.get("POSTGRES_PASSWORD") {
        placeholder(v, "POSTGRES_PASSWORD", password);
    }
    let url = runtime_url(v);
    let migration_url = v
        .get("DATABASE_MIGRATION_URL")
        .and_then(|raw| checked_url(v, "DATABASE_MIGRATION_URL", raw));
    if let (Some(url), Some(direct)) = (&url, &migration_url)
        && url.is_sqlite() != direct.is_sqlite()
    {
        v.error(
            "DATABASE_MIGRATION_URL",
            "must use the same engine as DATABASE_URL (both PostgreSQL or both SQLite)",
        );
    }
    let mut pool = DbOptions::new(url.as_ref().map_or("", DatabaseUrl::expose));
    // The pool allocates its bookkeeping for the maximum up front.
    let (max, min) = (pool.max_connections, pool.min_connections);
    pool.max_connections = v.number("DATABASE_MAX_CONNECTIONS", max, 1..=1_000, "connections");
    pool.min_connections = v.number("DATABASE_MIN_CONNECTIONS", min, 0.., "connections");
    if pool.min_connections > pool.max_connections {
        v.error(
            "DATABASE_MIN_CONNECTIONS",
            "must not exceed DATABASE_MAX_CONNECTIONS",
        );
    }
    for (variable, duration, max) in [
        (
            "DATABASE_ACQUIRE_TIMEOUT_SECONDS",
            &mut pool.acquire_timeout,
            300,
        ),
        (
            "DATABASE_IDLE_TIMEOUT_SECONDS",
            &mut pool.idle_timeout,
            86_400,
        ),
        (
            "DATABASE_MAX_LIFETIME_SECONDS",
            &mut pool.max_lifetime,
            86_400,
        ),
    ] {
        *duration = v.seconds(variable, duration.as_secs(), 1..=max);
    }
    Some(DatabaseSettings {
        url: url?,
        migration_url,
        pool,
    })
}

/// `DATABASE_URL`, else the URL composed from `POSTGRES_*`, else (development only) SQLite.
fn runtime_url(v: &mut Vars<'_>) -> Option<DatabaseUrl> {
    if let Some(url) = v.get("DATABASE_URL") {
        if v.get("POSTGRES_SERVER").is_some() {
            v.warn(
                "POSTGRES_SERVER",
                "is ignored because DATABASE_URL is set (POSTGRES_* only compose a URL when DATABASE_URL is absent)",
            );
        }
        if v.get("POSTGRES_SSLMODE").is_some() {
            v.warn(
                "POSTGRES_SSLMODE",
                "is ignored because DATABASE_URL is set (put ?sslmode=… in DATABASE_URL instead)",
            );
        }
        return checked_url(v, "DATABASE_URL", url);
    }
    if let Some(server) = v.get("POSTGRES_SERVER") {
        let composed = compose(v, server)?;
        return checked_url(v, "POSTGRES_SERVER", &composed);
    }
    if v.get("POSTGRES_SSLMODE").is_some() {
        v.warn(
            "POSTGRES_SSLMODE",
            "is ignored because POSTGRES_SERVER is unset (it only completes a URL composed from POSTGRES_*)",
        );
    }
    if v.strict() {
        v.error(
            "DATABASE_URL",
            "is required outside development/local: expected postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full (or POSTGRES_SERVER, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_SSLMODE)",
        );
        return None;
    }
    v.warn(
        "DATABASE_URL",
        format!(
            "is unset: DEVELOPMENT SETUP ONLY, using the embedded SQLite database {DEVELOPMENT_DATABASE_URL} (created on first start); never run a deployment like this"
        ),
    );
    checked_url(v, "DATABASE_URL", DEVELOPMENT_DATABASE_URL)
}

/// Characters left as they are in user, password and database name; everything else is
/// percent-encoded so a `@` or `/` in a password cannot change the URL's meaning.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `sslmode` values PostgreSQL clients (and sqlx) understand.
const SSL_MODES: &str = "disable allow prefer require verify-ca verify-full";

/// The template's `postgresql://USER:PASSWORD@SERVER:PORT/DB`, percent-encoded, with
/// `?sslmode=POSTGRES_SSLMODE` when that is set (the template has no such variable; without it
/// a remote server is refused outside development, as a URL without `sslmode` is).
fn compose(v: &mut Vars<'_>, server: &str) -> Option<String> {
    let sslmode = v
        .get("POSTGRES_SSLMODE")
        .map(|mode| mode.trim().to_ascii_lowercase());
    if let Some(mode) = &sslmode
        && !SSL_MODES.split(' ').any(|known| known == mode)
    {
        v.error(
            "POSTGRES_SSLMODE",
            "expected one of disable, allow, prefer, require, verify-ca, verify-full",
        );
        return None;
    }
    let port = v.number("POSTGRES_PORT", 5432u16, 1.., "a port number");
    let Some(user) = v.get("POSTGRES_USER") else {
        v.error(
            "POSTGRES_USER",
            "is required with POSTGRES_SERVER when DATABASE_URL is unset",
        );
        return None;
    };
    let encode =
        |part: Option<&str>| utf8_percent_encode(part.unwrap_or(""), COMPONENT).to_string();
    let server = if server.contains(':') && !server.starts_with('[') {
        format!("[{server}]")
    } else {
        server.to_owned()
    };
    let query = sslmode.map_or_else(String::new, |mode| format!("?sslmode={mode}"));
    let (user, password) = (encode(Some(user)), encode(v.get("POSTGRES_PASSWORD")));
    let db = encode(v.get("POSTGRES_DB"));
    Some(format!(
        "postgresql://{user}:{password}@{server}:{port}/{db}{query}"
    ))
}

/// Parses a URL (the SQL adapter's [`DatabaseTarget`] reads the scheme) and applies the
/// engine and TLS rules. Messages never include the URL.
fn checked_url(v: &mut Vars<'_>, variable: &'static str, raw: &str) -> Option<DatabaseUrl> {
    let expected = "expected postgres://USER:PASSWORD@HOST:PORT/DB (postgresql:// and a +driver suffix are accepted) or a sqlite: URL";
    let Ok(target) = DatabaseTarget::parse(raw.trim()) else {
        v.error(variable, expected);
        return None;
    };
    let url = Secret::new(target.url());
    if target.engine() == Engine::Sqlite {
        if v.strict() {
            v.error(
                variable,
                "SQLite is for development and tests only; staging and production need PostgreSQL (postgres://…)",
            );
        }
        let redacted = target.url().to_owned();
        return Some(DatabaseUrl {
            url,
            redacted,
            engine: Engine::Sqlite,
        });
    }
    let Some(mut parsed) = url::Url::parse(target.url())
        .ok()
        .filter(url::Url::has_host)
    else {
        v.error(variable, expected);
        return None;
    };
    // A composed URL's password is POSTGRES_PASSWORD, already checked under that name.
    if let Some(password) = parsed.password().filter(|_| variable != "POSTGRES_SERVER") {
        let password = percent_decode_str(password).decode_utf8_lossy();
        let part = if variable == "DATABASE_URL" {
            "DATABASE_URL password"
        } else {
            "DATABASE_MIGRATION_URL password"
        };
        placeholder(v, part, &password);
    }
    check_tls(v, variable, &parsed);
    if parsed.password().is_some() {
        // Setting a password only fails on URLs without a host, which have none to hide.
        let _ = parsed.set_password(Some("***"));
    }
    let redacted = parsed.to_string();
    Some(DatabaseUrl {
        url,
        redacted,
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
fn check_tls(v: &mut Vars<'_>, variable: &'static str, url: &url::Url) {
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
            if v.strict() {
                v.warn(
                    variable,
                    "uses an sslmode that encrypts but does not verify the server's host name; prefer sslmode=verify-full (SECURITY.md DB-01)",
                );
            }
        }
        Some("disable") if reach == Reach::Private => v.warn(
            variable,
            format!(
                "connects to PostgreSQL WITHOUT TLS ({disable} to a private-network host, accepted because it was asked for explicitly): the database password and every query and row, password hashes and session data included, cross that network unencrypted and unauthenticated, so anyone able to reach or impersonate a host on it can read and change them; keep the database on an isolated network (such as the compose project's own) or use sslmode=verify-full"
            ),
        ),
        Some("disable") => v.weak(
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
            v.weak(
                variable,
                format!("connects to a remote PostgreSQL host without TLS: {fix}{private}"),
            );
        }
    }
}

/// The `check-config` lines of the database (URLs without passwords).
pub(super) fn describe(database: &DatabaseSettings) -> [(&'static str, String); 3] {
    let pool = &database.pool;
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
                pool.min_connections,
                pool.max_connections,
                seconds(pool.acquire_timeout),
                seconds(pool.idle_timeout),
                seconds(pool.max_lifetime)
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::vars::ConfigErrors;
    use super::super::vars::testing::{Checked, check};
    use super::*;

    fn url(strict: bool, url: &str) -> Checked<Option<DatabaseSettings>> {
        check(strict, &[("DATABASE_URL", url)], settings)
    }

    /// Refused in production, naming `DATABASE_URL` and never echoing the URL.
    fn refused_in_production(refused: &str) -> ConfigErrors {
        let errors = url(true, refused).1.unwrap_err();
        assert!(errors.names("DATABASE_URL"), "{refused}: {errors}");
        assert!(!errors.to_string().contains("pw@"), "URL echoed: {errors}");
        errors
    }

    #[test]
    fn production_refuses_sqlite_missing_urls_and_unencrypted_remote_hosts() {
        let errors = check(true, &[], settings).1.unwrap_err();
        assert!(errors.names("DATABASE_URL"), "None");
        for refused in [
            "sqlite://x.db",
            "postgres://app:pw@db.example.com/app",
            "postgres://app:pw@db.example.com/app?sslmode=disable",
            "postgres://app:pw@db.example.com/app?sslmode=prefer",
            "mysql://app:pw@db.example.com/app",
            "postgres://app:pw@[::1/app",
        ] {
            refused_in_production(refused);
        }
    }

    #[test]
    fn production_accepts_tls_and_loopback() {
        for accepted in [
            "postgres://app:pw@db.example.com/app?sslmode=verify-full",
            "postgresql+psycopg://app:pw@localhost:5432/app",
            "postgres://app:pw@127.0.0.1/app",
            "postgres://app:pw@[::1]:5432/app",
        ] {
            let (db, result) = url(true, accepted);
            assert!(result.unwrap().is_empty(), "{accepted}");
            assert!(!db.unwrap().url.is_sqlite());
        }
        let (_, result) = url(true, "postgres://app:pw@db.example.com/app?sslmode=require");
        assert_eq!(result.unwrap().len(), 1, "require warns");
    }

    /// Issue 12 item 3 (SECURITY.md CFG-03, §4.3): the compose network's `db`, or any other
    /// private-network host, without TLS because the URL says so.
    #[test]
    fn an_explicit_sslmode_disable_to_a_private_host_starts_with_one_loud_warning() {
        for private in [
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
            let (db, result) = url(true, private);
            let warnings = result.unwrap_or_else(|e| panic!("{private}: {e}"));
            assert_eq!(warnings.len(), 1, "{private}: {warnings:?}");
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
        for refused in [
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
            refused_in_production(refused);
        }
        // Development tolerates it, as every other weakness, with a warning.
        let (_, result) = url(false, "postgres://u:pw@db.example.com/app?sslmode=disable");
        assert_eq!(result.unwrap().len(), 1);
    }

    #[test]
    fn a_private_host_without_an_explicit_disable_keeps_the_strict_rule() {
        for refused in [
            "postgresql://u:pw@db:5432/app",
            "postgresql://u:pw@db:5432/app?sslmode=prefer",
            "postgresql://u:pw@10.0.0.5:5432/app?sslmode=allow",
            "postgresql://u:pw@db:5432/app?sslmode=disable&sslmode=prefer",
        ] {
            let errors = refused_in_production(refused);
            assert!(
                errors.to_string().contains("or sslmode=disable to accept"),
                "the way out is named: {errors}"
            );
        }
        let (_, result) = url(true, "postgresql://u:pw@db:5432/app?sslmode=verify-full");
        assert!(result.unwrap().is_empty());
    }

    #[test]
    fn postgres_sslmode_completes_the_composed_url() {
        let template = |server: &'static str, mode: &'static str| {
            let parts = [
                ("POSTGRES_SERVER", server),
                ("POSTGRES_USER", "postgres"),
                ("POSTGRES_PASSWORD", "db-pass-31337"),
                ("POSTGRES_DB", "app"),
                ("POSTGRES_SSLMODE", mode),
            ];
            check(true, &parts, settings)
        };
        let (db, result) = template("db", "disable");
        let warnings = result.unwrap();
        assert_eq!(
            db.unwrap().url.expose(),
            "postgresql://postgres:db-pass-31337@db:5432/app?sslmode=disable"
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].variable, "POSTGRES_SERVER");
        assert!(warnings[0].message.contains("POSTGRES_SSLMODE=disable"));
        let errors = template("db", "").1.unwrap_err();
        assert!(
            errors.to_string().contains("POSTGRES_SSLMODE=verify-full"),
            "{errors}"
        );
        assert!(template("db", "VERIFY-FULL").1.unwrap().is_empty());
        assert!(
            template("db", "off")
                .1
                .unwrap_err()
                .names("POSTGRES_SSLMODE")
        );
        let public = template("db.example.com", "disable").1;
        assert!(public.unwrap_err().names("POSTGRES_SERVER"));
        let beside_a_url = [
            ("DATABASE_URL", "postgres://a@localhost/app"),
            ("POSTGRES_SSLMODE", "disable"),
        ];
        let warnings = check(true, &beside_a_url, settings).1.unwrap();
        assert_eq!(warnings[0].variable, "POSTGRES_SSLMODE");
    }

    #[test]
    fn the_driver_suffix_is_dropped_and_the_password_is_masked() {
        let (db, _) = url(true, "postgresql+psycopg://app:s3cr%40t@localhost/app");
        let db = db.unwrap().url;
        assert_eq!(db.expose(), "postgresql://app:s3cr%40t@localhost/app");
        assert_eq!(db.redacted(), "postgresql://app:***@localhost/app");
        assert!(!format!("{db:?}").contains("s3cr"));

        // The scheme is read as the SQL adapter reads it: any case, any driver suffix.
        let (db, _) = url(false, "SQLite+aiosqlite://./x.db");
        assert_eq!(db.unwrap().url.expose(), "sqlite://./x.db");
        let (db, result) = url(true, "postgres:no-host");
        assert!(db.is_none(), "a URL without a host");
        assert!(result.unwrap_err().names("DATABASE_URL"));
    }

    #[test]
    fn postgres_parts_compose_a_percent_encoded_url_only_without_database_url() {
        let mut parts = vec![
            ("POSTGRES_SERVER", "localhost"),
            ("POSTGRES_USER", "app"),
            ("POSTGRES_PASSWORD", "p@ss/w:rd"),
            ("POSTGRES_DB", "gate house"),
        ];
        let (db, result) = check(true, &parts, settings);
        assert!(result.is_ok());
        assert_eq!(
            db.unwrap().url.expose(),
            "postgresql://app:p%40ss%2Fw%3Ard@localhost:5432/gate%20house"
        );
        parts.push(("DATABASE_URL", "postgres://other@localhost/x"));
        let (db, _) = check(true, &parts, settings);
        assert_eq!(db.unwrap().url.expose(), "postgres://other@localhost/x");
    }

    #[test]
    fn composed_remote_urls_need_tls_and_a_user() {
        let remote = [("POSTGRES_SERVER", "db"), ("POSTGRES_USER", "app")];
        assert!(
            check(true, &remote, settings)
                .1
                .unwrap_err()
                .names("POSTGRES_SERVER")
        );
        let local = [("POSTGRES_SERVER", "localhost"), ("POSTGRES_PORT", "x")];
        let errors = check(true, &local, settings).1.unwrap_err();
        assert!(errors.names("POSTGRES_USER") && errors.names("POSTGRES_PORT"));
    }

    #[test]
    fn placeholder_database_passwords_follow_the_changethis_rule() {
        let pairs = [
            ("DATABASE_URL", "postgres://app:changethis@localhost/app"),
            ("POSTGRES_PASSWORD", "changeme"),
        ];
        let errors = check(true, &pairs, settings).1.unwrap_err();
        assert!(errors.0.iter().any(|e| e.variable == "DATABASE_URL password"
            && e.message == "The value of DATABASE_URL password is \"changethis\", for security, please change it, at least for deployments."));
        assert!(errors.names("POSTGRES_PASSWORD"));
        assert_eq!(check(false, &pairs, settings).1.unwrap().len(), 2);
    }

    #[test]
    fn development_falls_back_to_sqlite_loudly() {
        let (db, result) = check(false, &[], settings);
        let db = db.unwrap();
        assert_eq!(db.url.expose(), DEVELOPMENT_DATABASE_URL);
        assert!(db.url.is_sqlite());
        assert!(result.unwrap()[0].message.contains("DEVELOPMENT SETUP"));
    }

    #[test]
    fn migration_url_must_use_the_same_engine() {
        let pairs = [
            ("DATABASE_URL", "postgres://a@localhost/app"),
            ("DATABASE_MIGRATION_URL", "sqlite://m.db"),
        ];
        assert!(
            check(false, &pairs, settings)
                .1
                .unwrap_err()
                .names("DATABASE_MIGRATION_URL")
        );
        let pairs = [
            (
                "DATABASE_URL",
                "postgres://a@ep-x-pooler.neon.tech/app?sslmode=verify-full",
            ),
            (
                "DATABASE_MIGRATION_URL",
                "postgres://a@ep-x.neon.tech/app?sslmode=verify-full",
            ),
        ];
        let (db, result) = check(true, &pairs, settings);
        assert!(result.is_ok());
        assert_eq!(
            db.unwrap().migration_url().expose(),
            "postgres://a@ep-x.neon.tech/app?sslmode=verify-full"
        );
    }

    #[test]
    fn pool_values_are_checked() {
        let pairs = [
            ("DATABASE_URL", "postgres://a@localhost/app"),
            ("DATABASE_MAX_CONNECTIONS", "2"),
            ("DATABASE_MIN_CONNECTIONS", "3"),
        ];
        let errors = check(true, &pairs, settings).1.unwrap_err();
        assert!(errors.names("DATABASE_MIN_CONNECTIONS"));
        let db = url(true, "postgres://a@localhost/app").0.unwrap();
        let pool = &db.pool;
        assert_eq!(
            (
                pool.max_connections,
                pool.min_connections,
                pool.acquire_timeout
            ),
            (10, 0, Duration::from_secs(3))
        );
        let options = db.migration_options();
        assert_eq!(options.url, "postgres://a@localhost/app");
        assert_eq!(options.max_lifetime, Duration::from_secs(1800));
    }
}
