//! The list order every paged port shares — `created_at` descending with NULLs first, then
//! id — spelled out so SQLite (NULLs last when descending) and PostgreSQL (NULLs first)
//! agree, and the count taken ignoring paging.

use gatehouse_domain::Page;
use sea_orm::sea_query::{NullOrdering, Order};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Select,
};

/// The rows of `page` within `select`, and how many rows `select` has in all.
///
/// A `skip` at or past the count answers without a second query, which also keeps values
/// beyond `i64::MAX` away from the drivers.
pub(crate) async fn newest_first<E, C>(
    conn: &C,
    select: Select<E>,
    created_at: E::Column,
    id: E::Column,
    page: Page,
) -> Result<(Vec<E::Model>, u64), DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let count = select.clone().count(conn).await?;
    if page.skip() >= count || page.limit() == 0 {
        return Ok((Vec::new(), count));
    }
    let rows = select
        .order_by_with_nulls(created_at, Order::Desc, NullOrdering::First)
        .order_by_asc(id)
        .offset(page.skip())
        .limit(page.limit())
        .all(conn)
        .await?;
    Ok((rows, count))
}
