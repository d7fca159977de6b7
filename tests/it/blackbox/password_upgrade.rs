//! Transparent re-hashing on login (CONTRACT.md §8.3, SECURITY.md PW-04): a legacy bcrypt
//! hash from the template, or an argon2 hash weaker than configured, verifies and is replaced
//! by an argon2id hash with the configured parameters after a successful login — and only
//! then; a stronger stored hash is kept.

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use gatehouse_domain::{EmailKey, PasswordHash, User};
use gatehouse_tests::app::{Backend, TestApp};
use reqwest::StatusCode;

const PASSWORD: &str = "correct horse battery";
/// What the harness configures (its cheap parameters).
const CONFIGURED: &str = "$argon2id$v=19$m=64,t=1,p=1$";

/// A user whose stored hash is `stored`, written behind the API as an old database would hold it.
async fn user_with_hash(app: &TestApp, stored: &str) -> User {
    let (account, _) = app.new_user().await;
    let users = &app.app.ports().users;
    let user = users
        .find_by_email(&EmailKey::of(&account.email))
        .await
        .expect("store")
        .expect("the user");
    users
        .upgrade_hash(user.id, &user.hashed_password, &PasswordHash::new(stored))
        .await
        .expect("seeding the legacy hash");
    user
}

async fn stored_hash(app: &TestApp, user: &User) -> String {
    let user = app
        .app
        .ports()
        .users
        .get(user.id)
        .await
        .expect("store")
        .expect("the user");
    user.hashed_password.as_str().to_owned()
}

fn argon2_hash(algorithm: Algorithm, m: u32, t: u32, p: u32) -> String {
    Argon2::new(
        algorithm,
        Version::V0x13,
        Params::new(m, t, p, None).expect("params"),
    )
    .hash_password(PASSWORD.as_bytes())
    .expect("hash")
    .to_string()
}

async fn a_template_bcrypt_hash_is_replaced_by_argon2id_after_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bcrypt = bcrypt::hash(PASSWORD, 4).expect("bcrypt hash");
    assert!(bcrypt.starts_with("$2b$"));
    let user = user_with_hash(&app, &bcrypt).await;

    let wrong = app.login(user.email.as_str(), "not the password").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        stored_hash(&app, &user).await,
        bcrypt,
        "a failed login upgrades nothing"
    );

    assert_eq!(
        app.login(user.email.as_str(), PASSWORD).await.status(),
        StatusCode::OK
    );
    let upgraded = stored_hash(&app, &user).await;
    assert!(
        upgraded.starts_with(CONFIGURED),
        "stored after login: {upgraded}"
    );
    assert_eq!(
        app.login(user.email.as_str(), PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn a_weaker_argon2_hash_is_upgraded_and_a_stronger_one_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let weaker = argon2_hash(Algorithm::Argon2i, 64, 1, 1);
    let weak_user = user_with_hash(&app, &weaker).await;
    assert_eq!(
        app.login(weak_user.email.as_str(), PASSWORD).await.status(),
        StatusCode::OK
    );
    assert!(stored_hash(&app, &weak_user).await.starts_with(CONFIGURED));

    // The template's own parameters are stronger than the harness's: kept as they are.
    let template = argon2_hash(Algorithm::Argon2id, 65536, 3, 4);
    let strong_user = user_with_hash(&app, &template).await;
    assert_eq!(
        app.login(strong_user.email.as_str(), PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(stored_hash(&app, &strong_user).await, template);
}

on_every_backend!(
    a_template_bcrypt_hash_is_replaced_by_argon2id_after_login,
    a_weaker_argon2_hash_is_upgraded_and_a_stronger_one_kept,
);
