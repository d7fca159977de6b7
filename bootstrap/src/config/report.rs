//! What validation found: errors that stop start-up (exit 78) and warnings that are logged once
//! telemetry is up. Messages name a variable and the expected form, never a value (SECURITY.md CFG-02).

use std::fmt;

/// One refused setting: the variable and what it should look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable at fault, e.g. `SECRET_KEY` (or `DATABASE_URL password` for a URL part).
    pub variable: &'static str,
    /// What is wrong and the expected form; never contains the value.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Every problem found, in variable order of discovery, so an operator fixes them in one pass
/// (SECURITY.md CFG-01: envy alone would stop at the first one, pitfall E1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Whether any error names `variable`; used by tests and by callers that react to one setting.
    pub fn names(&self, variable: &str) -> bool {
        self.0.iter().any(|e| e.variable == variable)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A setting accepted with a caveat (a development fallback, a weak value tolerated outside
/// production, an ignored legacy variable). The caller logs these after telemetry starts, so
/// they come out in the configured log format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The variable concerned.
    pub variable: &'static str,
    /// The text to log; never contains a secret.
    pub message: String,
}

/// Collects problems while the sections of [`Settings`](super::Settings) are validated.
pub(super) struct Report {
    /// Staging/production (or an unknown environment): weaknesses are errors, not warnings.
    strict: bool,
    errors: Vec<ConfigError>,
    warnings: Vec<Warning>,
}

impl Report {
    pub(super) fn new() -> Self {
        Self {
            strict: true,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Switches to development leniency once the environment is known to be local/development.
    pub(super) fn set_strict(&mut self, strict: bool) {
        self.strict = strict;
    }

    /// Whether weaknesses are refused (staging, production, or an environment that failed to parse).
    pub(super) fn strict(&self) -> bool {
        self.strict
    }

    pub(super) fn error(&mut self, variable: &'static str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            variable,
            message: message.into(),
        });
    }

    /// A warning from a fragment that follows the variable's name: `warn("SMTP_SSL", "is
    /// ignored …")` logs `SMTP_SSL is ignored …`, as errors print `SMTP_SSL: is ignored …`.
    pub(super) fn warn(&mut self, variable: &'static str, fragment: impl Into<String>) {
        self.warnings.push(Warning {
            variable,
            message: format!("{variable} {}", fragment.into()),
        });
    }

    /// A weakness: refused in staging/production, tolerated with a warning in development/local
    /// (SECURITY.md CFG-03, §4.3 last row).
    pub(super) fn weak(&mut self, variable: &'static str, fragment: impl Into<String>) {
        if self.strict {
            self.error(variable, fragment);
        } else {
            self.warn(variable, fragment);
        }
    }

    /// A weakness described by a whole sentence that must be logged verbatim (the contract's
    /// "changethis" text).
    pub(super) fn weak_sentence(&mut self, variable: &'static str, sentence: String) {
        if self.strict {
            self.error(variable, sentence);
        } else {
            self.warnings.push(Warning {
                variable,
                message: sentence,
            });
        }
    }

    /// The warnings when nothing was refused, else every error.
    pub(super) fn finish(self) -> Result<Vec<Warning>, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(self.warnings)
        } else {
            Err(ConfigErrors(self.errors))
        }
    }
}
