//! The list order every paged route shares: `created_at` descending with NULLs first,
//! then id, with the count taken before paging (PostgreSQL's `NULLS FIRST`, spelled out
//! because the memory store has no SQL to lean on).

use std::cmp::Reverse;

use gatehouse_domain::{Listing, Page};
use time::OffsetDateTime;
use uuid::Uuid;

/// Sorts `rows` by the shared order, keyed by `(created_at, id)`, and cuts out `page`.
pub(crate) fn newest_first<T>(
    mut rows: Vec<T>,
    key: impl Fn(&T) -> (Option<OffsetDateTime>, Uuid),
    page: Page,
) -> Listing<T> {
    let count = rows.len() as u64;
    rows.sort_by_key(|row| {
        let (created_at, id) = key(row);
        (created_at.is_some(), Reverse(created_at), id)
    });
    let data = rows
        .into_iter()
        .skip(usize::try_from(page.skip()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit()).unwrap_or(usize::MAX))
        .collect();
    Listing { data, count }
}
