//! Sets `cfg(no_test_database)` when `TEST_DATABASE_URL` is unset or empty, so the tests
//! that need PostgreSQL carry `#[cfg_attr(no_test_database, ignore = "…")]` and the runner
//! reports them as ignored rather than as passed without running. Setting or changing the
//! variable rebuilds this package's tests only.

fn main() {
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(no_test_database)");
    if std::env::var_os("TEST_DATABASE_URL").is_none_or(|url| url.is_empty()) {
        println!("cargo::rustc-cfg=no_test_database");
    }
}
