//! The principal cache (issue 14 item 3, docs/principal-cache.md): `load_principal` answered
//! from this process's memory, kept coherent with the database by PostgreSQL `LISTEN/NOTIFY`.
//!
//! It stores; it decides nothing. A cached value is exactly what the query returned (the user
//! and the session row, or its absence), and the application judges it as it judges a fresh
//! one (active? live at `now`?), so the cache is correct as long as no entry outlives a change
//! of the rows it was read from:
//!
//! - **Other writers** (other replicas, the CLI, the template, an operator's SQL): the triggers
//!   of migration 000006 send the user's id on [`CHANNEL`] when a `"user"` or
//!   `gatehouse_session` row changes, and the [listener](run_listener) drops every entry of that
//!   user when it arrives.
//! - **This process's writes**: each SQL write of those rows calls [`PrincipalCache::invalidate`]
//!   once it has committed, before the port method returns, so the next request sees it
//!   without waiting for the notification's round trip.
//! - **A load racing an invalidation**: a load takes a [`Ticket`] (its shard's generation)
//!   before it queries, and its result is stored only if no invalidation of that shard happened
//!   since; an invalidation bumps the generation under the same lock. So a load that read the
//!   rows before a write committed never stores its answer after that write's invalidation.
//! - **No listener** (start-up, connection lost, reconnecting, triggers missing): every lookup
//!   is bypassed and nothing is stored; when the listener is back (it has run `LISTEN` and seen
//!   the triggers, and a notification it sent itself came back through it), the whole cache is
//!   cleared before it is used again, as notifications may have been missed meanwhile. A
//!   listener connection that fails silently is found by that heartbeat, repeated every
//!   [`HEARTBEAT`].
//!
//! Bounded: at most [`SHARDS`] × [`PER_SHARD`] principals, each kept at most [`TTL`] (a
//! backstop; coherence does not rely on it). SQLite has no `NOTIFY`, so there is no cache there.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use gatehouse_domain::{Session, SessionId, User, UserId};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use uuid::Uuid;

/// The channel migration 000006's triggers notify on; the payload is a user id, or `*` for all.
pub(crate) const CHANNEL: &str = "gatehouse_principal";

/// The start of the payloads the listeners' heartbeats send themselves (not a user id).
const HEARTBEAT_PREFIX: &str = "heartbeat:";

/// The `application_name` of the listener's connection (`pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "gatehouse-principal-listener";

/// Shards of the map: a lookup or an invalidation locks one, for a few hundred nanoseconds.
const SHARDS: usize = 64;
/// Principals one shard holds; beyond it an arbitrary one is evicted (16 384 in all).
const PER_SHARD: usize = 256;
/// Longest an entry is served, as a backstop against a bug or a lost notification that the
/// heartbeat could not see; coherence comes from the notifications.
const TTL: Duration = Duration::from_secs(30);

/// How often the listener's connection proves it is alive (and the triggers still exist).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long the heartbeat may take before the connection is given up as silently lost.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting the listener may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Waits between attempts to connect the listener: doubling from the first to the last.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

type Principal = (User, Option<Session>);

/// One shard: its generation (bumped by every invalidation touching it) and its entries,
/// keyed by (user, session), all of one user in the same shard.
#[derive(Default)]
struct Shard {
    generation: u64,
    entries: HashMap<(Uuid, Uuid), (Principal, Instant)>,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// A principal stored since the last invalidation of its user.
    Hit(Box<Principal>),
    /// Nothing stored: load it, then offer it to [`PrincipalCache::store`] with this ticket.
    Miss(Ticket),
    /// The cache is not in use (no listener): load it and store nothing.
    Bypass,
}

/// The generation of a shard when a load began.
pub(crate) struct Ticket {
    shard: usize,
    generation: u64,
}

/// What the cache is doing, for the metrics and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrincipalCacheStats {
    /// Whether the listener is connected and listening, i.e. the cache is in use.
    pub listening: bool,
    /// Principals stored now.
    pub entries: usize,
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups that went to the database while the cache was in use.
    pub misses: u64,
    /// Times the listener started listening (the first time included).
    pub connects: u64,
    /// Times the listener lost its connection (or the triggers) after listening.
    pub disconnects: u64,
}

/// The cache's state, shared by the store's handles and the listener task.
pub(crate) struct PrincipalCache {
    shards: Vec<Mutex<Shard>>,
    listening: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
    connects: AtomicU64,
    disconnects: AtomicU64,
}

fn shard_of(user: Uuid) -> usize {
    let (high, low) = user.as_u64_pair();
    // The remainder is below `SHARDS`, so the cast loses nothing.
    #[allow(clippy::cast_possible_truncation)]
    let index = ((high ^ low) % SHARDS as u64) as usize;
    index
}

impl PrincipalCache {
    /// An empty cache, bypassed until [`PrincipalCache::set_listening`] turns it on.
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            listening: AtomicBool::new(false),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
        }
    }

    fn shard(&self, index: usize) -> MutexGuard<'_, Shard> {
        // Nothing panics while holding a shard; if something did, its map is still whole.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The principal of `(user, session)` if stored and not older than [`TTL`].
    pub(crate) fn lookup(&self, user: UserId, session: SessionId) -> Lookup {
        if !self.listening.load(Ordering::Acquire) {
            return Lookup::Bypass;
        }
        let index = shard_of(user.as_uuid());
        let mut shard = self.shard(index);
        let key = (user.as_uuid(), session.as_uuid());
        match shard.entries.get(&key) {
            Some((principal, stored)) if stored.elapsed() < TTL => {
                let principal = Box::new(principal.clone());
                drop(shard);
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Lookup::Hit(principal);
            }
            Some(_) => {
                shard.entries.remove(&key);
            }
            None => {}
        }
        let ticket = Ticket {
            shard: index,
            generation: shard.generation,
        };
        drop(shard);
        self.misses.fetch_add(1, Ordering::Relaxed);
        Lookup::Miss(ticket)
    }

    /// Stores what a load that took `ticket` read, unless its user's shard was invalidated
    /// since (the load may have read rows older than that invalidation).
    pub(crate) fn store(
        &self,
        ticket: Ticket,
        user: UserId,
        session: SessionId,
        principal: Principal,
    ) {
        let mut shard = self.shard(ticket.shard);
        if shard.generation != ticket.generation {
            return;
        }
        if shard.entries.len() >= PER_SHARD {
            // An arbitrary victim: the map's iteration order is effectively random.
            if let Some(victim) = shard.entries.keys().next().copied() {
                shard.entries.remove(&victim);
            }
        }
        shard.entries.insert(
            (user.as_uuid(), session.as_uuid()),
            (principal, Instant::now()),
        );
    }

    /// Drops every stored principal of `user`, and makes loads that began before this call
    /// store nothing.
    pub(crate) fn invalidate(&self, user: Uuid) {
        let mut shard = self.shard(shard_of(user));
        shard.generation += 1;
        shard.entries.retain(|(owner, _), _| *owner != user);
    }

    /// Drops everything, and makes loads that began before this call store nothing.
    pub(crate) fn invalidate_all(&self) {
        for index in 0..SHARDS {
            let mut shard = self.shard(index);
            shard.generation += 1;
            shard.entries.clear();
        }
    }

    /// Turns the cache on (cleared first: notifications may have been missed while it was
    /// off) or off (bypassed at once, then cleared).
    pub(crate) fn set_listening(&self, listening: bool) {
        if listening {
            self.invalidate_all();
            self.listening.store(true, Ordering::Release);
            self.connects.fetch_add(1, Ordering::Relaxed);
        } else if self.listening.swap(false, Ordering::AcqRel) {
            self.disconnects.fetch_add(1, Ordering::Relaxed);
            self.invalidate_all();
        }
    }

    /// Acts on one notification's payload: a user id, or `*` (or anything unexpected) for all;
    /// the heartbeats of other listeners are nothing.
    fn notified(&self, payload: &str) {
        if payload.starts_with(HEARTBEAT_PREFIX) {
            return;
        }
        match Uuid::parse_str(payload) {
            Ok(user) => self.invalidate(user),
            Err(_) => self.invalidate_all(),
        }
    }

    /// The figures now.
    pub(crate) fn stats(&self) -> PrincipalCacheStats {
        PrincipalCacheStats {
            listening: self.listening.load(Ordering::Acquire),
            entries: (0..SHARDS).map(|i| self.shard(i).entries.len()).sum(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            disconnects: self.disconnects.load(Ordering::Relaxed),
        }
    }
}

/// Why a listening session ended.
#[derive(Debug, thiserror::Error)]
enum Lost {
    #[error(transparent)]
    Database(#[from] sea_orm::sqlx::Error),
    #[error("the connection closed")]
    Closed,
    #[error("the heartbeat did not come back within {HEARTBEAT_TIMEOUT:?}")]
    Silent,
    #[error("the notification triggers of migration 000006 are missing or disabled")]
    NoTriggers,
}

/// The connection options of the listener: `url`'s (TLS through its `sslmode` as for the
/// pool), named so an operator (and a test) can find it in `pg_stat_activity`.
pub(crate) fn listener_options(url: &str) -> Result<PgConnectOptions, sea_orm::sqlx::Error> {
    Ok(PgConnectOptions::from_str(url)?
        .application_name(LISTENER_APPLICATION_NAME)
        // As for the pool: PgBouncer refuses the startup parameter (crate::options).
        .extra_float_digits(None))
}

/// The listener task: connects, listens, feeds notifications to `cache` and keeps it on while
/// the connection lives; off and reconnecting (with a growing wait) otherwise. Never ends by
/// itself; the store aborts it. Never fails a request: while it is down the cache is bypassed.
pub(crate) async fn run_listener(cache: Arc<PrincipalCache>, options: PgConnectOptions) {
    let mut wait = RETRY_FIRST;
    let mut failures = 0u32;
    loop {
        let lost = listen(&cache, &options).await;
        let was_listening = cache.listening.load(Ordering::Acquire);
        cache.set_listening(false);
        if was_listening {
            wait = RETRY_FIRST;
            failures = 0;
            tracing::warn!(
                event = "principal_cache_listener_lost",
                error = %lost,
                "principal cache bypassed until the listener is back"
            );
        } else {
            failures += 1;
            // Loud once per outage, quiet while it lasts.
            if failures == 1 {
                tracing::warn!(
                    event = "principal_cache_listener_unavailable",
                    error = %lost,
                    "principal cache bypassed; retrying"
                );
            } else {
                tracing::debug!(event = "principal_cache_listener_unavailable", error = %lost);
            }
        }
        let pause = if matches!(lost, Lost::NoTriggers) {
            RETRY_MAX
        } else {
            wait
        };
        tokio::time::sleep(pause).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

/// One listening session, from connecting to losing the connection.
async fn listen(cache: &PrincipalCache, options: &PgConnectOptions) -> Lost {
    let pool = match PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(CONNECT_TIMEOUT)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options.clone())
        .await
    {
        Ok(pool) => pool,
        Err(error) => return error.into(),
    };
    let mut listener = match PgListener::connect_with(&pool).await {
        Ok(listener) => listener,
        Err(error) => return error.into(),
    };
    // A lost connection ends this session instead of being replaced behind our back: the
    // cache must be cleared whenever notifications may have been missed.
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    if let Err(error) = listener.listen(CHANNEL).await {
        return error.into();
    }
    let mut probes = Probes::new();
    // Used only once a first probe has come back through this very connection: `LISTEN`
    // "succeeds" behind a transaction-mode pooler too, where nothing would ever arrive.
    let first = probes.next();
    let proved = tokio::time::timeout(HEARTBEAT_TIMEOUT, async {
        send_probe(&mut listener, &first).await?;
        loop {
            match listener.try_recv().await? {
                Some(notification) if notification.payload() == first => return Ok(()),
                // Anything else is moot: the cache is cleared when it is turned on below.
                Some(_) => {}
                None => return Err(Lost::Closed),
            }
        }
    })
    .await;
    match proved {
        Ok(Ok(())) => {}
        Ok(Err(lost)) => return lost,
        Err(_) => return Lost::Silent,
    }
    cache.set_listening(true);
    tracing::info!(
        event = "principal_cache_listening",
        "principal cache in use"
    );
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.tick().await;
    // The probe sent and not yet back, and when it was sent.
    let mut pending: Option<(String, Instant)> = None;
    loop {
        // `try_recv` is cancel-safe (sqlx reads a message only once it is whole), so the
        // heartbeat may interrupt it; notifications arriving during the heartbeat's statements
        // are buffered by the listener and returned first by the next `try_recv`.
        tokio::select! {
            received = listener.try_recv() => match received {
                Ok(Some(notification)) => {
                    let payload = notification.payload();
                    if pending.as_ref().is_some_and(|(sent, _)| sent == payload) {
                        pending = None;
                    } else {
                        cache.notified(payload);
                    }
                }
                Ok(None) => return Lost::Closed,
                Err(error) => return error.into(),
            },
            _ = heartbeat.tick() => {
                if let Some((_, sent)) = &pending {
                    if sent.elapsed() > HEARTBEAT_TIMEOUT {
                        return Lost::Silent;
                    }
                    continue;
                }
                let probe = probes.next();
                match tokio::time::timeout(HEARTBEAT_TIMEOUT, send_probe(&mut listener, &probe)).await {
                    Ok(Ok(())) => pending = Some((probe, Instant::now())),
                    Ok(Err(lost)) => return lost,
                    Err(_) => return Lost::Silent,
                }
            }
        }
    }
}

/// The heartbeat's payloads: `heartbeat:<random>:<n>`, unique to this listening session.
/// Every listener receives every replica's; [`PrincipalCache::notified`] ignores them.
struct Probes {
    prefix: String,
    sent: u64,
}

impl Probes {
    fn new() -> Self {
        Self {
            prefix: format!("{HEARTBEAT_PREFIX}{}", Uuid::new_v4()),
            sent: 0,
        }
    }

    fn next(&mut self) -> String {
        self.sent += 1;
        format!("{}:{}", self.prefix, self.sent)
    }
}

/// One heartbeat on the listener's own connection: fails unless migration 000006's triggers
/// exist and fire on the tables this connection sees (without them nothing would tell the
/// cache of a change: a replica of this release serving before the migration ran, or after a
/// `migrate down`), then notifies `probe`, which must come back through this connection.
async fn send_probe(listener: &mut PgListener, probe: &str) -> Result<(), Lost> {
    let present = sea_orm::sqlx::query_scalar::<_, bool>(
        "SELECT count(*) = 2 FROM pg_trigger \
         WHERE tgrelid IN ('\"user\"'::regclass, 'gatehouse_session'::regclass) \
         AND tgname IN ('gatehouse_user_principal', 'gatehouse_session_principal') \
         AND tgenabled IN ('O', 'A')",
    )
    .fetch_one(&mut *listener)
    .await?;
    if !present {
        return Err(Lost::NoTriggers);
    }
    sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(probe)
        .execute(&mut *listener)
        .await?;
    Ok(())
}

/// The cache and its listener task, as the store's handles hold them: the task stops when
/// the last handle goes (or at [`PrincipalCacheHandle::stop`]).
pub(crate) struct PrincipalCacheHandle {
    pub(crate) cache: Arc<PrincipalCache>,
    listener: tokio::task::AbortHandle,
}

impl PrincipalCacheHandle {
    /// Starts the listener on `options` and returns the cache it feeds.
    pub(crate) fn start(options: PgConnectOptions) -> Self {
        let cache = Arc::new(PrincipalCache::new());
        let listener = tokio::spawn(run_listener(cache.clone(), options)).abort_handle();
        Self { cache, listener }
    }

    /// Stops the listener; the cache is bypassed from now on.
    pub(crate) fn stop(&self) {
        self.listener.abort();
        self.cache.set_listening(false);
    }
}

impl Drop for PrincipalCacheHandle {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::{Email, PasswordHash};
    use time::OffsetDateTime;

    use super::*;

    fn principal(user: UserId, active: bool) -> Principal {
        let user = User {
            id: user,
            email: Email::parse("a@example.com").unwrap(),
            is_active: active,
            is_superuser: false,
            full_name: None,
            hashed_password: PasswordHash::new("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
            created_at: Some(OffsetDateTime::UNIX_EPOCH),
        };
        (user, None)
    }

    fn on() -> PrincipalCache {
        let cache = PrincipalCache::new();
        cache.set_listening(true);
        cache
    }

    fn hit(cache: &PrincipalCache, user: UserId, session: SessionId) -> Option<bool> {
        match cache.lookup(user, session) {
            Lookup::Hit(found) => Some(found.0.is_active),
            _ => None,
        }
    }

    fn ticket(cache: &PrincipalCache, user: UserId, session: SessionId) -> Ticket {
        match cache.lookup(user, session) {
            Lookup::Miss(ticket) => ticket,
            _ => panic!("expected a miss"),
        }
    }

    #[test]
    fn a_stored_principal_is_served_until_its_user_is_invalidated() {
        let cache = on();
        let (user, other, session) = (UserId::random(), UserId::random(), SessionId::random());
        let t = ticket(&cache, user, session);
        cache.store(t, user, session, principal(user, true));
        let t = ticket(&cache, other, session);
        cache.store(t, other, session, principal(other, true));
        assert_eq!(hit(&cache, user, session), Some(true));
        cache.invalidate(user.as_uuid());
        assert_eq!(hit(&cache, user, session), None);
        assert_eq!(hit(&cache, other, session), Some(true), "other users stay");
    }

    /// Requirement 3 of the issue: a load that read the rows before a write committed and
    /// offers its answer after that write's invalidation stores nothing.
    #[test]
    fn a_load_begun_before_an_invalidation_stores_nothing_after_it() {
        let cache = on();
        let (user, session) = (UserId::random(), SessionId::random());
        let before = ticket(&cache, user, session); // the load begins, reads `active`
        cache.invalidate(user.as_uuid()); // the deactivation commits and invalidates
        cache.store(before, user, session, principal(user, true)); // the load ends
        assert_eq!(
            hit(&cache, user, session),
            None,
            "the stale answer was dropped"
        );

        let after = ticket(&cache, user, session);
        cache.store(after, user, session, principal(user, false));
        assert_eq!(hit(&cache, user, session), Some(false));
    }

    #[test]
    fn a_load_begun_before_the_listener_came_back_stores_nothing() {
        let cache = on();
        let (user, session) = (UserId::random(), SessionId::random());
        let before = ticket(&cache, user, session);
        cache.set_listening(false);
        cache.set_listening(true);
        cache.store(before, user, session, principal(user, true));
        assert_eq!(hit(&cache, user, session), None);
    }

    #[test]
    fn without_a_listener_everything_is_bypassed_and_reconnecting_clears() {
        let cache = PrincipalCache::new();
        let (user, session) = (UserId::random(), SessionId::random());
        assert!(matches!(cache.lookup(user, session), Lookup::Bypass));
        cache.set_listening(true);
        let t = ticket(&cache, user, session);
        cache.store(t, user, session, principal(user, true));
        cache.set_listening(false);
        assert!(matches!(cache.lookup(user, session), Lookup::Bypass));
        cache.set_listening(true);
        assert_eq!(hit(&cache, user, session), None, "cleared on reconnect");
        let stats = cache.stats();
        assert_eq!((stats.connects, stats.disconnects), (2, 1));
    }

    #[test]
    fn a_heartbeat_is_nothing_to_the_cache() {
        let cache = on();
        let (user, session) = (UserId::random(), SessionId::random());
        let t = ticket(&cache, user, session);
        cache.store(t, user, session, principal(user, true));
        cache.notified(&Probes::new().next());
        assert_eq!(hit(&cache, user, session), Some(true));
    }

    #[test]
    fn a_star_or_an_odd_payload_clears_everything() {
        let cache = on();
        let (user, session) = (UserId::random(), SessionId::random());
        for payload in ["*", "not a uuid"] {
            let t = ticket(&cache, user, session);
            cache.store(t, user, session, principal(user, true));
            cache.notified(payload);
            assert_eq!(hit(&cache, user, session), None, "{payload}");
        }
    }

    #[test]
    fn memory_is_bounded() {
        let cache = on();
        let session = SessionId::random();
        for _ in 0..(SHARDS * PER_SHARD * 2) {
            let user = UserId::random();
            let t = ticket(&cache, user, session);
            cache.store(t, user, session, principal(user, true));
        }
        assert!(cache.stats().entries <= SHARDS * PER_SHARD);
    }
}
