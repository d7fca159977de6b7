//! Records the git commit the binary is built from as `GATEHOUSE_GIT_COMMIT`, for the
//! `gatehouse_build_info` metric and Sentry's release (issue 15). An image built without the
//! repository sets `GATEHOUSE_GIT_COMMIT` itself; with neither, the commit is `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=GATEHOUSE_GIT_COMMIT");
    let commit = std::env::var("GATEHOUSE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            // Built again whenever HEAD moves: HEAD itself, the branch it names, packed refs.
            for file in ["HEAD", "packed-refs"] {
                if let Some(path) = git(&["rev-parse", "--git-path", file]) {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
                && let Some(path) = git(&["rev-parse", "--git-path", &branch])
            {
                println!("cargo:rerun-if-changed={path}");
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=GATEHOUSE_GIT_COMMIT={commit}");
}
