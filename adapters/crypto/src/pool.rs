//! The bounded blocking pool: CPU-heavy work runs on `spawn_blocking`, never on an async worker
//! (pitfall H1), and at most `permits` pieces of it run at once (PW-06).

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_domain::Infra;
use metrics::{counter, histogram};
use tokio::sync::Semaphore;

use crate::PoolLimits;
use crate::metrics::{QUEUE_TIMEOUTS, QUEUE_WAIT};

/// The pool stayed saturated past the wait limit; surfaces as `Infra::Unavailable` (503).
#[derive(Debug, thiserror::Error)]
#[error("password hashing pool saturated: no permit within {0:?}")]
pub struct PoolSaturated(pub Duration);

/// A semaphore in front of tokio's blocking threads.
#[derive(Debug)]
pub(crate) struct BlockingPool {
    permits: Arc<Semaphore>,
    size: usize,
    max_wait: Duration,
}

impl BlockingPool {
    pub(crate) fn new(limits: PoolLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.permits.get())),
            size: limits.permits.get(),
            max_wait: limits.max_wait,
        }
    }

    /// Runs `work` on a blocking thread once a permit is free, inside the caller's tracing span.
    ///
    /// The permit moves into the blocking task, so it is held until the work really ends, even
    /// when the awaiting request is cancelled: memory stays bounded by `permits`.
    ///
    /// # Errors
    /// `Infra::Unavailable` when no permit frees up within `max_wait`; `Infra::Unexpected` if the
    /// work panics.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, Infra>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let asked = Instant::now();
        let permit =
            tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await;
        histogram!(QUEUE_WAIT).record(asked.elapsed().as_secs_f64());
        let permit = permit
            .map_err(|_| {
                counter!(QUEUE_TIMEOUTS).increment(1);
                Infra::unavailable(PoolSaturated(self.max_wait))
            })?
            .map_err(Infra::unexpected)?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(work)
        })
        .await
        .map_err(Infra::unexpected)
    }

    /// Permits held right now (hashes running).
    pub(crate) fn in_use(&self) -> usize {
        self.size - self.permits.available_permits()
    }

    /// Permits free right now; lets tests wait until a blocker really holds one.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::num::NonZeroUsize;
    use std::sync::mpsc;

    use super::*;

    /// Occupies one permit of `pool` until the returned sender is dropped or sent to.
    pub(crate) async fn occupy(
        pool: &BlockingPool,
    ) -> (mpsc::Sender<()>, impl Future<Output = ()>) {
        let (release, wait) = mpsc::channel::<()>();
        let before = pool.available();
        let blocker = pool.run(move || {
            let _ = wait.recv();
        });
        let mut blocker = Box::pin(blocker);
        // Drive the blocker until it holds its permit, so the test does not depend on timing.
        while pool.available() == before {
            tokio::select! {
                biased;
                _ = &mut blocker => unreachable!("the blocker ends only when released"),
                () = tokio::task::yield_now() => {}
            }
        }
        (release, async move {
            blocker.await.expect("the blocker ran");
        })
    }

    fn one_permit(wait: Duration) -> BlockingPool {
        BlockingPool::new(PoolLimits {
            permits: NonZeroUsize::MIN,
            max_wait: wait,
        })
    }

    #[tokio::test]
    async fn a_second_task_past_the_wait_limit_is_unavailable() {
        let pool = one_permit(Duration::from_millis(20));
        let (release, blocker) = occupy(&pool).await;
        assert_eq!(pool.in_use(), 1);

        let second = pool.run(|| 1).await;
        assert!(matches!(second, Err(Infra::Unavailable(_))), "{second:?}");

        release.send(()).unwrap();
        blocker.await;
        assert_eq!(pool.run(|| 2).await.unwrap(), 2, "the pool recovers");
    }

    #[tokio::test]
    async fn a_panicking_task_is_unexpected_and_frees_its_permit() {
        let pool = one_permit(Duration::from_millis(20));
        let outcome = pool.run(|| panic!("boom")).await;
        assert!(matches!(outcome, Err(Infra::Unexpected(_))));
        assert_eq!(pool.available(), 1);
    }
}
