//! Where raw values come from: the process environment over an optional `.env` file in the working
//! directory (CONTRACT.md §11). Quoted values and `${VAR}` references in `.env` are resolved by
//! dotenvy; empty values count as unset in both sources.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

use super::vars::{ConfigError, ConfigErrors};

/// The variables in force: `.env` in `dir` first, then the process environment over it. The
/// process environment is never modified (dotenvy's iterator only reads).
///
/// # Errors
/// A `.env` that exists but cannot be read or parsed; the offending line is not shown because it
/// may hold a secret.
pub(super) fn gather(dir: &Path) -> Result<BTreeMap<String, String>, ConfigErrors> {
    let mut vars = dotenv(&dir.join(".env"))?;
    vars.retain(|_, value| !value.is_empty());
    // An empty process value is unset, so it does not hide a `.env` value. Names that are not
    // Unicode cannot be ours; a non-Unicode value is kept lossily so the variable still counts
    // as set and fails its own validation instead of defaulting.
    vars.extend(std::env::vars_os().filter_map(|(name, value)| {
        let value = value.to_string_lossy().into_owned();
        (!value.is_empty()).then_some((name.into_string().ok()?, value))
    }));
    Ok(vars)
}

fn dotenv(path: &Path) -> Result<BTreeMap<String, String>, ConfigErrors> {
    let unreadable = |message: String| {
        ConfigErrors(vec![ConfigError {
            variable: ".env",
            message,
        }])
    };
    let lines = match dotenvy::from_path_iter(path) {
        Ok(lines) => lines,
        Err(dotenvy::Error::Io(e)) if e.kind() == ErrorKind::NotFound => {
            return Ok(BTreeMap::new());
        }
        Err(e) => return Err(unreadable(format!("could not be read: {}", describe(&e)))),
    };
    lines
        .map(|line| line.map_err(|e| unreadable(describe(&e))))
        .collect()
}

/// dotenvy's own messages quote the offending line, which may hold a secret: say only where.
fn describe(error: &dotenvy::Error) -> String {
    match error {
        dotenvy::Error::LineParse(_, index) => format!(
            "a line could not be parsed (at character {index}; the line is not shown); expected NAME=value"
        ),
        dotenvy::Error::Io(e) => e.kind().to_string(),
        _ => "unexpected content; expected NAME=value lines".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("gatehouse-config-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn dotenv_quotes_and_references_resolve_and_empty_values_are_unset() {
        let dir = scratch_dir("dotenv");
        std::fs::write(
            dir.join(".env"),
            "GH_TEST_NAME='Gate house'\nGH_TEST_REF=\"${GH_TEST_NAME} two\"\nGH_TEST_EMPTY=\n# comment\n",
        )
        .unwrap();
        let vars = gather(&dir).unwrap();
        assert_eq!(vars["GH_TEST_NAME"], "Gate house");
        assert_eq!(vars["GH_TEST_REF"], "Gate house two");
        assert!(!vars.contains_key("GH_TEST_EMPTY"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_dotenv_is_fine_and_a_broken_one_is_reported_without_its_content() {
        let dir = scratch_dir("broken");
        assert!(gather(&dir).is_ok());
        std::fs::write(dir.join(".env"), "SECRET_KEY='hunter2-unterminated\n").unwrap();
        let errors = gather(&dir).unwrap_err();
        assert!(errors.names(".env"));
        assert!(!errors.to_string().contains("hunter2"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
