//! One check of one database: load the expectation, read the catalog, diff. Used by the poller and by
//! the `check` command, so both behave identically.

use serde::Serialize;
use std::time::{Duration, Instant, SystemTime};
use thiserror::Error;

use crate::config::DatabaseConfig;
use crate::dialect::Engine;
use crate::diff::{compare, Comparison, Drift, DriftKind, ExpectedTable, TenantComparison};
use crate::engine::{render_change, Pool, SessionLimits};
use crate::expected::{ExpectedCache, ExpectedError};
use crate::model::Change;
use crate::tenant::Tenants;

/// One difference as people and tools see it (`/drift`, `check`): the diff's item with its change
/// rendered as SQL in the database's dialect.
pub type DriftItem = Drift<SuggestedFix>;

/// A change rendered for one engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuggestedFix {
    /// SQL in the engine's dialect that would make the database match the expectation.
    pub suggested_sql: String,
    /// True when the suggested SQL can destroy data; review before running it.
    pub destructive: bool,
}

impl SuggestedFix {
    /// Renders `change` for `engine`.
    pub fn new(engine: Engine, change: &Change) -> SuggestedFix {
        SuggestedFix {
            suggested_sql: render_change(engine, change),
            destructive: change.destructive(),
        }
    }
}

/// What one successful check found, ready to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// Every difference found, tables first, in expectation order.
    pub items: Vec<DriftItem>,
    /// Every expected (not ignored) table, so in-sync tables can be published as zero.
    pub expected_tables: Vec<ExpectedTable>,
    /// Every schema compared by name, so schema-level gauges exist even when nothing drifted.
    pub schemas: Vec<String>,
    /// With tenant patterns: the tenant schemas matched and drifted, and which appeared or
    /// disappeared since the previous successful check (filled in by [`crate::state`]).
    pub tenants: Option<TenantReport>,
}

/// The tenant schemas of a [`DriftReport`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TenantReport {
    /// What the comparison found.
    #[serde(flatten)]
    pub found: TenantComparison,
    /// Matched now, not at the previous successful check.
    pub appeared: Vec<String>,
    /// Matched at the previous successful check, not now.
    pub disappeared: Vec<String>,
}

impl DriftReport {
    /// Renders every item of a comparison in `engine`'s dialect, once per item.
    pub fn new(engine: Engine, comparison: Comparison) -> DriftReport {
        DriftReport {
            items: comparison
                .drift
                .into_iter()
                .map(|d| d.map_fix(|change| SuggestedFix::new(engine, &change)))
                .collect(),
            expected_tables: comparison.expected_tables,
            schemas: comparison.schemas,
            tenants: comparison.tenants.map(|found| TenantReport {
                found,
                ..TenantReport::default()
            }),
        }
    }

    /// True when nothing drifted.
    pub fn in_sync(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of items of `kind`.
    pub fn count(&self, kind: DriftKind) -> usize {
        self.items.iter().filter(|i| i.kind == kind).count()
    }
}

/// Why a check did not complete. Messages never contain the password (driver errors are scrubbed).
#[derive(Debug, Error)]
pub enum CheckError {
    /// The expectation could not be loaded.
    #[error("expected schema: {0}")]
    Expected(#[from] ExpectedError),
    /// The URL's options could not be turned into a connection pool.
    #[error("invalid connection options: {0}")]
    Options(String),
    /// No session could be opened: refused, unresolvable, unreachable, stuck, TLS or login (the
    /// cause, as far as it is known).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Connecting or reading the catalog failed.
    #[error("catalog read failed: {0}")]
    Catalog(String),
    /// Work of ours that should not fail did (a panic in the diff, say); a bug to report.
    #[error("internal error: {0}")]
    Internal(String),
    /// The whole check ran past its timeout.
    #[error("check timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
}

/// A successful check.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What drifted.
    pub report: DriftReport,
    /// Fingerprint of the resolved expectation, to notice real content changes.
    pub expected_fingerprint: u64,
    /// When the expectation's source last changed on disk, if known.
    pub expected_modified: Option<SystemTime>,
}

/// The outcome of one check attempt.
#[derive(Debug)]
pub struct CheckOutcome {
    /// Wall-clock start, for `/drift`.
    pub started: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// What it found, or why it failed.
    pub result: Result<Checked, CheckError>,
}

impl CheckOutcome {
    /// An outcome that failed before any work started.
    pub fn failed(error: CheckError) -> CheckOutcome {
        CheckOutcome {
            started: SystemTime::now(),
            duration: Duration::ZERO,
            result: Err(error),
        }
    }
}

/// Builds the database's lazily connecting pool, bounded by its timeout. The error is scrubbed of
/// the password and kept as text so a poller can report it at every interval.
pub fn pool_for(db: &DatabaseConfig) -> Result<Pool, String> {
    Pool::connect_lazy(db.engine, &db.url, SessionLimits::for_check(db.timeout))
        .map_err(|e| db.url.scrub(&e.to_string()))
}

/// Runs one check bounded by the database's timeout.
pub async fn run_check(
    db: &DatabaseConfig,
    pool: &Pool,
    cache: &mut ExpectedCache,
) -> CheckOutcome {
    let started = SystemTime::now();
    let clock = Instant::now();
    let result = match tokio::time::timeout(db.timeout, check(db, pool, cache)).await {
        Ok(r) => r,
        Err(_) => Err(CheckError::Timeout(db.timeout)),
    };
    CheckOutcome {
        started,
        duration: clock.elapsed(),
        result,
    }
}

async fn check(
    db: &DatabaseConfig,
    pool: &Pool,
    cache: &mut ExpectedCache,
) -> Result<Checked, CheckError> {
    // The expectation is loaded (parsed on the blocking pool when it changed) while the catalog of
    // the configured schemas is read: the two take about as long as each other on a large schema,
    // and the database does its part on its own core. A broken expectation is reported as soon as
    // it is known, and in preference to a catalog error, whichever finished first.
    let expectation_schemas = db.expectation_schemas();
    let load = db.expected.load(db.engine, &expectation_schemas, cache);
    let read = read_catalog(db, pool, &db.schemas, db.tenants.as_ref());
    tokio::pin!(load, read);
    let (expectation, live) = tokio::select! {
        biased;
        expectation = &mut load => {
            let expectation = expectation?;
            (expectation, read.await)
        }
        live = &mut read => (load.await?, live),
    };
    let mut live = live?;
    if let Some(tenants) = &db.tenants {
        check_tenants(db, tenants, &expectation.schema, &live)?;
    }
    // Expected tables may name schemas beyond the configured ones; read those too so they are not
    // reported missing (tables there are still never reported as unexpected). The tenant
    // template's schema is a pattern, not a schema to read.
    let mut extra: Vec<String> = Vec::new();
    let template = db.tenants.as_ref().map(|t| t.template());
    for table in expectation.schema.tables.values() {
        let schema = &table.name.schema;
        let named = db.schemas.contains(schema) || template == Some(schema.as_str());
        let tenant = db
            .tenants
            .as_ref()
            .is_some_and(|t| t.matches(db.engine, schema));
        if !named && !tenant && !extra.contains(schema) {
            extra.push(schema.clone());
        }
    }
    if !extra.is_empty() {
        live.tables
            .extend(read_catalog(db, pool, &extra, None).await?.tables);
    }
    // Diffing and rendering grow with the schema: off the async workers, so scrapes and health
    // checks never wait behind them. The timeout above still fires on time if this overruns.
    let (engine, schemas, ignore) = (db.engine, db.schemas.clone(), db.ignore.clone());
    let tenants = db.tenants.clone();
    let expected = expectation.clone();
    let report = tokio::task::spawn_blocking(move || {
        let comparison = compare(
            engine,
            &expected.schema,
            &live,
            &schemas,
            tenants.as_ref(),
            &ignore,
        );
        drop(live);
        DriftReport::new(engine, comparison)
    })
    .await
    .map_err(|e| CheckError::Internal(e.to_string()))?;
    Ok(Checked {
        report,
        expected_fingerprint: expectation.fingerprint,
        expected_modified: expectation.modified,
    })
}

/// What would make a tenant comparison lie, refused as a failed check rather than reported as
/// drift or as in sync: an empty template ([`empty_template`]), and tenant schemas whose names
/// differ only in case on an engine that compares names case-insensitively (MySQL/MariaDB
/// databases on a case-sensitive server): their tables would merge into one.
fn check_tenants(
    db: &DatabaseConfig,
    tenants: &Tenants,
    expected: &crate::model::Schema,
    live: &crate::model::Schema,
) -> Result<(), CheckError> {
    if let Some(e) = empty_template(db, expected) {
        return Err(CheckError::Expected(e));
    }
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for schema in &live.namespaces {
        if let Some(other) = seen.insert(db.engine.fold_identifier(schema), schema) {
            return Err(CheckError::Catalog(format!(
                "schemas {other:?} and {schema:?} differ only in case; {} names are compared \
                 case-insensitively, so their tables cannot be told apart (rename one, or \
                 narrow the pattern {})",
                db.engine.name(),
                tenants.patterns().join(", ")
            )));
        }
    }
    Ok(())
}

/// With tenant patterns, an expectation without unqualified tables has an empty template: every
/// tenant table would be reported unexpected (with a DROP to fix it). `validate` and every check
/// refuse it.
pub fn empty_template(
    db: &DatabaseConfig,
    expected: &crate::model::Schema,
) -> Option<ExpectedError> {
    let tenants = db.tenants.as_ref()?;
    let template = db.engine.fold_identifier(tenants.template());
    let has_template = expected
        .tables
        .values()
        .any(|t| db.engine.fold_identifier(&t.name.schema) == template);
    (!has_template).then(|| ExpectedError::Invalid {
        location: db.expected.describe(),
        message: format!(
            "it has no unqualified tables, so the template of the tenant schemas ({}) is empty \
             and every tenant table would be reported unexpected; write the tenants' tables \
             unqualified and the other schemas' qualified",
            tenants.patterns().join(", ")
        ),
    })
}

/// Reads the live tables of `schemas` and of the schemas `tenants` match, timing the read.
async fn read_catalog(
    db: &DatabaseConfig,
    pool: &Pool,
    schemas: &[String],
    tenants: Option<&Tenants>,
) -> Result<crate::model::Schema, CheckError> {
    let read = Instant::now();
    let live = match pool.introspect(schemas, tenants).await {
        Ok(live) => live,
        Err(e) => return Err(failure(db.engine, &db.url, db.timeout, &e).await),
    };
    report_slow_read(db, read.elapsed());
    Ok(live)
}

/// The error a failed catalog read of a database with check timeout `timeout` reports.
pub async fn failure(
    engine: crate::dialect::Engine,
    url: &crate::secret::DatabaseUrl,
    timeout: Duration,
    error: &sqlx::Error,
) -> CheckError {
    match crate::engine::classify(engine, url, timeout, error).await {
        Err(cause) => CheckError::Connect(cause),
        Ok(query) => CheckError::Catalog(query),
    }
}

/// A catalog read that takes more than half the check's timeout is a check about to fail: said
/// once per check, in our words (the driver's own slow-statement log is off).
fn report_slow_read(db: &DatabaseConfig, took: Duration) {
    if took > db.timeout / 2 {
        tracing::warn!(
            database = %db.name,
            took_ms = took.as_millis() as u64,
            timeout_ms = db.timeout.as_millis() as u64,
            "catalog read took more than half the check timeout"
        );
    } else {
        tracing::debug!(database = %db.name, took_ms = took.as_millis() as u64, "catalog read");
    }
}
