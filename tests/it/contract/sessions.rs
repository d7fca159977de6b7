//! Contract of `SessionStore`: the rotation state machine of SECURITY.md §2.2 (rotate,
//! benign repeat, reuse detection, dead sessions), lookups, listing and ending sessions.

use gatehouse_domain::ports::{EndScope, OwnedWriteError, Rotation, RotationOutcome, SessionCap};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{EndReason, Session, SessionId, UserId};
use time::{Duration, OffsetDateTime};

use super::backend::Stores;
use super::fixtures::{GRACE, IDLE, T0, login, open, session, store, stored_session, token, user};

/// A refresh of `presented` into `successor` at `now`, with the default grace and idle
/// timeout.
fn rotation(presented: TokenHash, successor: TokenHash, now: OffsetDateTime) -> Rotation {
    Rotation {
        presented,
        successor,
        now,
        grace: GRACE,
        idle_timeout: IDLE,
    }
}

/// A stored user logged in at [`T0`]: their id, session and first refresh token.
async fn logged_in(s: &Stores) -> (UserId, Session, TokenHash) {
    let id = store(s, user("alice@example.com")).await.id;
    let (session, first) = login(s, id, T0).await;
    (id, session, first)
}

/// Rotates `presented` into a fresh successor at `now`; returns the outcome and successor.
async fn refresh(
    s: &Stores,
    presented: TokenHash,
    now: OffsetDateTime,
) -> (RotationOutcome, TokenHash) {
    let successor = token();
    let outcome = s
        .sessions
        .rotate(&rotation(presented, successor, now))
        .await
        .unwrap();
    (outcome, successor)
}

pub async fn create_then_find_by_token_returns_the_session(s: Stores) {
    let (_, session, first) = logged_in(&s).await;

    assert_eq!(
        s.sessions.find_by_token(&first).await.unwrap(),
        Some(session)
    );
    assert_eq!(s.sessions.find_by_token(&token()).await.unwrap(), None);
}

pub async fn create_for_a_missing_user_is_owner_gone_and_stores_nothing(s: Stores) {
    let orphan = session(UserId::random(), T0);
    let first = token();

    let refused = s.sessions.create(&orphan, &first, CAP_OF_TWO).await;

    assert!(
        matches!(refused, Err(OwnedWriteError::OwnerGone)),
        "{refused:?}"
    );
    assert_eq!(s.sessions.find_by_token(&first).await.unwrap(), None);
}

/// A cap of two live sessions per user.
const CAP_OF_TWO: SessionCap = SessionCap {
    max: 2,
    idle_timeout: IDLE,
};

pub async fn create_ends_the_least_recently_used_live_sessions_beyond_the_cap(s: Stores) {
    let (alice, oldest, _) = logged_in(&s).await;
    let bob = store(&s, user("bob@example.com")).await.id;
    let (bobs, _) = login(&s, bob, T0).await;
    let (middle, _) = login(&s, alice, T0 + Duration::minutes(1)).await;
    let newest = session(alice, T0 + Duration::minutes(2));

    let evicted = s.sessions.create(&newest, &token(), CAP_OF_TWO).await;

    assert_eq!(evicted.unwrap(), 1);
    let ended = stored_session(&s, alice, oldest.id).await;
    assert_eq!(ended.revoked_reason, Some(EndReason::Evicted));
    assert_eq!(ended.revoked_at, Some(newest.created_at));
    for (user, kept) in [(alice, middle.id), (alice, newest.id), (bob, bobs.id)] {
        let kept = stored_session(&s, user, kept).await;
        assert_eq!(
            kept.revoked_at, None,
            "only the least recently used one ends"
        );
    }
}

pub async fn concurrent_creates_never_leave_more_live_sessions_than_the_cap(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await.id;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    let creates: Vec<_> = (0..12)
        .map(|_| {
            let (sessions, barrier) = (s.sessions.clone(), barrier.clone());
            tokio::spawn(async move {
                let new = session(alice, T0);
                barrier.wait().await;
                sessions.create(&new, &token(), CAP_OF_TWO).await
            })
        })
        .collect();
    for create in creates {
        create.await.unwrap().expect("every create succeeds");
    }

    let live = s.sessions.list_live(alice, T0, IDLE).await.unwrap();
    assert_eq!(live.len(), 2, "{live:?}");
}

pub async fn rotating_an_unused_token_stores_its_child_and_bumps_last_used(s: Stores) {
    let (_, session, r0) = logged_in(&s).await;
    let at = T0 + Duration::minutes(1);

    let (outcome, r1) = refresh(&s, r0, at).await;

    let bumped = Session {
        last_used_at: at,
        ..session
    };
    assert_eq!(outcome, RotationOutcome::Rotated(bumped.clone()));
    assert_eq!(
        s.sessions.find_by_token(&r1).await.unwrap(),
        Some(bumped.clone())
    );
    assert_eq!(
        s.sessions.find_by_token(&r0).await.unwrap(),
        Some(bumped.clone()),
        "a used token still names its session"
    );
    let later = at + Duration::minutes(1);
    let (next, _) = refresh(&s, r1, later).await;
    let bumped_again = Session {
        last_used_at: later,
        ..bumped
    };
    assert_eq!(next, RotationOutcome::Rotated(bumped_again));
}

pub async fn repeating_a_rotation_within_the_grace_writes_nothing(s: Stores) {
    let (user, session, r0) = logged_in(&s).await;
    let at = T0 + Duration::minutes(1);
    let r1 = token();
    s.sessions.rotate(&rotation(r0, r1, at)).await.unwrap();

    let mut repeats = Vec::new();
    for later in [at, at + Duration::seconds(1), at + GRACE] {
        repeats.push(s.sessions.rotate(&rotation(r0, r1, later)).await.unwrap());
    }

    let rotated = Session {
        last_used_at: at,
        ..session
    };
    assert_eq!(repeats, vec![RotationOutcome::Repeated(rotated.clone()); 3]);
    assert_eq!(stored_session(&s, user, rotated.id).await, rotated);
    let (next, _) = refresh(&s, r1, at + GRACE).await;
    assert!(
        matches!(next, RotationOutcome::Rotated(_)),
        "the successor is still unused: {next:?}"
    );
}

/// Asserts that the session was revoked for reuse and that no token of it rotates any more.
async fn assert_revoked_for_reuse(s: &Stores, user: UserId, id: SessionId, tokens: &[TokenHash]) {
    let stored = stored_session(s, user, id).await;
    assert_eq!(stored.revoked_reason, Some(EndReason::ReuseDetected));
    assert!(stored.revoked_at.is_some());
    for presented in tokens {
        let (after, _) = refresh(s, *presented, T0 + Duration::minutes(5)).await;
        assert_eq!(after, RotationOutcome::Invalid);
    }
}

pub async fn reusing_a_token_after_the_grace_revokes_the_session(s: Stores) {
    let (user, session, r0) = logged_in(&s).await;
    let at = T0 + Duration::minutes(1);
    let r1 = token();
    s.sessions.rotate(&rotation(r0, r1, at)).await.unwrap();

    let late = at + GRACE + Duration::seconds(1);
    let outcome = s.sessions.rotate(&rotation(r0, r1, late)).await.unwrap();

    let RotationOutcome::ReuseDetected(revoked) = outcome else {
        panic!("expected ReuseDetected, got {outcome:?}");
    };
    assert_eq!(revoked.id, session.id);
    assert_revoked_for_reuse(&s, user, session.id, &[r0, r1]).await;
}

pub async fn reusing_a_token_whose_child_was_used_revokes_the_session_even_within_the_grace(
    s: Stores,
) {
    let (user, session, r0) = logged_in(&s).await;
    let at = T0 + Duration::minutes(1);
    let r1 = token();
    s.sessions.rotate(&rotation(r0, r1, at)).await.unwrap();
    let (_, r2) = refresh(&s, r1, at + Duration::seconds(1)).await;

    let outcome = s
        .sessions
        .rotate(&rotation(r0, r1, at + Duration::seconds(2)))
        .await
        .unwrap();

    assert!(
        matches!(outcome, RotationOutcome::ReuseDetected(ref r) if r.id == session.id),
        "{outcome:?}"
    );
    assert_revoked_for_reuse(&s, user, session.id, &[r0, r1, r2]).await;
}

pub async fn repeating_a_rotation_with_another_successor_revokes_the_session(s: Stores) {
    let (user, session, r0) = logged_in(&s).await;
    let at = T0 + Duration::minutes(1);
    let r1 = token();
    s.sessions.rotate(&rotation(r0, r1, at)).await.unwrap();

    // The successor is derived from the parent, so a different one within the grace was
    // not derived by this deployment from this token: not a benign duplicate (§2.2 step 5).
    let (outcome, forged) = refresh(&s, r0, at + Duration::seconds(1)).await;

    assert!(
        matches!(outcome, RotationOutcome::ReuseDetected(ref r) if r.id == session.id),
        "{outcome:?}"
    );
    assert_eq!(s.sessions.find_by_token(&forged).await.unwrap(), None);
    assert_revoked_for_reuse(&s, user, session.id, &[r0, r1]).await;
}

pub async fn rotating_an_unknown_token_is_invalid(s: Stores) {
    logged_in(&s).await;

    let (outcome, successor) = refresh(&s, token(), T0).await;

    assert_eq!(outcome, RotationOutcome::Invalid);
    assert_eq!(s.sessions.find_by_token(&successor).await.unwrap(), None);
}

pub async fn rotating_in_a_revoked_session_is_invalid_and_writes_nothing(s: Stores) {
    let (user, session, r0) = logged_in(&s).await;
    let ended_at = T0 + Duration::seconds(30);
    let scope = EndScope::One(session.id);
    s.sessions
        .end(user, scope, EndReason::Logout, ended_at)
        .await
        .unwrap();

    let (outcome, successor) = refresh(&s, r0, T0 + Duration::minutes(1)).await;

    assert_eq!(outcome, RotationOutcome::Invalid);
    assert_eq!(s.sessions.find_by_token(&successor).await.unwrap(), None);
    let stored = stored_session(&s, user, session.id).await;
    assert_eq!(stored.revoked_reason, Some(EndReason::Logout));
    assert_eq!(stored.last_used_at, T0);
}

pub async fn rotating_at_or_past_not_after_is_invalid(s: Stores) {
    let user = store(&s, user("alice@example.com")).await.id;
    let short = Session {
        not_after: T0 + Duration::minutes(2),
        ..session(user, T0)
    };
    let r0 = open(&s, &short).await;

    let (before, r1) = refresh(&s, r0, T0 + Duration::minutes(1)).await;
    let (at_end, _) = refresh(&s, r1, short.not_after).await;

    assert!(matches!(before, RotationOutcome::Rotated(_)), "{before:?}");
    assert_eq!(at_end, RotationOutcome::Invalid);
}

pub async fn rotating_after_the_idle_timeout_is_invalid(s: Stores) {
    let (_, _, r0) = logged_in(&s).await;

    let (at_limit, r1) = refresh(&s, r0, T0 + IDLE).await;
    let idle_too_long = T0 + IDLE + IDLE + Duration::seconds(1);
    let (after_limit, _) = refresh(&s, r1, idle_too_long).await;

    assert!(
        matches!(at_limit, RotationOutcome::Rotated(_)),
        "{at_limit:?}"
    );
    assert_eq!(after_limit, RotationOutcome::Invalid);
}

pub async fn concurrent_rotations_of_one_token_rotate_it_once(s: Stores) {
    let (user, session, r0) = logged_in(&s).await;
    let r1 = token();
    let at = T0 + Duration::minutes(1);

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let sessions = s.sessions.clone();
            tokio::spawn(async move { sessions.rotate(&rotation(r0, r1, at)).await })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            RotationOutcome::Rotated(_) => rotated += 1,
            RotationOutcome::Repeated(_) => {}
            other => panic!("a duplicate within the grace is benign, got {other:?}"),
        }
    }

    assert_eq!(rotated, 1);
    let stored = stored_session(&s, user, session.id).await;
    assert_eq!(stored.revoked_at, None);
    assert_eq!(s.sessions.find_by_token(&r1).await.unwrap(), Some(stored));
}

pub async fn load_principal_returns_the_user_with_their_session(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await;
    let (session, _) = login(&s, alice.id, T0).await;

    let principal = s.sessions.load_principal(alice.id, session.id).await;

    assert_eq!(principal.unwrap(), Some((alice, Some(session))));
}

pub async fn load_principal_of_a_missing_user_is_none(s: Stores) {
    let (_, session, _) = logged_in(&s).await;

    let principal = s
        .sessions
        .load_principal(UserId::random(), session.id)
        .await;

    assert_eq!(principal.unwrap(), None);
}

pub async fn load_principal_withholds_a_session_that_is_not_the_users(s: Stores) {
    let (_, alices, _) = logged_in(&s).await;
    let bob = store(&s, user("bob@example.com")).await;

    let foreign = s.sessions.load_principal(bob.id, alices.id).await;
    let unknown = s.sessions.load_principal(bob.id, SessionId::random()).await;

    assert_eq!(foreign.unwrap(), Some((bob.clone(), None)));
    assert_eq!(unknown.unwrap(), Some((bob, None)));
}

pub async fn load_principal_returns_an_ended_session_for_the_caller_to_judge(s: Stores) {
    let (user, session, _) = logged_in(&s).await;
    let ended_at = T0 + Duration::minutes(1);
    let scope = EndScope::One(session.id);
    s.sessions
        .end(user, scope, EndReason::Logout, ended_at)
        .await
        .unwrap();

    let stored = stored_session(&s, user, session.id).await;

    let ended = Session {
        revoked_at: Some(ended_at),
        revoked_reason: Some(EndReason::Logout),
        ..session
    };
    assert_eq!(stored, ended);
}

pub async fn list_live_returns_live_sessions_most_recently_used_first(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await.id;
    let bob = store(&s, user("bob@example.com")).await.id;
    let now = T0 + Duration::days(10);
    let used = |at: OffsetDateTime| Session {
        last_used_at: at,
        ..session(alice, T0)
    };
    let older = used(now - Duration::days(2));
    let newer = used(now - Duration::hours(1));
    let idle = used(now - IDLE - Duration::seconds(1));
    let expired = Session {
        not_after: now,
        ..used(now - Duration::hours(2))
    };
    let revoked = used(now - Duration::minutes(5));
    let foreign = session(bob, now - Duration::hours(1));
    for row in [&older, &idle, &newer, &expired, &revoked, &foreign] {
        open(&s, row).await;
    }
    let scope = EndScope::One(revoked.id);
    s.sessions
        .end(alice, scope, EndReason::Logout, now)
        .await
        .unwrap();

    let live = s.sessions.list_live(alice, now, IDLE).await.unwrap();

    assert_eq!(live, vec![newer, older]);
}

/// Opens three sessions for alice and one for bob, ends the first of alice's with
/// `Logout`, then ends `scope(alice's sessions)` with `Admin`. Returns how many the second
/// end revoked and every session's reason afterwards (alice's three, then bob's).
async fn end_scoped(
    s: &Stores,
    scope: impl FnOnce(&[SessionId]) -> EndScope,
) -> (u64, Vec<Option<EndReason>>) {
    let alice = store(s, user("alice@example.com")).await.id;
    let bob = store(s, user("bob@example.com")).await.id;
    let mut opened = Vec::new();
    for owner in [alice, alice, alice, bob] {
        opened.push((owner, login(s, owner, T0).await.0.id));
    }
    let ids: Vec<_> = opened.iter().map(|(_, id)| *id).collect();
    let first = EndScope::One(ids[0]);
    s.sessions
        .end(alice, first, EndReason::Logout, T0)
        .await
        .unwrap();

    let at = T0 + Duration::minutes(1);
    let ended = s
        .sessions
        .end(alice, scope(&ids), EndReason::Admin, at)
        .await
        .unwrap();

    let mut reasons = Vec::new();
    for (owner, id) in opened {
        let stored = stored_session(s, owner, id).await;
        assert_eq!(stored.revoked_at.is_some(), stored.revoked_reason.is_some());
        reasons.push(stored.revoked_reason);
    }
    (ended, reasons)
}

const LOGOUT: Option<EndReason> = Some(EndReason::Logout);
const ADMIN: Option<EndReason> = Some(EndReason::Admin);

pub async fn ending_one_session_revokes_only_that_session(s: Stores) {
    let outcome = end_scoped(&s, |ids| EndScope::One(ids[1])).await;

    assert_eq!(outcome, (1, vec![LOGOUT, ADMIN, None, None]));
}

pub async fn ending_an_already_ended_session_revokes_nothing(s: Stores) {
    let again = end_scoped(&s, |ids| EndScope::One(ids[0])).await;

    assert_eq!(again, (0, vec![LOGOUT, None, None, None]));
}

pub async fn ending_another_users_session_revokes_nothing(s: Stores) {
    let foreign = end_scoped(&s, |ids| EndScope::One(ids[3])).await;

    assert_eq!(foreign, (0, vec![LOGOUT, None, None, None]));
}

pub async fn ending_all_revokes_every_live_session_of_that_user_only(s: Stores) {
    let outcome = end_scoped(&s, |_| EndScope::All).await;

    assert_eq!(outcome, (2, vec![LOGOUT, ADMIN, ADMIN, None]));
}

pub async fn ending_all_but_one_keeps_that_session(s: Stores) {
    let outcome = end_scoped(&s, |ids| EndScope::AllExcept(ids[2])).await;

    assert_eq!(outcome, (1, vec![LOGOUT, ADMIN, None, None]));
}

pub async fn delete_ended_removes_sessions_over_before_the_cutoff_only(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await.id;
    let bob = store(&s, user("bob@example.com")).await.id;
    let now = T0 + Duration::days(60);
    let cutoff = now - Duration::days(30);
    // Each deleted one is over for one reason only: revoked, expired or idle.
    let long_revoked = session(alice, cutoff - Duration::days(2));
    let recently_revoked = session(alice, now - Duration::days(5));
    let expired = Session {
        not_after: cutoff - Duration::days(1),
        ..session(alice, cutoff - Duration::days(5))
    };
    let idle = session(alice, cutoff - IDLE - Duration::days(1));
    let idle_but_recent = session(alice, cutoff - IDLE + Duration::days(1));
    let live = session(alice, now - Duration::hours(1));
    let foreign_revoked = session(bob, cutoff - Duration::days(3));
    let rows = [
        &long_revoked,
        &recently_revoked,
        &expired,
        &idle,
        &idle_but_recent,
        &live,
        &foreign_revoked,
    ];
    let mut tokens = Vec::new();
    for row in rows {
        tokens.push(open(&s, row).await);
    }
    for (owner, row, at) in [
        (alice, &long_revoked, cutoff - Duration::days(1)),
        (alice, &recently_revoked, now - Duration::days(1)),
        (bob, &foreign_revoked, cutoff - Duration::seconds(1)),
    ] {
        let scope = EndScope::One(row.id);
        s.sessions
            .end(owner, scope, EndReason::Logout, at)
            .await
            .unwrap();
    }

    let deleted = s.sessions.delete_ended(cutoff, IDLE).await.unwrap();

    assert_eq!(deleted, 4);
    let mut kept = Vec::new();
    for first in &tokens {
        kept.push(s.sessions.find_by_token(first).await.unwrap().map(|s| s.id));
    }
    let expected = [
        None,
        Some(recently_revoked.id),
        None,
        None,
        Some(idle_but_recent.id),
        Some(live.id),
        None,
    ];
    assert_eq!(kept, expected);
    assert_eq!(s.sessions.delete_ended(cutoff, IDLE).await.unwrap(), 0);
}
