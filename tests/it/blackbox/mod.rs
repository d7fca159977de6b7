//! Black-box tests over real HTTP: the contract (CONTRACT.md) route by route, each test
//! run against the memory adapters and against SQL (PostgreSQL when `TEST_DATABASE_URL`
//! is set, else SQLite).

/// Stamps out one `#[tokio::test]` per backend for a test body `async fn(Backend)`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(gatehouse_tests::app::Backend::Memory).await;
            })*
        }
        mod sql {
            $(#[tokio::test]
            async fn $name() {
                super::$name(gatehouse_tests::app::Backend::Sql).await;
            })*
        }
    };
}

mod answers;
mod bad_input;
mod email_race;
mod forge;
mod frontend;
mod golden;
mod headers;
mod items;
mod legacy_rows;
mod limits;
mod login;
mod logout;
mod openapi;
mod outage;
mod password_upgrade;
mod principal_cache;
mod private;
mod properties;
mod recovery;
mod recovery_unconfigured;
mod replicas;
mod routing;
mod schemas;
mod session_ends;
mod session_list;
mod sessions;
mod signup;
mod smoke;
mod throttling;
mod token_formats;
mod tokens;
mod users_admin;
mod users_me;
mod utils;
mod validation;
