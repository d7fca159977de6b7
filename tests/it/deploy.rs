//! `deploy/compose.gatehouse.yml`, the override that swaps the FastAPI template's backend for
//! Gatehouse (issue 17 item 4), validated by parsing (no container engine here): it only
//! overrides services the template's compose.yml has, it interpolates only variables the
//! template's `.env` (or Gatehouse's `.env.example`) defines, every variable it hands to the
//! container is one Gatehouse documents, its health check needs neither shell nor curl, and the
//! environment a compose deployment gives Gatehouse passes production validation only because
//! of the override's explicit `POSTGRES_SSLMODE=disable` (issue 12 item 3).

use std::collections::BTreeSet;
use std::path::Path;

use gatehouse::config::Settings;
use serde_yaml::Value;

/// The services of the template's compose.yml (fastapi/full-stack-fastapi-template @ 68adb40d).
const TEMPLATE_SERVICES: &[&str] = &[
    "db",
    "adminer",
    "prestart",
    "backend",
    "frontend",
    "playwright",
    "mailcatcher",
    "proxy",
];

/// The variables of the template's `.env`, which its compose files interpolate.
const TEMPLATE_ENV: &[&str] = &[
    "DOMAIN",
    "FRONTEND_HOST",
    "ENVIRONMENT",
    "PROJECT_NAME",
    "STACK_NAME",
    "BACKEND_CORS_ORIGINS",
    "SECRET_KEY",
    "FIRST_SUPERUSER",
    "FIRST_SUPERUSER_PASSWORD",
    "SMTP_HOST",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "EMAILS_FROM_EMAIL",
    "SMTP_TLS",
    "SMTP_SSL",
    "SMTP_PORT",
    "POSTGRES_SERVER",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "SENTRY_DSN",
    "DOCKER_IMAGE_BACKEND",
    "DOCKER_IMAGE_FRONTEND",
];

/// Variables the template's compose.yml interpolates with a default and its `.env` leaves out:
/// the image tag its deploy sets (`${TAG-latest}`).
const TEMPLATE_COMPOSE_ONLY: &[&str] = &["TAG"];

fn repository_file(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn override_file() -> Value {
    serde_yaml::from_str(&repository_file("deploy/compose.gatehouse.yml"))
        .expect("deploy/compose.gatehouse.yml is YAML")
}

/// The names `.env.example` documents (`NAME=value` lines).
fn documented() -> BTreeSet<String> {
    repository_file(".env.example")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| !name.is_empty())
        .collect()
}

/// Compose's interpolations in `text`: `$NAME` and `${NAME…}` (with `:-`, `-`, `:?`, `?`, `:+`,
/// `+` modifiers and nested defaults); `$$` is a literal dollar.
fn interpolated(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                i += 2;
                continue;
            }
            Some(b'{') => i += 2,
            _ => i += 1,
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i > start && text[start..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            names.push(text[start..i].to_owned());
        }
    }
    names
}

/// Every string in the document, keys included.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Mapping(map) => {
            for (key, value) in map {
                strings(key, out);
                strings(value, out);
            }
        }
        Value::Tagged(tagged) => strings(&tagged.value, out),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose["services"]
        .get(name)
        .unwrap_or_else(|| panic!("the override has no {name} service"))
}

/// A service's `environment` as `(name, value)` pairs (mapping or `NAME=value` list form).
fn environment(service: &Value) -> Vec<(String, String)> {
    let scalar = |value: &Value| match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("environment value {other:?}"),
    };
    match service.get("environment") {
        None => Vec::new(),
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(name, value)| (scalar(name), scalar(value)))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| {
                let item = scalar(item);
                let (name, value) = item.split_once('=').unwrap_or((&item, ""));
                (name.to_owned(), value.to_owned())
            })
            .collect(),
        Some(other) => panic!("environment {other:?}"),
    }
}

#[test]
fn the_override_replaces_only_template_services_and_reads_only_known_variables() {
    let compose = override_file();
    let top: Vec<&str> = compose
        .as_mapping()
        .expect("a mapping")
        .keys()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        top,
        ["services"],
        "networks and volumes stay the template's"
    );
    let services = compose["services"].as_mapping().expect("services");
    let names: Vec<&str> = services.keys().filter_map(Value::as_str).collect();
    assert_eq!(names, ["prestart", "backend"]);
    for name in &names {
        assert!(
            TEMPLATE_SERVICES.contains(name),
            "{name} is not a template service"
        );
    }

    let gatehouse = documented();
    for name in &names {
        for (variable, _) in environment(service(&compose, name)) {
            assert!(
                gatehouse.contains(&variable),
                "{name} hands {variable} to Gatehouse, which .env.example does not document"
            );
        }
    }
    let mut texts = Vec::new();
    strings(&compose, &mut texts);
    let read: BTreeSet<String> = texts.iter().flat_map(|t| interpolated(t)).collect();
    assert!(read.contains("DOCKER_IMAGE_BACKEND"), "{read:?}");
    for variable in &read {
        assert!(
            TEMPLATE_ENV.contains(&variable.as_str())
                || TEMPLATE_COMPOSE_ONLY.contains(&variable.as_str())
                || gatehouse.contains(variable),
            "the override interpolates {variable}, which neither the template's .env nor .env.example defines"
        );
    }
}

#[test]
fn the_override_migrates_once_serves_and_checks_health_without_shell_or_curl() {
    let compose = override_file();
    let prestart = service(&compose, "prestart");
    let backend = service(&compose, "backend");
    let words = |value: &Value| -> Vec<String> {
        value
            .as_sequence()
            .expect("exec form: a list")
            .iter()
            .map(|word| word.as_str().expect("a word").to_owned())
            .collect()
    };
    assert_eq!(words(&prestart["command"]), ["migrate", "up"]);
    assert_eq!(words(&backend["command"]), ["serve"]);
    let test = words(&backend["healthcheck"]["test"]);
    assert_eq!(test[..3], ["CMD", "gatehouse", "healthcheck"], "{test:?}");
    assert!(!test.iter().any(|word| word.contains("curl")));
    assert_eq!(prestart["healthcheck"]["disable"], Value::Bool(true));
    for service in [prestart, backend] {
        // The template's `build: ./backend` would build the Python image under the same name.
        let Value::Tagged(build) = &service["build"] else {
            panic!("build is not reset: {:?}", service["build"]);
        };
        assert_eq!(build.tag, "!reset");
        assert_eq!(
            service["image"].as_str(),
            Some("${DOCKER_IMAGE_BACKEND?Variable not set}:${TAG-latest}")
        );
    }
}

/// What compose hands the backend container: the template's `environment` list for it (values
/// as its `.env` would make them for a production deploy), then the override's entries.
fn template_backend_environment() -> Vec<(String, String)> {
    [
        ("DOMAIN", "example.com"),
        ("FRONTEND_HOST", "https://dashboard.example.com"),
        ("ENVIRONMENT", "production"),
        ("BACKEND_CORS_ORIGINS", "https://dashboard.example.com"),
        ("SECRET_KEY", "kX9-2mQ_vR7tL4wZ8nB1cY6hJ3pF0sD5gA"),
        ("FIRST_SUPERUSER", "admin@example.com"),
        ("FIRST_SUPERUSER_PASSWORD", "a-real-superuser-pass"),
        ("SMTP_HOST", ""),
        ("SMTP_USER", ""),
        ("SMTP_PASSWORD", ""),
        ("EMAILS_FROM_EMAIL", "info@example.com"),
        ("POSTGRES_SERVER", "db"),
        ("POSTGRES_PORT", "5432"),
        ("POSTGRES_DB", "app"),
        ("POSTGRES_USER", "postgres"),
        ("POSTGRES_PASSWORD", "db-pass-31337"),
        ("SENTRY_DSN", ""),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .to_vec()
}

#[test]
fn a_template_deployment_passes_production_validation_only_with_the_override() {
    let compose = override_file();
    let without = Settings::from_vars(template_backend_environment()).unwrap_err();
    assert!(without.names("POSTGRES_SERVER"), "{without}");

    for name in ["prestart", "backend"] {
        let mut vars = template_backend_environment();
        vars.extend(environment(service(&compose, name)));
        let (settings, warnings) =
            Settings::from_vars(vars).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            settings.database.url.redacted(),
            "postgresql://postgres:***@db:5432/app?sslmode=disable"
        );
        let loud: Vec<_> = warnings
            .iter()
            .filter(|w| w.message.contains("WITHOUT TLS"))
            .collect();
        assert_eq!(loud.len(), 1, "{name}: {warnings:?}");
    }
}

#[test]
fn interpolations_are_found_as_compose_reads_them() {
    assert_eq!(
        interpolated("${A?x}:${B-latest} $C $$D ${E:-${F}} $1"),
        ["A", "B", "C", "E", "F"]
    );
}
