//! Counters around the expensive ports, so a test can prove that a refused request did no
//! hashing or token work (CONTRACT.md §9c "while throttled no hashing or token work is
//! done", SECURITY.md RL-01, EN-02).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use async_trait::async_trait;
use gatehouse_domain::{
    Infra, Password, PasswordHash, Secret,
    ports::{OpaqueTokens, PasswordHasher, Verification},
    session::TokenHash,
};

/// How much work the wrapped ports have done so far.
#[derive(Default, Debug)]
pub struct WorkCounter {
    hashes: AtomicU64,
    verifications: AtomicU64,
    token_operations: AtomicU64,
}

impl WorkCounter {
    /// Password hashes computed (signup, change, reset, rehash).
    pub fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::SeqCst)
    }

    /// Password verifications, dummy ones for unknown users included.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::SeqCst)
    }

    /// Opaque-token generations, digests and derivations (refresh and reset tokens).
    pub fn token_operations(&self) -> u64 {
        self.token_operations.load(Ordering::SeqCst)
    }

    /// Everything at once, for "nothing happened" assertions.
    pub fn total(&self) -> u64 {
        self.hashes() + self.verifications() + self.token_operations()
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// A [`PasswordHasher`] that counts, then delegates.
pub struct CountingHasher {
    pub inner: Arc<dyn PasswordHasher>,
    pub counter: Arc<WorkCounter>,
}

#[async_trait]
impl PasswordHasher for CountingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, Infra> {
        WorkCounter::count(&self.counter.hashes);
        self.inner.hash(password).await
    }

    async fn verify(
        &self,
        password: &Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verification, Infra> {
        WorkCounter::count(&self.counter.verifications);
        self.inner.verify(password, stored).await
    }
}

/// An [`OpaqueTokens`] service that counts, then delegates.
pub struct CountingTokens {
    pub inner: Arc<dyn OpaqueTokens>,
    pub counter: Arc<WorkCounter>,
}

impl OpaqueTokens for CountingTokens {
    fn generate(&self) -> Secret {
        WorkCounter::count(&self.counter.token_operations);
        self.inner.generate()
    }

    fn digest(&self, raw: &str) -> Option<TokenHash> {
        WorkCounter::count(&self.counter.token_operations);
        self.inner.digest(raw)
    }

    fn successor(&self, raw: &str) -> Secret {
        WorkCounter::count(&self.counter.token_operations);
        self.inner.successor(raw)
    }
}
