//! What is known about every configured database: the latest outcome of its checks, its counters and
//! its configuration as exported. Plain data: [`crate::snapshot`] shares it between the pollers and
//! HTTP, and [`crate::metrics`] and [`crate::report`] render it.

use indexmap::IndexMap;
use std::time::{Duration, SystemTime};

use crate::check::{CheckOutcome, DriftReport, TenantReport};
use crate::config::{Config, TableSeries};
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
    /// A check came due and has not started within the database's timeout (every slot was busy):
    /// what it reports is older than its interval promises. Cleared by the next recorded check.
    pub overdue: bool,
    /// Checks that became overdue since the exporter started: the flag above is up only until the
    /// late check runs, which a scrape may miss; the count never is.
    pub overdue_total: u64,
    /// Tenant schemas that appeared since the exporter started (matched by a check, not by the
    /// successful check before it).
    pub tenants_appeared_total: u64,
    /// Tenant schemas that disappeared since the exporter started.
    pub tenants_disappeared_total: u64,
}

/// Fills in which tenant schemas of database `name` appeared and disappeared since `before`, the
/// previous successful check's (none at the first: every tenant is new to us then, not new).
fn tenant_changes(name: &str, before: Option<&TenantReport>, now: &mut TenantReport) {
    let Some(before) = before else {
        return;
    };
    if before.found.patterns != now.found.patterns {
        // A reload changed what a tenant is: the schemas matched now are the new baseline.
        tracing::info!(
            database = name,
            tenants = now.found.matched.len(),
            "tenant patterns changed; tenant schemas counted anew"
        );
        return;
    }
    // Both lists are sorted: one merge finds both differences.
    let (old, new) = (&before.found.matched, &now.found.matched);
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a == b => (i, j) = (i + 1, j + 1),
            (Some(a), Some(b)) if a < b => {
                now.disappeared.push(a.clone());
                i += 1;
            }
            (Some(_), Some(b)) | (None, Some(b)) => {
                now.appeared.push(b.clone());
                j += 1;
            }
            (Some(a), None) => {
                now.disappeared.push(a.clone());
                i += 1;
            }
            (None, None) => break,
        }
    }
    for schema in &now.appeared {
        tracing::info!(database = name, schema = %schema, "tenant schema appeared");
    }
    for schema in &now.disappeared {
        tracing::warn!(database = name, schema = %schema, "tenant schema disappeared");
    }
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
    /// Which per-table series in-sync tables get, from the config.
    pub table_series: TableSeries,
}

impl State {
    /// State for a freshly loaded config: every database pending.
    pub fn new(config: &Config) -> State {
        let mut s = State {
            databases: IndexMap::new(),
            reload_ok: true,
            detail_series_limit: config.detail_series_limit,
            table_series: config.table_series,
        };
        s.apply_config(config);
        s
    }

    /// Adopts a new config: databases no longer configured disappear (and with them their series),
    /// new ones start pending, and the ones that stay keep their history and counters.
    pub fn apply_config(&mut self, config: &Config) {
        let mut next = IndexMap::new();
        for db in &config.databases {
            let mut entry = self
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
                    overdue: false,
                    overdue_total: 0,
                    tenants_appeared_total: 0,
                    tenants_disappeared_total: 0,
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
        self.databases = next;
        self.detail_series_limit = config.detail_series_limit;
        self.table_series = config.table_series;
    }

    /// Records a check outcome for `name` (ignored if the database was removed meanwhile). Takes the
    /// outcome by value: the report moves into the state instead of being copied at every check.
    pub fn record(&mut self, name: &str, outcome: CheckOutcome) -> bool {
        let Some(db) = self.databases.get_mut(name) else {
            return false;
        };
        db.checks_total += 1;
        db.overdue = false;
        let error = match outcome.result {
            Ok(mut checked) => {
                db.last_success = Some(outcome.started);
                if let Some(tenants) = &mut checked.report.tenants {
                    let before = db.report.as_ref().and_then(|r| r.tenants.as_ref());
                    tenant_changes(name, before, tenants);
                    db.tenants_appeared_total += tenants.appeared.len() as u64;
                    db.tenants_disappeared_total += tenants.disappeared.len() as u64;
                }
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
        true
    }

    /// Marks `name`'s due check as not started in time; false when nothing changed.
    pub fn mark_overdue(&mut self, name: &str) -> bool {
        match self.databases.get_mut(name) {
            Some(db) if !db.overdue => {
                db.overdue = true;
                db.overdue_total += 1;
                true
            }
            _ => false,
        }
    }

    /// True once every configured database has had its first check attempted.
    pub fn ready(&self) -> bool {
        self.databases.values().all(|d| d.last_check.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::TenantComparison;

    fn tenants(matched: &[&str]) -> TenantReport {
        TenantReport {
            found: TenantComparison {
                matched: matched.iter().map(|s| s.to_string()).collect(),
                ..TenantComparison::default()
            },
            ..TenantReport::default()
        }
    }

    #[test]
    fn tenant_changes_are_the_two_differences_of_the_matched_lists() {
        let before = tenants(&["a", "c", "d", "f"]);
        let mut now = tenants(&["b", "c", "e", "f", "g"]);
        tenant_changes("db", Some(&before), &mut now);
        assert_eq!(now.appeared, ["b", "e", "g"]);
        assert_eq!(now.disappeared, ["a", "d"]);
        // The first check sees every tenant for the first time: none of them is a change.
        let mut first = tenants(&["a", "b"]);
        tenant_changes("db", None, &mut first);
        assert!(first.appeared.is_empty() && first.disappeared.is_empty());
        let mut gone = tenants(&[]);
        tenant_changes("db", Some(&before), &mut gone);
        assert_eq!(gone.disappeared, ["a", "c", "d", "f"]);
        // New patterns (a reload): a new baseline, not thousands of tenants gone.
        let mut repatterned = tenants(&["z"]);
        repatterned.found.patterns = vec!["z*".into()];
        tenant_changes("db", Some(&before), &mut repatterned);
        assert!(repatterned.appeared.is_empty() && repatterned.disappeared.is_empty());
    }
}
