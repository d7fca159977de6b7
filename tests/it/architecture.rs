//! The hexagon's dependency rules of ARCHITECTURE.md, checked on `cargo metadata`: a crate
//! that gains a forbidden dependency fails the build's tests instead of a review.

use std::{collections::BTreeMap, process::Command};

use serde_json::Value;

/// Our adapter crates: none may depend on another.
const ADAPTERS: &[&str] = &[
    "gatehouse-http",
    "gatehouse-sql",
    "gatehouse-memory",
    "gatehouse-crypto",
    "gatehouse-tokens",
    "gatehouse-mail",
];

/// The only normal dependencies the pure core may have.
/// `idna` and `unicode-normalization` are pure computation (the email identity key).
const DOMAIN_ALLOWED: &[&str] = &[
    "async-trait",
    "idna",
    "serde",
    "thiserror",
    "time",
    "unicode-normalization",
    "uuid",
];
/// The use cases know the domain and nothing that does I/O (tracing is a facade; minijinja
/// renders the mail templates, pure computation).
const APPLICATION_ALLOWED: &[&str] = &[
    "gatehouse-domain",
    "minijinja",
    "thiserror",
    "time",
    "tracing",
];
/// What the HTTP adapter must never reach: storage, token formats, hashing, mail.
const HTTP_FORBIDDEN: &[&str] = &[
    "sea-orm",
    "sea-orm-migration",
    "sqlx",
    "gatehouse-migration",
    "jsonwebtoken",
    "pasetors",
    "argon2",
    "bcrypt",
    "lettre",
];
/// What the binary must never reach: HTTP is the HTTP adapter's, server included.
const BINARY_FORBIDDEN: &[&str] = &["poem", "poem-openapi", "hyper", "hyper-util"];
/// What driven adapters must never reach: the use cases and the HTTP framework.
const DRIVEN_FORBIDDEN: &[&str] = &["gatehouse-application", "poem", "poem-openapi"];

/// Each workspace crate's normal (non-dev, non-build) dependencies.
fn normal_dependencies(metadata: &Value) -> BTreeMap<String, Vec<String>> {
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|package| {
            let deps = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str().map(str::to_owned))
                .collect();
            (
                package["name"].as_str().unwrap_or_default().to_owned(),
                deps,
            )
        })
        .collect()
}

/// Every broken rule, as a sentence.
fn violations(metadata: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (krate, deps) in normal_dependencies(metadata) {
        let mut refuse =
            |dep: &str, rule: &str| found.push(format!("{krate} depends on {dep}: {rule}"));
        for dep in &deps {
            match krate.as_str() {
                "gatehouse-domain" if !DOMAIN_ALLOWED.contains(&dep.as_str()) => {
                    refuse(dep, "the domain uses no I/O crates")
                }
                "gatehouse-application" if !APPLICATION_ALLOWED.contains(&dep.as_str()) => {
                    refuse(dep, "the application depends on the domain only")
                }
                "gatehouse-migration" if dep.starts_with("gatehouse") => {
                    refuse(dep, "migrations use string identifiers, not our types")
                }
                _ => {}
            }
            if ADAPTERS.contains(&krate.as_str()) && ADAPTERS.contains(&dep.as_str()) {
                refuse(dep, "adapters never depend on each other");
            }
            if krate == "gatehouse-http" && HTTP_FORBIDDEN.contains(&dep.as_str()) {
                refuse(
                    dep,
                    "the HTTP adapter never reaches storage, token formats or hashing",
                );
            }
            if krate == "gatehouse" && BINARY_FORBIDDEN.contains(&dep.as_str()) {
                refuse(
                    dep,
                    "the binary composes adapters; the HTTP adapter owns its server",
                );
            }
            if krate != "gatehouse-http"
                && ADAPTERS.contains(&krate.as_str())
                && DRIVEN_FORBIDDEN.contains(&dep.as_str())
            {
                refuse(
                    dep,
                    "driven adapters implement ports; they know no use case or HTTP",
                );
            }
        }
    }
    found
}

fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

#[test]
fn the_workspace_keeps_the_dependency_rules() {
    let metadata = workspace_metadata();
    let crates = normal_dependencies(&metadata);
    for krate in [
        "gatehouse-domain",
        "gatehouse-application",
        "gatehouse-http",
        "gatehouse-sql",
    ] {
        assert!(
            crates.contains_key(krate),
            "{krate} is missing from the workspace"
        );
    }
    assert_eq!(violations(&metadata), Vec::<String>::new());
}

/// The real metadata with one more normal dependency for `krate`.
fn with_extra_dependency(krate: &str, dependency: &str) -> Value {
    let mut metadata = workspace_metadata();
    let package = metadata["packages"]
        .as_array_mut()
        .and_then(|packages| packages.iter_mut().find(|p| p["name"] == krate))
        .expect("the crate is in the workspace");
    package["dependencies"]
        .as_array_mut()
        .expect("dependency list")
        .push(serde_json::json!({ "name": dependency, "kind": null }));
    metadata
}

#[test]
fn a_domain_that_gains_sea_orm_is_caught() {
    let found = violations(&with_extra_dependency("gatehouse-domain", "sea-orm"));
    assert_eq!(
        found,
        vec!["gatehouse-domain depends on sea-orm: the domain uses no I/O crates".to_owned()]
    );
}

#[test]
fn an_http_adapter_that_gains_sea_orm_is_caught() {
    let found = violations(&with_extra_dependency("gatehouse-http", "sea-orm"));
    assert_eq!(
        found,
        vec!["gatehouse-http depends on sea-orm: the HTTP adapter never reaches storage, token formats or hashing".to_owned()]
    );
}

#[test]
fn a_binary_that_gains_hyper_is_caught() {
    let found = violations(&with_extra_dependency("gatehouse", "hyper"));
    assert_eq!(
        found,
        vec!["gatehouse depends on hyper: the binary composes adapters; the HTTP adapter owns its server".to_owned()]
    );
}
