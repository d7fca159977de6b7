//! The session routes' recurring answers as assertions (SECURITY.md's shorthand: 401-RT,
//! 403-CV, 401-NA), token-pair helpers, the golden steps' Dave, and the SQL view of a
//! refresh-token family, shared by the session, token and replica tests.

pub use gatehouse_tests::app::Pair;
use gatehouse_tests::app::{Account, Backend, TestApp, send, status_json};
use reqwest::{Response, StatusCode};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// `POST /auth/logout`.
pub const LOGOUT: &str = "/api/v1/auth/logout";

/// A fresh app on `backend` where Dave has signed up: where the golden sequence's steps 9
/// and 10 (CONTRACT.md §12) start.
pub async fn app_with_dave(backend: Backend) -> (TestApp, Account) {
    let app = TestApp::spawn(backend).await;
    let dave = Account {
        email: "dave@example.com".into(),
        password: "dave-password-1".into(),
    };
    assert_eq!(
        app.signup(&dave.email, &dave.password).await.status(),
        StatusCode::OK
    );
    (app, dave)
}

/// Logs `account` in through route 1.
pub async fn log_in(app: &TestApp, account: &Account) -> Pair {
    app.tokens(&account.email, &account.password).await
}

/// Refreshes `refresh`, failing the test unless it is 200.
pub async fn rotate(app: &TestApp, refresh: &str) -> Pair {
    Pair::from_response(app.refresh(refresh).await).await
}

/// 401 `Invalid refresh token` (D6).
pub async fn assert_invalid_refresh(response: Response) {
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Invalid refresh token"})
        )
    );
}

/// 403 `Could not validate credentials` with `WWW-Authenticate: Bearer error="invalid_token"`
/// (CONTRACT.md §3.1 rows 2 and 5).
pub async fn assert_credentials_rejected(response: Response) {
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer error=\"invalid_token\""),
        "status {}",
        response.status()
    );
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Could not validate credentials"})
        )
    );
}

/// 401 `Not authenticated` with `WWW-Authenticate: Bearer` (row 1).
pub async fn assert_not_authenticated(response: Response) {
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer"),
    );
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Not authenticated"})
        )
    );
}

/// Asserts that `pair`'s session is over: its refresh token 401-RT, its access token 403-CV.
pub async fn assert_session_ended(app: &TestApp, pair: &Pair) {
    assert_invalid_refresh(app.refresh(&pair.refresh).await).await;
    assert_credentials_rejected(app.me(&pair.access).await).await;
}

/// Asserts that `pair`'s access token still works (without spending its refresh token).
pub async fn assert_access_works(app: &TestApp, pair: &Pair) {
    let response = app.me(&pair.access).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// `POST /auth/logout` with an optional bearer token, scope and body refresh token.
pub async fn logout(
    app: &TestApp,
    bearer: Option<&str>,
    scope: Option<&str>,
    refresh: Option<&str>,
) -> (StatusCode, Value) {
    let path = match scope {
        Some(scope) => format!("{LOGOUT}?scope={scope}"),
        None => LOGOUT.to_owned(),
    };
    let mut request = app.post(&path);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(refresh) = refresh {
        request = request.json(&json!({ "refresh_token": refresh }));
    }
    send(request).await
}

/// The logout answer, always the same (D6).
pub fn logged_out() -> (StatusCode, Value) {
    (StatusCode::OK, json!({"message": "Logged out"}))
}

/// One stored refresh token, as the SQL adapter keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub id: Uuid,
    pub session_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub replaced_by_id: Option<Uuid>,
    pub used: bool,
}

/// The row of the refresh token `raw`, found by its SHA-256 as the store keeps it (RT-02).
pub async fn stored_token(db: &DatabaseConnection, raw: &str) -> Option<StoredToken> {
    let hash = Sha256::digest(raw.as_bytes()).to_vec();
    let mut query = Query::select();
    query
        .exprs([
            Expr::col("id"),
            Expr::col("session_id"),
            Expr::col("parent_id"),
            Expr::col("replaced_by_id"),
        ])
        .expr_as(Expr::col("used_at").is_not_null(), Alias::new("used"))
        .from("gatehouse_refresh_token")
        .and_where(Expr::col("token_hash").eq(hash));
    let row = db.query_one(&query).await.expect("token query")?;
    Some(StoredToken {
        id: row.try_get("", "id").unwrap(),
        session_id: row.try_get("", "session_id").unwrap(),
        parent_id: row.try_get("", "parent_id").unwrap(),
        replaced_by_id: row.try_get("", "replaced_by_id").unwrap(),
        used: row.try_get("", "used").unwrap(),
    })
}

/// How many refresh tokens name `parent` as theirs.
pub async fn children_of(db: &DatabaseConnection, parent: Uuid) -> i64 {
    let mut query = Query::select();
    query
        .expr_as(
            Expr::col(sea_orm::sea_query::Asterisk).count(),
            Alias::new("n"),
        )
        .from("gatehouse_refresh_token")
        .and_where(Expr::col("parent_id").eq(parent));
    db.query_one(&query)
        .await
        .expect("count query")
        .expect("a count row")
        .try_get("", "n")
        .unwrap()
}

/// The stored `revoked_reason` of session `id`; `None` while it is live.
pub async fn revoked_reason(db: &DatabaseConnection, id: Uuid) -> Option<String> {
    let mut query = Query::select();
    query
        .column("revoked_reason")
        .from("gatehouse_session")
        .and_where(Expr::col("id").eq(id));
    db.query_one(&query)
        .await
        .expect("session query")
        .expect("the session row")
        .try_get("", "revoked_reason")
        .unwrap()
}
