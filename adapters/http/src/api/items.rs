//! Tag `items`: routes 16–20 of CONTRACT.md.

use gatehouse_application::NewItem;
use gatehouse_domain::{ItemDescription, ItemId, ItemPatch, ItemTitle};
use poem_openapi::{OpenApi, payload::Json};

use super::{ApiTags, App};
use crate::{
    dto::{ItemCreate, ItemPublic, ItemUpdate, ItemsPublic, Message},
    extract::{Auth, IdSpec, JsonBody, LimitQuery, Path, SkipQuery},
    problem::{ApiResult, refusals::*},
    validation::{Collect, body_object, page, path_uuid},
};

/// Routes 16–20.
#[derive(Clone, Copy)]
pub struct ItemsApi;

fn item_id(raw: &Path<IdSpec>) -> Result<ItemId, Vec<serde_json::Value>> {
    path_uuid("id", raw.get().unwrap_or_default()).map(ItemId::from_uuid)
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Items")]
impl ItemsApi {
    /// Read Items
    ///
    /// The caller's items (all items for a superuser), newest first.
    #[oai(path = "/items/", method = "get", operation_id = "items-read_items")]
    async fn read_items(
        &self,
        auth: Auth,
        skip: SkipQuery,
        limit: LimitQuery,
        app: App<'_>,
    ) -> ApiResult<Json<ItemsPublic>, { BEARER | INVALID }> {
        let (page,) = (page(skip.get(), limit.get()),).collect()?;
        Ok(Json(app.list_items(&auth.0, page).await?.into()))
    }

    /// Read Item
    ///
    /// One item the caller owns (any item for a superuser).
    #[oai(path = "/items/:id", method = "get", operation_id = "items-read_item")]
    async fn read_item(
        &self,
        auth: Auth,
        id: Path<IdSpec>,
        app: App<'_>,
    ) -> ApiResult<Json<ItemPublic>, { BEARER | INVALID }> {
        let (id,) = (item_id(&id),).collect()?;
        Ok(Json(ItemPublic::from(&app.read_item(&auth.0, id).await?)))
    }

    /// Create Item
    ///
    /// Creates an item owned by the caller; an `owner_id` in the body is ignored.
    #[oai(path = "/items/", method = "post", operation_id = "items-create_item")]
    async fn create_item(
        &self,
        body: JsonBody<ItemCreate>,
        auth: Auth,
        app: App<'_>,
    ) -> ApiResult<Json<ItemPublic>, { BEARER | INVALID }> {
        let (new,) = (body_object(&body.body, |f| {
            let title = f.text("title", ItemTitle::new);
            let description = f.text_or_null("description", ItemDescription::new);
            Some(NewItem {
                title: title?,
                description: description?,
            })
        }),)
            .collect()?;
        Ok(Json(ItemPublic::from(
            &app.create_item(&auth.0, new).await?,
        )))
    }

    /// Update Item
    ///
    /// Applies the fields present in the body.
    #[oai(
        path = "/items/:id",
        method = "put",
        operation_id = "items-update_item"
    )]
    async fn update_item(
        &self,
        body: JsonBody<ItemUpdate>,
        auth: Auth,
        id: Path<IdSpec>,
        app: App<'_>,
    ) -> ApiResult<Json<ItemPublic>, { BEARER | INVALID }> {
        let (id, changes) = (
            item_id(&id),
            body_object(&body.body, |f| {
                let title = f.optional_text("title", ItemTitle::new);
                let description = f.nullable_text("description", ItemDescription::new);
                Some(ItemPatch {
                    title: title?,
                    description: description?,
                })
            }),
        )
            .collect()?;
        Ok(Json(ItemPublic::from(
            &app.update_item(&auth.0, id, changes).await?,
        )))
    }

    /// Delete Item
    ///
    /// Deletes an item the caller owns (any item for a superuser).
    #[oai(
        path = "/items/:id",
        method = "delete",
        operation_id = "items-delete_item"
    )]
    async fn delete_item(
        &self,
        auth: Auth,
        id: Path<IdSpec>,
        app: App<'_>,
    ) -> ApiResult<Json<Message>, { BEARER | INVALID }> {
        let (id,) = (item_id(&id),).collect()?;
        app.delete_item(&auth.0, id).await?;
        Ok(Json(Message::new("Item deleted successfully")))
    }
}
