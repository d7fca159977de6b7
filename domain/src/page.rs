//! Paging of list routes and the `{data, count}` result they share.

/// `skip`/`limit` paging, already checked: `limit` ≤ [`Page::MAX_LIMIT`] (SECURITY.md D7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    skip: u64,
    limit: u64,
}

impl Page {
    /// The largest page a client may ask for.
    pub const MAX_LIMIT: u64 = 1000;
    /// The page size when the client gives none.
    pub const DEFAULT_LIMIT: u64 = 100;

    /// `None` when `limit` exceeds [`Page::MAX_LIMIT`].
    pub fn new(skip: u64, limit: u64) -> Option<Self> {
        (limit <= Self::MAX_LIMIT).then_some(Self { skip, limit })
    }

    /// Rows to skip.
    pub fn skip(&self) -> u64 {
        self.skip
    }

    /// Rows to return at most.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            skip: 0,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// One page of rows plus the total count ignoring paging (the contract's `count`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing<T> {
    pub data: Vec<T>,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_above_one_thousand_is_refused() {
        assert!(Page::new(0, 1000).is_some());
        assert!(Page::new(0, 1001).is_none());
        assert_eq!(Page::new(u64::MAX, 0).unwrap().skip(), u64::MAX);
    }
}
