//! Expected schemas from SQL, read offline: schema files, `pg_dump --schema-only` / `mysqldump
//! --no-data` / sqlite3 `.schema` output, and directories of migration files applied in version order.
//!
//! The `sqlparser` crate parses each statement in the database's dialect; this module only applies
//! what parsed to an in-memory schema. Types and defaults keep their SQL text and go through the same
//! normalisation as live introspection ([`crate::model::Column::new`]), so DDL and the catalog of a
//! server that ran it compare equal.
//!
//! Dumps hold much that cannot shape a table (SET, COMMENT, GRANT, OWNER TO, functions, triggers,
//! sequences, indexes, data). Those statements are skipped whether or not the parser understands them.
//! A statement that could change tables or columns (CREATE/ALTER/DROP/RENAME TABLE, views) must be
//! understood completely, or loading fails naming the file, line and the statement's start: a
//! column-shaping statement is never dropped silently.
//!
//! One file per concern: `migrations.rs` lists and orders the files, `statements.rs` turns a
//! file's text into statements that know where they start, `interpret.rs` applies them to the
//! tables of `table.rs`, and `quirks.rs` holds every rule in which engines differ: adding an
//! engine to the SQL reader means an arm in each of its functions (and the tests' default schema
//! in `parse_texts`).

mod interpret;
mod migrations;
mod quirks;
mod statements;
mod table;

pub use migrations::{files_to_apply, migration_order};

use super::{ExpectedError, SourceFile};
use crate::dialect::Engine;
use crate::model::Schema;

/// Applies `files` in order and returns the resulting expectation for a database of `engine`
/// whose configured schemas are `schemas` (unqualified names belong to the first).
pub fn parse(
    files: &[SourceFile],
    engine: Engine,
    schemas: &[String],
) -> Result<Schema, ExpectedError> {
    let default_schema = schemas.first().cloned().unwrap_or_else(|| "public".into());
    let mut state = interpret::State::new(engine, default_schema);
    for file in files {
        state.start_file();
        let text = migrations::up_part(&file.text);
        statements::for_each(&file.path, text, engine, |statement, at| {
            state.apply(statement, at)
        })?;
    }
    Ok(state.into_schema())
}

/// Parses `files` given as (path, text) pairs, as a database of `engine` with its usual default
/// schema: the tests' way in.
#[cfg(test)]
fn parse_texts(engine: Engine, files: &[(&str, &str)]) -> Result<Schema, ExpectedError> {
    let files: Vec<SourceFile> = files
        .iter()
        .map(|(p, t)| SourceFile {
            path: std::path::PathBuf::from(p),
            text: t.to_string(),
        })
        .collect();
    let schemas = [match engine {
        Engine::Sqlite => "main".to_string(),
        Engine::MySql => "app".to_string(),
        Engine::Postgres => "public".to_string(),
    }];
    parse(&files, engine, &schemas)
}
