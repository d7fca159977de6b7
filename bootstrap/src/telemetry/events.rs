//! The counters read off events the code logs anyway: the application's audit events
//! (`event = "login_failed"`, `outcome = …`; SECURITY.md RL-06), the mail queue's delivery
//! failures, and the SQL pool's acquire times and timeouts. The use cases stay free of any
//! metrics dependency, and an audit event and its count can never disagree. Installed only
//! with `METRICS_ADDR`; its own filter, not `RUST_LOG`, decides what it sees.
//!
//! Every label value comes from a fixed list here; an outcome this table does not know is
//! counted as `other`, so the series count stays bounded whatever is logged.

use std::fmt;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Logins by `outcome`: `success`, `wrong_credentials`, `inactive`, `throttled`.
pub const LOGINS: &str = "gatehouse_logins_total";
/// Refreshes by `outcome`: `rotated`, `grace_repeat`, `reuse_detected` (the session is
/// revoked), `invalid`, `throttled`.
pub const REFRESHES: &str = "gatehouse_refreshes_total";
/// Requests refused by a throttle, by `rule` (`login:account`, `login:ip`, `signup:ip`,
/// `recovery:ip`, `recovery:email`, `reset:ip`, `refresh:ip`).
pub const THROTTLED: &str = "gatehouse_throttle_refusals_total";
/// Password resets by `outcome`: `done`, `invalid_token`, `inactive_user`, `throttled`.
pub const PASSWORD_RESETS: &str = "gatehouse_password_resets_total";
/// Recovery emails asked for, by `outcome` (`sent`, `no_active_account`, …).
pub const RECOVERY_REQUESTS: &str = "gatehouse_password_recovery_requests_total";
/// Sessions ended because their user went past `MAX_SESSIONS_PER_USER`.
pub const SESSIONS_EVICTED: &str = "gatehouse_sessions_evicted_total";
/// Delivery attempts that failed (each retry counts).
pub const MAIL_FAILED_ATTEMPTS: &str = "gatehouse_mail_failed_attempts_total";
/// Messages given up, by `reason`: `delivery` (every try failed or the server refused for
/// good), `dropped` (the queue was full, or still held mail at shutdown).
pub const MAIL_FAILED_SENDS: &str = "gatehouse_mail_failed_sends_total";
/// Time a database operation waited for a pooled connection.
pub const DB_ACQUIRE_WAIT: &str = "gatehouse_db_pool_acquire_wait_seconds";
/// Database operations that found no pooled connection within the acquire timeout (503).
pub const DB_ACQUIRE_TIMEOUTS: &str = "gatehouse_db_pool_acquire_timeouts_total";

/// sqlx's event for each pool acquire, carrying `acquired_after_secs`.
const SQLX_ACQUIRE: &str = "sqlx::pool::acquire";

/// The layer, with the filter naming the events it reads.
pub(super) fn layer<S>() -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let targets = Targets::new()
        .with_target("gatehouse_application", Level::INFO)
        .with_target("gatehouse_mail", Level::WARN)
        .with_target("gatehouse_sql", Level::DEBUG)
        .with_target(SQLX_ACQUIRE, Level::DEBUG);
    EventCounts.with_filter(targets)
}

/// Registers the help texts; call once after installing the recorder.
pub fn describe() {
    describe_counter!(LOGINS, "Password logins by outcome");
    describe_counter!(REFRESHES, "Refresh-token exchanges by outcome");
    describe_counter!(THROTTLED, "Requests refused by a throttle rule");
    describe_counter!(PASSWORD_RESETS, "Password resets by outcome");
    describe_counter!(
        RECOVERY_REQUESTS,
        "Password-recovery emails asked for, by outcome"
    );
    describe_counter!(
        SESSIONS_EVICTED,
        "Sessions ended by the per-user session cap"
    );
    describe_counter!(MAIL_FAILED_ATTEMPTS, "Failed email delivery attempts");
    describe_counter!(MAIL_FAILED_SENDS, "Emails given up, by reason");
    describe_histogram!(
        DB_ACQUIRE_WAIT,
        Unit::Seconds,
        "Time waited for a pooled database connection"
    );
    describe_counter!(
        DB_ACQUIRE_TIMEOUTS,
        "Database operations that got no pooled connection in time"
    );
}

/// The fields this table reads from an event.
#[derive(Debug, Default)]
struct Fields {
    event: Option<String>,
    outcome: Option<String>,
    route: Option<String>,
    per: Option<String>,
    count: Option<u64>,
    waiting: Option<u64>,
    acquired_after_secs: Option<f64>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "event" => &mut self.event,
            "outcome" => &mut self.outcome,
            "route" => &mut self.route,
            "per" => &mut self.per,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "count" => self.count = Some(value),
            "waiting" => self.waiting = Some(value),
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, u64::try_from(value).unwrap_or_default());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "acquired_after_secs" {
            self.acquired_after_secs = Some(value);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// One measurement an event stands for.
#[derive(Debug, PartialEq)]
enum Sample {
    Count {
        name: &'static str,
        label: Option<(&'static str, &'static str)>,
        by: u64,
    },
    Seconds {
        name: &'static str,
        value: f64,
    },
}

impl Sample {
    fn count(name: &'static str, label: (&'static str, &'static str)) -> Self {
        Self::Count {
            name,
            label: Some(label),
            by: 1,
        }
    }

    fn record(self) {
        match self {
            Self::Count {
                name,
                label: Some((key, value)),
                by,
            } => counter!(name, key => value).increment(by),
            Self::Count {
                name,
                label: None,
                by,
            } => counter!(name).increment(by),
            Self::Seconds { name, value } => histogram!(name).record(value),
        }
    }
}

/// `value` if it is one of `known`, else `other`.
fn known(value: Option<&str>, known: &[&'static str]) -> &'static str {
    value
        .and_then(|v| known.iter().copied().find(|k| *k == v))
        .unwrap_or("other")
}

/// What an event counts as; empty for events no metric reads.
fn samples(target: &str, level: Level, f: &Fields) -> Vec<Sample> {
    if target.starts_with(SQLX_ACQUIRE) {
        return f
            .acquired_after_secs
            .map(|value| Sample::Seconds {
                name: DB_ACQUIRE_WAIT,
                value,
            })
            .into_iter()
            .collect();
    }
    let outcome = f.outcome.as_deref();
    let count =
        |(name, value): (&'static str, &'static str)| vec![Sample::count(name, ("outcome", value))];
    match f.event.as_deref() {
        Some("login_succeeded") => count((LOGINS, "success")),
        Some("login_failed") => match outcome {
            // A login whose account was deleted meanwhile is answered as a wrong password.
            Some("incorrect_credentials" | "user_deleted") => count((LOGINS, "wrong_credentials")),
            Some("inactive") => count((LOGINS, "inactive")),
            _ => count((LOGINS, "other")),
        },
        Some("refresh") => count((REFRESHES, "rotated")),
        Some("refresh_reuse_benign") => count((REFRESHES, "grace_repeat")),
        Some("refresh_reuse_detected") => count((REFRESHES, "reuse_detected")),
        Some("refresh_failed") => count((REFRESHES, "invalid")),
        Some("password_reset") => count((PASSWORD_RESETS, "done")),
        Some("password_reset_failed") => count((
            PASSWORD_RESETS,
            known(outcome, &["invalid_token", "inactive_user"]),
        )),
        Some("password_recovery_requested") => count((
            RECOVERY_REQUESTS,
            known(
                outcome,
                &[
                    "sent",
                    "no_active_account",
                    "email_not_configured",
                    "user_deleted",
                ],
            ),
        )),
        Some("throttled") => throttled(f),
        Some("sessions_evicted") => vec![Sample::Count {
            name: SESSIONS_EVICTED,
            label: None,
            by: f.count.unwrap_or(1),
        }],
        Some("email_delivery_failed") => {
            let mut samples = vec![Sample::Count {
                name: MAIL_FAILED_ATTEMPTS,
                label: None,
                by: 1,
            }];
            // The last try is logged at ERROR: the message is given up.
            if level == Level::ERROR {
                samples.push(Sample::count(MAIL_FAILED_SENDS, ("reason", "delivery")));
            }
            samples
        }
        Some("email_dropped") => vec![Sample::Count {
            name: MAIL_FAILED_SENDS,
            label: Some(("reason", "dropped")),
            by: f.waiting.unwrap_or(1),
        }],
        Some("db_acquire_timeout") => vec![Sample::Count {
            name: DB_ACQUIRE_TIMEOUTS,
            label: None,
            by: 1,
        }],
        _ => Vec::new(),
    }
}

/// A throttle refusal: counted by rule, and as the outcome of the login, refresh or reset it
/// refused.
fn throttled(f: &Fields) -> Vec<Sample> {
    const RULES: [&str; 7] = [
        "login:account",
        "login:ip",
        "signup:ip",
        "recovery:ip",
        "recovery:email",
        "reset:ip",
        "refresh:ip",
    ];
    let route = f.route.as_deref().unwrap_or_default();
    let rule = format!("{route}:{}", f.per.as_deref().unwrap_or_default());
    let mut samples = vec![Sample::count(
        THROTTLED,
        ("rule", known(Some(&rule), &RULES)),
    )];
    let refused = match route {
        "login" => Some(LOGINS),
        "refresh" => Some(REFRESHES),
        "reset" => Some(PASSWORD_RESETS),
        _ => None,
    };
    samples.extend(refused.map(|name| Sample::count(name, ("outcome", "throttled"))));
    samples
}

/// See the module documentation.
struct EventCounts;

impl<S: Subscriber> Layer<S> for EventCounts {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        for sample in samples(meta.target(), *meta.level(), &fields) {
            sample.record();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, outcome: &str) -> Fields {
        Fields {
            event: Some(name.into()),
            outcome: Some(outcome.into()),
            ..Fields::default()
        }
    }

    fn counted(f: &Fields) -> Vec<(&'static str, Option<&'static str>, u64)> {
        samples("gatehouse_application::login", Level::INFO, f)
            .into_iter()
            .map(|sample| match sample {
                Sample::Count { name, label, by } => (name, label.map(|l| l.1), by),
                Sample::Seconds { .. } => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn audit_events_count_as_the_outcomes_the_dashboards_name() {
        let cases = [
            (event("login_succeeded", "success"), LOGINS, "success"),
            (
                event("login_failed", "incorrect_credentials"),
                LOGINS,
                "wrong_credentials",
            ),
            (
                event("login_failed", "user_deleted"),
                LOGINS,
                "wrong_credentials",
            ),
            (event("login_failed", "inactive"), LOGINS, "inactive"),
            (event("refresh", "rotated"), REFRESHES, "rotated"),
            (
                event("refresh_reuse_benign", "same_successor"),
                REFRESHES,
                "grace_repeat",
            ),
            (
                event("refresh_reuse_detected", "session_revoked"),
                REFRESHES,
                "reuse_detected",
            ),
            (
                event("refresh_failed", "invalid_token"),
                REFRESHES,
                "invalid",
            ),
            (
                event("password_reset", "all_sessions_ended"),
                PASSWORD_RESETS,
                "done",
            ),
            (
                event("password_reset_failed", "invalid_token"),
                PASSWORD_RESETS,
                "invalid_token",
            ),
            (
                event("password_recovery_requested", "sent"),
                RECOVERY_REQUESTS,
                "sent",
            ),
            (
                event("password_recovery_requested", "surprise"),
                RECOVERY_REQUESTS,
                "other",
            ),
        ];
        for (fields, name, outcome) in cases {
            assert_eq!(counted(&fields), [(name, Some(outcome), 1)], "{fields:?}");
        }
        assert!(counted(&event("signup", "created")).is_empty());
    }

    #[test]
    fn a_throttle_counts_its_rule_and_the_refused_outcome() {
        let throttled = |route: &str, per: &str| Fields {
            event: Some("throttled".into()),
            route: Some(route.into()),
            per: Some(per.into()),
            ..event("throttled", "refused")
        };
        assert_eq!(
            counted(&throttled("login", "account")),
            [
                (THROTTLED, Some("login:account"), 1),
                (LOGINS, Some("throttled"), 1)
            ]
        );
        assert_eq!(
            counted(&throttled("refresh", "ip")),
            [
                (THROTTLED, Some("refresh:ip"), 1),
                (REFRESHES, Some("throttled"), 1)
            ]
        );
        assert_eq!(
            counted(&throttled("signup", "ip")),
            [(THROTTLED, Some("signup:ip"), 1)]
        );
        assert_eq!(
            counted(&throttled("x", "y")),
            [(THROTTLED, Some("other"), 1)]
        );
    }

    #[test]
    fn evictions_mail_failures_and_the_pool_count_their_amounts() {
        let evicted = Fields {
            count: Some(3),
            ..event("sessions_evicted", "ended")
        };
        assert_eq!(counted(&evicted), [(SESSIONS_EVICTED, None, 3)]);
        let failed = Fields {
            event: Some("email_delivery_failed".into()),
            ..Fields::default()
        };
        let retrying = samples("gatehouse_mail::queue", Level::WARN, &failed);
        assert_eq!(retrying.len(), 1);
        let given_up = samples("gatehouse_mail::queue", Level::ERROR, &failed);
        assert_eq!(
            given_up[1],
            Sample::count(MAIL_FAILED_SENDS, ("reason", "delivery"))
        );
        let acquired = Fields {
            acquired_after_secs: Some(0.25),
            ..Fields::default()
        };
        assert_eq!(
            samples("sqlx::pool::acquire", Level::DEBUG, &acquired),
            [Sample::Seconds {
                name: DB_ACQUIRE_WAIT,
                value: 0.25
            }]
        );
    }
}
