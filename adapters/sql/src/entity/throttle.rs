//! The `gatehouse_throttle` table: one counting window per throttling key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gatehouse_throttle")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub window_start: TimeDateTimeWithTimeZone,
    pub count: i32,
    /// Filled windows in a row before this one (`ThrottleWindow::strikes`).
    pub strikes: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
