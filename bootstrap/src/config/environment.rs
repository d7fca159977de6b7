//! The deployment environment (`ENVIRONMENT`, legacy `FASTAPI_ENV`): which rules are strict.

use std::fmt;

use super::vars::Vars;

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
        let name = Self::ALL.iter().find(|(_, env)| *env == self);
        name.map_or("production", |(name, _)| name)
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
pub(super) fn resolve(v: &mut Vars<'_>) -> Environment {
    let named = v
        .get("ENVIRONMENT")
        .map(|_| v.choice("ENVIRONMENT", Environment::Production, &Environment::ALL));
    let alias = match v.get("FASTAPI_ENV").map(str::trim) {
        None => None,
        Some("development") => Some(Environment::Development),
        Some(_) => {
            v.error(
                "FASTAPI_ENV",
                "expected `development` (the only legacy value understood); use ENVIRONMENT for other environments",
            );
            return Environment::Production;
        }
    };
    match (named, alias) {
        (Some(named), Some(alias)) if named != alias => {
            v.error(
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
    use super::super::vars::testing::check;
    use super::*;

    #[test]
    fn unset_means_production_each_name_resolves_and_doubtful_values_fail() {
        use Environment::{Development, Production};
        for (name, env) in Environment::ALL {
            assert_eq!(env.as_str(), name);
            let (resolved, result) = check(true, &[("ENVIRONMENT", name)], resolve);
            assert_eq!((resolved, result.is_err()), (env, false));
        }
        for (environment, fastapi_env, expected) in [
            (None, None, (Production, false)),
            (None, Some("development"), (Development, false)),
            (
                Some("development"),
                Some("development"),
                (Development, false),
            ),
            (Some("prodution"), None, (Production, true)),
            (Some("Development"), None, (Production, true)),
            (None, Some("production"), (Production, true)),
            (Some("staging"), Some("development"), (Production, true)),
            (Some("development"), Some("production"), (Production, true)),
        ] {
            let pairs: Vec<(&str, &str)> =
                [("ENVIRONMENT", environment), ("FASTAPI_ENV", fastapi_env)]
                    .into_iter()
                    .filter_map(|(name, value)| Some((name, value?)))
                    .collect();
            let (resolved, result) = check(true, &pairs, resolve);
            assert_eq!((resolved, result.is_err()), expected, "{pairs:?}");
        }
    }
}
