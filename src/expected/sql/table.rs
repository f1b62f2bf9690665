//! A table as the DDL applied so far defines it, before normalisation, and the edits statements
//! make to its columns. Identifiers are read the engine's way ([`quirks::identifier`]) and columns
//! keyed by [`Engine::fold_identifier`], so a statement's column name matches however the engine
//! compares names.

use indexmap::IndexMap;
use sqlparser::ast::{
    AlterColumnOperation, ColumnDef, ColumnOption, ColumnOptionDef, DataType, GeneratedAs, Ident,
    TableConstraint,
};

use super::keys::{self, DdlIndex};
use super::quirks;
use super::statements::At;
use crate::dialect::Engine;
use crate::expected::ExpectedError;
use crate::model::{Column, Table, TableName};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;

/// A column as the DDL so far defines it, before normalisation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DdlColumn {
    pub(super) name: String,
    /// `None` for a view column listed by name only.
    pub(super) data_type: Option<String>,
    pub(super) nullable: bool,
    pub(super) default: Option<String>,
    /// Values from a sequence default (serial types, `DEFAULT nextval(...)`): gone with the
    /// default.
    pub(super) sequence_default: bool,
    /// Values the engine makes by itself: `GENERATED ... AS IDENTITY`, `AUTO_INCREMENT`.
    pub(super) generated_identity: bool,
}

/// A table or view as the DDL so far defines it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DdlTable {
    pub(super) name: TableName,
    pub(super) columns_compared: bool,
    /// A partition is compared through its parent, as the catalog reader does.
    pub(super) partition: bool,
    /// Keyed by the engine's folded column name.
    pub(super) columns: IndexMap<String, DdlColumn>,
    /// Whether any statement defined or dropped a key or index of the table: only then are its
    /// keys compared (an expectation that never mentions them keeps comparing columns only).
    pub(super) keys_stated: bool,
    pub(super) primary_key: Option<DdlIndex>,
    /// Unique constraints and indexes, in the order they were made.
    pub(super) indexes: Vec<DdlIndex>,
    pub(super) foreign_keys: Vec<keys::DdlForeignKey>,
    /// Check constraints, each with its name as given or as the engine would generate it.
    pub(super) checks: Vec<crate::model::Check>,
}

impl DdlColumn {
    /// The column a definition declares (CREATE TABLE, ADD COLUMN, MySQL's CHANGE and MODIFY).
    pub(super) fn new(engine: Engine, def: &ColumnDef) -> DdlColumn {
        let data_type = match &def.data_type {
            DataType::Unspecified => String::new(),
            t => t.to_string(),
        };
        let serial = quirks::type_implies_not_null(engine, &data_type);
        let mut column = DdlColumn {
            name: quirks::identifier(engine, &def.name),
            nullable: !serial,
            default: None,
            data_type: Some(data_type),
            sequence_default: serial,
            generated_identity: false,
        };
        column.apply_options(engine, def.options.iter().map(|o| &o.option));
        column
    }

    /// A view's column, listed by name only: its presence is all that is known.
    pub(super) fn listed(name: String) -> DdlColumn {
        DdlColumn {
            name,
            data_type: None,
            nullable: true,
            default: None,
            sequence_default: false,
            generated_identity: false,
        }
    }

    fn apply_options<'o>(
        &mut self,
        engine: Engine,
        options: impl Iterator<Item = &'o ColumnOption>,
    ) {
        for option in options {
            match option {
                ColumnOption::Null => self.nullable = true,
                ColumnOption::NotNull => self.nullable = false,
                ColumnOption::Default(e) => self.set_default(e.to_string()),
                ColumnOption::PrimaryKey(_) if quirks::primary_key_implies_not_null(engine) => {
                    self.nullable = false
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
                        self.nullable = false;
                        self.generated_identity = true;
                    }
                    self.default = None;
                }
                ColumnOption::Identity(_) => {
                    self.nullable = false;
                    self.default = None;
                    self.generated_identity = true;
                }
                ColumnOption::DialectSpecific(tokens)
                    if tokens
                        .iter()
                        .any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")) =>
                {
                    self.generated_identity = true;
                }
                ColumnOption::Check(check) => {
                    if let Some(data_type) = quirks::type_from_check(engine, &check.expr) {
                        self.data_type = Some(data_type.into());
                    }
                }
                // Constraints, collations, comments, ON UPDATE, AUTO_INCREMENT and the like leave
                // type, nullability and default as they are.
                _ => {}
            }
        }
    }

    /// A default expression: a sequence's `nextval(...)` makes values, any other replaces it.
    fn set_default(&mut self, text: String) {
        self.sequence_default = text
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("nextval(");
        self.default = Some(text);
    }

    /// Whether the engine makes the column's values.
    fn identity(&self) -> bool {
        self.sequence_default || self.generated_identity
    }

    /// `ALTER TABLE t ALTER COLUMN c ...`: one attribute of an existing column.
    pub(super) fn alter(&mut self, op: AlterColumnOperation, at: &At) -> Result<(), ExpectedError> {
        match op {
            AlterColumnOperation::SetNotNull => self.nullable = false,
            AlterColumnOperation::DropNotNull => self.nullable = true,
            AlterColumnOperation::SetDefault { value } => self.set_default(value.to_string()),
            AlterColumnOperation::DropDefault => {
                self.default = None;
                self.sequence_default = false;
            }
            AlterColumnOperation::SetDataType { data_type, .. } => {
                self.data_type = Some(data_type.to_string())
            }
            AlterColumnOperation::AddGenerated { .. } => {
                self.nullable = false;
                self.default = None;
                self.generated_identity = true;
            }
            other => return Err(at.error(format!("ALTER COLUMN {other} is not supported"))),
        }
        Ok(())
    }
}

impl DdlTable {
    /// A table with no columns yet.
    pub(super) fn new(name: TableName, columns_compared: bool, partition: bool) -> DdlTable {
        DdlTable {
            name,
            columns_compared,
            partition,
            columns: IndexMap::new(),
            keys_stated: false,
            primary_key: None,
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// Adds `column` last, or puts it in place of a column of the same name.
    pub(super) fn insert(&mut self, engine: Engine, column: DdlColumn) {
        self.columns
            .insert(engine.fold_identifier(&column.name), column);
    }

    /// ALTER TABLE ... ADD COLUMN.
    pub(super) fn add_column(
        &mut self,
        engine: Engine,
        def: &ColumnDef,
        if_not_exists: bool,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let column = DdlColumn::new(engine, def);
        let key = engine.fold_identifier(&column.name);
        if self.columns.contains_key(&key) {
            if if_not_exists {
                return Ok(());
            }
            return Err(at.error(format!("column {} already exists", column.name)));
        }
        self.columns.insert(key, column);
        Ok(())
    }

    /// ALTER TABLE ... DROP COLUMN, of one or more columns.
    pub(super) fn drop_columns(
        &mut self,
        engine: Engine,
        columns: &[Ident],
        if_exists: bool,
        at: &At,
    ) -> Result<(), ExpectedError> {
        for column in columns {
            let name = quirks::identifier(engine, column);
            let folded = engine.fold_identifier(&name);
            if !self.columns.contains_key(&folded) {
                if !if_exists {
                    return Err(at.error(format!("column {name} does not exist")));
                }
                continue;
            }
            // While the column is there: which checks read it is told by the table's columns.
            self.drop_column_checks(engine, &folded);
            self.columns.shift_remove(&folded);
            self.drop_key_column(engine, &folded);
        }
        Ok(())
    }

    /// The existing column `column`.
    pub(super) fn column_mut(
        &mut self,
        engine: Engine,
        column: &Ident,
        at: &At,
    ) -> Result<&mut DdlColumn, ExpectedError> {
        let name = quirks::identifier(engine, column);
        self.columns
            .get_mut(&engine.fold_identifier(&name))
            .ok_or_else(|| at.error(format!("column {name} does not exist")))
    }

    /// Renames column `old` to `new`, keeping its position and attributes.
    pub(super) fn rename_column(
        &mut self,
        engine: Engine,
        old: &Ident,
        new: &Ident,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let old = quirks::identifier(engine, old);
        let Some(mut column) = self.columns.get(&engine.fold_identifier(&old)).cloned() else {
            return Err(at.error(format!("column {old} does not exist")));
        };
        column.name = quirks::identifier(engine, new);
        self.replace_column(engine, &old, column, at)
    }

    /// MySQL's CHANGE and MODIFY restate a whole column (name, type, every option) in place.
    pub(super) fn restate_column(
        &mut self,
        engine: Engine,
        old: &Ident,
        name: Ident,
        data_type: DataType,
        options: Vec<ColumnOption>,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let options = options
            .into_iter()
            .map(|option| ColumnOptionDef { name: None, option })
            .collect();
        let def = ColumnDef {
            name,
            data_type,
            options,
        };
        let column = DdlColumn::new(engine, &def);
        self.replace_column(engine, &quirks::identifier(engine, old), column, at)?;
        // Only MySQL restates columns, and it names keys per table: nothing else can take one.
        self.apply_column_keys(engine, &def, &|_| false, at)
    }

    /// Replaces column `old` with `column` in place (same position), e.g. for a rename or MySQL's
    /// CHANGE.
    fn replace_column(
        &mut self,
        engine: Engine,
        old: &str,
        column: DdlColumn,
        at: &At,
    ) -> Result<(), ExpectedError> {
        let old_key = engine.fold_identifier(old);
        let new_key = engine.fold_identifier(&column.name);
        let Some(index) = self.columns.get_index_of(&old_key) else {
            return Err(at.error(format!("column {old} does not exist")));
        };
        if new_key != old_key && self.columns.contains_key(&new_key) {
            return Err(at.error(format!("column {} already exists", column.name)));
        }
        let new_name = column.name.clone();
        self.columns.shift_remove(&old_key);
        self.columns.shift_insert(index, new_key, column);
        self.rename_key_column(engine, old, &new_name);
        Ok(())
    }

    /// A table-level constraint: a key or index is added (named as written or as the engine
    /// names it; `taken` says whether a name is in use elsewhere in the schema), and a primary
    /// key makes its columns NOT NULL where the engine says so. A foreign key may make an index
    /// (InnoDB). Checks and exclusion constraints change no column.
    pub(super) fn apply_constraint(
        &mut self,
        engine: Engine,
        constraint: &TableConstraint,
        taken: &dyn Fn(&str) -> bool,
        at: &At,
    ) -> Result<(), ExpectedError> {
        if let TableConstraint::Check(check) = constraint {
            self.add_check(engine, check, None, None);
            return Ok(());
        }
        if let TableConstraint::ForeignKey(fk) = constraint {
            let columns = fk
                .columns
                .iter()
                .map(|c| quirks::identifier(engine, c))
                .collect();
            let name = fk
                .index_name
                .as_ref()
                .or(fk.name.as_ref())
                .map(|n| quirks::identifier(engine, n));
            return self.foreign_key_index(engine, name, columns, at);
        }
        let Some(new) = keys::from_constraint(engine, constraint, at)? else {
            return Ok(());
        };
        if new.index.kind == keys::KeyKind::Primary {
            let mut names = Vec::new();
            for part in &new.index.parts {
                match &part.key {
                    keys::DdlKey::Column(c) => names.push(c.clone()),
                    keys::DdlKey::Expression(e) => {
                        return Err(at.error(format!("primary key on expression {e}")))
                    }
                }
            }
            if quirks::primary_key_implies_not_null(engine) {
                for name in names {
                    match self.columns.get_mut(&engine.fold_identifier(&name)) {
                        Some(c) => c.nullable = false,
                        None => {
                            return Err(
                                at.error(format!("primary key column {name} does not exist"))
                            )
                        }
                    }
                }
            }
            // Elsewhere decided once the whole table is known; see quirks::key_columns_made_not_null.
        }
        self.add_key(engine, new, taken, at)
    }

    /// The keys a column definition's options make (`PRIMARY KEY`, `UNIQUE`, `REFERENCES`).
    pub(super) fn apply_column_keys(
        &mut self,
        engine: Engine,
        def: &ColumnDef,
        taken: &dyn Fn(&str) -> bool,
        at: &At,
    ) -> Result<(), ExpectedError> {
        for (at_option, o) in def.options.iter().enumerate() {
            if let ColumnOption::Check(check) = &o.option {
                let column = quirks::identifier(engine, &def.name);
                self.add_check(engine, check, o.name.as_ref(), Some(&column));
                continue;
            }
            if let ColumnOption::ForeignKey(_) = &o.option {
                let name = o.name.as_ref().map(|n| quirks::identifier(engine, n));
                let column = quirks::identifier(engine, &def.name);
                self.foreign_key_index(engine, name, vec![column], at)?;
                continue;
            }
            if let Some(mut new) =
                keys::from_column_option(engine, &def.name, o.name.as_ref(), &o.option)
            {
                // SQLite's `PRIMARY KEY DESC` (and `UNIQUE DESC`): the direction follows the
                // option as one of its own.
                let descending = matches!(
                    def.options.get(at_option + 1).map(|next| &next.option),
                    Some(ColumnOption::DialectSpecific(t))
                        if matches!(t.as_slice(), [Token::Word(w)] if w.keyword == Keyword::DESC)
                );
                if let Some(part) = new.index.parts.first_mut() {
                    part.descending = descending;
                }
                self.add_key(engine, new, taken, at)?;
            }
        }
        Ok(())
    }

    /// The table as the model compares it, its columns normalised as live introspection's are.
    pub(super) fn into_table(self, engine: Engine) -> Table {
        let mut t = Table::new(self.name);
        t.columns_compared = self.columns_compared;
        if self.keys_stated {
            t.primary_key = Some(self.primary_key.as_ref().map(|k| k.to_index(engine)));
            t.indexes = Some(self.indexes.iter().map(|k| k.to_index(engine)).collect());
            t.foreign_keys = Some(
                self.foreign_keys
                    .iter()
                    .map(|k| k.to_foreign_key(engine))
                    .collect(),
            );
            // MariaDB's check behind a `json` column is the column's type, compared as such.
            t.checks = Some(
                self.checks
                    .iter()
                    .filter(|c| !c.is_json_type_check())
                    .cloned()
                    .collect(),
            );
        }
        for c in self.columns.into_values() {
            let column = match c.data_type {
                // A view's listed columns: only their presence is known.
                None => Column::new(engine, c.name, None, None, None),
                Some(ref data_type) => {
                    let identity = c.identity();
                    let column = Column::new(
                        engine,
                        c.name,
                        Some(data_type),
                        Some(c.nullable),
                        Some(c.default.as_deref()),
                    );
                    if quirks::identity_is_compared(engine) {
                        column.with_identity(identity)
                    } else {
                        column
                    }
                }
            };
            t.add_column(engine, column);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use crate::dialect::Engine;
    use crate::expected::sql::parse_texts;
    use crate::model::Column;

    /// The columns of the one table `sql` defines, or the error message.
    fn columns(engine: Engine, sql: &str) -> Result<Vec<Column>, String> {
        let schema = parse_texts(engine, &[("m.sql", sql)]).map_err(|e| e.to_string())?;
        let (_, t) = schema.tables.into_iter().next().expect("one table");
        Ok(t.columns.into_values().collect())
    }

    #[test]
    fn renamed_and_restated_columns_keep_their_place() {
        let got = columns(
            Engine::MySql,
            "CREATE TABLE t (a int, b int, c int);\nALTER TABLE t RENAME COLUMN A TO x;\nALTER TABLE t CHANGE b y varchar(5) NOT NULL;\nALTER TABLE t MODIFY c bigint;",
        )
        .unwrap();
        let names: Vec<&str> = got.iter().map(|c| &*c.name).collect();
        assert_eq!(names, ["x", "y", "c"]);
        assert_eq!(got[1].nullable, Some(false), "CHANGE restates nullability");
    }

    #[test]
    fn alter_column_changes_one_attribute() {
        let got = columns(
            Engine::Postgres,
            "CREATE TABLE t (a int NOT NULL DEFAULT 1);\nALTER TABLE t ALTER COLUMN a DROP NOT NULL;\nALTER TABLE t ALTER COLUMN a TYPE bigint;\nALTER TABLE t ALTER COLUMN a DROP DEFAULT;",
        )
        .unwrap();
        let a = &got[0];
        assert_eq!(
            (a.data_type.as_deref(), a.nullable, a.default.clone()),
            (Some("bigint"), Some(true), Some(None))
        );
    }

    #[test]
    fn column_edits_fail_naming_the_statement_and_column() {
        let create = "CREATE TABLE t (a int, b int);\n";
        for (edit, want) in [
            (
                "ALTER TABLE t RENAME COLUMN a TO b;",
                "column b already exists",
            ),
            ("ALTER TABLE t ADD COLUMN A int;", "column a already exists"),
            ("ALTER TABLE t DROP COLUMN zz;", "column zz does not exist"),
            (
                "ALTER TABLE t ALTER COLUMN zz SET NOT NULL;",
                "column zz does not exist",
            ),
            (
                "ALTER TABLE t ADD PRIMARY KEY (zz);",
                "primary key column zz does not exist",
            ),
        ] {
            let e = columns(Engine::Postgres, &format!("{create}{edit}")).unwrap_err();
            let start = format!("m.sql:2: statement `{}`: ", edit.trim_end_matches(';'));
            assert!(e.starts_with(&start) && e.ends_with(want), "{edit}: {e}");
        }
    }
}
