//! Schema types shared by expectations and live introspection.
//!
//! Both sides of a comparison are built from the same types, and every constructor normalises through
//! [`crate::normalize`], so the diff only ever compares canonical spellings. An attribute that is `None`
//! on the expected side was not stated and is therefore not compared.

use indexmap::IndexMap;
use serde::Serialize;
use std::fmt;

use crate::dialect::Engine;
use crate::normalize;

/// A table's place in the database: namespace plus name, as the catalog spells them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TableName {
    /// PostgreSQL namespace, MySQL database, or `main` for SQLite.
    pub schema: String,
    /// The table's own name.
    pub name: String,
}

impl TableName {
    /// Builds a name from its two parts.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        TableName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// One column's attributes. On the expected side each is optional; live columns always have all three.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Column {
    /// Column name as written (expected) or as stored (live).
    pub name: String,
    /// Canonical type spelling (see [`normalize::normalize_type`]).
    pub data_type: Option<String>,
    /// Whether NULL is allowed.
    pub nullable: Option<bool>,
    /// `Some(None)` means "has no default"; `None` means "not stated". Serial and auto-increment
    /// defaults are normalised to `Some(None)` because they are how the engine implements identity,
    /// not a default a person chose.
    pub default: Option<Option<String>>,
}

impl Column {
    /// Builds a column, normalising the type and the default for `engine`.
    pub fn new(
        engine: Engine,
        name: impl Into<String>,
        data_type: Option<&str>,
        nullable: Option<bool>,
        default: Option<Option<&str>>,
    ) -> Self {
        Column {
            name: name.into(),
            data_type: data_type.map(|t| normalize::normalize_type(engine, t)),
            nullable,
            default: default.map(|d| d.and_then(|d| normalize::normalize_default(engine, d))),
        }
    }
}

/// A table (or view) and its columns, keyed by the engine's folded column name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// The table's name as written or stored.
    pub name: TableName,
    /// `false` when the expectation lists the table without columns: only its existence is checked.
    pub columns_compared: bool,
    /// Columns in declaration order, keyed by [`Engine::fold_identifier`].
    pub columns: IndexMap<String, Column>,
}

impl Table {
    /// An empty table whose columns will be compared.
    pub fn new(name: TableName) -> Self {
        Table {
            name,
            columns_compared: true,
            columns: IndexMap::new(),
        }
    }

    /// Adds a column under its folded key; returns `false` if a column with that key already exists.
    pub fn add_column(&mut self, engine: Engine, column: Column) -> bool {
        let key = engine.fold_identifier(&column.name);
        if self.columns.contains_key(&key) {
            return false;
        }
        self.columns.insert(key, column);
        true
    }
}

/// A set of tables: the whole expectation, or everything introspected from the configured schemas.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Schema {
    /// Tables keyed by `(schema, folded table name)`.
    pub tables: IndexMap<TableName, Table>,
}

impl Schema {
    /// The lookup key for a table: identifiers folded the way `engine` compares them.
    pub fn key(engine: Engine, name: &TableName) -> TableName {
        TableName::new(
            engine.fold_identifier(&name.schema),
            engine.fold_identifier(&name.name),
        )
    }

    /// Adds a table; returns `false` if one with the same folded key already exists.
    pub fn add_table(&mut self, engine: Engine, table: Table) -> bool {
        let key = Self::key(engine, &table.name);
        if self.tables.contains_key(&key) {
            return false;
        }
        self.tables.insert(key, table);
        true
    }

    /// Adds one row of a catalog query: the table, created on first sight, and (unless the table has
    /// no columns) one of its columns, in catalog order.
    pub fn add_catalog_row(&mut self, engine: Engine, table: TableName, column: Option<Column>) {
        let entry = self
            .tables
            .entry(Self::key(engine, &table))
            .or_insert_with(|| Table::new(table));
        if let Some(c) = column {
            entry.add_column(engine, c);
        }
    }

    /// Finds a table by name, folding as `engine` does.
    pub fn get(&self, engine: Engine, name: &TableName) -> Option<&Table> {
        self.tables.get(&Self::key(engine, name))
    }

    /// A stable fingerprint of the content, used to notice when an expectation really changed
    /// (a rewritten file with the same content must not move the "last change" timestamp).
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for (key, table) in &self.tables {
            key.hash(&mut hasher);
            table.columns_compared.hash(&mut hasher);
            for (ckey, c) in &table.columns {
                ckey.hash(&mut hasher);
                c.data_type.hash(&mut hasher);
                c.nullable.hash(&mut hasher);
                c.default.hash(&mut hasher);
            }
        }
        hasher.finish()
    }
}

/// A change that would bring the live schema to the expectation, in schema vocabulary: the diff
/// says what should change, and each engine renders it in its own dialect
/// ([`crate::engine::render_change`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Create a missing table with every column the expectation gives it.
    CreateTable {
        /// The table as expected.
        table: Table,
    },
    /// Drop a table the expectation does not have (destructive).
    DropTable {
        /// The live table.
        table: TableName,
    },
    /// Add a missing column.
    AddColumn {
        /// The table it belongs to.
        table: TableName,
        /// The column as expected.
        column: Column,
    },
    /// Drop a column the expectation does not have (destructive).
    DropColumn {
        /// The table it belongs to.
        table: TableName,
        /// The live column's name.
        column: String,
    },
    /// Change a column's type to `column.data_type` (may rewrite the table or lose data).
    AlterType {
        /// The table it belongs to.
        table: TableName,
        /// The whole column as it should end up (expected attributes, the rest as it is now), for
        /// dialects that restate every attribute (MySQL `MODIFY`).
        column: Column,
    },
    /// Make a column nullable or NOT NULL, as `column.nullable` says.
    SetNullable {
        /// The table it belongs to.
        table: TableName,
        /// The whole column as it should end up, as for [`Change::AlterType`].
        column: Column,
    },
    /// Set (`Some`) or drop (`None`) a column's default.
    SetDefault {
        /// The table it belongs to.
        table: TableName,
        /// The live column's name.
        column: String,
        /// The expected default expression, or none.
        default: Option<String>,
    },
}

impl Change {
    /// Whether applying the change can destroy data: dropping a table or column loses it, and a type
    /// change may truncate or fail on existing rows.
    pub fn destructive(&self) -> bool {
        matches!(
            self,
            Change::DropTable { .. } | Change::DropColumn { .. } | Change::AlterType { .. }
        )
    }
}
