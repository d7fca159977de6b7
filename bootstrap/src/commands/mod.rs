//! The commands this crate carries out itself: the configuration check and key generation (and
//! migrations, through the SQL adapter). Serving and seeding belong to the composition root.

pub mod check_config;
pub mod generate_key;
pub mod migrate;
