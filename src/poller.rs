//! One background task per database: check, publish to the [`Snapshot`], sleep, repeat.
//!
//! A task runs its checks one after another, so at most one check per database is in flight; a
//! shared semaphore caps checks across databases. Shutdown (or a reload) is a value passed in, and
//! every wait selects on it, so stopping never waits for an interval to run out.

use std::sync::Arc;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::check::{pool_for, run_check, CheckError, CheckOutcome};
use crate::config::{Config, DatabaseConfig};
use crate::expected::ExpectedCache;
use crate::snapshot::Snapshot;

/// The running pollers of one configuration generation.
#[derive(Debug)]
pub struct Pollers {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Pollers {
    /// Starts one poller per configured database.
    pub fn start(config: &Config, snapshot: Arc<Snapshot>) -> Pollers {
        let (stop, stopped) = watch::channel(false);
        let limiter = Arc::new(Semaphore::new(config.max_concurrent_checks));
        let mut tasks = JoinSet::new();
        for db in &config.databases {
            tasks.spawn(poll(
                db.clone(),
                snapshot.clone(),
                limiter.clone(),
                stopped.clone(),
            ));
        }
        Pollers { stop, tasks }
    }

    /// Stops every poller and waits for them; a check in flight is abandoned.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn poll(
    db: DatabaseConfig,
    snapshot: Arc<Snapshot>,
    limiter: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let pool = pool_for(&db);
    let mut cache = ExpectedCache::default();
    let mut ticker = tokio::time::interval(db.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::info!(database = %db.name, engine = db.engine.name(), url = %db.url, interval = %humantime::format_duration(db.interval), "watching database");
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticker.tick() => {}
        }
        let _permit = tokio::select! {
            _ = stop.changed() => break,
            permit = limiter.acquire() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let outcome = match &pool {
            Ok(pool) => {
                tokio::select! {
                    _ = stop.changed() => break,
                    outcome = run_check(&db, pool, &mut cache) => outcome,
                }
            }
            Err(e) => CheckOutcome::failed(CheckError::Options(e.clone())),
        };
        log_outcome(&db, &snapshot, &outcome);
        // Recording renders this database's series: off the async workers, like the check.
        let (shared, name) = (snapshot.clone(), db.name.clone());
        if tokio::task::spawn_blocking(move || {
            shared.record(&name, outcome);
            release_freed_memory();
        })
        .await
        .is_err()
        {
            tracing::error!(database = %db.name, "recording the check outcome failed");
        }
    }
    if let Ok(pool) = pool {
        pool.close().await;
    }
}

/// Returns the memory a check freed to the operating system. A check allocates about twice what it
/// keeps (the live catalog, the parse of a changed expectation), on whichever blocking thread ran
/// it, and glibc keeps such freed pages in that thread's arena: at 10,000 tables that was 44 MiB of
/// resident memory holding nothing. Other allocators and platforms return memory by themselves.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; it takes no pointers of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn log_outcome(db: &DatabaseConfig, snapshot: &Snapshot, outcome: &CheckOutcome) {
    let previous = snapshot.with_state(|state| {
        state
            .databases
            .get(&db.name)
            .and_then(|d| d.report.as_ref().map(|r| r.items.len()))
    });
    match &outcome.result {
        Err(e) => tracing::warn!(database = %db.name, error = %e, "check failed"),
        Ok(c) if previous != Some(c.report.items.len()) => tracing::info!(
            database = %db.name,
            drift_items = c.report.items.len(),
            duration_ms = outcome.duration.as_millis() as u64,
            "drift changed"
        ),
        Ok(c) => {
            tracing::debug!(database = %db.name, drift_items = c.report.items.len(), "check done")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Paused time: the clock moves only when every task waits on a timer, so an hour of intervals
    /// runs in milliseconds and exactly. The databases' URLs cannot make a pool, so their checks do
    /// no I/O and fail at once: what is measured is the scheduling alone.
    #[tokio::test(start_paused = true)]
    async fn each_database_is_checked_once_per_its_interval_and_ready_after_its_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("e.yaml"), "tables: {}\n").unwrap();
        let url = "postgres://u@127.0.0.1/db?sslmode=no-such-mode";
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            format!("databases:\n  - name: often\n    url: {url}\n    interval: 1m\n    timeout: 5s\n    expected: {{file: e.yaml}}\n  - name: rarely\n    url: {url}\n    interval: 10m\n    timeout: 5s\n    expected: {{file: e.yaml}}\n"),
        )
        .unwrap();
        let config = crate::config::load(&path).unwrap();
        let snapshot = Arc::new(Snapshot::new(&config));
        assert!(!snapshot.published().ready, "ready before any check");
        let checks = |name: &str| snapshot.with_state(|s| s.databases[name].checks_total);

        let pollers = Pollers::start(&config, snapshot.clone());
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            (checks("often"), checks("rarely")),
            (1, 1),
            "first checks are immediate"
        );
        snapshot.publish();
        assert!(snapshot.published().ready);
        let error = snapshot.with_state(|s| {
            let last = s.databases["often"].last_check.as_ref();
            last.and_then(|c| c.error.clone())
        });
        assert!(error.unwrap().contains("invalid connection options"));

        // To 20m30s: ticks at 0, 1, ..., 20 minutes, and at 0, 10, 20.
        tokio::time::sleep(Duration::from_secs(20 * 60 + 29)).await;
        assert_eq!((checks("often"), checks("rarely")), (21, 3));
        pollers.stop().await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(checks("often"), 21, "a stopped poller checks no more");
    }
}
