//! One database's entry of the configuration file, validated key by key, then completed once every
//! database is known (a `reference:` names another one). Secrets are read here and never appear in
//! a message: errors name the file or variable they came from.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    DatabaseConfig, OneOrMany, RawDatabase, RawExpected, RawIgnore, RawSchema, MIGRATION_TABLES,
};
use crate::dialect::Engine;
use crate::expected::ledger::LedgerKind;
use crate::expected::{ExpectedSource, Migrations, Reference, ReferenceTarget};
use crate::ignore::Ignore;
use crate::secret::DatabaseUrl;
use crate::tenant::Tenants;

/// A database whose own keys are valid, before `expected: {reference: NAME}` is resolved against
/// the others: only then is its [`DatabaseConfig`] complete.
pub(super) struct Pending {
    pub(super) name: String,
    /// Engine, URL, schemas and timeout: all a reference to this database needs to read it.
    connection: ReferenceTarget,
    tenants: Option<Tenants>,
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
pub(super) fn resolve_references(
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
                    Some(target) if target.tenants.is_some() => {
                        problems.push(format!(
                            "{at}: {name:?} matches its schemas by pattern, so it has no single \
                             schema to be the source of truth; point the tenants at an expected \
                             file or SQL instead"
                        ));
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
            tenants: db.tenants.clone(),
            interval: db.interval,
            timeout: db.connection.timeout,
            deploy_grace: db.deploy_grace,
            expected,
            ignore: db.ignore.clone(),
        });
    }
    out
}

/// Compiled ignore rules by their table and column globs.
pub(super) type CompiledIgnores = std::collections::HashMap<(Vec<String>, Vec<String>), Ignore>;

/// Top-level values a database inherits unless it sets its own.
pub(super) struct Defaults {
    pub(super) interval: Duration,
    pub(super) timeout: Duration,
    pub(super) deploy_grace: Duration,
    /// Ignore rules compiled so far, by their globs: a fleet's databases mostly share theirs (the
    /// migration tables' defaults at least), and each compiled set costs about 8 KiB.
    pub(super) ignores: std::cell::RefCell<CompiledIgnores>,
}

/// One database's own keys, each checked on its own so every problem is reported.
pub(super) fn validate_database(
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
    let (schemas, tenants) = validate_schemas(db.schemas, engine, url.as_ref(), problems);
    let source = validate_source(db.expected, base, problems);
    if let (Some(Source::Ready(ExpectedSource::Migrations(_))), Some(_)) = (&source, &tenants) {
        problems.push(
            "expected.ledger: not with tenant schema patterns (each tenant keeps its own ledger)"
                .into(),
        );
    }
    let strict_names = match db.names.as_deref() {
        None | Some("definition") => false,
        Some("strict") => true,
        Some(other) => {
            problems.push(format!(
                "names: {other:?} is neither `definition` (compare keys, indexes and constraints by what they are) nor `strict` (their names too)"
            ));
            false
        }
    };
    let ignore =
        validate_ignore(db.ignore, defaults, problems).map(|i| i.with_strict_names(strict_names));
    Some(Pending {
        name: name?,
        connection: ReferenceTarget {
            engine: engine?,
            url: url?,
            schemas: schemas?,
            timeout,
        },
        tenants,
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
    if timeout >= interval {
        problems.push(format!(
            "timeout: {} must be shorter than the interval ({})",
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

/// `schemas:` as names and tenant patterns. Names are compared as given; patterns make every
/// matching schema a tenant. MySQL/MariaDB compare the URL's database unless patterns are given
/// (tenant databases); SQLite has only `main`.
fn validate_schemas(
    schemas: Option<Vec<RawSchema>>,
    engine: Option<Engine>,
    url: Option<&DatabaseUrl>,
    problems: &mut Vec<String>,
) -> (Option<Vec<String>>, Option<Tenants>) {
    let Some(schemas) = schemas else {
        let Some(e) = engine else {
            return (None, None);
        };
        let s = e.default_schemas(url.map_or("", |u| u.expose()));
        if s.is_empty() {
            problems
                .push("url: a mysql:// URL must name the database (mysql://user@host/app)".into());
            return (None, None);
        }
        return (Some(s), None);
    };
    let (mut names, mut patterns) = (Vec::new(), Vec::new());
    for entry in schemas {
        match entry {
            RawSchema::Name(n) => names.push(n),
            RawSchema::Pattern(p) => patterns.push(p),
        }
    }
    let mut fail = |problem: String| {
        problems.push(problem);
        (None, None)
    };
    if (names.is_empty() && patterns.is_empty()) || names.iter().any(|x| x.trim().is_empty()) {
        return fail("schemas: must list at least one non-empty name or {match: PATTERN}".into());
    }
    let Some(engine) = engine else {
        return (Some(names), None);
    };
    if engine == Engine::MySql && !names.is_empty() {
        return fail(
            "schemas: MySQL/MariaDB compare the database named in the URL; leave schemas out, \
             or give only {match: PATTERN} entries to compare tenant databases"
                .into(),
        );
    }
    if let Some(fixed) = engine.fixed_schemas() {
        if !patterns.is_empty() || !names.iter().all(|x| fixed.contains(&x.as_str())) {
            return fail(format!(
                "schemas: {} databases only have {}",
                engine.name(),
                fixed.join(", ")
            ));
        }
    }
    if patterns.is_empty() {
        return (Some(names), None);
    }
    match Tenants::new(engine, patterns) {
        Ok(t) => (Some(names), Some(t)),
        Err(e) => fail(format!("schemas: {e}")),
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
    if expected.ledger.is_some() && expected.sql.is_none() {
        return fail(
            "expected.ledger: goes with expected.sql (the migration files the ledger records)"
                .into(),
        );
    }
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
            let ledger = match expected.ledger.as_deref().map(LedgerKind::parse) {
                None | Some(Ok(None)) => None,
                Some(Ok(Some(kind))) => Some(kind),
                Some(Err(e)) => return fail(format!("expected.ledger: {e}")),
            };
            Some(Source::Ready(
                match ledger {
                    None => ExpectedSource::Sql(paths),
                    Some(ledger) => ExpectedSource::Migrations(Migrations { paths, ledger }),
                }
                .resolve(base),
            ))
        }
        (None, None, Some(name)) => Some(Source::Reference(name)),
        _ => fail(format!(
            "expected: exactly one source is required ({SOURCES})"
        )),
    }
}

/// The user's globs plus, unless turned off, the migration tools' own tables.
fn validate_ignore(
    ignore: RawIgnore,
    defaults: &Defaults,
    problems: &mut Vec<String>,
) -> Option<Ignore> {
    let mut tables = ignore.tables;
    if ignore.migration_tables.unwrap_or(true) {
        tables.extend(MIGRATION_TABLES.iter().map(|t| t.to_string()));
    }
    // PostgreSQL extensions' own tables and types are left out unless asked for.
    let extensions = !ignore.extension_objects.unwrap_or(true);
    let key = (tables, ignore.columns);
    if let Some(compiled) = defaults.ignores.borrow().get(&key) {
        return Some(compiled.clone().with_extension_objects(extensions));
    }
    match Ignore::new(&key.0, &key.1) {
        Ok(i) => {
            defaults.ignores.borrow_mut().insert(key, i.clone());
            Some(i.with_extension_objects(extensions))
        }
        Err(e) => {
            problems.push(format!("ignore: {e}"));
            None
        }
    }
}

pub(super) fn parse_duration(
    value: Option<&str>,
    key: &str,
    problems: &mut Vec<String>,
) -> Option<Duration> {
    let v = value?;
    match humantime::parse_duration(v.trim()) {
        Ok(d) => within(key, d, problems).then_some(d),
        Err(e) => {
            problems.push(format!(
                "{key}: {v:?} is not a duration like 30s or 1m ({e})"
            ));
            None
        }
    }
}

/// The range each duration key accepts: wide enough for any real schedule, narrow enough that no
/// value reaches an overflow in the timers (a year-long interval would panic adding to an instant).
pub(super) const DURATION_RANGES: [(&str, Duration, Duration); 3] = [
    (
        "interval",
        Duration::from_secs(1),
        Duration::from_secs(7 * 86_400),
    ),
    (
        "timeout",
        Duration::from_millis(100),
        Duration::from_secs(3_600),
    ),
    (
        "deploy_grace",
        Duration::ZERO,
        Duration::from_secs(30 * 86_400),
    ),
];

/// Whether `d` is inside the documented range of `key`; says so in `problems` when it is not.
fn within(key: &str, d: Duration, problems: &mut Vec<String>) -> bool {
    let Some((_, min, max)) = DURATION_RANGES.iter().find(|(k, _, _)| *k == key) else {
        return true;
    };
    if (*min..=*max).contains(&d) {
        return true;
    }
    problems.push(format!(
        "{key}: {} is outside {}..={}",
        humantime::format_duration(d),
        humantime::format_duration(*min),
        humantime::format_duration(*max)
    ));
    false
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
    match crate::files::read_text(path, crate::files::MAX_SECRET_BYTES) {
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
