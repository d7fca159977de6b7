//! Typed readers for single raw values (numbers, booleans, fixed choices, URLs, lists). Each one
//! records a problem and returns the default when the value is malformed, so validation goes on
//! and every problem is reported together; a malformed optional never silently defaults
//! (SECURITY.md pitfall E2) because the recorded error stops start-up.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use super::report::Report;

/// The accepted range of a number and the unit named in the message.
pub(super) struct Bounds<T> {
    min: T,
    max: Option<T>,
    unit: &'static str,
}

impl<T> Bounds<T> {
    /// `min` or more, no upper bound.
    pub(super) const fn at_least(min: T, unit: &'static str) -> Self {
        Self {
            min,
            max: None,
            unit,
        }
    }

    /// From `min` to `max` inclusive.
    pub(super) const fn between(min: T, max: T, unit: &'static str) -> Self {
        Self {
            min,
            max: Some(max),
            unit,
        }
    }
}

impl<T: Display> Bounds<T> {
    fn expected(&self) -> String {
        match &self.max {
            Some(max) => format!(
                "expected {} as a whole number from {} to {max}",
                self.unit, self.min
            ),
            None => format!(
                "expected {} as a whole number, at least {}",
                self.unit, self.min
            ),
        }
    }
}

/// Spellings pydantic accepts for booleans (CONTRACT.md §2.3), compared case-insensitively.
const TRUE_WORDS: [&str; 6] = ["1", "on", "t", "true", "y", "yes"];
const FALSE_WORDS: [&str; 6] = ["0", "off", "f", "false", "n", "no"];

impl Report {
    /// A whole number within `bounds`, or `default` when unset.
    pub(super) fn number<T>(
        &mut self,
        variable: &'static str,
        raw: Option<&str>,
        default: T,
        bounds: Bounds<T>,
    ) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(raw) = raw else { return default };
        match raw.trim().parse::<T>() {
            Ok(n) if n >= bounds.min && bounds.max.is_none_or(|max| n <= max) => n,
            _ => {
                self.error(variable, bounds.expected());
                default
            }
        }
    }

    /// A duration in whole seconds within `range`, or `default` seconds when unset. Every
    /// duration has a ceiling: an absurd one would overflow time arithmetic at run time.
    pub(super) fn seconds(
        &mut self,
        variable: &'static str,
        raw: Option<&str>,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Duration {
        let (min, max) = range.into_inner();
        Duration::from_secs(self.number(
            variable,
            raw,
            default,
            Bounds::between(min, max, "seconds"),
        ))
    }

    /// A lax boolean (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`).
    pub(super) fn boolean(
        &mut self,
        variable: &'static str,
        raw: Option<&str>,
        default: bool,
    ) -> bool {
        let Some(raw) = raw else { return default };
        let word = raw.trim().to_ascii_lowercase();
        if TRUE_WORDS.contains(&word.as_str()) {
            true
        } else if FALSE_WORDS.contains(&word.as_str()) {
            false
        } else {
            self.error(
                variable,
                "expected a boolean: true/false, 1/0, yes/no, on/off, t/f or y/n",
            );
            default
        }
    }

    /// One of a fixed set of spellings (exact match), or `default` when unset.
    pub(super) fn choice<T: Copy>(
        &mut self,
        variable: &'static str,
        raw: Option<&str>,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(raw) = raw else { return default };
        if let Some((_, value)) = options.iter().find(|(name, _)| *name == raw.trim()) {
            return *value;
        }
        let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
        self.error(variable, format!("expected one of: {}", names.join(", ")));
        default
    }
}

/// Splits a list given as `a,b,c` or as a JSON array `["a","b"]` (the template's
/// `BACKEND_CORS_ORIGINS` accepts both); blank entries are dropped.
pub(super) fn list(raw: &str) -> Result<Vec<String>, ()> {
    let trimmed = raw.trim();
    let items: Vec<String> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<String>>(trimmed).map_err(|_| ())?
    } else {
        trimmed.split(',').map(str::to_owned).collect()
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}

/// An `http(s)://host[:port]` origin with any trailing slash removed, as browsers send it in
/// `Origin` and as FastAPI's settings normalise it.
pub(super) fn origin(raw: &str) -> Option<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    plain.then(|| trimmed.to_owned())
}

/// A duration in whole seconds, for `check-config`.
pub(super) fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_outside_their_bounds_are_errors_not_defaults() {
        let mut report = Report::new();
        assert_eq!(
            report.number(
                "PORT",
                Some("99999"),
                8000u16,
                Bounds::at_least(1, "a port number")
            ),
            8000
        );
        assert_eq!(
            report.number("N", Some("-1"), 5u32, Bounds::at_least(0, "s")),
            5
        );
        assert_eq!(
            report.number("N", Some("31"), 5u32, Bounds::between(0, 30, "s")),
            5
        );
        assert_eq!(
            report.number("N", Some(" 30 "), 5u32, Bounds::between(0, 30, "s")),
            30
        );
        assert_eq!(
            report.number("N", None, 5u32, Bounds::between(0, 30, "s")),
            5
        );
        let errors = report.finish().unwrap_err();
        assert_eq!(errors.0.len(), 3);
        assert_eq!(
            errors.0[2].message,
            "expected s as a whole number from 0 to 30"
        );
    }

    #[test]
    fn booleans_are_lax_and_case_insensitive() {
        let mut report = Report::new();
        for word in ["1", "ON", "t", "True", "y", "YES"] {
            assert!(report.boolean("B", Some(word), false), "{word}");
        }
        for word in ["0", "off", "F", "FALSE", "n", "No"] {
            assert!(!report.boolean("B", Some(word), true), "{word}");
        }
        assert!(report.finish().is_ok());
        let mut report = Report::new();
        assert!(report.boolean("B", Some("maybe"), true));
        assert!(report.finish().unwrap_err().names("B"));
    }

    #[test]
    fn lists_accept_commas_and_json() {
        assert_eq!(list(" a, b ,,c ").unwrap(), ["a", "b", "c"]);
        assert_eq!(list(r#"["a", "b"]"#).unwrap(), ["a", "b"]);
        assert!(list(r#"["a", 1]"#).is_err());
    }

    #[test]
    fn origins_lose_their_trailing_slash_and_refuse_paths() {
        assert_eq!(
            origin("https://app.example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            origin("http://localhost:5173").unwrap(),
            "http://localhost:5173"
        );
        assert!(origin("https://app.example.com/path").is_none());
        assert!(origin("ftp://example.com").is_none());
        assert!(origin("example.com").is_none());
    }
}
