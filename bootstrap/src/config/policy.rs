//! The use cases' tunable rules (session lifetimes, refresh grace, reset-token lifetime, throttle
//! limits) as the application's [`Policy`], and the password hasher's cost and pool as the crypto
//! adapter's types. Defaults come from those crates, so they are written down once.

use std::num::NonZeroUsize;

use gatehouse_application::{Policy, ThrottlePolicy};
use gatehouse_crypto::{HashParams, PoolLimits};
use gatehouse_domain::throttle::ThrottleRule;
use time::Duration;

use super::parse::{Bounds, seconds};
use super::raw::RawSettings;
use super::report::Report;

/// Argon2id cost and the blocking pool that runs it (SECURITY.md D9, PW-06), ready for
/// `gatehouse_crypto::Argon2Hasher::new`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingSettings {
    pub params: HashParams,
    /// Hashes at once (also bounding hashing memory to `permits × memory_kib`) and the longest
    /// wait for a slot before a 503.
    pub pool: PoolLimits,
}

/// The longest throttle window (30 days); with at most 8 doublings (`LOGIN_ACCOUNT_MAX_DOUBLINGS`)
/// a lock stays within 21 years, far from overflowing time arithmetic.
const MAX_THROTTLE_WINDOW_SECONDS: i64 = 30 * 86_400;

/// Which raw values set one throttle rule, and where the rule lives in [`ThrottlePolicy`].
struct Throttle {
    limit: &'static str,
    window: &'static str,
    raw: fn(&RawSettings) -> (&Option<String>, &Option<String>),
    rule: fn(&mut ThrottlePolicy) -> &mut ThrottleRule,
}

/// Every throttle: `<ROUTE>_MAX_…` events per `<ROUTE>_<SUBJECT>_WINDOW_SECONDS` (CONTRACT.md §9c).
const THROTTLES: [Throttle; 7] = [
    Throttle {
        limit: "LOGIN_MAX_FAILURES_PER_ACCOUNT",
        window: "LOGIN_ACCOUNT_WINDOW_SECONDS",
        raw: |r| {
            (
                &r.login_max_failures_per_account,
                &r.login_account_window_seconds,
            )
        },
        rule: |p| &mut p.login_account,
    },
    Throttle {
        limit: "LOGIN_MAX_ATTEMPTS_PER_IP",
        window: "LOGIN_IP_WINDOW_SECONDS",
        raw: |r| (&r.login_max_attempts_per_ip, &r.login_ip_window_seconds),
        rule: |p| &mut p.login_ip,
    },
    Throttle {
        limit: "SIGNUP_MAX_PER_IP",
        window: "SIGNUP_IP_WINDOW_SECONDS",
        raw: |r| (&r.signup_max_per_ip, &r.signup_ip_window_seconds),
        rule: |p| &mut p.signup_ip,
    },
    Throttle {
        limit: "RECOVERY_MAX_PER_IP",
        window: "RECOVERY_IP_WINDOW_SECONDS",
        raw: |r| (&r.recovery_max_per_ip, &r.recovery_ip_window_seconds),
        rule: |p| &mut p.recovery_ip,
    },
    Throttle {
        limit: "RECOVERY_MAX_PER_EMAIL",
        window: "RECOVERY_EMAIL_WINDOW_SECONDS",
        raw: |r| (&r.recovery_max_per_email, &r.recovery_email_window_seconds),
        rule: |p| &mut p.recovery_email,
    },
    Throttle {
        limit: "RESET_MAX_INVALID_PER_IP",
        window: "RESET_IP_WINDOW_SECONDS",
        raw: |r| (&r.reset_max_invalid_per_ip, &r.reset_ip_window_seconds),
        rule: |p| &mut p.reset_ip,
    },
    Throttle {
        limit: "REFRESH_MAX_INVALID_PER_IP",
        window: "REFRESH_IP_WINDOW_SECONDS",
        raw: |r| (&r.refresh_max_invalid_per_ip, &r.refresh_ip_window_seconds),
        rule: |p| &mut p.refresh_ip,
    },
];

/// The policy, starting from the application's defaults so they are written down once.
pub(super) fn policy(report: &mut Report, raw: &RawSettings) -> Policy {
    let mut policy = Policy::default();
    let days = |report: &mut Report, variable, value: &Option<String>, default: Duration| {
        Duration::days(report.number(
            variable,
            value.as_deref(),
            default.whole_days(),
            Bounds::between(1, 365, "days"),
        ))
    };
    policy.session_lifetime = days(
        report,
        "REFRESH_TOKEN_LIFETIME_DAYS",
        &raw.refresh_token_lifetime_days,
        policy.session_lifetime,
    );
    policy.session_idle_timeout = days(
        report,
        "SESSION_IDLE_TIMEOUT_DAYS",
        &raw.session_idle_timeout_days,
        policy.session_idle_timeout,
    );
    policy.max_sessions_per_user = report.number(
        "MAX_SESSIONS_PER_USER",
        raw.max_sessions_per_user.as_deref(),
        policy.max_sessions_per_user,
        Bounds::between(1, 10_000, "sessions"),
    );
    policy.refresh_grace = Duration::seconds(report.number(
        "REFRESH_GRACE_SECONDS",
        raw.refresh_grace_seconds.as_deref(),
        policy.refresh_grace.whole_seconds(),
        Bounds::between(0, 30, "seconds"),
    ));
    policy.reset_token_lifetime = Duration::hours(report.number(
        "EMAIL_RESET_TOKEN_EXPIRE_HOURS",
        raw.email_reset_token_expire_hours.as_deref(),
        policy.reset_token_lifetime.whole_hours(),
        Bounds::between(1, 720, "hours"),
    ));
    for throttle in &THROTTLES {
        let (limit, window) = (throttle.raw)(raw);
        let rule = (throttle.rule)(&mut policy.throttle);
        rule.limit = report.number(
            throttle.limit,
            limit.as_deref(),
            rule.limit,
            Bounds::at_least(1, "attempts"),
        );
        rule.window = Duration::seconds(report.number(
            throttle.window,
            window.as_deref(),
            rule.window.whole_seconds(),
            Bounds::between(1, MAX_THROTTLE_WINDOW_SECONDS, "seconds"),
        ));
    }
    let account = &mut policy.throttle.login_account;
    account.max_doublings = report.number(
        "LOGIN_ACCOUNT_MAX_DOUBLINGS",
        raw.login_account_max_doublings.as_deref(),
        account.max_doublings,
        Bounds::between(0, 8, "doublings"),
    );
    policy.throttle.ipv6_prefix = report.number(
        "THROTTLE_IPV6_PREFIX",
        raw.throttle_ipv6_prefix.as_deref(),
        policy.throttle.ipv6_prefix,
        Bounds::between(48, 128, "bits"),
    );
    policy
}

/// Each rule as `LIMIT_VARIABLE=n per s`, for `check-config`.
pub(super) fn describe_throttles(throttles: &ThrottlePolicy) -> String {
    let mut throttles = *throttles;
    let rules: Vec<String> = THROTTLES
        .iter()
        .map(|throttle| {
            let rule = (throttle.rule)(&mut throttles);
            let backoff = match rule.max_doublings {
                0 => String::new(),
                n => format!(" doubling up to {n} times"),
            };
            format!(
                "{}={} per {} s{backoff}",
                throttle.limit,
                rule.limit,
                rule.window.whole_seconds()
            )
        })
        .collect();
    format!(
        "{}; per-IP rules count IPv6 clients per /{} (THROTTLE_IPV6_PREFIX)",
        rules.join(", "),
        throttles.ipv6_prefix
    )
}

/// The crypto adapter's defaults are the OWASP baseline (SECURITY.md D9): lower costs are refused
/// outside development, and costs above its ceiling always (its own hashes would then be refused
/// at login).
pub(super) fn hashing(report: &mut Report, raw: &RawSettings) -> HashingSettings {
    let (baseline, ceiling) = (HashParams::default(), HashParams::CEILING);
    let costs = [
        (
            "ARGON2_MEMORY_KIB",
            &raw.argon2_memory_kib,
            baseline.memory_kib,
            ceiling.memory_kib,
            "KiB",
        ),
        (
            "ARGON2_ITERATIONS",
            &raw.argon2_iterations,
            baseline.iterations,
            ceiling.iterations,
            "passes",
        ),
        (
            "ARGON2_PARALLELISM",
            &raw.argon2_parallelism,
            baseline.parallelism,
            ceiling.parallelism,
            "lanes",
        ),
    ]
    .map(|(variable, value, floor, ceiling, unit)| {
        let cost = report.number(
            variable,
            value.as_deref(),
            floor,
            Bounds::between(1, ceiling, unit),
        );
        if cost < floor {
            report.weak(
                variable,
                format!(
                    "is below the Argon2id baseline of {floor} (m={} KiB, t={}, p={}; SECURITY.md D9)",
                    baseline.memory_kib, baseline.iterations, baseline.parallelism
                ),
            );
        }
        cost
    });
    let [memory_kib, iterations, parallelism] = costs;
    if memory_kib < 8 * parallelism {
        report.error(
            "ARGON2_MEMORY_KIB",
            "must be at least 8 KiB per lane (8 × ARGON2_PARALLELISM)",
        );
    }
    let defaults = PoolLimits::default();
    let permits = report.number(
        "HASHING_CONCURRENCY",
        raw.hashing_concurrency.as_deref(),
        defaults.permits.get(),
        Bounds::between(1, 256, "concurrent hashes"),
    );
    let max_wait = report.seconds(
        "HASHING_QUEUE_TIMEOUT_SECONDS",
        raw.hashing_queue_timeout_seconds.as_deref(),
        defaults.max_wait.as_secs(),
        1..=300,
    );
    HashingSettings {
        params: HashParams {
            memory_kib,
            iterations,
            parallelism,
        },
        pool: PoolLimits {
            permits: NonZeroUsize::new(permits).unwrap_or(defaults.permits),
            max_wait,
        },
    }
}

/// The `check-config` lines of the session rules, the throttles and password hashing.
pub(super) fn describe(policy: &Policy, hashing: &HashingSettings) -> [(&'static str, String); 3] {
    [
        (
            "sessions",
            format!(
                "{} days, idle {} days, refresh grace {} s, reset tokens {} h",
                policy.session_lifetime.whole_days(),
                policy.session_idle_timeout.whole_days(),
                policy.refresh_grace.whole_seconds(),
                policy.reset_token_lifetime.whole_hours()
            ),
        ),
        ("throttling", describe_throttles(&policy.throttle)),
        (
            "password hashing",
            format!(
                "argon2id m={} KiB t={} p={}, {} at once, queue timeout {}",
                hashing.params.memory_kib,
                hashing.params.iterations,
                hashing.params.parallelism,
                hashing.pool.permits,
                seconds(hashing.pool.max_wait)
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_applications() {
        let mut report = Report::new();
        let policy = policy(&mut report, &RawSettings::default());
        assert!(report.finish().unwrap().is_empty());
        let expected = Policy::default();
        assert_eq!(policy.session_lifetime, expected.session_lifetime);
        assert_eq!(policy.refresh_grace, Duration::seconds(10));
        assert_eq!(
            policy.throttle.login_account,
            expected.throttle.login_account
        );
        assert_eq!(policy.throttle.refresh_ip, expected.throttle.refresh_ip);
    }

    #[test]
    fn every_throttle_variable_is_read_by_its_name() {
        for (n, throttle) in THROTTLES.iter().enumerate() {
            let vars = [
                ("ENVIRONMENT", "development".to_owned()),
                (throttle.limit, (n + 2).to_string()),
                (throttle.window, (n + 100).to_string()),
            ];
            let (settings, _) = crate::config::Settings::from_vars(
                vars.into_iter().map(|(k, v)| (k.to_owned(), v)),
            )
            .unwrap();
            let mut throttles = settings.policy.throttle;
            let rule = *(throttle.rule)(&mut throttles);
            assert_eq!(
                rule.limit,
                u32::try_from(n + 2).unwrap(),
                "{}",
                throttle.limit
            );
            assert_eq!(
                rule.window.whole_seconds(),
                i64::try_from(n + 100).unwrap(),
                "{}",
                throttle.window
            );
        }
    }

    #[test]
    fn zero_limits_and_windows_are_refused() {
        let vars = THROTTLES.iter().flat_map(|t| {
            [
                (t.limit.to_owned(), "0".to_owned()),
                (t.window.to_owned(), "0".to_owned()),
            ]
        });
        let errors = crate::config::Settings::from_vars(vars).unwrap_err();
        for throttle in &THROTTLES {
            assert!(errors.names(throttle.limit) && errors.names(throttle.window));
        }
    }

    #[test]
    fn grace_window_is_bounded() {
        for grace in ["31", "-1", "x"] {
            let raw = RawSettings {
                refresh_grace_seconds: Some(grace.into()),
                ..RawSettings::default()
            };
            let mut report = Report::new();
            policy(&mut report, &raw);
            assert!(report.finish().unwrap_err().names("REFRESH_GRACE_SECONDS"));
        }
    }

    #[test]
    fn weak_argon2_is_refused_outside_development_and_impossible_argon2_always() {
        let raw = RawSettings {
            argon2_memory_kib: Some("4096".into()),
            argon2_iterations: Some("1".into()),
            ..RawSettings::default()
        };
        let mut report = Report::new();
        hashing(&mut report, &raw);
        assert_eq!(report.finish().unwrap_err().0.len(), 2);
        let mut report = Report::new();
        report.set_strict(false);
        let weak = hashing(&mut report, &raw);
        assert_eq!(report.finish().unwrap().len(), 2);
        assert_eq!(weak.params.memory_kib, 4096);
        for (variable, value) in [
            ("ARGON2_MEMORY_KIB", "262145"),
            ("ARGON2_ITERATIONS", "11"),
            ("ARGON2_PARALLELISM", "17"),
        ] {
            let vars = [("ENVIRONMENT", "development"), (variable, value)];
            let errors =
                crate::config::Settings::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned())))
                    .unwrap_err();
            assert!(errors.names(variable), "{variable} above the ceiling");
        }
        let raw = RawSettings {
            argon2_memory_kib: Some("16".into()),
            argon2_parallelism: Some("4".into()),
            ..RawSettings::default()
        };
        let mut report = Report::new();
        report.set_strict(false);
        hashing(&mut report, &raw);
        assert!(report.finish().unwrap_err().names("ARGON2_MEMORY_KIB"));
    }

    #[test]
    fn hashing_defaults_are_the_crypto_adapters() {
        let mut report = Report::new();
        let hashing = hashing(&mut report, &RawSettings::default());
        assert!(report.finish().unwrap().is_empty());
        assert_eq!(hashing.params, HashParams::default());
        assert_eq!(hashing.pool, PoolLimits::default());
    }
}
