//! A real Gatehouse on a random port for black-box tests: the production `gatehouse_http::Server`
//! with the real use cases, real argon2 (cheap parameters), real JWTs, over the memory
//! adapters or a fresh SQL database, plus typed helpers for the usual requests.

use std::{sync::Arc, time::Duration};

use gatehouse_application::{Gatehouse, Policy, Ports};
use gatehouse_crypto::{Argon2Hasher, HashParams, PoolLimits};
use gatehouse_domain::{
    Email, Password,
    ports::{AccessTokens, Clock, Mailer, RandomIds},
};
use gatehouse_http::{HttpConfig, Server};
use gatehouse_memory::{ManualClock, RecordingMailer};
use gatehouse_sql::DbOptions;
use gatehouse_tokens::{
    HmacSecret, KeyPurpose, OpaqueTokenService, TokenFormat, TokenSettings, build_access_tokens,
    derive_key,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::db::TestDatabase;
use crate::work::{CountingHasher, CountingTokens, WorkCounter};

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
    /// The mailer the application sends through instead of the recording one (e.g. SMTP to
    /// a test sink); `TestApp::mailer` then records nothing.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// The access-token format; `None` is JWT HS256 with a random secret.
    pub token_format: Option<TokenFormat>,
    pub access_ttl: time::Duration,
    /// Whether (and through what) the SQL adapter keeps its principal cache; off by default,
    /// so the suites test the storage itself and what they write with plain SQL is seen at
    /// once (with the cache, other writers are seen when their notification arrives).
    pub principal_cache: PrincipalCache,
}

/// The principal cache of a test instance on PostgreSQL (docs/principal-cache.md); SQLite has
/// none whatever this says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PrincipalCache {
    #[default]
    Off,
    /// Listening through the runtime pool's URL (the pooler's, when there is one).
    On,
    /// Listening through this URL (e.g. a proxy the test can cut).
    Via(String),
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
            mailer: None,
            token_format: None,
            access_ttl: time::Duration::minutes(15),
            principal_cache: PrincipalCache::Off,
        }
    }
}

/// Email and password of an account the test knows.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    pub password: String,
}

/// An access token and the refresh token of its session.
#[derive(Clone, Debug)]
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

impl Pair {
    /// Reads a 200 token answer (route 1, `/auth/login`, `/auth/refresh`), failing the test
    /// on any other status.
    pub async fn from_response(response: Response) -> Self {
        let (status, body) = status_json(response).await;
        assert_eq!(status, StatusCode::OK, "expected a token pair, got {body}");
        Self::from_body(&body)
    }

    /// The pair in a token body.
    pub fn from_body(body: &Value) -> Self {
        Self {
            access: body["access_token"].as_str().expect("access_token").into(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .into(),
        }
    }
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
    /// Hashing and opaque-token work this instance has done (see [`WorkCounter`]).
    pub work: Arc<WorkCounter>,
    pub superuser: Account,
    pub app: Arc<Gatehouse>,
    /// The database URL when running on SQL.
    pub database_url: Option<String>,
    /// The SQL store behind the ports when running on SQL (the principal cache's state).
    pub sql_store: Option<gatehouse_sql::SqlStore>,
    /// Whether this instance keeps a principal cache; its replicas do too.
    principal_cache: bool,
    /// This instance's `SECRET_KEY`: the HS256 key (unless another format was chosen) and
    /// the root of the derived keys, such as the one deriving refresh-token successors.
    pub secret_key: Vec<u8>,
    access_ttl: time::Duration,
    http: HttpConfig,
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
        match backend {
            Backend::Memory => Self::launch(None, options).await,
            Backend::Sql => {
                let db = TestDatabase::new().await;
                let pool = db.runtime_options();
                Self::spawn_on(db, pool, options).await
            }
        }
    }

    /// Starts Gatehouse on `db` (migrated) with its runtime pool opened as `pool` says: a
    /// test's own limits and timeouts, or a URL through a proxy the test controls.
    pub async fn spawn_on(db: TestDatabase, pool: DbOptions, options: Options) -> Self {
        Self::launch(Some((db, pool)), options).await
    }

    async fn launch(sql: Option<(TestDatabase, DbOptions)>, options: Options) -> Self {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let mailer = Arc::new(if options.mail_enabled {
            RecordingMailer::new()
        } else {
            RecordingMailer::disabled()
        });
        let (stores, db) = match sql {
            None => (crate::stores::memory(), None),
            Some((db, pool)) => {
                let listen = match &options.principal_cache {
                    PrincipalCache::Off => None,
                    PrincipalCache::On => Some(pool.clone()),
                    PrincipalCache::Via(url) => Some(DbOptions::new(url.clone())),
                };
                (
                    crate::stores::sql_cached(&pool, listen.as_ref()).await,
                    Some(db),
                )
            }
        };
        let secret_key = random_bytes();
        let format = options
            .token_format
            .unwrap_or_else(|| TokenFormat::JwtHs256 {
                secret: HmacSecret::new(secret_key.clone())
                    .expect("32 random bytes are a valid HMAC key"),
            });
        let instance = Instance {
            stores,
            access_tokens: build_access_tokens(format, token_settings(options.access_ttl))
                .expect("test token setup"),
            secret_key,
            access_ttl: options.access_ttl,
            clock,
            mailer,
            outgoing: options.mailer,
            policy: options.policy,
            http: options.http,
        };
        let superuser = Account {
            email: "admin@example.com".into(),
            password: "admin-password-1".into(),
        };
        let app = instance.start(superuser, db).await;
        app.app
            .seed_superuser(
                Email::parse(&app.superuser.email).expect("valid email"),
                &Password::new(app.superuser.password.clone()).expect("valid password"),
            )
            .await
            .expect("seeding the superuser");
        app
    }

    /// A second Gatehouse on this one's data, as another replica behind a load balancer
    /// would run: on SQL its own connection pool to the same database, on memory the same
    /// store. It shares this one's configuration (policy, HTTP settings, `SECRET_KEY` and
    /// so the refresh-derivation key, access-token keys) but has its own clock and mailer.
    pub async fn spawn_replica(&self) -> Self {
        self.spawn_replica_with(None).await
    }

    /// [`TestApp::spawn_replica`] with another access-token format, e.g. the next step of a
    /// key rotation; `None` keeps this one's keys.
    pub async fn spawn_replica_with(&self, token_format: Option<TokenFormat>) -> Self {
        let ports = self.app.ports();
        let stores = match &self.database_url {
            Some(url) => {
                let pool = DbOptions::new(url.clone());
                let listen = self.principal_cache.then(|| pool.clone());
                crate::stores::sql_cached(&pool, listen.as_ref()).await
            }
            None => crate::stores::Stores::of_ports(ports),
        };
        let access_tokens = match token_format {
            Some(format) => build_access_tokens(format, token_settings(self.access_ttl))
                .expect("test token setup"),
            None => ports.access_tokens.clone(),
        };
        let instance = Instance {
            stores,
            access_tokens,
            secret_key: self.secret_key.clone(),
            access_ttl: self.access_ttl,
            clock: Arc::new(ManualClock::new(self.clock.now())),
            mailer: Arc::new(if self.mailer.is_enabled() {
                RecordingMailer::new()
            } else {
                RecordingMailer::disabled()
            }),
            outgoing: None,
            policy: self.app.policy().clone(),
            http: self.http.clone(),
        };
        instance.start(self.superuser.clone(), None).await
    }

    /// A plain connection to the application's database for test-only SQL; `None` on the
    /// memory backend.
    pub async fn sql(&self) -> Option<sea_orm::DatabaseConnection> {
        let url = self.database_url.as_deref()?;
        let mut options = sea_orm::ConnectOptions::new(url);
        options.max_connections(2).sqlx_logging(false);
        Some(
            sea_orm::Database::connect(options)
                .await
                .expect("connect to the test database"),
        )
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

    /// Logs in through route 1, failing the test unless 200.
    pub async fn tokens(&self, email: &str, password: &str) -> Pair {
        Pair::from_response(self.login(email, password).await).await
    }

    /// Logs in and returns the access token.
    pub async fn token(&self, email: &str, password: &str) -> String {
        self.tokens(email, password).await.access
    }

    /// The superuser's access token.
    pub async fn admin_token(&self) -> String {
        self.token(&self.superuser.email, &self.superuser.password)
            .await
    }

    /// `POST /auth/refresh` with `refresh_token`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post("/api/v1/auth/refresh")
            .json(&json!({ "refresh_token": refresh_token }))
            .send()
            .await
            .expect("refresh request")
    }

    /// `GET /users/me` with `access_token` as the bearer token.
    pub async fn me(&self, access_token: &str) -> Response {
        self.get("/api/v1/users/me")
            .bearer_auth(access_token)
            .send()
            .await
            .expect("users/me request")
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

/// What every test instance signs into its access tokens.
fn token_settings(ttl: time::Duration) -> TokenSettings {
    TokenSettings {
        issuer: "gatehouse".into(),
        audience: "gatehouse-api".into(),
        ttl,
        environment: "test".into(),
    }
}

/// The parts of one Gatehouse instance before it serves.
struct Instance {
    stores: crate::stores::Stores,
    access_tokens: Arc<dyn AccessTokens>,
    secret_key: Vec<u8>,
    access_ttl: time::Duration,
    clock: Arc<ManualClock>,
    mailer: Arc<RecordingMailer>,
    /// Replaces `mailer` in the ports when set.
    outgoing: Option<Arc<dyn Mailer>>,
    policy: Policy,
    http: HttpConfig,
}

impl Instance {
    /// Wires the ports as the composition root does and serves them on a random port.
    async fn start(self, superuser: Account, db: Option<TestDatabase>) -> TestApp {
        let stores = self.stores;
        let sql_store = stores.sql_store.clone();
        let stores_cache = sql_store
            .as_ref()
            .is_some_and(|store| store.principal_cache_stats().is_some());
        let work = Arc::new(WorkCounter::default());
        let ports = Ports {
            users: stores.users,
            items: stores.items,
            sessions: stores.sessions,
            reset_tokens: stores.reset_tokens,
            limiter: stores.limiter,
            readiness: stores.readiness,
            hasher: Arc::new(CountingHasher {
                inner: Arc::new(
                    Argon2Hasher::new(CHEAP, PoolLimits::default())
                        .expect("cheap params are valid"),
                ),
                counter: work.clone(),
            }),
            access_tokens: self.access_tokens,
            opaque_tokens: Arc::new(CountingTokens {
                inner: Arc::new(OpaqueTokenService::new(derive_key(
                    &self.secret_key,
                    KeyPurpose::RefreshChild,
                ))),
                counter: work.clone(),
            }),
            mailer: self
                .outgoing
                .unwrap_or_else(|| self.mailer.clone() as Arc<dyn Mailer>),
            clock: self.clock.clone() as Arc<dyn Clock>,
            // Random, as in production: replicas of one test share a database.
            ids: Arc::new(RandomIds),
        };
        let app = Arc::new(Gatehouse::new(ports, self.policy));
        let server = Server::bind("127.0.0.1:0", app.clone(), self.http.clone())
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
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            port,
            client,
            clock: self.clock,
            mailer: self.mailer,
            work,
            superuser,
            app,
            database_url: db.as_ref().map(|d| d.url().to_owned()),
            principal_cache: stores_cache,
            sql_store,
            secret_key: self.secret_key,
            access_ttl: self.access_ttl,
            http: self.http,
            _db: db,
            shutdown: Some(tx),
        }
    }
}

/// Reads a response as (status, JSON body; `null` when the body is not JSON).
pub async fn status_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Sends `request` and reads the answer as (status, JSON body; `null` when not JSON).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    status_json(request.send().await.expect("request sent")).await
}

/// The keys of a JSON object in the order the server wrote them: serde_json is built with
/// `preserve_order` here, so a parsed object keeps the order of its text (CONTRACT.md §5.1).
pub fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// An answer read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    pub body: String,
}

impl RawResponse {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// Whether the whole `Content-Length` body has arrived.
    fn is_complete(&self) -> bool {
        self.header("content-length")
            .and_then(|length| length.parse::<usize>().ok())
            .is_some_and(|length| self.body.len() >= length)
    }

    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// How long a raw exchange may take before the test calls it a hang (SECURITY.md §5: "no
/// hang (> 2 s)").
const HANG: Duration = Duration::from_secs(2);

impl TestApp {
    /// Writes `head` (request line and headers, ending in an empty line) and then each piece of
    /// `body` on a fresh connection, while reading the answer: for requests reqwest would
    /// normalise (encoded dot segments) or that must not be sent whole (a body refused before
    /// it is read). Writing stops silently when the server closes the connection.
    ///
    /// # Panics
    /// When no complete answer arrives within two seconds.
    pub async fn raw(&self, head: &str, body: Vec<Vec<u8>>) -> RawResponse {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let head = head.as_bytes().to_vec();
        // The task hands the write half back instead of dropping it: dropping would send
        // FIN, and hyper closes a half-closed connection without answering.
        let writing = tokio::spawn(async move {
            for piece in std::iter::once(head).chain(body) {
                if writer.write_all(&piece).await.is_err() {
                    break;
                }
            }
            writer
        });
        let reading = async {
            let mut bytes = Vec::new();
            let mut buffer = [0u8; 8192];
            loop {
                if let Some(answer) = parse_answer(&bytes).filter(RawResponse::is_complete) {
                    return answer;
                }
                match reader.read(&mut buffer).await {
                    Ok(0) | Err(_) => {
                        return parse_answer(&bytes).unwrap_or_else(|| {
                            panic!("no answer: {:?}", String::from_utf8_lossy(&bytes))
                        });
                    }
                    Ok(n) => bytes.extend_from_slice(&buffer[..n]),
                }
            }
        };
        let answer = tokio::time::timeout(HANG, reading)
            .await
            .expect("the server answered within 2 s");
        writing.abort();
        answer
    }

    /// The server still answers after whatever the test threw at it.
    pub async fn assert_serving(&self) {
        let (status, body) = send(self.get("/api/v1/utils/health-check/")).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!(true)),
            "still serving"
        );
    }

    /// Creates an item through route 17 as the owner of `token`; its `ItemPublic`.
    pub async fn create_item(&self, token: &str, body: Value) -> Value {
        let (status, item) = send(self.post("/api/v1/items/").bearer_auth(token).json(&body)).await;
        assert_eq!(status, StatusCode::OK, "item creation failed: {item}");
        item
    }

    /// Creates a user through route 7 with the superuser's `token`; the `UserPublic`.
    pub async fn create_user(&self, token: &str, body: Value) -> Value {
        let (status, user) = send(self.post("/api/v1/users/").bearer_auth(token).json(&body)).await;
        assert_eq!(status, StatusCode::OK, "user creation failed: {user}");
        user
    }
}

/// The answer in `bytes` once its head has arrived, with as much body as there is.
fn parse_answer(bytes: &[u8]) -> Option<RawResponse> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some(RawResponse {
        status: head.split(' ').nth(1)?.parse().ok()?,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

impl Options {
    /// The defaults with throttle limits far above anything one test sends, for tests of
    /// other rules that sign up or log in many times (throttling has its own tests).
    pub fn unthrottled() -> Self {
        let mut options = Self::default();
        let t = &mut options.policy.throttle;
        for rule in [
            &mut t.login_account,
            &mut t.login_ip,
            &mut t.signup_ip,
            &mut t.recovery_ip,
            &mut t.recovery_email,
            &mut t.reset_ip,
            &mut t.refresh_ip,
        ] {
            rule.limit = 10_000;
        }
        options
    }
}
