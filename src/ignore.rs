//! `ignore:` in the config: tables and columns the user asked us never to compare, as compiled globs.

use globset::{Glob, GlobSet, GlobSetBuilder};
use std::sync::Arc;

use crate::model::TableName;

/// Tables and columns the user asked us not to compare. Cloning shares the compiled sets.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    tables: Option<Arc<GlobSet>>,
    columns: Option<Arc<GlobSet>>,
    /// Whether objects a PostgreSQL extension owns are compared (`ignore.extension_objects:
    /// false`); by default they are left out of the catalog read.
    extension_objects: bool,
    /// Whether key, index and constraint names are compared too (`names: strict`); by default
    /// they are found by definition alone.
    strict_names: bool,
}

impl Ignore {
    /// Compiles table globs (matched against `table` and `schema.table`) and column globs (matched
    /// against `table.column`). Returns the first pattern that does not compile.
    pub fn new(tables: &[String], columns: &[String]) -> Result<Ignore, String> {
        fn build(patterns: &[String]) -> Result<Option<Arc<GlobSet>>, String> {
            if patterns.is_empty() {
                return Ok(None);
            }
            let mut set = GlobSetBuilder::new();
            for p in patterns {
                set.add(Glob::new(p).map_err(|e| format!("invalid glob `{p}`: {e}"))?);
            }
            set.build()
                .map(|s| Some(Arc::new(s)))
                .map_err(|e| e.to_string())
        }
        Ok(Ignore {
            tables: build(tables)?,
            columns: build(columns)?,
            extension_objects: false,
            strict_names: false,
        })
    }

    /// The same rules, comparing extension-owned objects too (or not).
    pub fn with_extension_objects(mut self, compared: bool) -> Ignore {
        self.extension_objects = compared;
        self
    }

    /// The same rules, comparing the names of keys, indexes and constraints too (or not).
    pub fn with_strict_names(mut self, strict: bool) -> Ignore {
        self.strict_names = strict;
        self
    }

    /// Whether names of keys, indexes and constraints must match as well as their definitions.
    pub fn strict_names(&self) -> bool {
        self.strict_names
    }

    /// Whether objects a PostgreSQL extension owns (tables, enum types) are read and compared.
    pub fn extension_objects(&self) -> bool {
        self.extension_objects
    }

    /// Whether a table is ignored.
    pub fn table(&self, name: &TableName) -> bool {
        self.tables
            .as_ref()
            .is_some_and(|set| set.is_match(&name.name) || set.is_match(name.to_string()))
    }

    /// Whether a column is ignored.
    pub fn column(&self, table: &TableName, column: &str) -> bool {
        self.columns
            .as_ref()
            .is_some_and(|set| set.is_match(format!("{}.{}", table.name, column)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_glob_is_reported_with_the_pattern() {
        let err = Ignore::new(&["[oops".into()], &[]).unwrap_err();
        assert!(err.contains("[oops"), "{err}");
    }

    #[test]
    fn tables_match_bare_or_qualified_and_columns_as_table_dot_column() {
        let ignore =
            Ignore::new(&["tmp_*".into(), "audit.*".into()], &["*.legacy_*".into()]).unwrap();
        assert!(ignore.table(&TableName::new("public", "tmp_1")));
        assert!(ignore.table(&TableName::new("audit", "log")));
        assert!(!ignore.table(&TableName::new("public", "log")));
        assert!(ignore.column(&TableName::new("public", "t"), "legacy_x"));
        assert!(!ignore.column(&TableName::new("public", "t"), "x"));
        assert!(!Ignore::default().table(&TableName::new("public", "tmp_1")));
    }
}
