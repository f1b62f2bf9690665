//! One check of one database: load the expectation, read the catalog, diff. Used by the poller and by
//! the `check` command, so both behave identically.

use serde::Serialize;
use std::time::{Duration, Instant, SystemTime};
use thiserror::Error;

use crate::config::DatabaseConfig;
use crate::dialect::Engine;
use crate::diff::{compare, Comparison, Drift, DriftKind, ExpectedTable, TenantComparison};
use crate::engine::{render_change, Pool, SessionLimits};
use crate::expected::ledger::{LedgerState, MAX_LEDGER_ROWS};
use crate::expected::sql::Origins;
use crate::expected::{ExpectedCache, ExpectedError, ExpectedSource, Migrations};
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
    /// Every expected PostgreSQL enum type (so in-sync ones are published as zero) and every
    /// unexpected one, with their label counts.
    #[serde(skip)]
    pub types: Vec<crate::diff::TypeCounts>,
    /// Every schema compared by name, so schema-level gauges exist even when nothing drifted.
    pub schemas: Vec<String>,
    /// With tenant patterns: the tenant schemas matched and drifted, and which appeared or
    /// disappeared since the previous successful check (filled in by [`crate::state`]).
    pub tenants: Option<TenantReport>,
    /// With a migration ledger: what it records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerReport>,
}

/// What a migration ledger records, as `/drift`, `check` and the metrics show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LedgerReport {
    /// The ledger read (`auto` resolved): `django`, `flyway`, ...
    pub ledger: &'static str,
    /// Migrations recorded as applied (and found among the files).
    pub applied: usize,
    /// The last of them to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied: Option<String>,
    /// When the newest applied migration was recorded (RFC 3339), where the tool keeps times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_at: Option<String>,
    /// The same, as Unix time, for the metric.
    #[serde(skip)]
    pub last_applied_unix: Option<u64>,
    /// Files the ledger does not record yet.
    pub pending: Vec<String>,
    /// Recorded as failed or dirty.
    pub failed: Vec<String>,
    /// Recorded, without a file.
    pub unknown: Vec<String>,
    /// Recorded with a checksum the file no longer has.
    pub checksum_mismatched: Vec<String>,
}

impl LedgerReport {
    /// `django ledger: 12 applied (last exports.0002_x, 2024-03-02T10:11:12Z), 1 pending
    /// (exports.0003_y)`, lists capped so a page stays readable.
    pub fn describe(&self) -> String {
        const SHOWN: usize = 5;
        let mut text = format!("{} ledger: {} applied", self.ledger, self.applied);
        if let Some(last) = &self.last_applied {
            text.push_str(&format!(" (last {last}"));
            if let Some(at) = &self.last_applied_at {
                text.push_str(&format!(", newest recorded {at}"));
            }
            text.push(')');
        }
        for (what, list) in [
            ("pending", &self.pending),
            ("failed", &self.failed),
            ("recorded without a file", &self.unknown),
            (
                "edited after they ran (checksum differs)",
                &self.checksum_mismatched,
            ),
        ] {
            if list.is_empty() {
                continue;
            }
            let names: Vec<&str> = list.iter().take(SHOWN).map(String::as_str).collect();
            text.push_str(&format!("; {} {what} ({}", list.len(), names.join(", ")));
            if list.len() > SHOWN {
                text.push_str(&format!(" and {} more", list.len() - SHOWN));
            }
            text.push(')');
        }
        text
    }

    /// The report of one ledger read.
    pub fn new(state: &LedgerState) -> LedgerReport {
        LedgerReport {
            ledger: state.kind.map_or("none", |k| k.name()),
            applied: state.applied.len(),
            last_applied: state.applied.last().map(|a| a.id.clone()),
            last_applied_at: state
                .last_applied
                .map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            last_applied_unix: state.last_applied.and_then(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs())
            }),
            pending: state.pending.clone(),
            failed: state.failed.clone(),
            unknown: state.unknown.clone(),
            checksum_mismatched: state.checksum_mismatched.clone(),
        }
    }
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
            types: comparison.types,
            schemas: comparison.schemas,
            tenants: comparison.tenants.map(|found| TenantReport {
                found,
                ..TenantReport::default()
            }),
            ledger: None,
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
    /// Work of ours that should not fail did (a panic while reading or comparing); a bug to report.
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
    let result = match tokio::time::timeout(db.timeout, unwound(check(db, pool, cache))).await {
        Ok(r) => r,
        Err(_) => Err(CheckError::Timeout(db.timeout)),
    };
    CheckOutcome {
        started,
        duration: clock.elapsed(),
        result,
    }
}

/// `check` with a panic turned into a failed check: whatever a catalog's text does to our
/// reading code, the database is reported as not checked (`schema_check_success` 0, `check`
/// exits 2) rather than silently left out, and the poller goes on.
async fn unwound(
    check: impl std::future::Future<Output = Result<Checked, CheckError>>,
) -> Result<Checked, CheckError> {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(check).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(CheckError::Internal(what))
        }
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
    let (expectation, mut live, ledger, extra, objects) = match &db.expected {
        // Which migrations ran decides the expectation: the catalog (which also says which
        // ledger table is there) and the ledger come first.
        ExpectedSource::Migrations(m) => {
            let live = read_catalog(db, pool, &db.schemas, None).await?;
            let (expectation, state) =
                read_ledger(db, m, pool, &live, &expectation_schemas, cache).await?;
            let extra = extra_schemas(db, &expectation.schema);
            let (extra, objects) = tokio::join!(
                read_extra(db, pool, &extra),
                read_objects(db, pool, &expectation.schema, &extra)
            );
            (expectation, live, Some(state), extra?, objects?)
        }
        // The objects beyond columns are read as soon as the expectation says which it states,
        // side by side with the column read when that is still going: at 10,000 tables they
        // take about two thirds of its time, and the pool's second connection is idle meanwhile.
        _ => {
            let load = db.expected.load(db.engine, &expectation_schemas, cache);
            let read = read_catalog(db, pool, &db.schemas, db.tenants.as_ref());
            tokio::pin!(load, read);
            tokio::select! {
                biased;
                expectation = &mut load => {
                    let expectation = expectation?;
                    let extra = extra_schemas(db, &expectation.schema);
                    let (live, extra, objects) = tokio::join!(
                        read,
                        read_extra(db, pool, &extra),
                        read_objects(db, pool, &expectation.schema, &extra)
                    );
                    (expectation, live?, None, extra?, objects?)
                }
                live = &mut read => {
                    let expectation = load.await?;
                    let live = live?;
                    let extra = extra_schemas(db, &expectation.schema);
                    let (extra, objects) = tokio::join!(
                        read_extra(db, pool, &extra),
                        read_objects(db, pool, &expectation.schema, &extra)
                    );
                    (expectation, live, None, extra?, objects?)
                }
            }
        }
    };
    if let Some(tenants) = &db.tenants {
        check_tenants(db, tenants, &expectation.schema, &live)?;
    }
    if let Some(extra) = extra {
        live.tables.extend(extra.tables);
    }
    objects.attach_to(&mut live);
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
        let mut report = DriftReport::new(engine, comparison);
        if let (Some(origins), Some(state)) = (&expected.origins, &ledger) {
            attribute(engine, &mut report, origins, state);
        }
        (report, ledger)
    })
    .await
    .map_err(|e| CheckError::Internal(e.to_string()))?;
    let (mut report, ledger) = report;
    // With a ledger, shipping a migration changes the expectation as people mean it (and starts
    // the deploy grace window for the pending alert), before the ledger records it as applied.
    let files_hash = ledger.as_ref().map_or(0, |state| state.files_hash);
    report.ledger = ledger.map(|state| LedgerReport::new(&state));
    Ok(Checked {
        report,
        expected_fingerprint: expectation.fingerprint ^ files_hash,
        expected_modified: expectation.modified,
    })
}

/// Reads the ledger `m` names (found in `live`'s first schema) and builds the expectation from
/// the migrations it records as applied. A ledger that is missing, of another tool, unreadable
/// or too large fails the check: it never reads as "no migrations applied".
async fn read_ledger(
    db: &DatabaseConfig,
    m: &Migrations,
    pool: &Pool,
    live: &crate::model::Schema,
    schemas: &[String],
    cache: &mut ExpectedCache,
) -> Result<(std::sync::Arc<crate::expected::Expectation>, LedgerState), CheckError> {
    let schema = db.schemas.first().map_or("public", String::as_str);
    let (kind, table) = m
        .ledger
        .resolve(live, schema)
        .map_err(CheckError::Catalog)?;
    let rows = match pool.read_ledger(&table, kind.table().1).await {
        Ok(rows) => rows,
        Err(e) => {
            return Err(match failure(db.engine, &db.url, db.timeout, &e).await {
                CheckError::Catalog(why) => CheckError::Catalog(format!("ledger {table}: {why}")),
                other => other,
            })
        }
    };
    if rows.len() > MAX_LEDGER_ROWS {
        return Err(CheckError::Catalog(format!(
            "ledger {table}: more than {MAX_LEDGER_ROWS} rows; not read"
        )));
    }
    Ok(m.load_applied(kind, rows, db.engine, schemas, cache)
        .await?)
}

/// Names each drift item by the applied migration that last shaped its column (or, for a table
/// as a whole, its table), with the time the ledger records for it.
fn attribute(engine: Engine, report: &mut DriftReport, origins: &Origins, state: &LedgerState) {
    for item in &mut report.items {
        let key = crate::model::Schema::key(
            engine,
            &crate::model::TableName::new(item.schema.clone(), item.table.clone()),
        );
        // A column no migration ever shaped (added by hand) is nobody's migration: falling back
        // to the table's creator would page that migration for a change it never made.
        let index = match &item.column {
            Some(column) => origins
                .columns
                .get(&(key.clone(), engine.fold_identifier(column))),
            None => origins.tables.get(&key),
        };
        let Some(applied) = index.and_then(|i| state.applied.get(*i)) else {
            continue;
        };
        item.migration = Some(applied.id.clone());
        item.migration_applied_at = applied
            .at
            .map(|t| humantime::format_rfc3339_seconds(t).to_string());
    }
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

/// The schemas beyond the configured ones that `expected` tables name: read too so those tables
/// are not reported missing (tables there are still never reported as unexpected). The tenant
/// template's schema is a pattern, not a schema to read.
fn extra_schemas(db: &DatabaseConfig, expected: &crate::model::Schema) -> Vec<String> {
    let mut extra: Vec<String> = Vec::new();
    let template = db.tenants.as_ref().map(|t| t.template());
    for table in expected.tables.values() {
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
    extra
}

/// The tables of the [`extra_schemas`], if there are any.
async fn read_extra(
    db: &DatabaseConfig,
    pool: &Pool,
    extra: &[String],
) -> Result<Option<crate::model::Schema>, CheckError> {
    match extra.is_empty() {
        true => Ok(None),
        false => read_catalog(db, pool, extra, None).await.map(Some),
    }
}

/// What the live database holds beyond columns; `None` for a kind the expectation states for no
/// table, which is then neither read nor compared.
struct LiveObjects {
    indexes: Option<std::collections::HashMap<crate::model::TableName, Vec<crate::model::Index>>>,
    foreign_keys:
        Option<std::collections::HashMap<crate::model::TableName, Vec<crate::model::ForeignKey>>>,
    checks: Option<std::collections::HashMap<crate::model::TableName, Vec<crate::model::Check>>>,
    types: Option<indexmap::IndexMap<crate::model::TableName, crate::model::EnumType>>,
}

impl LiveObjects {
    /// Attaches what was read to the tables of `live` (read in full, extra schemas included).
    fn attach_to(self, live: &mut crate::model::Schema) {
        if let Some(checks) = self.checks {
            live.attach_checks(checks);
        }
        if let Some(indexes) = self.indexes {
            live.attach_indexes(indexes);
        }
        if let Some(keys) = self.foreign_keys {
            live.attach_foreign_keys(keys);
        }
        live.types = self.types;
    }
}

/// Reads the kinds of object `expected` states, one catalog query per kind, side by side: keys
/// and indexes, foreign keys, checks, and enum types (in the configured and `extra` schemas and
/// wherever an expected type lives).
async fn read_objects(
    db: &DatabaseConfig,
    pool: &Pool,
    expected: &crate::model::Schema,
    extra: &[String],
) -> Result<LiveObjects, CheckError> {
    let tables = expected.tables.values();
    let states_keys = tables
        .clone()
        .any(|t| t.primary_key.is_some() || t.indexes.is_some());
    let states_foreign_keys = tables.clone().any(|t| t.foreign_keys.is_some());
    let states_checks = tables.clone().any(|t| t.checks.is_some());
    let scope: Vec<String> = db.schemas.iter().chain(extra).cloned().collect();
    let type_scope = expected.types.as_ref().map(|types| {
        let mut scope = scope.clone();
        for t in types.values() {
            if !scope.contains(&t.name.schema) {
                scope.push(t.name.schema.clone());
            }
        }
        scope
    });
    let tenants = db.tenants.as_ref();
    let (indexes, foreign_keys, types, checks) = tokio::join!(
        async {
            match states_keys {
                true => pool.indexes(&scope, tenants).await.map(Some),
                false => Ok(None),
            }
        },
        async {
            match states_foreign_keys {
                true => pool.foreign_keys(&scope, tenants).await.map(Some),
                false => Ok(None),
            }
        },
        async {
            match &type_scope {
                Some(scope) => pool
                    .enum_types(scope, db.ignore.extension_objects())
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },
        async {
            match states_checks {
                true => pool.checks(&scope, tenants).await.map(Some),
                false => Ok(None),
            }
        }
    );
    match (indexes, foreign_keys, types, checks) {
        (Ok(indexes), Ok(foreign_keys), Ok(types), Ok(checks)) => Ok(LiveObjects {
            indexes,
            foreign_keys,
            checks,
            types,
        }),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            Err(failure(db.engine, &db.url, db.timeout, &e).await)
        }
    }
}

/// Reads the live tables of `schemas` and of the schemas `tenants` match, timing the read.
async fn read_catalog(
    db: &DatabaseConfig,
    pool: &Pool,
    schemas: &[String],
    tenants: Option<&Tenants>,
) -> Result<crate::model::Schema, CheckError> {
    let read = Instant::now();
    let live = match pool
        .introspect(schemas, tenants, db.ignore.extension_objects())
        .await
    {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_inside_a_check_fails_that_check_with_its_message() {
        let panicking = async { panic!("the catalog said something odd") };
        match unwound(panicking).await {
            Err(CheckError::Internal(what)) => assert_eq!(what, "the catalog said something odd"),
            other => panic!("expected an internal error, got {other:?}"),
        }
        let formatted = async { panic!("index {} of {}", 15, "t") };
        assert!(matches!(
            unwound(formatted).await,
            Err(CheckError::Internal(what)) if what == "index 15 of t"
        ));
    }
}
