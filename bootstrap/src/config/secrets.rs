//! Secrets and their strength rules: `SECRET_KEY`, the contract's "changethis" rule, known
//! placeholders, the first superuser's credentials, and random key material for development.

use gatehouse_domain::{Email, Password, Secret};

use super::report::Report;

/// The development `SECRET_KEY` shipped in `.env.example`: fine on a laptop, refused elsewhere
/// like every other published value (SECURITY.md CFG-03).
pub const EXAMPLE_SECRET_KEY: &str = "development-only-secret-key-never-deploy-0123456789";

/// The template's documented development password, also the default superuser's in development.
const CHANGETHIS: &str = "changethis";

/// Published or guessable values refused outside development, compared case-insensitively.
const PLACEHOLDERS: [&str; 6] = [
    CHANGETHIS,
    "changeme",
    "change-me",
    "secret",
    "password",
    EXAMPLE_SECRET_KEY,
];

/// Shortest accepted `SECRET_KEY`, and the fewest distinct bytes it must contain: an HS256 key
/// needs 256 bits (SECURITY.md TOK-08, CFG-03).
const MIN_KEY_BYTES: usize = 32;
const MIN_DISTINCT_BYTES: usize = 16;

/// The superuser created at start-up unless the address exists (CONTRACT.md §11).
#[derive(Clone, Debug)]
pub struct FirstSuperuser {
    pub email: Email,
    /// Already checked for length (8–128 characters); `Debug` is redacted.
    pub password: Password,
}

/// The address seeded in development when `FIRST_SUPERUSER` is unset.
const DEVELOPMENT_SUPERUSER: &str = "admin@example.com";

/// Applies the "changethis" rule (exact contract text) and the placeholder list to a secret.
/// Returns whether the value was a placeholder, so strength rules add no second line.
pub(super) fn placeholder(report: &mut Report, variable: &'static str, value: &str) -> bool {
    if value == CHANGETHIS {
        report.weak_sentence(
            variable,
            format!(
                "The value of {variable} is \"changethis\", for security, please change it, at least for deployments."
            ),
        );
        return true;
    }
    let known = PLACEHOLDERS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(value.trim()));
    if known {
        report.weak(
            variable,
            "is a well-known placeholder value (a published example or a common word); set a real secret",
        );
    }
    known
}

/// `SECRET_KEY`: required, long and varied outside development; in development a missing key
/// becomes a random per-process key and weak keys only warn. `None` only with an error recorded.
pub(super) fn secret_key(report: &mut Report, raw: Option<&str>) -> Option<Secret> {
    const HOW: &str = "expected at least 32 bytes with at least 16 distinct ones, e.g. from `gatehouse generate-key` or `openssl rand -base64 48`";
    let Some(key) = raw else {
        if report.strict() {
            report.error(
                "SECRET_KEY",
                format!("is required outside development/local: {HOW}"),
            );
            return None;
        }
        report.warn(
            "SECRET_KEY",
            "is unset: using a random key for this process only (development); tokens will not survive a restart",
        );
        return random_token(report, "SECRET_KEY").map(Secret::new);
    };
    if !placeholder(report, "SECRET_KEY", key) {
        if key.len() < MIN_KEY_BYTES {
            report.weak("SECRET_KEY", format!("has fewer than 32 bytes: {HOW}"));
        } else if distinct_bytes(key) < MIN_DISTINCT_BYTES {
            report.weak(
                "SECRET_KEY",
                format!("has too few distinct bytes (hex keys often do): {HOW}"),
            );
        }
    }
    Some(Secret::new(key))
}

fn distinct_bytes(value: &str) -> usize {
    let mut seen = [false; 256];
    for byte in value.bytes() {
        seen[usize::from(byte)] = true;
    }
    seen.iter().filter(|&&s| s).count()
}

/// 64 URL-safe characters carrying 384 random bits (48 bytes, 6 bits kept per character), the
/// form `gatehouse generate-key` prints and a valid `SECRET_KEY`.
pub fn generate_secret_key() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect())
}

fn random_token(report: &mut Report, variable: &'static str) -> Option<String> {
    generate_secret_key()
        .map_err(|e| {
            report.error(
                variable,
                format!("could not generate a random development key ({e}); set it explicitly"),
            );
        })
        .ok()
}

/// `FIRST_SUPERUSER` and `FIRST_SUPERUSER_PASSWORD`: both or neither; in development, neither
/// means `admin@example.com` with the template's password, which the changethis rule flags.
pub(super) fn first_superuser(
    report: &mut Report,
    email: Option<&str>,
    password: Option<&str>,
) -> Option<FirstSuperuser> {
    let (email, password) = match (email, password) {
        (None, None) if report.strict() => return None,
        (None, None) => {
            report.warn(
                "FIRST_SUPERUSER",
                format!(
                    "is unset: seeding the development superuser {DEVELOPMENT_SUPERUSER} with the template's development password"
                ),
            );
            (DEVELOPMENT_SUPERUSER, CHANGETHIS)
        }
        (Some(_), None) => {
            report.error(
                "FIRST_SUPERUSER_PASSWORD",
                "is required when FIRST_SUPERUSER is set (set both or neither)",
            );
            return None;
        }
        (None, Some(_)) => {
            report.error(
                "FIRST_SUPERUSER",
                "is required when FIRST_SUPERUSER_PASSWORD is set (set both or neither)",
            );
            return None;
        }
        (Some(email), Some(password)) => (email, password),
    };
    let email = Email::parse(email)
        .map_err(|e| {
            report.error(
                "FIRST_SUPERUSER",
                format!("expected an email address: {}", e.reason()),
            );
        })
        .ok();
    placeholder(report, "FIRST_SUPERUSER_PASSWORD", password);
    let password = Password::new(password)
        .map_err(|_| {
            report.error(
                "FIRST_SUPERUSER_PASSWORD",
                format!("expected {} to {} characters", Password::MIN, Password::MAX),
            );
        })
        .ok();
    Some(FirstSuperuser {
        email: email?,
        password: password?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> Report {
        Report::new()
    }

    fn lenient() -> Report {
        let mut report = Report::new();
        report.set_strict(false);
        report
    }

    #[test]
    fn changethis_is_refused_in_production_with_the_contract_text() {
        let mut report = strict();
        assert!(secret_key(&mut report, Some("changethis")).is_some());
        let errors = report.finish().unwrap_err();
        assert_eq!(errors.0.len(), 1, "one line, not one per rule: {errors}");
        assert_eq!(
            errors.0[0].message,
            "The value of SECRET_KEY is \"changethis\", for security, please change it, at least for deployments."
        );
    }

    #[test]
    fn changethis_only_warns_in_development() {
        let mut report = lenient();
        secret_key(&mut report, Some("changethis"));
        let warnings = report.finish().unwrap();
        assert!(
            warnings[0]
                .message
                .starts_with("The value of SECRET_KEY is \"changethis\"")
        );
    }

    #[test]
    fn weak_keys_are_refused_outside_development() {
        let long_but_dull = "ab".repeat(32);
        let almost = "k3Y".repeat(10) + "z";
        for key in [
            "sh0rt-k3y",
            almost.as_str(),
            long_but_dull.as_str(),
            "changeme",
            "Secret",
            EXAMPLE_SECRET_KEY,
        ] {
            let mut report = strict();
            secret_key(&mut report, Some(key));
            let errors = report.finish().unwrap_err();
            assert_eq!(errors.0.len(), 1);
            assert_eq!(errors.0[0].variable, "SECRET_KEY");
            assert!(!errors.0[0].message.contains(key), "value echoed: {errors}");
            let mut report = lenient();
            secret_key(&mut report, Some(key));
            assert!(report.finish().is_ok(), "development only warns");
        }
    }

    #[test]
    fn a_generated_key_passes_every_rule() {
        let key = generate_secret_key().unwrap();
        let mut report = strict();
        secret_key(&mut report, Some(&key));
        assert!(report.finish().unwrap().is_empty());
    }

    #[test]
    fn missing_key_is_an_error_in_production_and_random_in_development() {
        let mut report = strict();
        assert!(secret_key(&mut report, None).is_none());
        assert!(report.finish().unwrap_err().names("SECRET_KEY"));
        let mut report = lenient();
        let a = secret_key(&mut report, None).unwrap();
        let b = secret_key(&mut report, None).unwrap();
        assert_ne!(a, b);
        assert!(a.expose().len() >= MIN_KEY_BYTES);
        assert_eq!(report.finish().unwrap().len(), 2);
    }

    #[test]
    fn superuser_needs_both_values() {
        let mut report = strict();
        assert!(first_superuser(&mut report, Some("a@example.com"), None).is_none());
        assert!(
            report
                .finish()
                .unwrap_err()
                .names("FIRST_SUPERUSER_PASSWORD")
        );
        let mut report = strict();
        assert!(first_superuser(&mut report, None, Some("long enough pw")).is_none());
        assert!(report.finish().unwrap_err().names("FIRST_SUPERUSER"));
        let mut report = strict();
        assert!(first_superuser(&mut report, None, None).is_none());
        assert!(report.finish().is_ok());
    }

    #[test]
    fn superuser_values_are_checked() {
        let mut report = strict();
        first_superuser(&mut report, Some("not-an-email"), Some("7chars!"));
        let errors = report.finish().unwrap_err();
        assert!(errors.names("FIRST_SUPERUSER"));
        assert!(errors.names("FIRST_SUPERUSER_PASSWORD"));
        let mut report = strict();
        first_superuser(&mut report, Some("a@example.com"), Some("changeme"));
        assert!(
            report
                .finish()
                .unwrap_err()
                .names("FIRST_SUPERUSER_PASSWORD")
        );
    }

    #[test]
    fn development_seeds_the_template_superuser_with_a_warning() {
        let mut report = lenient();
        let seeded = first_superuser(&mut report, None, None).unwrap();
        assert_eq!(seeded.email.as_str(), "admin@example.com");
        assert_eq!(seeded.password.expose(), "changethis");
        let warnings = report.finish().unwrap();
        assert!(warnings.iter().any(|w| w.variable == "FIRST_SUPERUSER"));
        assert!(warnings.iter().any(|w| w.message
            == "The value of FIRST_SUPERUSER_PASSWORD is \"changethis\", for security, please change it, at least for deployments."));
    }
}
