//! The configuration file: parsed strictly once, validated into [`Config`], which the rest of the
//! code requires. Every problem is collected (not just the first) and names the file, the key and
//! the database, so `validate` can list them all.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::dialect::Engine;
use crate::diff::Ignore;
use crate::expected::{ExpectedSource, Reference, ReferenceTarget};
use crate::secret::DatabaseUrl;

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    interval: Option<String>,
    timeout: Option<String>,
    deploy_grace: Option<String>,
    max_concurrent_checks: Option<usize>,
    detail_series_limit: Option<usize>,
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
    schemas: Option<Vec<String>>,
    interval: Option<String>,
    timeout: Option<String>,
    deploy_grace: Option<String>,
    expected: Option<RawExpected>,
    #[serde(default)]
    ignore: RawIgnore,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpected {
    file: Option<PathBuf>,
    sql: Option<OneOrMany>,
    reference: Option<String>,
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

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for messages and reloads).
    pub path: PathBuf,
    /// Global cap on checks in flight, so many databases cannot stampede the exporter's host.
    pub max_concurrent_checks: usize,
    /// Cap on `schema_column_drift` series per scrape, so a mass drift cannot explode cardinality.
    pub detail_series_limit: usize,
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
    /// Schemas compared; unqualified expected tables belong to the first.
    pub schemas: Vec<String>,
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
    let raw: RawConfig = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Yaml))
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        )
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| fail(e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    validate(raw, path, base)
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
    };
    let max_concurrent_checks = raw
        .max_concurrent_checks
        .unwrap_or(DEFAULT_MAX_CONCURRENT_CHECKS);
    if max_concurrent_checks == 0 {
        problems.push("max_concurrent_checks: must be at least 1".into());
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
    for (i, db) in raw.databases.into_iter().enumerate() {
        let at = match &db.name {
            Some(n) => format!("databases[{i}] (name {n:?})"),
            None => format!("databases[{i}]"),
        };
        let mut local = Vec::new();
        let db = validate_database(db, base, &defaults, &mut local);
        problems.extend(local.into_iter().map(|p| format!("{at}: {p}")));
        if let Some(db) = db {
            if pending.iter().any(|d| d.name == db.name) {
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
        detail_series_limit: raw
            .detail_series_limit
            .unwrap_or(DEFAULT_DETAIL_SERIES_LIMIT),
        databases,
    })
}

/// A database whose own keys are valid, before `expected: {reference: NAME}` is resolved against
/// the others: only then is its [`DatabaseConfig`] complete.
struct Pending {
    name: String,
    /// Engine, URL, schemas and timeout: all a reference to this database needs to read it.
    connection: ReferenceTarget,
    interval: Duration,
    deploy_grace: Duration,
    source: Source,
    ignore: Ignore,
}

/// `expected:` as written: a source ready to use, or the name of the database to read.
enum Source {
    Ready(ExpectedSource),
    Reference(String),
}

/// Turns every pending database into its config, pointing each `expected: {reference: NAME}` at
/// the named database's connection. Problems are collected; the result is complete only if none.
fn resolve_references(
    pending: &[Pending],
    written: &[String],
    problems: &mut Vec<String>,
) -> Vec<DatabaseConfig> {
    let mut out = Vec::with_capacity(pending.len());
    for db in pending {
        let expected = match &db.source {
            Source::Ready(source) => source.clone(),
            Source::Reference(name) => {
                let at = format!("databases (name {:?}): expected.reference", db.name);
                match pending.iter().find(|d| d.name == *name) {
                    Some(_) if *name == db.name => {
                        problems.push(format!("{at}: a database cannot be its own reference"));
                        continue;
                    }
                    Some(target) => ExpectedSource::Reference(Reference {
                        name: name.clone(),
                        cross_engine: target.connection.engine != db.connection.engine,
                        target: target.connection.clone(),
                    }),
                    // Its own problems are listed already; once they are fixed the reference resolves.
                    None if written.contains(name) => continue,
                    None => {
                        problems.push(format!(
                            "{at}: no database named {name:?} is configured (configured: {})",
                            written.join(", ")
                        ));
                        continue;
                    }
                }
            }
        };
        out.push(DatabaseConfig {
            name: db.name.clone(),
            engine: db.connection.engine,
            url: db.connection.url.clone(),
            schemas: db.connection.schemas.clone(),
            interval: db.interval,
            timeout: db.connection.timeout,
            deploy_grace: db.deploy_grace,
            expected,
            ignore: db.ignore.clone(),
        });
    }
    out
}

/// Top-level values a database inherits unless it sets its own.
struct Defaults {
    interval: Duration,
    timeout: Duration,
    deploy_grace: Duration,
}

/// One database's own keys, each checked on its own so every problem is reported.
fn validate_database(
    db: RawDatabase,
    base: &Path,
    defaults: &Defaults,
    problems: &mut Vec<String>,
) -> Option<Pending> {
    let name = validate_name(db.name.clone(), problems);
    let (interval, timeout, deploy_grace) = validate_timing(&db, defaults, problems);
    let url = resolve_url(&db.url, &db.url_env, &db.url_file, base, problems);
    let password = resolve_password(&db.password_file, &db.password_env, base, problems);
    let (engine, url) = match url.map(|u| connection_url(&u, password, base)) {
        Some(Ok((engine, url))) => (Some(engine), Some(url)),
        Some(Err(e)) => {
            problems.push(format!("url: {e}"));
            (None, None)
        }
        None => (None, None),
    };
    let schemas = validate_schemas(db.schemas, engine, url.as_ref(), problems);
    let source = validate_source(db.expected, base, problems);
    let ignore = validate_ignore(db.ignore, problems);
    Some(Pending {
        name: name?,
        connection: ReferenceTarget {
            engine: engine?,
            url: url?,
            schemas: schemas?,
            timeout,
        },
        interval,
        deploy_grace,
        source: source?,
        ignore: ignore?,
    })
}

fn validate_name(name: Option<String>, problems: &mut Vec<String>) -> Option<String> {
    match name {
        None => {
            problems.push("name: required".into());
            None
        }
        Some(n)
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            problems.push(format!(
                "name: {n:?} may only contain letters, digits, `_` and `-`"
            ));
            None
        }
        Some(n) => Some(n),
    }
}

/// Interval, timeout and deploy grace, each defaulting to the file's; the timeout must fit inside
/// the interval or checks would overlap.
fn validate_timing(
    db: &RawDatabase,
    defaults: &Defaults,
    problems: &mut Vec<String>,
) -> (Duration, Duration, Duration) {
    let interval =
        parse_duration(db.interval.as_deref(), "interval", problems).unwrap_or(defaults.interval);
    let timeout =
        parse_duration(db.timeout.as_deref(), "timeout", problems).unwrap_or(defaults.timeout);
    let deploy_grace = parse_duration(db.deploy_grace.as_deref(), "deploy_grace", problems)
        .unwrap_or(defaults.deploy_grace);
    if interval.is_zero() {
        problems.push("interval: must be longer than zero".into());
    }
    if timeout.is_zero() || timeout >= interval {
        problems.push(format!(
            "timeout: {} must be longer than zero and shorter than the interval ({})",
            humantime::format_duration(timeout),
            humantime::format_duration(interval)
        ));
    }
    (interval, timeout, deploy_grace)
}

/// The engine and the full URL (password inside) of a configured URL. The URL parser's message
/// never includes the URL itself.
fn connection_url(
    url: &str,
    password: Option<String>,
    base: &Path,
) -> Result<(Engine, DatabaseUrl), String> {
    let engine = Engine::from_url(url)?;
    let url = if engine == Engine::Sqlite {
        absolute_sqlite_url(url, base)
    } else {
        url.to_string()
    };
    let url = DatabaseUrl::new(&url, password).map_err(|e| e.to_string())?;
    Ok((engine, url))
}

fn validate_schemas(
    schemas: Option<Vec<String>>,
    engine: Option<Engine>,
    url: Option<&DatabaseUrl>,
    problems: &mut Vec<String>,
) -> Option<Vec<String>> {
    let mut fail = |problem: String| {
        problems.push(problem);
        None
    };
    match (schemas, engine) {
        (Some(s), _) if s.is_empty() || s.iter().any(|x| x.trim().is_empty()) => {
            fail("schemas: must list at least one non-empty name".into())
        }
        (Some(_), Some(Engine::MySql)) => fail(
            "schemas: MySQL/MariaDB compare the database named in the URL; leave schemas out"
                .into(),
        ),
        (Some(s), Some(e)) => match e.fixed_schemas() {
            Some(fixed) if !s.iter().all(|x| fixed.contains(&x.as_str())) => fail(format!(
                "schemas: {} databases only have {}",
                e.name(),
                fixed.join(", ")
            )),
            _ => Some(s),
        },
        (Some(s), None) => Some(s),
        (None, Some(e)) => {
            let s = e.default_schemas(url.map_or("", |u| u.expose()));
            if s.is_empty() {
                fail("url: a mysql:// URL must name the database (mysql://user@host/app)".into())
            } else {
                Some(s)
            }
        }
        (None, None) => None,
    }
}

fn validate_source(
    expected: Option<RawExpected>,
    base: &Path,
    problems: &mut Vec<String>,
) -> Option<Source> {
    const SOURCES: &str = "one of: file, sql, reference";
    let mut fail = |problem: String| {
        problems.push(problem);
        None
    };
    let Some(expected) = expected else {
        return fail(format!("expected: required ({SOURCES})"));
    };
    match (expected.file, expected.sql, expected.reference) {
        (Some(f), None, None) => Some(Source::Ready(ExpectedSource::File(f).resolve(base))),
        (None, Some(paths), None) => {
            let paths = match paths {
                OneOrMany::One(p) => vec![p],
                OneOrMany::Many(v) => v,
            };
            if paths.is_empty() {
                return fail("expected.sql: list at least one file or directory".into());
            }
            Some(Source::Ready(ExpectedSource::Sql(paths).resolve(base)))
        }
        (None, None, Some(name)) => Some(Source::Reference(name)),
        _ => fail(format!(
            "expected: exactly one source is required ({SOURCES})"
        )),
    }
}

/// The user's globs plus, unless turned off, the migration tools' own tables.
fn validate_ignore(ignore: RawIgnore, problems: &mut Vec<String>) -> Option<Ignore> {
    let mut tables = ignore.tables;
    if ignore.migration_tables.unwrap_or(true) {
        tables.extend(MIGRATION_TABLES.iter().map(|t| t.to_string()));
    }
    match Ignore::new(&tables, &ignore.columns) {
        Ok(i) => Some(i),
        Err(e) => {
            problems.push(format!("ignore: {e}"));
            None
        }
    }
}

fn parse_duration(value: Option<&str>, key: &str, problems: &mut Vec<String>) -> Option<Duration> {
    let v = value?;
    match humantime::parse_duration(v.trim()) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(format!(
                "{key}: {v:?} is not a duration like 30s or 1m ({e})"
            ));
            None
        }
    }
}

fn resolve_url(
    url: &Option<String>,
    url_env: &Option<String>,
    url_file: &Option<PathBuf>,
    base: &Path,
    problems: &mut Vec<String>,
) -> Option<String> {
    match (url, url_env, url_file) {
        (Some(u), None, None) => Some(u.trim().to_string()),
        (None, Some(var), None) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
            _ => {
                problems.push(format!(
                    "url_env: environment variable {var} is not set or empty"
                ));
                None
            }
        },
        (None, None, Some(file)) => read_secret_file(&base.join(file), "url_file", problems),
        (None, None, None) => {
            problems.push("url: required (or url_env / url_file)".into());
            None
        }
        _ => {
            problems.push("url, url_env, url_file: give exactly one".into());
            None
        }
    }
}

fn resolve_password(
    file: &Option<PathBuf>,
    env: &Option<String>,
    base: &Path,
    problems: &mut Vec<String>,
) -> Option<String> {
    match (file, env) {
        (Some(_), Some(_)) => {
            problems.push("password_file, password_env: give at most one".into());
            None
        }
        (Some(f), None) => read_secret_file(&base.join(f), "password_file", problems),
        (None, Some(var)) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(v),
            _ => {
                problems.push(format!(
                    "password_env: environment variable {var} is not set or empty"
                ));
                None
            }
        },
        (None, None) => None,
    }
}

/// Reads a secret file; only the trailing newline editors add is removed. Errors name the file and
/// never its content.
fn read_secret_file(path: &Path, key: &str, problems: &mut Vec<String>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let s = s.trim_end_matches(['\n', '\r']).to_string();
            if s.is_empty() {
                problems.push(format!("{key}: {} is empty", path.display()));
                None
            } else {
                Some(s)
            }
        }
        Err(e) => {
            problems.push(format!("{key}: cannot read {}: {e}", path.display()));
            None
        }
    }
}

/// Makes a relative SQLite path relative to the config file's folder, like every other path.
fn absolute_sqlite_url(url: &str, base: &Path) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (file, query) = match rest.split_once('?') {
        Some((f, q)) => (f, Some(q)),
        None => (rest, None),
    };
    if file.is_empty() || file == ":memory:" || Path::new(file).is_absolute() {
        return url.to_string();
    }
    let absolute = base.join(file);
    let base_abs = if absolute.is_absolute() {
        absolute
    } else {
        std::env::current_dir()
            .map(|d| d.join(&absolute))
            .unwrap_or(absolute)
    };
    match query {
        Some(q) => format!("sqlite://{}?{q}", base_abs.display()),
        None => format!("sqlite://{}", base_abs.display()),
    }
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
            "databases:\n  - name: app\n    url: postgres://u:topsecret@db/app\n    interval: 10s\n    timeout: 10s\n    expected: {file: e.yaml}\n  - name: app\n    url: oracle://x\n    expected: {file: e.yaml}\n  - name: \"bad name\"\n    url: sqlite:x.db\n    password_file: missing\n    schemas: [other]\n    interval: soon\n  - name: lite\n    url: sqlite:x.db\n    expected: {file: e.yaml}\n  - name: lite\n    url: sqlite:y.db\n    expected: {file: e.yaml}\n  - name: my\n    url: mysql://u@db/app\n    schemas: [other]\n    expected: {file: e.yaml}\n  - name: my2\n    url: mariadb://u@db\n    expected: {file: e.yaml}\n",
        );
        let err = load(&path).unwrap_err();
        let text = err.to_string();
        for want in [
            "databases[0] (name \"app\"): timeout: 10s must be longer than zero and shorter than the interval (10s)",
            "databases[1] (name \"app\"): url: unsupported URL scheme `oracle`",
            "databases[2] (name \"bad name\"): name: \"bad name\" may only contain",
            "databases[2] (name \"bad name\"): password_file: cannot read",
            "databases[2] (name \"bad name\"): schemas: sqlite databases only have main",
            "databases[2] (name \"bad name\"): interval: \"soon\" is not a duration",
            "databases[2] (name \"bad name\"): expected: required",
            "databases[4] (name \"lite\"): name: \"lite\" is used by another database",
            "databases[5] (name \"my\"): schemas: MySQL/MariaDB compare the database named in the URL",
            "databases[6] (name \"my2\"): url: a mysql:// URL must name the database",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        assert!(text.starts_with(&format!("invalid configuration {}:", path.display())));
        assert!(!text.contains("topsecret"), "{text}");
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
