//! Contract of `ResetTokenStore` (SECURITY.md RT-13): one live token per user, expiry,
//! single use, inactive users, and a redemption that sets the password and ends sessions.

use gatehouse_domain::ports::{OwnedWriteError, Redemption};
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{EndReason, User, UserId};
use time::{Duration, OffsetDateTime};

use super::backend::Stores;
use super::fixtures::{T0, hash, login, store, stored_session, token, user};

/// When tokens issued by [`issued`] expire.
const EXPIRES: OffsetDateTime = T0.saturating_add(Duration::HOUR);

/// A stored user holding a fresh reset token that expires at [`EXPIRES`].
async fn issued(s: &Stores, user: User) -> (User, TokenHash) {
    let user = store(s, user).await;
    let reset = token();
    s.reset_tokens
        .issue(user.id, &reset, T0, EXPIRES)
        .await
        .unwrap();
    (user, reset)
}

pub async fn an_issued_token_checks_as_valid_for_its_user_without_being_used(s: Stores) {
    let (alice, reset) = issued(&s, user("alice@example.com")).await;

    let first = s.reset_tokens.check(&reset, T0).await.unwrap();
    let second = s.reset_tokens.check(&reset, T0).await.unwrap();

    assert_eq!(
        (first, second),
        (Redemption::Done(alice.id), Redemption::Done(alice.id))
    );
    assert_eq!(s.users.get(alice.id).await.unwrap(), Some(alice));
}

pub async fn an_unknown_token_is_invalid(s: Stores) {
    issued(&s, user("alice@example.com")).await;

    let checked = s.reset_tokens.check(&token(), T0).await.unwrap();
    let redeemed = s.reset_tokens.redeem(&token(), &hash("new"), T0).await;

    assert_eq!(
        (checked, redeemed.unwrap()),
        (Redemption::Invalid, Redemption::Invalid)
    );
}

pub async fn a_token_stops_working_at_its_expiry_time(s: Stores) {
    let (alice, reset) = issued(&s, user("alice@example.com")).await;
    let just_before = EXPIRES - Duration::SECOND;

    let before = s.reset_tokens.check(&reset, just_before).await.unwrap();
    let at_expiry = s.reset_tokens.check(&reset, EXPIRES).await.unwrap();
    let redeemed = s.reset_tokens.redeem(&reset, &hash("new"), EXPIRES).await;

    assert_eq!(before, Redemption::Done(alice.id));
    assert_eq!(
        (at_expiry, redeemed.unwrap()),
        (Redemption::Invalid, Redemption::Invalid)
    );
    assert_eq!(s.users.get(alice.id).await.unwrap(), Some(alice));
}

pub async fn a_newer_token_voids_the_older_one_of_the_same_user_only(s: Stores) {
    let (alice, older) = issued(&s, user("alice@example.com")).await;
    let (bob, bobs) = issued(&s, user("bob@example.com")).await;
    let newer = token();

    s.reset_tokens
        .issue(alice.id, &newer, T0, EXPIRES)
        .await
        .unwrap();

    let check = |t| s.reset_tokens.check(t, T0);
    assert_eq!(check(&older).await.unwrap(), Redemption::Invalid);
    assert_eq!(check(&newer).await.unwrap(), Redemption::Done(alice.id));
    assert_eq!(check(&bobs).await.unwrap(), Redemption::Done(bob.id));
}

pub async fn issuing_for_a_missing_user_is_owner_gone(s: Stores) {
    let reset = token();

    let refused = s
        .reset_tokens
        .issue(UserId::random(), &reset, T0, EXPIRES)
        .await;

    assert!(
        matches!(refused, Err(OwnedWriteError::OwnerGone)),
        "{refused:?}"
    );
    assert_eq!(
        s.reset_tokens.check(&reset, T0).await.unwrap(),
        Redemption::Invalid
    );
}

pub async fn redeem_sets_the_password_consumes_the_token_and_ends_every_session(s: Stores) {
    let (alice, reset) = issued(&s, user("alice@example.com")).await;
    let (bob, bobs) = issued(&s, user("bob@example.com")).await;
    let (first, _) = login(&s, alice.id, T0).await;
    let (second, _) = login(&s, alice.id, T0).await;
    let (unrelated, _) = login(&s, bob.id, T0).await;
    let at = T0 + Duration::minutes(5);

    let redeemed = s.reset_tokens.redeem(&reset, &hash("new"), at).await;

    assert_eq!(redeemed.unwrap(), Redemption::Done(alice.id));
    let changed = User {
        hashed_password: hash("new"),
        ..alice.clone()
    };
    assert_eq!(s.users.get(alice.id).await.unwrap(), Some(changed));
    for session in [first, second] {
        let stored = stored_session(&s, alice.id, session.id).await;
        assert_eq!(stored.revoked_at, Some(at));
        assert_eq!(stored.revoked_reason, Some(EndReason::PasswordReset));
    }
    let again = s.reset_tokens.redeem(&reset, &hash("again"), at).await;
    assert_eq!(again.unwrap(), Redemption::Invalid, "single use");
    assert_eq!(
        s.reset_tokens.check(&reset, at).await.unwrap(),
        Redemption::Invalid
    );
    let stored = s.users.get(alice.id).await.unwrap().unwrap();
    assert_eq!(stored.hashed_password, hash("new"));

    let untouched = stored_session(&s, bob.id, unrelated.id).await;
    assert_eq!(untouched, unrelated);
    assert_eq!(
        s.reset_tokens.check(&bobs, at).await.unwrap(),
        Redemption::Done(bob.id)
    );
}

pub async fn a_token_of_an_inactive_user_is_refused_and_changes_nothing(s: Stores) {
    let inactive = User {
        is_active: false,
        ..user("dormant@example.com")
    };
    let (dormant, reset) = issued(&s, inactive).await;
    let (session, _) = login(&s, dormant.id, T0).await;

    let checked = s.reset_tokens.check(&reset, T0).await.unwrap();
    let redeemed = s.reset_tokens.redeem(&reset, &hash("new"), T0).await;

    assert_eq!(
        (checked, redeemed.unwrap()),
        (Redemption::Inactive, Redemption::Inactive)
    );
    assert_eq!(
        s.users.get(dormant.id).await.unwrap(),
        Some(dormant.clone())
    );
    assert_eq!(stored_session(&s, dormant.id, session.id).await, session);
    let still = s.reset_tokens.check(&reset, T0).await.unwrap();
    assert_eq!(still, Redemption::Inactive, "the token was not consumed");
}
