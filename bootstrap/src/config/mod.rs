//! Configuration: the process environment and `./.env` read once, validated into [`Settings`]
//! with every problem collected (CONTRACT.md §11; SECURITY.md CFG-01…CFG-05). It only reads and
//! checks; it never logs (warnings are returned for the caller to log once telemetry is up) and
//! never touches the network or the database.

mod database;
mod environment;
mod mail;
mod observability;
mod policy;
mod secrets;
mod server;
mod settings;
mod source;
mod tokens;
mod vars;

pub use database::{DEVELOPMENT_DATABASE_URL, DatabaseSettings, DatabaseUrl};
pub use environment::Environment;
pub use mail::{MailSettings, SmtpSecurity};
pub use observability::{ObservabilitySettings, SentryDsn, SentryReporting};
pub use policy::HashingSettings;
pub use secrets::{EXAMPLE_SECRET_KEY, FirstSuperuser, generate_secret_key};
pub use server::{AllowedOrigins, ServerSettings};
pub use settings::{API_V1_STR, Settings};
pub use tokens::AccessTokenSettings;
pub use vars::{ConfigError, ConfigErrors, Warning};

/// The exit code for a configuration the binary refuses (`EX_CONFIG` from sysexits.h;
/// SECURITY.md D12).
pub const EX_CONFIG: u8 = 78;
