//! `gatehouse prune [--keep-days N]`: deletes long-ended sessions and stale throttle
//! counters; meant for a daily scheduled run.

use std::process::ExitCode;

use gatehouse_domain::error_chain;
use time::Duration;

use crate::{cli::PruneArgs, config::Settings, wiring};

/// Prunes and says how much; exit 1 with a reason when it cannot.
pub async fn run(settings: Settings, args: &PruneArgs) -> ExitCode {
    let service = match wiring::assemble(settings, false).await {
        Ok(service) => service,
        Err(e) => return super::fail("prune", &error_chain(&e)),
    };
    let result = service
        .app
        .prune(Duration::days(i64::from(args.keep_days)))
        .await;
    service.resources.close().await;
    match result {
        Ok(pruned) => {
            println!(
                "deleted {} session(s) ended more than {} day(s) ago and {} stale throttle counter(s)",
                pruned.sessions, args.keep_days, pruned.throttle_windows
            );
            ExitCode::SUCCESS
        }
        Err(e) => super::fail("prune", &error_chain(&e)),
    }
}
