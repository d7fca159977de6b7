//! `gatehouse check-config`: the configuration was valid (or the binary exited 78 before coming
//! here); print the verdict and a summary without secrets.

use std::io::Write;
use std::process::ExitCode;

use crate::config::Settings;

/// Prints `configuration OK` and one `topic: value` line per section to `out`.
///
/// # Errors
/// Only when `out` cannot be written.
pub fn report(settings: &Settings, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "configuration OK")?;
    for (topic, value) in settings.summary() {
        writeln!(out, "  {topic}: {value}")?;
    }
    Ok(())
}

/// Runs the command on stdout.
pub fn run(settings: &Settings) -> ExitCode {
    match report(settings, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_section_and_hides_secrets() {
        let vars = [
            ("ENVIRONMENT", "staging"),
            ("SECRET_KEY", "kX9-2mQ_vR7tL4wZ8nB1cY6hJ3pF0sD5gA"),
            (
                "DATABASE_URL",
                "postgres://app:db-pass-31337@db.internal/app?sslmode=verify-full",
            ),
            ("FIRST_SUPERUSER", "root@example.com"),
            ("FIRST_SUPERUSER_PASSWORD", "seed-pass-31337"),
            ("SMTP_HOST", "smtp.example.com"),
            ("SMTP_PASSWORD", "smtp-pass-31337"),
            ("EMAILS_FROM_EMAIL", "noreply@example.com"),
        ];
        let (settings, _) =
            Settings::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned()))).unwrap();
        let mut out = Vec::new();
        report(&settings, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("configuration OK\n"));
        for expected in [
            "environment: staging",
            "database: postgres://app:***@db.internal/app?sslmode=verify-full",
            "first superuser: root@example.com",
            "email: smtp.example.com:587 (StartTls, system CA bundle) from Gatehouse <noreply@example.com>",
            "frontend: not served",
            "LOGIN_MAX_FAILURES_PER_ACCOUNT=5 per 900 s doubling up to 4 times",
            "LOGIN_MAX_ATTEMPTS_PER_IP=20 per 60 s,",
        ] {
            assert!(out.contains(expected), "{expected} missing from\n{out}");
        }
        for secret in ["kX9-2mQ", "31337"] {
            assert!(!out.contains(secret), "{secret} leaked into\n{out}");
        }
    }
}
