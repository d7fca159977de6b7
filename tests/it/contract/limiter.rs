//! Contract of `AttemptLimiter`: fixed windows per key, `check` counting nothing, `hit`
//! judging the event itself, `Retry-After` to the window's end, and `clear`.

use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule, Verdict};
use time::{Duration, OffsetDateTime};

use super::backend::Stores;
use super::fixtures::T0;

/// Three events per minute.
const RULE: ThrottleRule = ThrottleRule {
    limit: 3,
    window: Duration::MINUTE,
};

fn key(subject: &str) -> ThrottleKey {
    ThrottleKey::new("login:account", subject)
}

fn throttled_for(seconds: i64) -> Verdict {
    Verdict::Throttled {
        retry_after: Duration::seconds(seconds),
    }
}

/// Counts one event of `key` at `at`.
async fn hit(s: &Stores, key: &ThrottleKey, at: OffsetDateTime) -> Verdict {
    s.limiter.hit(key, &RULE, at).await.unwrap()
}

/// Whether `key` is locked at `at`.
async fn check(s: &Stores, key: &ThrottleKey, at: OffsetDateTime) -> Verdict {
    s.limiter.check(key, &RULE, at).await.unwrap()
}

pub async fn hits_up_to_the_limit_pass_and_the_next_is_throttled_until_the_window_ends(s: Stores) {
    let alice = key("alice@example.com");
    let mut verdicts = Vec::new();
    for second in [0, 10, 20, 45] {
        verdicts.push(hit(&s, &alice, T0 + Duration::seconds(second)).await);
    }

    let allowed = Verdict::Allowed;
    assert_eq!(verdicts, [allowed, allowed, allowed, throttled_for(15)]);
}

pub async fn check_counts_nothing_and_locks_once_the_window_is_full(s: Stores) {
    let alice = key("alice@example.com");
    for _ in 0..5 {
        assert_eq!(check(&s, &alice, T0).await, Verdict::Allowed);
    }
    hit(&s, &alice, T0).await;
    hit(&s, &alice, T0).await;
    let below_limit = check(&s, &alice, T0 + Duration::seconds(5)).await;
    let third = hit(&s, &alice, T0 + Duration::seconds(10)).await;
    let full = check(&s, &alice, T0 + Duration::seconds(20)).await;

    assert_eq!((below_limit, third), (Verdict::Allowed, Verdict::Allowed));
    assert_eq!(full, throttled_for(40));
}

pub async fn a_new_window_starts_at_the_first_event_after_the_last_one_ended(s: Stores) {
    let alice = key("alice@example.com");
    for second in [0, 30, 59] {
        hit(&s, &alice, T0 + Duration::seconds(second)).await;
    }
    let window_end = T0 + RULE.window;

    let last_moment = check(&s, &alice, window_end - Duration::SECOND).await;
    let after = check(&s, &alice, window_end).await;
    let mut fresh = Vec::new();
    for second in [70, 80, 90, 100] {
        fresh.push(hit(&s, &alice, T0 + Duration::seconds(second)).await);
    }

    assert_eq!(last_moment, throttled_for(1));
    assert_eq!(
        after,
        Verdict::Allowed,
        "fixed, not sliding: 30 s and 59 s no longer count"
    );
    let allowed = Verdict::Allowed;
    assert_eq!(fresh, [allowed, allowed, allowed, throttled_for(30)]);
}

pub async fn retry_after_is_at_least_one_second(s: Stores) {
    let alice = key("alice@example.com");
    for _ in 0..3 {
        hit(&s, &alice, T0).await;
    }

    let nearly_over = T0 + RULE.window - Duration::milliseconds(500);

    assert_eq!(check(&s, &alice, nearly_over).await, throttled_for(1));
    assert_eq!(hit(&s, &alice, nearly_over).await, throttled_for(1));
}

pub async fn clear_forgets_every_event_of_the_key_only(s: Stores) {
    let (alice, bob) = (key("alice@example.com"), key("bob@example.com"));
    for subject in [&alice, &bob] {
        for _ in 0..4 {
            hit(&s, subject, T0).await;
        }
    }

    s.limiter.clear(&alice).await.unwrap();

    assert_eq!(check(&s, &alice, T0).await, Verdict::Allowed);
    assert_eq!(check(&s, &bob, T0).await, throttled_for(60));
    assert_eq!(hit(&s, &alice, T0).await, Verdict::Allowed);
    s.limiter.clear(&key("never@example.com")).await.unwrap();
}

pub async fn keys_are_counted_apart(s: Stores) {
    let alice = key("alice@example.com");
    let by_ip = ThrottleKey::new("login:ip", "alice@example.com");
    for _ in 0..3 {
        hit(&s, &alice, T0).await;
    }

    assert!(check(&s, &alice, T0).await.is_throttled());
    assert_eq!(check(&s, &by_ip, T0).await, Verdict::Allowed);
    assert_eq!(hit(&s, &key("bob@example.com"), T0).await, Verdict::Allowed);
}
