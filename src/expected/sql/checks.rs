//! Check constraints as DDL defines them: inline on a column, on the table, added and dropped by
//! name. A check the DDL leaves unnamed gets the name its engine would give it, so that a later
//! `DROP CONSTRAINT` finds it and the live check is found by name.

use sqlparser::ast::{CheckConstraint, Ident};
use sqlparser::tokenizer::{Token, Tokenizer};

use super::quirks;
use super::table::DdlTable;
use crate::dialect::Engine;
use crate::model::Check;

impl DdlTable {
    /// Adds a check: `column` for one declared on a column, `name` as written (if it is).
    pub(super) fn add_check(
        &mut self,
        engine: Engine,
        check: &CheckConstraint,
        name: Option<&Ident>,
        column: Option<&str>,
    ) {
        let expression = check.expr.to_string();
        let (name, name_given) = match name.or(check.name.as_ref()) {
            Some(n) => (quirks::identifier(engine, n), true),
            None => {
                let referenced = self.referenced_columns(engine, &expression);
                let taken = |n: &str| self.constraint_name_taken(engine, n);
                let name = quirks::generated_check_name(
                    engine,
                    &self.name.name,
                    column,
                    &referenced,
                    taken,
                );
                (name, false)
            }
        };
        self.keys_stated = true;
        self.checks.push(Check {
            name,
            name_given,
            expression: Some(expression),
            validated: true,
        });
    }

    /// Whether a constraint of the table already has `name`.
    fn constraint_name_taken(&self, engine: Engine, name: &str) -> bool {
        let folded = engine.fold_identifier(name);
        self.checks
            .iter()
            .any(|c| engine.fold_identifier(&c.name) == folded)
            || self.has_key(engine, name)
    }

    /// The table's columns `expression` names, folded, each once, in order of appearance (what
    /// PostgreSQL names an unnamed check after when there is exactly one).
    pub(super) fn referenced_columns(&self, engine: Engine, expression: &str) -> Vec<String> {
        let dialect = quirks::dialect(engine);
        let Ok(tokens) = Tokenizer::new(dialect.as_ref(), expression).tokenize() else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for token in tokens {
            if let Token::Word(w) = token {
                let ident = match w.quote_style {
                    Some(q) => Ident::with_quote(q, w.value),
                    None => Ident::new(w.value),
                };
                let folded = engine.fold_identifier(&quirks::identifier(engine, &ident));
                if self.columns.contains_key(&folded) && !out.contains(&folded) {
                    out.push(folded);
                }
            }
        }
        out
    }

    /// Drops the check called `name`; whether there was one.
    pub(super) fn drop_check(&mut self, engine: Engine, name: &str) -> bool {
        let folded = engine.fold_identifier(name);
        let before = self.checks.len();
        self.checks
            .retain(|c| engine.fold_identifier(&c.name) != folded);
        self.keys_stated = true;
        self.checks.len() < before
    }

    /// Renames check `old` to `new`; whether there was one.
    pub(super) fn rename_check(&mut self, engine: Engine, old: &str, new: &str) -> bool {
        let folded = engine.fold_identifier(old);
        match self
            .checks
            .iter_mut()
            .find(|c| engine.fold_identifier(&c.name) == folded)
        {
            Some(c) => {
                c.name = new.to_string();
                c.name_given = true;
                true
            }
            None => false,
        }
    }

    /// A dropped column takes the checks that read it (PostgreSQL drops them; MySQL and SQLite
    /// refuse the drop while one does, so there is none left to take).
    pub(super) fn drop_column_checks(&mut self, engine: Engine, folded: &str) {
        let checks = std::mem::take(&mut self.checks);
        self.checks = checks
            .into_iter()
            .filter(|c| {
                let expression = c.expression.as_deref().unwrap_or("");
                !self
                    .referenced_columns(engine, expression)
                    .iter()
                    .any(|r| r == folded)
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use crate::dialect::Engine;
    use crate::expected::sql::parse_texts;
    use crate::model::TableName;

    /// (name, name given, expression) of each check of table `t`.
    fn checks(engine: Engine, sql: &str) -> Vec<(String, bool, String)> {
        let schema = parse_texts(engine, &[("t.sql", sql)]).unwrap();
        let default = match engine {
            Engine::Postgres => "public",
            Engine::MySql => "app",
            Engine::Sqlite => "main",
        };
        let t = schema.get(engine, &TableName::new(default, "t")).unwrap();
        t.checks
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.name, c.name_given, c.expression.unwrap_or_default()))
            .collect()
    }

    fn names(list: Vec<(String, bool, String)>) -> Vec<String> {
        list.into_iter().map(|(n, _, _)| n).collect()
    }

    #[test]
    fn unnamed_checks_get_the_name_each_engine_gives_them() {
        let sql = "CREATE TABLE t (a int CHECK (a > 0), b int, c int, CHECK (b > c), CHECK (b < 10), CONSTRAINT mine CHECK (c <> 0), CHECK (a + b > 0));";
        assert_eq!(
            names(checks(Engine::Postgres, sql)),
            ["t_a_check", "t_check", "t_b_check", "mine", "t_check1"]
        );
        assert_eq!(
            names(checks(Engine::MySql, sql)),
            ["a", "CONSTRAINT_1", "CONSTRAINT_2", "mine", "CONSTRAINT_3"]
        );
        assert_eq!(names(checks(Engine::Sqlite, sql)), ["", "", "", "mine", ""]);
        let given: Vec<bool> = checks(Engine::Postgres, sql)
            .into_iter()
            .map(|c| c.1)
            .collect();
        assert_eq!(given, [false, false, false, true, false]);
        // A string that spells a column's name is not a reference to it.
        assert_eq!(
            names(checks(
                Engine::Postgres,
                "CREATE TABLE t (a text CHECK (a <> 'b'), b int);"
            )),
            ["t_a_check"]
        );
    }

    #[test]
    fn checks_are_dropped_renamed_and_go_with_the_column_they_read() {
        let sql =
            "CREATE TABLE t (a int CHECK (a > 0), b int CONSTRAINT b_pos CHECK (b > 0), c int);
                   ALTER TABLE t ADD CONSTRAINT c_pos CHECK (c > 0);
                   ALTER TABLE t ADD CHECK (b < c);
                   ALTER TABLE t DROP CONSTRAINT b_pos;
                   ALTER TABLE t RENAME CONSTRAINT c_pos TO c_positive;
                   ALTER TABLE t DROP COLUMN a;";
        let got = checks(Engine::Postgres, sql);
        assert_eq!(
            got,
            [
                ("c_positive".to_string(), true, "c > 0".to_string()),
                ("t_check".to_string(), false, "b < c".to_string()),
            ]
        );
        // A table whose DDL names no check or key keeps its checks uncompared.
        let schema =
            parse_texts(Engine::Postgres, &[("t.sql", "CREATE TABLE t (a int);")]).unwrap();
        let t = schema
            .get(Engine::Postgres, &TableName::new("public", "t"))
            .unwrap();
        assert_eq!(t.checks, None);
    }

    #[test]
    fn mariadbs_json_check_is_the_columns_type_not_a_check() {
        let sql = "CREATE TABLE t (id int PRIMARY KEY, doc longtext CHECK (json_valid(`doc`)), n int CHECK (n > 0));";
        let schema = parse_texts(Engine::MySql, &[("t.sql", sql)]).unwrap();
        let t = schema
            .get(Engine::MySql, &TableName::new("app", "t"))
            .unwrap();
        let kept: Vec<&str> = t
            .checks
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(kept, ["n"]);
        assert_eq!(
            t.columns.get("doc").unwrap().data_type.as_deref(),
            Some("json")
        );
    }
}
