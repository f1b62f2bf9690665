//! The only state shared between the pollers (writers) and HTTP (readers): the latest outcome of
//! every configured database. Metrics and `/drift` are rendered from it at request time, so a scrape
//! never touches a database and series vanish as soon as their drift or their table does.

use indexmap::IndexMap;
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime};

use crate::check::CheckOutcome;
use crate::check::DriftReport;
use crate::config::Config;
use crate::dialect::Engine;

/// What is known about one database.
#[derive(Debug, Clone)]
pub struct DatabaseState {
    /// Engine, for `/drift`.
    pub engine: Engine,
    /// The expectation's source, as shown to people.
    pub expected_source: String,
    /// Configured time between checks (exported so staleness alerts need no per-site threshold).
    pub interval: Duration,
    /// Configured deploy grace window (exported for the alert rules).
    pub deploy_grace: Duration,
    /// Checks attempted since the exporter started.
    pub checks_total: u64,
    /// Checks that failed since the exporter started.
    pub failures_total: u64,
    /// The most recent attempt, successful or not.
    pub last_check: Option<LastCheck>,
    /// When the last successful check started.
    pub last_success: Option<SystemTime>,
    /// Result of the last successful check; kept when later checks fail.
    pub report: Option<DriftReport>,
    /// Fingerprint of the expectation the last successful check used.
    pub expected_fingerprint: Option<u64>,
    /// When the expectation's content last changed (see `schema_expected_last_change_timestamp_seconds`).
    pub expected_changed: Option<SystemTime>,
}

/// The most recent check attempt.
#[derive(Debug, Clone)]
pub struct LastCheck {
    /// When it started.
    pub at: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Why it failed, when it did (password already scrubbed).
    pub error: Option<String>,
}

/// Exporter-wide state.
#[derive(Debug)]
pub struct State {
    /// Per database, in config order.
    pub databases: IndexMap<String, DatabaseState>,
    /// Whether the last config reload succeeded.
    pub reload_ok: bool,
    /// Cap on detail series per scrape, from the config.
    pub detail_series_limit: usize,
}

/// Shared handle to [`State`].
#[derive(Debug)]
pub struct Snapshot(RwLock<State>);

impl Snapshot {
    /// State for a freshly loaded config: every database pending.
    pub fn new(config: &Config) -> Snapshot {
        let s = Snapshot(RwLock::new(State {
            databases: IndexMap::new(),
            reload_ok: true,
            detail_series_limit: config.detail_series_limit,
        }));
        s.apply_config(config);
        s
    }

    /// Adopts a new config: databases no longer configured disappear (and with them their series),
    /// new ones start pending, and the ones that stay keep their history and counters.
    pub fn apply_config(&self, config: &Config) {
        let mut state = self.write();
        let mut next = IndexMap::new();
        for db in &config.databases {
            let mut entry =
                state
                    .databases
                    .swap_remove(&db.name)
                    .unwrap_or_else(|| DatabaseState {
                        engine: db.engine,
                        expected_source: String::new(),
                        interval: db.interval,
                        deploy_grace: db.deploy_grace,
                        checks_total: 0,
                        failures_total: 0,
                        last_check: None,
                        last_success: None,
                        report: None,
                        expected_fingerprint: None,
                        expected_changed: None,
                    });
            if entry.engine != db.engine {
                // A different database behind the same name: its old drift says nothing about it.
                entry.report = None;
                entry.engine = db.engine;
            }
            entry.expected_source = db.expected.describe();
            entry.interval = db.interval;
            entry.deploy_grace = db.deploy_grace;
            next.insert(db.name.clone(), entry);
        }
        state.databases = next;
        state.detail_series_limit = config.detail_series_limit;
    }

    /// Records a check outcome for `name` (ignored if the database was removed meanwhile). Takes the
    /// outcome by value: the report moves into the state instead of being copied at every check.
    pub fn record(&self, name: &str, outcome: CheckOutcome) {
        let mut state = self.write();
        let Some(db) = state.databases.get_mut(name) else {
            return;
        };
        db.checks_total += 1;
        let error = match outcome.result {
            Ok(checked) => {
                db.last_success = Some(outcome.started);
                db.report = Some(checked.report);
                if db.expected_fingerprint != Some(checked.expected_fingerprint) {
                    // First sight: the file's own modification time is the best estimate of when
                    // the expectation changed (usually the deploy); afterwards we saw it change.
                    db.expected_changed = match db.expected_fingerprint {
                        None => checked.expected_modified.or(Some(outcome.started)),
                        Some(_) => Some(outcome.started),
                    };
                    db.expected_fingerprint = Some(checked.expected_fingerprint);
                }
                None
            }
            Err(e) => {
                db.failures_total += 1;
                Some(e.to_string())
            }
        };
        db.last_check = Some(LastCheck {
            at: outcome.started,
            duration: outcome.duration,
            error,
        });
    }

    /// Records whether a reload succeeded.
    pub fn set_reload_ok(&self, ok: bool) {
        self.write().reload_ok = ok;
    }

    /// True once every configured database has had its first check attempted.
    pub fn ready(&self) -> bool {
        self.read()
            .databases
            .values()
            .all(|d| d.last_check.is_some())
    }

    /// Read access for rendering. Hold it only while rendering: writers wait on it.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-written in a way readers care
        // about (every write is a plain field assignment), so a poisoned lock is still usable.
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}
