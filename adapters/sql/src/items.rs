//! `ItemRepository` on `item`: every write repeats the ownership condition when one is
//! given (SECURITY.md AZ-02), so a check and a write can never disagree.

use async_trait::async_trait;
use gatehouse_domain::ports::{ItemRepository, OwnedWriteError};
use gatehouse_domain::{Infra, Item, ItemId, ItemPatch, Listing, Page, UserId};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use tracing::instrument;

use crate::db::Db;
use crate::entity::item;
use crate::error::{infra, owned_write};
use crate::listing::newest_first;
use crate::mapping::{item_from_row, item_patch_columns, item_to_row};
use crate::write;

/// The items.
pub(crate) struct SqlItems(pub(crate) Db);

/// `item.owner_id = owner` when an owner is given, else no condition.
fn owned_by(owner: Option<UserId>) -> Condition {
    Condition::all().add_option(owner.map(|o| item::Column::OwnerId.eq(o.as_uuid())))
}

#[async_trait]
impl ItemRepository for SqlItems {
    #[instrument(level = "trace", skip_all)]
    async fn insert(&self, item: &Item) -> Result<(), OwnedWriteError> {
        // One statement: the foreign key decides whether the owner still exists.
        self.0
            .conn
            .execute(&write::insert::<item::Entity>(item_to_row(&self.0, item)))
            .await
            .map_err(owned_write("items.insert"))?;
        Ok(())
    }

    #[instrument(level = "trace", skip_all)]
    async fn get(&self, id: ItemId) -> Result<Option<Item>, Infra> {
        let row = item::Entity::find_by_id(id.as_uuid())
            .one(&self.0.reads())
            .await
            .map_err(infra("items.get"))?;
        Ok(row.map(item_from_row))
    }

    #[instrument(level = "trace", skip_all)]
    async fn list(&self, owner: Option<UserId>, page: Page) -> Result<Listing<Item>, Infra> {
        let (rows, count) = newest_first(
            &self.0.reads(),
            item::Entity::find().filter(owned_by(owner)),
            item::Column::CreatedAt,
            item::Column::Id,
            page,
        )
        .await
        .map_err(infra("items.list"))?;
        Ok(Listing {
            data: rows.into_iter().map(item_from_row).collect(),
            count,
        })
    }

    #[instrument(level = "trace", skip_all)]
    async fn update(
        &self,
        id: ItemId,
        patch: &ItemPatch,
        owner: Option<UserId>,
    ) -> Result<Option<Item>, Infra> {
        let matched = Condition::all()
            .add(item::Column::Id.eq(id.as_uuid()))
            .add(owned_by(owner));
        let rows = if patch.is_empty() {
            item::Entity::find()
                .filter(matched)
                .all(&self.0.reads())
                .await
        } else {
            // One statement: the columns it sets and the row it returns are the row as it
            // is once written, whatever else wrote it meanwhile.
            write::update::<item::Entity>(item_patch_columns(patch))
                .filter(matched)
                .exec_with_returning(&self.0.conn)
                .await
        };
        Ok(rows
            .map_err(infra("items.update"))?
            .into_iter()
            .next()
            .map(item_from_row))
    }

    #[instrument(level = "trace", skip_all)]
    async fn delete(&self, id: ItemId, owner: Option<UserId>) -> Result<bool, Infra> {
        let deleted = item::Entity::delete_many()
            .filter(item::Column::Id.eq(id.as_uuid()))
            .filter(owned_by(owner))
            .exec(&self.0.conn)
            .await
            .map_err(infra("items.delete"))?;
        Ok(deleted.rows_affected > 0)
    }
}
