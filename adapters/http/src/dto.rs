//! The contract's schemas (CONTRACT.md §5.1, §10), named and ordered exactly as the
//! template's OpenAPI document has them. Response types convert from domain values;
//! request types exist for the document only — bodies are validated by `validation`.

use gatehouse_application::TokenPair;
use gatehouse_domain::{Item, Listing, Session, User};
use poem_openapi::Object;
use uuid::Uuid;

use crate::timestamp::Timestamp;

/// Login and refresh answer (a superset of the template's, §9b).
#[derive(Object)]
pub struct Token {
    pub access_token: String,
    #[oai(default = "bearer")]
    pub token_type: String,
    pub refresh_token: String,
    /// Lifetime of `access_token` in seconds.
    pub expires_in: i64,
}

fn bearer() -> String {
    "bearer".to_owned()
}

impl From<TokenPair> for Token {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access.token.expose().to_owned(),
            token_type: bearer(),
            refresh_token: pair.refresh.expose().to_owned(),
            expires_in: pair.access.expires_in.whole_seconds(),
        }
    }
}

/// `{"message": ...}`.
#[derive(Object)]
pub struct Message {
    pub message: String,
}

impl Message {
    /// A message answer.
    pub fn new(text: &str) -> Self {
        Self {
            message: text.to_owned(),
        }
    }
}

/// A user as shown to clients: never the hash (AZ-04).
#[derive(Object)]
pub struct UserPublic {
    pub email: String,
    #[oai(default = "yes")]
    pub is_active: bool,
    #[oai(default)]
    pub is_superuser: bool,
    #[oai(nullable)]
    pub full_name: Option<String>,
    pub id: Uuid,
    #[oai(nullable)]
    pub created_at: Option<Timestamp>,
}

fn yes() -> bool {
    true
}

impl From<&User> for UserPublic {
    fn from(u: &User) -> Self {
        Self {
            email: u.email.as_str().to_owned(),
            is_active: u.is_active,
            is_superuser: u.is_superuser,
            full_name: u.full_name.as_ref().map(|n| n.as_str().to_owned()),
            id: u.id.as_uuid(),
            created_at: u.created_at.map(Timestamp),
        }
    }
}

/// A page of users.
#[derive(Object)]
pub struct UsersPublic {
    pub data: Vec<UserPublic>,
    pub count: u64,
}

impl From<Listing<User>> for UsersPublic {
    fn from(l: Listing<User>) -> Self {
        Self {
            data: l.data.iter().map(UserPublic::from).collect(),
            count: l.count,
        }
    }
}

/// An item as shown to clients.
#[derive(Object)]
pub struct ItemPublic {
    pub title: String,
    #[oai(nullable)]
    pub description: Option<String>,
    pub id: Uuid,
    pub owner_id: Uuid,
    #[oai(nullable)]
    pub created_at: Option<Timestamp>,
}

impl From<&Item> for ItemPublic {
    fn from(i: &Item) -> Self {
        Self {
            title: i.title.as_str().to_owned(),
            description: i.description.as_ref().map(|d| d.as_str().to_owned()),
            id: i.id.as_uuid(),
            owner_id: i.owner_id.as_uuid(),
            created_at: i.created_at.map(Timestamp),
        }
    }
}

/// A page of items.
#[derive(Object)]
pub struct ItemsPublic {
    pub data: Vec<ItemPublic>,
    pub count: u64,
}

impl From<Listing<Item>> for ItemsPublic {
    fn from(l: Listing<Item>) -> Self {
        Self {
            data: l.data.iter().map(ItemPublic::from).collect(),
            count: l.count,
        }
    }
}

/// One of the caller's sessions (§10).
#[derive(Object)]
pub struct SessionPublic {
    pub id: Uuid,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    #[oai(nullable)]
    pub user_agent: Option<String>,
    #[oai(nullable)]
    pub ip: Option<String>,
    /// Whether this is the session of the presented token.
    pub current: bool,
}

impl SessionPublic {
    /// Renders a session, marking the caller's own.
    pub fn new(s: &Session, current: bool) -> Self {
        Self {
            id: s.id.as_uuid(),
            created_at: Timestamp(s.created_at),
            last_used_at: Timestamp(s.last_used_at),
            user_agent: s.user_agent.clone(),
            ip: s.ip.clone(),
            current,
        }
    }
}

/// The caller's live sessions.
#[derive(Object)]
pub struct SessionsPublic {
    pub data: Vec<SessionPublic>,
    pub count: u64,
}

/// Health probe answer.
#[derive(Object)]
pub struct HealthStatus {
    pub status: String,
}

// ----- request schemas (documentation only) -----

/// Route 7 body.
#[derive(Object)]
pub struct UserCreate {
    #[oai(validator(max_length = 255))]
    pub email: String,
    #[oai(default = "yes")]
    pub is_active: bool,
    #[oai(default)]
    pub is_superuser: bool,
    #[oai(nullable, validator(max_length = 255))]
    pub full_name: Option<String>,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: String,
}

/// Route 12 body.
#[derive(Object)]
pub struct UserRegister {
    #[oai(validator(max_length = 255))]
    pub email: String,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: String,
    #[oai(nullable, validator(max_length = 255))]
    pub full_name: Option<String>,
}

/// Route 14 body: every field optional, "or null" as on the template.
#[derive(Object)]
pub struct UserUpdate {
    #[oai(nullable, validator(max_length = 255))]
    pub email: Option<String>,
    #[oai(nullable)]
    pub is_active: Option<bool>,
    #[oai(nullable)]
    pub is_superuser: Option<bool>,
    #[oai(nullable, validator(max_length = 255))]
    pub full_name: Option<String>,
    #[oai(nullable, validator(min_length = 8, max_length = 128))]
    pub password: Option<String>,
}

/// Route 9 body.
#[derive(Object)]
pub struct UserUpdateMe {
    #[oai(nullable, validator(max_length = 255))]
    pub full_name: Option<String>,
    #[oai(nullable, validator(max_length = 255))]
    pub email: Option<String>,
}

/// Route 11 body.
#[derive(Object)]
pub struct UpdatePassword {
    #[oai(validator(min_length = 8, max_length = 128))]
    pub current_password: String,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

/// Route 4 body.
#[derive(Object)]
pub struct NewPassword {
    pub token: String,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

/// Route 17 body.
#[derive(Object)]
pub struct ItemCreate {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub title: String,
    #[oai(nullable, validator(max_length = 255))]
    pub description: Option<String>,
}

/// Route 19 body.
#[derive(Object)]
pub struct ItemUpdate {
    #[oai(nullable, validator(min_length = 1, max_length = 255))]
    pub title: Option<String>,
    #[oai(nullable, validator(max_length = 255))]
    pub description: Option<String>,
}

/// Route 23 body (development only).
#[derive(Object)]
pub struct PrivateUserCreate {
    pub email: String,
    pub password: String,
    pub full_name: String,
    #[oai(default)]
    pub is_verified: bool,
}

/// Route 1's form.
#[derive(Object)]
#[oai(rename = "Body_login-login_access_token")]
pub struct LoginForm {
    #[oai(nullable, validator(pattern = "^password$"))]
    pub grant_type: Option<String>,
    pub username: String,
    pub password: String,
    #[oai(default)]
    pub scope: String,
    #[oai(nullable)]
    pub client_id: Option<String>,
    #[oai(nullable)]
    pub client_secret: Option<String>,
}

/// `/auth/login` JSON body.
#[derive(Object)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `/auth/refresh` body.
#[derive(Object)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `/auth/logout` optional body.
#[derive(Object)]
pub struct LogoutRequest {
    #[oai(nullable)]
    pub refresh_token: Option<String>,
}
