//! `/metrics` in the Prometheus text format, rendered once per change and never per scrape.
//!
//! Each database's series are written when its check outcome is recorded ([`DatabaseSeries`]: one
//! block of sample lines per family), and [`exposition`] joins every database's blocks family by
//! family (the format wants each family's samples together under one `# HELP`/`# TYPE` header).
//! A scrape then only copies bytes that already exist. Series come from the latest outcome only,
//! so a fixed drift, a removed table or a removed database leaves nothing stale behind.
//!
//! The writer is ours rather than the `prometheus` crate's registry: a registry is built to be
//! gathered whole at scrape time, while this exposition is assembled from per-database pieces
//! rendered at different times. `promtool check metrics` reads the output in the tests.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::check::{DriftItem, DriftReport};
use crate::config::TableSeries;
use crate::diff::DriftKind;
use crate::state::DatabaseState;

/// Content type of the Prometheus text format we emit.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family: its name, type and help text.
struct Family {
    name: &'static str,
    counter: bool,
    help: &'static str,
}

/// Help texts of drift gauges end by saying the values are not live.
macro_rules! as_of {
    ($text:literal) => {
        concat!($text, ", as of the last successful check.")
    };
}

/// Every family, in the (alphabetical) order the exposition lists them; indexed by [`F`].
const FAMILIES: &[Family] = &[
    Family { name: "schema_check_duration_seconds", counter: false, help: "Duration of the last check, successful or not." },
    Family { name: "schema_check_failures_total", counter: true, help: "Checks that failed since the exporter started." },
    Family { name: "schema_check_interval_seconds", counter: false, help: "Configured time between checks of the database (for staleness alerts)." },
    Family { name: "schema_check_last_success_timestamp_seconds", counter: false, help: "Unix time at which the last successful check started." },
    Family { name: "schema_check_overdue", counter: false, help: "1 while a check that came due has not started within the database's timeout (every check slot busy): its other series are older than its interval." },
    Family { name: "schema_check_overdue_total", counter: true, help: "Checks that became overdue (see schema_check_overdue) since the exporter started." },
    Family { name: "schema_check_success", counter: false, help: "1 if the last check completed (connected, read the catalog, loaded the expectation), else 0." },
    Family { name: "schema_checks_total", counter: true, help: "Checks run since the exporter started." },
    Family { name: "schema_column_drift", counter: false, help: as_of!("1 for each drifted column, named for alert text (at most detail_series_limit of these and schema_table_drift in all)") },
    Family { name: "schema_deploy_grace_seconds", counter: false, help: "Configured deploy_grace: drift seen this soon after the expected schema changed should not page." },
    Family { name: "schema_detail_series_dropped", counter: false, help: "Detail series (schema_column_drift, schema_table_drift, schema_migration_drift and the drift gauges of tenant schemas) left out of this scrape by detail_series_limit." },
    Family { name: "schema_expected_last_change_timestamp_seconds", counter: false, help: "Unix time the expected schema's content last changed (when first loaded: the newest source file's modification time; for a reference database, the time of that load)." },
    Family { name: "schema_expected_tables", counter: false, help: as_of!("Tables in the expected schema (ignored ones excluded)") },
    Family { name: "schema_exporter_build_info", counter: false, help: "Build metadata of the running schema_exporter; always 1." },
    Family { name: "schema_exporter_config_last_reload_successful", counter: false, help: "1 if the last configuration reload succeeded, else 0." },
    Family { name: "schema_exporter_renders_total", counter: true, help: "Times this exposition was rendered: once per check outcome or reload (coalesced), never per scrape." },
    Family { name: "schema_exporter_shard_index", counter: false, help: "This replica's shard (--shard.index): it polls the databases whose name hashmod puts in this bucket." },
    Family { name: "schema_exporter_shards", counter: false, help: "Replicas sharing the configuration (--shard.total); 1 when not sharded." },
    Family { name: "schema_in_sync", counter: false, help: as_of!("1 when no drift was found") },
    Family { name: "schema_invalid_indexes", counter: false, help: as_of!("Indexes of the table the engine cannot use (PostgreSQL: not valid or not ready, as a failed CREATE INDEX CONCURRENTLY leaves them), where the expectation states indexes; tables without them are left out") },
    Family { name: "schema_migration_drift", counter: false, help: as_of!("1 for each drifted table or column whose expectation comes from a migration the ledger records as applied (migration label): its effect is missing (at most detail_series_limit detail series in all)") },
    Family { name: "schema_migration_last_applied_timestamp_seconds", counter: false, help: as_of!("Unix time the ledger records for the newest applied migration (ledgers that keep times)") },
    Family { name: "schema_migrations_applied", counter: false, help: as_of!("Migrations the ledger records as applied that match a migration file") },
    Family { name: "schema_migrations_checksum_mismatched", counter: false, help: as_of!("Applied migrations whose file no longer has the checksum the ledger recorded (sqlx, Flyway)") },
    Family { name: "schema_migrations_failed", counter: false, help: as_of!("Migrations the ledger records as failed or dirty (not part of the expectation)") },
    Family { name: "schema_migrations_pending", counter: false, help: as_of!("Migration files the ledger does not record as applied (not compared)") },
    Family { name: "schema_migrations_unknown", counter: false, help: as_of!("Ledger rows with no migration file") },
    Family { name: "schema_mismatched_columns", counter: false, help: as_of!("Columns present on both sides whose attribute (type, nullable, default, identity) differs; tables without such columns are left out") },
    Family { name: "schema_misordered_enum_labels", counter: false, help: as_of!("Labels of an expected PostgreSQL enum type (type label) that stand out of the expected order on the live type (the fewest that, moved, restore it): values sort and compare in label order, so ORDER BY and < answer differently; types without them are left out") },
    Family { name: "schema_missing_columns", counter: false, help: as_of!("Expected columns absent from the live table (all of them when the table is missing; 0 for an in-sync table unless table_series is drifted; tables of tenant schemas only while drifted)") },
    Family { name: "schema_missing_constraints", counter: false, help: as_of!("Expected primary key, unique, exclusion, foreign key or check constraints (kind label: primary_key, unique, exclusion, foreign_key, check) absent from the live table, keys compared by definition, checks by name; tables without them are left out") },
    Family { name: "schema_missing_enum_labels", counter: false, help: as_of!("Labels of the expected PostgreSQL enum type (type label) absent from the live type (all of them when the type is missing; 0 when in sync): writing one fails with invalid input value for enum") },
    Family { name: "schema_missing_indexes", counter: false, help: as_of!("Expected (non-unique) indexes absent from the live table, compared by definition; tables without them are left out") },
    Family { name: "schema_missing_tables", counter: false, help: as_of!("Expected tables absent from the database") },
    Family { name: "schema_table_drift", counter: false, help: as_of!("1 for each missing or unexpected table, named for alert text (at most detail_series_limit of these and schema_column_drift in all)") },
    Family { name: "schema_tenant_schema_changes_total", counter: true, help: "Tenant schemas that appeared in or disappeared from the database (change label) between two successful checks, since the exporter started." },
    Family { name: "schema_tenant_schemas", counter: false, help: as_of!("Schemas the database's tenant patterns (schemas: {match: ...}) matched") },
    Family { name: "schema_tenant_schemas_drifted", counter: false, help: as_of!("Tenant schemas with any drift from the template") },
    Family { name: "schema_unexpected_columns", counter: false, help: as_of!("Live columns the expected table does not have; tables without such columns are left out") },
    Family { name: "schema_unexpected_constraints", counter: false, help: as_of!("Live primary key, unique, exclusion, foreign key or check constraints (kind label) the expectation does not state, where it states keys; tables without them are left out") },
    Family { name: "schema_unexpected_enum_labels", counter: false, help: as_of!("Labels of a live PostgreSQL enum type (type label) the expectation does not have (all of them for a type it does not state, where it states types); types without them are left out") },
    Family { name: "schema_unexpected_indexes", counter: false, help: as_of!("Live (non-unique) indexes the expectation does not state, where it states indexes; tables without them are left out") },
    Family { name: "schema_unexpected_tables", counter: false, help: as_of!("Live tables neither expected nor ignored") },
];

/// Index of each family in [`FAMILIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum F {
    CheckDuration,
    CheckFailures,
    CheckInterval,
    LastSuccess,
    CheckOverdue,
    CheckOverdueTotal,
    CheckSuccess,
    Checks,
    ColumnDrift,
    DeployGrace,
    DetailDropped,
    ExpectedChanged,
    ExpectedTables,
    BuildInfo,
    ReloadOk,
    Renders,
    ShardIndex,
    Shards,
    InSync,
    InvalidIndexes,
    MigrationDrift,
    MigrationLastApplied,
    MigrationsApplied,
    MigrationsChecksum,
    MigrationsFailed,
    MigrationsPending,
    MigrationsUnknown,
    MismatchedColumns,
    MisorderedEnumLabels,
    MissingColumns,
    MissingConstraints,
    MissingEnumLabels,
    MissingIndexes,
    MissingTables,
    TableDrift,
    TenantChanges,
    TenantSchemas,
    TenantSchemasDrifted,
    UnexpectedColumns,
    UnexpectedConstraints,
    UnexpectedEnumLabels,
    UnexpectedIndexes,
    UnexpectedTables,
}

/// One database's sample lines, rendered when its outcome was recorded.
#[derive(Debug, Clone, Default)]
pub struct DatabaseSeries {
    /// Sample lines per family, indexed like [`FAMILIES`]; the detail families stay empty here.
    lines: Vec<String>,
    /// Detail series (`schema_column_drift`, `schema_table_drift`, and every drift gauge of a
    /// tenant schema) in drift order: the cap on them is for the whole scrape, so it is applied
    /// when the databases are joined.
    details: Vec<(F, String)>,
}

impl DatabaseSeries {
    /// Renders every series of database `d`.
    pub fn render(d: &str, db: &DatabaseState, tables: TableSeries) -> DatabaseSeries {
        let mut s = DatabaseSeries {
            lines: vec![String::new(); FAMILIES.len()],
            details: Vec::new(),
        };
        s.health(d, db);
        if let Some(report) = &db.report {
            s.drift(d, report, tables);
        }
        s
    }

    fn sample(&mut self, family: F, labels: &[(&str, &str)], value: impl Into<Value>) {
        write_sample(
            &mut self.lines[family as usize],
            FAMILIES[family as usize].name,
            labels,
            value.into(),
        );
    }

    /// A sample among the capped detail series when `capped`, else an ordinary one.
    fn sample_in(
        &mut self,
        capped: bool,
        family: F,
        labels: &[(&str, &str)],
        value: impl Into<Value>,
    ) {
        if !capped {
            return self.sample(family, labels, value);
        }
        let mut line = String::new();
        write_sample(
            &mut line,
            FAMILIES[family as usize].name,
            labels,
            value.into(),
        );
        self.details.push((family, line));
    }

    /// Counters, configuration and the last check's outcome: present for every database.
    fn health(&mut self, d: &str, db: &DatabaseState) {
        let l = [("database", d)];
        self.sample(F::Checks, &l, db.checks_total);
        self.sample(F::CheckFailures, &l, db.failures_total);
        self.sample(F::CheckInterval, &l, db.interval.as_secs_f64());
        self.sample(F::DeployGrace, &l, db.deploy_grace.as_secs_f64());
        self.sample(F::CheckOverdue, &l, u64::from(db.overdue));
        self.sample(F::CheckOverdueTotal, &l, db.overdue_total);
        if db.report.as_ref().is_some_and(|r| r.tenants.is_some()) {
            for (change, n) in [
                ("appeared", db.tenants_appeared_total),
                ("disappeared", db.tenants_disappeared_total),
            ] {
                self.sample(F::TenantChanges, &[l[0], ("change", change)], n);
            }
        }
        if let Some(last) = &db.last_check {
            self.sample(F::CheckSuccess, &l, u64::from(last.error.is_none()));
            self.sample(F::CheckDuration, &l, last.duration.as_secs_f64());
        }
        if let Some(t) = db.last_success {
            self.sample(F::LastSuccess, &l, unix(t));
        }
        if let Some(t) = db.expected_changed {
            self.sample(F::ExpectedChanged, &l, unix(t));
        }
    }

    /// The drift gauges of the last successful check: counts per schema and per expected table,
    /// and one detail series per drifted column or table. A tenant schema's series exist only
    /// while it drifts and count against the detail cap, tenant by tenant, each tenant's names
    /// (`schema_table_drift`, `schema_column_drift`) before its gauges: a thousand tenants are
    /// summed up by `schema_tenant_schemas*`, not listed table by table, and the cap never keeps a
    /// tenant's gauge while cutting the names its alert would print.
    fn drift(&mut self, d: &str, report: &DriftReport, tables: TableSeries) {
        let l = [("database", d)];
        let tenants = report.tenants.as_ref().map(|t| &t.found);
        let is_tenant = |schema: &str| tenants.is_some_and(|t| t.is_tenant(schema));
        self.sample(F::InSync, &l, u64::from(report.in_sync()));
        let named = report
            .expected_tables
            .iter()
            .filter(|t| !is_tenant(&t.name.schema))
            .count();
        let tenant_tables = tenants.map_or(0, |t| t.tables);
        self.sample(F::ExpectedTables, &l, (named + tenant_tables) as u64);
        if let Some(t) = tenants {
            self.sample(F::TenantSchemas, &l, t.matched.len() as u64);
            self.sample(F::TenantSchemasDrifted, &l, t.drifted.len() as u64);
        }
        if let Some(ledger) = &report.ledger {
            self.sample(F::MigrationsApplied, &l, ledger.applied as u64);
            self.sample(F::MigrationsPending, &l, ledger.pending.len() as u64);
            self.sample(F::MigrationsFailed, &l, ledger.failed.len() as u64);
            self.sample(F::MigrationsUnknown, &l, ledger.unknown.len() as u64);
            self.sample(
                F::MigrationsChecksum,
                &l,
                ledger.checksum_mismatched.len() as u64,
            );
            if let Some(t) = ledger.last_applied_unix {
                self.sample(F::MigrationLastApplied, &l, t);
            }
        }
        let counts = Counts::of(report);
        for schema in &report.schemas {
            self.schema_gauges(d, schema, &counts, false);
        }
        for table in report
            .expected_tables
            .iter()
            .filter(|t| !is_tenant(&t.name.schema))
        {
            self.table_gauges(d, table, &counts, tables == TableSeries::All, false);
        }
        self.type_gauges(d, report);
        for item in report.items.iter().filter(|i| !is_tenant(&i.schema)) {
            self.detail(d, item);
        }
        let Some(t) = tenants else {
            return;
        };
        // Grouped by tenant, whatever order they were found in (a table the expectation names in
        // a tenant's own schema is compared with the named ones, before the tenants).
        let mut items: std::collections::HashMap<&str, Vec<&DriftItem>> = Default::default();
        for item in report.items.iter().filter(|i| is_tenant(&i.schema)) {
            items.entry(item.schema.as_str()).or_default().push(item);
        }
        let mut listed: std::collections::HashMap<&str, Vec<&crate::diff::ExpectedTable>> =
            Default::default();
        for table in report
            .expected_tables
            .iter()
            .filter(|t| is_tenant(&t.name.schema))
        {
            listed
                .entry(table.name.schema.as_str())
                .or_default()
                .push(table);
        }
        for tenant in &t.drifted {
            for item in items.remove(tenant.as_str()).unwrap_or_default() {
                self.detail(d, item);
            }
            self.schema_gauges(d, tenant, &counts, true);
            for table in listed.remove(tenant.as_str()).unwrap_or_default() {
                self.table_gauges(d, table, &counts, false, true);
            }
        }
    }

    /// `schema_missing_tables` and `schema_unexpected_tables` of one schema; a tenant's only when
    /// not zero, among the capped detail series.
    fn schema_gauges(&mut self, d: &str, schema: &str, counts: &Counts, tenant: bool) {
        let l = [("database", d), ("schema", schema)];
        let missing = counts.get(schema, "", DriftKind::MissingTable);
        let unexpected = counts.get(schema, "", DriftKind::UnexpectedTable);
        if !tenant || missing > 0 {
            self.sample_in(tenant, F::MissingTables, &l, missing);
        }
        if !tenant || unexpected > 0 {
            self.sample_in(tenant, F::UnexpectedTables, &l, unexpected);
        }
    }

    /// The per-table gauges of one expected table: `schema_missing_columns` (for an in-sync table
    /// only when `zeros`), and the unexpected and mismatched counts where not zero. A tenant's
    /// wholly missing table has no `schema_missing_columns`: `schema_missing_tables` and its
    /// `schema_table_drift` say it, and a cap could otherwise page for it without a name.
    fn table_gauges(
        &mut self,
        d: &str,
        table: &crate::diff::ExpectedTable,
        counts: &Counts,
        zeros: bool,
        tenant: bool,
    ) {
        let (schema, name) = (table.name.schema.as_str(), table.name.name.as_str());
        let missing = if table.missing {
            table.columns as u64
        } else {
            counts.get(schema, name, DriftKind::MissingColumn)
        };
        let l = [("database", d), ("schema", schema), ("table", name)];
        let drifted = missing > 0 || counts.any(schema, name);
        if (drifted || zeros) && !(tenant && table.missing) {
            self.sample_in(tenant, F::MissingColumns, &l, missing);
        }
        let unexpected = counts.get(schema, name, DriftKind::UnexpectedColumn);
        if unexpected > 0 {
            self.sample_in(tenant, F::UnexpectedColumns, &l, unexpected);
        }
        for kind in [
            DriftKind::TypeMismatch,
            DriftKind::NullableMismatch,
            DriftKind::DefaultMismatch,
            DriftKind::IdentityMismatch,
        ] {
            let n = counts.get(schema, name, kind);
            if n > 0 {
                let attribute = kind.attribute().expect("mismatch kinds have an attribute");
                let l = [l[0], l[1], l[2], ("attribute", attribute)];
                self.sample_in(tenant, F::MismatchedColumns, &l, n);
            }
        }
        // Keys and indexes: where the expectation states them, only for tables that drifted.
        for (family, kind) in [
            (F::MissingConstraints, DriftKind::MissingPrimaryKey),
            (F::MissingConstraints, DriftKind::MissingUniqueConstraint),
            (F::MissingConstraints, DriftKind::MissingExclusionConstraint),
            (F::MissingConstraints, DriftKind::MissingForeignKey),
            (F::MissingConstraints, DriftKind::MissingCheckConstraint),
            (
                F::UnexpectedConstraints,
                DriftKind::UnexpectedCheckConstraint,
            ),
            (F::UnexpectedConstraints, DriftKind::UnexpectedForeignKey),
            (F::UnexpectedConstraints, DriftKind::UnexpectedPrimaryKey),
            (
                F::UnexpectedConstraints,
                DriftKind::UnexpectedUniqueConstraint,
            ),
            (
                F::UnexpectedConstraints,
                DriftKind::UnexpectedExclusionConstraint,
            ),
        ] {
            let n = counts.get(schema, name, kind);
            if n > 0 {
                let label = kind.object_label().expect("key kinds have a label");
                let l = [l[0], l[1], l[2], ("kind", label)];
                self.sample_in(tenant, family, &l, n);
            }
        }
        for (family, kind) in [
            (F::MissingIndexes, DriftKind::MissingIndex),
            (F::UnexpectedIndexes, DriftKind::UnexpectedIndex),
            (F::InvalidIndexes, DriftKind::InvalidIndex),
        ] {
            let n = counts.get(schema, name, kind);
            if n > 0 {
                self.sample_in(tenant, family, &l, n);
            }
        }
    }

    /// The enum label gauges: missing labels of every expected type (0 when in sync), unexpected
    /// ones where there are any (every label of a type the expectation does not have).
    fn type_gauges(&mut self, d: &str, report: &DriftReport) {
        for t in &report.types {
            let l = [
                ("database", d),
                ("schema", t.name.schema.as_str()),
                ("type", t.name.name.as_str()),
            ];
            if t.expected {
                self.sample(F::MissingEnumLabels, &l, t.missing_labels as u64);
            }
            if t.unexpected_labels > 0 {
                self.sample(F::UnexpectedEnumLabels, &l, t.unexpected_labels as u64);
            }
            if t.misordered_labels > 0 {
                self.sample(F::MisorderedEnumLabels, &l, t.misordered_labels as u64);
            }
        }
    }

    /// One series naming a drifted column or table, so alerts can say which.
    fn detail(&mut self, d: &str, item: &DriftItem) {
        let (family, drift) = match (&item.column, item.kind.column_label()) {
            (Some(_), Some(drift)) => (F::ColumnDrift, drift),
            _ => match item.kind.table_label() {
                Some(drift) => (F::TableDrift, drift),
                None => return,
            },
        };
        let mut line = String::new();
        let mut labels = vec![
            ("database", d),
            ("schema", item.schema.as_str()),
            ("table", item.table.as_str()),
            ("drift", drift),
        ];
        if let Some(column) = &item.column {
            labels.push(("column", column.as_str()));
        }
        write_sample(
            &mut line,
            FAMILIES[family as usize].name,
            &labels,
            Value::Int(1),
        );
        self.details.push((family, line));
        if let Some(migration) = &item.migration {
            let mut line = String::new();
            labels.push(("migration", migration.as_str()));
            write_sample(
                &mut line,
                FAMILIES[F::MigrationDrift as usize].name,
                &labels,
                Value::Int(1),
            );
            self.details.push((F::MigrationDrift, line));
        }
    }
}

/// Drift items per (schema, table, kind); table-level kinds count under their schema only.
struct Counts<'a>(std::collections::HashMap<(&'a str, &'a str, DriftKind), u64>);

impl<'a> Counts<'a> {
    fn of(report: &'a DriftReport) -> Counts<'a> {
        let mut counts = std::collections::HashMap::new();
        for item in &report.items {
            let table = match item.kind {
                DriftKind::MissingTable | DriftKind::UnexpectedTable => "",
                _ => item.table.as_str(),
            };
            *counts
                .entry((item.schema.as_str(), table, item.kind))
                .or_default() += 1;
        }
        Counts(counts)
    }

    fn get(&self, schema: &str, table: &str, kind: DriftKind) -> u64 {
        self.0.get(&(schema, table, kind)).copied().unwrap_or(0)
    }

    /// Whether the table has any column-level drift.
    fn any(&self, schema: &str, table: &str) -> bool {
        [
            DriftKind::MissingColumn,
            DriftKind::UnexpectedColumn,
            DriftKind::TypeMismatch,
            DriftKind::NullableMismatch,
            DriftKind::DefaultMismatch,
            DriftKind::IdentityMismatch,
        ]
        .into_iter()
        .any(|k| self.get(schema, table, k) > 0)
    }
}

/// Exporter-wide values that belong to no database.
#[derive(Debug, Clone, Copy)]
pub struct ExporterSeries {
    /// Whether the last reload succeeded.
    pub reload_ok: bool,
    /// Cap on detail series in the whole exposition.
    pub detail_series_limit: usize,
    /// Renders so far, this one included.
    pub renders: u64,
    /// Which replica this is.
    pub shard: crate::shard::Shard,
}

/// Joins every database's series (in config order) and the exporter's own into one exposition.
pub fn exposition<'a>(
    databases: impl Iterator<Item = &'a DatabaseSeries> + Clone,
    exporter: ExporterSeries,
) -> String {
    join(databases, exporter.detail_series_limit, Some(exporter))
}

/// `/probe?target=NAME`: one database's series exactly as `/metrics` has them, with the detail
/// cap applied to this database alone (`schema_detail_series_dropped` says what it cut), and none
/// of the exporter's own series, which belong to the exporter's scrape of `/metrics`.
pub fn probe(database: &DatabaseSeries, detail_series_limit: usize) -> String {
    join(std::iter::once(database), detail_series_limit, None)
}

fn join<'a>(
    databases: impl Iterator<Item = &'a DatabaseSeries> + Clone,
    detail_series_limit: usize,
    exporter: Option<ExporterSeries>,
) -> String {
    let mut details: Vec<String> = vec![String::new(); FAMILIES.len()];
    let (mut left, mut dropped) = (detail_series_limit, 0u64);
    for (family, line) in databases.clone().flat_map(|d| &d.details) {
        if left == 0 {
            dropped += 1;
        } else {
            left -= 1;
            details[*family as usize].push_str(line);
        }
    }
    let mut own = vec![String::new(); FAMILIES.len()];
    let mut sample = |f: F, labels: &[(&str, &str)], v: Value| {
        write_sample(&mut own[f as usize], FAMILIES[f as usize].name, labels, v)
    };
    sample(F::DetailDropped, &[], Value::Int(dropped));
    if let Some(exporter) = exporter {
        sample(F::ReloadOk, &[], Value::Int(u64::from(exporter.reload_ok)));
        sample(F::Renders, &[], Value::Int(exporter.renders));
        sample(F::ShardIndex, &[], Value::Int(exporter.shard.index));
        sample(F::Shards, &[], Value::Int(exporter.shard.total));
        let build = [
            ("revision", env!("SCHEMA_EXPORTER_REVISION")),
            ("rustc_version", env!("SCHEMA_EXPORTER_RUSTC_VERSION")),
            ("version", env!("CARGO_PKG_VERSION")),
        ];
        sample(F::BuildInfo, &build, Value::Int(1));
    }

    let mut out = String::new();
    for (i, family) in FAMILIES.iter().enumerate() {
        let blocks: Vec<&str> = databases
            .clone()
            .map(|d| d.lines.get(i).map_or("", String::as_str))
            .chain([details[i].as_str(), own[i].as_str()])
            .filter(|b| !b.is_empty())
            .collect();
        if blocks.is_empty() {
            continue;
        }
        let kind = if family.counter { "counter" } else { "gauge" };
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for block in blocks {
            out.push_str(block);
        }
    }
    out
}

/// A sample value: counts print as integers, durations and timestamps as floats.
#[derive(Debug, Clone, Copy)]
enum Value {
    Int(u64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

fn write_sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: Value) {
    out.push_str(name);
    if !labels.is_empty() {
        // Sorted by name, as the Go client writes them, so output is stable and diffable.
        let mut sorted = labels.to_vec();
        sorted.sort_unstable_by_key(|(k, _)| *k);
        out.push('{');
        for (i, (k, v)) in sorted.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"");
            escape_label_value(out, &capped_label_value(v));
            out.push('"');
        }
        out.push('}');
    }
    let _ = match value {
        Value::Int(v) => writeln!(out, " {v}"),
        Value::Float(v) => writeln!(out, " {v}"),
    };
}

/// Longest label value written, in bytes: every PostgreSQL (63 bytes) and MySQL/MariaDB (64
/// characters) identifier fits whole; a longer name (SQLite has no limit) would make a Prometheus
/// with `label_value_length_limit` drop the whole scrape.
pub const MAX_LABEL_VALUE_BYTES: usize = 256;

/// `v`, or for a value over [`MAX_LABEL_VALUE_BYTES`] its start and `~` and a 64-bit FNV-1a hash
/// of the whole value in hex: two long names that share a prefix stay two series, and the same
/// name keeps its series across restarts and versions (a std hasher promises neither).
fn capped_label_value(v: &str) -> std::borrow::Cow<'_, str> {
    if v.len() <= MAX_LABEL_VALUE_BYTES {
        return v.into();
    }
    let hash = fnv1a(v.as_bytes());
    let mut end = MAX_LABEL_VALUE_BYTES - 17;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}~{hash:016x}", &v[..end]).into()
}

/// 64-bit FNV-1a: a few lines, stable by definition.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Label values escape backslash, double quote and newline (the text format's rules); names of
/// tables and columns come from databases and may hold any of them.
fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text escapes backslash and newline.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_listed_in_name_order_and_indexed_by_f() {
        let names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(
            FAMILIES[F::UnexpectedTables as usize].name,
            "schema_unexpected_tables"
        );
        assert_eq!(
            FAMILIES[F::MissingColumns as usize].name,
            "schema_missing_columns"
        );
        assert_eq!(
            FAMILIES[F::Renders as usize].name,
            "schema_exporter_renders_total"
        );
        assert_eq!(FAMILIES.len(), F::UnexpectedTables as usize + 1);
    }

    #[test]
    fn label_values_from_databases_are_escaped() {
        let mut out = String::new();
        write_sample(
            &mut out,
            "m",
            &[("table", "we\"ird\\name\nx"), ("database", "a")],
            Value::Int(1),
        );
        assert_eq!(out, "m{database=\"a\",table=\"we\\\"ird\\\\name\\nx\"} 1\n");
        let mut out = String::new();
        write_sample(&mut out, "m", &[], Value::Float(0.25));
        assert_eq!(out, "m 0.25\n");
    }

    #[test]
    fn long_label_values_are_cut_with_a_hash_of_the_whole_value() {
        let fits = "é".repeat(MAX_LABEL_VALUE_BYTES / 2);
        assert_eq!(capped_label_value(&fits), fits.as_str());
        let long_a = format!("{}a", "é".repeat(500));
        let long_b = format!("{}b", "é".repeat(500));
        let (a, b) = (capped_label_value(&long_a), capped_label_value(&long_b));
        assert!(a.len() <= MAX_LABEL_VALUE_BYTES, "{}", a.len());
        assert_ne!(a, b, "names that differ only past the cut stay apart");
        assert!(a.starts_with("éé") && a.contains('~'), "{a}");
        // The published FNV-1a test vectors: the hash, hence a long name's series, never changes.
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
        let mut out = String::new();
        write_sample(&mut out, "m", &[("table", &"a".repeat(300))], Value::Int(1));
        assert_eq!(
            out,
            format!(
                "m{{table=\"{}~{:016x}\"}} 1\n",
                "a".repeat(239),
                fnv1a("a".repeat(300).as_bytes())
            )
        );
    }

    #[test]
    fn float_values_are_written_as_rust_formats_them() {
        let mut out = String::new();
        write_sample(&mut out, "m", &[], Value::Float(0.25));
        assert_eq!(out, "m 0.25\n");
    }

    /// Three drifted tenants against a cap of 5 detail series: each tenant's names come before its
    /// gauges, so the cap cuts whole tenants from the end rather than keeping gauges whose alert
    /// would have no names; a wholly missing tenant table has no `schema_missing_columns`.
    #[test]
    fn tenant_series_are_capped_tenant_by_tenant_names_first() {
        use crate::check::{CheckOutcome, Checked, DriftReport};
        use crate::dialect::Engine;
        use crate::model::{Column, Schema, Table, TableName};
        use crate::tenant::Tenants;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "detail_series_limit: 5\ndatabases:\n  - name: saas\n    url: postgres://u@db/saas\n    schemas: [{match: \"t*\"}]\n    expected: {file: e.yaml}\n",
        )
        .unwrap();
        let config = crate::config::load(&path).unwrap();
        let pg = Engine::Postgres;
        let orders = |schema: &str, with_total: bool| {
            let mut t = Table::new(TableName::new(schema, "orders"));
            t.add_column(pg, Column::new(pg, "id", Some("bigint"), None, None));
            if with_total {
                t.add_column(pg, Column::new(pg, "total", Some("numeric"), None, None));
            }
            t
        };
        let mut expected = Schema::default();
        expected.add_table(pg, orders("t*", true));
        let mut live = Schema::default();
        // t1 in sync, t2 lacks a column, t3 and t4 are empty.
        live.add_table(pg, orders("t1", true));
        live.add_table(pg, orders("t2", false));
        live.namespaces = ["t1", "t2", "t3", "t4"].map(String::from).to_vec();
        let tenants = Tenants::new(pg, vec!["t*".into()]).unwrap();
        let comparison = crate::diff::compare(
            pg,
            &expected,
            &live,
            &[],
            Some(&tenants),
            &Default::default(),
        );
        let mut state = crate::state::State::new(&config);
        state.record(
            "saas",
            CheckOutcome {
                started: std::time::SystemTime::now(),
                duration: std::time::Duration::ZERO,
                result: Ok(Checked {
                    report: DriftReport::new(pg, comparison),
                    expected_fingerprint: 1,
                    expected_modified: None,
                }),
            },
        );
        let series = DatabaseSeries::render("saas", &state.databases["saas"], TableSeries::All);
        let exporter = ExporterSeries {
            reload_ok: true,
            detail_series_limit: 5,
            renders: 1,
            shard: crate::shard::Shard::default(),
        };
        let text = exposition(std::iter::once(&series), exporter);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let has = |s: &str| lines.iter().any(|l| l.starts_with(s));
        assert!(has("schema_tenant_schemas{database=\"saas\"} 4"), "{text}");
        assert!(
            has("schema_tenant_schemas_drifted{database=\"saas\"} 3"),
            "{text}"
        );
        // t2: its column's name, then its gauge (2 series); t3: its table's name, its schema's
        // gauge (2); t4's name (1) fills the cap and its gauge is cut.
        assert!(has("schema_column_drift{column=\"total\",database=\"saas\",drift=\"missing\",schema=\"t2\""));
        assert!(has(
            "schema_missing_columns{database=\"saas\",schema=\"t2\",table=\"orders\"} 1"
        ));
        assert!(has(
            "schema_table_drift{database=\"saas\",drift=\"missing\",schema=\"t3\""
        ));
        assert!(has(
            "schema_missing_tables{database=\"saas\",schema=\"t3\"} 1"
        ));
        assert!(has(
            "schema_table_drift{database=\"saas\",drift=\"missing\",schema=\"t4\""
        ));
        assert!(
            !has("schema_missing_tables{database=\"saas\",schema=\"t4\"}"),
            "{text}"
        );
        assert!(has("schema_detail_series_dropped 1"), "{text}");
        assert!(
            !text.contains("schema=\"t1\""),
            "an in-sync tenant has no series: {text}"
        );
        assert!(
            !has("schema_missing_columns{database=\"saas\",schema=\"t3\""),
            "a missing tenant table pages as a missing table only: {text}"
        );
        assert!(has("schema_expected_tables{database=\"saas\"} 4"), "{text}");
    }
}
