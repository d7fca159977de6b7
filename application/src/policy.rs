//! The tunable rules: session lifetimes, the refresh grace window, throttle limits.

use gatehouse_domain::throttle::ThrottleRule;
use time::Duration;

/// Rules the use cases apply; built from configuration by the composition root.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Absolute lifetime of a session (RT-07, our choice 30 days).
    pub session_lifetime: Duration,
    /// A session unused for this long ends (RT-07, our choice 7 days).
    pub session_idle_timeout: Duration,
    /// Live sessions one user may hold; a login past it ends the least recently used ones
    /// (SECURITY.md RT-12). Clients that cannot refresh log in again on every expiry and
    /// abandon their old session: the cap keeps those from piling up for a week.
    pub max_sessions_per_user: usize,
    /// A refresh token reused this soon after its rotation gets the same successor (D14).
    pub refresh_grace: Duration,
    /// Lifetime of password-reset tokens (CONTRACT.md §9f, default 1 hour).
    pub reset_token_lifetime: Duration,
    pub throttle: ThrottlePolicy,
    /// Base of links in emails (`FRONTEND_HOST`, no trailing slash).
    pub frontend_host: String,
    /// Used in email subjects and bodies (`PROJECT_NAME`).
    pub project_name: String,
}

/// Throttle limits per route family (CONTRACT.md §9c, SECURITY.md RL-01/RL-02).
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Failed logins per account identifier; the only rule with back-off (RL-01): per-IP
    /// rules stay fixed, so a shared address (NAT, proxies) is never locked out for hours.
    pub login_account: ThrottleRule,
    /// Login attempts per client IP.
    pub login_ip: ThrottleRule,
    /// Signup attempts per client IP.
    pub signup_ip: ThrottleRule,
    /// Recovery requests per client IP.
    pub recovery_ip: ThrottleRule,
    /// Recovery requests per target address.
    pub recovery_email: ThrottleRule,
    /// Invalid reset tokens per client IP.
    pub reset_ip: ThrottleRule,
    /// Invalid refresh tokens per client IP.
    pub refresh_ip: ThrottleRule,
    /// Per-IP rules count an IPv6 client by its network of this many bits (48–128,
    /// `THROTTLE_IPV6_PREFIX`): one client owns at least a /64.
    pub ipv6_prefix: u8,
}

impl ThrottlePolicy {
    /// How long after its start a counting window can still matter to any rule: its
    /// longest back-off length, plus the quiet spell as long that forgets its strikes.
    /// Older windows behave exactly like no window at all.
    pub fn longest_memory(&self) -> Duration {
        [
            self.login_account,
            self.login_ip,
            self.signup_ip,
            self.recovery_ip,
            self.recovery_email,
            self.reset_ip,
            self.refresh_ip,
        ]
        .iter()
        .map(|rule| rule.window_length(rule.max_doublings) * 2)
        .max()
        .unwrap_or(Duration::ZERO)
    }
}

impl Default for Policy {
    fn default() -> Self {
        let rule = |limit, seconds| ThrottleRule::fixed(limit, Duration::seconds(seconds));
        Self {
            session_lifetime: Duration::days(30),
            session_idle_timeout: Duration::days(7),
            max_sessions_per_user: 50,
            refresh_grace: Duration::seconds(10),
            reset_token_lifetime: Duration::hours(1),
            throttle: ThrottlePolicy {
                // Locks of 15, 30, 60, 120, then 240 minutes while guessing goes on.
                login_account: ThrottleRule {
                    max_doublings: 4,
                    ..rule(5, 900)
                },
                login_ip: rule(20, 60),
                signup_ip: rule(10, 3600),
                recovery_ip: rule(10, 3600),
                recovery_email: rule(3, 3600),
                reset_ip: rule(20, 3600),
                refresh_ip: rule(30, 60),
                ipv6_prefix: 64,
            },
            frontend_host: "http://localhost:5173".to_owned(),
            project_name: "Gatehouse".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_matter_longest_for_the_capped_account_lock_and_its_quiet_spell() {
        // 15 minutes doubled four times is 4 hours, then 4 hours of quiet.
        assert_eq!(
            Policy::default().throttle.longest_memory(),
            Duration::hours(8)
        );
    }
}
