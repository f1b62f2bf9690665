//! Expected schemas from SQL, read offline: schema files, `pg_dump --schema-only` / `mysqldump
//! --no-data` / sqlite3 `.schema` output, and directories of migration files applied in version order.
//!
//! The `sqlparser` crate parses each statement in the database's dialect; this module only applies
//! what parsed to an in-memory schema. Types and defaults keep their SQL text and go through the same
//! normalisation as live introspection ([`Column::new`]), so DDL and the catalog of a server that ran
//! it compare equal.
//!
//! Dumps hold much that cannot shape a table (SET, COMMENT, GRANT, OWNER TO, functions, triggers,
//! sequences, indexes, data). Those statements are skipped whether or not the parser understands them.
//! A statement that could change tables or columns (CREATE/ALTER/DROP/RENAME TABLE, views) must be
//! understood completely, or loading fails naming the file, line and the statement's start: a
//! column-shaping statement is never dropped silently.

use indexmap::IndexMap;
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, CreateTable, DataType,
    Expr, GeneratedAs, Ident, ObjectName, ObjectType, RenameTableNameKind, Statement,
    TableConstraint,
};

mod migrations;
mod quirks;
mod statements;

pub use migrations::{files_to_apply, migration_order};

use statements::At;

use super::{ExpectedError, SourceFile};
use crate::engine::Engine;
use crate::model::{Column, Schema, Table, TableName};

/// Applies `files` in order and returns the resulting expectation for a database of `engine`
/// whose configured schemas are `schemas` (unqualified names belong to the first).
pub fn parse(
    files: &[SourceFile],
    engine: Engine,
    schemas: &[String],
) -> Result<Schema, ExpectedError> {
    let mut state = State {
        engine,
        default_schema: schemas.first().cloned().unwrap_or_else(|| "public".into()),
        tables: IndexMap::new(),
    };
    for file in files {
        let text = migrations::up_part(&file.text);
        statements::for_each(&file.path, text, engine, |statement, at| {
            state.apply(statement, at)
        })?;
    }
    // Tables in schemas beyond the configured ones stay: the check reads those schemas too.
    let mut schema = Schema::default();
    for (_, table) in state.tables {
        if table.partition {
            continue;
        }
        let mut t = Table::new(table.name);
        t.columns_compared = table.columns_compared;
        for c in table.columns.into_values() {
            let column = match c.data_type {
                // A view's listed columns: only their presence is known.
                None => Column::new(engine, c.name, None, None, None),
                Some(data_type) => Column::new(
                    engine,
                    c.name,
                    Some(&data_type),
                    Some(c.nullable),
                    Some(c.default.as_deref()),
                ),
            };
            t.add_column(engine, column);
        }
        schema.add_table(engine, t);
    }
    Ok(schema)
}

/// A column as the DDL so far defines it, before normalisation.
#[derive(Debug, Clone)]
struct DdlColumn {
    name: String,
    /// `None` for a view column listed by name only.
    data_type: Option<String>,
    nullable: bool,
    default: Option<String>,
}

#[derive(Debug, Clone)]
struct DdlTable {
    name: TableName,
    columns_compared: bool,
    /// A partition is compared through its parent, as the catalog reader does.
    partition: bool,
    /// Keyed by the engine's folded column name.
    columns: IndexMap<String, DdlColumn>,
}

struct State {
    engine: Engine,
    default_schema: String,
    /// Keyed by [`Schema::key`].
    tables: IndexMap<TableName, DdlTable>,
}

impl State {
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
            [table] => Ok(TableName::new(self.default_schema.clone(), table.clone())),
            [schema, table] => Ok(TableName::new(schema.clone(), table.clone())),
            _ => Err(at.error(format!("unexpected name {name}"))),
        }
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

    fn apply(&mut self, statement: Statement, at: &At) -> Result<(), ExpectedError> {
        match statement {
            Statement::CreateTable(create) => self.create_table(create, at),
            Statement::AlterTable(alter) => {
                let name = alter.name.clone();
                if alter.if_exists && self.table_mut(&name, at).is_err() {
                    return Ok(());
                }
                for op in alter.operations {
                    self.alter(&name, op, at)?;
                }
                Ok(())
            }
            Statement::Drop {
                object_type: ObjectType::Table | ObjectType::View | ObjectType::MaterializedView,
                if_exists,
                names,
                ..
            } => {
                for name in names {
                    let key = self.key(&self.table_name(&name, at)?);
                    if self.tables.shift_remove(&key).is_none() && !if_exists {
                        return Err(at.error(format!("table {name} does not exist at this point")));
                    }
                }
                Ok(())
            }
            Statement::RenameTable(renames) => {
                for r in renames {
                    self.rename_table(&r.old_name, &r.new_name, at)?;
                }
                Ok(())
            }
            Statement::CreateView(view) => {
                let name = self.table_name(&view.name, at)?;
                let mut table = DdlTable {
                    name: name.clone(),
                    columns_compared: !view.columns.is_empty(),
                    partition: false,
                    columns: IndexMap::new(),
                };
                for c in &view.columns {
                    let column = self.ident(&c.name);
                    table.columns.insert(
                        self.engine.fold_identifier(&column),
                        DdlColumn {
                            name: column,
                            data_type: None,
                            nullable: true,
                            default: None,
                        },
                    );
                }
                let key = self.key(&name);
                if self.tables.contains_key(&key) && !(view.or_replace || view.or_alter) {
                    if view.if_not_exists {
                        return Ok(());
                    }
                    return Err(at.error(format!("{name} already exists")));
                }
                self.tables.insert(key, table);
                Ok(())
            }
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

    fn create_table(&mut self, create: CreateTable, at: &At) -> Result<(), ExpectedError> {
        let name = self.table_name(&create.name, at)?;
        let key = self.key(&name);
        if create.temporary || quirks::is_internal_table(self.engine, &name.name) {
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
        let mut table = DdlTable {
            name,
            columns_compared: true,
            partition: create.partition_of.is_some(),
            columns: IndexMap::new(),
        };
        for def in &create.columns {
            let column = self.column(def);
            table
                .columns
                .insert(self.engine.fold_identifier(&column.name), column);
        }
        for constraint in &create.constraints {
            self.apply_constraint(&mut table, constraint, at)?;
        }
        let engine = self.engine;
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

    /// Table-level constraints: only a primary key changes a column (it makes it NOT NULL).
    fn apply_constraint(
        &self,
        table: &mut DdlTable,
        constraint: &TableConstraint,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let TableConstraint::PrimaryKey(pk) = constraint else {
            return Ok(());
        };
        let mut names = Vec::new();
        for c in &pk.columns {
            match &c.column.expr {
                Expr::Identifier(i) => names.push(self.ident(i)),
                other => return Err(at.error(format!("primary key on expression {other}"))),
            }
        }
        if !quirks::primary_key_implies_not_null(self.engine) {
            // Decided once the whole table is known, in create_table.
            return Ok(());
        }
        for name in names {
            match table.columns.get_mut(&self.engine.fold_identifier(&name)) {
                Some(c) => c.nullable = false,
                None => return Err(at.error(format!("primary key column {name} does not exist"))),
            }
        }
        Ok(())
    }

    fn column(&self, def: &ColumnDef) -> DdlColumn {
        let data_type = match &def.data_type {
            DataType::Unspecified => String::new(),
            t => t.to_string(),
        };
        let mut column = DdlColumn {
            name: self.ident(&def.name),
            nullable: !quirks::type_implies_not_null(self.engine, &data_type),
            default: None,
            data_type: Some(data_type),
        };
        self.apply_options(&mut column, def.options.iter().map(|o| &o.option));
        column
    }

    fn apply_options<'o>(
        &self,
        column: &mut DdlColumn,
        options: impl Iterator<Item = &'o ColumnOption>,
    ) {
        for option in options {
            match option {
                ColumnOption::Null => column.nullable = true,
                ColumnOption::NotNull => column.nullable = false,
                ColumnOption::Default(e) => column.default = Some(e.to_string()),
                ColumnOption::PrimaryKey(_)
                    if quirks::primary_key_implies_not_null(self.engine) =>
                {
                    column.nullable = false
                }
                ColumnOption::Generated {
                    generated_as,
                    generation_expr,
                    ..
                } => {
                    // Identity columns are NOT NULL; neither identity nor a generated expression
                    // is a default a person chose.
                    if generation_expr.is_none()
                        && matches!(generated_as, GeneratedAs::Always | GeneratedAs::ByDefault)
                    {
                        column.nullable = false;
                    }
                    column.default = None;
                }
                ColumnOption::Identity(_) => {
                    column.nullable = false;
                    column.default = None;
                }
                ColumnOption::Check(check) => {
                    if let Some(data_type) = quirks::type_from_check(self.engine, &check.expr) {
                        column.data_type = Some(data_type.into());
                    }
                }
                // Constraints, collations, comments, ON UPDATE, AUTO_INCREMENT and the like leave
                // type, nullability and default as they are.
                _ => {}
            }
        }
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
        self.tables.insert(key, table);
        Ok(())
    }

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
                column_def,
                ..
            } => {
                let column = self.column(&column_def);
                let t = self.table_mut(table, at)?;
                let key = engine.fold_identifier(&column.name);
                if t.columns.contains_key(&key) {
                    if if_not_exists {
                        return Ok(());
                    }
                    return Err(at.error(format!("column {} already exists", column.name)));
                }
                t.columns.insert(key, column);
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                let names: Vec<String> = column_names.iter().map(|c| self.ident(c)).collect();
                let t = self.table_mut(table, at)?;
                for name in names {
                    if t.columns
                        .shift_remove(&engine.fold_identifier(&name))
                        .is_none()
                        && !if_exists
                    {
                        return Err(at.error(format!("column {name} does not exist")));
                    }
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let (old, new) = (self.ident(&old_column_name), self.ident(&new_column_name));
                let t = self.table_mut(table, at)?;
                rename_column(t, engine, &old, &new, at)?;
            }
            AlterTableOperation::RenameTable { table_name } => {
                let new = match table_name {
                    RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => n,
                };
                self.rename_table(table, &new, at)?;
            }
            AlterTableOperation::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                ..
            } => self.restate_column(table, &old_name, new_name, data_type, options, at)?,
            AlterTableOperation::ModifyColumn {
                col_name,
                data_type,
                options,
                ..
            } => {
                let old = col_name.clone();
                self.restate_column(table, &old, col_name, data_type, options, at)?
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                let name = self.ident(&column_name);
                let t = self.table_mut(table, at)?;
                let c = t
                    .columns
                    .get_mut(&engine.fold_identifier(&name))
                    .ok_or_else(|| at.error(format!("column {name} does not exist")))?;
                match op {
                    AlterColumnOperation::SetNotNull => c.nullable = false,
                    AlterColumnOperation::DropNotNull => c.nullable = true,
                    AlterColumnOperation::SetDefault { value } => {
                        c.default = Some(value.to_string())
                    }
                    AlterColumnOperation::DropDefault => c.default = None,
                    AlterColumnOperation::SetDataType { data_type, .. } => {
                        c.data_type = Some(data_type.to_string())
                    }
                    AlterColumnOperation::AddGenerated { .. } => {
                        c.nullable = false;
                        c.default = None;
                    }
                    other => return Err(at.error(format!("ALTER COLUMN {other} is not supported"))),
                }
            }
            AlterTableOperation::AddConstraint { constraint, .. } => {
                let t = self.table_mut(table, at)?.clone();
                let mut t = t;
                self.apply_constraint(&mut t, &constraint, at)?;
                let key = self.key(&t.name);
                self.tables.insert(key, t);
            }
            // pg_dump creates partitions as plain tables, then attaches them.
            AlterTableOperation::AttachPartitionOf { partition, .. } => {
                self.table_mut(&partition, at)?.partition = true;
            }
            AlterTableOperation::DetachPartitionOf { partition, .. } => {
                self.table_mut(&partition, at)?.partition = false;
            }
            // Constraints, indexes, triggers, row security, ownership, storage: no column changes.
            AlterTableOperation::DropConstraint { .. }
            | AlterTableOperation::DropPrimaryKey { .. }
            | AlterTableOperation::DropForeignKey { .. }
            | AlterTableOperation::DropIndex { .. }
            | AlterTableOperation::RenameConstraint { .. }
            | AlterTableOperation::EnableTrigger { .. }
            | AlterTableOperation::DisableTrigger { .. }
            | AlterTableOperation::EnableAlwaysTrigger { .. }
            | AlterTableOperation::EnableReplicaTrigger { .. }
            | AlterTableOperation::EnableRule { .. }
            | AlterTableOperation::DisableRule { .. }
            | AlterTableOperation::EnableAlwaysRule { .. }
            | AlterTableOperation::EnableReplicaRule { .. }
            | AlterTableOperation::EnableRowLevelSecurity
            | AlterTableOperation::DisableRowLevelSecurity
            | AlterTableOperation::ForceRowLevelSecurity
            | AlterTableOperation::NoForceRowLevelSecurity
            | AlterTableOperation::ReplicaIdentity { .. }
            | AlterTableOperation::OwnerTo { .. }
            | AlterTableOperation::SetLogged
            | AlterTableOperation::SetUnlogged
            | AlterTableOperation::Algorithm { .. } => {}
            other => return Err(at.error(format!("ALTER TABLE {other} is not supported"))),
        }
        Ok(())
    }
}

impl State {
    /// MySQL's CHANGE and MODIFY restate a whole column (name, type, every option) in place.
    fn restate_column(
        &mut self,
        table: &ObjectName,
        old: &Ident,
        name: Ident,
        data_type: DataType,
        options: Vec<ColumnOption>,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let def = ColumnDef {
            name,
            data_type,
            options: options
                .into_iter()
                .map(|option| sqlparser::ast::ColumnOptionDef { name: None, option })
                .collect(),
        };
        let column = self.column(&def);
        let old = self.ident(old);
        let engine = self.engine;
        let t = self.table_mut(table, at)?;
        replace_column(t, engine, &old, column, at)
    }
}

fn rename_column(
    t: &mut DdlTable,
    engine: Engine,
    old: &str,
    new: &str,
    at: &At,
) -> Result<(), ExpectedError> {
    let Some(mut column) = t.columns.get(&engine.fold_identifier(old)).cloned() else {
        return Err(at.error(format!("column {old} does not exist")));
    };
    column.name = new.to_string();
    replace_column(t, engine, old, column, at)
}

/// Replaces column `old` with `column` in place (same position), e.g. for a rename or MySQL's CHANGE.
fn replace_column(
    t: &mut DdlTable,
    engine: Engine,
    old: &str,
    column: DdlColumn,
    at: &At,
) -> Result<(), ExpectedError> {
    let old_key = engine.fold_identifier(old);
    let new_key = engine.fold_identifier(&column.name);
    let Some(index) = t.columns.get_index_of(&old_key) else {
        return Err(at.error(format!("column {old} does not exist")));
    };
    if new_key != old_key && t.columns.contains_key(&new_key) {
        return Err(at.error(format!("column {} already exists", column.name)));
    }
    t.columns.shift_remove(&old_key);
    t.columns.shift_insert(index, new_key, column);
    Ok(())
}

/// Parses `files` given as (path, text) pairs, as a database of `engine` with its usual default schema.
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

    fn message(e: ExpectedError) -> String {
        e.to_string()
    }

    #[test]
    fn statements_that_cannot_shape_tables_are_skipped_even_when_unparsable() {
        let dump = "SET statement_timeout = 0;\n\\restrict abc\nSELECT pg_catalog.set_config('search_path', '', false);\nCREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;\nCREATE TABLE t (a integer);\nALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reader;\nCREATE EVENT TRIGGER nope ON ddl_command_start EXECUTE FUNCTION f();\nCOPY t (a) FROM stdin;\n1\n2\n\\.\nGRANT ALL ON TABLE t TO app;\nCOMMENT ON COLUMN t.a IS 'x; y';\nCREATE SEQUENCE s;\nCREATE INDEX i ON t (a);\n";
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
