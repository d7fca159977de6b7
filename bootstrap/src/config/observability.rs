//! What the process reports: its logs (`LOG_FORMAT`, `RUST_LOG`), and `METRICS_ADDR` and
//! `SENTRY_DSN` (issue 15): where Prometheus scrapes, if anywhere, and whether 5xx answers and
//! panics go to Sentry. Metrics are off unless an address is given, and that address may never
//! be the public listener's, so `/metrics` cannot be exposed by accident.
//! Sentry follows the template: on when a DSN is set outside development. A malformed value is
//! an error in every environment (SECURITY.md pitfall E2); the DSN's key is never printed.

use std::fmt;
use std::net::SocketAddr;

use sentry::types::Dsn;

use crate::telemetry::{LogFormat, LogSettings, check_directives, directives};

use super::vars::Vars;

/// What the process reports besides its logs.
#[derive(Clone, Debug, Default)]
pub struct ObservabilitySettings {
    /// Where `/metrics` is served; `None` (unset) records nothing at all.
    pub metrics_addr: Option<SocketAddr>,
    pub sentry: SentryReporting,
}

/// Whether errors are reported to Sentry.
#[derive(Clone, Debug, Default)]
pub enum SentryReporting {
    /// `SENTRY_DSN` unset.
    #[default]
    Off,
    /// `SENTRY_DSN` set in development, where the template does not report either.
    IgnoredInDevelopment,
    On(SentryDsn),
}

impl SentryReporting {
    /// The DSN when reporting is on.
    pub fn dsn(&self) -> Option<&SentryDsn> {
        match self {
            Self::On(dsn) => Some(dsn),
            Self::Off | Self::IgnoredInDevelopment => None,
        }
    }
}

/// A parsed Sentry DSN. `Debug` and `Display` hide its key: whoever holds it can send events
/// into the project.
#[derive(Clone)]
pub struct SentryDsn(Dsn);

impl SentryDsn {
    /// The DSN itself, for the Sentry client.
    pub fn dsn(&self) -> &Dsn {
        &self.0
    }
}

impl fmt::Display for SentryDsn {
    /// `scheme://***@host:port/project`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dsn = &self.0;
        write!(
            f,
            "{}://***@{}:{}{}{}",
            dsn.scheme(),
            dsn.host(),
            dsn.port(),
            dsn.path(),
            dsn.project_id()
        )
    }
}

impl fmt::Debug for SentryDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SentryDsn({self})")
    }
}

/// JSON by default outside development, human-readable lines in development.
pub(super) fn log(v: &mut Vars<'_>, development: bool) -> LogSettings {
    let default = if development {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    };
    let formats = [("json", LogFormat::Json), ("pretty", LogFormat::Pretty)];
    let format = v.choice("LOG_FORMAT", default, &formats);
    let filter = directives(v.get("RUST_LOG"));
    if check_directives(&filter).is_err() {
        v.error(
            "RUST_LOG",
            "expected tracing filter directives such as `info` or `warn,gatehouse=debug`",
        );
    }
    LogSettings { format, filter }
}

/// Reads both variables; `public` is the already-validated `HOST:PORT`.
pub(super) fn settings(
    v: &mut Vars<'_>,
    public: SocketAddr,
    development: bool,
) -> ObservabilitySettings {
    ObservabilitySettings {
        metrics_addr: v
            .get("METRICS_ADDR")
            .and_then(|value| metrics_addr(v, value, public)),
        sentry: v
            .get("SENTRY_DSN")
            .map_or(SentryReporting::Off, |value| sentry(v, value, development)),
    }
}

fn metrics_addr(v: &mut Vars<'_>, value: &str, public: SocketAddr) -> Option<SocketAddr> {
    let Ok(addr) = value.trim().parse::<SocketAddr>() else {
        v.error(
            "METRICS_ADDR",
            "expected an IP address and port to serve /metrics on, e.g. 127.0.0.1:9100 (this machine only) or 0.0.0.0:9100",
        );
        return None;
    };
    let same_interface =
        addr.ip() == public.ip() || addr.ip().is_unspecified() || public.ip().is_unspecified();
    if addr.port() == public.port() && same_interface {
        v.error(
            "METRICS_ADDR",
            "must not be the address the API is served on (HOST:PORT): metrics get a listener of their own",
        );
        return None;
    }
    Some(addr)
}

fn sentry(v: &mut Vars<'_>, value: &str, development: bool) -> SentryReporting {
    let Ok(dsn) = value.trim().parse::<Dsn>() else {
        v.error(
            "SENTRY_DSN",
            "expected a Sentry DSN such as https://<public key>@<host>/<project id>",
        );
        return SentryReporting::Off;
    };
    if development {
        v.warn(
            "SENTRY_DSN",
            "is set, but nothing is reported to Sentry in development (as in the template)",
        );
        return SentryReporting::IgnoredInDevelopment;
    }
    SentryReporting::On(SentryDsn(dsn))
}

/// The `check-config` lines for both.
pub(super) fn describe(observability: &ObservabilitySettings) -> [(&'static str, String); 2] {
    let metrics = observability.metrics_addr.map_or_else(
        || "off (METRICS_ADDR unset)".to_owned(),
        |addr| format!("on, http://{addr}/metrics"),
    );
    let sentry = match &observability.sentry {
        SentryReporting::Off => "off (SENTRY_DSN unset)".to_owned(),
        SentryReporting::IgnoredInDevelopment => {
            "off in development (SENTRY_DSN ignored)".to_owned()
        }
        SentryReporting::On(dsn) => format!(
            "on, {dsn}, release {}, 5xx answers and panics",
            crate::build_info::release()
        ),
    };
    [("metrics", metrics), ("sentry", sentry)]
}

#[cfg(test)]
mod tests {
    use super::super::vars::testing::{Checked, check};
    use super::*;

    const PUBLIC: &str = "127.0.0.1:8000";
    const DSN: &str = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42";

    /// Reads both variables (an empty value is unset) with `HOST:PORT` at `PUBLIC`.
    fn read(metrics: &str, dsn: &str, development: bool) -> Checked<ObservabilitySettings> {
        let pairs = [("METRICS_ADDR", metrics), ("SENTRY_DSN", dsn)];
        check(true, &pairs, |v| {
            settings(v, PUBLIC.parse().unwrap(), development)
        })
    }

    #[test]
    fn both_are_off_unless_set() {
        let (settings, result) = read("", "", false);
        assert!(settings.metrics_addr.is_none() && settings.sentry.dsn().is_none());
        assert!(result.unwrap().is_empty());
    }

    #[test]
    fn metrics_need_a_socket_address_other_than_the_api_one() {
        let (settings, result) = read("0.0.0.0:9100", "", false);
        assert_eq!(settings.metrics_addr, Some("0.0.0.0:9100".parse().unwrap()));
        assert!(result.unwrap().is_empty());
        // Port 0 picks a free port (the bench's BENCH_SET="METRICS_ADDR=127.0.0.1:0").
        assert!(read("127.0.0.1:0", "", false).0.metrics_addr.is_some());
        for refused in ["localhost:9100", "9100", PUBLIC, "0.0.0.0:8000"] {
            let (settings, result) = read(refused, "", false);
            assert!(settings.metrics_addr.is_none(), "{refused}");
            assert!(result.unwrap_err().names("METRICS_ADDR"), "{refused}");
        }
        // Another interface on the same port is a different listener.
        assert!(read("10.0.0.5:8000", "", false).0.metrics_addr.is_some());
    }

    #[test]
    fn sentry_is_on_outside_development_only_and_its_key_never_shows() {
        let (settings, result) = read("", DSN, false);
        let dsn = settings.sentry.dsn().expect("on in production");
        assert_eq!(dsn.to_string(), "https://***@o1.ingest.sentry.io:443/42");
        assert!(!format!("{dsn:?}").contains("0123456789abcdef"));
        assert!(result.unwrap().is_empty());

        let (settings, result) = read("", DSN, true);
        assert!(matches!(
            settings.sentry,
            SentryReporting::IgnoredInDevelopment
        ));
        assert_eq!(result.unwrap()[0].variable, "SENTRY_DSN");
    }

    #[test]
    fn a_malformed_dsn_is_an_error_in_every_environment_without_echo() {
        for development in [false, true] {
            for bad in [
                "not a dsn",
                "https://o1.ingest.sentry.io/42",
                "https://secret-key@host/",
            ] {
                let (settings, result) = read("", bad, development);
                assert!(settings.sentry.dsn().is_none());
                let errors = result.unwrap_err();
                assert!(errors.names("SENTRY_DSN"), "{bad}");
                assert!(!errors.to_string().contains("secret-key"));
            }
        }
    }
}
