//! The deployment environment (`ENVIRONMENT`, legacy `FASTAPI_ENV`): which rules are strict.

use std::fmt;

use super::report::Report;

/// Where Gatehouse runs. Unset means production: secure by default (CONTRACT.md §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Local,
    Development,
    Staging,
    Production,
}

impl Environment {
    const ALL: [(&'static str, Self); 4] = [
        ("local", Self::Local),
        ("development", Self::Development),
        ("staging", Self::Staging),
        ("production", Self::Production),
    ];

    /// Local and development runs: the private route is on, weak settings only warn, and
    /// SQLite, a random `SECRET_KEY` and a default superuser may stand in for missing values.
    pub fn is_development(self) -> bool {
        matches!(self, Self::Local | Self::Development)
    }

    /// The variable's spelling of this environment.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, env)| *env == self)
            .map_or("production", |(name, _)| name)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Resolves `ENVIRONMENT` and its legacy alias `FASTAPI_ENV=development`. Anything doubtful
/// (a misspelling, another `FASTAPI_ENV` value, a conflict) is an error and validation goes on
/// as production, never as development (SECURITY.md §4.3).
pub(super) fn resolve(
    report: &mut Report,
    environment: Option<&str>,
    fastapi_env: Option<&str>,
) -> Environment {
    let named = environment.map(|raw| {
        report.choice(
            "ENVIRONMENT",
            Some(raw),
            Environment::Production,
            &Environment::ALL,
        )
    });
    let alias = match fastapi_env.map(str::trim) {
        None => None,
        Some("development") => Some(Environment::Development),
        Some(_) => {
            report.error(
                "FASTAPI_ENV",
                "expected `development` (the only legacy value understood); use ENVIRONMENT for other environments",
            );
            return Environment::Production;
        }
    };
    match (named, alias) {
        (Some(named), Some(alias)) if named != alias => {
            report.error(
                "FASTAPI_ENV",
                "conflicts with ENVIRONMENT; set only ENVIRONMENT",
            );
            Environment::Production
        }
        (Some(env), _) | (None, Some(env)) => env,
        (None, None) => Environment::Production,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(environment: Option<&str>, fastapi_env: Option<&str>) -> (Environment, bool) {
        let mut report = Report::new();
        let env = resolve(&mut report, environment, fastapi_env);
        (env, report.finish().is_err())
    }

    #[test]
    fn unset_means_production() {
        assert_eq!(resolved(None, None), (Environment::Production, false));
    }

    #[test]
    fn each_name_and_the_legacy_alias() {
        for (name, env) in Environment::ALL {
            assert_eq!(resolved(Some(name), None), (env, false));
            assert_eq!(env.as_str(), name);
        }
        assert_eq!(
            resolved(None, Some("development")),
            (Environment::Development, false)
        );
        assert_eq!(
            resolved(Some("development"), Some("development")),
            (Environment::Development, false)
        );
    }

    #[test]
    fn doubtful_values_fail_and_never_mean_development() {
        assert_eq!(
            resolved(Some("prodution"), None),
            (Environment::Production, true)
        );
        assert_eq!(
            resolved(Some("Development"), None),
            (Environment::Production, true)
        );
        assert_eq!(
            resolved(None, Some("production")),
            (Environment::Production, true)
        );
        assert_eq!(
            resolved(Some("staging"), Some("development")),
            (Environment::Production, true)
        );
        assert_eq!(
            resolved(Some("development"), Some("production")),
            (Environment::Production, true)
        );
    }
}
