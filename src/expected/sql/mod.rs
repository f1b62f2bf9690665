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

mod checks;
mod interpret;
mod keys;
mod migrations;
mod quirks;
mod statements;
mod table;

pub use migrations::{
    files_to_apply, migration_order, migration_version, version_parts, MigrationVersion,
};

use super::{ExpectedError, SourceFile};
use crate::dialect::Engine;
use crate::model::{Schema, TableName};
use std::collections::HashMap;

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

/// Which file last shaped each table and column of an expectation: created, altered, renamed
/// to or dropped it. Keys are folded as [`Schema::key`] and [`Engine::fold_identifier`] fold
/// them; values index the files given to [`parse_attributed`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    /// A table (or view) by its key.
    pub tables: HashMap<TableName, usize>,
    /// A column by its table's key and its folded name.
    pub columns: HashMap<(TableName, String), usize>,
}

/// [`parse`], also noting which file last shaped each table and column (a migration ledger
/// names the migration a drift item comes from). After each file, its tables are compared with
/// what they were before it: every table or column it added, changed or removed is its doing.
pub fn parse_attributed(
    files: &[SourceFile],
    engine: Engine,
    schemas: &[String],
) -> Result<(Schema, Origins), ExpectedError> {
    let default_schema = schemas.first().cloned().unwrap_or_else(|| "public".into());
    let mut state = interpret::State::new(engine, default_schema);
    let mut origins = Origins::default();
    for (index, file) in files.iter().enumerate() {
        let before = state.tables().clone();
        state.start_file();
        let text = migrations::up_part(&file.text);
        statements::for_each(&file.path, text, engine, |statement, at| {
            state.apply(statement, at)
        })?;
        let after = state.tables();
        let renamed = state.renamed_in_file();
        for (key, table) in after {
            let old = before.get(key);
            if old != Some(table) {
                // Only a table created, renamed to or recreated here is the file's as a whole;
                // one whose columns changed keeps its creator, the columns get this file.
                if old.is_none() {
                    origins.tables.insert(key.clone(), index);
                }
                // A renamed table's columns keep the files that made them, unless this file
                // changed them too: `RENAME TO` did not create the column a later check misses.
                let was = renamed
                    .get(key)
                    .filter(|_| old.is_none())
                    .and_then(|src| Some((src, before.get(src)?)));
                for (column, def) in &table.columns {
                    let carried = was.and_then(|(src, prior)| {
                        (prior.columns.get(column) == Some(def))
                            .then(|| origins.columns.get(&(src.clone(), column.clone())).copied())
                            .flatten()
                    });
                    if let Some(origin) = carried {
                        origins
                            .columns
                            .insert((key.clone(), column.clone()), origin);
                    } else if old.and_then(|t| t.columns.get(column)) != Some(def) {
                        origins.columns.insert((key.clone(), column.clone()), index);
                    }
                }
            }
            if let Some(old) = old {
                for column in old.columns.keys() {
                    if !table.columns.contains_key(column) {
                        origins.columns.insert((key.clone(), column.clone()), index);
                    }
                }
            }
        }
        for (key, old) in &before {
            if !after.contains_key(key) {
                origins.tables.insert(key.clone(), index);
                for column in old.columns.keys() {
                    origins.columns.insert((key.clone(), column.clone()), index);
                }
            }
        }
    }
    Ok((state.into_schema(), origins))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_table_and_column_is_attributed_to_the_file_that_last_shaped_it() {
        let files: Vec<SourceFile> = [
            "CREATE TABLE export_logs (id bigint, file_size bigint, note text);\nCREATE TABLE old (a int);",
            "ALTER TABLE export_logs ADD COLUMN checksum varchar(64);\nALTER TABLE export_logs ALTER COLUMN note TYPE varchar(10);",
            "ALTER TABLE export_logs DROP COLUMN file_size;\nALTER TABLE old RENAME TO mid;\nALTER TABLE mid RENAME TO renamed;\nALTER TABLE renamed ADD COLUMN b int;",
            "SELECT 1;",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| SourceFile {
            path: std::path::PathBuf::from(format!("{i}.sql")),
            text: t.to_string(),
        })
        .collect();
        let (schema, origins) =
            parse_attributed(&files, Engine::Postgres, &["public".into()]).unwrap();
        assert_eq!(
            schema,
            parse(&files, Engine::Postgres, &["public".into()]).unwrap()
        );
        let table = |n: &str| TableName::new("public", n);
        let column = |t: &str, c: &str| origins.columns.get(&(table(t), c.to_string())).copied();
        assert_eq!(origins.tables.get(&table("export_logs")), Some(&0));
        assert_eq!(column("export_logs", "id"), Some(0));
        assert_eq!(column("export_logs", "checksum"), Some(1));
        assert_eq!(column("export_logs", "note"), Some(1), "altered later");
        assert_eq!(column("export_logs", "file_size"), Some(2), "dropped later");
        assert_eq!(origins.tables.get(&table("old")), Some(&2), "renamed away");
        assert_eq!(origins.tables.get(&table("renamed")), Some(&2));
        assert_eq!(
            column("renamed", "a"),
            Some(0),
            "a renamed table's column keeps the file that made it, through a chain of renames"
        );
        assert_eq!(column("renamed", "b"), Some(2), "added after the rename");
    }
}
