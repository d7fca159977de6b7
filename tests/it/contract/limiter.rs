//! Contract of `AttemptLimiter`: fixed windows per key, `check` counting nothing, `hit`
//! judging the event itself, `Retry-After` to the window's end, back-off strikes that
//! lengthen the windows after a lock, `clear`, `release`, and both at once.

use gatehouse_domain::throttle::{ThrottleKey, ThrottleRule, Verdict};
use time::{Duration, OffsetDateTime};

use super::backend::Stores;
use super::fixtures::T0;

/// Three events per minute.
const RULE: ThrottleRule = ThrottleRule::fixed(3, Duration::MINUTE);

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

pub async fn release_takes_back_one_event_of_the_window_that_counted_it(s: Stores) {
    let (alice, bob) = (key("alice@example.com"), key("bob@example.com"));
    for subject in [&alice, &bob] {
        for _ in 0..3 {
            hit(&s, subject, T0).await;
        }
    }

    s.limiter.release(&alice, T0).await.unwrap();

    assert_eq!(check(&s, &alice, T0).await, Verdict::Allowed, "two left");
    assert!(
        check(&s, &bob, T0).await.is_throttled(),
        "other keys keep theirs"
    );
    assert_eq!(hit(&s, &alice, T0).await, Verdict::Allowed);
    assert!(hit(&s, &alice, T0).await.is_throttled());
    s.limiter
        .release(&key("never@example.com"), T0)
        .await
        .unwrap();
}

/// A successful login's bookkeeping in one call: the account's window forgotten, the
/// address's event taken back, a third key untouched.
pub async fn clear_and_release_clears_one_key_and_releases_the_other(s: Stores) {
    let account = key("alice@example.com");
    let ip = ThrottleKey::new("login:ip", "192.0.2.1");
    let other = key("bob@example.com");
    for subject in [&account, &ip, &other] {
        for _ in 0..4 {
            hit(&s, subject, T0).await;
        }
    }

    s.limiter
        .clear_and_release(&account, &ip, T0)
        .await
        .unwrap();

    assert_eq!(check(&s, &account, T0).await, Verdict::Allowed, "cleared");
    assert!(check(&s, &ip, T0).await.is_throttled(), "three left");
    s.limiter.release(&ip, T0).await.unwrap();
    assert_eq!(check(&s, &ip, T0).await, Verdict::Allowed, "two left");
    assert_eq!(check(&s, &other, T0).await, throttled_for(60));
}

pub async fn release_leaves_a_window_started_after_the_event_alone(s: Stores) {
    let alice = key("alice@example.com");
    let next_window = T0 + Duration::MINUTE;
    for _ in 0..3 {
        hit(&s, &alice, next_window).await;
    }

    s.limiter.release(&alice, T0).await.unwrap();

    assert!(
        check(&s, &alice, next_window).await.is_throttled(),
        "an event of an earlier window is not in this one"
    );
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

/// Three events per minute, the window doubling up to twice.
const BACKOFF: ThrottleRule = ThrottleRule {
    max_doublings: 2,
    ..RULE
};

/// Fills the window of `key` that a hit at `at` lands in, then returns how long the next
/// event is refused.
async fn fill_backoff_window(s: &Stores, key: &ThrottleKey, at: OffsetDateTime) -> Verdict {
    for _ in 0..BACKOFF.limit {
        assert_eq!(
            s.limiter.hit(key, &BACKOFF, at).await.unwrap(),
            Verdict::Allowed
        );
    }
    s.limiter.check(key, &BACKOFF, at).await.unwrap()
}

pub async fn each_lock_run_into_doubles_the_next_window_up_to_the_cap(s: Stores) {
    let alice = key("alice@example.com");
    let mut locks = Vec::new();
    let mut at = T0;
    for _ in 0..4 {
        let lock = fill_backoff_window(&s, &alice, at).await;
        let Verdict::Throttled { retry_after } = lock else {
            panic!("a full window locks: {lock:?}");
        };
        locks.push(lock);
        at += retry_after;
    }

    assert_eq!(
        locks,
        [60, 120, 240, 240].map(throttled_for),
        "doubled twice, then capped"
    );
}

pub async fn a_quiet_spell_as_long_as_the_last_window_forgets_the_strikes(s: Stores) {
    let (alice, bob) = (key("alice@example.com"), key("bob@example.com"));
    fill_backoff_window(&s, &alice, T0).await;
    fill_backoff_window(&s, &bob, T0).await;
    let ended = T0 + Duration::minutes(1);

    let alice_soon = fill_backoff_window(&s, &alice, ended + Duration::seconds(59)).await;
    let bob_later = fill_backoff_window(&s, &bob, ended + Duration::minutes(1)).await;

    assert_eq!(alice_soon, throttled_for(120), "less quiet than a window");
    assert_eq!(bob_later, throttled_for(60), "a window's length of quiet");
}

pub async fn a_window_that_never_filled_is_no_strike(s: Stores) {
    let alice = key("alice@example.com");
    for _ in 0..BACKOFF.limit - 1 {
        s.limiter.hit(&alice, &BACKOFF, T0).await.unwrap();
    }

    let next = fill_backoff_window(&s, &alice, T0 + Duration::minutes(1)).await;

    assert_eq!(next, throttled_for(60));
}

pub async fn clear_forgets_the_strikes_too(s: Stores) {
    let alice = key("alice@example.com");
    fill_backoff_window(&s, &alice, T0).await;
    let struck = fill_backoff_window(&s, &alice, T0 + Duration::minutes(1)).await;

    s.limiter.clear(&alice).await.unwrap();
    let after_clear = fill_backoff_window(&s, &alice, T0 + Duration::minutes(3)).await;

    assert_eq!(
        (struck, after_clear),
        (throttled_for(120), throttled_for(60))
    );
}

pub async fn delete_windows_removes_windows_started_before_the_cutoff(s: Stores) {
    let (old, new) = (key("old@example.com"), key("new@example.com"));
    for _ in 0..3 {
        hit(&s, &old, T0).await;
        hit(&s, &new, T0 + Duration::minutes(10)).await;
    }

    let deleted = s
        .limiter
        .delete_windows(T0 + Duration::minutes(5))
        .await
        .unwrap();

    assert_eq!(deleted, 1);
    let at = T0 + Duration::minutes(10);
    assert_eq!(check(&s, &old, at).await, Verdict::Allowed);
    assert!(check(&s, &new, at).await.is_throttled());
}
