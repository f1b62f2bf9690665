//! The DDL interpreter: applies parsed statements, in order, to the tables they define. A statement
//! that cannot change which tables and columns exist is ignored; one that could but is not
//! understood is an error. Engine differences are asked of [`super::quirks`], column edits of
//! [`super::table`].

use indexmap::IndexMap;
use sqlparser::ast::{
    AlterIndexOperation, AlterTableOperation, AlterType, AlterTypeAddValuePosition,
    AlterTypeOperation, CreateIndex, CreateTable, CreateView, Ident, ObjectName, ObjectType,
    RenameTableNameKind, Statement, UserDefinedTypeRepresentation,
};

use super::quirks;
use super::statements::At;
use super::table::{DdlColumn, DdlTable};
use crate::dialect::Engine;
use crate::expected::ExpectedError;
use crate::model::{EnumType, Schema, TableName};
use sqlparser::ast::TableConstraint;

/// The tables the statements applied so far define.
pub(super) struct State {
    engine: Engine,
    default_schema: String,
    /// Where unqualified names are looked up, in order, and created (the first): PostgreSQL's
    /// `search_path` as the file set it, else the default schema.
    search_path: Vec<String>,
    /// Keyed by [`Schema::key`].
    tables: IndexMap<TableName, DdlTable>,
    /// PostgreSQL views (by key) and the relations (by key) their queries read: what a `DROP
    /// ... CASCADE` takes with it, and what a plain `DROP` is refused for.
    view_reads: IndexMap<TableName, Vec<TableName>>,
    /// PostgreSQL tables (by key) created with INHERITS, and their parents (by key): an ALTER
    /// TABLE without ONLY on a parent reaches its children too.
    parents: IndexMap<TableName, Vec<TableName>>,
    /// SQLite virtual tables (by key) and the suffixes of the shadow tables their module keeps.
    virtual_tables: Vec<(TableName, &'static [&'static str])>,
    /// Tables renamed in the current file, (old key, new key) in statement order: what lets a
    /// renamed table's columns keep the migrations that made them.
    renames: Vec<(TableName, TableName)>,
    /// PostgreSQL enum types by key, once a statement has created one (`None` before: types are
    /// then not compared).
    types: Option<IndexMap<TableName, EnumType>>,
}

impl State {
    /// No tables yet, for a database of `engine` where unqualified names are in `default_schema`.
    pub(super) fn new(engine: Engine, default_schema: String) -> State {
        State {
            engine,
            search_path: vec![default_schema.clone()],
            default_schema,
            tables: IndexMap::new(),
            view_reads: IndexMap::new(),
            parents: IndexMap::new(),
            virtual_tables: Vec::new(),
            renames: Vec::new(),
            types: None,
        }
    }

    /// A new file starts: each migration runs in a session of its own, so a `SET search_path`
    /// of the file before does not carry over.
    pub(super) fn start_file(&mut self) {
        self.search_path = vec![self.default_schema.clone()];
        self.renames.clear();
    }

    /// For each table renamed in the current file: its key now -> its key when the file started
    /// (a chain `a -> b -> c` in one file maps `c` to `a`).
    pub(super) fn renamed_in_file(&self) -> std::collections::HashMap<TableName, TableName> {
        let mut was = std::collections::HashMap::new();
        for (old, new) in &self.renames {
            let first = was.remove(old).unwrap_or_else(|| old.clone());
            was.insert(new.clone(), first);
        }
        was
    }

    /// The tables (and views) defined so far, keyed by [`Schema::key`].
    pub(super) fn tables(&self) -> &IndexMap<TableName, DdlTable> {
        &self.tables
    }

    /// The expectation the applied statements add up to.
    pub(super) fn into_schema(self) -> Schema {
        // Tables in schemas beyond the configured ones stay: the check reads those schemas too.
        // A virtual table's shadow tables are its module's storage, which the catalog reader
        // leaves out as SQLite marks them: `.schema` output lists them, as tables to create.
        let mut shadows = std::collections::HashSet::new();
        for (key, suffixes) in &self.virtual_tables {
            if self.tables.contains_key(key) {
                for suffix in *suffixes {
                    let shadow =
                        TableName::new(key.schema.clone(), format!("{}_{suffix}", key.name));
                    shadows.insert(Schema::key(self.engine, &shadow));
                }
            }
        }
        let mut schema = Schema {
            types: self.types,
            ..Schema::default()
        };
        for (key, table) in self.tables {
            if !table.partition && !shadows.contains(&key) {
                schema.add_table(self.engine, table.into_table(self.engine));
            }
        }
        schema
    }

    /// Applies one statement; `at` locates it for errors.
    pub(super) fn apply(&mut self, statement: Statement, at: &At) -> Result<(), ExpectedError> {
        match statement {
            Statement::CreateTable(create) => self.create_table(create, at),
            Statement::AlterTable(alter) => {
                let name = alter.name.clone();
                if alter.if_exists && self.table_mut(&name, at).is_err() {
                    return Ok(());
                }
                let children = if alter.only {
                    Vec::new()
                } else {
                    self.descendants(&name, at)?
                };
                for op in alter.operations {
                    // The same column edit on every child, as the server recurses; a child that
                    // already has an added column (its own, merged) keeps it.
                    for child in &children {
                        let child_op = match &op {
                            AlterTableOperation::AddColumn { column_def, .. } => {
                                AlterTableOperation::AddColumn {
                                    column_keyword: true,
                                    if_not_exists: true,
                                    column_def: column_def.clone(),
                                    column_position: None,
                                }
                            }
                            AlterTableOperation::DropColumn { .. }
                            | AlterTableOperation::RenameColumn { .. }
                            | AlterTableOperation::AlterColumn { .. } => op.clone(),
                            _ => continue,
                        };
                        self.alter(child, child_op, at)?;
                    }
                    self.alter(&name, op, at)?;
                }
                Ok(())
            }
            Statement::Drop {
                object_type: ObjectType::Table | ObjectType::View | ObjectType::MaterializedView,
                if_exists,
                names,
                cascade,
                ..
            } => self.drop_tables(&names, if_exists, cascade, at),
            Statement::RenameTable(renames) => {
                for r in renames {
                    self.rename_table(&r.old_name, &r.new_name, at)?;
                }
                Ok(())
            }
            Statement::CreateView(view) => self.create_view(&view, at),
            Statement::CreateIndex(create) => self.create_index(&create, at),
            Statement::Drop {
                object_type: ObjectType::Index,
                if_exists,
                names,
                table,
                ..
            } => {
                for name in &names {
                    self.drop_index(name, table.as_ref(), if_exists, at)?;
                }
                Ok(())
            }
            Statement::AlterIndex {
                name,
                operation: AlterIndexOperation::RenameIndex { index_name },
            } => self.rename_index(&name, &index_name, at),
            Statement::Set(sqlparser::ast::Set::SingleAssignment {
                variable, values, ..
            }) if self.engine == Engine::Postgres
                && variable.to_string().eq_ignore_ascii_case("search_path") =>
            {
                let texts: Vec<String> = values.iter().map(ToString::to_string).collect();
                self.set_search_path(&texts);
                Ok(())
            }
            Statement::Query(query) => self.query(&query, at),
            Statement::CreateType {
                name,
                representation: Some(UserDefinedTypeRepresentation::Enum { labels }),
            } if self.engine == Engine::Postgres => self.create_enum(&name, &labels, at),
            Statement::AlterType(alter) if self.engine == Engine::Postgres => {
                self.alter_type(alter, at)
            }
            Statement::Drop {
                object_type: ObjectType::Type,
                if_exists,
                names,
                ..
            } if self.engine == Engine::Postgres => {
                for name in &names {
                    let key = self.key(&self.type_name(name, at)?);
                    let dropped = self.types.as_mut().and_then(|t| t.shift_remove(&key));
                    if dropped.is_none() && !if_exists {
                        return Err(at.error(format!("type {name} does not exist at this point")));
                    }
                }
                Ok(())
            }
            Statement::CreateVirtualTable {
                name,
                if_not_exists,
                module_name,
                module_args,
            } => self.create_virtual_table(&name, if_not_exists, &module_name, &module_args, at),
            Statement::AlterView(alter) => Err(at.error(format!(
                "ALTER VIEW {} is not supported; use CREATE OR REPLACE VIEW",
                alter.name
            ))),
            // Everything else (SET, COMMENT, GRANT, functions, types, domains, sequences, indexes,
            // triggers, data) cannot change which tables and columns exist. Enum and domain types
            // need no bookkeeping: a column keeps the type's name, as the catalog reports it.
            _ => Ok(()),
        }
    }

    fn ident(&self, i: &Ident) -> String {
        quirks::identifier(self.engine, i)
    }

    fn table_name(&self, name: &ObjectName, at: &At) -> Result<TableName, ExpectedError> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| p.as_ident().map(|i| self.ident(i)))
            .collect::<Option<_>>()
            .ok_or_else(|| at.error(format!("cannot read the name {name}")))?;
        match parts.as_slice() {
            // The first schema on the path holding the table, else the first (where a CREATE
            // puts it), as PostgreSQL resolves names.
            [table] => {
                let found = self.search_path.iter().find(|schema| {
                    let name = TableName::new((*schema).clone(), table.clone());
                    self.tables.contains_key(&self.key(&name))
                });
                match found.or(self.search_path.first()) {
                    Some(schema) => Ok(TableName::new(schema.clone(), table.clone())),
                    None => Err(at.error(format!(
                        "{table}: no schema to resolve it in (search_path is empty)"
                    ))),
                }
            }
            [schema, table] => Ok(TableName::new(schema.clone(), table.clone())),
            _ => Err(at.error(format!("unexpected name {name}"))),
        }
    }

    /// A type's name: unqualified, the first schema on the path that has it, else the first.
    fn type_name(&self, name: &ObjectName, at: &At) -> Result<TableName, ExpectedError> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| p.as_ident().map(|i| self.ident(i)))
            .collect::<Option<_>>()
            .ok_or_else(|| at.error(format!("cannot read the name {name}")))?;
        match parts.as_slice() {
            [type_name] => {
                let found = self.search_path.iter().find(|schema| {
                    let name = TableName::new((*schema).clone(), type_name.clone());
                    self.types
                        .as_ref()
                        .is_some_and(|t| t.contains_key(&self.key(&name)))
                });
                match found.or(self.search_path.first()) {
                    Some(schema) => Ok(TableName::new(schema.clone(), type_name.clone())),
                    None => Err(at.error(format!(
                        "{type_name}: no schema to resolve it in (search_path is empty)"
                    ))),
                }
            }
            [schema, type_name] => Ok(TableName::new(schema.clone(), type_name.clone())),
            _ => Err(at.error(format!("unexpected name {name}"))),
        }
    }

    /// `CREATE TYPE ... AS ENUM (...)`.
    fn create_enum(
        &mut self,
        name: &ObjectName,
        labels: &[Ident],
        at: &At,
    ) -> Result<(), ExpectedError> {
        let name = self.type_name(name, at)?;
        let key = self.key(&name);
        let labels: Vec<String> = labels.iter().map(|l| l.value.clone()).collect();
        for (i, label) in labels.iter().enumerate() {
            if labels[..i].contains(label) {
                return Err(at.error(format!("type {name}: label '{label}' is listed twice")));
            }
        }
        let types = self.types.get_or_insert_with(IndexMap::new);
        if types.contains_key(&key) {
            return Err(at.error(format!("type {name} already exists")));
        }
        types.insert(key, EnumType { name, labels });
        Ok(())
    }

    /// `ALTER TYPE`: labels added in their place or renamed, the type renamed.
    fn alter_type(&mut self, alter: AlterType, at: &At) -> Result<(), ExpectedError> {
        let name = self.type_name(&alter.name, at)?;
        let key = self.key(&name);
        let Some(mut t) = self.types.as_mut().and_then(|t| t.shift_remove(&key)) else {
            // A domain or composite type, or an enum made outside these files: not compared.
            return Ok(());
        };
        let position = |t: &EnumType, label: &str| {
            t.labels
                .iter()
                .position(|l| l == label)
                .ok_or_else(|| at.error(format!("type {name} has no label '{label}'")))
        };
        match alter.operation {
            AlterTypeOperation::AddValue(add) => {
                let label = add.value.value;
                if t.labels.contains(&label) {
                    if !add.if_not_exists {
                        return Err(at.error(format!("type {name} already has label '{label}'")));
                    }
                } else {
                    let at_index = match &add.position {
                        None => t.labels.len(),
                        Some(AlterTypeAddValuePosition::Before(b)) => position(&t, &b.value)?,
                        Some(AlterTypeAddValuePosition::After(a)) => position(&t, &a.value)? + 1,
                    };
                    t.labels.insert(at_index, label);
                }
            }
            AlterTypeOperation::RenameValue(rename) => {
                let i = position(&t, &rename.from.value)?;
                if t.labels.contains(&rename.to.value) {
                    return Err(at.error(format!(
                        "type {name} already has label '{}'",
                        rename.to.value
                    )));
                }
                t.labels[i] = rename.to.value;
            }
            AlterTypeOperation::Rename(rename) => {
                t.name = TableName::new(t.name.schema.clone(), self.ident(&rename.new_name));
            }
        }
        let key = self.key(&t.name);
        self.types.get_or_insert_with(IndexMap::new).insert(key, t);
        Ok(())
    }

    fn key(&self, name: &TableName) -> TableName {
        Schema::key(self.engine, name)
    }

    fn table_mut(&mut self, name: &ObjectName, at: &At) -> Result<&mut DdlTable, ExpectedError> {
        let table = self.table_name(name, at)?;
        let key = self.key(&table);
        self.tables
            .get_mut(&key)
            .ok_or_else(|| at.error(format!("table {table} does not exist at this point")))
    }

    fn create_table(&mut self, create: CreateTable, at: &At) -> Result<(), ExpectedError> {
        let engine = self.engine;
        let name = self.table_name(&create.name, at)?;
        let key = self.key(&name);
        if create.temporary || quirks::is_internal_table(engine, &name.name) {
            return Ok(());
        }
        if self.tables.contains_key(&key) && !create.or_replace {
            if create.if_not_exists {
                return Ok(());
            }
            return Err(at.error(format!("table {name} already exists")));
        }
        if create.query.is_some() || create.like.is_some() || create.clone.is_some() {
            return Err(
                at.error("CREATE TABLE ... AS / LIKE / CLONE cannot be read without a database")
            );
        }
        let mut table = DdlTable::new(name, true, create.partition_of.is_some());
        // PostgreSQL's INHERITS: the parents' columns come first, in parent order (a column two
        // parents share is one column), then the table's own; one of its own that a parent has
        // merges with it (NOT NULL from either, its own default over the inherited one).
        let mut parents = Vec::new();
        for parent in create.inherits.iter().flatten() {
            let key = self.key(&self.table_name(parent, at)?);
            let Some(parent_table) = self.tables.get(&key) else {
                return Err(at.error(format!(
                    "inherited table {parent} does not exist at this point"
                )));
            };
            for column in parent_table.columns.values() {
                let folded = engine.fold_identifier(&column.name);
                match table.columns.get_mut(&folded) {
                    Some(merged) => merged.nullable &= column.nullable,
                    None => table.insert(engine, column.clone()),
                }
            }
            parents.push(key);
        }
        for def in &create.columns {
            let own = DdlColumn::new(engine, def);
            match table.columns.get_mut(&engine.fold_identifier(&own.name)) {
                Some(merged) => {
                    merged.nullable &= own.nullable;
                    merged.default = own.default.or(merged.default.take());
                }
                None => table.insert(engine, own),
            }
        }
        if !parents.is_empty() {
            self.parents.insert(key.clone(), parents);
        }
        let taken = |name: &str| self.index_name_taken(&key, name);
        for def in &create.columns {
            table.apply_column_keys(engine, def, &taken, at)?;
        }
        for constraint in &create.constraints {
            table.apply_constraint(engine, constraint, &taken, at)?;
        }
        for fk in self.foreign_keys_of(&create.columns, &create.constraints, at)? {
            table.add_foreign_key(engine, fk, at)?;
        }
        let declared_type = |name: &str| {
            let column = table.columns.get(&engine.fold_identifier(name));
            column.and_then(|c| c.data_type.as_deref())
        };
        for name in quirks::key_columns_made_not_null(engine, &create, declared_type) {
            if let Some(c) = table.columns.get_mut(&engine.fold_identifier(&name)) {
                c.nullable = false;
            }
        }
        self.tables.insert(key, table);
        Ok(())
    }

    fn create_view(&mut self, view: &CreateView, at: &At) -> Result<(), ExpectedError> {
        let name = self.table_name(&view.name, at)?;
        let mut table = DdlTable::new(name.clone(), !view.columns.is_empty(), false);
        for c in &view.columns {
            table.insert(self.engine, DdlColumn::listed(self.ident(&c.name)));
        }
        let key = self.key(&name);
        if self.tables.contains_key(&key) && !(view.or_replace || view.or_alter) {
            if view.if_not_exists {
                return Ok(());
            }
            return Err(at.error(format!("{name} already exists")));
        }
        if self.engine == Engine::Postgres {
            let mut reads = Vec::new();
            let _ = sqlparser::ast::visit_relations(&view.query, |relation| {
                // A name that resolves to no table of ours (a CTE, a catalog view) is no
                // dependency we track.
                if let Ok(name) = self.table_name(relation, at) {
                    let read = self.key(&name);
                    if self.tables.contains_key(&read) && !reads.contains(&read) {
                        reads.push(read);
                    }
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
            self.view_reads.insert(key.clone(), reads);
        }
        self.tables.insert(key, table);
        Ok(())
    }

    /// The tables that inherit from `name`, directly or not, as names an ALTER can take.
    fn descendants(&self, name: &ObjectName, at: &At) -> Result<Vec<ObjectName>, ExpectedError> {
        if self.parents.is_empty() {
            return Ok(Vec::new());
        }
        let root = self.key(&self.table_name(name, at)?);
        let mut found: Vec<TableName> = Vec::new();
        let mut frontier = vec![root];
        while let Some(key) = frontier.pop() {
            for (child, parents) in &self.parents {
                if parents.contains(&key) && !found.contains(child) {
                    found.push(child.clone());
                    frontier.push(child.clone());
                }
            }
        }
        Ok(found
            .iter()
            .filter_map(|key| self.tables.get(key))
            .map(|t| {
                ObjectName::from(vec![
                    Ident::with_quote('"', t.name.schema.clone()),
                    Ident::with_quote('"', t.name.name.clone()),
                ])
            })
            .collect())
    }

    /// The views that read any of `keys`, directly or through other views, in no set order.
    fn dependent_views(&self, keys: &[TableName]) -> Vec<TableName> {
        let mut out: Vec<TableName> = Vec::new();
        let mut frontier = keys.to_vec();
        while let Some(key) = frontier.pop() {
            for (view, reads) in &self.view_reads {
                if reads.contains(&key) && !out.contains(view) && !keys.contains(view) {
                    out.push(view.clone());
                    frontier.push(view.clone());
                }
            }
        }
        out
    }

    /// A virtual table has the columns its arguments name. Their types are the module's (fts
    /// columns have none, rtree's are numbers), so only names are compared; a module this reader
    /// does not know may add columns of its own, so its table's columns are not compared at all.
    fn create_virtual_table(
        &mut self,
        name: &ObjectName,
        if_not_exists: bool,
        module: &Ident,
        columns: &[Ident],
        at: &At,
    ) -> Result<(), ExpectedError> {
        let name = self.table_name(name, at)?;
        let key = self.key(&name);
        if self.tables.contains_key(&key) {
            if if_not_exists {
                return Ok(());
            }
            return Err(at.error(format!("table {name} already exists")));
        }
        let shadows = quirks::virtual_table_shadows(&module.value);
        let mut table = DdlTable::new(name, shadows.is_some(), false);
        if shadows.is_some() {
            for c in columns {
                table.insert(self.engine, DdlColumn::listed(self.ident(c)));
            }
        }
        self.virtual_tables
            .push((key.clone(), shadows.unwrap_or(&[])));
        self.tables.insert(key, table);
        Ok(())
    }

    /// `SET search_path TO a, "B", '$user'` (or one quoted list): the schemas, folded as names
    /// are; `$user` (a schema named after the role, which a dump never creates) and `pg_catalog`
    /// (always searched, never written to by a dump) are passed over; `DEFAULT` restores ours.
    fn set_search_path(&mut self, values: &[String]) {
        let mut path = Vec::new();
        for value in values {
            let items: Vec<String> =
                match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                    Some(list) => list
                        .replace("''", "'")
                        .split(',')
                        .map(|i| i.trim().to_string())
                        .collect(),
                    None => vec![value.trim().to_string()],
                };
            for item in items {
                let name = match item.strip_prefix('"').and_then(|i| i.strip_suffix('"')) {
                    Some(quoted) => quoted.replace("\"\"", "\""),
                    None if item.eq_ignore_ascii_case("default") => {
                        self.start_file();
                        return;
                    }
                    None => item.to_lowercase(),
                };
                if !name.is_empty() && name != "$user" && name != "pg_catalog" {
                    path.push(name);
                }
            }
        }
        self.search_path = path;
    }

    /// A query shapes no table, except `SELECT ... INTO new_table` (which creates one from the
    /// query's result: not known without a database) and pg_dump's
    /// `SELECT pg_catalog.set_config('search_path', '...', false)`.
    fn query(&mut self, query: &sqlparser::ast::Query, at: &At) -> Result<(), ExpectedError> {
        let sqlparser::ast::SetExpr::Select(select) = query.body.as_ref() else {
            return Ok(());
        };
        if let Some(into) = select.into.as_ref().filter(|into| !into.temporary) {
            return Err(at.error(format!(
                "SELECT ... {into} creates a table from a query's result, which cannot be read without a database; write its CREATE TABLE"
            )));
        }
        if self.engine != Engine::Postgres || select.projection.len() != 1 {
            return Ok(());
        }
        let call = select.projection[0].to_string();
        let lower = call.to_ascii_lowercase();
        let args = lower
            .strip_prefix("pg_catalog.set_config(")
            .or_else(|| lower.strip_prefix("set_config("));
        if let Some(args) = args {
            if args.starts_with("'search_path',") {
                // The value is the second argument, a string literal, taken from the original
                // spelling (quoted names keep their case).
                let start = call.len() - args.len() + "'search_path',".len();
                let rest = call[start..].trim_start();
                if let Some(end) = rest.find(['\'']).and_then(|_| literal_end(rest)) {
                    self.set_search_path(&[rest[..end].to_string()]);
                }
            }
        }
        Ok(())
    }

    /// `DROP TABLE/VIEW`: on PostgreSQL, with `CASCADE` the views reading what is dropped go
    /// too; without it the server refuses while such a view exists, and so does this reader.
    fn drop_tables(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
        cascade: bool,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let mut dropped = Vec::new();
        for name in names {
            let key = self.key(&self.table_name(name, at)?);
            if self.tables.contains_key(&key) {
                dropped.push(key);
            } else if !if_exists {
                return Err(at.error(format!("table {name} does not exist at this point")));
            }
        }
        let dependents = self.dependent_views(&dropped);
        if !dependents.is_empty() && !cascade {
            let names: Vec<String> = dependents.iter().map(|v| v.to_string()).collect();
            return Err(at.error(format!(
                "{} read what this drops; the server refuses without CASCADE",
                names.join(", ")
            )));
        }
        for key in dropped.iter().chain(&dependents) {
            self.tables.shift_remove(key);
            self.view_reads.shift_remove(key);
        }
        if !quirks::dropped_table_keeps_references(self.engine) {
            for t in self.tables.values_mut() {
                t.foreign_keys.retain(|k| !dropped.contains(&k.target));
            }
        }
        Ok(())
    }

    fn rename_table(
        &mut self,
        old: &ObjectName,
        new: &ObjectName,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let old_name = self.table_name(old, at)?;
        let mut new_name = self.table_name(new, at)?;
        // `ALTER TABLE s.t RENAME TO u` keeps the schema.
        if new.0.len() == 1 {
            new_name.schema = old_name.schema.clone();
        }
        let Some(mut table) = self.tables.shift_remove(&self.key(&old_name)) else {
            return Err(at.error(format!("table {old_name} does not exist at this point")));
        };
        let key = self.key(&new_name);
        if self.tables.contains_key(&key) {
            return Err(at.error(format!("table {new_name} already exists")));
        }
        table.name = new_name;
        // Views follow a renamed relation (the server binds them to it, not to its name).
        let old_key = self.key(&old_name);
        if let Some(reads) = self.view_reads.shift_remove(&old_key) {
            self.view_reads.insert(key.clone(), reads);
        }
        for reads in self
            .view_reads
            .values_mut()
            .chain(self.parents.values_mut())
        {
            for read in reads.iter_mut().filter(|r| **r == old_key) {
                *read = key.clone();
            }
        }
        if let Some(parents) = self.parents.shift_remove(&old_key) {
            self.parents.insert(key.clone(), parents);
        }
        // Foreign keys follow the table they reference.
        for t in self.tables.values_mut() {
            for k in t.foreign_keys.iter_mut().filter(|k| k.target == old_key) {
                k.target = key.clone();
            }
        }
        for k in table
            .foreign_keys
            .iter_mut()
            .filter(|k| k.target == old_key)
        {
            k.target = key.clone();
        }
        self.renames.push((old_key, key.clone()));
        self.tables.insert(key, table);
        Ok(())
    }

    /// Whether an index name is in use in the schema of table `key` by a table other than it
    /// (PostgreSQL and SQLite name indexes per schema; MySQL per table, where the table itself
    /// checks).
    fn index_name_taken(&self, key: &TableName, name: &str) -> bool {
        if !quirks::index_names_per_schema(self.engine) {
            return false;
        }
        self.tables
            .iter()
            .any(|(k, t)| k != key && k.schema == key.schema && t.has_key(self.engine, name))
    }

    /// Runs `edit` on the existing table `name`, with a test of whether an index name is taken
    /// elsewhere in its schema. The table is taken out of the map for the edit (a placeholder
    /// holds its place, so order is kept) so the test can read every other table.
    fn with_table<R>(
        &mut self,
        name: &ObjectName,
        at: &At,
        edit: impl FnOnce(&mut DdlTable, &dyn Fn(&str) -> bool) -> Result<R, ExpectedError>,
    ) -> Result<R, ExpectedError> {
        let table_name = self.table_name(name, at)?;
        let key = self.key(&table_name);
        let Some(slot) = self.tables.get_mut(&key) else {
            return Err(at.error(format!("table {table_name} does not exist at this point")));
        };
        let placeholder = DdlTable::new(table_name, false, false);
        let mut table = std::mem::replace(slot, placeholder);
        let result = edit(&mut table, &|n: &str| self.index_name_taken(&key, n));
        if let Some(slot) = self.tables.get_mut(&key) {
            *slot = table;
        }
        result
    }

    /// The foreign keys that column definitions (`REFERENCES`) and table constraints define,
    /// their targets resolved as the server resolves names.
    fn foreign_keys_of(
        &self,
        columns: &[sqlparser::ast::ColumnDef],
        constraints: &[TableConstraint],
        at: &At,
    ) -> Result<Vec<super::keys::DdlForeignKey>, ExpectedError> {
        let engine = self.engine;
        let mut out = Vec::new();
        for def in columns {
            for o in &def.options {
                if let sqlparser::ast::ColumnOption::ForeignKey(fk) = &o.option {
                    let target = self.key(&self.table_name(&fk.foreign_table, at)?);
                    let column = vec![self.ident(&def.name)];
                    out.push(super::keys::foreign_key(
                        engine,
                        o.name.as_ref(),
                        column,
                        fk,
                        target,
                    ));
                }
            }
        }
        for c in constraints {
            if let TableConstraint::ForeignKey(fk) = c {
                let target = self.key(&self.table_name(&fk.foreign_table, at)?);
                let cols = fk.columns.iter().map(|c| self.ident(c)).collect();
                out.push(super::keys::foreign_key(engine, None, cols, fk, target));
            }
        }
        Ok(out)
    }

    /// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (...)`.
    fn create_index(&mut self, create: &CreateIndex, at: &At) -> Result<(), ExpectedError> {
        let engine = self.engine;
        let new = super::keys::from_create_index(engine, create, at)?;
        self.with_table(&create.table_name, at, |t, taken| {
            if let Some(name) = &new.written {
                if t.has_key(engine, name) || taken(name) {
                    if create.if_not_exists {
                        return Ok(());
                    }
                    return Err(at.error(format!("index {name} already exists")));
                }
            }
            t.add_key(engine, new, taken, at)
        })
    }

    /// The key of the table holding index `name`: in the schema the name gives, else the first
    /// on the search path holding it; with `table` (MySQL's `DROP INDEX i ON t`), that table.
    fn index_table(
        &self,
        name: &ObjectName,
        table: Option<&ObjectName>,
        at: &At,
    ) -> Result<(Option<TableName>, String), ExpectedError> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| p.as_ident().map(|i| self.ident(i)))
            .collect::<Option<_>>()
            .ok_or_else(|| at.error(format!("cannot read the name {name}")))?;
        let (schemas, index) = match parts.as_slice() {
            [index] => (self.search_path.clone(), index.clone()),
            [schema, index] => (vec![schema.clone()], index.clone()),
            _ => return Err(at.error(format!("unexpected name {name}"))),
        };
        if let Some(table) = table {
            return Ok((Some(self.key(&self.table_name(table, at)?)), index));
        }
        for schema in &schemas {
            let schema = self.engine.fold_identifier(schema);
            let found = self
                .tables
                .iter()
                .find(|(k, t)| *k.schema == *schema && t.has_key(self.engine, &index));
            if let Some((key, _)) = found {
                return Ok((Some(key.clone()), index));
            }
        }
        Ok((None, index))
    }

    /// `DROP INDEX [IF EXISTS] name [ON table]`.
    fn drop_index(
        &mut self,
        name: &ObjectName,
        table: Option<&ObjectName>,
        if_exists: bool,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let engine = self.engine;
        let (key, index) = self.index_table(name, table, at)?;
        let dropped = key
            .and_then(|k| self.tables.get_mut(&k))
            .is_some_and(|t| t.drop_key(engine, &index, false));
        if !dropped && !if_exists {
            return Err(at.error(format!("index {name} does not exist at this point")));
        }
        Ok(())
    }

    /// `ALTER INDEX name RENAME TO new`.
    fn rename_index(
        &mut self,
        name: &ObjectName,
        new: &ObjectName,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let engine = self.engine;
        let new = new
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| self.ident(i))
            .ok_or_else(|| at.error(format!("cannot read the name {new}")))?;
        let (key, index) = self.index_table(name, None, at)?;
        let renamed = key
            .and_then(|k| self.tables.get_mut(&k))
            .is_some_and(|t| t.rename_key(engine, &index, &new));
        if !renamed {
            return Err(at.error(format!("index {name} does not exist at this point")));
        }
        Ok(())
    }

    /// One operation of an ALTER TABLE on `table`.
    fn alter(
        &mut self,
        table: &ObjectName,
        op: AlterTableOperation,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let engine = self.engine;
        match op {
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def: def,
                ..
            } => {
                let before = self.table_mut(table, at)?.columns.len();
                self.table_mut(table, at)?
                    .add_column(engine, &def, if_not_exists, at)?;
                if self.table_mut(table, at)?.columns.len() == before {
                    return Ok(());
                }
                let fks = self.foreign_keys_of(std::slice::from_ref(&def), &[], at)?;
                self.with_table(table, at, |t, taken| {
                    t.apply_column_keys(engine, &def, taken, at)?;
                    for fk in fks {
                        t.add_foreign_key(engine, fk, at)?;
                    }
                    Ok(())
                })
            }
            AlterTableOperation::DropColumn {
                drop_behavior: Some(sqlparser::ast::DropBehavior::Cascade),
                ..
            } if {
                let key = self.key(&self.table_name(table, at)?);
                !self.dependent_views(&[key]).is_empty()
            } =>
            {
                Err(at.error(
                    "DROP COLUMN ... CASCADE also drops the views that use the column, which cannot be told without a database; drop or recreate those views explicitly",
                ))
            }
            AlterTableOperation::DropColumn {
                column_names: names,
                if_exists,
                ..
            } => self
                .table_mut(table, at)?
                .drop_columns(engine, &names, if_exists, at),
            AlterTableOperation::RenameColumn {
                old_column_name: old,
                new_column_name: new,
            } => {
                self.table_mut(table, at)?
                    .rename_column(engine, &old, &new, at)?;
                let key = self.key(&self.table_name(table, at)?);
                let (old, new) = (self.ident(&old), self.ident(&new));
                for t in self.tables.values_mut() {
                    for k in t.foreign_keys.iter_mut().filter(|k| k.target == key) {
                        for c in &mut k.target_columns {
                            if engine.fold_identifier(c) == engine.fold_identifier(&old) {
                                *c = new.clone();
                            }
                        }
                    }
                }
                Ok(())
            }
            AlterTableOperation::RenameTable { table_name } => {
                let new = match table_name {
                    RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => n,
                };
                self.rename_table(table, &new, at)
            }
            AlterTableOperation::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                ..
            } => {
                let t = self.table_mut(table, at)?;
                t.restate_column(engine, &old_name, new_name, data_type, options, at)
            }
            AlterTableOperation::ModifyColumn {
                col_name,
                data_type,
                options,
                ..
            } => {
                let old = col_name.clone();
                let t = self.table_mut(table, at)?;
                t.restate_column(engine, &old, col_name, data_type, options, at)
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                let t = self.table_mut(table, at)?;
                t.column_mut(engine, &column_name, at)?.alter(op, at)
            }
            AlterTableOperation::AddConstraint { constraint, .. } => {
                let fks = self.foreign_keys_of(&[], std::slice::from_ref(&constraint), at)?;
                for fk in fks {
                    self.table_mut(table, at)?.add_foreign_key(engine, fk, at)?;
                }
                self.with_table(table, at, |t, taken| match &constraint {
                    TableConstraint::PrimaryKeyUsingIndex(c)
                    | TableConstraint::UniqueUsingIndex(c) => {
                        let primary = matches!(constraint, TableConstraint::PrimaryKeyUsingIndex(_));
                        let index = quirks::identifier(engine, &c.index_name);
                        let name = c.name.as_ref().map(|n| quirks::identifier(engine, n));
                        t.promote_index(engine, &index, name, primary, at)
                    }
                    other => t.apply_constraint(engine, other, taken, at),
                })
            }
            AlterTableOperation::DropConstraint { name, .. } => {
                let name = self.ident(&name);
                let t = self.table_mut(table, at)?;
                // A key, a foreign key or a check; one made outside these files is none of
                // them, and dropping it changes nothing compared.
                if !t.drop_key(engine, &name, true) && !t.drop_foreign_key(engine, &name) {
                    t.drop_check(engine, &name);
                }
                Ok(())
            }
            AlterTableOperation::DropForeignKey { name, .. } => {
                let name = self.ident(&name);
                let t = self.table_mut(table, at)?;
                if !t.drop_foreign_key(engine, &name) {
                    return Err(at.error(format!(
                        "foreign key {name} does not exist on {}",
                        t.name
                    )));
                }
                Ok(())
            }
            AlterTableOperation::DropPrimaryKey { .. } => {
                let t = self.table_mut(table, at)?;
                if t.primary_key.take().is_none() {
                    return Err(at.error(format!("table {} has no primary key", t.name)));
                }
                t.keys_stated = true;
                Ok(())
            }
            AlterTableOperation::DropIndex { name } => {
                let name = self.ident(&name);
                let t = self.table_mut(table, at)?;
                if !t.drop_key(engine, &name, false) {
                    return Err(at.error(format!("index {name} does not exist on {}", t.name)));
                }
                Ok(())
            }
            AlterTableOperation::RenameConstraint { old_name, new_name } => {
                let (old, new) = (self.ident(&old_name), self.ident(&new_name));
                let t = self.table_mut(table, at)?;
                if !t.rename_key(engine, &old, &new) {
                    t.rename_check(engine, &old, &new);
                }
                Ok(())
            }
            // pg_dump creates partitions as plain tables, then attaches them.
            AlterTableOperation::AttachPartitionOf { partition, .. } => {
                self.table_mut(&partition, at)?.partition = true;
                Ok(())
            }
            AlterTableOperation::DetachPartitionOf { partition, .. } => {
                self.table_mut(&partition, at)?.partition = false;
                Ok(())
            }
            other if leaves_columns_alone(&other) => Ok(()),
            other => Err(at.error(format!("ALTER TABLE {other} is not supported"))),
        }
    }
}

/// The length of the SQL string literal `text` starts with, quotes included (`''` inside is a quote).
fn literal_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'\'') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// ALTER TABLE operations on constraints, indexes, triggers, rules, row security, ownership and
/// storage: accepted, since none of them adds, drops or reshapes a column.
fn leaves_columns_alone(op: &AlterTableOperation) -> bool {
    use AlterTableOperation as Op;
    matches!(
        op,
        Op::EnableTrigger { .. }
            | Op::DisableTrigger { .. }
            | Op::EnableAlwaysTrigger { .. }
            | Op::EnableReplicaTrigger { .. }
            | Op::EnableRule { .. }
            | Op::DisableRule { .. }
            | Op::EnableAlwaysRule { .. }
            | Op::EnableReplicaRule { .. }
            | Op::EnableRowLevelSecurity
            | Op::DisableRowLevelSecurity
            | Op::ForceRowLevelSecurity
            | Op::NoForceRowLevelSecurity
            | Op::ReplicaIdentity { .. }
            | Op::OwnerTo { .. }
            | Op::SetLogged
            | Op::SetUnlogged
            | Op::Algorithm { .. }
    )
}

#[cfg(test)]
mod tests {
    use crate::dialect::Engine;
    use crate::expected::sql::parse_texts;
    use crate::expected::ExpectedError;
    use crate::model::TableName;

    fn message(e: ExpectedError) -> String {
        e.to_string()
    }

    #[test]
    fn enum_types_follow_create_add_rename_and_drop_in_order() {
        let sql = "CREATE TYPE public.state AS ENUM ('queued', 'done');\n\
                   ALTER TYPE public.state OWNER TO app;\n\
                   ALTER TYPE state ADD VALUE 'running' BEFORE 'done';\n\
                   ALTER TYPE state ADD VALUE IF NOT EXISTS 'running';\n\
                   ALTER TYPE state ADD VALUE 'failed';\n\
                   ALTER TYPE state ADD VALUE 'new' AFTER 'queued';\n\
                   ALTER TYPE state RENAME VALUE 'failed' TO 'error';\n\
                   CREATE TYPE \"Mood\" AS ENUM ('it''s ok');\n\
                   ALTER TYPE \"Mood\" RENAME TO mood;\n\
                   CREATE TYPE gone AS ENUM ('x');\n\
                   DROP TYPE gone;\n\
                   CREATE TYPE pair AS (a int, b int);";
        let schema = parse_texts(Engine::Postgres, &[("t.sql", sql)]).unwrap();
        let types: Vec<(String, Vec<String>)> = schema
            .types
            .unwrap()
            .values()
            .map(|t| (t.name.to_string(), t.labels.clone()))
            .collect();
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            types,
            [
                (
                    "public.state".to_string(),
                    labels(&["queued", "new", "running", "done", "error"])
                ),
                ("public.mood".to_string(), labels(&["it's ok"])),
            ]
        );
        // Without a CREATE TYPE ... AS ENUM, types are not compared at all.
        let plain = parse_texts(Engine::Postgres, &[("t.sql", "CREATE TABLE t (a int);")]);
        assert_eq!(plain.unwrap().types, None);
        for (bad, says) in [
            (
                "CREATE TYPE s AS ENUM ('a', 'a');",
                "label 'a' is listed twice",
            ),
            (
                "CREATE TYPE s AS ENUM ('a'); ALTER TYPE s ADD VALUE 'a';",
                "already has label 'a'",
            ),
            (
                "CREATE TYPE s AS ENUM ('a'); ALTER TYPE s ADD VALUE 'b' AFTER 'z';",
                "has no label 'z'",
            ),
            (
                "CREATE TYPE s AS ENUM ('a'); ALTER TYPE s RENAME VALUE 'z' TO 'y';",
                "has no label 'z'",
            ),
            ("DROP TYPE nothing;", "type nothing does not exist"),
        ] {
            let err = message(parse_texts(Engine::Postgres, &[("b.sql", bad)]).unwrap_err());
            assert!(
                err.contains(says) && err.contains("b.sql:1"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn unqualified_names_follow_the_search_path_a_file_sets() {
        let dump = "SELECT pg_catalog.set_config('search_path', '', false);\n\
                    CREATE TABLE app.t (a int);\n\
                    SET search_path TO \"$user\", app, public;\n\
                    CREATE TABLE u (b int);\n\
                    ALTER TABLE t ADD COLUMN c int;\n\
                    SET search_path = '\"Audit\", public';\n\
                    CREATE TABLE v (d int);\n\
                    SET search_path TO DEFAULT;\n\
                    CREATE TABLE w (e int);";
        let schema = parse_texts(
            Engine::Postgres,
            &[("d.sql", dump), ("m.sql", "CREATE TABLE x (f int);")],
        )
        .unwrap();
        let mut names: Vec<String> = schema.tables.values().map(|t| t.name.to_string()).collect();
        names.sort();
        assert_eq!(names, ["Audit.v", "app.t", "app.u", "public.w", "public.x"]);
        let t = schema
            .get(Engine::Postgres, &TableName::new("app", "t"))
            .unwrap();
        assert!(
            t.columns.contains_key("c"),
            "ALTER TABLE t found app.t on the path"
        );
        let e = message(
            parse_texts(
                Engine::Postgres,
                &[("d.sql", "SET search_path = '';\nCREATE TABLE t (a int);")],
            )
            .unwrap_err(),
        );
        assert!(e.starts_with("d.sql:2: statement `CREATE TABLE t"), "{e}");
        assert!(e.contains("search_path is empty"), "{e}");
    }

    #[test]
    fn drop_cascade_takes_the_views_that_read_what_it_drops() {
        let sql = "CREATE TABLE t (a int);\nCREATE TABLE keep (b int);\n\
                   CREATE VIEW v AS SELECT a FROM t;\n\
                   CREATE VIEW w AS WITH x AS (SELECT * FROM v) SELECT * FROM x JOIN keep ON true;\n\
                   CREATE VIEW other AS SELECT b FROM keep;\n\
                   ALTER TABLE t RENAME TO t2;\n\
                   DROP TABLE t2 CASCADE;";
        let schema = parse_texts(Engine::Postgres, &[("m.sql", sql)]).unwrap();
        let mut names: Vec<String> = schema.tables.values().map(|t| t.name.to_string()).collect();
        names.sort();
        assert_eq!(
            names,
            ["public.keep", "public.other"],
            "v and w went with t2"
        );
        let plain = "CREATE TABLE t (a int);\nCREATE VIEW v AS SELECT a FROM t;\nDROP TABLE t;";
        let e = message(parse_texts(Engine::Postgres, &[("m.sql", plain)]).unwrap_err());
        assert!(
            e.starts_with("m.sql:3: statement `DROP TABLE t`: public.v read what this drops"),
            "{e}"
        );
        let column = "CREATE TABLE t (a int, b int);\nCREATE VIEW v AS SELECT a FROM t;\nALTER TABLE t DROP COLUMN b CASCADE;";
        let e = message(parse_texts(Engine::Postgres, &[("m.sql", column)]).unwrap_err());
        assert!(
            e.starts_with("m.sql:3: statement `ALTER TABLE t DROP COLUMN b CASCADE`"),
            "{e}"
        );
    }

    #[test]
    fn inherited_columns_come_from_the_parents_and_alters_reach_the_children() {
        let sql = "CREATE TABLE base (id bigint NOT NULL, at timestamptz DEFAULT now());\n\
                   CREATE TABLE tagged (tag text);\n\
                   CREATE TABLE child (at timestamptz NOT NULL DEFAULT '2024-01-01', ip inet) INHERITS (base, tagged);\n\
                   CREATE TABLE grandchild () INHERITS (child);\n\
                   ALTER TABLE base ADD COLUMN note text;\n\
                   ALTER TABLE ONLY base ADD COLUMN only_base int;\n\
                   ALTER TABLE base RENAME TO base2;\n\
                   ALTER TABLE base2 RENAME COLUMN note TO remark;";
        let schema = parse_texts(Engine::Postgres, &[("m.sql", sql)]).unwrap();
        let get = |t: &str| {
            schema
                .get(Engine::Postgres, &TableName::new("public", t))
                .unwrap()
        };
        let names = |t: &str| -> Vec<String> {
            get(t)
                .columns
                .values()
                .map(|c| c.name.to_string())
                .collect()
        };
        assert_eq!(names("child"), ["id", "at", "tag", "ip", "remark"]);
        assert_eq!(names("grandchild"), ["id", "at", "tag", "ip", "remark"]);
        assert_eq!(names("base2"), ["id", "at", "remark", "only_base"]);
        let at = &get("child").columns["at"];
        assert_eq!(at.nullable, Some(false));
        assert_eq!(
            at.default,
            Some(Some("'2024-01-01'".into())),
            "its own default wins"
        );
        // Typed tables need the composite type's attributes: refused, naming the statement.
        let e = message(
            parse_texts(
                Engine::Postgres,
                &[("m.sql", "CREATE TYPE a AS (x int);\nCREATE TABLE t OF a;")],
            )
            .unwrap_err(),
        );
        assert!(
            e.starts_with("m.sql:2: statement `CREATE TABLE t OF a`"),
            "{e}"
        );
    }

    #[test]
    fn select_into_a_new_table_is_an_error_naming_it() {
        let e = message(
            parse_texts(
                Engine::Postgres,
                &[("m.sql", "SELECT id, email INTO backup_users FROM users;")],
            )
            .unwrap_err(),
        );
        assert!(
            e.starts_with("m.sql:1: statement `SELECT id, email INTO backup_users"),
            "{e}"
        );
        assert!(e.contains("cannot be read without a database"), "{e}");
        parse_texts(
            Engine::Postgres,
            &[("m.sql", "SELECT 1; SELECT * INTO TEMPORARY scratch FROM t;")],
        )
        .expect("plain queries and temporary tables shape nothing that stays");
    }

    #[test]
    fn virtual_tables_have_their_argument_columns_or_are_compared_by_presence_only() {
        let sql =
            "CREATE VIRTUAL TABLE \"s\" USING fts5(title, \"Body\" UNINDEXED, prefix='2 3');\n\
                   CREATE VIRTUAL TABLE main.geo USING VirtualSpatialIndex;\n\
                   CREATE TABLE s_data (id integer);\nCREATE TABLE geo_node (id integer);";
        let schema = parse_texts(Engine::Sqlite, &[("v.sql", sql)]).unwrap();
        let fts = schema
            .get(Engine::Sqlite, &TableName::new("main", "s"))
            .unwrap();
        let names: Vec<&str> = fts.columns.values().map(|c| &*c.name).collect();
        assert_eq!(names, ["title", "Body"]);
        assert!(fts.columns.values().all(|c| c.data_type.is_none()));
        let geo = schema
            .get(Engine::Sqlite, &TableName::new("main", "geo"))
            .unwrap();
        assert!(
            !geo.columns_compared,
            "an unknown module's columns are its own"
        );
        // fts5 keeps `s_data`; nothing is known of the other module's storage.
        assert!(schema
            .get(Engine::Sqlite, &TableName::new("main", "s_data"))
            .is_none());
        assert!(schema
            .get(Engine::Sqlite, &TableName::new("main", "geo_node"))
            .is_some());
        for bad in [
            "CREATE VIRTUAL TABLE t USING",
            "CREATE VIRTUAL TABLE t USING fts5(a, b",
            "CREATE VIRTUAL TABLE IF t USING fts5(a)",
        ] {
            let e = message(parse_texts(Engine::Sqlite, &[("v.sql", bad)]).unwrap_err());
            assert!(
                e.starts_with("v.sql:1: statement `CREATE VIRTUAL TABLE"),
                "{e}"
            );
        }
    }

    #[test]
    fn statements_that_cannot_shape_tables_are_skipped_even_when_unparsable() {
        let dump = "SET statement_timeout = 0;\n\\restrict abc\nSELECT pg_catalog.set_config('search_path', '', false);\nCREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;\nCREATE TABLE public.t (a integer);\nALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reader;\nCREATE EVENT TRIGGER nope ON ddl_command_start EXECUTE FUNCTION f();\nCOPY t (a) FROM stdin;\n1\n2\n\\.\nGRANT ALL ON TABLE t TO app;\nCOMMENT ON COLUMN t.a IS 'x; y';\nCREATE SEQUENCE s;\nCREATE INDEX i ON t (a);\n";
        let schema = parse_texts(Engine::Postgres, &[("dump.sql", dump)]).unwrap();
        let t = schema
            .get(Engine::Postgres, &TableName::new("public", "t"))
            .unwrap();
        assert_eq!(t.columns.len(), 1);
    }

    #[test]
    fn a_table_shaping_statement_that_cannot_be_understood_names_file_line_and_statement() {
        let e = message(
            parse_texts(
                Engine::Postgres,
                &[(
                    "m.sql",
                    "CREATE TABLE t (a int);\n\nALTER TABLE t ADD COLUMN b int,, c int;\n",
                )],
            )
            .unwrap_err(),
        );
        assert!(
            e.starts_with("m.sql:3: statement `ALTER TABLE t ADD COLUMN b int,, c int`:"),
            "{e}"
        );
        let e = message(
            parse_texts(
                Engine::Postgres,
                &[(
                    "m.sql",
                    "CREATE TABLE t (a int);\nCREATE TABLE u (LIKE t INCLUDING ALL);\n",
                )],
            )
            .unwrap_err(),
        );
        assert!(e.starts_with("m.sql:2: statement `CREATE TABLE u"), "{e}");
        let e = message(
            parse_texts(
                Engine::Postgres,
                &[("m.sql", "ALTER TABLE nowhere ADD COLUMN b int;")],
            )
            .unwrap_err(),
        );
        assert!(e.contains("table public.nowhere does not exist"), "{e}");
        let e = message(
            parse_texts(
                Engine::Postgres,
                &[(
                    "m.sql",
                    "CREATE TABLE t (a int);\nALTER TABLE t DROP COLUMN zz;",
                )],
            )
            .unwrap_err(),
        );
        assert!(
            e.starts_with("m.sql:2:") && e.contains("column zz does not exist"),
            "{e}"
        );
    }

    #[test]
    fn ddl_attributes_follow_each_engine_rules() {
        let pg = parse_texts(
            Engine::Postgres,
            &[(
                "s.sql",
                "CREATE TABLE IF NOT EXISTS \"Mixed\" (Id serial, \"Name\" text DEFAULT 'x'::text, n int NOT NULL, PRIMARY KEY (Id));\nCREATE TABLE IF NOT EXISTS \"Mixed\" (other int);\nCREATE VIEW v (a, b) AS SELECT 1, 2;",
            )],
        )
        .unwrap();
        let t = pg
            .get(Engine::Postgres, &TableName::new("public", "Mixed"))
            .unwrap();
        let id = &t.columns["id"];
        assert_eq!(
            (id.data_type.as_deref(), id.nullable, id.default.clone()),
            (Some("integer"), Some(false), Some(None))
        );
        assert_eq!(t.columns["Name"].default, Some(Some("'x'".into())));
        assert!(
            !t.columns.contains_key("other"),
            "IF NOT EXISTS keeps the first"
        );
        let v = pg
            .get(Engine::Postgres, &TableName::new("public", "v"))
            .unwrap();
        assert!(v.columns_compared);
        assert_eq!(
            v.columns["a"].data_type, None,
            "a view's columns: presence only"
        );

        let lite = parse_texts(
            Engine::Sqlite,
            &[(
                "s.sql",
                "CREATE TABLE a (id INTEGER PRIMARY KEY, t text);\nCREATE TABLE b (code text PRIMARY KEY);\nCREATE TABLE c (x int, y int, PRIMARY KEY (x, y)) WITHOUT ROWID;",
            )],
        )
        .unwrap();
        let nullable = |t: &str, c: &str| {
            lite.get(Engine::Sqlite, &TableName::new("main", t))
                .unwrap()
                .columns[c]
                .nullable
        };
        assert_eq!(nullable("a", "id"), Some(false), "rowid alias");
        assert_eq!(nullable("b", "code"), Some(true), "SQLite quirk");
        assert_eq!(nullable("c", "x"), Some(false), "WITHOUT ROWID");
    }
}
