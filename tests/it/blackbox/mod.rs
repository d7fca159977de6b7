//! Black-box tests over real HTTP: the contract (CONTRACT.md) route by route. Where storage
//! matters, each test runs against the memory adapters and against SQL (PostgreSQL when
//! `TEST_DATABASE_URL` is set, else SQLite); where it does not, once, on the memory adapters.

/// One `#[tokio::test]` per listed test body `async fn(Backend)` in a module named for the
/// backend.
macro_rules! on_backend {
    ($module:ident, $backend:ident; $($name:ident),* $(,)?) => {
        mod $module {
            $(#[tokio::test]
            async fn $name() {
                super::$name(gatehouse_tests::app::Backend::$backend).await;
            })*
        }
    };
}

/// For tests whose answers come from storage: run on the memory adapters and on SQL.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        on_backend!(memory, Memory; $($name),*);
        on_backend!(sql, Sql; $($name),*);
    };
}

/// For tests whose answers do not depend on storage (headers, routing, validation, limits,
/// the document, mail-less routes): the request is answered or refused before anything is
/// stored, or only touches what the port contract suite (`crate::contract`) already holds
/// every adapter to. Run once, on the memory adapters.
macro_rules! storage_independent {
    ($($name:ident),* $(,)?) => {
        on_backend!(memory, Memory; $($name),*);
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
