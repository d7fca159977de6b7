//! Tests of the SQL adapter and the migrations that only a real database can answer:
//! schema shape and reversibility, concurrency, atomicity under injected failures,
//! engine differences (ordering, timestamps), TLS and the pooler guard. Each test runs on
//! every engine available (SQLite always, PostgreSQL with `TEST_DATABASE_URL`) unless it
//! is about PostgreSQL alone.

mod atomicity;
mod coexistence;
mod concurrency;
mod connection;
mod migrations;
mod roles;
mod storage;

use gatehouse_domain::ports::Rotation;
use gatehouse_domain::session::TokenHash;
use gatehouse_domain::{
    Email, Item, ItemId, ItemTitle, PasswordHash, Session, SessionId, User, UserId,
};
use gatehouse_sql::SqlStore;
use gatehouse_tests::stores::UNCAPPED;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The start of every test's timeline; whole seconds are stored exactly everywhere.
const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// An active, ordinary user.
fn user(email: &str) -> User {
    User {
        id: UserId::random(),
        email: Email::parse(email).expect("valid fixture email"),
        is_active: true,
        is_superuser: false,
        full_name: None,
        hashed_password: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
        created_at: Some(T0),
    }
}

/// An item of `owner` created at `at`.
fn item(owner: UserId, at: Option<OffsetDateTime>) -> Item {
    Item {
        id: ItemId::random(),
        title: ItemTitle::new("Notebook").expect("valid title"),
        description: None,
        owner_id: owner,
        created_at: at,
    }
}

/// A live session of `user` opened at `T0`.
fn session(user: UserId) -> Session {
    Session {
        id: SessionId::random(),
        user_id: user,
        created_at: T0,
        last_used_at: T0,
        not_after: T0 + Duration::days(30),
        revoked_at: None,
        revoked_reason: None,
        user_agent: Some("sql-test/1.0".to_owned()),
        ip: Some("203.0.113.9".to_owned()),
    }
}

/// A user stored with one live session: where the session, rotation and reset tests start.
struct SignedIn {
    user: User,
    session: Session,
    /// The hash of the session's refresh token.
    refresh: TokenHash,
}

/// Stores the user of `email` and opens one [`session`] for them with a fresh token.
async fn signed_in(store: &SqlStore, email: &str) -> SignedIn {
    let user = user(email);
    store.users().insert(&user).await.expect("user");
    let (session, refresh) = (session(user.id), token());
    store
        .sessions()
        .create(&session, &refresh, UNCAPPED)
        .await
        .expect("session");
    SignedIn {
        user,
        session,
        refresh,
    }
}

/// A rotation of `presented` to a fresh successor one minute after `T0`, treating repeats
/// within `grace` as benign.
fn rotation(presented: TokenHash, grace: Duration) -> Rotation {
    Rotation {
        presented,
        successor: token(),
        now: T0 + Duration::minutes(1),
        grace,
        idle_timeout: Duration::days(7),
    }
}

/// Issues a reset token for `user` that expires an hour after `T0`; returns its hash.
async fn issue_reset(store: &SqlStore, user: UserId) -> TokenHash {
    let reset = token();
    store
        .reset_tokens()
        .issue(user, &reset, T0, T0 + Duration::hours(1))
        .await
        .expect("reset token");
    reset
}

/// A password hash other than [`user`]'s, for password changes and resets.
fn new_password_hash() -> PasswordHash {
    PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3")
}

/// A fresh random token hash.
fn token() -> TokenHash {
    let mut bytes = [0; 32];
    bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    TokenHash(bytes)
}

/// How many rows of `table` match `column = value` (all rows without a filter).
async fn count_rows(
    conn: &DatabaseConnection,
    table: &'static str,
    filter: Option<(&'static str, sea_orm::Value)>,
) -> i64 {
    let mut query = Query::select();
    query
        .expr_as(
            Expr::col(sea_orm::sea_query::Asterisk).count(),
            Alias::new("n"),
        )
        .from(table);
    if let Some((column, value)) = filter {
        query.and_where(Expr::col(column).eq(value));
    }
    conn.query_one(&query)
        .await
        .expect("count rows")
        .expect("a count row")
        .try_get("", "n")
        .expect("an integer count")
}
