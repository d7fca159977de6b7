//! A real Gatehouse on a random port for black-box tests: the production `Application`
//! with the real use cases, real argon2 (cheap parameters), real JWTs, over the memory
//! adapters or a fresh SQL database, plus typed helpers for the usual requests.

use std::{sync::Arc, time::Duration};

use gatehouse::app::Application;
use gatehouse_application::{Gatehouse, Policy, Ports};
use gatehouse_crypto::{Argon2Hasher, HashParams, PoolLimits};
use gatehouse_domain::{
    Email, Password,
    ports::{Clock, Mailer},
};
use gatehouse_http::HttpConfig;
use gatehouse_memory::{ManualClock, RecordingMailer};
use gatehouse_tokens::{
    HmacSecret, KeyPurpose, OpaqueTokenService, TokenFormat, TokenSettings, build_access_tokens,
    derive_key,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::db::TestDatabase;

/// Which adapters the application runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The in-memory adapters.
    Memory,
    /// The SQL adapter on a fresh database: PostgreSQL when `TEST_DATABASE_URL` is set,
    /// SQLite otherwise.
    Sql,
}

/// Knobs a test may turn before the application starts.
pub struct Options {
    pub policy: Policy,
    pub http: HttpConfig,
    /// Whether the recording mailer reports email as configured.
    pub mail_enabled: bool,
    /// The access-token format; `None` is JWT HS256 with a random secret.
    pub token_format: Option<TokenFormat>,
    pub access_ttl: time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            http: HttpConfig {
                private_routes: true,
                ..HttpConfig::default()
            },
            mail_enabled: false,
            token_format: None,
            access_ttl: time::Duration::minutes(15),
        }
    }
}

/// Email and password of an account the test knows.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    pub password: String,
}

/// A running Gatehouse and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub port: u16,
    pub client: reqwest::Client,
    /// The application's clock; it starts at the real time (advance it by less than the
    /// JWT leeway, 60 s, or tokens issued "later" are not yet valid to the JWT library).
    pub clock: Arc<ManualClock>,
    pub mailer: Arc<RecordingMailer>,
    pub superuser: Account,
    pub app: Arc<Gatehouse>,
    /// The database URL when running on SQL.
    pub database_url: Option<String>,
    _db: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
}

/// argon2 parameters that keep a test's hashing in the microseconds.
const CHEAP: HashParams = HashParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn random_bytes() -> Vec<u8> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("OS randomness");
    bytes.to_vec()
}

impl TestApp {
    /// Starts Gatehouse on `backend` with the default options.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    /// Starts Gatehouse on `backend` with `options`.
    pub async fn spawn_with(backend: Backend, options: Options) -> Self {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let mailer = Arc::new(if options.mail_enabled {
            RecordingMailer::new()
        } else {
            RecordingMailer::disabled()
        });
        let (stores, db) = match backend {
            Backend::Memory => (crate::stores::memory(clock.clone()), None),
            Backend::Sql => {
                let db = TestDatabase::new().await;
                (crate::stores::sql(db.url()).await, Some(db))
            }
        };
        let settings = TokenSettings {
            issuer: "gatehouse".into(),
            audience: "gatehouse-api".into(),
            ttl: options.access_ttl,
            environment: "test".into(),
        };
        let secret = random_bytes();
        let format = options
            .token_format
            .unwrap_or_else(|| TokenFormat::JwtHs256 {
                secret: HmacSecret::new(secret.clone())
                    .expect("32 random bytes are a valid HMAC key"),
            });
        let ports = Ports {
            users: stores.users,
            items: stores.items,
            sessions: stores.sessions,
            reset_tokens: stores.reset_tokens,
            limiter: stores.limiter,
            readiness: stores.readiness,
            hasher: Arc::new(
                Argon2Hasher::new(CHEAP, PoolLimits::default()).expect("cheap params are valid"),
            ),
            access_tokens: build_access_tokens(format, settings).expect("test token setup"),
            opaque_tokens: Arc::new(OpaqueTokenService::new(derive_key(
                &secret,
                KeyPurpose::RefreshChild,
            ))),
            mailer: mailer.clone() as Arc<dyn Mailer>,
            clock: clock.clone() as Arc<dyn Clock>,
        };
        let app = Arc::new(Gatehouse::new(ports, options.policy));
        let superuser = Account {
            email: "admin@example.com".into(),
            password: "admin-password-1".into(),
        };
        app.seed_superuser(
            Email::parse(&superuser.email).expect("valid email"),
            &Password::new(superuser.password.clone()).expect("valid password"),
        )
        .await
        .expect("seeding the superuser");
        let server = Application::bind("127.0.0.1:0", app.clone(), options.http)
            .await
            .expect("binding a random port");
        let port = server.port();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(server.run_until(
            async move {
                let _ = rx.await;
            },
            Duration::from_secs(1),
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            client,
            clock,
            mailer,
            superuser,
            app,
            database_url: db.as_ref().map(|d| d.url().to_owned()),
            _db: db,
            shutdown: Some(tx),
        }
    }

    /// A request to `path` (absolute, e.g. `/api/v1/users/`).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// POST `path`.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// PATCH `path`.
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    /// PUT `path`.
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    /// DELETE `path`.
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// The OAuth2 password form login of route 1.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post("/api/v1/login/access-token")
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .expect("login request")
    }

    /// Logs in and returns the token response body, failing the test unless 200.
    pub async fn tokens(&self, email: &str, password: &str) -> Value {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {email} failed");
        response.json().await.expect("token JSON")
    }

    /// Logs in and returns the access token.
    pub async fn token(&self, email: &str, password: &str) -> String {
        self.tokens(email, password).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// The superuser's access token.
    pub async fn admin_token(&self) -> String {
        self.token(&self.superuser.email, &self.superuser.password)
            .await
    }

    /// Signs up through route 12.
    pub async fn signup(&self, email: &str, password: &str) -> Response {
        self.post("/api/v1/users/signup")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("signup request")
    }

    /// Signs up a fresh random user and returns the account and its id.
    pub async fn new_user(&self) -> (Account, String) {
        let account = Account {
            email: format!("user-{}@example.com", uuid::Uuid::new_v4().simple()),
            password: "correct horse battery".into(),
        };
        let response = self.signup(&account.email, &account.password).await;
        assert_eq!(response.status(), StatusCode::OK, "signup failed");
        let body: Value = response.json().await.expect("user JSON");
        (account, body["id"].as_str().expect("id").to_owned())
    }

    /// Signs up a fresh user and logs them in: (account, id, access token).
    pub async fn user_with_token(&self) -> (Account, String, String) {
        let (account, id) = self.new_user().await;
        let token = self.token(&account.email, &account.password).await;
        (account, id, token)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Reads a response as (status, JSON body; `null` when the body is not JSON).
pub async fn status_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
