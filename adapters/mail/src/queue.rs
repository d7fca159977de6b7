//! The queue between the request path and the mail server (CONTRACT.md route 3, SECURITY.md
//! EN-03): `send` only enqueues, and a full queue drops the message with a warning rather than
//! make a request wait. One worker task delivers in order, retries what may succeed later with
//! doubling back-off, and writes one log line per failed attempt, naming recipient and subject
//! but never a body (bodies carry reset links).

use std::{future::Future, time::Duration};

use async_trait::async_trait;
use gatehouse_domain::ports::{Mailer, OutgoingEmail};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tracing::{error, info, warn};

/// How the queue delivers.
#[derive(Clone, Copy, Debug)]
pub struct Delivery {
    /// Messages that may wait; one more is dropped with a warning.
    pub capacity: usize,
    /// Tries per message, the first included.
    pub attempts: u32,
    /// The wait before the second try, doubled before each further one.
    pub first_backoff: Duration,
    /// How long one SMTP exchange step may take before the try counts as failed.
    pub timeout: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            capacity: 100,
            attempts: 3,
            first_backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Why one delivery attempt failed.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Whether another try may succeed (a refused connection, a 4xx answer), unlike a
    /// permanent refusal or a message that cannot be built.
    pub retry: bool,
    /// A stable label for the log (`tls_certificate_refused`, `smtp_login_refused`, …), so an
    /// operator can search for one kind of failure.
    pub cause: &'static str,
    /// For the log: the error chain, which never holds the body.
    pub reason: String,
}

/// Carries one message to the mail server.
pub(crate) trait Transport: Send + Sync + 'static {
    fn deliver(&self, email: &OutgoingEmail) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// The [`Mailer`] the use cases get: email is on, and `send` returns at once.
#[derive(Debug)]
pub struct QueuedMailer {
    queue: mpsc::Sender<OutgoingEmail>,
}

/// The delivery task's handle: the composition root keeps it to let queued mail out at
/// shutdown. Dropping it leaves the task running for as long as the mailer lives.
#[derive(Debug)]
pub struct MailWorker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    queue: mpsc::Sender<OutgoingEmail>,
}

/// Starts the delivery task on the current Tokio runtime.
pub(crate) fn start(transport: impl Transport, delivery: Delivery) -> (QueuedMailer, MailWorker) {
    let (queue, waiting) = mpsc::channel(delivery.capacity.max(1));
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(work(transport, delivery, waiting, stopped));
    let mailer = QueuedMailer {
        queue: queue.clone(),
    };
    (mailer, MailWorker { stop, task, queue })
}

#[async_trait]
impl Mailer for QueuedMailer {
    fn is_enabled(&self) -> bool {
        true
    }

    async fn send(&self, email: OutgoingEmail) {
        let (email, reason) = match self.queue.try_send(email) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(email)) => (email, "the mail queue is full"),
            Err(mpsc::error::TrySendError::Closed(email)) => (email, "the mail queue is shut"),
        };
        warn!(event = "email_dropped", to = %email.to, subject = %email.subject, reason);
    }
}

/// How many messages wait in the queue right now, for the metrics (issue 15).
#[derive(Clone, Debug)]
pub struct QueueDepth(mpsc::Sender<OutgoingEmail>);

impl QueueDepth {
    /// Messages queued and not yet taken by the delivery task.
    pub fn waiting(&self) -> usize {
        self.0.max_capacity() - self.0.capacity()
    }
}

impl MailWorker {
    /// A handle reading the queue's depth; it keeps the queue open, like the mailer does.
    pub fn depth(&self) -> QueueDepth {
        QueueDepth(self.queue.clone())
    }

    /// Takes no more mail and waits up to `grace` for the queued messages to go out; what is
    /// left then is dropped with a warning.
    pub async fn drain(self, grace: Duration) {
        let Self {
            stop,
            mut task,
            queue,
        } = self;
        info!(
            event = "mail_drain",
            waiting = queue.max_capacity() - queue.capacity(),
            grace_ms = grace.as_millis(),
            "letting queued mail out before stopping"
        );
        let _ = stop.send(());
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
            warn!(
                event = "email_dropped",
                waiting = queue.max_capacity() - queue.capacity(),
                grace_ms = grace.as_millis(),
                "mail still queued at shutdown was dropped"
            );
        }
    }
}

/// The delivery task: one message at a time, oldest first.
async fn work(
    transport: impl Transport,
    delivery: Delivery,
    mut waiting: mpsc::Receiver<OutgoingEmail>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut listening = true;
    loop {
        let next = tokio::select! {
            next = waiting.recv() => next,
            signal = &mut stopped, if listening => {
                listening = false;
                // Asked to stop: refuse new mail and deliver what waits. A handle merely
                // dropped changes nothing.
                if signal.is_ok() {
                    waiting.close();
                }
                continue;
            }
        };
        let Some(email) = next else { break };
        deliver(&transport, &delivery, &email).await;
    }
}

/// Tries `email` up to `delivery.attempts` times; one log line per failed try.
async fn deliver(transport: &impl Transport, delivery: &Delivery, email: &OutgoingEmail) {
    let attempts = delivery.attempts.max(1);
    let mut backoff = delivery.first_backoff;
    for attempt in 1..=attempts {
        match transport.deliver(email).await {
            Ok(()) => {
                info!(event = "email_sent", to = %email.to, subject = %email.subject, attempt);
                return;
            }
            Err(failure) if failure.retry && attempt < attempts => {
                warn!(
                    event = "email_delivery_failed",
                    to = %email.to,
                    subject = %email.subject,
                    attempt,
                    retry_in_ms = backoff.as_millis(),
                    cause = failure.cause,
                    error = %failure.reason,
                    "email delivery failed; retrying"
                );
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            Err(failure) => {
                error!(
                    event = "email_delivery_failed",
                    to = %email.to,
                    subject = %email.subject,
                    attempt,
                    cause = failure.cause,
                    error = %failure.reason,
                    "email delivery failed; message dropped"
                );
                return;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::{
        cell::RefCell,
        collections::VecDeque,
        io,
        sync::{Arc, Mutex, Once},
    };

    use gatehouse_domain::Email;
    use tokio::{sync::Semaphore, time::Instant};

    use super::*;

    thread_local! {
        /// Where the log of the test running on this thread goes, while it captures.
        static CAPTURE: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
    }

    /// Writes a log line into this thread's capture, or nowhere.
    struct ThreadCapture;

    impl io::Write for ThreadCapture {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            CAPTURE.with_borrow(|capture| {
                if let Some(buffer) = capture {
                    buffer.lock().unwrap().extend_from_slice(bytes);
                }
            });
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Everything `work` writes to the log, as text.
    ///
    /// One process-wide subscriber feeds per-thread buffers. A subscriber scoped to
    /// each test does not work: tracing caches per call site whether anyone listens,
    /// and a test running in parallel without a subscriber can get a shared call site
    /// cached as silent, dropping the lines another test waits for (seen in CI). The
    /// tests run on current-thread runtimes, so the queue's worker task logs on the
    /// thread of its test.
    pub(crate) async fn captured_logs(work: impl Future<Output = ()>) -> String {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(|| ThreadCapture)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
        let buffer = Arc::new(Mutex::new(Vec::new()));
        CAPTURE.set(Some(buffer.clone()));
        work.await;
        CAPTURE.set(None);
        String::from_utf8(buffer.lock().unwrap().clone()).unwrap()
    }

    fn message(subject: &str) -> OutgoingEmail {
        OutgoingEmail {
            to: Email::unchecked("dave@example.com"),
            subject: subject.to_owned(),
            html: "<a href=\"https://app/reset-password?token=body-secret\">".into(),
            text: "https://app/reset-password?token=body-secret".into(),
        }
    }

    fn transient() -> Failure {
        Failure {
            retry: true,
            cause: "unavailable",
            reason: "connection refused".into(),
        }
    }

    /// Answers each try from a script (then succeeds) and records the subjects it was given.
    #[derive(Clone, Default)]
    struct Scripted {
        outcomes: Arc<Mutex<VecDeque<Result<(), Failure>>>>,
        tries: Arc<Mutex<Vec<String>>>,
        /// When set, every try first waits for a permit here and announces itself.
        gate: Option<(Arc<Semaphore>, mpsc::UnboundedSender<()>)>,
    }

    impl Scripted {
        fn failing(outcomes: impl IntoIterator<Item = Failure>) -> Self {
            let scripted = Self::default();
            scripted
                .outcomes
                .lock()
                .unwrap()
                .extend(outcomes.into_iter().map(Err));
            scripted
        }

        fn tries(&self) -> Vec<String> {
            self.tries.lock().unwrap().clone()
        }
    }

    impl Transport for Scripted {
        async fn deliver(&self, email: &OutgoingEmail) -> Result<(), Failure> {
            if let Some((permits, started)) = &self.gate {
                let _ = started.send(());
                permits.acquire().await.unwrap().forget();
            }
            self.tries.lock().unwrap().push(email.subject.clone());
            self.outcomes.lock().unwrap().pop_front().unwrap_or(Ok(()))
        }
    }

    fn delivery(capacity: usize) -> Delivery {
        Delivery {
            capacity,
            ..Delivery::default()
        }
    }

    const GRACE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_after_doubling_waits() {
        let transport = Scripted::failing([transient(), transient()]);
        let (mailer, worker) = start(transport.clone(), delivery(10));
        let begun = Instant::now();
        mailer.send(message("recovery")).await;
        worker.drain(GRACE).await;
        assert_eq!(transport.tries(), ["recovery"; 3]);
        assert_eq!(begun.elapsed(), Duration::from_secs(2 + 4));
    }

    #[tokio::test(start_paused = true)]
    async fn each_failed_try_logs_one_line_without_the_body_then_the_queue_moves_on() {
        let transport = Scripted::failing((0..3).map(|_| transient()));
        let (mailer, worker) = start(transport.clone(), delivery(10));
        let logs = captured_logs(async {
            mailer.send(message("recovery")).await;
            mailer.send(message("next")).await;
            worker.drain(GRACE).await;
        })
        .await;
        assert_eq!(
            transport.tries(),
            ["recovery", "recovery", "recovery", "next"]
        );
        let failures: Vec<_> = logs
            .lines()
            .filter(|l| l.contains("email_delivery_failed"))
            .collect();
        assert_eq!(failures.len(), 3, "{logs}");
        assert!(failures[2].contains("message dropped"), "{logs}");
        assert!(failures.iter().all(|l| l.contains("dave@example.com")));
        assert!(
            !logs.contains("body-secret"),
            "a body reached the log: {logs}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_refusals_are_not_retried() {
        let transport = Scripted::failing([Failure {
            retry: false,
            cause: "refused",
            reason: "550 no such user".into(),
        }]);
        let (mailer, worker) = start(transport.clone(), delivery(10));
        mailer.send(message("recovery")).await;
        worker.drain(GRACE).await;
        assert_eq!(transport.tries(), ["recovery"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_drops_the_message_instead_of_waiting() {
        let permits = Arc::new(Semaphore::new(0));
        let (started, mut starts) = mpsc::unbounded_channel();
        let transport = Scripted {
            gate: Some((permits.clone(), started)),
            ..Scripted::default()
        };
        let (mailer, worker) = start(transport.clone(), delivery(1));
        mailer.send(message("in flight")).await;
        starts.recv().await.unwrap();
        let logs = captured_logs(async {
            mailer.send(message("queued")).await;
            mailer.send(message("overflow")).await;
        })
        .await;
        assert!(logs.contains("the mail queue is full"), "{logs}");
        permits.add_permits(10);
        worker.drain(GRACE).await;
        assert_eq!(transport.tries(), ["in flight", "queued"]);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_delivers_what_waits_and_refuses_more() {
        let transport = Scripted::default();
        let (mailer, worker) = start(transport.clone(), delivery(10));
        for subject in ["one", "two", "three"] {
            mailer.send(message(subject)).await;
        }
        worker.drain(GRACE).await;
        mailer.send(message("late")).await;
        assert_eq!(transport.tries(), ["one", "two", "three"]);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_gives_up_after_the_grace() {
        let permits = Arc::new(Semaphore::new(0));
        let (started, _starts) = mpsc::unbounded_channel();
        let transport = Scripted {
            gate: Some((permits, started)),
            ..Scripted::default()
        };
        let (mailer, worker) = start(transport.clone(), delivery(10));
        mailer.send(message("stuck")).await;
        mailer.send(message("behind")).await;
        let begun = Instant::now();
        let logs = captured_logs(worker.drain(Duration::from_secs(5))).await;
        assert_eq!(begun.elapsed(), Duration::from_secs(5));
        assert!(
            logs.contains("mail still queued at shutdown was dropped"),
            "{logs}"
        );
        assert!(
            logs.contains("waiting=1"),
            "the in-flight one is not waiting: {logs}"
        );
        assert!(transport.tries().is_empty());
    }
}
