//! The composition root: turns validated [`Settings`] into the application service and its
//! HTTP configuration, choosing one adapter per port. Nothing else constructs adapters.

use std::{sync::Arc, time::Duration};

use gatehouse_application::{Gatehouse, Ports};
use gatehouse_crypto::Argon2Hasher;
use gatehouse_domain::{
    Infra, Secret,
    ports::{Mailer, RandomIds, SystemClock},
};
use gatehouse_http::HttpConfig;
use gatehouse_mail::{
    Delivery, LogMailer, MailWorker, Security, SmtpConfig, SmtpCredentials, smtp_mailer,
};
use gatehouse_sql::{SqlStore, migrate::Migrations};
use gatehouse_tokens::{KeyPurpose, OpaqueTokenService, build_access_tokens, derive_key};

use crate::config::{AllowedOrigins, MailSettings, Settings, SmtpSecurity};
use crate::telemetry::metrics::Gauges;

/// How long queued mail may take to go out once the server has stopped serving.
const MAIL_DRAIN: Duration = Duration::from_secs(10);

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
    #[error("cannot set up outgoing email")]
    Mail(#[from] gatehouse_mail::SmtpSetupError),
}

/// The assembled service.
pub struct Service {
    pub app: Arc<Gatehouse>,
    pub http: HttpConfig,
    pub resources: Resources,
}

/// What must be let go in order when the service stops, and what the metrics read.
pub struct Resources {
    store: SqlStore,
    /// The SMTP queue's worker; `None` while email is off.
    mail: Option<MailWorker>,
    /// Read by the metrics.
    hasher: Arc<Argon2Hasher>,
}

impl Resources {
    /// The resources the metrics read at each scrape.
    pub fn gauges(&self) -> Gauges {
        Gauges {
            db: self.store.clone(),
            mail: self.mail.as_ref().map(MailWorker::depth),
            hasher: Arc::clone(&self.hasher),
        }
    }

    /// Lets queued mail out (for up to [`MAIL_DRAIN`]), then closes the database pool.
    pub async fn close(self) {
        if let Some(mail) = self.mail {
            mail.drain(MAIL_DRAIN).await;
        }
        self.store.close().await;
    }
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
    // On PostgreSQL the principal of each request is served from a per-process cache kept
    // coherent by LISTEN/NOTIFY (docs/principal-cache.md), listening through the direct
    // endpoint when one is configured: a transaction-mode pooler cannot LISTEN. After the
    // migrations, so a fresh database already has the triggers when the listener looks.
    let store = store.with_principal_cache(&settings.database.migration_options())?;
    let (mailer, mail): (Arc<dyn Mailer>, _) = match settings.mail {
        Some(mail) => {
            let (mailer, worker) = smtp_mailer(smtp_config(mail), Delivery::default())?;
            (Arc::new(mailer), Some(worker))
        }
        None => (Arc::new(LogMailer), None),
    };
    let secret = settings.secret_key.expose().as_bytes();
    let hasher = Arc::new(Argon2Hasher::new(
        settings.hashing.params,
        settings.hashing.pool,
    )?);
    let ports = Ports {
        users: store.users(),
        items: store.items(),
        sessions: store.sessions(),
        reset_tokens: store.reset_tokens(),
        limiter: store.limiter(),
        readiness: store.readiness(),
        hasher: hasher.clone(),
        access_tokens: build_access_tokens(settings.tokens.format, settings.tokens.claims)?,
        opaque_tokens: Arc::new(OpaqueTokenService::new(derive_key(
            secret,
            KeyPurpose::RefreshChild,
        ))),
        mailer,
        clock: Arc::new(SystemClock),
        ids: Arc::new(RandomIds),
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
        read_timeout: server.read_timeout,
        frontend_dir: server.frontend_dir,
        test_faults: false,
    };
    Ok(Service {
        app,
        http,
        resources: Resources {
            store,
            mail,
            hasher,
        },
    })
}

/// The SMTP adapter's view of the mail settings. `SMTP_USER` alone logs in with an empty
/// password; `SMTP_PASSWORD` alone is ignored, having no one to log in as.
fn smtp_config(mail: MailSettings) -> SmtpConfig {
    SmtpConfig {
        host: mail.smtp_host,
        port: mail.smtp_port,
        security: match mail.security {
            SmtpSecurity::StartTls => Security::StartTls,
            SmtpSecurity::ImplicitTls => Security::ImplicitTls,
            SmtpSecurity::Plain => Security::Plain,
        },
        ca: mail.ca,
        credentials: mail.smtp_user.map(|user| SmtpCredentials {
            user,
            password: mail.smtp_password.unwrap_or_else(|| Secret::new("")),
        }),
        from_email: mail.from_email,
        from_name: mail.from_name,
    }
}
