//! Where the expected schema comes from. One file per source kind (`file.rs`: the native YAML format;
//! `sql/`: DDL, dumps and migration directories); [`ExpectedSource`] registers them.
//!
//! Sources are read at every check and parsed again only when their bytes changed: a deploy that ships
//! a new expectation needs no restart, and a broken file fails that check (naming the file and line)
//! while the last good results stay published.

pub mod file;
pub mod ledger;
pub mod sql;

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};
use thiserror::Error;

use crate::dialect::Engine;
use crate::engine::{Pool, SessionLimits};
use crate::model::{Column, Schema, Table, TableName};
use crate::secret::DatabaseUrl;

pub use file::parse as parse_file;
pub use file::render as render_file;

/// A configured expectation source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedSource {
    /// A native expected-schema YAML file (see README, "Expected-schema file").
    File(PathBuf),
    /// SQL files and migration directories, applied in order (see [`sql`]).
    Sql(Vec<PathBuf>),
    /// Another configured database's live schema.
    Reference(Reference),
    /// Migration files read together with their tool's ledger table (see [`ledger`]).
    Migrations(Migrations),
}

/// `expected: {sql: [...], ledger: KIND}`: migration files, of which the ledger says which ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrations {
    /// Migration directories (and files), as for `sql:`.
    pub paths: Vec<PathBuf>,
    /// Whose ledger to read.
    pub ledger: ledger::LedgerKind,
}

/// `expected: {reference: NAME}`: the live schema of another configured database is the expectation
/// (staging vs production, a replica vs its primary, tenants vs a template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The referenced database's configured name.
    pub name: String,
    /// How to read it, resolved by config validation once every database is known.
    pub target: ReferenceTarget,
    /// The referenced database runs another engine than the checked one.
    pub cross_engine: bool,
}

/// Connection details of a referenced database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceTarget {
    /// Its engine. When it differs from the checked database's, only table and column presence and
    /// nullability are compared: type and default spellings do not carry across engines.
    pub engine: Engine,
    /// Its URL (password inside, never shown).
    pub url: DatabaseUrl,
    /// Its schemas, mapped in order onto the checked database's schemas.
    pub schemas: Vec<String>,
    /// Its check timeout, which bounds its connect time.
    pub timeout: Duration,
}

/// One source file's text, as read for one check.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where it came from (for messages).
    pub path: PathBuf,
    /// Its contents.
    pub text: String,
}

/// A loaded expectation.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The expected tables, normalised for the database's engine.
    pub schema: Schema,
    /// [`Schema::fingerprint`] of `schema`, computed once per parse.
    pub fingerprint: u64,
    /// When the source last changed on disk, if the source can tell.
    pub modified: Option<SystemTime>,
    /// With a ledger: which applied migration (by its place in [`ledger::LedgerState::applied`])
    /// last shaped each table and column.
    pub origins: Option<sql::Origins>,
}

/// The last expectation one database's checks loaded. The source is still read at every check (a
/// deploy may change it at any time), but parsed again only when its bytes changed: parsing is
/// most of a check's cost on a large schema (about 0.9 s for a 10,000-table file).
#[derive(Debug, Default)]
pub struct ExpectedCache {
    last: Option<(u64, Arc<Expectation>)>,
    /// The referenced database's pool, kept across checks like the checked database's own.
    reference: Option<Pool>,
    /// Parses shared with other databases' caches, when this one belongs to a fleet.
    shared: Option<Arc<SharedExpectations>>,
}

/// Which parsed expectations exist, keyed by what a parse depends on (the source's bytes, the
/// engine, the schemas), so databases with the same source share one parsed copy, parsed once
/// per change of its bytes. Entries hold no expectation alive: the databases' caches do, and an
/// expectation no database uses any more is freed (and its entry forgotten at the next insert).
#[derive(Debug, Default)]
pub struct SharedExpectations {
    entries: std::sync::Mutex<HashMap<SharedKey, Arc<std::sync::Mutex<Weak<Expectation>>>>>,
}

/// Content hash, engine, schemas.
type SharedKey = (u64, Engine, Vec<String>);

impl SharedExpectations {
    /// The expectation parsed from `key`'s content, parsing it with `parse` unless a live copy
    /// exists. Concurrent callers with the same key wait for one parse instead of each running
    /// their own (a fleet's first round loads the same file on every check slot at once). Runs on
    /// the blocking pool: it may wait for another caller's parse.
    fn get_or_parse(
        &self,
        key: SharedKey,
        parse: impl FnOnce() -> Result<Arc<Expectation>, ExpectedError>,
    ) -> Result<Arc<Expectation>, ExpectedError> {
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if !entries.contains_key(&key) {
                entries.retain(|_, e| e.try_lock().map_or(true, |weak| weak.strong_count() > 0));
            }
            entries.entry(key).or_default().clone()
        };
        let mut slot = entry.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(expectation) = slot.upgrade() {
            return Ok(expectation);
        }
        let expectation = parse()?;
        *slot = Arc::downgrade(&expectation);
        Ok(expectation)
    }
}

impl ExpectedCache {
    /// A cache that shares parsed expectations with every other cache made from `shared`.
    pub fn sharing(shared: Arc<SharedExpectations>) -> ExpectedCache {
        ExpectedCache {
            shared: Some(shared),
            ..ExpectedCache::default()
        }
    }

    /// Closes the referenced database's connection, if one is open; the next load opens another.
    pub async fn close_connections(&mut self) {
        if let Some(pool) = self.reference.take() {
            pool.close().await;
        }
    }
}

/// Why an expectation could not be loaded. Messages name the file and, where known, the line.
#[derive(Debug, Error)]
pub enum ExpectedError {
    /// The file could not be read.
    #[error("cannot read expected schema {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The referenced database could not be read.
    #[error("reference database {name:?}: {message}")]
    Reference {
        /// Its configured name.
        name: String,
        /// What went wrong (password scrubbed).
        message: String,
    },
    /// The file was read but is not a valid expectation.
    #[error("{location}: {message}")]
    Invalid {
        /// `path` or `path:line:column`.
        location: String,
        /// What is wrong.
        message: String,
    },
}

impl ExpectedSource {
    /// Loads the expectation for a database of `engine` whose configured schemas are `schemas`
    /// (unqualified table names belong to the first), reusing `cache` when the source is unchanged.
    /// One cache serves one database: engine and schemas are part of its config, which a reload
    /// replaces together with the poller that owns the cache.
    pub async fn load(
        &self,
        engine: Engine,
        schemas: &[String],
        cache: &mut ExpectedCache,
    ) -> Result<Arc<Expectation>, ExpectedError> {
        let files = match self {
            ExpectedSource::File(path) => vec![SourceFile {
                path: path.clone(),
                text: read(path).await?,
            }],
            ExpectedSource::Sql(paths) => {
                // Directories are listed again at every check: a deploy may add migrations.
                let list = paths.clone();
                let ordered = tokio::task::spawn_blocking(move || sql::files_to_apply(&list))
                    .await
                    .map_err(|e| ExpectedError::Invalid {
                        location: self.describe(),
                        message: e.to_string(),
                    })??;
                read_all(ordered.into_iter()).await?
            }
            ExpectedSource::Migrations(m) => {
                // Offline (validate, snapshot): as if every migration had run, in file order.
                let files = list_migrations(m).await?;
                read_all(files.iter().map(|f| f.path.clone())).await?
            }
            ExpectedSource::Reference(r) => {
                return load_reference(r, engine, schemas, cache).await;
            }
        };
        // Hashing and parsing grow with the source (0.9 s for a 10,000-table file): off the async
        // workers, so scrapes and health checks never wait behind a parse.
        let previous = cache.last.clone();
        let shared = cache.shared.clone();
        let (source, schemas_owned) = (self.clone(), schemas.to_vec());
        let (content, expectation) = tokio::task::spawn_blocking(move || {
            let content = content_hash(matches!(source, ExpectedSource::File(_)), &files);
            let key = (content, engine, schemas_owned.clone());
            let expectation = reuse_or_parse(previous, shared, key, &files, || {
                Ok((source.parse(&files, engine, &schemas_owned)?, None))
            })?;
            Ok((content, expectation))
        })
        .await
        .map_err(|e| ExpectedError::Invalid {
            location: self.describe(),
            message: format!("internal error while parsing: {e}"),
        })??;
        cache.last = Some((content, expectation.clone()));
        Ok(expectation)
    }

    /// Parses the files read for this source.
    fn parse(
        &self,
        files: &[SourceFile],
        engine: Engine,
        schemas: &[String],
    ) -> Result<Schema, ExpectedError> {
        match self {
            ExpectedSource::File(path) => file::parse(&files[0].text, path, engine, schemas),
            _ => sql::parse(files, engine, schemas),
        }
    }

    /// The source as shown to people: `file expected/app.yaml`.
    pub fn describe(&self) -> String {
        match self {
            ExpectedSource::File(path) => format!("file {}", path.display()),
            ExpectedSource::Sql(paths) => {
                let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                format!("sql {}", list.join(", "))
            }
            ExpectedSource::Reference(r) if r.cross_engine => format!(
                "reference database {} (another engine: tables, columns and nullability are compared; types and defaults are not)",
                r.name
            ),
            ExpectedSource::Reference(r) => format!("reference database {}", r.name),
            ExpectedSource::Migrations(m) => {
                let list: Vec<String> = m.paths.iter().map(|p| p.display().to_string()).collect();
                format!("sql {} with the {} ledger", list.join(", "), m.ledger.name())
            }
        }
    }

    /// Resolves relative paths against `base` (the config file's folder).
    pub fn resolve(self, base: &Path) -> ExpectedSource {
        match self {
            ExpectedSource::File(p) if p.is_relative() => ExpectedSource::File(base.join(p)),
            ExpectedSource::Sql(paths) => {
                ExpectedSource::Sql(paths.into_iter().map(|p| base.join(p)).collect())
            }
            ExpectedSource::Migrations(m) => ExpectedSource::Migrations(Migrations {
                paths: m.paths.into_iter().map(|p| base.join(p)).collect(),
                ledger: m.ledger,
            }),
            other => other,
        }
    }
}

impl Migrations {
    /// The expectation built from the migrations `rows` of the `kind` ledger record as applied,
    /// in the order they ran, and what the ledger says beyond that (pending, failed, unknown,
    /// edited). Parsed again only when the applied files or their order changed.
    pub async fn load_applied(
        &self,
        kind: ledger::LedgerKind,
        rows: Vec<Vec<Option<String>>>,
        engine: Engine,
        schemas: &[String],
        cache: &mut ExpectedCache,
    ) -> Result<(Arc<Expectation>, ledger::LedgerState), ExpectedError> {
        let listed = Migrations {
            paths: self.paths.clone(),
            ledger: kind,
        };
        let files = list_migrations(&listed).await?;
        let texts = read_all(files.iter().map(|f| f.path.clone())).await?;
        let previous = cache.last.clone();
        let shared = cache.shared.clone();
        let schemas_owned = schemas.to_vec();
        let location = format!("ledger {}", kind.table().0);
        let (content, expectation, state) = tokio::task::spawn_blocking(move || {
            let plain: Vec<&str> = texts.iter().map(|f| f.text.as_str()).collect();
            let mut state = ledger::reconcile(kind, &files, &plain, &rows).map_err(|message| {
                ExpectedError::Invalid {
                    location: location.clone(),
                    message,
                }
            })?;
            state.files_hash = content_hash(false, &texts);
            let applied: Vec<SourceFile> = state
                .applied
                .iter()
                .map(|a| texts[a.file].clone())
                .collect();
            // Attributed parses and plain ones of the same files are different expectations.
            let content = content_hash(false, &applied) ^ 0x6c65_6467_6572;
            let key = (content, engine, schemas_owned.clone());
            let expectation = reuse_or_parse(previous, shared, key, &applied, || {
                let (schema, origins) = sql::parse_attributed(&applied, engine, &schemas_owned)?;
                Ok((schema, Some(origins)))
            })?;
            Ok((content, expectation, state))
        })
        .await
        .map_err(|e| ExpectedError::Invalid {
            location: format!("ledger {}", kind.table().0),
            message: format!("internal error while parsing: {e}"),
        })??;
        cache.last = Some((content, expectation.clone()));
        Ok((expectation, state))
    }
}

/// The expectation `files` stand for under `key`: the cache's `previous` one when the content is
/// unchanged, else a live parse another database made of the same content, else `parse`'s (dated
/// by the newest file: only a changed source is stat-ed).
fn reuse_or_parse(
    previous: Option<(u64, Arc<Expectation>)>,
    shared: Option<Arc<SharedExpectations>>,
    key: SharedKey,
    files: &[SourceFile],
    parse: impl FnOnce() -> Result<(Schema, Option<sql::Origins>), ExpectedError>,
) -> Result<Arc<Expectation>, ExpectedError> {
    if let Some((hash, expectation)) = previous {
        if hash == key.0 {
            return Ok(expectation);
        }
    }
    let build = || {
        let (schema, origins) = parse()?;
        let modified = files
            .iter()
            .filter_map(|f| std::fs::metadata(&f.path).ok()?.modified().ok())
            .max();
        Ok(Arc::new(Expectation {
            fingerprint: schema.fingerprint(),
            schema,
            modified,
            origins,
        }))
    };
    match shared {
        Some(shared) => shared.get_or_parse(key, build),
        None => build(),
    }
}

/// The migration files of a `sql:` list with a ledger, listed off the async workers (directories
/// are listed again at every check: a deploy may add migrations).
async fn list_migrations(m: &Migrations) -> Result<Vec<ledger::MigrationFile>, ExpectedError> {
    let (kind, paths) = (m.ledger, m.paths.clone());
    let location = paths
        .first()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    tokio::task::spawn_blocking(move || ledger::migration_files(kind, &paths))
        .await
        .map_err(|e| ExpectedError::Invalid {
            location,
            message: e.to_string(),
        })?
}

/// Reads every file of `paths`, in order.
async fn read_all(paths: impl Iterator<Item = PathBuf>) -> Result<Vec<SourceFile>, ExpectedError> {
    let mut files = Vec::new();
    for path in paths {
        let text = read(&path).await?;
        files.push(SourceFile { path, text });
    }
    Ok(files)
}

/// Reads the referenced database's catalog and turns it into an expectation for a database of
/// `engine` with `schemas`.
async fn load_reference(
    r: &Reference,
    engine: Engine,
    schemas: &[String],
    cache: &mut ExpectedCache,
) -> Result<Arc<Expectation>, ExpectedError> {
    let fail = |message: String| ExpectedError::Reference {
        name: r.name.clone(),
        message,
    };
    let target = &r.target;
    if cache.reference.is_none() {
        let limits = SessionLimits::for_check(target.timeout);
        let pool = Pool::connect_lazy(target.engine, &target.url, limits)
            .map_err(|e| fail(target.url.scrub(&e.to_string())))?;
        cache.reference = Some(pool);
    }
    let pool = cache.reference.as_ref().expect("set just above");
    let read = async {
        let mut live = pool.introspect(&target.schemas, None, false).await?;
        // Keys and indexes of another engine differ in names, methods and what the engine adds
        // by itself: only a reference of the same engine has its keys compared.
        if target.engine == engine {
            live.attach_indexes(pool.indexes(&target.schemas, None).await?);
            live.attach_foreign_keys(pool.foreign_keys(&target.schemas, None).await?);
            live.attach_checks(pool.checks(&target.schemas, None).await?);
            if engine == Engine::Postgres {
                live.types = Some(pool.enum_types(&target.schemas, false).await?);
            }
        }
        Ok::<_, sqlx::Error>(live)
    };
    let live = match read.await {
        Ok(live) => live,
        Err(e) => {
            let error = crate::engine::classify(target.engine, &target.url, target.timeout, &e);
            return Err(fail(match error.await {
                Err(cause) => format!("cannot connect: {cause}"),
                Ok(query) => format!("catalog read failed: {query}"),
            }));
        }
    };
    let schema = reference_expectation(live, target, engine, schemas);
    let fingerprint = schema.fingerprint();
    if let Some((hash, expectation)) = &cache.last {
        if *hash == fingerprint {
            return Ok(expectation.clone());
        }
    }
    let expectation = Arc::new(Expectation {
        fingerprint,
        schema,
        modified: None,
        origins: None,
    });
    cache.last = Some((fingerprint, expectation.clone()));
    Ok(expectation)
}

/// The referenced database's live schema as an expectation: its schemas mapped in order onto the
/// checked database's; on the same engine its keys and indexes too, across engines only presence
/// and nullability.
pub fn reference_expectation(
    live: Schema,
    target: &ReferenceTarget,
    engine: Engine,
    schemas: &[String],
) -> Schema {
    let mut out = Schema::default();
    let mapped = |schema: String| {
        target
            .schemas
            .iter()
            .position(|s| *s == schema)
            .and_then(|i| schemas.get(i))
            .cloned()
            .unwrap_or(schema)
    };
    for table in live.tables.into_values() {
        let schema = mapped(table.name.schema);
        let mut t = Table::new(TableName::new(schema, table.name.name));
        t.columns_compared = table.columns_compared;
        if target.engine == engine {
            // What the reference has is what is expected; a leftover the reference's engine
            // could not use is no part of that.
            t.primary_key = table.primary_key;
            t.indexes = table
                .indexes
                .map(|list| list.into_iter().filter(|i| i.valid).collect());
            // A key to a table of the reference points at that table's counterpart here.
            t.foreign_keys = table.foreign_keys.map(|list| {
                list.into_iter()
                    .map(|mut k| {
                        let target = TableName::new(mapped(k.target.schema), k.target.name);
                        k.target = Schema::key(engine, &target);
                        k
                    })
                    .collect()
            });
            // Both sides deparsed by the same engine: a check is found by its condition (or the
            // name its engine gave both), whatever a person named it.
            t.checks = table.checks.map(|list| {
                list.into_iter()
                    .map(|mut c| {
                        c.name_given = false;
                        c
                    })
                    .collect()
            });
        }
        for c in table.columns.into_values() {
            let c = if target.engine == engine {
                c
            } else {
                Column {
                    data_type: None,
                    default: None,
                    ..c
                }
            };
            t.add_column(engine, c);
        }
        out.add_table(engine, t);
    }
    // Enum types are read from a same-engine (PostgreSQL) reference only.
    out.types = live.types.map(|types| {
        types
            .into_values()
            .map(|mut t| {
                t.name = TableName::new(mapped(t.name.schema), t.name.name);
                (Schema::key(engine, &t.name), t)
            })
            .collect()
    });
    out
}

/// Which kind of source, which files, with which bytes: what decides whether a source must be
/// parsed again, and which databases may share a parse (the same file read as YAML and as SQL
/// is two expectations).
fn content_hash(yaml: bool, files: &[SourceFile]) -> u64 {
    let mut h = DefaultHasher::new();
    yaml.hash(&mut h);
    for f in files {
        f.path.hash(&mut h);
        f.text.hash(&mut h);
    }
    h.finish()
}

/// Reads one source file, bounded by [`crate::files::MAX_EXPECTED_BYTES`]; only regular files.
async fn read(path: &Path) -> Result<String, ExpectedError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        crate::files::read_text(&owned, crate::files::MAX_EXPECTED_BYTES)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .map_err(|message| ExpectedError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unchanged_file_is_not_parsed_again_and_a_changed_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.yaml");
        std::fs::write(&path, "tables:\n  t:\n    columns:\n      id: bigint\n").unwrap();
        let source = ExpectedSource::File(path.clone());
        let schemas = ["public".to_string()];
        let mut cache = ExpectedCache::default();
        let first = source
            .load(Engine::Postgres, &schemas, &mut cache)
            .await
            .unwrap();
        let again = source
            .load(Engine::Postgres, &schemas, &mut cache)
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again), "unchanged source parsed twice");

        std::fs::write(
            &path,
            "tables:\n  t:\n    columns:\n      id: int8  # same type\n",
        )
        .unwrap();
        let reworded = source
            .load(Engine::Postgres, &schemas, &mut cache)
            .await
            .unwrap();
        assert!(
            !Arc::ptr_eq(&first, &reworded),
            "changed bytes must be parsed again"
        );
        assert_eq!(
            reworded.fingerprint, first.fingerprint,
            "same meaning, same fingerprint"
        );

        std::fs::write(&path, "tables:\n  t:\n    columns:\n      id: text\n").unwrap();
        let changed = source
            .load(Engine::Postgres, &schemas, &mut cache)
            .await
            .unwrap();
        assert_ne!(changed.fingerprint, first.fingerprint);

        std::fs::write(&path, "tables: [").unwrap();
        assert!(
            source
                .load(Engine::Postgres, &schemas, &mut cache)
                .await
                .is_err(),
            "a broken file is an error, not the cached schema"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn databases_with_the_same_source_share_one_parsed_copy_per_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.yaml");
        std::fs::write(&path, "tables:\n  t:\n    columns:\n      id: bigint\n").unwrap();
        let source = ExpectedSource::File(path.clone());
        let public = vec!["public".to_string()];
        let shared = Arc::new(SharedExpectations::default());
        // Eight databases loading at once, as a fleet's first round does: one copy for all.
        let mut loads = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (source, public) = (source.clone(), public.clone());
            let mut cache = ExpectedCache::sharing(shared.clone());
            loads.spawn(async move {
                source
                    .load(Engine::Postgres, &public, &mut cache)
                    .await
                    .map(|e| (e, cache))
            });
        }
        let mut loaded = Vec::new();
        while let Some(r) = loads.join_next().await {
            loaded.push(r.unwrap().unwrap());
        }
        assert!(
            loaded.iter().all(|(e, _)| Arc::ptr_eq(e, &loaded[0].0)),
            "parsed more than once"
        );

        // Another engine or other schemas parse the same bytes differently: their own copy.
        let mut other = ExpectedCache::sharing(shared.clone());
        let other_schemas = vec!["app".to_string()];
        let apart = source
            .load(Engine::Postgres, &other_schemas, &mut other)
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&apart, &loaded[0].0));
        assert_eq!(apart.schema.tables.keys().next().unwrap().schema, "app");

        // New bytes: the first database to see them parses, the next ones share that parse.
        std::fs::write(&path, "tables:\n  t:\n    columns:\n      id: text\n").unwrap();
        let (_, first) = &mut loaded[0];
        let changed = source.load(Engine::Postgres, &public, first).await.unwrap();
        assert!(!Arc::ptr_eq(&changed, &loaded[1].0));
        let (_, second) = &mut loaded[1];
        let again = source
            .load(Engine::Postgres, &public, second)
            .await
            .unwrap();
        assert!(
            Arc::ptr_eq(&changed, &again),
            "the new content was parsed twice"
        );
    }
}
