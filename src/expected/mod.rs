//! Where the expected schema comes from. One file per source; [`ExpectedSource`] registers them.
//!
//! Sources are re-read at every check: a deploy that ships a new expectation needs no restart, and a
//! broken file fails that check (naming the file and line) while the last good results stay published.

mod file;

use std::path::{Path, PathBuf};
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
    /// When the source last changed on disk, if the source can tell.
    pub modified: Option<SystemTime>,
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
    /// (unqualified table names belong to the first).
    pub async fn load(
        &self,
        engine: Engine,
        schemas: &[String],
    ) -> Result<Expectation, ExpectedError> {
        match self {
            ExpectedSource::File(path) => {
                let read_err = |source| ExpectedError::Read {
                    path: path.clone(),
                    source,
                };
                let text = tokio::fs::read_to_string(path).await.map_err(read_err)?;
                let modified = tokio::fs::metadata(path)
                    .await
                    .ok()
                    .and_then(|m| m.modified().ok());
                let schema = file::parse(&text, path, engine, schemas)?;
                Ok(Expectation { schema, modified })
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
