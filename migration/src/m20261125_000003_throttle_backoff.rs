//! Back-off for throttling (SECURITY.md RL-01): each counter remembers how many filled
//! windows in a row came before its current one. Existing counters start without strikes,
//! and replicas still running the previous release keep working: they never read the column.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("gatehouse_throttle")
                    .add_column(ColumnDef::new("strikes").integer().not_null().default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("gatehouse_throttle")
                    .drop_column("strikes")
                    .to_owned(),
            )
            .await
    }
}
