//! Contract of `UserRepository`: email-key uniqueness, the last-superuser guard, what an
//! update does to sessions and reset tokens, compare-and-set re-hashing, cascading
//! deletes, and the shared list order.

use gatehouse_domain::ports::{Redemption, UserWriteError};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{
    Email, EmailKey, EndReason, Item, NewPassword, Page, Session, SessionEnd, SessionId, User,
    UserId, UserPatch,
};
use gatehouse_tests::emails::case_variant;
use time::Duration;
use uuid::Uuid;

use super::backend::Stores;
use super::fixtures::{T0, hash, item, login, store, stored_session, superuser, token, user};
use super::listing::{assert_pages, insertion_order, listing_order};

pub async fn insert_then_get_returns_the_user_as_stored(s: Stores) {
    let full = user("Ada.Lovelace@Example.com");
    let sparse = User {
        full_name: None,
        created_at: None,
        is_active: false,
        ..user("legacy@example.com")
    };
    s.users.insert(&full).await.unwrap();
    s.users.insert(&sparse).await.unwrap();

    assert_eq!(s.users.get(full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(s.users.get(sparse.id).await.unwrap(), Some(sparse));
    assert_eq!(
        full.email.as_str(),
        "Ada.Lovelace@example.com",
        "the local part is kept as given"
    );
}

pub async fn get_of_an_unknown_id_is_none(s: Stores) {
    store(&s, user("someone@example.com")).await;

    assert_eq!(s.users.get(UserId::random()).await.unwrap(), None);
}

pub async fn find_by_email_matches_any_case_of_the_address(s: Stores) {
    let alice = store(&s, user("Alice.Smith@example.com")).await;
    let unicode = store(&s, user("Ünïcode@Exämple.com")).await;

    let found = s
        .users
        .find_by_email(&EmailKey::of("  ALICE.SMITH@EXAMPLE.COM "))
        .await
        .unwrap();
    assert_eq!(found, Some(alice));
    let found = s
        .users
        .find_by_email(&EmailKey::of("üNÏCODE@EXÄMPLE.COM"))
        .await
        .unwrap();
    assert_eq!(found, Some(unicode), "case folding is not ASCII-only");
    let missing = s
        .users
        .find_by_email(&EmailKey::of("bob@example.com"))
        .await;
    assert_eq!(missing.unwrap(), None);
}

pub async fn insert_refuses_a_case_variant_of_a_taken_email(s: Stores) {
    store(&s, user("alice@example.com")).await;

    let variant = user("ALICE@Example.com");
    let refused = s.users.insert(&variant).await;

    assert!(
        matches!(refused, Err(UserWriteError::EmailTaken)),
        "{refused:?}"
    );
    assert_eq!(s.users.get(variant.id).await.unwrap(), None);
}

pub async fn concurrent_inserts_of_case_variants_admit_exactly_one(s: Stores) {
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let users = s.users.clone();
            let candidate = user(&case_variant("concurrency", n));
            tokio::spawn(async move { users.insert(&candidate).await })
        })
        .collect();

    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => admitted += 1,
            Err(UserWriteError::EmailTaken) => {}
            Err(other) => panic!("a losing insert must be EmailTaken, got {other:?}"),
        }
    }
    assert_eq!(admitted, 1);
    let (_, count) = list_ids(&s, Page::default()).await;
    assert_eq!(count, 1);
}

/// A patch demoting a superuser, and nothing else.
fn demote() -> UserPatch {
    UserPatch {
        is_superuser: Some(false),
        ..UserPatch::default()
    }
}

/// A patch deactivating an account, and nothing else.
fn deactivate() -> UserPatch {
    UserPatch {
        is_active: Some(false),
        ..UserPatch::default()
    }
}

/// A patch clearing the name, and nothing else.
fn clear_name() -> UserPatch {
    UserPatch {
        full_name: Some(None),
        ..UserPatch::default()
    }
}

/// A patch setting only the password, outright (no compare-and-set).
fn set_password(new: &str) -> UserPatch {
    UserPatch {
        password: Some(NewPassword {
            hash: hash(new),
            replaces: None,
        }),
        ..UserPatch::default()
    }
}

pub async fn update_writes_every_field_of_the_patch(s: Stores) {
    let original = store(&s, user("before@example.com")).await;

    let patch = UserPatch {
        email: Some(Email::parse("after@example.com").unwrap()),
        is_active: Some(false),
        is_superuser: Some(true),
        full_name: Some(None),
        ..set_password("changed")
    };
    let written = s
        .users
        .update(original.id, &patch, SessionEnd::Keep, T0)
        .await
        .unwrap();

    let changed = User {
        email: Email::parse("after@example.com").unwrap(),
        is_active: false,
        is_superuser: true,
        full_name: None,
        hashed_password: hash("changed"),
        ..original.clone()
    };
    assert_eq!(written, changed);
    assert_eq!(s.users.get(original.id).await.unwrap(), Some(changed));
    let by_old = s.users.find_by_email(&original.email.key()).await;
    assert_eq!(by_old.unwrap(), None);
}

pub async fn update_leaves_every_column_outside_the_patch_as_it_is_now(s: Stores) {
    let original = store(&s, superuser("admin@example.com")).await;
    store(&s, superuser("other@example.com")).await;
    let changed = s
        .users
        .update(original.id, &set_password("changed"), SessionEnd::Keep, T0)
        .await
        .unwrap();
    s.users
        .update(original.id, &demote(), SessionEnd::Keep, T0)
        .await
        .unwrap();

    let written = s
        .users
        .update(original.id, &clear_name(), SessionEnd::Keep, T0)
        .await
        .unwrap();

    let expected = User {
        full_name: None,
        is_superuser: false,
        ..changed
    };
    assert_eq!(
        written, expected,
        "a name change restores neither hash nor role"
    );
    assert_eq!(s.users.get(original.id).await.unwrap(), Some(expected));
}

pub async fn a_compare_and_set_password_change_needs_the_hash_it_verified(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await;
    let verified = |stored: &str, new: &str| UserPatch {
        password: Some(NewPassword {
            hash: hash(new),
            replaces: Some(hash(stored)),
        }),
        ..UserPatch::default()
    };

    let lost = s
        .users
        .update(alice.id, &verified("stale", "lost"), SessionEnd::Keep, T0)
        .await;
    assert!(
        matches!(lost, Err(UserWriteError::PasswordChanged)),
        "{lost:?}"
    );
    assert_eq!(s.users.get(alice.id).await.unwrap(), Some(alice.clone()));
    let won = s
        .users
        .update(alice.id, &verified("original", "won"), SessionEnd::Keep, T0)
        .await
        .unwrap();
    assert_eq!(won.hashed_password, hash("won"));
}

pub async fn update_of_an_unknown_user_is_not_found(s: Stores) {
    let ghost = user("ghost@example.com");

    let refused = s
        .users
        .update(ghost.id, &set_password("x"), SessionEnd::Keep, T0)
        .await;

    assert!(
        matches!(refused, Err(UserWriteError::NotFound)),
        "{refused:?}"
    );
    assert_eq!(s.users.get(ghost.id).await.unwrap(), None);
}

pub async fn update_refuses_an_email_held_by_another_user(s: Stores) {
    store(&s, user("alice@example.com")).await;
    let bob = store(&s, user("bob@example.com")).await;

    let taking = UserPatch {
        email: Some(Email::parse("Alice@EXAMPLE.com").unwrap()),
        full_name: Some(None),
        ..UserPatch::default()
    };
    let refused = s.users.update(bob.id, &taking, SessionEnd::Keep, T0).await;

    assert!(
        matches!(refused, Err(UserWriteError::EmailTaken)),
        "{refused:?}"
    );
    assert_eq!(s.users.get(bob.id).await.unwrap(), Some(bob));
}

pub async fn update_may_change_the_case_of_the_users_own_email(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await;

    let recased = UserPatch {
        email: Some(Email::parse("ALICE@example.com").unwrap()),
        ..UserPatch::default()
    };
    let written = s
        .users
        .update(alice.id, &recased, SessionEnd::Keep, T0)
        .await
        .unwrap();

    assert_eq!(written.email.as_str(), "ALICE@example.com");
    assert_eq!(s.users.get(alice.id).await.unwrap(), Some(written));
}

pub async fn update_refuses_to_demote_the_last_active_superuser(s: Stores) {
    let admin = store(&s, superuser("admin@example.com")).await;
    store(
        &s,
        User {
            is_active: false,
            ..superuser("retired@example.com")
        },
    )
    .await;
    let (session, _) = login(&s, admin.id, T0).await;

    for demoted in [demote(), deactivate()] {
        let ending = SessionEnd::All(EndReason::UserDisabled);
        let refused = s.users.update(admin.id, &demoted, ending, T0).await;

        assert!(
            matches!(refused, Err(UserWriteError::LastActiveSuperuser)),
            "{refused:?}"
        );
        assert_eq!(s.users.get(admin.id).await.unwrap(), Some(admin.clone()));
        let kept = stored_session(&s, admin.id, session.id).await;
        assert_eq!(kept.revoked_at, None, "a refused update ends no session");
    }
}

pub async fn update_may_demote_a_superuser_while_another_active_one_remains(s: Stores) {
    let first = store(&s, superuser("first@example.com")).await;
    let second = store(&s, superuser("second@example.com")).await;

    let demoted = s
        .users
        .update(first.id, &demote(), SessionEnd::Keep, T0)
        .await
        .unwrap();
    let refused = s
        .users
        .update(second.id, &deactivate(), SessionEnd::Keep, T0)
        .await;

    assert_eq!(
        demoted,
        User {
            is_superuser: false,
            ..first
        }
    );
    assert_eq!(s.users.get(demoted.id).await.unwrap(), Some(demoted));
    assert!(
        matches!(refused, Err(UserWriteError::LastActiveSuperuser)),
        "{refused:?}"
    );
    assert_eq!(s.users.get(second.id).await.unwrap(), Some(second));
}

pub async fn the_superuser_guard_ignores_updates_that_demote_no_active_superuser(s: Stores) {
    let plain = store(&s, user("plain@example.com")).await;
    let dormant = store(
        &s,
        User {
            is_active: false,
            ..superuser("dormant@example.com")
        },
    )
    .await;

    let renamed = s
        .users
        .update(plain.id, &clear_name(), SessionEnd::Keep, T0)
        .await
        .unwrap();
    let dormant_demoted = s
        .users
        .update(dormant.id, &demote(), SessionEnd::Keep, T0)
        .await
        .unwrap();

    assert_eq!(
        renamed,
        User {
            full_name: None,
            ..plain
        }
    );
    assert_eq!(s.users.get(renamed.id).await.unwrap(), Some(renamed));
    assert!(!dormant_demoted.is_superuser);
    let stored = s.users.get(dormant_demoted.id).await.unwrap();
    assert_eq!(stored, Some(dormant_demoted));
}

/// Two users with two sessions each; updates `alice` (unchanged) with `ending` and
/// returns, per session, whether it is still unrevoked and its reason otherwise.
async fn sessions_after_update(
    s: &Stores,
    ending: impl FnOnce(&[SessionId]) -> SessionEnd,
) -> Vec<(bool, Option<EndReason>)> {
    let alice = store(s, user("alice@example.com")).await;
    let bob = store(s, user("bob@example.com")).await;
    let mut opened = Vec::new();
    for owner in [alice.id, alice.id, bob.id, bob.id] {
        opened.push((owner, login(s, owner, T0).await.0.id));
    }
    let alices: Vec<_> = opened.iter().take(2).map(|(_, id)| *id).collect();

    s.users
        .update(alice.id, &UserPatch::default(), ending(&alices), T0)
        .await
        .unwrap();

    let mut states = Vec::new();
    for (owner, id) in opened {
        let session = stored_session(s, owner, id).await;
        states.push((session.revoked_at.is_none(), session.revoked_reason));
    }
    states
}

pub async fn update_ending_all_sessions_revokes_every_session_of_that_user_only(s: Stores) {
    let states = sessions_after_update(&s, |_| SessionEnd::All(EndReason::UserDisabled)).await;

    let ended = (false, Some(EndReason::UserDisabled));
    assert_eq!(states, [ended, ended, (true, None), (true, None)]);
}

pub async fn update_ending_all_but_one_session_keeps_that_session(s: Stores) {
    let states = sessions_after_update(&s, |alices| {
        SessionEnd::AllExcept(alices[0], EndReason::PasswordChange)
    })
    .await;

    let ended = (false, Some(EndReason::PasswordChange));
    assert_eq!(states, [(true, None), ended, (true, None), (true, None)]);
}

pub async fn update_stamps_the_sessions_it_ends_with_the_time_it_is_given(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await;
    let (session, _) = login(&s, alice.id, T0).await;
    let later = T0 + time::Duration::hours(5);

    let ending = SessionEnd::All(EndReason::UserDisabled);
    s.users
        .update(alice.id, &UserPatch::default(), ending, later)
        .await
        .unwrap();

    let ended = stored_session(&s, alice.id, session.id).await;
    assert_eq!(ended.revoked_at, Some(later));
}

pub async fn update_keeping_sessions_leaves_them_alive(s: Stores) {
    let states = sessions_after_update(&s, |_| SessionEnd::Keep).await;

    assert_eq!(states, [(true, None); 4]);
}

/// Issues a reset token to a stored user, updates the user with `patch`, and tells what the
/// token checks as afterwards, with the user's id.
async fn reset_token_after_update(s: &Stores, patch: UserPatch) -> (Redemption, UserId) {
    let alice = store(s, user("alice@example.com")).await;
    let reset = token();
    let expires = T0 + Duration::hours(1);
    s.reset_tokens
        .issue(alice.id, &reset, T0, expires)
        .await
        .unwrap();

    s.users
        .update(alice.id, &patch, SessionEnd::Keep, T0)
        .await
        .unwrap();

    (s.reset_tokens.check(&reset, T0).await.unwrap(), alice.id)
}

pub async fn update_that_changes_the_password_hash_voids_reset_tokens(s: Stores) {
    let (after, _) = reset_token_after_update(&s, set_password("changed")).await;

    assert_eq!(after, Redemption::Invalid);
}

pub async fn update_that_keeps_the_password_hash_keeps_reset_tokens(s: Stores) {
    let (after, id) = reset_token_after_update(&s, clear_name()).await;

    assert_eq!(after, Redemption::Done(id));
}

pub async fn upgrade_hash_replaces_the_hash_only_while_it_is_unchanged(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await;

    s.users
        .upgrade_hash(alice.id, &hash("stale"), &hash("lost-race"))
        .await
        .unwrap();
    let unchanged = s.users.get(alice.id).await.unwrap().unwrap();
    s.users
        .upgrade_hash(alice.id, &hash("original"), &hash("upgraded"))
        .await
        .unwrap();
    let upgraded = s.users.get(alice.id).await.unwrap().unwrap();
    s.users
        .upgrade_hash(UserId::random(), &hash("original"), &hash("upgraded"))
        .await
        .unwrap();

    assert_eq!(unchanged.hashed_password, hash("original"));
    assert_eq!(
        upgraded,
        User {
            hashed_password: hash("upgraded"),
            ..alice
        }
    );
}

/// Everything a user can own, stored.
struct Account {
    user: User,
    item: Item,
    session: Session,
    refresh: TokenHash,
    reset: TokenHash,
}

async fn account(s: &Stores, email: &str) -> Account {
    let user = store(s, user(email)).await;
    let item = item(user.id);
    s.items.insert(&item).await.unwrap();
    let (session, refresh) = login(s, user.id, T0).await;
    let reset = token();
    let expires = T0 + Duration::hours(1);
    s.reset_tokens
        .issue(user.id, &reset, T0, expires)
        .await
        .unwrap();
    Account {
        user,
        item,
        session,
        refresh,
        reset,
    }
}

pub async fn delete_removes_the_user_with_items_sessions_and_tokens(s: Stores) {
    let gone = account(&s, "alice@example.com").await;
    let kept = account(&s, "bob@example.com").await;

    s.users.delete(gone.user.id).await.unwrap();

    assert_eq!(s.users.get(gone.user.id).await.unwrap(), None);
    let by_email = s.users.find_by_email(&gone.user.email.key()).await;
    assert_eq!(by_email.unwrap(), None);
    assert_eq!(s.items.get(gone.item.id).await.unwrap(), None);
    assert_eq!(s.sessions.find_by_token(&gone.refresh).await.unwrap(), None);
    let principal = s.sessions.load_principal(gone.user.id, gone.session.id);
    assert_eq!(principal.await.unwrap(), None);
    let reset = s.reset_tokens.check(&gone.reset, T0).await.unwrap();
    assert_eq!(reset, Redemption::Invalid);

    assert_eq!(
        s.users.get(kept.user.id).await.unwrap(),
        Some(kept.user.clone())
    );
    assert_eq!(s.items.get(kept.item.id).await.unwrap(), Some(kept.item));
    let session = s.sessions.find_by_token(&kept.refresh).await.unwrap();
    assert_eq!(session, Some(kept.session));
    let reset = s.reset_tokens.check(&kept.reset, T0).await.unwrap();
    assert_eq!(reset, Redemption::Done(kept.user.id));
}

pub async fn delete_frees_the_email_for_a_new_account(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await;

    s.users.delete(alice.id).await.unwrap();

    store(&s, user("ALICE@example.com")).await;
}

pub async fn delete_of_an_unknown_user_is_not_found(s: Stores) {
    let alice = store(&s, user("alice@example.com")).await;

    let unknown = s.users.delete(UserId::random()).await;
    assert!(
        matches!(unknown, Err(UserWriteError::NotFound)),
        "{unknown:?}"
    );
    s.users.delete(alice.id).await.unwrap();
    let again = s.users.delete(alice.id).await;
    assert!(matches!(again, Err(UserWriteError::NotFound)), "{again:?}");
}

pub async fn delete_refuses_the_last_active_superuser(s: Stores) {
    let admin = store(&s, superuser("admin@example.com")).await;
    let other = store(&s, superuser("other@example.com")).await;
    store(
        &s,
        User {
            is_active: false,
            ..superuser("retired@example.com")
        },
    )
    .await;

    s.users.delete(other.id).await.unwrap();
    let refused = s.users.delete(admin.id).await;

    assert!(
        matches!(refused, Err(UserWriteError::LastActiveSuperuser)),
        "{refused:?}"
    );
    assert_eq!(s.users.get(admin.id).await.unwrap(), Some(admin));
}

/// Stores one user per row of [`insertion_order`], with the row's id and creation time.
async fn store_listing_rows(s: &Stores) {
    for (n, (id, created_at)) in insertion_order().into_iter().enumerate() {
        let row = User {
            id: UserId::from_uuid(id),
            created_at,
            ..user(&format!("user{n}@example.com"))
        };
        store(s, row).await;
    }
}

/// The ids of the listed page and the count.
async fn list_ids(s: &Stores, page: Page) -> (Vec<Uuid>, u64) {
    let listed = s.users.list(page).await.unwrap();
    let ids = listed.data.iter().map(|u| u.id.as_uuid()).collect();
    (ids, listed.count)
}

pub async fn list_orders_newest_first_with_missing_dates_first_and_ties_by_id(s: Stores) {
    store_listing_rows(&s).await;

    let (ids, _) = list_ids(&s, Page::default()).await;

    let expected: Vec<_> = listing_order().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, expected);
}

pub async fn list_pages_while_counting_every_user(s: Stores) {
    store_listing_rows(&s).await;
    let expected: Vec<_> = listing_order().into_iter().map(|(id, _)| id).collect();

    assert_pages(&expected, |page| list_ids(&s, page)).await;
}
