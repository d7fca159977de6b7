//! Gatehouse's database migrations: frozen once released, named `mYYYYMMDD_HHMMSS_what`,
//! written with string identifiers (never domain types) and column types that work on both
//! PostgreSQL and SQLite, each with a tested `down`.
//!
//! The runner that applies them under a PostgreSQL advisory lock lives in
//! `gatehouse_sql::migrate`, next to the connection handling it needs.

use sea_orm_migration::prelude::*;

mod m20261125_000001_template_schema;
mod m20261125_000002_gatehouse_auth;
mod m20261125_000003_throttle_backoff;
mod m20261204_000004_email_key_idna;
mod m20261204_000005_template_coexistence;
mod m20261205_000006_principal_notify;
mod script;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_template_schema::Migration),
            Box::new(m20261125_000002_gatehouse_auth::Migration),
            Box::new(m20261125_000003_throttle_backoff::Migration),
            Box::new(m20261204_000004_email_key_idna::Migration),
            Box::new(m20261204_000005_template_coexistence::Migration),
            Box::new(m20261205_000006_principal_notify::Migration),
        ]
    }
}
