//! The list order and paging every listing port shares: `created_at` descending with
//! NULLs first, ties by id, and a count that ignores paging.

use std::future::Future;

use gatehouse_domain::Page;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::fixtures::T0;

/// Ids and creation times in the order every list must return them. The ids' first bytes
/// straddle 0x80, so a backend comparing UUIDs as signed bytes or as text in another
/// collation gets the ties wrong.
pub fn listing_order() -> Vec<(Uuid, Option<OffsetDateTime>)> {
    let id = |first: u8, last: u8| {
        Uuid::from_bytes([first, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, last])
    };
    vec![
        (id(0x10, 1), None),
        (id(0xff, 2), None),
        (id(0x05, 3), Some(T0 + Duration::days(1))),
        (id(0x7f, 4), Some(T0 + Duration::hours(1))),
        (id(0x80, 5), Some(T0 + Duration::hours(1))),
        (id(0xa0, 6), Some(T0 + Duration::hours(1))),
        (id(0x01, 7), Some(T0)),
    ]
}

/// The rows of [`listing_order`] in a scrambled insertion order, so a backend returning
/// rows in insertion order fails.
pub fn insertion_order() -> Vec<(Uuid, Option<OffsetDateTime>)> {
    let mut rows = listing_order();
    rows.rotate_left(3);
    rows.swap(0, 4);
    rows
}

/// Checks paging over a list whose full order is `expected`: every window is the matching
/// slice, `limit` 0 and a skip past the end (even `u64::MAX`) return no rows, and the count
/// is always the full length. `list` returns one page's ids and the count.
pub async fn assert_pages<F, Fut>(expected: &[Uuid], list: F)
where
    F: Fn(Page) -> Fut,
    Fut: Future<Output = (Vec<Uuid>, u64)>,
{
    let total = expected.len() as u64;
    let page = |skip, limit| Page::new(skip, limit).expect("limit within bounds");
    assert_eq!(list(Page::default()).await, (expected.to_vec(), total));
    assert_eq!(list(page(1, 2)).await, (expected[1..3].to_vec(), total));
    assert_eq!(
        list(page(total - 2, 1000)).await,
        (expected[expected.len() - 2..].to_vec(), total)
    );
    assert_eq!(list(page(0, 0)).await, (vec![], total));
    assert_eq!(list(page(total, 10)).await, (vec![], total));
    assert_eq!(list(page(u64::MAX, 1000)).await, (vec![], total));
}
