//! What this binary is: the crate version and the git commit it was built from (see
//! `build.rs`), as the `gatehouse_build_info` metric and Sentry's release name show them.

/// The workspace version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The abbreviated commit, or `unknown` for a build outside a repository.
pub const COMMIT: &str = env!("GATEHOUSE_GIT_COMMIT");

/// Sentry's release name, `gatehouse@<version>+<commit>`.
pub fn release() -> String {
    format!("gatehouse@{VERSION}+{COMMIT}")
}
