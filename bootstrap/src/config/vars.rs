//! The recognised variables and the one reader of their values: numbers within bounds, durations,
//! lax booleans, fixed choices, lists and origins. Values are typed here, not by a deserializer
//! such as envy, which stops at the first bad value (SECURITY.md pitfall E1): each reader records
//! a problem and returns the default, so validation goes on and every problem is reported
//! together (CFG-01); a malformed optional never silently defaults (pitfall E2) because the
//! recorded error stops start-up. Messages name a variable and the expected form, never a value
//! (CFG-02).

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::ops::{Bound, RangeBounds, RangeInclusive};
use std::str::FromStr;
use std::time::Duration;

/// Every variable Gatehouse reads, as `.env.example` documents them: the FastAPI template's
/// (CONTRACT.md §11; `POSTGRES_SSLMODE` is Gatehouse's, issue 12 item 3), then Gatehouse's own.
/// `EMAIL_TEST_USER` is accepted and ignored like any unknown variable: only the template's own
/// tests used it.
const VARIABLES: &str = "
    ENVIRONMENT FASTAPI_ENV SECRET_KEY PROJECT_NAME API_V1_STR FRONTEND_HOST BACKEND_CORS_ORIGINS
    DATABASE_URL POSTGRES_SERVER POSTGRES_PORT POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB
    POSTGRES_SSLMODE FIRST_SUPERUSER FIRST_SUPERUSER_PASSWORD ACCESS_TOKEN_EXPIRE_MINUTES
    SMTP_HOST SMTP_PORT SMTP_TLS SMTP_SSL SMTP_USER SMTP_PASSWORD SMTP_CA_FILE EMAILS_FROM_EMAIL
    EMAILS_FROM_NAME EMAIL_RESET_TOKEN_EXPIRE_HOURS SENTRY_DSN
    HOST PORT LOG_FORMAT RUST_LOG DOCS_ENABLED MAX_BODY_BYTES REQUEST_TIMEOUT_SECONDS
    READ_TIMEOUT_SECONDS SHUTDOWN_GRACE_SECONDS TRUSTED_PROXIES FRONTEND_DIR METRICS_ADDR
    DATABASE_MIGRATION_URL DATABASE_MAX_CONNECTIONS DATABASE_MIN_CONNECTIONS
    DATABASE_ACQUIRE_TIMEOUT_SECONDS DATABASE_IDLE_TIMEOUT_SECONDS DATABASE_MAX_LIFETIME_SECONDS
    TOKEN_FORMAT TOKEN_ISSUER TOKEN_AUDIENCE TOKEN_SIGNING_KEY TOKEN_SIGNING_KEY_FILE
    TOKEN_VERIFICATION_KEYS TOKEN_VERIFICATION_KEYS_FILE
    REFRESH_TOKEN_LIFETIME_DAYS SESSION_IDLE_TIMEOUT_DAYS MAX_SESSIONS_PER_USER REFRESH_GRACE_SECONDS
    LOGIN_MAX_FAILURES_PER_ACCOUNT LOGIN_ACCOUNT_WINDOW_SECONDS LOGIN_ACCOUNT_MAX_DOUBLINGS
    LOGIN_MAX_ATTEMPTS_PER_IP LOGIN_IP_WINDOW_SECONDS SIGNUP_MAX_PER_IP SIGNUP_IP_WINDOW_SECONDS
    RECOVERY_MAX_PER_IP RECOVERY_IP_WINDOW_SECONDS RECOVERY_MAX_PER_EMAIL
    RECOVERY_EMAIL_WINDOW_SECONDS RESET_MAX_INVALID_PER_IP RESET_IP_WINDOW_SECONDS
    REFRESH_MAX_INVALID_PER_IP REFRESH_IP_WINDOW_SECONDS THROTTLE_IPV6_PREFIX
    ARGON2_MEMORY_KIB ARGON2_ITERATIONS ARGON2_PARALLELISM HASHING_CONCURRENCY
    HASHING_QUEUE_TIMEOUT_SECONDS";

fn recognised(name: &str) -> bool {
    VARIABLES.split_whitespace().any(|known| known == name)
}

/// The recognised variables by name; empty values count as unset and a repeated name keeps the
/// last value. Names match whatever their case, as they did when envy read them; two spellings
/// of one name are refused rather than one silently winning.
///
/// # Errors
/// Two spellings of one recognised name (the values are not shown).
pub(super) fn recognise(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<BTreeMap<String, String>, ConfigErrors> {
    let vars: BTreeMap<String, String> = vars.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let mut values = BTreeMap::new();
    for (name, value) in vars {
        let name = name.to_lowercase().to_ascii_uppercase();
        if recognised(&name) && values.insert(name, value).is_some() {
            return Err(ConfigErrors(vec![ConfigError {
                variable: "environment",
                message: "could not be read".to_owned(),
            }]));
        }
    }
    Ok(values)
}

/// One refused setting: the variable and what it should look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable at fault, e.g. `SECRET_KEY` (or `DATABASE_URL password` for a URL part).
    pub variable: &'static str,
    /// What is wrong and the expected form; never contains the value.
    pub message: String,
}

impl Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Every problem found, in order of discovery, so an operator fixes them in one pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Whether any error names `variable`; used by tests and by callers that react to one setting.
    pub fn names(&self, variable: &str) -> bool {
        self.0.iter().any(|e| e.variable == variable)
    }
}

impl Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}

/// A setting accepted with a caveat (a development fallback, a weak value tolerated outside
/// production, an ignored legacy variable). The caller logs these after telemetry starts, so
/// they come out in the configured log format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The variable concerned.
    pub variable: &'static str,
    /// The text to log; never contains a secret.
    pub message: String,
}

/// Spellings pydantic accepts for booleans (CONTRACT.md §2.3), compared case-insensitively.
const TRUE_WORDS: [&str; 6] = ["1", "on", "t", "true", "y", "yes"];
const FALSE_WORDS: [&str; 6] = ["0", "off", "f", "false", "n", "no"];

/// The variables in force and what validating them found.
pub(super) struct Vars<'a> {
    values: &'a BTreeMap<String, String>,
    /// Staging/production (or an unknown environment): weaknesses are errors, not warnings.
    strict: bool,
    errors: Vec<ConfigError>,
    warnings: Vec<Warning>,
}

impl<'a> Vars<'a> {
    /// Strict until the environment is known to be local/development.
    pub(super) fn new(values: &'a BTreeMap<String, String>) -> Self {
        Self {
            values,
            strict: true,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The raw value of a recognised variable, `None` when unset.
    pub(super) fn get(&self, name: &str) -> Option<&'a str> {
        debug_assert!(recognised(name), "{name} is not in VARIABLES");
        self.values.get(name).map(String::as_str)
    }

    pub(super) fn set_strict(&mut self, strict: bool) {
        self.strict = strict;
    }

    /// Whether weaknesses are refused (staging, production, or an environment that failed to parse).
    pub(super) fn strict(&self) -> bool {
        self.strict
    }

    pub(super) fn error(&mut self, variable: &'static str, message: impl Into<String>) {
        let message = message.into();
        self.errors.push(ConfigError { variable, message });
    }

    /// A warning from a fragment that follows the variable's name: `warn("SMTP_SSL", "is
    /// ignored …")` logs `SMTP_SSL is ignored …`, as errors print `SMTP_SSL: is ignored …`.
    pub(super) fn warn(&mut self, variable: &'static str, fragment: impl Into<String>) {
        let message = format!("{variable} {}", fragment.into());
        self.warnings.push(Warning { variable, message });
    }

    /// A weakness: refused in staging/production, tolerated with a warning in development/local
    /// (SECURITY.md CFG-03, §4.3 last row).
    pub(super) fn weak(&mut self, variable: &'static str, fragment: impl Into<String>) {
        if self.strict {
            self.error(variable, fragment);
        } else {
            self.warn(variable, fragment);
        }
    }

    /// A weakness described by a whole sentence logged verbatim (the contract's "changethis" text).
    pub(super) fn weak_sentence(&mut self, variable: &'static str, message: String) {
        if self.strict {
            self.error(variable, message);
        } else {
            self.warnings.push(Warning { variable, message });
        }
    }

    /// The warnings when nothing was refused, else every error.
    pub(super) fn finish(self) -> Result<Vec<Warning>, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(self.warnings)
        } else {
            Err(ConfigErrors(self.errors))
        }
    }

    /// A whole number within `bounds` (`min..=max` or `min..`) counted in `unit`, or `default`
    /// when unset.
    pub(super) fn number<T>(
        &mut self,
        name: &'static str,
        default: T,
        bounds: impl RangeBounds<T>,
        unit: &str,
    ) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(raw) = self.get(name) else {
            return default;
        };
        match raw.trim().parse::<T>() {
            Ok(n) if bounds.contains(&n) => n,
            _ => {
                let (Bound::Included(min), max) = (bounds.start_bound(), bounds.end_bound()) else {
                    unreachable!("every bound has a minimum")
                };
                let range = match max {
                    Bound::Included(max) => format!(" from {min} to {max}"),
                    _ => format!(", at least {min}"),
                };
                self.error(name, format!("expected {unit} as a whole number{range}"));
                default
            }
        }
    }

    /// A duration in whole seconds within `range`, or `default` seconds when unset. Every
    /// duration has a ceiling: an absurd one would overflow time arithmetic at run time.
    pub(super) fn seconds(
        &mut self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Duration {
        Duration::from_secs(self.number(name, default, range, "seconds"))
    }

    /// A lax boolean (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`).
    pub(super) fn boolean(&mut self, name: &'static str, default: bool) -> bool {
        let Some(word) = self.get(name).map(|raw| raw.trim().to_ascii_lowercase()) else {
            return default;
        };
        if TRUE_WORDS.contains(&word.as_str()) {
            true
        } else if FALSE_WORDS.contains(&word.as_str()) {
            false
        } else {
            let expected = "expected a boolean: true/false, 1/0, yes/no, on/off, t/f or y/n";
            self.error(name, expected);
            default
        }
    }

    /// One of a fixed set of spellings (exact match), or `default` when unset.
    pub(super) fn choice<T: Copy>(
        &mut self,
        name: &'static str,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(raw) = self.get(name) else {
            return default;
        };
        if let Some((_, value)) = options.iter().find(|(option, _)| *option == raw.trim()) {
            return *value;
        }
        let names: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
        self.error(name, format!("expected one of: {}", names.join(", ")));
        default
    }
}

/// Splits a list given as `a,b,c` or as a JSON array `["a","b"]` (the template's
/// `BACKEND_CORS_ORIGINS` accepts both); blank entries are dropped.
pub(super) fn list(raw: &str) -> Result<Vec<String>, ()> {
    let trimmed = raw.trim();
    let items: Vec<String> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<String>>(trimmed).map_err(|_| ())?
    } else {
        trimmed.split(',').map(str::to_owned).collect()
    };
    let items = items.into_iter().map(|item| item.trim().to_owned());
    Ok(items.filter(|item| !item.is_empty()).collect())
}

/// An `http(s)://host[:port]` origin with any trailing slash removed, as browsers send it in
/// `Origin` and as FastAPI's settings normalise it.
pub(super) fn origin(raw: &str) -> Option<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    plain.then(|| trimmed.to_owned())
}

/// A duration in whole seconds, for `check-config`.
pub(super) fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs())
}

/// Test fixtures shared by the sections' tests.
#[cfg(test)]
pub(super) mod testing {
    use super::*;

    /// Reads `pairs` (leaked: a test's variables live as long as the test).
    pub(in crate::config) fn vars(strict: bool, pairs: &[(&str, &str)]) -> Vars<'static> {
        let pairs = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let mut vars = Vars::new(Box::leak(Box::new(recognise(pairs).unwrap())));
        vars.set_strict(strict);
        vars
    }

    /// What a section built, and the warnings or the errors.
    pub(in crate::config) type Checked<T> = (T, Result<Vec<Warning>, ConfigErrors>);

    /// Validates `pairs` (an empty value is unset) with one section.
    pub(in crate::config) fn check<T>(
        strict: bool,
        pairs: &[(&str, &str)],
        section: impl FnOnce(&mut Vars<'static>) -> T,
    ) -> Checked<T> {
        let mut vars = vars(strict, pairs);
        let built = section(&mut vars);
        (built, vars.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{check, vars};
    use super::*;

    const ENV_EXAMPLE: &str = include_str!("../../../.env.example");

    #[test]
    fn env_example_documents_exactly_the_recognised_variables() {
        let recognised: Vec<&str> = VARIABLES.split_whitespace().collect();
        let mut documented: Vec<String> = dotenvy::from_read_iter(ENV_EXAMPLE.as_bytes())
            .map(|line| line.unwrap().0)
            .filter(|name| name != "EMAIL_TEST_USER")
            .collect();
        documented.sort();
        let mut sorted = recognised.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, documented);
        for line in ENV_EXAMPLE
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let position = ENV_EXAMPLE.find(line).unwrap();
            let previous = ENV_EXAMPLE[..position].lines().last().unwrap_or_default();
            assert!(previous.starts_with("# "), "{line} has no comment line");
        }
    }

    #[test]
    fn names_match_whatever_their_case_but_only_once() {
        assert_eq!(vars(true, &[("port", "1")]).get("PORT"), Some("1"));
        assert!(recognise([("Port".into(), "1".into()), ("PORT".into(), "2".into())]).is_err());
        assert!(recognise([("other".into(), "1".into()), ("OTHER".into(), "2".into())]).is_ok());
    }

    #[test]
    fn numbers_outside_their_bounds_are_errors_not_defaults() {
        let pairs = [
            ("PORT", "99999"),
            ("HOST", "-1"),
            ("SMTP_PORT", "31"),
            ("SMTP_USER", " 30 "),
        ];
        let (read, result) = check(true, &pairs, |v| {
            [
                u32::from(v.number("PORT", 8000u16, 1.., "a port number")),
                v.number("HOST", 5u32, 0.., "s"),
                v.number("SMTP_PORT", 5u32, 0..=30, "s"),
                v.number("SMTP_USER", 5u32, 0..=30, "s"),
                v.number("SMTP_HOST", 5u32, 0..=30, "s"),
            ]
        });
        assert_eq!(read, [8000, 5, 5, 30, 5]);
        let errors = result.unwrap_err();
        assert_eq!(errors.0.len(), 3);
        assert_eq!(
            errors.0[0].message,
            "expected a port number as a whole number, at least 1"
        );
        assert_eq!(
            errors.0[2].message,
            "expected s as a whole number from 0 to 30"
        );
    }

    #[test]
    fn booleans_are_lax_and_case_insensitive() {
        let words = [
            ["1", "ON", "t", "True", "y", "YES"],
            ["0", "off", "F", "FALSE", "n", "No"],
        ];
        for (words, expected) in words.into_iter().zip([true, false]) {
            for word in words {
                let (read, result) = check(true, &[("SMTP_TLS", word)], |v| {
                    v.boolean("SMTP_TLS", !expected)
                });
                assert!(read == expected && result.is_ok(), "{word}");
            }
        }
        let (read, result) = check(true, &[("SMTP_TLS", "maybe")], |v| {
            v.boolean("SMTP_TLS", true)
        });
        assert!(read && result.unwrap_err().names("SMTP_TLS"));
    }

    #[test]
    fn lists_accept_commas_and_json() {
        assert_eq!(list(" a, b ,,c ").unwrap(), ["a", "b", "c"]);
        assert_eq!(list(r#"["a", "b"]"#).unwrap(), ["a", "b"]);
        assert!(list(r#"["a", 1]"#).is_err());
    }

    #[test]
    fn origins_lose_their_trailing_slash_and_refuse_paths() {
        assert_eq!(
            origin("https://app.example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            origin("http://localhost:5173").unwrap(),
            "http://localhost:5173"
        );
        for refused in [
            "https://app.example.com/path",
            "ftp://example.com",
            "example.com",
        ] {
            assert!(origin(refused).is_none(), "{refused}");
        }
    }
}
