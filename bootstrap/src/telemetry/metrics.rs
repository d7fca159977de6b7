//! The Prometheus side of the metrics (issue 15): installs the process's one recorder (with
//! `METRICS_ADDR` only, so nothing is measured otherwise), registers every help text, sets the
//! fixed series (build info, start time) and samples the resource gauges at each scrape; the HTTP
//! adapter serves what it renders at `GET /metrics` on a listener of its own, never the API's.
//! What is counted is recorded where it happens: the HTTP adapter, the hashing pool, and the
//! events of [`events`](super::events).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gatehouse_crypto::{Argon2Hasher, metrics::PERMITS_IN_USE};
use gatehouse_mail::QueueDepth;
use gatehouse_sql::SqlStore;
use metrics::{counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};

use crate::build_info;

/// `1`, labelled with the `version` and git `commit` running.
pub const BUILD_INFO: &str = "gatehouse_build_info";
/// When this process started serving, in Unix seconds.
pub const START_TIME: &str = "gatehouse_start_time_seconds";
/// Connections the database pool holds (in use or idle), its idle ones, and its ceiling.
pub const DB_POOL_CONNECTIONS: &str = "gatehouse_db_pool_connections";
pub const DB_POOL_IDLE: &str = "gatehouse_db_pool_idle_connections";
pub const DB_POOL_MAX: &str = "gatehouse_db_pool_max_connections";
/// Emails waiting in the outgoing queue (absent while email is off).
pub const MAIL_QUEUE_DEPTH: &str = "gatehouse_mail_queue_depth";
/// 1 while the principal cache's listener listens (the cache is in use), 0 while bypassed;
/// absent without a cache (SQLite).
pub const PRINCIPAL_CACHE_LISTENING: &str = "gatehouse_principal_cache_listening";
/// Principals the cache holds.
pub const PRINCIPAL_CACHE_ENTRIES: &str = "gatehouse_principal_cache_entries";
/// Lookups of the cache in use, by `result` (`hit`, `miss`).
pub const PRINCIPAL_CACHE_LOOKUPS: &str = "gatehouse_principal_cache_lookups_total";
/// Times the listener lost its connection after listening.
pub const PRINCIPAL_CACHE_DISCONNECTS: &str = "gatehouse_principal_cache_disconnects_total";

/// How often histogram samples are folded in when nobody scrapes, so memory stays bounded.
const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the recorder and sets the fixed series; call once, before serving.
///
/// # Errors
/// When a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    // Every histogram here is a duration in seconds; one set of buckets, 1 ms to 10 s.
    let handle = PrometheusBuilder::new()
        .set_buckets(&gatehouse_http::metrics::DURATION_BUCKETS)?
        .install_recorder()?;
    gatehouse_http::metrics::describe();
    gatehouse_crypto::metrics::describe();
    super::events::describe();
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the labels name the version and git commit"
    );
    describe_gauge!(START_TIME, "When the process started, in Unix seconds");
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Database connections open, in use or idle"
    );
    describe_gauge!(DB_POOL_IDLE, "Database connections open and idle");
    describe_gauge!(DB_POOL_MAX, "Most database connections the pool may open");
    describe_gauge!(MAIL_QUEUE_DEPTH, "Emails waiting to be sent");
    describe_gauge!(
        PRINCIPAL_CACHE_LISTENING,
        "1 while the principal cache is in use (its listener listens), 0 while bypassed"
    );
    describe_gauge!(PRINCIPAL_CACHE_ENTRIES, "Principals the cache holds");
    describe_counter!(
        PRINCIPAL_CACHE_LOOKUPS,
        "Principal cache lookups while in use, by result (hit, miss)"
    );
    describe_counter!(
        PRINCIPAL_CACHE_DISCONNECTS,
        "Times the principal cache's listener lost its connection"
    );
    gauge!(BUILD_INFO, "version" => build_info::VERSION, "commit" => build_info::COMMIT).set(1.0);
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    gauge!(START_TIME).set(started.as_secs_f64());
    Ok(handle)
}

/// The resources whose state is read at each scrape.
pub struct Gauges {
    pub db: SqlStore,
    pub mail: Option<QueueDepth>,
    pub hasher: Arc<Argon2Hasher>,
}

impl Gauges {
    fn sample(&self) {
        let pool = self.db.pool_stats();
        gauge!(DB_POOL_CONNECTIONS).set(f64::from(pool.size));
        gauge!(DB_POOL_IDLE).set(pool.idle as f64);
        gauge!(DB_POOL_MAX).set(f64::from(pool.max));
        gauge!(PERMITS_IN_USE).set(self.hasher.permits_in_use() as f64);
        if let Some(mail) = &self.mail {
            gauge!(MAIL_QUEUE_DEPTH).set(mail.waiting() as f64);
        }
        if let Some(cache) = self.db.principal_cache_stats() {
            gauge!(PRINCIPAL_CACHE_LISTENING).set(if cache.listening { 1.0 } else { 0.0 });
            gauge!(PRINCIPAL_CACHE_ENTRIES).set(cache.entries as f64);
            counter!(PRINCIPAL_CACHE_LOOKUPS, "result" => "hit").absolute(cache.hits);
            counter!(PRINCIPAL_CACHE_LOOKUPS, "result" => "miss").absolute(cache.misses);
            counter!(PRINCIPAL_CACHE_DISCONNECTS).absolute(cache.disconnects);
        }
    }
}

/// What one scrape answers: the gauges sampled now, then every series rendered.
pub fn scrape(handle: PrometheusHandle, gauges: Gauges) -> impl Fn() -> String + Send + Sync {
    move || {
        gauges.sample();
        handle.render()
    }
}

/// Folds histogram samples in every few seconds, for as long as the process runs.
pub async fn upkeep(handle: PrometheusHandle) {
    let mut every = tokio::time::interval(UPKEEP);
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}
