//! The use cases' tunable rules (session lifetimes, refresh grace, reset-token lifetime, throttle
//! limits) as the application's [`Policy`], and the password hasher's cost and pool as the crypto
//! adapter's types. Defaults come from those crates, so they are written down once.

use std::num::NonZeroUsize;

use gatehouse_application::{Policy, ThrottlePolicy};
use gatehouse_crypto::{HashParams, PoolLimits};
use gatehouse_domain::throttle::ThrottleRule;
use time::Duration;

use super::vars::{Vars, seconds};

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

/// Where a rule lives in [`ThrottlePolicy`].
type Rule = fn(&mut ThrottlePolicy) -> &mut ThrottleRule;

/// Every throttle: `<ROUTE>_MAX_…` events per `<ROUTE>_<SUBJECT>_WINDOW_SECONDS` (CONTRACT.md §9c).
const THROTTLES: [(&str, &str, Rule); 7] = [
    (
        "LOGIN_MAX_FAILURES_PER_ACCOUNT",
        "LOGIN_ACCOUNT_WINDOW_SECONDS",
        |p| &mut p.login_account,
    ),
    (
        "LOGIN_MAX_ATTEMPTS_PER_IP",
        "LOGIN_IP_WINDOW_SECONDS",
        |p| &mut p.login_ip,
    ),
    ("SIGNUP_MAX_PER_IP", "SIGNUP_IP_WINDOW_SECONDS", |p| {
        &mut p.signup_ip
    }),
    ("RECOVERY_MAX_PER_IP", "RECOVERY_IP_WINDOW_SECONDS", |p| {
        &mut p.recovery_ip
    }),
    (
        "RECOVERY_MAX_PER_EMAIL",
        "RECOVERY_EMAIL_WINDOW_SECONDS",
        |p| &mut p.recovery_email,
    ),
    ("RESET_MAX_INVALID_PER_IP", "RESET_IP_WINDOW_SECONDS", |p| {
        &mut p.reset_ip
    }),
    (
        "REFRESH_MAX_INVALID_PER_IP",
        "REFRESH_IP_WINDOW_SECONDS",
        |p| &mut p.refresh_ip,
    ),
];

/// The policy, starting from the application's defaults.
pub(super) fn policy(v: &mut Vars<'_>) -> Policy {
    let mut p = Policy::default();
    for (variable, lifetime) in [
        ("REFRESH_TOKEN_LIFETIME_DAYS", &mut p.session_lifetime),
        ("SESSION_IDLE_TIMEOUT_DAYS", &mut p.session_idle_timeout),
    ] {
        *lifetime = Duration::days(v.number(variable, lifetime.whole_days(), 1..=365, "days"));
    }
    let sessions = p.max_sessions_per_user;
    p.max_sessions_per_user = v.number("MAX_SESSIONS_PER_USER", sessions, 1..=10_000, "sessions");
    let grace = p.refresh_grace.whole_seconds();
    let grace = v.number("REFRESH_GRACE_SECONDS", grace, 0..=30, "seconds");
    p.refresh_grace = Duration::seconds(grace);
    let hours = p.reset_token_lifetime.whole_hours();
    let hours = v.number("EMAIL_RESET_TOKEN_EXPIRE_HOURS", hours, 1..=720, "hours");
    p.reset_token_lifetime = Duration::hours(hours);
    for (limit, window, rule) in THROTTLES {
        let rule = rule(&mut p.throttle);
        rule.limit = v.number(limit, rule.limit, 1.., "attempts");
        let seconds = rule.window.whole_seconds();
        let seconds = v.number(window, seconds, 1..=MAX_THROTTLE_WINDOW_SECONDS, "seconds");
        rule.window = Duration::seconds(seconds);
    }
    let account = &mut p.throttle.login_account;
    let doublings = account.max_doublings;
    account.max_doublings = v.number("LOGIN_ACCOUNT_MAX_DOUBLINGS", doublings, 0..=8, "doublings");
    let prefix = p.throttle.ipv6_prefix;
    p.throttle.ipv6_prefix = v.number("THROTTLE_IPV6_PREFIX", prefix, 48..=128, "bits");
    p
}

/// The crypto adapter's defaults are the OWASP baseline (SECURITY.md D9): lower costs are refused
/// outside development, and costs above its ceiling always (its own hashes would then be refused
/// at login).
pub(super) fn hashing(v: &mut Vars<'_>) -> HashingSettings {
    let (baseline, ceiling) = (HashParams::default(), HashParams::CEILING);
    let [memory_kib, iterations, parallelism] = [
        ("ARGON2_MEMORY_KIB", baseline.memory_kib, ceiling.memory_kib, "KiB"),
        ("ARGON2_ITERATIONS", baseline.iterations, ceiling.iterations, "passes"),
        ("ARGON2_PARALLELISM", baseline.parallelism, ceiling.parallelism, "lanes"),
    ]
    .map(|(variable, floor, ceiling, unit)| {
        let cost = v.number(variable, floor, 1..=ceiling, unit);
        if cost < floor {
            v.weak(
                variable,
                format!(
                    "is below the Argon2id baseline of {floor} (m={} KiB, t={}, p={}; SECURITY.md D9)",
                    baseline.memory_kib, baseline.iterations, baseline.parallelism
                ),
            );
        }
        cost
    });
    if memory_kib < 8 * parallelism {
        v.error(
            "ARGON2_MEMORY_KIB",
            "must be at least 8 KiB per lane (8 × ARGON2_PARALLELISM)",
        );
    }
    let defaults = PoolLimits::default();
    let permits = defaults.permits.get();
    let permits = v.number("HASHING_CONCURRENCY", permits, 1..=256, "concurrent hashes");
    let wait = defaults.max_wait.as_secs();
    HashingSettings {
        params: HashParams {
            memory_kib,
            iterations,
            parallelism,
        },
        pool: PoolLimits {
            permits: NonZeroUsize::new(permits).unwrap_or(defaults.permits),
            max_wait: v.seconds("HASHING_QUEUE_TIMEOUT_SECONDS", wait, 1..=300),
        },
    }
}

/// The `check-config` lines of the session rules, the throttles and password hashing.
pub(super) fn describe(policy: &Policy, hashing: &HashingSettings) -> [(&'static str, String); 3] {
    let mut throttles = policy.throttle;
    let rules: Vec<String> = THROTTLES
        .iter()
        .map(|(limit, _, rule)| {
            let rule = rule(&mut throttles);
            let backoff = match rule.max_doublings {
                0 => String::new(),
                n => format!(" doubling up to {n} times"),
            };
            format!(
                "{limit}={} per {} s{backoff}",
                rule.limit,
                rule.window.whole_seconds()
            )
        })
        .collect();
    let (params, pool) = (hashing.params, hashing.pool);
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
        (
            "throttling",
            format!(
                "{}; per-IP rules count IPv6 clients per /{} (THROTTLE_IPV6_PREFIX)",
                rules.join(", "),
                throttles.ipv6_prefix
            ),
        ),
        (
            "password hashing",
            format!(
                "argon2id m={} KiB t={} p={}, {} at once, queue timeout {}",
                params.memory_kib,
                params.iterations,
                params.parallelism,
                pool.permits,
                seconds(pool.max_wait)
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::vars::testing::check;
    use super::*;
    use crate::config::Settings;

    fn load(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, crate::config::ConfigErrors> {
        let development = [("ENVIRONMENT".to_owned(), "development".to_owned())];
        Settings::from_vars(development.into_iter().chain(pairs)).map(|(settings, _)| settings)
    }

    #[test]
    fn defaults_are_the_applications() {
        let (policy, result) = check(true, &[], policy);
        assert!(result.unwrap().is_empty());
        let expected = Policy::default();
        assert_eq!(policy.session_lifetime, expected.session_lifetime);
        assert_eq!(policy.refresh_grace, Duration::seconds(10));
        assert_eq!(
            policy.throttle.login_account,
            expected.throttle.login_account
        );
        assert_eq!(policy.throttle.refresh_ip, expected.throttle.refresh_ip);
        let (hashing, result) = check(true, &[], hashing);
        assert!(
            result.unwrap().is_empty(),
            "hashing defaults are the crypto adapter's"
        );
        assert_eq!(hashing.params, HashParams::default());
        assert_eq!(hashing.pool, PoolLimits::default());
    }

    #[test]
    fn every_throttle_variable_is_read_by_its_name_and_zero_is_refused() {
        for (n, (limit, window, rule)) in THROTTLES.into_iter().enumerate() {
            let vars = [
                (limit, (n + 2).to_string()),
                (window, (n + 100).to_string()),
            ];
            let settings = load(vars.map(|(k, v)| (k.to_owned(), v))).unwrap();
            let mut throttles = settings.policy.throttle;
            let rule = *rule(&mut throttles);
            assert_eq!(rule.limit, u32::try_from(n + 2).unwrap(), "{limit}");
            assert_eq!(
                rule.window.whole_seconds(),
                i64::try_from(n + 100).unwrap(),
                "{window}"
            );
        }
        let zeros = THROTTLES
            .iter()
            .flat_map(|(limit, window, _)| [*limit, *window]);
        let errors =
            Settings::from_vars(zeros.map(|name| (name.to_owned(), "0".to_owned()))).unwrap_err();
        for (limit, window, _) in THROTTLES {
            assert!(errors.names(limit) && errors.names(window));
        }
    }

    #[test]
    fn weak_argon2_is_refused_outside_development_and_impossible_argon2_always() {
        let weak = [("ARGON2_MEMORY_KIB", "4096"), ("ARGON2_ITERATIONS", "1")];
        assert_eq!(check(true, &weak, hashing).1.unwrap_err().0.len(), 2);
        let (hashing_settings, result) = check(false, &weak, hashing);
        assert_eq!(result.unwrap().len(), 2);
        assert_eq!(hashing_settings.params.memory_kib, 4096);
        for (variable, value) in [
            ("ARGON2_MEMORY_KIB", "262145"),
            ("ARGON2_ITERATIONS", "11"),
            ("ARGON2_PARALLELISM", "17"),
        ] {
            let errors = load([(variable.to_owned(), value.to_owned())]).unwrap_err();
            assert!(errors.names(variable), "{variable} above the ceiling");
        }
        let lanes = [("ARGON2_MEMORY_KIB", "16"), ("ARGON2_PARALLELISM", "4")];
        assert!(
            check(false, &lanes, hashing)
                .1
                .unwrap_err()
                .names("ARGON2_MEMORY_KIB")
        );
    }
}
