//! Secrets and their strength rules: `SECRET_KEY`, the contract's "changethis" rule, known
//! placeholders, the first superuser's credentials, and random key material for development.

use gatehouse_domain::{Email, Password, Secret};

use super::vars::Vars;

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
pub(super) fn placeholder(v: &mut Vars<'_>, variable: &'static str, value: &str) -> bool {
    if value == CHANGETHIS {
        v.weak_sentence(
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
        v.weak(
            variable,
            "is a well-known placeholder value (a published example or a common word); set a real secret",
        );
    }
    known
}

/// `SECRET_KEY`: required, long and varied outside development; in development a missing key
/// becomes a random per-process key and weak keys only warn. `None` only with an error recorded.
pub(super) fn secret_key(v: &mut Vars<'_>) -> Option<Secret> {
    const HOW: &str = "expected at least 32 bytes with at least 16 distinct ones, e.g. from `gatehouse generate-key` or `openssl rand -base64 48`";
    let Some(key) = v.get("SECRET_KEY") else {
        if v.strict() {
            v.error(
                "SECRET_KEY",
                format!("is required outside development/local: {HOW}"),
            );
            return None;
        }
        v.warn(
            "SECRET_KEY",
            "is unset: using a random key for this process only (development); tokens will not survive a restart",
        );
        let key = generate_secret_key().map_err(|e| {
            let message =
                format!("could not generate a random development key ({e}); set it explicitly");
            v.error("SECRET_KEY", message);
        });
        return key.ok().map(Secret::new);
    };
    if !placeholder(v, "SECRET_KEY", key) {
        let mut seen = [false; 256];
        key.bytes().for_each(|byte| seen[usize::from(byte)] = true);
        if key.len() < MIN_KEY_BYTES {
            v.weak("SECRET_KEY", format!("has fewer than 32 bytes: {HOW}"));
        } else if seen.iter().filter(|&&s| s).count() < MIN_DISTINCT_BYTES {
            v.weak(
                "SECRET_KEY",
                format!("has too few distinct bytes (hex keys often do): {HOW}"),
            );
        }
    }
    Some(Secret::new(key))
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

/// `FIRST_SUPERUSER` and `FIRST_SUPERUSER_PASSWORD`: both or neither; in development, neither
/// means `admin@example.com` with the template's password, which the changethis rule flags.
pub(super) fn first_superuser(v: &mut Vars<'_>) -> Option<FirstSuperuser> {
    let (email, password) = match (v.get("FIRST_SUPERUSER"), v.get("FIRST_SUPERUSER_PASSWORD")) {
        (None, None) if v.strict() => return None,
        (None, None) => {
            v.warn(
                "FIRST_SUPERUSER",
                format!(
                    "is unset: seeding the development superuser {DEVELOPMENT_SUPERUSER} with the template's development password"
                ),
            );
            (DEVELOPMENT_SUPERUSER, CHANGETHIS)
        }
        (Some(_), None) => {
            v.error(
                "FIRST_SUPERUSER_PASSWORD",
                "is required when FIRST_SUPERUSER is set (set both or neither)",
            );
            return None;
        }
        (None, Some(_)) => {
            v.error(
                "FIRST_SUPERUSER",
                "is required when FIRST_SUPERUSER_PASSWORD is set (set both or neither)",
            );
            return None;
        }
        (Some(email), Some(password)) => (email, password),
    };
    let email = Email::parse(email).map_err(|e| {
        v.error(
            "FIRST_SUPERUSER",
            format!("expected an email address: {}", e.reason()),
        );
    });
    placeholder(v, "FIRST_SUPERUSER_PASSWORD", password);
    let password = Password::new(password).map_err(|_| {
        let expected = format!("expected {} to {} characters", Password::MIN, Password::MAX);
        v.error("FIRST_SUPERUSER_PASSWORD", expected);
    });
    Some(FirstSuperuser {
        email: email.ok()?,
        password: password.ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::vars::testing::check;
    use super::*;

    const CHANGETHIS_SENTENCE: &str = "The value of SECRET_KEY is \"changethis\", for security, please change it, at least for deployments.";

    #[test]
    fn changethis_is_refused_in_production_with_the_contract_text_and_only_warns_in_development() {
        let (key, result) = check(true, &[("SECRET_KEY", "changethis")], secret_key);
        assert!(key.is_some());
        let errors = result.unwrap_err();
        assert_eq!(errors.0.len(), 1, "one line, not one per rule: {errors}");
        assert_eq!(errors.0[0].message, CHANGETHIS_SENTENCE);
        let (_, result) = check(false, &[("SECRET_KEY", "changethis")], secret_key);
        assert!(
            result.unwrap()[0]
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
            let errors = check(true, &[("SECRET_KEY", key)], secret_key)
                .1
                .unwrap_err();
            assert_eq!(errors.0.len(), 1);
            assert_eq!(errors.0[0].variable, "SECRET_KEY");
            assert!(!errors.0[0].message.contains(key), "value echoed: {errors}");
            let (_, result) = check(false, &[("SECRET_KEY", key)], secret_key);
            assert!(result.is_ok(), "development only warns");
        }
        let key = generate_secret_key().unwrap();
        let (_, result) = check(true, &[("SECRET_KEY", &key)], secret_key);
        assert!(
            result.unwrap().is_empty(),
            "a generated key passes every rule"
        );
    }

    #[test]
    fn missing_key_is_an_error_in_production_and_random_in_development() {
        let (key, result) = check(true, &[], secret_key);
        assert!(key.is_none() && result.unwrap_err().names("SECRET_KEY"));
        let ((a, b), result) = check(false, &[], |v| {
            (secret_key(v).unwrap(), secret_key(v).unwrap())
        });
        assert_ne!(a, b);
        assert!(a.expose().len() >= MIN_KEY_BYTES);
        assert_eq!(result.unwrap().len(), 2);
    }

    #[test]
    fn superuser_needs_both_valid_values() {
        // An empty value is unset.
        let superuser = |email, password| {
            let pairs = [
                ("FIRST_SUPERUSER", email),
                ("FIRST_SUPERUSER_PASSWORD", password),
            ];
            check(true, &pairs, first_superuser)
        };
        for (email, password, named) in [
            ("a@example.com", "", "FIRST_SUPERUSER_PASSWORD"),
            ("", "long enough pw", "FIRST_SUPERUSER"),
            ("not-an-email", "7chars!", "FIRST_SUPERUSER"),
            ("not-an-email", "7chars!", "FIRST_SUPERUSER_PASSWORD"),
            ("a@example.com", "changeme", "FIRST_SUPERUSER_PASSWORD"),
        ] {
            let (seeded, result) = superuser(email, password);
            assert!(result.unwrap_err().names(named), "{email} {password}");
            let one_of_two = email.is_empty() || password.is_empty();
            assert!(
                !one_of_two || seeded.is_none(),
                "one of two values seeds nothing"
            );
        }
        let (seeded, result) = superuser("", "");
        assert!(seeded.is_none() && result.is_ok());
    }

    #[test]
    fn development_seeds_the_template_superuser_with_a_warning() {
        let (seeded, result) = check(false, &[], first_superuser);
        let seeded = seeded.unwrap();
        assert_eq!(seeded.email.as_str(), "admin@example.com");
        assert_eq!(seeded.password.expose(), "changethis");
        let warnings = result.unwrap();
        assert!(warnings.iter().any(|w| w.variable == "FIRST_SUPERUSER"));
        assert!(warnings.iter().any(|w| w.message
            == "The value of FIRST_SUPERUSER_PASSWORD is \"changethis\", for security, please change it, at least for deployments."));
    }
}
