//! Where the expected schema comes from. One file per source; [`ExpectedSource`] registers them.
//!
//! Sources are read at every check and parsed again only when their bytes changed: a deploy that ships
//! a new expectation needs no restart, and a broken file fails that check (naming the file and line)
//! while the last good results stay published.

mod file;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use thiserror::Error;

use crate::engine::Engine;
use crate::model::Schema;

pub use file::parse as parse_file;
pub use file::render as render_file;

/// A configured expectation source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedSource {
    /// A native expected-schema YAML file (see README, "Expected-schema file").
    File(PathBuf),
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
}

/// The last expectation one database's checks loaded. The source is still read at every check (a
/// deploy may change it at any time), but parsed again only when its bytes changed: parsing is
/// most of a check's cost on a large schema (about 330 ms of a 10,000-table file).
#[derive(Debug, Default)]
pub struct ExpectedCache {
    last: Option<(u64, Arc<Expectation>)>,
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
        match self {
            ExpectedSource::File(path) => {
                let read_err = |source| ExpectedError::Read {
                    path: path.clone(),
                    source,
                };
                let text = tokio::fs::read_to_string(path).await.map_err(read_err)?;
                let content = {
                    let mut h = DefaultHasher::new();
                    text.hash(&mut h);
                    h.finish()
                };
                if let Some((hash, expectation)) = &cache.last {
                    if *hash == content {
                        return Ok(expectation.clone());
                    }
                }
                let modified = tokio::fs::metadata(path)
                    .await
                    .ok()
                    .and_then(|m| m.modified().ok());
                let schema = file::parse(&text, path, engine, schemas)?;
                let expectation = Arc::new(Expectation {
                    fingerprint: schema.fingerprint(),
                    schema,
                    modified,
                });
                cache.last = Some((content, expectation.clone()));
                Ok(expectation)
            }
        }
    }

    /// The source as shown to people: `file expected/app.yaml`.
    pub fn describe(&self) -> String {
        match self {
            ExpectedSource::File(path) => format!("file {}", path.display()),
        }
    }

    /// Resolves relative paths against `base` (the config file's folder).
    pub fn resolve(self, base: &Path) -> ExpectedSource {
        match self {
            ExpectedSource::File(p) if p.is_relative() => ExpectedSource::File(base.join(p)),
            other => other,
        }
    }
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
}
