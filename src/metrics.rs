//! `/metrics`: every series is rebuilt from the [`Snapshot`] at scrape time into a fresh registry,
//! so a fixed drift, a removed table or a removed database leaves no stale series behind.

use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::check::{DriftItem, DriftReport};
use crate::diff::DriftKind;
use crate::snapshot::{DatabaseState, Snapshot};

/// Content type of the Prometheus text format we emit.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Appended to every drift HELP text: values are not live.
const AS_OF: &str = "as of the last successful check";

const TABLE_LABELS: &[&str] = &["database", "schema", "table"];

/// Renders all metrics in the Prometheus text format.
pub fn render(snapshot: &Snapshot) -> String {
    let registry = Registry::new();
    let m = Families::register(&registry);
    let state = snapshot.read();
    let mut details = DetailBudget {
        left: state.detail_series_limit,
        dropped: 0,
    };
    for (name, db) in &state.databases {
        health_series(&m, name, db);
        if let Some(report) = &db.report {
            drift_series(&m, name, report, &mut details);
        }
    }
    m.detail_dropped
        .with_label_values::<&str>(&[])
        .set(details.dropped);
    m.reload_ok
        .with_label_values::<&str>(&[])
        .set(i64::from(state.reload_ok));
    drop(state);
    m.build_info
        .with_label_values(&[
            env!("CARGO_PKG_VERSION"),
            env!("SCHEMA_EXPORTER_REVISION"),
            env!("SCHEMA_EXPORTER_RUSTC_VERSION"),
        ])
        .set(1);

    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut out)
        .expect("encoding gathered metrics into memory cannot fail");
    String::from_utf8(out).expect("the text format is UTF-8")
}

/// What is left of `detail_series_limit` in this scrape, and how many series it cut.
struct DetailBudget {
    left: usize,
    dropped: i64,
}

/// Counters, configuration and the last check's outcome: present for every database, checked or not.
fn health_series(m: &Families, d: &str, db: &DatabaseState) {
    m.checks_total
        .with_label_values(&[d])
        .inc_by(db.checks_total);
    m.failures_total
        .with_label_values(&[d])
        .inc_by(db.failures_total);
    m.interval
        .with_label_values(&[d])
        .set(db.interval.as_secs_f64());
    m.deploy_grace
        .with_label_values(&[d])
        .set(db.deploy_grace.as_secs_f64());
    if let Some(last) = &db.last_check {
        m.check_success
            .with_label_values(&[d])
            .set(i64::from(last.error.is_none()));
        m.check_duration
            .with_label_values(&[d])
            .set(last.duration.as_secs_f64());
    }
    if let Some(t) = db.last_success {
        m.last_success.with_label_values(&[d]).set(unix(t));
    }
    if let Some(t) = db.expected_changed {
        m.expected_changed.with_label_values(&[d]).set(unix(t));
    }
}

/// The drift gauges of the last successful check: counts per schema and per expected table (zeros
/// included, so a fixed table reads 0 rather than vanishing), and one detail series per drifted
/// column or table within the budget.
fn drift_series(m: &Families, d: &str, report: &DriftReport, details: &mut DetailBudget) {
    m.in_sync
        .with_label_values(&[d])
        .set(i64::from(report.in_sync()));
    m.expected_tables
        .with_label_values(&[d])
        .set(report.expected_tables.len() as i64);
    // Items per (schema, table, kind); table-level kinds count under their schema only.
    let mut counts: HashMap<(&str, &str, DriftKind), i64> = HashMap::new();
    for item in &report.items {
        let table = match item.kind {
            DriftKind::MissingTable | DriftKind::UnexpectedTable => "",
            _ => item.table.as_str(),
        };
        *counts.entry((&item.schema, table, item.kind)).or_default() += 1;
        detail_series(m, d, item, details);
    }
    let count =
        |schema: &str, table: &str, kind| counts.get(&(schema, table, kind)).copied().unwrap_or(0);
    for schema in &report.schemas {
        m.missing_tables.with_label_values(&[d, schema]).set(count(
            schema,
            "",
            DriftKind::MissingTable,
        ));
        m.unexpected_tables
            .with_label_values(&[d, schema])
            .set(count(schema, "", DriftKind::UnexpectedTable));
    }
    for table in &report.expected_tables {
        let (schema, name) = (table.name.schema.as_str(), table.name.name.as_str());
        let labels = [d, schema, name];
        let missing = if table.missing {
            table.columns as i64
        } else {
            count(schema, name, DriftKind::MissingColumn)
        };
        m.missing_columns.with_label_values(&labels).set(missing);
        m.unexpected_columns.with_label_values(&labels).set(count(
            schema,
            name,
            DriftKind::UnexpectedColumn,
        ));
        for kind in [
            DriftKind::TypeMismatch,
            DriftKind::NullableMismatch,
            DriftKind::DefaultMismatch,
        ] {
            let attribute = kind.attribute().expect("mismatch kinds have an attribute");
            m.mismatched_columns
                .with_label_values(&[d, schema, name, attribute])
                .set(count(schema, name, kind));
        }
    }
}

/// One series naming a drifted column or table, so alerts can say which.
fn detail_series(m: &Families, d: &str, item: &DriftItem, details: &mut DetailBudget) {
    let (family, labels) = match (&item.column, item.kind.column_label()) {
        (Some(column), Some(drift)) => (
            &m.column_drift,
            vec![d, &item.schema, &item.table, column, drift],
        ),
        _ => match item.kind.table_label() {
            Some(drift) => (&m.table_drift, vec![d, &item.schema, &item.table, drift]),
            None => return,
        },
    };
    if details.left == 0 {
        details.dropped += 1;
    } else {
        details.left -= 1;
        family.with_label_values(&labels).set(1);
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Every metric family, created per scrape.
struct Families {
    missing_columns: IntGaugeVec,
    unexpected_columns: IntGaugeVec,
    mismatched_columns: IntGaugeVec,
    missing_tables: IntGaugeVec,
    unexpected_tables: IntGaugeVec,
    column_drift: IntGaugeVec,
    table_drift: IntGaugeVec,
    detail_dropped: IntGaugeVec,
    in_sync: IntGaugeVec,
    expected_tables: IntGaugeVec,
    check_success: IntGaugeVec,
    check_duration: GaugeVec,
    last_success: GaugeVec,
    checks_total: IntCounterVec,
    failures_total: IntCounterVec,
    expected_changed: GaugeVec,
    interval: GaugeVec,
    deploy_grace: GaugeVec,
    build_info: IntGaugeVec,
    reload_ok: IntGaugeVec,
}

impl Families {
    fn register(registry: &Registry) -> Families {
        fn int(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
            let v = IntGaugeVec::new(Opts::new(name, help), labels)
                .expect("static metric definition is valid");
            r.register(Box::new(v.clone()))
                .expect("metric names are unique");
            v
        }
        fn float(r: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
            let v = GaugeVec::new(Opts::new(name, help), labels)
                .expect("static metric definition is valid");
            r.register(Box::new(v.clone()))
                .expect("metric names are unique");
            v
        }
        fn counter(r: &Registry, name: &str, help: &str) -> IntCounterVec {
            let v = IntCounterVec::new(Opts::new(name, help), &["database"])
                .expect("static metric definition is valid");
            r.register(Box::new(v.clone()))
                .expect("metric names are unique");
            v
        }
        let r = registry;
        Families {
            missing_columns: int(r, "schema_missing_columns", &format!("Expected columns absent from the live table (all of them when the table is missing), {AS_OF}."), TABLE_LABELS),
            unexpected_columns: int(r, "schema_unexpected_columns", &format!("Live columns the expected table does not have, {AS_OF}."), TABLE_LABELS),
            mismatched_columns: int(r, "schema_mismatched_columns", &format!("Columns present on both sides whose attribute (type, nullable, default) differs, {AS_OF}."), &["database", "schema", "table", "attribute"]),
            missing_tables: int(r, "schema_missing_tables", &format!("Expected tables absent from the database, {AS_OF}."), &["database", "schema"]),
            unexpected_tables: int(r, "schema_unexpected_tables", &format!("Live tables neither expected nor ignored, {AS_OF}."), &["database", "schema"]),
            column_drift: int(r, "schema_column_drift", &format!("1 for each drifted column, named for alert text, {AS_OF}; capped by detail_series_limit."), &["database", "schema", "table", "column", "drift"]),
            table_drift: int(r, "schema_table_drift", &format!("1 for each missing or unexpected table, named for alert text, {AS_OF}; capped by detail_series_limit."), &["database", "schema", "table", "drift"]),
            detail_dropped: int(r, "schema_detail_series_dropped", "schema_column_drift and schema_table_drift series left out of this scrape by detail_series_limit.", &[]),
            in_sync: int(r, "schema_in_sync", &format!("1 when no drift was found, {AS_OF}."), &["database"]),
            expected_tables: int(r, "schema_expected_tables", &format!("Tables in the expected schema (ignored ones excluded), {AS_OF}."), &["database"]),
            check_success: int(r, "schema_check_success", "1 if the last check completed (connected, read the catalog, loaded the expectation), else 0.", &["database"]),
            check_duration: float(r, "schema_check_duration_seconds", "Duration of the last check, successful or not.", &["database"]),
            last_success: float(r, "schema_check_last_success_timestamp_seconds", "Unix time at which the last successful check started.", &["database"]),
            checks_total: counter(r, "schema_checks_total", "Checks run since the exporter started."),
            failures_total: counter(r, "schema_check_failures_total", "Checks that failed since the exporter started."),
            expected_changed: float(r, "schema_expected_last_change_timestamp_seconds", "Unix time the expected schema's content last changed (when first loaded: the newest source file's modification time; for a reference database, the time of that load).", &["database"]),
            interval: float(r, "schema_check_interval_seconds", "Configured time between checks of the database (for staleness alerts).", &["database"]),
            deploy_grace: float(r, "schema_deploy_grace_seconds", "Configured deploy_grace: drift seen this soon after the expected schema changed should not page.", &["database"]),
            build_info: int(r, "schema_exporter_build_info", "Build metadata of the running schema_exporter; always 1.", &["version", "revision", "rustc_version"]),
            reload_ok: int(r, "schema_exporter_config_last_reload_successful", "1 if the last configuration reload succeeded, else 0.", &[]),
        }
    }
}
