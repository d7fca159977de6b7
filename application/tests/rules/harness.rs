//! One Gatehouse over fresh memory stores, and typed helpers for the usual steps.

use std::sync::Arc;

use gatehouse_application::{
    Client, Gatehouse, LoginError, Policy, Ports, Principal, RefreshError, Registration, TokenPair,
};
use gatehouse_crypto::{Argon2Hasher, HashParams, PoolLimits};
use gatehouse_domain::{Email, Password, User};
use gatehouse_memory::{ManualClock, MemoryStore, RecordingMailer, SequentialIds};
use gatehouse_tokens::{
    HmacSecret, KeyPurpose, OpaqueTokenService, TokenFormat, TokenSettings, build_access_tokens,
    derive_key,
};
use time::{Duration, OffsetDateTime};

/// Argon2 at its cheapest: the rules are under test, not the hash's cost.
const CHEAP: HashParams = HashParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// The password every helper-made account has.
pub const PASSWORD: &str = "correct horse battery";

/// The application under test, with the clock and the outbox it was built with.
pub struct Harness {
    pub app: Gatehouse,
    pub clock: Arc<ManualClock>,
    pub mail: Arc<RecordingMailer>,
}

impl Harness {
    /// The default policy, email on.
    pub fn new() -> Self {
        Self::with_policy(Policy::default())
    }

    pub fn with_policy(policy: Policy) -> Self {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let mail = Arc::new(RecordingMailer::new());
        let store = MemoryStore::new();
        let secret = b"application rule tests, 32 bytes+".to_vec();
        let format = TokenFormat::JwtHs256 {
            secret: HmacSecret::new(secret.clone()).expect("a valid HMAC key"),
        };
        let settings = TokenSettings {
            issuer: "gatehouse".into(),
            audience: "gatehouse-api".into(),
            ttl: Duration::minutes(15),
            environment: "test".into(),
        };
        let ports = Ports {
            users: store.users(),
            items: store.items(),
            sessions: store.sessions(),
            reset_tokens: store.reset_tokens(),
            limiter: store.limiter(),
            readiness: store.readiness(),
            hasher: Arc::new(
                Argon2Hasher::new(CHEAP, PoolLimits::default()).expect("cheap params are valid"),
            ),
            access_tokens: build_access_tokens(format, settings).expect("token set-up"),
            opaque_tokens: Arc::new(OpaqueTokenService::new(derive_key(
                &secret,
                KeyPurpose::RefreshChild,
            ))),
            mailer: mail.clone(),
            clock: clock.clone(),
            ids: Arc::new(SequentialIds::default()),
        };
        Self {
            app: Gatehouse::new(ports, policy),
            clock,
            mail,
        }
    }

    /// A new active account (a superuser when `superuser`), password [`PASSWORD`].
    pub async fn account(&self, address: &str, superuser: bool) -> User {
        let email = Email::parse(address).expect("a valid address");
        let password = Password::new(PASSWORD).expect("a valid password");
        if superuser {
            self.app
                .create_superuser(email, password)
                .await
                .expect("create a superuser")
        } else {
            let form = Registration {
                email,
                password,
                full_name: None,
            };
            self.app.signup(form, &client()).await.expect("sign up")
        }
    }

    /// Logs in with `password`.
    pub async fn login_with(&self, address: &str, password: &str) -> Result<TokenPair, LoginError> {
        self.app
            .login(address, &Password::unchecked(password), &client())
            .await
    }

    /// Logs in with [`PASSWORD`], which must succeed.
    pub async fn login(&self, address: &str) -> TokenPair {
        self.login_with(address, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{address} logs in: {e:?}"))
    }

    /// Redeems the refresh token of `pair`.
    pub async fn refresh(&self, pair: &TokenPair) -> Result<TokenPair, RefreshError> {
        self.app.refresh(pair.refresh.expose(), &client()).await
    }

    /// Redeems the refresh token of `pair`, which must succeed.
    pub async fn rotate(&self, pair: &TokenPair) -> TokenPair {
        self.refresh(pair).await.expect("a rotation")
    }

    /// Who the access token of `pair` authenticates, if anyone.
    pub async fn principal(&self, pair: &TokenPair) -> Option<Principal> {
        self.app.authenticate(pair.access.token.expose()).await.ok()
    }

    /// Logs in and authenticates: the principal of a fresh session.
    pub async fn logged_in(&self, address: &str) -> Principal {
        let pair = self.login(address).await;
        self.principal(&pair)
            .await
            .expect("a fresh session authenticates")
    }

    /// The token of the last reset link mailed to `address`.
    pub fn reset_token_mailed_to(&self, address: &str) -> String {
        let mail = self
            .mail
            .sent()
            .into_iter()
            .rev()
            .find(|m| m.to.as_str() == address)
            .unwrap_or_else(|| panic!("a mail to {address}"));
        let (_, rest) = mail.text.split_once("token=").expect("a reset link");
        rest.split(|c: char| c.is_whitespace() || c == '"')
            .next()
            .expect("a token")
            .to_owned()
    }
}

/// A client the per-IP rules count.
pub fn client() -> Client {
    Client {
        ip: Some("192.0.2.10".into()),
        user_agent: Some("rules".into()),
    }
}
