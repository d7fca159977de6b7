//! sea-orm entities: one module per table, mirroring the migrations column for column.
//! They only describe rows; turning rows into domain values (and back) is `crate::mapping`.

pub mod item;
pub mod refresh_token;
pub mod reset_token;
pub mod session;
pub mod throttle;
pub mod user;
