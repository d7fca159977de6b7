//! Argon2's working memory (`m` KiB per computation), allocated once per concurrent hash and kept
//! for the next one, so that hashing memory stays at `permits × m` (PW-06).
//!
//! The argon2 crate's own hashing allocates and frees `m` KiB, 64-byte aligned, per computation.
//! glibc serves such blocks from its arenas after the first one (its mmap threshold adapts), and
//! the aligned allocations fragment them: a server kept about 240 MiB resident after ten sequential
//! signups at the default 19 MiB (bench/RESULTS.md), and zeroed 19 MiB per login as well.

use std::sync::{Mutex, PoisonError};

use argon2::Block;

/// Buffers of the configured size, lent to one computation at a time.
#[derive(Debug)]
pub(crate) struct WorkingMemory {
    /// Buffers not lent out. Only work on the bounded pool borrows (plus the one dummy hash at
    /// start-up, before the pool is used), so there are never more than `permits`.
    idle: Mutex<Vec<Box<[Block]>>>,
    /// Blocks (1 KiB each) of one buffer: what the configured parameters need.
    blocks: usize,
}

impl WorkingMemory {
    pub(crate) fn new(blocks: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            blocks,
        }
    }

    /// Runs `work` on exactly `blocks` blocks: part of a kept buffer when they fit in the
    /// configured size; otherwise (a stored hash costlier than the configuration, below the
    /// ceiling) memory of its own, freed afterwards.
    pub(crate) fn with<T>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        if blocks > self.blocks {
            return work(&mut vec![Block::new(); blocks]);
        }
        let kept = self.lock().pop();
        let mut buffer = kept.unwrap_or_else(|| vec![Block::new(); self.blocks].into_boxed_slice());
        let result = work(&mut buffer[..blocks]);
        self.lock().push(buffer);
        result
    }

    /// The idle list; a panic elsewhere while it was held cannot leave it inconsistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Box<[Block]>>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Buffers allocated so far and not lent out.
    #[cfg(test)]
    pub(crate) fn idle_buffers(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_is_allocated_once_and_lent_again() {
        let memory = WorkingMemory::new(8);
        let first = memory.with(8, |blocks| blocks.as_ptr());
        let second = memory.with(4, |blocks| {
            assert_eq!(blocks.len(), 4);
            blocks.as_ptr()
        });
        assert_eq!(first, second, "the same buffer serves both");
        assert_eq!(memory.idle_buffers(), 1);
    }

    #[test]
    fn a_larger_request_gets_its_own_memory_and_keeps_nothing() {
        let memory = WorkingMemory::new(8);
        let len = memory.with(16, |blocks| blocks.len());
        assert_eq!(len, 16);
        assert_eq!(memory.idle_buffers(), 0);
    }

    #[test]
    fn concurrent_borrowers_get_distinct_buffers() {
        let memory = WorkingMemory::new(8);
        let (outer, inner) = memory.with(8, |outer| {
            let inner = memory.with(8, |inner| inner.as_ptr());
            (outer.as_ptr(), inner)
        });
        assert_ne!(outer, inner);
        assert_eq!(memory.idle_buffers(), 2);
    }
}
