//! The configuration file: parsed strictly once, validated into [`Config`], which the rest of the
//! code requires. Every problem is collected (not just the first) and names the file, the key and
//! the database, so `validate` can list them all.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod database;

use database::{parse_duration, resolve_references, validate_database, Defaults, Pending};

use crate::dialect::Engine;
use crate::expected::ExpectedSource;
use crate::ignore::Ignore;
use crate::secret::DatabaseUrl;
use crate::tenant::Tenants;

/// Environment variables `SCHEMA_EXPORTER__KEY` override top-level keys of the file.
pub const ENV_PREFIX: &str = "SCHEMA_EXPORTER";
/// Poll interval when neither the database nor the file sets one.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Per-check time limit when neither the database nor the file sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long drift may follow a change of the expectation before alerts page (see
/// `schema_deploy_grace_seconds`): a rolling deploy ships the new expectation before its migration.
pub const DEFAULT_DEPLOY_GRACE: Duration = Duration::from_secs(600);
/// Checks allowed to run at the same time across all databases.
pub const DEFAULT_MAX_CONCURRENT_CHECKS: usize = 4;
/// Upper bound on `schema_column_drift` series in one scrape.
pub const DEFAULT_DETAIL_SERIES_LIMIT: usize = 1000;
/// Largest `max_concurrent_checks`: more checks at once than this is no schedule a database or
/// this process could keep.
pub const MAX_CONCURRENT_CHECKS: usize = 1024;
/// A kept connection pays for itself only when checks come often: below this interval the
/// connection is kept between checks (`keep_connections: auto`), above it every check connects anew.
pub const KEEP_CONNECTIONS_UNDER: Duration = Duration::from_secs(30);
/// Largest `detail_series_limit`.
pub const MAX_DETAIL_SERIES_LIMIT: usize = 1_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    interval: Option<String>,
    timeout: Option<String>,
    deploy_grace: Option<String>,
    max_concurrent_checks: Option<usize>,
    max_concurrent_checks_per_server: Option<usize>,
    keep_connections: Option<String>,
    detail_series_limit: Option<usize>,
    table_series: Option<String>,
    #[serde(default)]
    databases: Vec<RawDatabase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    name: Option<String>,
    url: Option<String>,
    url_env: Option<String>,
    url_file: Option<PathBuf>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    schemas: Option<Vec<RawSchema>>,
    interval: Option<String>,
    timeout: Option<String>,
    deploy_grace: Option<String>,
    expected: Option<RawExpected>,
    #[serde(default)]
    ignore: RawIgnore,
    /// `definition` (the default: keys, indexes and constraints compared by what they are) or
    /// `strict` (their names too).
    names: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpected {
    file: Option<PathBuf>,
    sql: Option<OneOrMany>,
    reference: Option<String>,
    ledger: Option<String>,
}

/// One entry of `schemas:`: a schema's name, or `{match: GLOB}` for every tenant schema it matches.
#[derive(Debug)]
enum RawSchema {
    Name(String),
    Pattern(String),
}

/// By hand rather than `untagged`: serde's untagged error ("did not match any variant") would
/// not say what an entry may be, nor which key was wrong.
impl<'de> Deserialize<'de> for RawSchema {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RawSchema, D::Error> {
        struct Entry;
        const WANT: &str = "a schema name or {match: PATTERN}";
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = RawSchema;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(WANT)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSchema, E> {
                Ok(RawSchema::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawSchema, A::Error> {
                let mut pattern = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "match" {
                        return Err(serde::de::Error::custom(format!(
                            "unknown key `{key}` in a schemas entry (expected {WANT})"
                        )));
                    }
                    pattern = Some(map.next_value::<String>()?);
                }
                pattern
                    .map(RawSchema::Pattern)
                    .ok_or_else(|| serde::de::Error::custom(format!("expected {WANT}")))
            }
        }
        d.deserialize_any(Entry)
    }
}

/// `sql: schema.sql` or `sql: [schema.sql, migrations/]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    #[serde(default)]
    tables: Vec<String>,
    #[serde(default)]
    columns: Vec<String>,
    migration_tables: Option<bool>,
    extension_objects: Option<bool>,
}

/// Migration-history tables of common frameworks and tools, ignored unless
/// `ignore.migration_tables: false`: they record which migrations ran and are never part of an
/// application's expected schema.
pub const MIGRATION_TABLES: &[&str] = &[
    "django_migrations",          // Django
    "schema_migrations",          // Rails, golang-migrate, dbmate, Ecto
    "ar_internal_metadata",       // Rails
    "alembic_version",            // Alembic
    "flyway_schema_history",      // Flyway
    "_sqlx_migrations",           // sqlx
    "goose_db_version",           // goose
    "__diesel_schema_migrations", // Diesel
    "knex_migrations",            // Knex
    "knex_migrations_lock",       // Knex
    "_prisma_migrations",         // Prisma
    "__EFMigrationsHistory",      // Entity Framework Core
    "databasechangelog",          // Liquibase
    "databasechangeloglock",      // Liquibase
    "atlas_schema_revisions",     // Atlas
    "seaql_migrations",           // SeaORM
    "refinery_schema_history",    // refinery
];

/// Which per-table series an in-sync table gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableSeries {
    /// One series per expected table (`schema_missing_columns`, 0 when in sync), so a table's
    /// reading goes from 0 to 1 when a column disappears; the other per-table gauges only where
    /// they are not zero.
    #[default]
    All,
    /// Per-table series only for drifted tables: for databases with very many tables, where one
    /// series per table costs more than the zeros are worth.
    Drifted,
}

/// Whether a database's connection stays open between its checks (`keep_connections`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeepConnections {
    /// Kept when the database's interval is under [`KEEP_CONNECTIONS_UNDER`]: reconnecting twice a
    /// minute or more costs the server more than an idle session does.
    #[default]
    Auto,
    /// Always kept: one session (and, for SQLite, a thread and a file descriptor) per database.
    Always,
    /// Every check opens its connection and closes it when done.
    Never,
}

impl KeepConnections {
    /// Whether a database checked every `interval` keeps its connection between checks.
    pub fn keeps(self, interval: Duration) -> bool {
        match self {
            KeepConnections::Auto => interval < KEEP_CONNECTIONS_UNDER,
            KeepConnections::Always => true,
            KeepConnections::Never => false,
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for messages and reloads).
    pub path: PathBuf,
    /// Global cap on checks in flight, so many databases cannot stampede the exporter's host.
    pub max_concurrent_checks: usize,
    /// Cap on checks in flight against one server (host and port), so a server that hangs holds
    /// at most this many of the global slots and the other servers' checks keep their schedule.
    pub max_concurrent_checks_per_server: usize,
    /// Whether connections stay open between checks.
    pub keep_connections: KeepConnections,
    /// Cap on `schema_column_drift` series per scrape, so a mass drift cannot explode cardinality.
    pub detail_series_limit: usize,
    /// Which per-table series in-sync tables get (`table_series: all | drifted`).
    pub table_series: TableSeries,
    /// The databases to watch, in file order.
    pub databases: Vec<DatabaseConfig>,
}

/// One watched database.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The `database` label: unique, `[a-zA-Z0-9_-]+`.
    pub name: String,
    /// Engine chosen from the URL scheme.
    pub engine: Engine,
    /// Connection URL with the password (from wherever it came) inside, redacted when shown.
    pub url: DatabaseUrl,
    /// Schemas compared by name; unqualified expected tables belong to the first (unless there
    /// are tenant patterns).
    pub schemas: Vec<String>,
    /// Schemas compared by pattern (`{match: GLOB}`), each with the expectation's unqualified
    /// tables as its template.
    pub tenants: Option<Tenants>,
    /// Time between checks.
    pub interval: Duration,
    /// Limit for one check, always shorter than `interval`.
    pub timeout: Duration,
    /// Exported for alert rules: drift this soon after the expectation changed does not page.
    pub deploy_grace: Duration,
    /// Where the expected schema comes from.
    pub expected: ExpectedSource,
    /// What not to compare.
    pub ignore: Ignore,
}

impl DatabaseConfig {
    /// The schemas an expectation is read for: its unqualified tables belong to the first, which
    /// is the tenant template (the first pattern) when the database has tenant patterns.
    pub fn expectation_schemas(&self) -> Vec<String> {
        match &self.tenants {
            Some(t) => std::iter::once(t.template().to_string())
                .chain(self.schemas.iter().cloned())
                .collect(),
            None => self.schemas.clone(),
        }
    }
}

/// Everything wrong with a configuration file.
#[derive(Debug)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// One line per problem, each naming its key.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration {}:", self.path.display())?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads, parses and validates a configuration file, applying `SCHEMA_EXPORTER__*` overrides.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let fail = |problem: String| ConfigError {
        path: path.to_path_buf(),
        problems: vec![problem],
    };
    if !path.is_file() {
        return Err(fail("file not found or not a regular file".into()));
    }
    let text = read_config_text(path).map_err(fail)?;
    let raw: RawConfig = config::Config::builder()
        .add_source(config::File::from_str(&text, config::FileFormat::Yaml))
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        )
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| fail(name_environment_variable(e.to_string())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    validate(raw, path, base)
}

/// Largest configuration file read: a fleet of 10,000 databases is about 1.5 MiB; a bigger file is
/// a mistake (or `/dev/zero`) that must not be read until memory runs out.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The file's text, refused when it is too large, is not UTF-8, holds a NUL (the YAML reader would
/// silently stop there and drop every key after it), or uses aliases beyond [`yaml_budget`].
fn read_config_text(path: &Path) -> Result<String, String> {
    let text =
        crate::files::read_text(path, MAX_CONFIG_BYTES).map_err(|e| format!("cannot read: {e}"))?;
    if let Some(at) = text.find('\0') {
        let (line, column) = crate::files::position(&text.as_bytes()[..at]);
        return Err(format!("line {line}, column {column}: NUL byte"));
    }
    // The reader behind the `config` crate expands aliases before any key is checked: read the
    // text once with a bounded reader first, so a few hundred bytes of nested aliases cannot
    // expand to gigabytes.
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(yaml_budget());
    // What the config crate's reader will expand, bounded: every alias's events count.
    options.alias_limits.max_total_replayed_events = MAX_CONFIG_REPLAYED_EVENTS;
    options.with_snippet = false;
    serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(&text, options)
        .map_err(|e| format!("{e}"))?;
    Ok(text)
}

/// Events that aliases may replay in a configuration file: 10,000 databases naming two blocks
/// of a few events each stay far below; nested aliases that would expand to gigabytes do not.
const MAX_CONFIG_REPLAYED_EVENTS: usize = 500_000;

/// Limits for reading a configuration file: far above any real config (a fleet of 10,000
/// databases each naming shared blocks by alias stays fine), far below what would exhaust the
/// machine.
fn yaml_budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_aliases = 20_000;
    // The reader's "many aliases per anchor" heuristic would refuse a fleet whose databases all
    // name the same block; the expansion it guards against is bounded by the replay limit.
    budget.enforce_alias_anchor_ratio = false;
    budget.max_nodes = 1_000_000;
    budget.max_anchors = 1_000;
    budget.max_recorded_anchor_events = 100_000;
    budget.max_depth = 32;
    budget
}

/// An unknown key that came from a `SCHEMA_EXPORTER__*` variable, not from the file, is named as
/// the variable: the file is not where the operator should look.
fn name_environment_variable(message: String) -> String {
    let Some(key) = message
        .split("unknown field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
    else {
        return message;
    };
    let variable = format!("{ENV_PREFIX}__{}", key.to_uppercase());
    if std::env::var_os(&variable).is_some() {
        format!("environment variable {variable}: {key} is not a configuration key ({message})")
    } else {
        message
    }
}

/// The value of key `key` among `options` (the first is the default when the key is absent);
/// anything else is a problem naming the key and the choices.
fn choice<T: Copy>(
    key: &str,
    value: Option<&str>,
    options: &[(&str, T)],
    problems: &mut Vec<String>,
) -> T {
    let Some(value) = value.map(str::trim) else {
        return options[0].1;
    };
    match options.iter().find(|(name, _)| *name == value) {
        Some((_, v)) => *v,
        None => {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            problems.push(format!(
                "{key}: {value:?} is not one of {}",
                names.join(", ")
            ));
            options[0].1
        }
    }
}

fn validate(raw: RawConfig, path: &Path, base: &Path) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();
    let defaults = Defaults {
        interval: parse_duration(raw.interval.as_deref(), "interval", &mut problems)
            .unwrap_or(DEFAULT_INTERVAL),
        timeout: parse_duration(raw.timeout.as_deref(), "timeout", &mut problems)
            .unwrap_or(DEFAULT_TIMEOUT),
        deploy_grace: parse_duration(raw.deploy_grace.as_deref(), "deploy_grace", &mut problems)
            .unwrap_or(DEFAULT_DEPLOY_GRACE),
        ignores: Default::default(),
    };
    let table_series = choice(
        "table_series",
        raw.table_series.as_deref(),
        &[("all", TableSeries::All), ("drifted", TableSeries::Drifted)],
        &mut problems,
    );
    let max_concurrent_checks = raw
        .max_concurrent_checks
        .unwrap_or(DEFAULT_MAX_CONCURRENT_CHECKS);
    if !(1..=MAX_CONCURRENT_CHECKS).contains(&max_concurrent_checks) {
        problems.push(format!(
            "max_concurrent_checks: {max_concurrent_checks} is outside 1..={MAX_CONCURRENT_CHECKS}"
        ));
    }
    // Half the global slots by default: a hung server can stall half the checks, never all.
    let max_concurrent_checks_per_server = raw
        .max_concurrent_checks_per_server
        .unwrap_or(max_concurrent_checks.div_ceil(2));
    if !(1..=MAX_CONCURRENT_CHECKS).contains(&max_concurrent_checks_per_server) {
        problems.push(format!(
            "max_concurrent_checks_per_server: {max_concurrent_checks_per_server} is outside 1..={MAX_CONCURRENT_CHECKS}"
        ));
    }
    let keep_connections = choice(
        "keep_connections",
        raw.keep_connections.as_deref(),
        &[
            ("auto", KeepConnections::Auto),
            ("always", KeepConnections::Always),
            ("never", KeepConnections::Never),
        ],
        &mut problems,
    );
    let detail_series_limit = raw
        .detail_series_limit
        .unwrap_or(DEFAULT_DETAIL_SERIES_LIMIT);
    if detail_series_limit > MAX_DETAIL_SERIES_LIMIT {
        problems.push(format!(
            "detail_series_limit: {detail_series_limit} is outside 0..={MAX_DETAIL_SERIES_LIMIT}"
        ));
    }
    if raw.databases.is_empty() {
        problems.push("databases: at least one database is required".into());
    }
    // Every name written in the file, valid or not, so a reference to a database with problems of
    // its own is not also reported as unknown.
    let written: Vec<String> = raw
        .databases
        .iter()
        .filter_map(|d| d.name.clone())
        .collect();
    let mut pending: Vec<Pending> = Vec::new();
    // A fleet config lists thousands of databases: names are checked for uniqueness by set.
    let mut names = std::collections::HashSet::new();
    for (i, db) in raw.databases.into_iter().enumerate() {
        let at = match &db.name {
            Some(n) => format!("databases[{i}] (name {n:?})"),
            None => format!("databases[{i}]"),
        };
        let mut local = Vec::new();
        let db = validate_database(db, base, &defaults, &mut local);
        problems.extend(local.into_iter().map(|p| format!("{at}: {p}")));
        if let Some(db) = db {
            if !names.insert(db.name.clone()) {
                problems.push(format!(
                    "{at}: name: {:?} is used by another database",
                    db.name
                ));
            } else {
                pending.push(db);
            }
        }
    }
    let databases = resolve_references(&pending, &written, &mut problems);
    if !problems.is_empty() {
        return Err(ConfigError {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(Config {
        path: path.to_path_buf(),
        max_concurrent_checks,
        max_concurrent_checks_per_server,
        keep_connections,
        detail_series_limit,
        table_series,
        databases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_valid_file_resolves_paths_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "pw", "s3cret\n");
        let path = write(
            dir.path(),
            "c.yaml",
            "interval: 30s\ndeploy_grace: 20m\ndatabases:\n  - name: app\n    url: postgres://exporter@db/app\n    password_file: pw\n    expected: {file: expected/app.yaml}\n  - name: lite\n    url: sqlite:data/app.db\n    timeout: 2s\n    deploy_grace: 0s\n    expected: {file: /abs/e.yaml}\n    ignore: {tables: [\"tmp_*\"]}\n",
        );
        let c = load(&path).unwrap();
        let app = &c.databases[0];
        assert_eq!(app.engine, Engine::Postgres);
        assert_eq!(app.schemas, vec!["public"]);
        assert_eq!(app.interval, Duration::from_secs(30));
        assert_eq!(app.timeout, DEFAULT_TIMEOUT);
        assert_eq!(app.deploy_grace, Duration::from_secs(1200));
        assert_eq!(
            app.expected,
            ExpectedSource::File(dir.path().join("expected/app.yaml"))
        );
        assert!(app.url.expose().contains(":s3cret@"));
        assert!(!format!("{app:?}").contains("s3cret"));
        let lite = &c.databases[1];
        assert_eq!(lite.schemas, vec!["main"]);
        assert_eq!(
            lite.deploy_grace,
            Duration::ZERO,
            "0 turns the grace window off"
        );
        assert_eq!(
            lite.url.expose(),
            format!("sqlite://{}", dir.path().join("data/app.db").display())
        );
        assert_eq!(lite.expected, ExpectedSource::File("/abs/e.yaml".into()));
    }

    #[test]
    fn every_problem_is_reported_with_its_key_and_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "c.yaml",
            "databases:\n  - name: app\n    url: postgres://u:topsecret@db/app\n    interval: 10s\n    timeout: 10s\n    expected: {file: e.yaml}\n  - name: app\n    url: oracle://x\n    expected: {file: e.yaml}\n  - name: \"bad name\"\n    url: sqlite:x.db\n    password_file: missing\n    schemas: [other]\n    interval: soon\n  - name: lite\n    url: sqlite:x.db\n    expected: {file: e.yaml}\n  - name: lite\n    url: sqlite:y.db\n    expected: {file: e.yaml}\n  - name: my\n    url: mysql://u@db/app\n    schemas: [other]\n    expected: {file: e.yaml}\n  - name: my2\n    url: mariadb://u@db\n    expected: {file: e.yaml}\n    names: loose\n",
        );
        let err = load(&path).unwrap_err();
        let text = err.to_string();
        for want in [
            "databases[0] (name \"app\"): timeout: 10s must be shorter than the interval (10s)",
            "databases[1] (name \"app\"): url: unsupported URL scheme `oracle`",
            "databases[2] (name \"bad name\"): name: \"bad name\" may only contain",
            "databases[2] (name \"bad name\"): password_file: cannot read",
            "databases[2] (name \"bad name\"): schemas: sqlite databases only have main",
            "databases[2] (name \"bad name\"): interval: \"soon\" is not a duration",
            "databases[2] (name \"bad name\"): expected: required",
            "databases[4] (name \"lite\"): name: \"lite\" is used by another database",
            "databases[5] (name \"my\"): schemas: MySQL/MariaDB compare the database named in the URL",
            "databases[6] (name \"my2\"): url: a mysql:// URL must name the database",
            "databases[6] (name \"my2\"): names: \"loose\" is neither `definition`",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        assert!(text.starts_with(&format!("invalid configuration {}:", path.display())));
        assert!(!text.contains("topsecret"), "{text}");
    }

    #[test]
    fn tenant_patterns_load_beside_names_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "ok.yaml",
            "databases:\n  - name: pg\n    url: postgres://u@db/app\n    schemas: [public, {match: \"tenant_*\"}, {match: acme}]\n    expected: {file: e.yaml}\n  - name: my\n    url: mysql://u@db\n    schemas: [{match: \"shop_*\"}]\n    expected: {file: e.yaml}\n",
        );
        let c = load(&path).unwrap();
        let pg = &c.databases[0];
        assert_eq!(pg.schemas, ["public"]);
        let tenants = pg.tenants.as_ref().unwrap();
        assert_eq!(tenants.patterns(), ["tenant_*", "acme"]);
        // Unqualified expected tables are the template, kept under the first pattern.
        assert_eq!(pg.expectation_schemas(), ["tenant_*", "public"]);
        let my = &c.databases[1];
        assert!(
            my.schemas.is_empty(),
            "the URL's database is not compared by name"
        );
        assert!(my
            .tenants
            .as_ref()
            .unwrap()
            .matches(Engine::MySql, "SHOP_1"));

        let path = write(
            dir.path(),
            "bad.yaml",
            "databases:\n  - name: lite\n    url: sqlite:x.db\n    schemas: [{match: \"x*\"}]\n    expected: {file: e.yaml}\n  - name: my\n    url: mysql://u@db/app\n    schemas: [app, {match: \"x*\"}]\n    expected: {file: e.yaml}\n  - name: glob\n    url: postgres://u@db/app\n    schemas: [{match: \"[x\"}]\n    expected: {file: e.yaml}\n  - name: tenants\n    url: postgres://u@db/app\n    schemas: [{match: \"t_*\"}]\n    expected: {file: e.yaml}\n  - name: follower\n    url: postgres://u@db/app\n    expected: {reference: tenants}\n",
        );
        let text = load(&path).unwrap_err().to_string();
        for want in [
            "databases[0] (name \"lite\"): schemas: sqlite databases only have main",
            "databases[1] (name \"my\"): schemas: MySQL/MariaDB compare the database named in the URL; leave schemas out, or give only {match: PATTERN}",
            "databases[2] (name \"glob\"): schemas: match: invalid glob `[x`",
            "databases (name \"follower\"): expected.reference: \"tenants\" matches its schemas by pattern",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        let path = write(
            dir.path(),
            "key.yaml",
            "databases:\n  - name: a\n    url: postgres://u@db/app\n    schemas: [{matches: \"t_*\"}]\n    expected: {file: e.yaml}\n",
        );
        let text = load(&path).unwrap_err().to_string();
        assert!(
            text.contains("unknown key `matches` in a schemas entry (expected a schema name or {match: PATTERN})")
                && text.contains("databases[0]schemas[0]"),
            "{text}"
        );
    }

    #[test]
    fn table_series_is_all_by_default_and_a_wrong_value_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = "databases:\n  - name: a\n    url: sqlite:x.db\n    expected: {file: e.yaml}\n";
        let path = write(dir.path(), "a.yaml", db);
        assert_eq!(load(&path).unwrap().table_series, TableSeries::All);
        let path = write(
            dir.path(),
            "d.yaml",
            &format!("table_series: drifted\n{db}"),
        );
        assert_eq!(load(&path).unwrap().table_series, TableSeries::Drifted);
        let path = write(
            dir.path(),
            "w.yaml",
            &format!("table_series: sometimes\n{db}"),
        );
        let text = load(&path).unwrap_err().to_string();
        assert!(
            text.contains("table_series: \"sometimes\" is not one of all, drifted"),
            "{text}"
        );
    }

    /// Bytes the YAML reader would silently drop or replace are errors at their position, so no
    /// key after them (an ignore rule, a syntax error) disappears unnoticed.
    #[test]
    fn nul_bytes_and_invalid_utf8_are_errors_at_their_position() {
        let dir = tempfile::tempdir().unwrap();
        let db = "databases:\n  - name: a\n    url: sqlite:x.db\n    expected: {file: e.yaml}\n";
        let path = write(
            dir.path(),
            "nul.yaml",
            &format!("{db}\0    this is: [not yaml\n"),
        );
        let text = load(&path).unwrap_err().to_string();
        assert!(
            text.contains("nul.yaml:\n  - line 5, column 1: NUL byte"),
            "{text}"
        );
        let path = dir.path().join("latin1.yaml");
        let mut bytes = db.as_bytes().to_vec();
        bytes.extend_from_slice(b"    schemas: [caf\xe9]\n");
        std::fs::write(&path, bytes).unwrap();
        let text = load(&path).unwrap_err().to_string();
        assert!(
            text.contains("line 5, column 18: not valid UTF-8"),
            "{text}"
        );
    }

    /// Nested aliases that would expand to gigabytes are refused while reading, in milliseconds.
    #[test]
    fn nested_aliases_are_refused_before_they_expand() {
        let dir = tempfile::tempdir().unwrap();
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let path = write(dir.path(), "bomb.yaml", &bomb);
        let started = std::time::Instant::now();
        let text = load(&path).unwrap_err().to_string();
        assert!(text.contains("budget"), "{text}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    /// Every number and duration has a range; values outside it are named with the range instead
    /// of reaching a panic in the scheduler (a semaphore of 2^64 permits, a timer a century ahead).
    #[test]
    fn numbers_and_durations_outside_their_range_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "c.yaml",
            "max_concurrent_checks: 18446744073709551615\ndetail_series_limit: 1000000000\ninterval: 100years\ndatabases:\n  - name: a\n    url: sqlite:x.db\n    timeout: 10ms\n    deploy_grace: 365d\n    expected: {file: e.yaml}\n",
        );
        let text = load(&path).unwrap_err().to_string();
        for want in [
            "max_concurrent_checks: 18446744073709551615 is outside 1..=1024",
            "detail_series_limit: 1000000000 is outside 0..=1000000",
            "interval: 100years is outside 1s..=7days",
            "timeout: 10ms is outside 100ms..=1h",
            "(name \"a\"): deploy_grace: 11months 30days 3h 50m 24s is outside 0s..=30days",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn fleet_keys_are_range_checked_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "c.yaml",
            "max_concurrent_checks_per_server: 0\nkeep_connections: sometimes\ndatabases:\n  - name: a\n    url: sqlite:x.db\n    expected: {file: e.yaml}\n",
        );
        let text = load(&path).unwrap_err().to_string();
        for want in [
            "max_concurrent_checks_per_server: 0 is outside 1..=1024",
            "keep_connections: \"sometimes\" is not one of auto, always, never",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        let path = write(
            dir.path(),
            "c.yaml",
            "max_concurrent_checks: 5\ndatabases:\n  - name: a\n    url: sqlite:x.db\n    expected: {file: e.yaml}\n",
        );
        let config = load(&path).unwrap();
        assert_eq!(
            config.max_concurrent_checks_per_server, 3,
            "half, rounded up"
        );
        assert_eq!(config.keep_connections, KeepConnections::Auto);
        let auto = KeepConnections::Auto;
        assert!(auto.keeps(Duration::from_secs(29)) && !auto.keeps(KEEP_CONNECTIONS_UNDER));
        assert!(KeepConnections::Always.keeps(Duration::from_secs(3600)));
        assert!(!KeepConnections::Never.keeps(Duration::from_secs(1)));
    }

    /// A fleet config names shared blocks by alias in every database: 2,000 databases with two
    /// aliases each are read (the old budget of 1,000 aliases refused them).
    #[test]
    fn a_fleet_config_with_an_alias_per_database_loads() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("databases:\n");
        for i in 0..2000 {
            if i == 0 {
                text.push_str("  - name: db0\n    url: sqlite:db0.db\n    expected: &expected {file: e.yaml}\n    ignore: &ignore {tables: [\"tmp_*\"]}\n");
            } else {
                text.push_str(&format!("  - name: db{i}\n    url: sqlite:db{i}.db\n    expected: *expected\n    ignore: *ignore\n"));
            }
        }
        let path = write(dir.path(), "c.yaml", &text);
        let config = load(&path).unwrap();
        assert_eq!(config.databases.len(), 2000);
        let last = &config.databases[1999];
        assert!(last
            .ignore
            .table(&crate::model::TableName::new("main", "tmp_x")));
        // A merge key is not read: named as an unknown field, not silently dropped.
        let path = write(dir.path(), "c.yaml", "databases:\n  - &a\n    name: a\n    url: sqlite:a.db\n    expected: {file: e.yaml}\n  - <<: *a\n    name: b\n");
        let text = load(&path).unwrap_err().to_string();
        assert!(text.contains("unknown field `<<`"), "{text}");
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "c.yaml", "databases:\n  - name: a\n    url: sqlite:x.db\n    expected: {file: e.yaml}\n    intervall: 1m\n");
        let text = load(&path).unwrap_err().to_string();
        assert!(text.contains("intervall"), "{text}");
    }

    #[test]
    fn urls_and_passwords_come_from_files_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "url", "postgres://from-file@db/app\n");
        // A variable name no other test uses: tests run in parallel in one process.
        std::env::set_var("SE_TEST_URL_FROM_ENV", "postgres://from-env@db/app");
        std::env::set_var("SE_TEST_PASSWORD_FROM_ENV", "env-secret");
        let path = write(
            dir.path(),
            "c.yaml",
            "databases:\n  - name: a\n    url_file: url\n    password_env: SE_TEST_PASSWORD_FROM_ENV\n    expected: {file: e.yaml}\n  - name: b\n    url_env: SE_TEST_URL_FROM_ENV\n    expected: {file: e.yaml}\n  - name: c\n    url: sqlite:x.db\n    url_env: SE_TEST_URL_FROM_ENV\n    expected: {file: e.yaml}\n  - name: d\n    url_env: SE_TEST_UNSET_VARIABLE\n    expected: {file: e.yaml}\n",
        );
        let text = load(&path).unwrap_err().to_string();
        assert!(
            text.contains("databases[2] (name \"c\"): url, url_env, url_file: give exactly one"),
            "{text}"
        );
        assert!(text.contains("databases[3] (name \"d\"): url_env: environment variable SE_TEST_UNSET_VARIABLE is not set"), "{text}");
        let path = write(
            dir.path(),
            "ok.yaml",
            "databases:\n  - name: a\n    url_file: url\n    password_env: SE_TEST_PASSWORD_FROM_ENV\n    expected: {file: e.yaml}\n  - name: b\n    url_env: SE_TEST_URL_FROM_ENV\n    expected: {file: e.yaml}\n",
        );
        let c = load(&path).unwrap();
        assert_eq!(
            c.databases[0].url.expose(),
            "postgres://from-file:env-secret@db/app"
        );
        assert_eq!(
            c.databases[0].url.redacted(),
            "postgres://from-file:***@db/app"
        );
        assert_eq!(c.databases[1].url.expose(), "postgres://from-env@db/app");
    }

    #[test]
    fn a_missing_file_is_named() {
        let text = load(Path::new("/nonexistent/c.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("/nonexistent/c.yaml") && text.contains("not found"),
            "{text}"
        );
    }
}
