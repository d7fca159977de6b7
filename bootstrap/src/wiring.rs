//! The composition root: turns validated [`Settings`] into the application service and its
//! HTTP configuration, choosing one adapter per port. Nothing else constructs adapters.

use std::sync::Arc;

use gatehouse_application::{Gatehouse, Ports};
use gatehouse_crypto::Argon2Hasher;
use gatehouse_domain::{
    Infra,
    ports::{Mailer, OutgoingEmail, SystemClock},
};
use gatehouse_http::HttpConfig;
use gatehouse_sql::{SqlStore, migrate::Migrations};
use gatehouse_tokens::{KeyPurpose, OpaqueTokenService, build_access_tokens, derive_key};

use crate::config::{AllowedOrigins, Settings};

/// Why the service could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot connect to the database")]
    Connect(#[from] gatehouse_sql::ConnectError),
    #[error("cannot apply migrations")]
    Migrate(#[from] gatehouse_sql::migrate::MigrateError),
    #[error("cannot set up password hashing")]
    Hasher(#[from] gatehouse_crypto::HasherConfigError),
    #[error("cannot set up access tokens")]
    Tokens(#[from] gatehouse_tokens::TokenSetupError),
    #[error("cannot seed the first superuser")]
    Seed(#[source] Infra),
}

/// The assembled service.
pub struct Service {
    pub app: Arc<Gatehouse>,
    pub http: HttpConfig,
    /// Kept so the pool can be closed on shutdown.
    pub store: SqlStore,
}

/// Builds every adapter from `settings`; applies migrations first when `migrate` is set.
///
/// # Errors
/// [`StartError`] for the first part that cannot start.
pub async fn assemble(settings: Settings, migrate: bool) -> Result<Service, StartError> {
    let store = SqlStore::connect(&settings.database.runtime_options()).await?;
    if migrate {
        let migrations = match &settings.database.migration_url {
            Some(_) => Migrations::connect(&settings.database.migration_options()).await?,
            None => Migrations::of_store(&store)?,
        };
        migrations.up(None).await?;
        tracing::info!("database schema is current");
    }
    let secret = settings.secret_key.expose().as_bytes();
    let ports = Ports {
        users: store.users(),
        items: store.items(),
        sessions: store.sessions(),
        reset_tokens: store.reset_tokens(),
        limiter: store.limiter(),
        readiness: store.readiness(),
        hasher: Arc::new(Argon2Hasher::new(
            settings.hashing.params,
            settings.hashing.pool,
        )?),
        access_tokens: build_access_tokens(settings.tokens.format, settings.tokens.claims)?,
        opaque_tokens: Arc::new(OpaqueTokenService::new(derive_key(
            secret,
            KeyPurpose::RefreshChild,
        ))),
        mailer: Arc::new(NoMail),
        clock: Arc::new(SystemClock),
    };
    let app = Arc::new(Gatehouse::new(ports, settings.policy));
    if let Some(first) = settings.first_superuser {
        let outcome = app
            .seed_superuser(first.email, &first.password)
            .await
            .map_err(StartError::Seed)?;
        tracing::info!(outcome = ?outcome, "first superuser");
    }
    let server = settings.server;
    let http = HttpConfig {
        project_name: settings.project_name,
        private_routes: settings.environment.is_development(),
        docs: server.docs_enabled,
        cors_origins: match server.cors_origins {
            AllowedOrigins::Any => vec!["*".to_owned()],
            AllowedOrigins::List(origins) => origins,
        },
        trusted_proxies: server.trusted_proxies,
        max_body_bytes: server.max_body_bytes,
        request_timeout: server.request_timeout,
    };
    Ok(Service { app, http, store })
}

/// Email is off: the contract's answers for a deployment without email (routes 3, 7, 21).
struct NoMail;

#[async_trait::async_trait]
impl Mailer for NoMail {
    fn is_enabled(&self) -> bool {
        false
    }

    async fn send(&self, email: OutgoingEmail) {
        tracing::warn!(subject = %email.subject, "email is not configured; message dropped");
    }
}
