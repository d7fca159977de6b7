//! At least one active superuser remains (CONTRACT.md §9j), and nobody deletes themselves.

use gatehouse_application::{AdminUserError, UserChanges};

use crate::harness::Harness;

#[tokio::test]
async fn the_last_active_superuser_can_be_neither_demoted_nor_deactivated() {
    let h = Harness::new();
    let root = h.account("root@example.com", true).await;
    let me = h.logged_in("root@example.com").await;
    let admin = me.as_superuser().expect("a superuser");
    for changes in [
        UserChanges {
            is_superuser: Some(false),
            ..Default::default()
        },
        UserChanges {
            is_active: Some(false),
            ..Default::default()
        },
    ] {
        assert!(matches!(
            h.app.update_user(&admin, root.id, changes).await,
            Err(AdminUserError::LastActiveSuperuser)
        ));
    }
}

#[tokio::test]
async fn with_a_second_active_superuser_one_may_be_demoted() {
    let h = Harness::new();
    h.account("root@example.com", true).await;
    let other = h.account("other@example.com", true).await;
    let me = h.logged_in("root@example.com").await;
    let admin = me.as_superuser().expect("a superuser");
    let demoted = h
        .app
        .update_user(
            &admin,
            other.id,
            UserChanges {
                is_superuser: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("demote");
    assert!(!demoted.is_superuser);
}

#[tokio::test]
async fn a_superuser_cannot_delete_their_own_account() {
    let h = Harness::new();
    let root = h.account("root@example.com", true).await;
    h.account("other@example.com", true).await;
    let me = h.logged_in("root@example.com").await;
    let admin = me.as_superuser().expect("a superuser");
    assert!(matches!(
        h.app.delete_user(&admin, root.id).await,
        Err(AdminUserError::DeleteSelf)
    ));
}

#[tokio::test]
async fn deactivating_a_user_ends_their_sessions_and_their_logins() {
    let h = Harness::new();
    h.account("root@example.com", true).await;
    let alice = h.account("alice@example.com", false).await;
    let session = h.login("alice@example.com").await;
    let me = h.logged_in("root@example.com").await;
    let admin = me.as_superuser().expect("a superuser");
    h.app
        .update_user(
            &admin,
            alice.id,
            UserChanges {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("deactivate");
    assert!(h.principal(&session).await.is_none());
    assert!(matches!(
        h.login_with("alice@example.com", crate::harness::PASSWORD)
            .await,
        Err(gatehouse_application::LoginError::Inactive)
    ));
}
