//! Every recognised variable as an optional string, read by envy. Nothing is typed here: envy
//! stops at the first bad value (SECURITY.md pitfall E1), so typing happens afterwards, in
//! validation, where every problem is collected. Unknown variables are ignored.

use serde::Deserialize;

/// The raw values; envy maps `FIELD_NAME` in the environment to `field_name`. No `Debug`:
/// several fields are secrets.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct RawSettings {
    // CONTRACT.md §11: the FastAPI template's names.
    pub environment: Option<String>,
    pub fastapi_env: Option<String>,
    pub secret_key: Option<String>,
    pub project_name: Option<String>,
    pub database_url: Option<String>,
    pub postgres_server: Option<String>,
    pub postgres_port: Option<String>,
    pub postgres_user: Option<String>,
    pub postgres_password: Option<String>,
    pub postgres_db: Option<String>,
    // Gatehouse's addition to the template's POSTGRES_* parts (issue 12 item 3).
    pub postgres_sslmode: Option<String>,
    pub first_superuser: Option<String>,
    pub first_superuser_password: Option<String>,
    pub api_v1_str: Option<String>,
    pub access_token_expire_minutes: Option<String>,
    pub frontend_host: Option<String>,
    pub backend_cors_origins: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<String>,
    pub smtp_tls: Option<String>,
    pub smtp_ssl: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_ca_file: Option<String>,
    pub emails_from_email: Option<String>,
    pub emails_from_name: Option<String>,
    pub email_reset_token_expire_hours: Option<String>,
    pub sentry_dsn: Option<String>,
    // `EMAIL_TEST_USER` is accepted and ignored like any unknown variable: only the template's
    // own tests used it.

    // Gatehouse's own: server and logging.
    pub host: Option<String>,
    pub port: Option<String>,
    pub log_format: Option<String>,
    pub rust_log: Option<String>,
    pub docs_enabled: Option<String>,
    pub max_body_bytes: Option<String>,
    pub request_timeout_seconds: Option<String>,
    pub read_timeout_seconds: Option<String>,
    pub shutdown_grace_seconds: Option<String>,
    pub trusted_proxies: Option<String>,
    pub frontend_dir: Option<String>,

    // Telemetry besides the logs (issue 15); `SENTRY_DSN` is the template's, above.
    pub metrics_addr: Option<String>,

    // Database pool and the direct endpoint for migrations.
    pub database_migration_url: Option<String>,
    pub database_max_connections: Option<String>,
    pub database_min_connections: Option<String>,
    pub database_acquire_timeout_seconds: Option<String>,
    pub database_idle_timeout_seconds: Option<String>,
    pub database_max_lifetime_seconds: Option<String>,

    // Access tokens.
    pub token_format: Option<String>,
    pub token_issuer: Option<String>,
    pub token_audience: Option<String>,
    pub token_signing_key: Option<String>,
    pub token_signing_key_file: Option<String>,
    pub token_verification_keys: Option<String>,
    pub token_verification_keys_file: Option<String>,

    // Sessions and refresh tokens.
    pub refresh_token_lifetime_days: Option<String>,
    pub session_idle_timeout_days: Option<String>,
    pub max_sessions_per_user: Option<String>,
    pub refresh_grace_seconds: Option<String>,

    // Throttling: `<ROUTE>_MAX_…` events per `<ROUTE>_<SUBJECT>_WINDOW_SECONDS`.
    pub login_max_failures_per_account: Option<String>,
    pub login_account_window_seconds: Option<String>,
    pub login_account_max_doublings: Option<String>,
    pub login_max_attempts_per_ip: Option<String>,
    pub login_ip_window_seconds: Option<String>,
    pub signup_max_per_ip: Option<String>,
    pub signup_ip_window_seconds: Option<String>,
    pub recovery_max_per_ip: Option<String>,
    pub recovery_ip_window_seconds: Option<String>,
    pub recovery_max_per_email: Option<String>,
    pub recovery_email_window_seconds: Option<String>,
    pub reset_max_invalid_per_ip: Option<String>,
    pub reset_ip_window_seconds: Option<String>,
    pub refresh_max_invalid_per_ip: Option<String>,
    pub refresh_ip_window_seconds: Option<String>,
    pub throttle_ipv6_prefix: Option<String>,

    // Password hashing.
    pub argon2_memory_kib: Option<String>,
    pub argon2_iterations: Option<String>,
    pub argon2_parallelism: Option<String>,
    pub hashing_concurrency: Option<String>,
    pub hashing_queue_timeout_seconds: Option<String>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;
    use serde::de::{self, Deserializer, Visitor};

    use super::RawSettings;
    use crate::config::{EXAMPLE_SECRET_KEY, Settings};

    const ENV_EXAMPLE: &str = include_str!("../../../.env.example");

    /// A deserializer that only records the field names serde asks for.
    struct FieldNames(&'static [&'static str]);

    impl<'de> Deserializer<'de> for &mut FieldNames {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(de::Error::custom("names recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    fn example_vars() -> Vec<(String, String)> {
        dotenvy::from_read_iter(ENV_EXAMPLE.as_bytes())
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn env_example_documents_exactly_the_recognised_variables() {
        let mut names = FieldNames(&[]);
        let _ = RawSettings::deserialize(&mut names);
        let recognised: BTreeSet<String> = names
            .0
            .iter()
            .map(|name| name.to_ascii_uppercase())
            .collect();
        let documented: BTreeSet<String> = example_vars()
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| name != "EMAIL_TEST_USER")
            .collect();
        assert_eq!(recognised, documented);
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
    fn env_example_is_a_valid_development_setup_and_refused_in_production() {
        let vars = example_vars();
        assert!(vars.contains(&("SECRET_KEY".into(), EXAMPLE_SECRET_KEY.into())));
        let (settings, _) = Settings::from_vars(vars.clone()).unwrap();
        assert!(settings.environment.is_development());
        let production = vars
            .into_iter()
            .chain([("ENVIRONMENT".to_owned(), "production".to_owned())]);
        let errors = Settings::from_vars(production).unwrap_err();
        for variable in ["SECRET_KEY", "DATABASE_URL", "FIRST_SUPERUSER_PASSWORD"] {
            assert!(errors.names(variable), "{variable} accepted in production");
        }
    }
}
