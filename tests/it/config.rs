//! The binary refuses a bad configuration before it does anything else: exit 78, every problem
//! on its own line, no secret echoed (SECURITY.md §4.3, CFG-01…CFG-03, D12); and its operator
//! commands (`migrate`, `create-superuser`, `end-sessions`, `prune`) work on a real database file. Each
//! case runs the real executable with a cleared environment in an empty directory, so no
//! developer `.env` or shell variable leaks in.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse_tests::{process::ServedBinary, tls::TestCa};

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse-for-tests");

/// `EX_CONFIG` from sysexits.h.
const EX_CONFIG: i32 = 78;

/// A strong key and a TLS-verified remote database: the valid production base.
const KEY: &str = "kX9-2mQ_vR7tL4wZ8nB1cY6hJ3pF0sD5gA";
const DATABASE: &str =
    "postgres://gatehouse:db-pass-31337@db.example.com/gatehouse?sslmode=verify-full";

/// An empty scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-it-config-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one run printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The problem lines on stderr (after the header line).
    fn problems(&self) -> Vec<&str> {
        self.stderr.lines().skip(1).collect()
    }

    /// Whether a problem line names `variable`.
    fn names(&self, variable: &str) -> bool {
        self.problems()
            .iter()
            .any(|line| line.starts_with(&format!("{variable}: ")))
    }
}

/// Runs `gatehouse <args>` with exactly `vars` in `dir`.
fn gatehouse_in(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    gatehouse_with_input(dir, args, vars, "")
}

/// Runs `gatehouse <args>` with exactly `vars` in `dir`, `input` on its standard input.
fn gatehouse_with_input(dir: &Path, args: &[&str], vars: &[(&str, &str)], input: &str) -> Run {
    let mut child = Command::new(BINARY)
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gatehouse binary runs");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("input written");
    let output = child.wait_with_output().expect("the gatehouse binary ends");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn gatehouse(args: &[&str], vars: &[(&str, &str)]) -> Run {
    gatehouse_in(Scratch::new().path(), args, vars)
}

fn check_config(vars: &[(&str, &str)]) -> Run {
    gatehouse(&["check-config"], vars)
}

/// The valid production base with `changes` applied (a later entry replaces an earlier one).
fn production<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", KEY),
        ("DATABASE_URL", DATABASE),
    ];
    for change in changes {
        vars.retain(|(name, _)| *name != change.0);
        vars.push(*change);
    }
    vars
}

#[test]
fn the_acceptance_case_lists_three_problems_without_the_secret() {
    let run = check_config(&[
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", "short"),
        ("DATABASE_URL", "sqlite://x.db"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "abc"),
    ]);
    assert_eq!(run.code, Some(EX_CONFIG), "{}", run.output());
    assert_eq!(run.problems().len(), 3, "{}", run.stderr);
    for variable in ["SECRET_KEY", "DATABASE_URL", "ACCESS_TOKEN_EXPIRE_MINUTES"] {
        assert!(run.names(variable), "{variable} not named:\n{}", run.stderr);
    }
    assert!(!run.output().contains("short"), "{}", run.output());
}

#[test]
fn serve_with_no_environment_at_all_names_what_is_missing() {
    let run = gatehouse(&["serve"], &[]);
    assert_eq!(run.code, Some(EX_CONFIG), "{}", run.output());
    assert!(
        run.names("SECRET_KEY") && run.names("DATABASE_URL"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "nothing may start: {}", run.stdout);
}

#[test]
fn missing_and_malformed_values_are_listed_together() {
    // SECURITY.md CFG-01: three missing and one malformed, all four named, nothing started.
    let run = gatehouse(
        &["serve"],
        &[("FIRST_SUPERUSER", "root@example.com"), ("PORT", "http")],
    );
    assert_eq!(run.code, Some(EX_CONFIG));
    assert_eq!(run.problems().len(), 4, "{}", run.stderr);
    for variable in [
        "SECRET_KEY",
        "DATABASE_URL",
        "FIRST_SUPERUSER_PASSWORD",
        "PORT",
    ] {
        assert!(run.names(variable), "{variable}:\n{}", run.stderr);
    }
}

#[test]
fn malformed_values_are_reported_together() {
    let run = check_config(&production(&[
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "abc"),
        ("PORT", "99999"),
        ("REFRESH_GRACE_SECONDS", "-1"),
    ]));
    assert_eq!(run.code, Some(EX_CONFIG), "{}", run.output());
    assert_eq!(run.problems().len(), 3, "{}", run.stderr);
    for variable in [
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        "PORT",
        "REFRESH_GRACE_SECONDS",
    ] {
        assert!(run.names(variable), "{variable}:\n{}", run.stderr);
    }
}

#[test]
fn absurd_durations_and_sizes_are_refused_at_start_instead_of_failing_requests() {
    // Most of these once started a server whose logins panicked (time overflow), or panicked
    // or aborted at start (a pool sized for billions of connections); the last two guard the
    // back-off and session-cap settings the same way.
    let absurd = [
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "4294967295"),
        ("REFRESH_TOKEN_LIFETIME_DAYS", "99999999999999"),
        ("SESSION_IDLE_TIMEOUT_DAYS", "99999999999999"),
        ("EMAIL_RESET_TOKEN_EXPIRE_HOURS", "9223372036854775807"),
        ("LOGIN_ACCOUNT_WINDOW_SECONDS", "99999999999999"),
        ("LOGIN_IP_WINDOW_SECONDS", "2592001"),
        ("RECOVERY_EMAIL_WINDOW_SECONDS", "99999999999999"),
        ("DATABASE_ACQUIRE_TIMEOUT_SECONDS", "18446744073709551615"),
        ("DATABASE_MAX_CONNECTIONS", "4294967295"),
        ("READ_TIMEOUT_SECONDS", "18446744073709551615"),
        ("HASHING_CONCURRENCY", "18446744073709551615"),
        ("MAX_BODY_BYTES", "18446744073709551615"),
        ("LOGIN_ACCOUNT_MAX_DOUBLINGS", "64"),
        ("MAX_SESSIONS_PER_USER", "99999999999"),
    ];
    let run = check_config(&production(&absurd));
    assert_eq!(run.code, Some(EX_CONFIG), "{}", run.output());
    assert_eq!(run.problems().len(), absurd.len(), "{}", run.stderr);
    for (variable, _) in absurd {
        assert!(run.names(variable), "{variable}:\n{}", run.stderr);
    }
}

#[test]
fn weak_or_placeholder_secret_keys_are_refused_in_production_without_echo() {
    let changethis = check_config(&production(&[("SECRET_KEY", "changethis")]));
    assert_eq!(changethis.code, Some(EX_CONFIG));
    assert_eq!(
        changethis.problems(),
        [
            "SECRET_KEY: The value of SECRET_KEY is \"changethis\", for security, please change it, at least for deployments."
        ]
    );
    let example_key =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.env.example"))
            .expect(".env.example")
            .lines()
            .find_map(|line| line.strip_prefix("SECRET_KEY="))
            .expect("SECRET_KEY in .env.example")
            .to_owned();
    let thirty_one = "Zq8-wX3_rT6yU1iO4pA7sD0fG2hJ5kL";
    for key in [thirty_one, example_key.as_str()] {
        let run = check_config(&production(&[("SECRET_KEY", key)]));
        assert_eq!(run.code, Some(EX_CONFIG), "{}", run.output());
        assert!(run.names("SECRET_KEY"));
        assert!(!run.output().contains(key), "{}", run.output());
    }
}

#[test]
fn doubtful_environments_never_mean_development() {
    for vars in [
        [("ENVIRONMENT", "prodution")],
        [("FASTAPI_ENV", "production")],
    ] {
        let run = check_config(&vars);
        assert_eq!(run.code, Some(EX_CONFIG), "{}", run.output());
        assert!(run.names(vars[0].0), "{}", run.stderr);
        assert!(
            run.names("SECRET_KEY"),
            "judged as production: {}",
            run.stderr
        );
    }
}

#[test]
fn production_refuses_unencrypted_or_embedded_databases_and_open_cors() {
    for change in [
        (
            "DATABASE_URL",
            "postgres://app:pw-1@db.example.com/app?sslmode=disable",
        ),
        ("DATABASE_URL", "postgres://app:pw-1@db.example.com/app"),
        ("DATABASE_URL", "sqlite://./gatehouse.db?mode=rwc"),
        ("BACKEND_CORS_ORIGINS", "*"),
    ] {
        let run = check_config(&production(&[change]));
        assert_eq!(run.code, Some(EX_CONFIG), "{change:?}: {}", run.output());
        assert!(run.names(change.0), "{change:?}: {}", run.stderr);
        assert!(!run.output().contains("pw-1"), "{}", run.output());
    }
}

/// The JSON warning lines `check-config` printed that name `variable`.
fn warnings_about(run: &Run, variable: &str) -> Vec<serde_json::Value> {
    run.stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["level"] == "WARN" && line["variable"] == variable)
        .collect()
}

#[test]
fn an_explicit_sslmode_disable_to_the_compose_db_starts_with_one_loud_warning() {
    // Issue 12 item 3's acceptance: the template's compose network reaches PostgreSQL as `db`
    // without TLS; saying so explicitly is accepted in production, with the risk named once.
    let run = check_config(&production(&[(
        "DATABASE_URL",
        "postgresql://u:pw-1@db:5432/app?sslmode=disable",
    )]));
    assert_eq!(run.code, Some(0), "{}", run.output());
    let warnings = warnings_about(&run, "DATABASE_URL");
    assert_eq!(warnings.len(), 1, "{}", run.stdout);
    let message = warnings[0]["message"].as_str().expect("a message");
    assert!(
        message.contains("WITHOUT TLS") && message.contains("unencrypted"),
        "{message}"
    );
    assert!(
        run.stdout
            .contains("database: postgresql://u:***@db:5432/app?sslmode=disable"),
        "{}",
        run.stdout
    );
    assert!(!run.output().contains("pw-1"), "{}", run.output());

    // The template's own variables, completed by POSTGRES_SSLMODE.
    let run = check_config(&[
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", KEY),
        ("POSTGRES_SERVER", "db"),
        ("POSTGRES_USER", "postgres"),
        ("POSTGRES_PASSWORD", "pw-2-long-enough"),
        ("POSTGRES_DB", "app"),
        ("POSTGRES_SSLMODE", "disable"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert_eq!(
        warnings_about(&run, "POSTGRES_SERVER").len(),
        1,
        "{}",
        run.stdout
    );
    assert!(!run.output().contains("pw-2"), "{}", run.output());
}

#[test]
fn without_an_explicit_disable_or_to_a_public_host_the_strict_rule_stays() {
    for url in [
        "postgresql://u:pw-1@db:5432/app",
        "postgresql://u:pw-1@db:5432/app?sslmode=prefer",
        "postgresql://u:pw-1@db.example.com:5432/app?sslmode=disable",
        "postgresql://u:pw-1@203.0.113.7:5432/app?sslmode=disable",
        "postgresql://u:pw-1@db:5432/app?sslmode=disable&host=db.example.com",
        // The driver obeys the last sslmode and connects to a `host` parameter over the URL's.
        "postgresql://u:pw-1@db.example.com:5432/app?sslmode=verify-full&sslmode=disable",
        "postgresql://u:pw-1@localhost:5432/app?host=db.example.com",
    ] {
        let run = check_config(&production(&[("DATABASE_URL", url)]));
        assert_eq!(run.code, Some(EX_CONFIG), "{url}: {}", run.output());
        assert_eq!(run.problems().len(), 1, "{url}: {}", run.stderr);
        assert!(run.names("DATABASE_URL"), "{url}: {}", run.stderr);
        assert!(!run.output().contains("pw-1"), "{}", run.output());
    }
}

#[test]
fn bad_paseto_keys_exit_78_not_panic() {
    let zeros = format!("k4.local.{}", "A".repeat(43));
    for key in [
        "k4.public.bm90LWEtbG9jYWwta2V5",
        "k4.local.dG9vLXNob3J0",
        zeros.as_str(),
    ] {
        let run = check_config(&production(&[
            ("TOKEN_FORMAT", "paseto-v4-local"),
            ("TOKEN_SIGNING_KEY", key),
        ]));
        assert_eq!(run.code, Some(EX_CONFIG), "{key}: {}", run.output());
        assert!(run.names("TOKEN_SIGNING_KEY"), "{}", run.stderr);
        assert!(!run.output().contains(key));
    }
}

#[test]
fn a_long_token_lifetime_only_warns() {
    // CONTRACT.md §9e / SECURITY.md D10 (warning) win over the §4.3 row asking for exit 78.
    let run = check_config(&production(&[("ACCESS_TOKEN_EXPIRE_MINUTES", "61")]));
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(
        run.stdout.contains("ACCESS_TOKEN_EXPIRE_MINUTES"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_frontend_dir_without_a_built_index_html_stops_the_server_with_78() {
    let scratch = Scratch::new();
    let dist = scratch.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).expect("the build directory");
    std::fs::write(scratch.path().join("file"), "not a directory").expect("a file");
    for dir in [
        scratch.path().join("missing"),
        scratch.path().join("file"),
        dist.clone(),
    ] {
        let dir = dir.display().to_string();
        let run = gatehouse_in(
            scratch.path(),
            &["serve"],
            &production(&[("FRONTEND_DIR", &dir)]),
        );
        assert_eq!(run.code, Some(EX_CONFIG), "{dir}: {}", run.output());
        assert_eq!(run.problems().len(), 1, "{dir}: {}", run.stderr);
        assert!(run.names("FRONTEND_DIR"), "{dir}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "nothing may start: {}", run.stdout);
    }
    std::fs::write(dist.join("index.html"), "<!doctype html>").expect("index.html");
    let run = check_config(&production(&[(
        "FRONTEND_DIR",
        &dist.join("assets").join("..").display().to_string(),
    )]));
    assert_eq!(run.code, Some(0), "{}", run.output());
    let canonical = std::fs::canonicalize(&dist).expect("the build directory");
    assert!(
        run.stdout
            .contains(&format!("frontend: served from {}", canonical.display())),
        "{}",
        run.stdout
    );
}

#[test]
fn an_smtp_ca_file_that_is_no_pem_certificate_stops_the_server_with_78() {
    let scratch = Scratch::new();
    let write = |name: &str, content: &str| {
        let path = scratch.path().join(name);
        std::fs::write(&path, content).expect("a CA file");
        path.display().to_string()
    };
    let cases = [
        scratch.path().join("missing.pem").display().to_string(),
        scratch.path().display().to_string(),
        write("empty.pem", ""),
        write("text.pem", "this is not a certificate"),
        write(
            "key.pem",
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n",
        ),
        write(
            "garbage.pem",
            "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n",
        ),
    ];
    for file in &cases {
        let run = gatehouse_in(
            scratch.path(),
            &["serve"],
            &production(&[("SMTP_CA_FILE", file)]),
        );
        assert_eq!(run.code, Some(EX_CONFIG), "{file}: {}", run.output());
        assert_eq!(run.problems().len(), 1, "{file}: {}", run.stderr);
        assert!(run.names("SMTP_CA_FILE"), "{file}: {}", run.stderr);
    }
    let ca = TestCa::new("Relay CA");
    let run = check_config(&production(&[
        (
            "SMTP_CA_FILE",
            ca.pem_file().to_str().expect("a UTF-8 path"),
        ),
        ("SMTP_HOST", "relay.internal"),
        ("EMAILS_FROM_EMAIL", "noreply@example.com"),
    ]));
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(
        run.stdout
            .contains("relay.internal:587 (StartTls, 1 CA certificates from SMTP_CA_FILE)"),
        "{}",
        run.stdout
    );
    let plain = check_config(&production(&[
        (
            "SMTP_CA_FILE",
            ca.pem_file().to_str().expect("a UTF-8 path"),
        ),
        ("SMTP_TLS", "false"),
    ]));
    assert_eq!(plain.code, Some(0), "{}", plain.output());
    assert!(
        plain.stdout.contains("SMTP_CA_FILE is ignored"),
        "{}",
        plain.stdout
    );
}

#[test]
fn valid_production_configuration_is_summarised_without_secrets() {
    let run = check_config(&production(&[]));
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(run.stdout.contains("configuration OK"), "{}", run.stdout);
    assert!(
        run.stdout.contains("environment: production"),
        "{}",
        run.stdout
    );
    for secret in [KEY, "db-pass-31337"] {
        assert!(!run.output().contains(secret), "{}", run.output());
    }
}

/// Issue 15: `check-config` says whether metrics and Sentry are on, never showing the DSN's key.
#[test]
fn check_config_shows_metrics_and_sentry_on_or_off_with_the_dsn_redacted() {
    let key = "0123456789abcdef0123456789abcdef";
    let dsn = format!("https://{key}@o1.ingest.sentry.io/42");
    let on = check_config(&production(&[
        ("METRICS_ADDR", "0.0.0.0:9100"),
        ("SENTRY_DSN", dsn.as_str()),
    ]));
    assert_eq!(on.code, Some(0), "{}", on.output());
    for expected in [
        "metrics: on, http://0.0.0.0:9100/metrics",
        "sentry: on, https://***@o1.ingest.sentry.io:443/42, release gatehouse@",
    ] {
        assert!(
            on.stdout.contains(expected),
            "{expected} missing:\n{}",
            on.stdout
        );
    }
    assert!(!on.output().contains(key), "{}", on.output());

    let off = check_config(&production(&[]));
    for expected in [
        "metrics: off (METRICS_ADDR unset)",
        "sentry: off (SENTRY_DSN unset)",
    ] {
        assert!(
            off.stdout.contains(expected),
            "{expected} missing:\n{}",
            off.stdout
        );
    }
    let development = check_config(&[("ENVIRONMENT", "development"), ("SENTRY_DSN", dsn.as_str())]);
    assert!(
        development
            .stdout
            .contains("sentry: off in development (SENTRY_DSN ignored)"),
        "{}",
        development.stdout
    );
}

/// Issue 15: a DSN or metrics address that cannot work stops the start, like any bad value.
#[test]
fn a_bad_sentry_dsn_or_metrics_address_exits_78_without_echo() {
    let run = gatehouse(
        &["serve"],
        &production(&[
            ("SENTRY_DSN", "https://secret-dsn-key@sentry.example.com/"),
            ("METRICS_ADDR", "127.0.0.1:8000"),
        ]),
    );
    assert_eq!(run.code, Some(EX_CONFIG), "{}", run.output());
    assert!(
        run.names("SENTRY_DSN") && run.names("METRICS_ADDR"),
        "{}",
        run.stderr
    );
    assert!(!run.output().contains("secret-dsn-key"), "{}", run.output());
    assert!(run.stdout.is_empty(), "nothing may start: {}", run.stdout);
}

#[test]
fn development_with_nothing_set_passes_with_warnings() {
    let run = check_config(&[("ENVIRONMENT", "development")]);
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(run.stdout.contains("configuration OK"), "{}", run.stdout);
    for expected in [
        "DEVELOPMENT SETUP",
        "SECRET_KEY",
        "The value of FIRST_SUPERUSER_PASSWORD is \"changethis\", for security, please change it, at least for deployments.",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected} missing:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("WARN"), "{}", run.stdout);
}

#[test]
fn warnings_are_json_log_lines_outside_development() {
    let run = check_config(&production(&[("ACCESS_TOKEN_EXPIRE_MINUTES", "61")]));
    assert_eq!(run.code, Some(0), "{}", run.output());
    let warning = run
        .stdout
        .lines()
        .find(|line| line.contains("ACCESS_TOKEN_EXPIRE_MINUTES"))
        .expect("a warning line");
    let line: serde_json::Value = serde_json::from_str(warning).expect("JSON");
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["variable"], "ACCESS_TOKEN_EXPIRE_MINUTES");
    assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[test]
fn dotenv_in_the_working_directory_is_read_and_the_environment_wins() {
    let dir = Scratch::new();
    std::fs::write(
        dir.path().join(".env"),
        format!("ENVIRONMENT=production\nSECRET_KEY='{KEY}'\nDB_HOST=db.example.com\nDATABASE_URL=\"postgres://app@${{DB_HOST}}/app?sslmode=verify-full\"\n"),
    )
    .unwrap();
    let run = gatehouse_in(dir.path(), &["check-config"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(
        run.stdout.contains("postgres://app@db.example.com/app"),
        "{}",
        run.stdout
    );
    let run = gatehouse_in(
        dir.path(),
        &["check-config"],
        &[("PORT", "abc"), ("ENVIRONMENT", "")],
    );
    assert_eq!(run.code, Some(EX_CONFIG), "{}", run.output());
    assert_eq!(
        run.problems(),
        ["PORT: expected a port number as a whole number from 1 to 65535"]
    );
}

/// The `migrate` lines of `status`: `(applied, name)`.
fn migration_states(run: &Run) -> Vec<(bool, String)> {
    run.stdout
        .lines()
        .filter_map(|line| {
            let (mark, name) = line.split_once("  ")?;
            matches!(mark, "applied" | "pending").then(|| (mark == "applied", name.to_owned()))
        })
        .collect()
}

#[test]
fn migrate_up_status_down_and_fresh_work_on_sqlite() {
    let dir = Scratch::new();
    let vars = [
        ("ENVIRONMENT", "development"),
        ("DATABASE_URL", "sqlite://./gatehouse.db?mode=rwc"),
    ];
    let migrate = |args: &[&str]| {
        let run = gatehouse_in(dir.path(), &[&["migrate"], args].concat(), &vars);
        (run.code, migration_states(&run), run.output())
    };
    let (code, _, output) = migrate(&["up"]);
    assert_eq!(code, Some(0), "{output}");
    let (_, states, output) = migrate(&["status"]);
    assert!(
        states.len() >= 2 && states.iter().all(|(applied, _)| *applied),
        "{output}"
    );
    let (code, _, output) = migrate(&["down", "-n", "1"]);
    assert_eq!(code, Some(0), "{output}");
    let (_, after_down, _) = migrate(&["status"]);
    let pending: Vec<&String> = after_down
        .iter()
        .filter(|(applied, _)| !applied)
        .map(|(_, name)| name)
        .collect();
    assert_eq!(
        pending,
        [&states.last().unwrap().1],
        "the newest is rolled back"
    );
    let (code, _, output) = migrate(&["fresh"]);
    assert_eq!(code, Some(1), "fresh without --yes: {output}");
    assert!(output.contains("--yes"), "{output}");
    let (_, unchanged, _) = migrate(&["status"]);
    assert_eq!(
        unchanged, after_down,
        "an unconfirmed fresh touches nothing"
    );
    let (code, _, output) = migrate(&["fresh", "--yes"]);
    assert_eq!(code, Some(0), "{output}");
    let (_, fresh, _) = migrate(&["status"]);
    assert_eq!(fresh, states);
}

#[test]
fn migrate_fresh_is_refused_outside_development_even_with_yes() {
    for environment in ["staging", "production"] {
        let run = gatehouse(
            &["migrate", "fresh", "--yes"],
            &production(&[("ENVIRONMENT", environment)]),
        );
        assert_eq!(run.code, Some(1), "{}", run.output());
        assert!(
            run.stdout
                .contains(&format!("refused in {environment} even with --yes")),
            "{}",
            run.output()
        );
    }
}

/// Logs in on `server` with a form; the token pair's `(access, refresh)`.
async fn served_login(server: &ServedBinary, email: &str, password: &str) -> (String, String) {
    let response = server
        .login(&reqwest::Client::new(), email, password)
        .send()
        .await
        .expect("login sent");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("token pair");
    let field = |name: &str| body[name].as_str().expect("a token").to_owned();
    (field("access_token"), field("refresh_token"))
}

#[tokio::test]
async fn operators_create_a_superuser_log_it_out_everywhere_and_prune() {
    let dir = Scratch::new();
    let database = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("admin.db").display()
    );
    let vars = [
        ("ENVIRONMENT", "development"),
        ("DATABASE_URL", database.as_str()),
        ("SECRET_KEY", KEY),
    ];
    let run = |args: &[&str], input: &str| gatehouse_with_input(dir.path(), args, &vars, input);
    let superuser = |email: &str, input: &str| {
        run(
            &["create-superuser", "--email", email, "--password-stdin"],
            input,
        )
    };
    assert_eq!(run(&["migrate", "up"], "").code, Some(0));

    let created = superuser("Root@EXAMPLE.com", "a-strong-pass-1\n");
    let taken = superuser("root@example.com", "another-pass-12\n");
    let short = superuser("short@example.com", "tiny-pw\n");
    assert_eq!(created.code, Some(0), "{}", created.output());
    assert!(
        created
            .stdout
            .contains("created superuser Root@example.com"),
        "{}",
        created.output()
    );
    assert_eq!(taken.code, Some(1), "{}", taken.output());
    assert!(
        taken.stderr.contains("already exists"),
        "{}",
        taken.output()
    );
    assert_eq!(short.code, Some(1), "{}", short.output());
    assert!(short.stderr.contains("8 to 128"), "{}", short.output());
    for run in [&created, &taken, &short] {
        for password in ["a-strong-pass-1", "another-pass-12", "tiny-pw"] {
            assert!(!run.output().contains(password), "{}", run.output());
        }
    }

    let server = ServedBinary::start(
        BINARY,
        &[("DATABASE_URL", database.as_str()), ("SECRET_KEY", KEY)],
    );
    server.wait_ready().await;
    let client = reqwest::Client::new();
    let first = served_login(&server, "root@example.com", "a-strong-pass-1").await;
    let second = served_login(&server, "root@example.com", "a-strong-pass-1").await;
    let me = |access: String| {
        client
            .get(format!("{}/api/v1/users/me", server.base()))
            .bearer_auth(access)
            .send()
    };
    let profile: serde_json::Value = me(first.0.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(profile["is_superuser"], true, "{profile}");

    let ended = run(&["end-sessions", "--email", "ROOT@example.com"], "");
    let unknown = run(&["end-sessions", "--email", "nobody@example.com"], "");

    assert_eq!(ended.code, Some(0), "{}", ended.output());
    assert!(
        ended
            .stdout
            .contains("ended 2 session(s) of Root@example.com"),
        "{}",
        ended.output()
    );
    assert_eq!(unknown.code, Some(1), "{}", unknown.output());
    assert!(
        unknown.stderr.contains("no account"),
        "{}",
        unknown.output()
    );
    let refreshed = client
        .post(format!("{}/api/v1/auth/refresh", server.base()))
        .json(&serde_json::json!({ "refresh_token": first.1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(second.0).await.unwrap().status(),
        reqwest::StatusCode::FORBIDDEN
    );
    let (access, _) = served_login(&server, "root@example.com", "a-strong-pass-1").await;

    let pruned = run(&["prune", "--keep-days", "0"], "");
    assert_eq!(pruned.code, Some(0), "{}", pruned.output());
    assert!(
        pruned.stdout.contains(
            "deleted 2 session(s) ended more than 0 day(s) ago and 0 stale throttle counter(s)"
        ),
        "{}",
        pruned.output()
    );
    assert_eq!(
        me(access).await.unwrap().status(),
        reqwest::StatusCode::OK,
        "the live session is kept"
    );
}
