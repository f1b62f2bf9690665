//! Schema types shared by expectations and live introspection.
//!
//! Both sides of a comparison are built from the same types, and every constructor normalises through
//! [`crate::normalize`], so the diff only ever compares canonical spellings. An attribute that is `None`
//! on the expected side was not stated and is therefore not compared.

use indexmap::IndexMap;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::dialect::Engine;
use crate::normalize::{self, Spelling};

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

/// A column name. Shared rather than owned: a table's map key is the same allocation as the
/// column's name whenever folding leaves it unchanged, and [`Names`] lets every column of one
/// name share one allocation (10,000 tables of 20 columns hold 20 names, not 400,000 strings).
pub type Name = Arc<str>;

/// One allocation per distinct name, for one build of a schema. Dropped with its builder, so names
/// of tables that come and go are not kept for the life of the process.
#[derive(Debug, Default)]
pub struct Names(HashSet<Name>);

impl Names {
    /// The shared copy of `name`.
    pub fn get(&mut self, name: &str) -> Name {
        if let Some(n) = self.0.get(name) {
            return n.clone();
        }
        let n: Name = name.into();
        self.0.insert(n.clone());
        n
    }
}

/// One column's attributes. On the expected side each is optional; live columns always have all three.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Column {
    /// Column name as written (expected) or as stored (live).
    pub name: Name,
    /// Canonical type spelling (see [`normalize::normalize_type`]), shared by every column that
    /// spells its type the same way.
    pub data_type: Option<Spelling>,
    /// Whether NULL is allowed.
    pub nullable: Option<bool>,
    /// `Some(None)` means "has no default"; `None` means "not stated". Serial and auto-increment
    /// defaults are normalised to `Some(None)` because they are how the engine implements identity,
    /// not a default a person chose.
    pub default: Option<Option<Spelling>>,
    /// Whether the engine makes its values (PostgreSQL identity or serial, MySQL
    /// AUTO_INCREMENT): a column that lost it makes every insert without a value fail. `None`:
    /// not stated (or not read: SQLite), so not compared.
    pub identity: Option<bool>,
}

impl Column {
    /// The same column, stating whether the engine makes its values.
    pub fn with_identity(mut self, identity: bool) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Builds a column, normalising the type and the default for `engine`.
    pub fn new(
        engine: Engine,
        name: impl Into<Name>,
        data_type: Option<&str>,
        nullable: Option<bool>,
        default: Option<Option<&str>>,
    ) -> Self {
        Column {
            name: name.into(),
            data_type: data_type.map(|t| normalize::canonical_type(engine, t)),
            nullable,
            default: default.map(|d| d.and_then(|d| normalize::canonical_default(engine, d))),
            identity: None,
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
    pub columns: IndexMap<Name, Column>,
    /// The primary key: `Some(None)` for a table without one; `None`: not read, or not stated
    /// by the expectation, so not compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Option<Index>>,
    /// Every other index (unique constraints are unique indexes here: the engines enforce both
    /// with one), as the catalog lists them. `None`: not read, or not stated, so not compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexes: Option<Vec<Index>>,
    /// Foreign keys, as the catalog lists them. `None`: not read, or not stated, so not
    /// compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign_keys: Option<Vec<ForeignKey>>,
    /// Check constraints. `None`: not read, or not stated, so not compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<Check>>,
    /// A partitioned table (PostgreSQL `PARTITION BY`), as the catalog reads it: some fixes are
    /// spelt differently there. Never compared.
    #[serde(skip)]
    pub partitioned: bool,
}

/// A check constraint. Expressions are spelt differently by every source (a person, a framework,
/// each server's deparser), so a check is found by the name the expectation gives it; one that
/// names none (an unnamed `CHECK` in DDL, a same-engine reference) is found by the name the
/// engine would have given it, or by its expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Check {
    /// Its name: as given, as the engine generates it, or empty (SQLite keeps none for an
    /// unnamed check).
    pub name: String,
    /// Whether the name was given by the expectation (then the name alone decides).
    pub name_given: bool,
    /// The condition, as written or as the catalog prints it; `None` when the expectation
    /// names the check only.
    pub expression: Option<String>,
    /// Whether the rows already there were checked (PostgreSQL `NOT VALID`, never validated).
    /// Expected checks are.
    pub validated: bool,
}

impl Check {
    /// Whether `live` is the check this expected one describes, `engine` comparing names its way.
    pub fn matches(&self, engine: Engine, live: &Check) -> bool {
        let same_name = !self.name.is_empty()
            && engine.fold_identifier(&self.name) == engine.fold_identifier(&live.name);
        if self.name_given {
            return same_name;
        }
        same_name
            || match (&self.expression, &live.expression) {
                (Some(a), Some(b)) => same_expression(a, b, Casts::Drop),
                _ => false,
            }
    }

    /// `CHECK (qty >= 0) name` as a person reads it.
    pub fn describe(&self) -> String {
        let mut out = match &self.expression {
            Some(e) => format!("CHECK ({})", strip_outer_parens(e)),
            None => "CHECK".to_string(),
        };
        if !self.name.is_empty() {
            out.push_str(&format!(" {}", self.name));
        }
        out
    }

    /// MariaDB makes a `json` column a `longtext` with a check named after it: a type, which
    /// the column's type already compares, not a constraint anybody wrote.
    pub fn is_json_type_check(&self) -> bool {
        let Some(e) = &self.expression else {
            return false;
        };
        expression_form(e) == format!("json_valid({})", expression_form(&self.name))
    }
}

/// `((a > 0))` -> `a > 0`: the parentheses servers put around a whole condition.
pub fn strip_outer_parens(e: &str) -> &str {
    let mut e = e.trim();
    while e.starts_with('(') && e.ends_with(')') {
        // Only when the first parenthesis closes at the end: `(a) OR (b)` keeps its own.
        let mut depth = 0usize;
        let mut closes_at_end = true;
        for (i, c) in e.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 && i != e.len() - 1 {
                        closes_at_end = false;
                        break;
                    }
                }
                _ => {}
            }
        }
        if !closes_at_end {
            break;
        }
        e = e[1..e.len() - 1].trim();
    }
    e
}

/// A foreign key: columns of this table that must match a row of another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ForeignKey {
    /// Its name in the catalog (compared only when asked).
    pub name: String,
    /// The referencing columns, folded, in order.
    pub columns: Vec<Name>,
    /// The referenced table by its key ([`Schema::key`]: folded as the engine compares names,
    /// which is also a spelling the engine accepts in SQL).
    pub target: TableName,
    /// The referenced columns, folded, in order; empty where the source leaves them to the
    /// target's primary key (SQLite's `REFERENCES t`), which then matches any.
    pub target_columns: Vec<Name>,
    /// `ON DELETE` action, in [`ForeignKey::action`]'s spelling.
    pub on_delete: String,
    /// `ON UPDATE` action, likewise.
    pub on_update: String,
    /// `DEFERRABLE` (PostgreSQL; Django makes every foreign key so): checked when the
    /// transaction says, so rows may reference what the same transaction inserts later.
    pub deferrable: bool,
    /// `DEFERRABLE INITIALLY DEFERRED`: checked at commit unless the transaction says otherwise.
    pub initially_deferred: bool,
    /// Whether the rows already there were checked (PostgreSQL: a key added `NOT VALID` and
    /// never validated holds only for rows written since). Expected keys are.
    pub validated: bool,
}

/// How a constraint's definition ends for its deferral: keys and foreign keys alike.
fn deferral(deferrable: bool, initially_deferred: bool) -> &'static str {
    match (deferrable, initially_deferred) {
        (false, _) => "",
        (true, false) => " DEFERRABLE",
        (true, true) => " DEFERRABLE INITIALLY DEFERRED",
    }
}

impl ForeignKey {
    /// A referential action as compared: lower case with single spaces (`no action`, `cascade`,
    /// `set null`, `set default`, `restrict`). On MySQL `restrict` is what `no action` does
    /// (InnoDB checks at once either way), so both are `no action` there.
    pub fn action(engine: Engine, text: Option<&str>) -> String {
        let spelt = text
            .map(|t| {
                t.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_lowercase()
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "no action".into());
        match (engine, spelt.as_str()) {
            (Engine::MySql, "restrict") => "no action".into(),
            _ => spelt,
        }
    }

    /// Whether `live` is what this expected key describes: same columns, same target table and
    /// columns, same actions. Names are not compared.
    pub fn matches(&self, live: &ForeignKey) -> bool {
        self.columns == live.columns
            && self.target == live.target
            && (self.target_columns.is_empty()
                || live.target_columns.is_empty()
                || self.target_columns == live.target_columns)
            && self.on_delete == live.on_delete
            && self.on_update == live.on_update
            && self.deferrable == live.deferrable
            && self.initially_deferred == live.initially_deferred
    }

    /// ` DEFERRABLE` or ` DEFERRABLE INITIALLY DEFERRED` where it applies, as the key ends.
    pub fn deferral(&self) -> &'static str {
        deferral(self.deferrable, self.initially_deferred)
    }

    /// `(a, b) -> s.t (x, y) ON DELETE CASCADE`: how a person reads it.
    pub fn describe(&self) -> String {
        let list = |c: &[Name]| {
            c.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!(
            "FOREIGN KEY ({}) REFERENCES {}",
            list(&self.columns),
            self.target
        );
        if !self.target_columns.is_empty() {
            out.push_str(&format!(" ({})", list(&self.target_columns)));
        }
        for (what, action) in [("DELETE", &self.on_delete), ("UPDATE", &self.on_update)] {
            if action != "no action" {
                out.push_str(&format!(" ON {what} {}", action.to_ascii_uppercase()));
            }
        }
        out.push_str(self.deferral());
        out
    }
}

/// What one part of an index key indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// A column, by its folded name.
    Column(Name),
    /// An expression, in the server's own spelling (PostgreSQL `pg_get_indexdef`); `None` where
    /// the catalog does not give it (MySQL 8 functional key parts).
    Expression(Option<String>),
}

/// One part of an index key: what it indexes and how it sorts. A part's collation and operator
/// class are not part of the definition (PostgreSQL prints neither for a key part, and a
/// column's own collation is the default one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct IndexPart {
    /// The column or expression.
    #[serde(flatten)]
    pub key: Key,
    /// Sorted descending (`DESC`): a query ordering the other way cannot use a multi-column
    /// index the same way, so it is compared.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
    /// NULLs sort at the other end than the direction's default (PostgreSQL: `NULLS FIRST` on
    /// an ascending part, `NULLS LAST` on a descending one).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nulls_reversed: bool,
    /// Only this many leading characters are indexed (MySQL's prefix part `name(10)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// The same expression as the server also prints it: PostgreSQL's pretty form, with only the
    /// parentheses precedence needs, where [`Key::Expression`] holds pg_dump's form. A person
    /// writes the one, pg_dump the other; either matches.
    #[serde(skip)]
    pub also: Option<String>,
}

/// A primary key, unique constraint or index, as the engine enforces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Index {
    /// Its name in the catalog (compared only when asked: engines and tools generate them).
    pub name: String,
    /// The primary key.
    pub primary: bool,
    /// A unique constraint or unique index (the primary key is unique too).
    pub unique: bool,
    /// Key parts in order (included, non-key columns are not part of the definition).
    pub parts: Vec<IndexPart>,
    /// The access method, lower case: `btree`, `hash`, `gin`, `fulltext`, ... Always read from
    /// a catalog; `None` when an expectation does not say, so not compared.
    pub method: Option<String>,
    /// Whether it covers only the rows a predicate selects (PostgreSQL, SQLite).
    pub partial: bool,
    /// A partial index's predicate as its source spells it, where known. Written into the
    /// suggested SQL, never compared: servers rewrite predicates, and only `partial` is part
    /// of the definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// Whether the engine can use it: `false` for a PostgreSQL index a failed
    /// `CREATE INDEX CONCURRENTLY` left behind (not valid, or not ready).
    pub valid: bool,
    /// Included, non-key columns (PostgreSQL `INCLUDE`), by folded name: an index-only scan
    /// needs them, so they are compared, as a set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<Name>,
    /// `NULLS NOT DISTINCT` (PostgreSQL 15): a second row with NULLs in the key is a duplicate.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nulls_not_distinct: bool,
    /// A `DEFERRABLE` constraint: checked at commit when deferred, and neither a foreign key nor
    /// `ON CONFLICT` can use it, so it is compared.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deferrable: bool,
    /// `DEFERRABLE INITIALLY DEFERRED`: every transaction checks it at commit unless it says
    /// otherwise, so a duplicate inserted mid-transaction fails at a different statement.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub initially_deferred: bool,
    /// An exclusion constraint's operator per key part (PostgreSQL `EXCLUDE USING gist (room
    /// WITH =, during WITH &&)`): two rows conflict when every operator holds between them.
    /// Empty for every other index.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclusion: Vec<String>,
    /// Enforced by a constraint (`ADD CONSTRAINT ... UNIQUE`, `PRIMARY KEY`), so removed with
    /// `DROP CONSTRAINT`; one made by `CREATE UNIQUE INDEX` is not. Never compared: the two
    /// enforce the same thing.
    #[serde(skip)]
    pub constraint: bool,
}

impl Index {
    /// An exclusion operator in one spelling: `OPERATOR(pg_catalog.&&)` is `&&`.
    pub fn operator(text: &str) -> String {
        let t = text.trim();
        let inner = t
            .strip_prefix("OPERATOR(")
            .or_else(|| t.strip_prefix("operator("))
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(t);
        inner.rsplit('.').next().unwrap_or(inner).trim().to_string()
    }

    /// A valid, non-partial index without key parts yet, of the access method the engine
    /// chooses: the start of every reader's and parser's index.
    pub fn new(name: String, primary: bool, unique: bool) -> Index {
        Index {
            name,
            primary,
            unique: unique || primary,
            parts: Vec::new(),
            method: None,
            partial: false,
            predicate: None,
            valid: true,
            include: Vec::new(),
            nulls_not_distinct: false,
            deferrable: false,
            initially_deferred: false,
            exclusion: Vec::new(),
            constraint: primary,
        }
    }
}

impl Table {
    /// An empty table whose columns will be compared.
    pub fn new(name: TableName) -> Self {
        Table {
            name,
            columns_compared: true,
            columns: IndexMap::new(),
            primary_key: None,
            indexes: None,
            foreign_keys: None,
            checks: None,
            partitioned: false,
        }
    }

    /// Adds a column under its folded key; returns `false` if a column with that key already exists.
    pub fn add_column(&mut self, engine: Engine, column: Column) -> bool {
        let folded = engine.fold_identifier(&column.name);
        if self.columns.contains_key(folded.as_str()) {
            return false;
        }
        let key = if *folded == *column.name {
            column.name.clone()
        } else {
            Name::from(folded)
        };
        self.columns.insert(key, column);
        true
    }
}

/// A set of tables: the whole expectation, or everything introspected from the configured schemas.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Schema {
    /// Tables keyed by `(schema, folded table name)`.
    pub tables: IndexMap<TableName, Table>,
    /// Live side only: every namespace the catalog read found, tables or not, in catalog order
    /// (an empty tenant schema has no table to show it exists), sorted. Empty for an expectation.
    #[serde(skip)]
    pub namespaces: Vec<String>,
    /// PostgreSQL enum types keyed by [`Schema::key`]. `None`: not read, or the expectation
    /// states none, so not compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub types: Option<IndexMap<TableName, EnumType>>,
}

/// A PostgreSQL enum type: its labels, in the order the type sorts them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct EnumType {
    /// The type's schema and name.
    pub name: TableName,
    /// Its labels in sort order (case and spaces matter: a label is a value).
    pub labels: Vec<String>,
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

    /// Sets every table's primary key and indexes from `indexes` (table key -> its indexes, in
    /// catalog order); a table the list does not name has none. Indexes of tables not in the
    /// schema (a tenant the glob left out) are dropped.
    pub fn attach_indexes(
        &mut self,
        mut indexes: std::collections::HashMap<TableName, Vec<Index>>,
    ) {
        for (key, table) in self.tables.iter_mut() {
            let mut list = indexes.remove(key).unwrap_or_default();
            let primary = list
                .iter()
                .position(|i| i.primary)
                .map(|at| list.remove(at));
            table.primary_key = Some(primary);
            table.indexes = Some(list);
        }
    }

    /// Sets every table's foreign keys from `keys` (table key -> its foreign keys); a table the
    /// map does not name has none.
    pub fn attach_foreign_keys(
        &mut self,
        mut keys: std::collections::HashMap<TableName, Vec<ForeignKey>>,
    ) {
        for (key, table) in self.tables.iter_mut() {
            table.foreign_keys = Some(keys.remove(key).unwrap_or_default());
        }
    }

    /// Sets every table's check constraints from `checks` (table key -> its checks); a table the
    /// map does not name has none.
    pub fn attach_checks(&mut self, mut checks: std::collections::HashMap<TableName, Vec<Check>>) {
        for (key, table) in self.tables.iter_mut() {
            table.checks = Some(checks.remove(key).unwrap_or_default());
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
                c.identity.hash(&mut hasher);
            }
            table.primary_key.hash(&mut hasher);
            table.indexes.hash(&mut hasher);
            table.foreign_keys.hash(&mut hasher);
            table.checks.hash(&mut hasher);
        }
        if let Some(types) = &self.types {
            for t in types.values() {
                t.hash(&mut hasher);
            }
        }
        hasher.finish()
    }
}

/// Builds a [`Schema`] from catalog rows, which every engine's query returns grouped by table: a row
/// of the table being built costs no lookup and no allocation for its table name. Rows of a table
/// seen before (a catalog that did not group them) are still merged into it.
#[derive(Debug)]
pub struct CatalogBuilder {
    engine: Engine,
    schema: Schema,
    current: Option<Table>,
    names: Names,
}

impl CatalogBuilder {
    /// An empty catalog of `engine`.
    pub fn new(engine: Engine) -> Self {
        CatalogBuilder {
            engine,
            schema: Schema::default(),
            current: None,
            names: Names::default(),
        }
    }

    /// Records that namespace `schema` exists, whether or not it holds tables. Catalogs return rows
    /// grouped by namespace, so only a change of namespace costs an allocation; repeats of an
    /// ungrouped catalog are removed by [`CatalogBuilder::finish`].
    pub fn namespace(&mut self, schema: &str) {
        let seen = &mut self.schema.namespaces;
        if seen.last().map(String::as_str) != Some(schema) {
            seen.push(schema.to_string());
        }
    }

    /// Starts or continues the table the next columns belong to.
    pub fn table(&mut self, schema: &str, name: &str) {
        if let Some(t) = &self.current {
            if t.name.schema == schema && t.name.name == name {
                return;
            }
        }
        self.namespace(schema);
        self.flush();
        self.current = Some(Table::new(TableName::new(schema, name)));
    }

    /// Adds a column, in catalog order, to the current table.
    pub fn column(&mut self, mut column: Column) {
        if let Some(t) = &mut self.current {
            column.name = self.names.get(&column.name);
            t.add_column(self.engine, column);
        }
    }

    /// The current table's columns, for engines that fix them up once the table is complete.
    pub fn current_mut(&mut self) -> Option<&mut Table> {
        self.current.as_mut()
    }

    fn flush(&mut self) {
        let Some(mut table) = self.current.take() else {
            return;
        };
        table.columns.shrink_to_fit();
        let key = Schema::key(self.engine, &table.name);
        match self.schema.tables.get_mut(&key) {
            Some(seen) => {
                for column in table.columns.into_values() {
                    seen.add_column(self.engine, column);
                }
            }
            None => {
                self.schema.tables.insert(key, table);
            }
        }
    }

    /// Every table read.
    pub fn finish(mut self) -> Schema {
        self.flush();
        self.schema.namespaces.sort_unstable();
        self.schema.namespaces.dedup();
        self.schema.tables.shrink_to_fit();
        self.schema
    }
}

impl IndexPart {
    /// An ascending key part over the folded column `name`.
    pub fn column(name: Name) -> IndexPart {
        IndexPart::of(Key::Column(name))
    }

    /// An ascending key part over an expression (`None`: one the catalog does not spell).
    pub fn expression(text: Option<String>) -> IndexPart {
        IndexPart::of(Key::Expression(text))
    }

    fn of(key: Key) -> IndexPart {
        IndexPart {
            key,
            descending: false,
            nulls_reversed: false,
            length: None,
            also: None,
        }
    }

    /// The column it indexes, if it is one.
    pub fn column_name(&self) -> Option<&Name> {
        match &self.key {
            Key::Column(c) => Some(c),
            Key::Expression(_) => None,
        }
    }

    /// Whether two key parts are the same: columns by folded name; expressions by their text
    /// as [`same_expression`] with [`Casts::KeepWritten`] (either of a live part's two spellings), when both sides
    /// give one (a catalog that does not spell its expressions cannot tell them apart, so it
    /// does not claim they differ); and the same direction, NULLs order and prefix length.
    pub fn same<'a>(&'a self, other: &'a IndexPart) -> bool {
        let key = match (&self.key, &other.key) {
            (Key::Column(a), Key::Column(b)) => a == b,
            (Key::Expression(Some(a)), Key::Expression(Some(b))) => {
                let spellings = |p: &'a IndexPart, first: &'a str| {
                    std::iter::once(first).chain(p.also.as_deref())
                };
                spellings(self, a).any(|mine| {
                    spellings(other, b)
                        .any(|theirs| same_expression(mine, theirs, Casts::KeepWritten))
                })
            }
            (Key::Expression(_), Key::Expression(_)) => true,
            _ => false,
        };
        key && self.length == other.length
            && self.descending == other.descending
            && self.nulls_reversed == other.nulls_reversed
    }

    /// The part as SQL writes it in a key list: `"a"`, `(lower(b))`, `"c" DESC NULLS LAST`,
    /// `` `d`(10) ``.
    pub fn sql(&self, quote: fn(&str) -> String) -> String {
        let mut out = match &self.key {
            Key::Column(c) => quote(c),
            Key::Expression(Some(e)) => format!("({e})"),
            Key::Expression(None) => "(expression)".into(),
        };
        if let Some(n) = self.length {
            out.push_str(&format!("({n})"));
        }
        if self.descending {
            out.push_str(" DESC");
        }
        if self.nulls_reversed {
            out.push_str(if self.descending {
                " NULLS LAST"
            } else {
                " NULLS FIRST"
            });
        }
        out
    }
}

/// Whether two spellings of an expression are one expression: their trees in
/// [`normalize::tree_form`] when both parse (PostgreSQL's parentheses and rewrites then do not
/// count), else their texts, each in the normal form `casts` asks for.
fn same_expression(a: &str, b: &str, casts: Casts) -> bool {
    let (a, b) = (forms(a, casts), forms(b, casts));
    match (&a.tree, &b.tree) {
        (Some(x), Some(y)) => x == y,
        _ => a.text == b.text,
    }
}

/// One expression's normal forms: of its tree, when it parses, and of its text.
#[derive(Clone)]
struct Forms {
    tree: Option<Arc<str>>,
    text: Arc<str>,
}

/// Forms computed so far, by text and cast rule: every poll compares every expression index
/// again, and parsing is the costly part. Bounded as the type spellings are: past
/// [`FORMS_CACHED`] texts (only hostile input has that many) new ones are not remembered.
static FORMS: std::sync::LazyLock<std::sync::Mutex<FormMap>> =
    std::sync::LazyLock::new(Default::default);

/// Text -> its forms, one map per cast rule (`[KeepWritten, Drop]`), so that a lookup by
/// `&str` allocates nothing.
type FormMap = [HashMap<Box<str>, Forms>; 2];

/// Upper bound on cached expression forms.
const FORMS_CACHED: usize = 16_384;

fn forms(text: &str, casts: Casts) -> Forms {
    if text.len() > normalize::LONGEST_EXPRESSION {
        return Forms {
            tree: None,
            text: Arc::from(text),
        };
    }
    let rule = usize::from(casts == Casts::Drop);
    if let Some(hit) = FORMS.lock().unwrap_or_else(|e| e.into_inner())[rule].get(text) {
        return hit.clone();
    }
    let stored = normalize::as_postgres_stores(text);
    let forms = Forms {
        tree: normalize::tree_form(&stored).map(|t| Arc::from(normal_form(&t, casts))),
        text: Arc::from(normal_form(&stored, casts)),
    };
    let mut cache = FORMS.lock().unwrap_or_else(|e| e.into_inner());
    if cache[rule].len() < FORMS_CACHED {
        cache[rule].insert(text.into(), forms.clone());
    }
    forms
}

/// An index expression in a form that a person's spelling and the server's share: lower case,
/// without whitespace, without casts (`::text`, `::character varying(20)[]`: PostgreSQL writes
/// the casts it inserts), without parentheses around a lone name or around the whole (pg_dump
/// writes `lower((email)::text)` for `lower(email)`). String literals stay as written: `'Kind'`
/// and `'kind'` are different JSON keys, `' '` is not `''`.
fn expression_form(text: &str) -> String {
    normal_form(text, Casts::Drop)
}

/// Which casts a normal form keeps.
#[derive(Clone, Copy, PartialEq)]
enum Casts {
    /// Every cast goes (a check, matched by name first: PostgreSQL's `0::numeric` on a
    /// person's `>= 0` must still match).
    Drop,
    /// For an index key, where a cast a person wrote changes what is indexed
    /// (`((data->>'n')::int)` is not `(data->>'n')`): only the casts PostgreSQL inserts go,
    /// those of a literal (`'n'::text`, `(0)::numeric`) and those to a character type
    /// (`lower((email)::text)` over a `varchar`); every other cast stays, its type in one
    /// spelling (`int` is `integer`).
    KeepWritten,
}

/// A cast's target type in one spelling, or `None` for a character type without a length
/// (`text`, `varchar`, `character varying[]`): the coercion PostgreSQL inserts for a function
/// or operator that takes text. One with a length (`varchar(20)`) truncates, and is kept.
fn cast_type(written: &str) -> Option<String> {
    let spelt = written.split_whitespace().collect::<Vec<_>>().join(" ");
    let (spelt, array) = match spelt.find('[') {
        Some(at) => (spelt[..at].trim().to_string(), spelt[at..].replace(' ', "")),
        None => (spelt, String::new()),
    };
    // A modifier list may sit inside the name (`timestamp(0) without time zone`): it is taken
    // out, and the words around it are the base type.
    let (base, modifiers) = match (spelt.find('('), spelt.find(')')) {
        (Some(open), Some(close)) if open < close => (
            format!("{} {}", spelt[..open].trim(), spelt[close + 1..].trim()),
            spelt[open..=close].replace(' ', ""),
        ),
        _ => (spelt.clone(), String::new()),
    };
    let base = base.trim();
    let base = base.rsplit('.').next().unwrap_or(base);
    // `float(p)` is real up to 24 bits of precision and double precision past that, and
    // `numeric(p)` is `numeric(p,0)`: PostgreSQL stores the second spelling.
    let digits = |m: &str| m.trim_matches(|c| c == '(' || c == ')').parse::<u32>().ok();
    let (base, modifiers) = match (base, digits(&modifiers)) {
        ("float", Some(p)) if p <= 24 => ("real", String::new()),
        ("float", Some(_)) => ("double precision", String::new()),
        ("numeric" | "decimal" | "dec", Some(p)) => ("numeric", format!("({p},0)")),
        _ => (base, modifiers),
    };
    let canonical = match base {
        // With a length the cast truncates: a person wrote it, and it stays.
        "varchar" | "character varying" if !modifiers.is_empty() => "character varying",
        "char" | "character" | "bpchar" if !modifiers.is_empty() => "character",
        "text" | "varchar" | "character varying" | "char" | "character" | "bpchar" | "name" => {
            return None
        }
        "int" | "int4" => "integer",
        "int8" => "bigint",
        "int2" => "smallint",
        "bool" => "boolean",
        "float8" | "float" | "double" => "double precision",
        "float4" => "real",
        "decimal" | "dec" => "numeric",
        "timestamptz" => "timestamp with time zone",
        "timestamp" => "timestamp without time zone",
        "timetz" => "time with time zone",
        "time" => "time without time zone",
        other => other,
    };
    // Modifiers stay: `numeric(10,2)` rounds where `numeric` does not.
    Some(format!("{canonical}{modifiers}{array}"))
}

/// `text` without the casts of a bare column to the type it already has (`at::timestamp` on a
/// timestamp column): PostgreSQL drops such a cast when it stores the expression, so the
/// person's spelling keeps it and the server's does not. `own` gives a column's type by its
/// folded name.
pub fn without_own_type_casts(text: &str, own: &dyn Fn(&str) -> Option<String>) -> String {
    // `CAST(at AS timestamp)` is the same cast.
    let text: &str = &normalize::as_postgres_stores(text);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("::") {
        let before = &rest[..at];
        // The bare name the cast applies to, quoted or not.
        let name_len = before
            .bytes()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'"')
            .count();
        let name = before[before.len() - name_len..].trim_matches('"');
        let prior = before[..before.len() - name_len].chars().next_back();
        let bare = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && !prior.is_some_and(|c| c == '.' || c == '\'' || c == ')');
        let after = skip_type_name(&rest[at + 2..]);
        let written = &rest[at + 2..rest.len() - after.len()];
        let same = bare
            && own(&name.to_ascii_lowercase())
                .and_then(|t| cast_type(&t.to_ascii_lowercase()))
                .is_some_and(|t| cast_type(&written.to_ascii_lowercase()) == Some(t));
        out.push_str(before);
        if !same {
            out.push_str("::");
            out.push_str(written);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether `s` ends with a literal: a string (its `\u{1}` mark) or a number, bare or in
/// parentheses (pg_dump writes `(0)::numeric`).
fn ends_with_literal(s: &str) -> bool {
    let t = s.trim_end();
    // Parenthesised, the literal is all there is between the parentheses.
    let (t, whole) = match t.strip_suffix(')') {
        Some(inner) => match inner.rfind('(') {
            Some(at) => (inner[at + 1..].trim(), true),
            None => return false,
        },
        None => (t, false),
    };
    if t.ends_with('\u{1}') {
        return !whole || t == "\u{1}";
    }
    // Past the last character that is no digit, by its own width (it may be a name's
    // multi-byte letter).
    let tail: &str = &t[t
        .char_indices()
        .rfind(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(0, |(at, c)| at + c.len_utf8())..];
    let before = t[..t.len() - tail.len()].chars().next_back();
    tail.starts_with(|c: char| c.is_ascii_digit())
        && match whole {
            true => tail.len() == t.len(),
            false => !before.is_some_and(|c| c.is_alphanumeric() || c == '_'),
        }
}

fn normal_form(text: &str, casts: Casts) -> String {
    // `CAST(b AS integer)` and `interval '1 day'` as PostgreSQL stores them, before anything
    // else reads the text.
    let text = &normalize::as_postgres_stores(text);
    // Literals are set aside first (a `\u{1}` marks each), so nothing below changes them.
    let mut literals: Vec<String> = Vec::new();
    let mut bare = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            bare.push(c);
            continue;
        }
        let mut literal = String::from('\'');
        while let Some(d) = chars.next() {
            literal.push(d);
            if d == '\'' {
                // `''` inside a literal is a quote, not its end.
                if chars.peek() == Some(&'\'') {
                    literal.push(chars.next().unwrap_or('\''));
                    continue;
                }
                break;
            }
        }
        literals.push(literal);
        bare.push('\u{1}');
    }
    // Quotes go too: `"title"` and `title` name the same column once case is ignored.
    let lower: String = bare
        .to_lowercase()
        .chars()
        .filter(|c| *c != '"' && *c != '`')
        .collect();
    let mut s = String::with_capacity(lower.len());
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("::") {
        s.push_str(&rest[..at]);
        let after = skip_type_name(&rest[at + 2..]);
        let written = &rest[at + 2..rest.len() - after.len()];
        if casts == Casts::KeepWritten && !ends_with_literal(&s) {
            if let Some(kept) = cast_type(written) {
                s.push_str("::");
                s.push_str(&kept);
            }
        }
        rest = after;
    }
    s.push_str(rest);
    let mut s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    // `(name)` where the parenthesis does not follow a function's name: redundant.
    loop {
        let bytes = s.as_bytes();
        let mut changed = false;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'(' && (i == 0 || !is_name_byte(bytes[i - 1])) {
                let inner = bytes[i + 1..]
                    .iter()
                    .take_while(|b| is_name_byte(**b))
                    .count();
                if inner > 0 && bytes.get(i + 1 + inner) == Some(&b')') {
                    s = format!(
                        "{}{}{}",
                        &s[..i],
                        &s[i + 1..i + 1 + inner],
                        &s[i + 2 + inner..]
                    );
                    changed = true;
                    break;
                }
            }
            i += 1;
        }
        if !changed {
            break;
        }
    }
    let mut s = without_doubled_parens(&s);
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].to_string();
    }
    let mut literals = literals.into_iter();
    s.chars()
        .map(|c| match c {
            '\u{1}' => literals.next().unwrap_or_default(),
            other => other.to_string(),
        })
        .collect()
}

/// `s` without a parenthesis pair that sits directly inside another (`((a->>'n'))::int` is
/// `(a->>'n')::int`): pg_dump writes one pair per node, a person one in all.
fn without_doubled_parens(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut close = vec![usize::MAX; bytes.len()];
    let mut open = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'(' => open.push(i),
            b')' => {
                if let Some(o) = open.pop() {
                    close[o] = i;
                }
            }
            _ => {}
        }
    }
    let mut drop = vec![false; bytes.len()];
    for o in 1..bytes.len() {
        let c = close[o];
        if c != usize::MAX && bytes[o - 1] == b'(' && close[o - 1] == c + 1 {
            drop[o] = true;
            drop[c] = true;
        }
    }
    // Parentheses are ASCII: dropping their bytes leaves the text valid UTF-8.
    let kept: Vec<u8> = bytes
        .iter()
        .zip(&drop)
        .filter(|(_, d)| !**d)
        .map(|(b, _)| *b)
        .collect();
    String::from_utf8(kept).unwrap_or_else(|_| s.to_string())
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'"' || b == b'.' || b >= 0x80
}

/// What follows a type name that starts `text`: words (`character varying`, `timestamp with
/// time zone`), a modifier list and array brackets.
fn skip_type_name(text: &str) -> &str {
    let mut rest = text.trim_start();
    loop {
        let word = rest.bytes().take_while(|b| is_name_byte(*b)).count();
        if word == 0 {
            break;
        }
        rest = &rest[word..];
        let next = rest.trim_start();
        let continues = ["varying", "precision", "with", "without", "time", "zone"]
            .iter()
            .any(|w| {
                next.starts_with(w)
                    && !next[w.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
        if !continues {
            break;
        }
        rest = next;
    }
    let trimmed = rest.trim_start();
    if trimmed.starts_with('(') {
        if let Some(close) = trimmed.find(')') {
            if trimmed[1..close]
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b',' || b == b' ')
            {
                rest = &trimmed[close + 1..];
                // `timestamp(0) without time zone`: the words go on after the modifier.
                let next = rest.trim_start();
                if let Some(tail) = ["without time zone", "with time zone"]
                    .iter()
                    .find_map(|w| next.strip_prefix(w))
                {
                    rest = tail;
                }
            }
        }
    }
    while let Some(after) = rest.trim_start().strip_prefix("[]") {
        rest = after;
    }
    rest
}

/// Whether every parenthesis in `s` closes, in order.
fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

impl Index {
    /// Whether `live` is what this expected index describes, by definition, not by name: the
    /// same key parts in order, unique or not, partial or not, and the method when this one
    /// states it. A unique constraint and a unique index over the same columns are the same.
    pub fn matches(&self, live: &Index) -> bool {
        fn included(i: &Index) -> Vec<&Name> {
            let mut set: Vec<&Name> = i.include.iter().collect();
            set.sort_unstable();
            set
        }
        self.unique == live.unique
            && self.partial == live.partial
            && self.parts.len() == live.parts.len()
            && self.parts.iter().zip(&live.parts).all(|(a, b)| a.same(b))
            && match (&self.method, &live.method) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
            && included(self) == included(live)
            && self.nulls_not_distinct == live.nulls_not_distinct
            && self.deferrable == live.deferrable
            && self.initially_deferred == live.initially_deferred
            && self.exclusion == live.exclusion
    }

    /// `(a, lower(b))`: the key parts as SQL lists them (`(room WITH =)` for an exclusion
    /// constraint).
    pub fn key_list(&self, quote: fn(&str) -> String) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| match self.exclusion.get(i) {
                Some(op) => format!("{} WITH {op}", p.sql(quote)),
                None => p.sql(quote),
            })
            .collect();
        format!("({})", parts.join(", "))
    }

    /// What follows the key list in `CREATE INDEX` or `UNIQUE (...)`, before any predicate:
    /// ` INCLUDE (c)`.
    pub fn tail(&self, quote: fn(&str) -> String) -> String {
        let mut out = String::new();
        if !self.include.is_empty() {
            let list: Vec<String> = self.include.iter().map(|c| quote(c)).collect();
            out.push_str(&format!(" INCLUDE ({})", list.join(", ")));
        }
        out
    }

    /// ` DEFERRABLE` or ` DEFERRABLE INITIALLY DEFERRED` where it applies, as a constraint's
    /// definition ends.
    pub fn deferral(&self) -> &'static str {
        deferral(self.deferrable, self.initially_deferred)
    }

    /// ` NULLS NOT DISTINCT` where it applies, written between `UNIQUE` and the key list.
    pub fn head(&self) -> &'static str {
        if self.nulls_not_distinct {
            " NULLS NOT DISTINCT"
        } else {
            ""
        }
    }

    /// How a person reads the definition: `PRIMARY KEY (id)`, `UNIQUE (org, name) partial`,
    /// `INDEX (name) USING hash`.
    pub fn describe(&self) -> String {
        let head = if self.primary {
            "PRIMARY KEY"
        } else if !self.exclusion.is_empty() {
            "EXCLUDE"
        } else if self.unique {
            "UNIQUE"
        } else {
            "INDEX"
        };
        let mut out = format!(
            "{head}{} {}{}",
            self.head(),
            self.key_list(|c| c.to_string()),
            self.tail(|c| c.to_string())
        );
        out.push_str(self.deferral());
        if let Some(m) = self.method.as_deref().filter(|m| *m != "btree") {
            out.push_str(&format!(" USING {m}"));
        }
        if self.partial {
            out.push_str(" partial");
        }
        if !self.valid {
            out.push_str(" (not valid)");
        }
        out
    }
}

/// Builds the indexes of a catalog read that returns one row per key part, grouped by index (the
/// order every engine's index query returns them in): a part extends the index before it when
/// both name the same index of the same table.
#[derive(Debug)]
pub struct IndexBuilder {
    engine: Engine,
    out: std::collections::HashMap<TableName, Vec<Index>>,
    last: Option<(TableName, String)>,
    names: Names,
}

impl IndexBuilder {
    /// No indexes yet, for a catalog of `engine`.
    pub fn new(engine: Engine) -> Self {
        IndexBuilder {
            engine,
            out: std::collections::HashMap::new(),
            last: None,
            names: Names::default(),
        }
    }

    /// A key part naming `column` (folded; `None`: an expression, spelt `expression` if known).
    pub fn part(&mut self, column: Option<&str>, expression: Option<String>) -> IndexPart {
        match column {
            Some(c) => IndexPart::column(self.names.get(&self.engine.fold_identifier(c))),
            None => IndexPart::expression(expression),
        }
    }

    /// Adds `part` to index `name` of `table`; a new index is described by `index` (its parts
    /// are ignored), asked for only when the row starts one.
    pub fn add<E>(
        &mut self,
        table: &TableName,
        name: String,
        part: IndexPart,
        index: impl FnOnce(String) -> Result<Index, E>,
    ) -> Result<(), E> {
        let key = Schema::key(self.engine, table);
        let list = self.out.entry(key.clone()).or_default();
        let same = self
            .last
            .as_ref()
            .is_some_and(|(t, n)| *t == key && *n == name);
        match list.last_mut() {
            Some(last) if same => last.parts.push(part),
            _ => {
                let mut new = index(name.clone())?;
                new.parts = vec![part];
                list.push(new);
            }
        }
        self.last = Some((key, name));
        Ok(())
    }

    /// Adds the included (non-key) column `column` to the index the last part went to: every
    /// engine lists included columns after the key parts of their index.
    pub fn include(&mut self, column: &str) {
        let name = self.names.get(&self.engine.fold_identifier(column));
        if let Some(index) = self.last_mut() {
            index.include.push(name);
        }
    }

    /// The index the last part went to.
    pub fn last_mut(&mut self) -> Option<&mut Index> {
        let (table, _) = self.last.as_ref()?;
        self.out.get_mut(table).and_then(|l| l.last_mut())
    }

    /// Every index read, by table key (for [`Schema::attach_indexes`]).
    pub fn finish(self) -> std::collections::HashMap<TableName, Vec<Index>> {
        self.out
    }
}

/// Builds the foreign keys of a catalog read that returns one row per column pair, grouped by
/// key (as every engine's foreign-key query returns them).
#[derive(Debug)]
pub struct ForeignKeyBuilder {
    engine: Engine,
    out: std::collections::HashMap<TableName, Vec<ForeignKey>>,
    last: Option<(TableName, String)>,
    names: Names,
}

/// One row of a foreign-key read: a column pair of the key `group` of `table`.
#[derive(Debug)]
pub struct ForeignKeyRow<'r> {
    /// The referencing table.
    pub table: TableName,
    /// What tells this key's rows from the next key's: its name, or SQLite's key id.
    pub group: String,
    /// The key's name (empty where the engine keeps none: SQLite).
    pub name: &'r str,
    /// The referencing column.
    pub column: &'r str,
    /// The referenced table.
    pub target: TableName,
    /// The referenced column; `None` for SQLite's `REFERENCES t` (the target's primary key).
    pub target_column: Option<&'r str>,
    /// `ON DELETE`, as the catalog spells it.
    pub on_delete: &'r str,
    /// `ON UPDATE`, likewise.
    pub on_update: &'r str,
    /// `DEFERRABLE` (PostgreSQL's catalog; the others read `false`).
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`, likewise.
    pub initially_deferred: bool,
    /// Validated (PostgreSQL's catalog; the others read `true`).
    pub validated: bool,
}

impl ForeignKeyBuilder {
    /// No keys yet, for a catalog of `engine`.
    pub fn new(engine: Engine) -> Self {
        ForeignKeyBuilder {
            engine,
            out: std::collections::HashMap::new(),
            last: None,
            names: Names::default(),
        }
    }

    /// Adds one column pair, extending the key before it when it is the same key.
    pub fn add(&mut self, row: ForeignKeyRow<'_>) {
        let engine = self.engine;
        let key = Schema::key(engine, &row.table);
        let column = self.names.get(&engine.fold_identifier(row.column));
        let target_column = row
            .target_column
            .map(|c| self.names.get(&engine.fold_identifier(c)));
        let list = self.out.entry(key.clone()).or_default();
        let same = self
            .last
            .as_ref()
            .is_some_and(|(t, g)| *t == key && *g == row.group);
        match list.last_mut() {
            Some(last) if same => {
                last.columns.push(column);
                last.target_columns.extend(target_column);
            }
            _ => list.push(ForeignKey {
                name: row.name.to_string(),
                columns: vec![column],
                target: Schema::key(engine, &row.target),
                target_columns: target_column.into_iter().collect(),
                on_delete: ForeignKey::action(engine, Some(row.on_delete)),
                on_update: ForeignKey::action(engine, Some(row.on_update)),
                deferrable: row.deferrable,
                initially_deferred: row.initially_deferred,
                validated: row.validated,
            }),
        }
        self.last = Some((key, row.group));
    }

    /// Every key read, by table key (for [`Schema::attach_foreign_keys`]).
    pub fn finish(self) -> std::collections::HashMap<TableName, Vec<ForeignKey>> {
        self.out
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
        column: Name,
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
    /// Create a missing index or unique constraint.
    CreateIndex {
        /// The table it belongs to.
        table: TableName,
        /// The index as expected.
        index: Index,
        /// The table is partitioned (PostgreSQL), where an index is built and dropped without
        /// `CONCURRENTLY` and a foreign key cannot be `NOT VALID`.
        partitioned: bool,
    },
    /// Drop an index or unique constraint the expectation does not have, or one left not valid.
    DropIndex {
        /// The table it belongs to.
        table: TableName,
        /// The live index.
        index: Index,
        /// The table is partitioned (PostgreSQL), where an index is built and dropped without
        /// `CONCURRENTLY` and a foreign key cannot be `NOT VALID`.
        partitioned: bool,
    },
    /// Build again an expected index the engine left not valid.
    RebuildIndex {
        /// The table it belongs to.
        table: TableName,
        /// The live index.
        index: Index,
        /// The table is partitioned (PostgreSQL), where an index is built and dropped without
        /// `CONCURRENTLY` and a foreign key cannot be `NOT VALID`.
        partitioned: bool,
    },
    /// Add the expected primary key.
    AddPrimaryKey {
        /// The table it belongs to.
        table: TableName,
        /// The primary key as expected.
        index: Index,
    },
    /// Drop a primary key the expectation does not have (or has over other columns).
    DropPrimaryKey {
        /// The table it belongs to.
        table: TableName,
        /// The live primary key.
        index: Index,
    },
    /// Add the expected foreign key.
    AddForeignKey {
        /// The table it belongs to.
        table: TableName,
        /// The foreign key as expected.
        key: ForeignKey,
        /// The table is partitioned (PostgreSQL), where an index is built and dropped without
        /// `CONCURRENTLY` and a foreign key cannot be `NOT VALID`.
        partitioned: bool,
    },
    /// Drop a foreign key the expectation does not have.
    DropForeignKey {
        /// The table it belongs to.
        table: TableName,
        /// The live foreign key.
        key: ForeignKey,
    },
    /// Make the engine generate a column's values, or stop (`column.identity` says which).
    SetIdentity {
        /// The table it belongs to.
        table: TableName,
        /// The whole column as it should end up, as for [`Change::AlterType`].
        column: Column,
    },
    /// Create a missing enum type with its labels.
    CreateEnumType {
        /// The type as expected.
        enum_type: EnumType,
    },
    /// Drop an enum type the expectation does not have (destructive).
    DropEnumType {
        /// The live type.
        name: TableName,
    },
    /// Add a missing label to an enum type, in its place among the others.
    AddEnumLabel {
        /// The type.
        name: TableName,
        /// The missing label.
        label: String,
        /// Where it goes: after this live label, or (`None`) before the first.
        after: Option<String>,
        /// The live label it goes before, when it goes first.
        before: Option<String>,
    },
    /// Rename a live label to the expected one (what a label missing where an unexpected one
    /// stands looks like after `ALTER TYPE ... RENAME VALUE`).
    RenameEnumLabel {
        /// The type.
        name: TableName,
        /// The live label.
        from: String,
        /// The expected label.
        to: String,
    },
    /// Live labels out of the expected order: PostgreSQL cannot move one in place.
    MoveEnumLabels {
        /// The type.
        name: TableName,
        /// The fewest labels that, moved, restore the order.
        labels: Vec<String>,
        /// Every label of the type in the expected order, as the type is made again.
        order: Vec<String>,
    },
    /// Check the rows already there against a live constraint added `NOT VALID`.
    ValidateConstraint {
        /// The table it belongs to.
        table: TableName,
        /// The constraint's name.
        name: String,
    },
    /// A live label the expectation does not have: PostgreSQL cannot drop one in place.
    DropEnumLabel {
        /// The type.
        name: TableName,
        /// The live label.
        label: String,
    },
    /// Add the expected check constraint.
    AddCheck {
        /// The table it belongs to.
        table: TableName,
        /// The check as expected.
        check: Check,
    },
    /// Drop a check constraint the expectation does not have.
    DropCheck {
        /// The table it belongs to.
        table: TableName,
        /// The live check.
        check: Check,
    },
    /// Several changes that apply only in this order, as one fix: a key a foreign key depends
    /// on goes after that foreign key does, which comes back once the key it needs stands again.
    Steps(Vec<Change>),
    /// Set (`Some`) or drop (`None`) a column's default.
    SetDefault {
        /// The table it belongs to.
        table: TableName,
        /// The live column's name.
        column: Name,
        /// The expected default expression, or none.
        default: Option<Spelling>,
    },
}

impl Change {
    /// Whether applying the change can destroy data: dropping a table or column loses it, and a type
    /// change may truncate or fail on existing rows.
    pub fn destructive(&self) -> bool {
        // Dropping a key or an index loses no rows, but what it enforced (uniqueness, the
        // speed of every query that used it) goes with it: reviewed before running, too.
        if let Change::Steps(steps) = self {
            return steps.iter().any(Change::destructive);
        }
        matches!(
            self,
            Change::DropTable { .. }
                | Change::DropColumn { .. }
                | Change::AlterType { .. }
                | Change::DropIndex { .. }
                | Change::DropPrimaryKey { .. }
                | Change::DropForeignKey { .. }
                | Change::DropCheck { .. }
                | Change::DropEnumType { .. }
                | Change::MoveEnumLabels { .. }
                | Change::DropEnumLabel { .. }
        )
    }
}
