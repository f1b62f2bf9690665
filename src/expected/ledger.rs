//! Migration ledgers: the table a migration tool keeps of what it ran (`django_migrations`,
//! `flyway_schema_history`, `_sqlx_migrations`, golang-migrate's and dbmate's
//! `schema_migrations`). With `expected: {sql: [...], ledger: KIND}` the expectation is built from
//! the migrations the ledger records as applied, in the order it records them; the others are
//! pending, not drift. Every drift item is then named by the migration that last shaped its table
//! or column, so "recorded as applied but its effect is missing" can page with the migration's
//! name.
//!
//! This file knows each tool's files and rows; reading the rows is each engine's
//! ([`crate::engine::Pool::read_ledger`]), one bounded read-only query per check.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::sql::{migration_version, version_parts, MigrationVersion};
use super::ExpectedError;
use crate::model::{Schema, Table, TableName};

/// Which tool's ledger to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerKind {
    /// Whichever one known ledger table the database holds.
    Auto,
    /// Django: `django_migrations (app, name, applied)`; files `APP/NAME.sql` from `sqlmigrate`.
    Django,
    /// Flyway: `flyway_schema_history`, with its CRC32 checksums and failed rows.
    Flyway,
    /// sqlx: `_sqlx_migrations`, with SHA-384 checksums and failed rows.
    Sqlx,
    /// golang-migrate: `schema_migrations (version, dirty)`: the current version only.
    GolangMigrate,
    /// dbmate: `schema_migrations (version)`: one row per applied migration.
    Dbmate,
}

/// The ledgers `auto` looks for, in the order it reports them.
const AUTO: [LedgerKind; 4] = [
    LedgerKind::Django,
    LedgerKind::Flyway,
    LedgerKind::Sqlx,
    LedgerKind::Dbmate,
];

pub use crate::engine::{Cell, MAX_LEDGER_ROWS};

impl LedgerKind {
    /// The `ledger:` value's kind; `None` for `none`. Tools whose ledger is not read yet are
    /// refused by name rather than accepted and ignored.
    pub fn parse(value: &str) -> Result<Option<LedgerKind>, String> {
        Ok(Some(match value {
            "none" => return Ok(None),
            "auto" => LedgerKind::Auto,
            "django" => LedgerKind::Django,
            "flyway" => LedgerKind::Flyway,
            "sqlx" => LedgerKind::Sqlx,
            "golang-migrate" => LedgerKind::GolangMigrate,
            "dbmate" => LedgerKind::Dbmate,
            "goose" | "rails" | "alembic" | "prisma" => {
                return Err(format!(
                    "{value:?}: this ledger is not read yet (supported: auto, django, flyway, sqlx, golang-migrate, dbmate, none)"
                ))
            }
            other => {
                return Err(format!(
                    "{other:?}: expected one of auto, django, flyway, sqlx, golang-migrate, dbmate, none"
                ))
            }
        }))
    }

    /// The `ledger:` spelling.
    pub fn name(self) -> &'static str {
        match self {
            LedgerKind::Auto => "auto",
            LedgerKind::Django => "django",
            LedgerKind::Flyway => "flyway",
            LedgerKind::Sqlx => "sqlx",
            LedgerKind::GolangMigrate => "golang-migrate",
            LedgerKind::Dbmate => "dbmate",
        }
    }

    /// The ledger table, and the columns a check reads from it.
    pub fn table(self) -> (&'static str, &'static [(&'static str, Cell)]) {
        match self {
            LedgerKind::Django => (
                "django_migrations",
                &[
                    ("id", Cell::Text),
                    ("app", Cell::Text),
                    ("name", Cell::Text),
                    ("applied", Cell::Text),
                ],
            ),
            LedgerKind::Flyway => (
                "flyway_schema_history",
                &[
                    ("installed_rank", Cell::Text),
                    ("version", Cell::Text),
                    ("script", Cell::Text),
                    ("type", Cell::Text),
                    ("checksum", Cell::Text),
                    ("installed_on", Cell::Text),
                    ("success", Cell::Text),
                ],
            ),
            LedgerKind::Sqlx => (
                "_sqlx_migrations",
                &[
                    ("version", Cell::Text),
                    ("installed_on", Cell::Text),
                    ("success", Cell::Text),
                    ("checksum", Cell::Hex),
                ],
            ),
            LedgerKind::GolangMigrate => (
                "schema_migrations",
                &[("version", Cell::Text), ("dirty", Cell::Text)],
            ),
            LedgerKind::Dbmate => ("schema_migrations", &[("version", Cell::Text)]),
            LedgerKind::Auto => ("", &[]),
        }
    }

    /// The one ledger `live` holds in `schema` (for `auto`: whichever it finds), or why none can
    /// be read: never "no migrations applied" for a ledger that is not there.
    pub fn resolve(self, live: &Schema, schema: &str) -> Result<(LedgerKind, TableName), String> {
        let find = |name: &str| -> Option<&Table> {
            live.tables
                .values()
                .find(|t| t.name.schema == schema && t.name.name.eq_ignore_ascii_case(name))
        };
        // golang-migrate and dbmate share a table name; golang-migrate's has `dirty`.
        let refine = |kind: LedgerKind, table: &Table| match kind {
            LedgerKind::Dbmate | LedgerKind::GolangMigrate => {
                if table
                    .columns
                    .keys()
                    .any(|c| c.eq_ignore_ascii_case("dirty"))
                {
                    LedgerKind::GolangMigrate
                } else {
                    LedgerKind::Dbmate
                }
            }
            other => other,
        };
        if self != LedgerKind::Auto {
            let (name, _) = self.table();
            let table = find(name).ok_or_else(|| {
                format!(
                    "ledger: table {schema}.{name} not found (ledger: {}); a database whose \
                     ledger is missing cannot say which migrations ran",
                    self.name()
                )
            })?;
            let found = refine(self, table);
            if found != self {
                return Err(format!(
                    "ledger: {schema}.{name} is {}'s, not {}'s (its columns say so); set ledger: {}",
                    found.name(),
                    self.name(),
                    found.name()
                ));
            }
            return has_columns(self, table).map(|()| (self, table.name.clone()));
        }
        let found: Vec<(LedgerKind, TableName)> = AUTO
            .iter()
            .filter_map(|k| find(k.table().0).map(|t| (refine(*k, t), t.name.clone())))
            .collect();
        match found.as_slice() {
            [one] => {
                let table = find(one.0.table().0).expect("found above");
                has_columns(one.0, table).map(|()| one.clone())
            }
            [] => Err(format!(
                "ledger: auto found no ledger table in {schema} (looked for django_migrations, \
                 flyway_schema_history, _sqlx_migrations, schema_migrations)"
            )),
            many => {
                Err(format!(
                "ledger: auto found several ledger tables in {schema} ({}); name one with ledger:",
                many.iter().map(|(k, _)| k.name()).collect::<Vec<_>>().join(", ")
            ))
            }
        }
    }
}

/// Every column the check reads is in the ledger table, by the catalog: asked for a column it
/// lacks, SQLite would read a double-quoted name as a string and report nonsense as the ledger.
fn has_columns(kind: LedgerKind, table: &Table) -> Result<(), String> {
    let (_, columns) = kind.table();
    for (column, _) in columns {
        if !table.columns.keys().any(|c| c.eq_ignore_ascii_case(column)) {
            return Err(format!(
                "ledger {}: no column {column}, which {}'s ledger has; is it another tool's table?",
                table.name,
                kind.name()
            ));
        }
    }
    Ok(())
}

/// A migration file, named as its tool names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// How people and alerts see it: `exports.0001_initial`, `V3__add_file_size`.
    pub id: String,
    /// Its version, for the tools that key rows by version.
    pub version: Option<MigrationVersion>,
    /// The file.
    pub path: PathBuf,
}

/// The migration files a `sql:` list with a ledger stands for, in the order they would run on a
/// fresh database (pending ones included): Django's `APP/NAME.sql` layout in the order of its
/// `plan.txt` (else app by app), every other tool's directory in version order.
pub fn migration_files(
    kind: LedgerKind,
    paths: &[PathBuf],
) -> Result<Vec<MigrationFile>, ExpectedError> {
    let django = kind == LedgerKind::Django
        || (kind == LedgerKind::Auto
            && !paths.is_empty()
            && paths.iter().all(|p| django_layout(p)));
    if !django {
        let ordered = super::sql::files_to_apply(paths)?;
        return Ok(ordered
            .into_iter()
            .map(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let name = name.unwrap_or_default();
                let version = migration_version(&name).ok().flatten();
                let id = name
                    .strip_suffix(".up.sql")
                    .or_else(|| name.strip_suffix(".sql"))
                    .unwrap_or(&name)
                    .to_string();
                MigrationFile { id, version, path }
            })
            .collect());
    }
    let mut out = Vec::new();
    for root in paths {
        out.extend(django_files(root)?);
    }
    Ok(out)
}

/// A directory of app directories holding `.sql` files, and no `.sql` file of its own: how
/// `ledger: auto` tells Django's layout from the other tools' flat directories offline.
fn django_layout(path: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(path) else {
        return false;
    };
    let mut apps = false;
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            apps |= std::fs::read_dir(&p).is_ok_and(|mut files| {
                files.any(|f| f.is_ok_and(|f| f.file_name().to_string_lossy().ends_with(".sql")))
            });
        } else if entry.file_name().to_string_lossy().ends_with(".sql") {
            return false;
        }
    }
    apps
}

/// One directory in Django's layout: `APP/NAME.sql` for every migration (the output of
/// `manage.py sqlmigrate APP NAME`), and optionally `plan.txt` with one `APP.NAME` per line in
/// Django's plan order (`scripts/django-sqlmigrate` writes both).
fn django_files(root: &Path) -> Result<Vec<MigrationFile>, ExpectedError> {
    let invalid = |path: &Path, message: String| ExpectedError::Invalid {
        location: path.display().to_string(),
        message,
    };
    let read_dir = |dir: &Path| -> Result<Vec<(String, PathBuf)>, ExpectedError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ExpectedError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| ExpectedError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
        out.sort();
        Ok(out)
    };
    let mut files = Vec::new();
    for (app, path) in read_dir(root)? {
        if app.starts_with('.') || !path.is_dir() {
            continue;
        }
        for (name, file) in read_dir(&path)? {
            let Some(stem) = name.strip_suffix(".sql") else {
                continue;
            };
            if !stem.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(invalid(
                    &file,
                    "not named like a Django migration (NNNN_name.sql, from `manage.py sqlmigrate`)"
                        .into(),
                ));
            }
            if !file.is_file() {
                return Err(invalid(&file, "a migration must be a regular file".into()));
            }
            files.push(MigrationFile {
                id: format!("{app}.{stem}"),
                version: None,
                path: file,
            });
        }
    }
    if files.is_empty() {
        return Err(invalid(
            root,
            "no Django migrations (expected APP/NNNN_name.sql, as scripts/django-sqlmigrate writes them)"
                .into(),
        ));
    }
    // Within an app, by number; across apps, Django's plan when the directory carries one.
    files.sort_by_key(|f| {
        let (app, name) = f.id.split_once('.').unwrap_or((&f.id, ""));
        let number: u64 = name
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX);
        (app.to_string(), number, name.to_string())
    });
    let plan = root.join("plan.txt");
    if plan.exists() {
        let text = crate::files::read_text(&plan, crate::files::MAX_EXPECTED_BYTES)
            .map_err(|m| invalid(&plan, m))?;
        let order: HashMap<&str, usize> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| (l, i))
            .collect();
        if let Some(f) = files.iter().find(|f| !order.contains_key(f.id.as_str())) {
            return Err(invalid(
                &plan,
                format!("{} is not in the plan; write the directory again", f.id),
            ));
        }
        files.sort_by_key(|f| order[f.id.as_str()]);
    }
    Ok(files)
}

/// One migration the ledger records as applied, and the file it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Index into the migration files.
    pub file: usize,
    /// The migration's name ([`MigrationFile::id`]).
    pub id: String,
    /// When the ledger says it ran, where the tool records it.
    pub at: Option<SystemTime>,
}

/// What one read of a ledger says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerState {
    /// The ledger read (`auto` resolved).
    pub kind: Option<LedgerKind>,
    /// Applied migrations, in the order they ran: the expectation is built from these.
    pub applied: Vec<Applied>,
    /// Files the ledger does not record: not yet run, so not drift.
    pub pending: Vec<String>,
    /// Recorded as failed (sqlx/Flyway `success = false`, golang-migrate `dirty`): their
    /// effect is unknown, so they are not part of the expectation.
    pub failed: Vec<String>,
    /// Recorded, with no file.
    pub unknown: Vec<String>,
    /// Recorded with a checksum the file no longer has (edited after it ran).
    pub checksum_mismatched: Vec<String>,
    /// The newest time any applied migration was recorded.
    pub last_applied: Option<SystemTime>,
    /// A hash of every migration file (pending ones too): a deploy that ships a migration changes
    /// what is expected to happen even before the ledger records it, which is when the deploy
    /// grace window starts.
    pub files_hash: u64,
}

/// What the newest Flyway row about one file says.
enum FlywayRun {
    /// It ran: where in the ledger, when, and whether the file has changed since.
    Ran {
        rank: i64,
        at: Option<SystemTime>,
        edited: bool,
    },
    /// `success = false`: its effect is unknown.
    Failed,
    /// An undo migration reverted it.
    Undone,
}

/// Maps `rows` (each [`LedgerKind::table`]'s columns, as text) to `files` with `texts`.
pub fn reconcile(
    kind: LedgerKind,
    files: &[MigrationFile],
    texts: &[&str],
    rows: &[Vec<Option<String>>],
) -> Result<LedgerState, String> {
    let mut state = LedgerState {
        kind: Some(kind),
        ..LedgerState::default()
    };
    let cell = |row: &Vec<Option<String>>, i: usize| row.get(i).cloned().flatten();
    let by_version: HashMap<&Vec<u64>, usize> = files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.version {
            Some(MigrationVersion::Versioned(v)) => Some((v, i)),
            _ => None,
        })
        .collect();
    let parse_version = |text: &str| -> Result<Vec<u64>, String> {
        version_parts(text.trim())
            .ok_or_else(|| format!("ledger row with version {text:?}: not a version"))
    };
    let mut applied: Vec<(i64, Applied)> = Vec::new();
    let mut recorded: HashSet<usize> = HashSet::new();
    match kind {
        LedgerKind::Django => {
            let by_id: HashMap<&str, usize> = files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.id.as_str(), i))
                .collect();
            for row in rows {
                let order = cell(row, 0)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(i64::MAX);
                let id = format!(
                    "{}.{}",
                    cell(row, 1).unwrap_or_default(),
                    cell(row, 2).unwrap_or_default()
                );
                let at = cell(row, 3).and_then(|t| parse_time(&t));
                match by_id.get(id.as_str()) {
                    Some(&file) if recorded.insert(file) => applied.push((
                        order,
                        Applied {
                            file,
                            id: files[file].id.clone(),
                            at,
                        },
                    )),
                    Some(_) => {}
                    None => state.unknown.push(id),
                }
            }
        }
        LedgerKind::Flyway => {
            let by_script: HashMap<String, usize> = files
                .iter()
                .enumerate()
                .filter_map(|(i, f)| Some((f.path.file_name()?.to_string_lossy().into_owned(), i)))
                .collect();
            let mut baseline: Option<Vec<u64>> = None;
            // Rows in the order Flyway wrote them: a later row about the same file (a retry that
            // succeeded, an undo, a repeatable run again) overrides an earlier one.
            let rank = |row: &Vec<Option<String>>| {
                cell(row, 0)
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .unwrap_or(i64::MAX)
            };
            let mut ordered: Vec<&Vec<Option<String>>> = rows.iter().collect();
            ordered.sort_by_key(|row| rank(row));
            // What each file's newest row says: (rank, time, edited) when it ran, or why not.
            let mut newest: HashMap<usize, FlywayRun> = HashMap::new();
            for row in ordered {
                let version = cell(row, 1);
                let script = cell(row, 2).unwrap_or_default();
                let kind = cell(row, 3).unwrap_or_default();
                let success = cell(row, 6).is_some_and(|v| truthy(&v));
                let undo = match kind.as_str() {
                    // The schema creation marker and the rows `repair` marks deleted are not runs.
                    "SCHEMA" | "DELETE" => continue,
                    "BASELINE" | "SQL_BASELINE" | "JDBC_BASELINE" | "SCRIPT_BASELINE" => {
                        if let (Some(v), true) = (&version, success) {
                            baseline = Some(parse_version(v)?);
                        }
                        continue;
                    }
                    "SQL" | "JDBC" | "SPRING_JDBC" | "SCRIPT" | "CUSTOM" => false,
                    "UNDO_SQL" | "UNDO_JDBC" | "UNDO_SPRING_JDBC" | "UNDO_SCRIPT"
                    | "UNDO_CUSTOM" => true,
                    // Loud rather than guessed: a row this reader does not know could undo or
                    // redo anything.
                    other => {
                        return Err(format!(
                            "ledger row {script:?} has Flyway type {other:?}, which is not read yet"
                        ))
                    }
                };
                // An undo row names the versioned migration it reverted, not its own U file.
                let file = match &version {
                    Some(v) => by_version.get(&parse_version(v)?).copied(),
                    None => by_script
                        .get(script.rsplit('/').next().unwrap_or(&script))
                        .copied(),
                };
                let label = version
                    .clone()
                    .map_or(script.clone(), |v| format!("{v} ({script})"));
                let Some(file) = file else {
                    if !undo && !state.unknown.contains(&label) {
                        state.unknown.push(label);
                    }
                    continue;
                };
                let run = match (undo, success) {
                    // A failed undo leaves the migration in an unknown state, as a failed run does.
                    (_, false) => FlywayRun::Failed,
                    (true, true) => FlywayRun::Undone,
                    (false, true) => {
                        // A repeatable runs again when it changes: a file whose newest row has
                        // another checksum is outdated (pending), its new text not yet run.
                        let edited = cell(row, 4).as_deref().is_some_and(|sum| {
                            sum.trim() != flyway_checksum(texts[file]).to_string()
                        });
                        FlywayRun::Ran {
                            rank: rank(row),
                            at: cell(row, 5).and_then(|t| parse_time(&t)),
                            edited,
                        }
                    }
                };
                newest.insert(file, run);
            }
            let mut newest: Vec<(usize, FlywayRun)> = newest.into_iter().collect();
            newest.sort_by_key(|(file, _)| *file);
            for (file, run) in newest {
                let id = files[file].id.clone();
                let versioned = matches!(files[file].version, Some(MigrationVersion::Versioned(_)));
                match run {
                    FlywayRun::Failed => {
                        recorded.insert(file);
                        state.failed.push(id);
                    }
                    // Undone, or a repeatable edited since its newest run: pending again.
                    FlywayRun::Undone => {}
                    FlywayRun::Ran { edited: true, .. } if !versioned => {}
                    FlywayRun::Ran { rank, at, edited } => {
                        if edited {
                            state.checksum_mismatched.push(id.clone());
                        }
                        recorded.insert(file);
                        applied.push((rank, Applied { file, id, at }));
                    }
                }
            }
            if let Some(base) = baseline {
                // Below the baseline, the database had these when Flyway took it over.
                for (i, f) in files.iter().enumerate() {
                    if let Some(MigrationVersion::Versioned(v)) = &f.version {
                        if *v <= base && recorded.insert(i) {
                            applied.push((
                                i64::MIN + i as i64,
                                Applied {
                                    file: i,
                                    id: files[i].id.clone(),
                                    at: None,
                                },
                            ));
                        }
                    }
                }
            }
        }
        LedgerKind::Sqlx => {
            for row in rows {
                let text = cell(row, 0).unwrap_or_default();
                let version = parse_version(&text)?;
                let at = cell(row, 1).and_then(|t| parse_time(&t));
                let success = cell(row, 2).is_some_and(|v| truthy(&v));
                let Some(&file) = by_version.get(&version) else {
                    state.unknown.push(text);
                    continue;
                };
                recorded.insert(file);
                if !success {
                    state.failed.push(files[file].id.clone());
                    continue;
                }
                if let Some(sum) = cell(row, 3) {
                    if !sum.eq_ignore_ascii_case(&hex(&sha384(texts[file]))) {
                        state.checksum_mismatched.push(files[file].id.clone());
                    }
                }
                let order = version.first().copied().unwrap_or(0) as i64;
                applied.push((
                    order,
                    Applied {
                        file,
                        id: files[file].id.clone(),
                        at,
                    },
                ));
            }
        }
        LedgerKind::GolangMigrate => {
            if rows.len() > 1 {
                return Err(format!(
                    "ledger: schema_migrations holds {} rows; golang-migrate keeps one",
                    rows.len()
                ));
            }
            if let Some(row) = rows.first() {
                let text = cell(row, 0).unwrap_or_default();
                let current = parse_version(&text)?;
                let dirty = cell(row, 1).is_some_and(|v| truthy(&v));
                if !by_version.contains_key(&current) {
                    // Dirty without a file is still a failed migration, never "in sync".
                    if dirty {
                        state.failed.push(text.clone());
                    }
                    state.unknown.push(text);
                }
                for (i, f) in files.iter().enumerate() {
                    let Some(MigrationVersion::Versioned(v)) = &f.version else {
                        continue;
                    };
                    if *v > current {
                        continue;
                    }
                    recorded.insert(i);
                    if *v == current && dirty {
                        state.failed.push(f.id.clone());
                    } else {
                        applied.push((
                            i as i64,
                            Applied {
                                file: i,
                                id: files[i].id.clone(),
                                at: None,
                            },
                        ));
                    }
                }
            }
        }
        LedgerKind::Dbmate => {
            for row in rows {
                let text = cell(row, 0).unwrap_or_default();
                let version = parse_version(&text)?;
                match by_version.get(&version) {
                    Some(&file) if recorded.insert(file) => applied.push((
                        file as i64,
                        Applied {
                            file,
                            id: files[file].id.clone(),
                            at: None,
                        },
                    )),
                    Some(_) => {}
                    None => state.unknown.push(text),
                }
            }
        }
        LedgerKind::Auto => return Err("ledger: auto must be resolved before reading".into()),
    }
    applied.sort_by_key(|(order, a)| (*order, a.file));
    state.applied = applied.into_iter().map(|(_, a)| a).collect();
    state.last_applied = state.applied.iter().filter_map(|a| a.at).max();
    state.pending = files
        .iter()
        .enumerate()
        .filter(|(i, _)| !recorded.contains(i))
        .map(|(_, f)| f.id.clone())
        .collect();
    Ok(state)
}

/// A ledger boolean: PostgreSQL prints `true`/`t`, MySQL and SQLite `1`.
fn truthy(value: &str) -> bool {
    matches!(value.trim(), "1" | "t" | "true" | "TRUE" | "True")
}

/// A timestamp as the engines print one (`2024-03-02 10:11:12.123456`, with `T`, `Z` or an
/// offset such as `+00` or `+05:30`); a time without an offset is taken as UTC.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (base, offset) = match text.rfind(['+', '-']) {
        // The date's own dashes come before position 10.
        Some(at) if at > 10 => {
            let (base, zone) = text.split_at(at);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i64>().ok()?,
                    digits[2..].parse::<i64>().ok()?,
                ),
                _ => return None,
            };
            (base, sign * (h * 3600 + m * 60))
        }
        _ => (text.trim_end_matches('Z'), 0),
    };
    let utc = humantime::parse_rfc3339_weak(base).ok()?;
    let shifted = if offset >= 0 {
        utc.checked_sub(Duration::from_secs(offset as u64))?
    } else {
        utc.checked_add(Duration::from_secs((-offset) as u64))?
    };
    (shifted >= UNIX_EPOCH).then_some(shifted)
}

/// Flyway's checksum of a SQL migration: CRC-32 over the file's lines without their line breaks
/// (and without a leading byte-order mark), as a signed 32-bit number.
pub fn flyway_checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = crc32fast::Hasher::new();
    // Java's readLine splits on \n, \r\n and a lone \r.
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        crc.update(&rest.as_bytes()[..end]);
        rest = &rest[end..];
        if rest.starts_with("\r\n") {
            rest = &rest[2..];
        } else if !rest.is_empty() {
            rest = &rest[1..];
        }
    }
    crc.finalize() as i32
}

fn sha384(text: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA384, text.as_bytes())
        .as_ref()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Vec<MigrationFile> {
        names
            .iter()
            .map(|n| MigrationFile {
                id: n
                    .trim_end_matches(".sql")
                    .trim_end_matches(".up")
                    .to_string(),
                version: migration_version(n).unwrap(),
                path: PathBuf::from(n),
            })
            .collect()
    }

    fn row(cells: &[Option<&str>]) -> Vec<Option<String>> {
        cells.iter().map(|c| c.map(str::to_string)).collect()
    }

    fn ids(state: &LedgerState) -> Vec<&str> {
        state.applied.iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn flyway_rows_count_failed_unknown_edited_and_baselined_migrations() {
        let f = files(&[
            "V1__base.sql",
            "V2__users.sql",
            "V3__orders.sql",
            "V4__late.sql",
            "V5__x.sql",
            "R__views.sql",
        ]);
        let texts = [
            "a",
            "CREATE TABLE users (id int);\n",
            "c",
            "d",
            "e",
            "CREATE VIEW v AS SELECT 1;",
        ];
        let users = flyway_checksum(texts[1]).to_string();
        let views = flyway_checksum(texts[5]).to_string();
        let rows = vec![
            row(&[
                Some("1"),
                Some("1"),
                Some("<< Flyway Baseline >>"),
                Some("BASELINE"),
                None,
                Some("2024-03-02 10:11:12"),
                Some("true"),
            ]),
            row(&[
                Some("2"),
                Some("2"),
                Some("V2__users.sql"),
                Some("SQL"),
                Some(&users),
                Some("2024-03-02 10:11:13"),
                Some("t"),
            ]),
            row(&[
                Some("3"),
                Some("3"),
                Some("V3__orders.sql"),
                Some("SQL"),
                Some("12345"),
                Some("2024-03-02 10:11:14"),
                Some("1"),
            ]),
            row(&[
                Some("4"),
                Some("4.0"),
                Some("V4__late.sql"),
                Some("SQL"),
                None,
                None,
                Some("0"),
            ]),
            row(&[
                Some("5"),
                Some("9"),
                Some("V9__gone.sql"),
                Some("SQL"),
                None,
                None,
                Some("1"),
            ]),
            row(&[
                Some("6"),
                None,
                Some("R__views.sql"),
                Some("SQL"),
                Some(&views),
                None,
                Some("1"),
            ]),
        ];
        let state = reconcile(LedgerKind::Flyway, &f, &texts, &rows).unwrap();
        assert_eq!(
            ids(&state),
            ["V1__base", "V2__users", "V3__orders", "R__views"]
        );
        assert_eq!(
            state.failed,
            ["V4__late"],
            "success = false, version 4.0 = 4"
        );
        assert_eq!(state.unknown, ["9 (V9__gone.sql)"]);
        assert_eq!(
            state.checksum_mismatched,
            ["V3__orders"],
            "a repeatable's checksum moves by design"
        );
        assert_eq!(state.pending, ["V5__x"]);
        assert_eq!(state.last_applied, parse_time("2024-03-02T10:11:14Z"));
        // The repeatable edited since its newest run is outdated: pending, not applied.
        let mut edited = rows.clone();
        edited[5][4] = Some("1".into());
        let state = reconcile(LedgerKind::Flyway, &f, &texts, &edited).unwrap();
        assert!(!ids(&state).contains(&"R__views"), "{:?}", ids(&state));
        assert!(state.pending.contains(&"R__views".to_string()));
    }

    #[test]
    fn the_newest_flyway_row_about_a_migration_decides_retries_and_undos() {
        let f = files(&["V1__a.sql", "V2__b.sql", "V3__c.sql"]);
        let texts = ["a", "b", "c"];
        let sum = |i: usize| flyway_checksum(texts[i]).to_string();
        let (a, b, c) = (sum(0), sum(1), sum(2));
        let run = |rank: &str, v: &str, kind: &str, sum: &str, ok: &str| {
            let script = format!("V{v}__x.sql");
            let cells = [
                Some(rank),
                Some(v),
                Some(script.as_str()),
                Some(kind),
                Some(sum),
                None,
                Some(ok),
            ];
            row(&cells)
        };
        // Listed out of rank order on purpose: the reader sorts by installed_rank.
        let rows = vec![
            run("4", "2", "SQL", &b, "1"),
            run("1", "1", "SQL", &a, "1"),
            run("2", "2", "SQL", &b, "0"),
            run("3", "3", "SQL", &c, "1"),
            run("5", "3", "UNDO_SQL", "7", "1"),
        ];
        let state = reconcile(LedgerKind::Flyway, &f, &texts, &rows).unwrap();
        assert_eq!(
            ids(&state),
            ["V1__a", "V2__b"],
            "failed at rank 2, then succeeded at 4"
        );
        assert!(state.failed.is_empty(), "{:?}", state.failed);
        assert_eq!(state.pending, ["V3__c"], "undone, so pending again");
        assert!(
            state.checksum_mismatched.is_empty(),
            "an undo row's checksum is its own"
        );
        // Run again after the undo: applied, once.
        let mut again = rows.clone();
        again.push(run("6", "3", "SQL", &c, "1"));
        let state = reconcile(LedgerKind::Flyway, &f, &texts, &again).unwrap();
        assert_eq!(ids(&state), ["V1__a", "V2__b", "V3__c"]);
        // An undo that failed leaves the migration failed.
        let mut broken = rows.clone();
        broken[4][6] = Some("0".into());
        let state = reconcile(LedgerKind::Flyway, &f, &texts, &broken).unwrap();
        assert_eq!(state.failed, ["V3__c"]);
        // A baseline migration counts like a baseline; an unknown row type is refused by name.
        let based = vec![run("1", "2", "SQL_BASELINE", "0", "1")];
        let state = reconcile(LedgerKind::Flyway, &f, &texts, &based).unwrap();
        assert_eq!(ids(&state), ["V1__a", "V2__b"]);
        let odd = vec![run("1", "1", "TELEPORT", &a, "1")];
        let e = reconcile(LedgerKind::Flyway, &f, &texts, &odd).unwrap_err();
        assert!(e.contains("TELEPORT") && e.contains("V1__x.sql"), "{e}");
    }

    #[test]
    fn sqlx_rows_are_checked_against_the_sha384_of_each_file() {
        let f = files(&[
            "20240101000000_a.sql",
            "20240102000000_b.sql",
            "20240103000000_c.sql",
        ]);
        let texts = ["CREATE TABLE a (id int);", "ALTER TABLE a ADD b int;", "x"];
        let good = hex(&sha384(texts[0]));
        let rows = vec![
            row(&[
                Some("20240101000000"),
                Some("2024-01-01 00:00:00+00"),
                Some("true"),
                Some(&good),
            ]),
            row(&[
                Some("20240102000000"),
                Some("2024-01-02 00:00:00+00"),
                Some("true"),
                Some("00ff"),
            ]),
            row(&[Some("20240109000000"), None, Some("true"), None]),
        ];
        let state = reconcile(LedgerKind::Sqlx, &f, &texts, &rows).unwrap();
        assert_eq!(ids(&state), ["20240101000000_a", "20240102000000_b"]);
        assert_eq!(state.checksum_mismatched, ["20240102000000_b"]);
        assert_eq!(state.unknown, ["20240109000000"]);
        assert_eq!(state.pending, ["20240103000000_c"]);
        let failed = vec![row(&[
            Some("20240101000000"),
            None,
            Some("false"),
            Some(&good),
        ])];
        let state = reconcile(LedgerKind::Sqlx, &f, &texts, &failed).unwrap();
        assert_eq!(state.failed, ["20240101000000_a"]);
        assert!(
            state.applied.is_empty(),
            "a failed migration is not expected to have run"
        );
        assert!(!state.pending.contains(&"20240101000000_a".to_string()));
    }

    #[test]
    fn golang_migrate_applies_everything_up_to_its_version_and_a_dirty_one_failed() {
        let f = files(&["1_a.up.sql", "2_b.up.sql", "3_c.up.sql"]);
        let texts = ["", "", ""];
        let state = reconcile(
            LedgerKind::GolangMigrate,
            &f,
            &texts,
            &[row(&[Some("2"), Some("true")])],
        )
        .unwrap();
        assert_eq!(ids(&state), ["1_a"]);
        assert_eq!(state.failed, ["2_b"]);
        assert_eq!(state.pending, ["3_c"]);
        let state = reconcile(
            LedgerKind::GolangMigrate,
            &f,
            &texts,
            &[row(&[Some("7"), Some("f")])],
        )
        .unwrap();
        assert_eq!(state.unknown, ["7"]);
        assert_eq!(ids(&state).len(), 3);
        let gone = reconcile(
            LedgerKind::GolangMigrate,
            &f,
            &texts,
            &[row(&[Some("7"), Some("t")])],
        )
        .unwrap();
        assert_eq!(gone.failed, ["7"], "dirty with no file is still failed");
        let none = reconcile(LedgerKind::GolangMigrate, &f, &texts, &[]).unwrap();
        assert_eq!(
            none.pending.len(),
            3,
            "an empty ledger: nothing applied, all pending"
        );
        let two = vec![row(&[Some("1"), Some("f")]), row(&[Some("2"), Some("f")])];
        assert!(reconcile(LedgerKind::GolangMigrate, &f, &texts, &two).is_err());
    }

    #[test]
    fn dbmate_and_django_rows_map_to_their_files() {
        let f = files(&["20240101_a.sql", "20240202_b.sql"]);
        let rows = vec![row(&[Some("20240202")]), row(&[Some("20231231")])];
        let state = reconcile(LedgerKind::Dbmate, &f, &["", ""], &rows).unwrap();
        assert_eq!(ids(&state), ["20240202_b"]);
        assert_eq!(state.unknown, ["20231231"]);
        assert_eq!(state.pending, ["20240101_a"]);

        let django: Vec<MigrationFile> = [
            "exports.0001_initial",
            "auth.0001_initial",
            "exports.0002_x",
        ]
        .iter()
        .map(|id| MigrationFile {
            id: id.to_string(),
            version: None,
            path: PathBuf::from(id),
        })
        .collect();
        let rows = vec![
            row(&[
                Some("2"),
                Some("exports"),
                Some("0001_initial"),
                Some("2024-03-02 10:11:12.5+00"),
            ]),
            row(&[
                Some("1"),
                Some("auth"),
                Some("0001_initial"),
                Some("2024-03-02 10:11:11"),
            ]),
            row(&[Some("3"), Some("admin"), Some("0001_initial"), None]),
        ];
        let state = reconcile(LedgerKind::Django, &django, &["", "", ""], &rows).unwrap();
        assert_eq!(
            ids(&state),
            ["auth.0001_initial", "exports.0001_initial"],
            "in ledger order"
        );
        assert_eq!(state.unknown, ["admin.0001_initial"]);
        assert_eq!(state.pending, ["exports.0002_x"]);
    }

    #[test]
    fn times_are_read_in_every_engines_spelling() {
        let utc = parse_time("2024-03-02T10:11:12Z").unwrap();
        for text in [
            "2024-03-02 10:11:12",
            "2024-03-02 10:11:12+00",
            "2024-03-02 12:11:12+02:00",
            "2024-03-02 05:11:12-05",
            "2024-03-02T10:11:12Z",
        ] {
            assert_eq!(parse_time(text), Some(utc), "{text}");
        }
        assert!(parse_time("2024-03-02 10:11:12.123456").is_some());
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn the_flyway_checksum_ignores_line_endings_and_a_byte_order_mark() {
        let lf = flyway_checksum("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n");
        assert_eq!(
            flyway_checksum("CREATE TABLE t (id int);\r\nINSERT INTO t VALUES (1);\r\n"),
            lf
        );
        assert_eq!(
            flyway_checksum("\u{feff}CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);"),
            lf
        );
        // CRC-32 of the lines' bytes joined without breaks, as a signed number.
        let joined = crc32fast::hash(b"CREATE TABLE t (id int);INSERT INTO t VALUES (1);") as i32;
        assert_eq!(lf, joined);
        assert_ne!(flyway_checksum("CREATE TABLE t (id bigint);\n"), lf);
    }

    #[test]
    fn ledger_values_outside_the_supported_set_are_refused_by_name() {
        assert_eq!(LedgerKind::parse("none").unwrap(), None);
        assert_eq!(
            LedgerKind::parse("golang-migrate").unwrap(),
            Some(LedgerKind::GolangMigrate)
        );
        assert!(LedgerKind::parse("goose")
            .unwrap_err()
            .contains("not read yet"));
        assert!(LedgerKind::parse("liquibase")
            .unwrap_err()
            .contains("expected one of"));
    }
}
