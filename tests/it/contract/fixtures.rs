//! Rows and values the contract tests share: a fixed timeline, users, items, sessions
//! and token hashes. Times are whole seconds so every backend stores them exactly.

use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{
    Email, FullName, Item, ItemDescription, ItemId, ItemTitle, PasswordHash, Session, SessionId,
    User, UserId,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use gatehouse_tests::stores::UNCAPPED;

use super::backend::Stores;

/// The start of every test's timeline.
pub const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
/// Inactivity timeout used by session tests (the configured default).
pub const IDLE: Duration = Duration::days(7);
/// Refresh grace window used by session tests (SECURITY.md D14 default).
pub const GRACE: Duration = Duration::seconds(10);

/// A stored-looking password hash; the stores never interpret it.
pub fn hash(tag: &str) -> PasswordHash {
    PasswordHash::new(format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ${tag}"))
}

/// An active, ordinary user with every optional field filled.
pub fn user(email: &str) -> User {
    User {
        id: UserId::random(),
        email: Email::parse(email).expect("fixture emails are valid"),
        is_active: true,
        is_superuser: false,
        full_name: Some(FullName::new("Ada Lovelace").expect("valid name")),
        hashed_password: hash("original"),
        created_at: Some(T0),
    }
}

/// An active superuser.
pub fn superuser(email: &str) -> User {
    User {
        is_superuser: true,
        ..user(email)
    }
}

/// Inserts `user` and hands it back.
pub async fn store(s: &Stores, user: User) -> User {
    s.users.insert(&user).await.expect("insert user");
    user
}

/// An item of `owner` with every optional field filled.
pub fn item(owner: UserId) -> Item {
    Item {
        id: ItemId::random(),
        title: ItemTitle::new("Notebook").expect("valid title"),
        description: Some(ItemDescription::new("Squared paper").expect("valid description")),
        owner_id: owner,
        created_at: Some(T0),
    }
}

/// A fresh random token hash.
pub fn token() -> TokenHash {
    let mut bytes = [0; 32];
    bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    TokenHash(bytes)
}

/// A session of `user` opened at `at`, living 30 days.
pub fn session(user: UserId, at: OffsetDateTime) -> Session {
    Session {
        id: SessionId::random(),
        user_id: user,
        created_at: at,
        last_used_at: at,
        not_after: at + Duration::days(30),
        revoked_at: None,
        revoked_reason: None,
        user_agent: Some("contract-test/1.0".to_owned()),
        ip: Some("203.0.113.9".to_owned()),
    }
}

/// Stores `session` with a fresh first refresh token and returns that token.
pub async fn open(s: &Stores, session: &Session) -> TokenHash {
    let first = token();
    s.sessions
        .create(session, &first, UNCAPPED)
        .await
        .expect("create session");
    first
}

/// Logs `user` in at `at`: a stored session and its first refresh token.
pub async fn login(s: &Stores, user: UserId, at: OffsetDateTime) -> (Session, TokenHash) {
    let session = session(user, at);
    let first = open(s, &session).await;
    (session, first)
}

/// The session `id` of `user` as stored now (revoked or not).
pub async fn stored_session(s: &Stores, user: UserId, id: SessionId) -> Session {
    let (_, session) = s
        .sessions
        .load_principal(user, id)
        .await
        .expect("load principal")
        .expect("user exists");
    session.expect("session exists")
}
