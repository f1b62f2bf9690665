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
        snapshot.record(&db.name, outcome);
    }
    if let Ok(pool) = pool {
        pool.close().await;
    }
}

fn log_outcome(db: &DatabaseConfig, snapshot: &Snapshot, outcome: &CheckOutcome) {
    let previous = snapshot
        .read()
        .databases
        .get(&db.name)
        .and_then(|d| d.report.as_ref().map(|r| r.items.len()));
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
