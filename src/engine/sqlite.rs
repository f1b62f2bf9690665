//! SQLite: catalog read through `sqlite_schema` and `pragma_table_xinfo`, fixes in SQLite's dialect.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use std::str::FromStr;

use super::{quote_double, render_portable, SessionLimits};
use crate::dialect::Engine;
use crate::model::{
    CatalogBuilder, Change, Check, Column, ForeignKey, ForeignKeyBuilder, ForeignKeyRow, Index,
    IndexBuilder, Schema, TableName,
};
use futures_util::TryStreamExt;
use std::collections::HashMap;

/// Every table, view and virtual table with its columns in one statement. SQLite's own tables
/// (`sqlite_%`) are never drift, and neither are the shadow tables a virtual table's module keeps
/// its data in (fts5's `NAME_data`, `NAME_idx`, ...: `pragma_table_list` marks them `shadow`;
/// dropping one breaks the virtual table). `hidden = 1` marks virtual-table plumbing; generated
/// columns (2, 3) are real columns.
pub const CATALOG_QUERY: &str = r#"
SELECT m.name AS table_name,
       p.name AS column_name,
       p.type AS data_type,
       p."notnull" AS not_null,
       p.dflt_value AS column_default,
       p.pk AS pk
FROM pragma_table_list AS m
JOIN pragma_table_xinfo(m.name, m.schema) AS p
WHERE m.schema = 'main'
  AND m.type IN ('table', 'view', 'virtual')
  AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
  AND p.hidden <> 1
ORDER BY m.name, p.cid
"#;

/// The primary key and every index of every table, one row per key part, in one statement. The
/// primary key comes from the table's columns (a rowid table's `INTEGER PRIMARY KEY` has no
/// index), its parts' directions from the index SQLite makes for any other primary key (origin
/// `pk`, not listed again: `INTEGER PRIMARY KEY DESC` is one, and no rowid alias); the autoindexes of `UNIQUE` constraints (origin `u`) are unique indexes. An expression
/// key part has no column name (`cid` -2): its text, like a partial index's predicate, is read
/// from the index's own `CREATE INDEX`. `index_xinfo` rather than `index_info` for each part's
/// direction; its parts with `key` 0 are the rowid SQLite appends, not key parts.
pub const INDEX_QUERY: &str = r#"
SELECT m.name AS table_name, '' AS index_name, 1 AS is_primary, 1 AS is_unique,
       0 AS partial, p.pk AS seq, p.name AS column_name,
       coalesce((SELECT x."desc" FROM pragma_index_list(m.name, m.schema) AS k
                 JOIN pragma_index_xinfo(k.name, m.schema) AS x
                 WHERE k.origin = 'pk' AND x.name = p.name AND x.key = 1), 0) AS descending,
       NULL AS index_sql
FROM pragma_table_list AS m
JOIN pragma_table_info(m.name, m.schema) AS p
WHERE m.schema = 'main' AND m.type = 'table'
  AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
  AND p.pk > 0
UNION ALL
SELECT m.name, l.name, 0, l."unique", l.partial, i.seqno, i.name, i."desc",
       CASE WHEN l.partial OR i.cid = -2
            THEN (SELECT s.sql FROM sqlite_schema AS s
                  WHERE s.type = 'index' AND s.name = l.name) END
FROM pragma_table_list AS m
JOIN pragma_index_list(m.name, m.schema) AS l
JOIN pragma_index_xinfo(l.name, m.schema) AS i
WHERE m.schema = 'main' AND m.type = 'table'
  AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
  AND l.origin <> 'pk'
  AND i.key = 1
ORDER BY 1, 2, 6
"#;

/// Key part `seq` (from 0) of an index's `CREATE INDEX` text, as the SQL expectation reads it:
/// an expression as sqlparser prints it, without a collation. `None` if SQLite wrote what
/// sqlparser cannot read.
fn key_part_of(sql: &str, seq: i64) -> Option<String> {
    use sqlparser::ast::{Expr, Statement};
    let Ok(statements) =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::SQLiteDialect {}, sql)
    else {
        return raw_key_part(sql, seq);
    };
    let Some(Statement::CreateIndex(create)) = statements.first() else {
        return None;
    };
    let part = create.columns.get(usize::try_from(seq).ok()?)?;
    if let Some(text) = crate::dialect::sqlite_postfix(Engine::Sqlite, part) {
        return Some(text);
    }
    let mut expr = &part.column.expr;
    while let Expr::Collate { expr: inner, .. } | Expr::Nested(inner) = expr {
        expr = inner;
    }
    Some(expr.to_string())
}

/// Key part `seq` of a `CREATE INDEX` the parser cannot read (`x NOT GLOB 'a'`, `CAST(n AS
/// UNSIGNED BIG INT)`: SQLite takes any words for a type), as written between the commas of its
/// key list, without its direction or collation. A part the statement spells is never left
/// unknown: an unknown expression would match any.
fn raw_key_part(sql: &str, seq: i64) -> Option<String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = sqlparser::dialect::SQLiteDialect {};
    let tokens = Tokenizer::new(&dialect, sql).tokenize().ok()?;
    let on = tokens
        .iter()
        .position(|t| matches!(t, Token::Word(w) if w.keyword == Keyword::ON))?;
    let open = on + tokens[on..].iter().position(|t| *t == Token::LParen)?;
    let mut parts: Vec<Vec<&Token>> = vec![Vec::new()];
    let mut depth = 0usize;
    for t in &tokens[open + 1..] {
        match t {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => break,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                parts.push(Vec::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut()?.push(t);
    }
    let mut part = parts.into_iter().nth(usize::try_from(seq).ok()?)?;
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k);
    while part.last().is_some_and(|t| {
        matches!(t, Token::Whitespace(_)) || word(t, Keyword::ASC) || word(t, Keyword::DESC)
    }) {
        part.pop();
    }
    // `COLLATE name` at the end of the part, outside parentheses.
    let mut depth = 0i32;
    let mut collate = None;
    for (i, t) in part.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 && word(t, Keyword::COLLATE) => collate = Some(i),
            _ => {}
        }
    }
    if let Some(at) = collate {
        part.truncate(at);
    }
    let text: String = part.iter().map(|t| t.to_string()).collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The predicate of a partial index's `CREATE INDEX ... WHERE predicate` text: what follows
/// the last `WHERE` outside quotes and parentheses.
fn predicate_of(sql: &str) -> Option<String> {
    let bytes = sql.as_bytes();
    let (mut depth, mut quote, mut found) = (0i32, None, None);
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' | b'`' | b'[' => quote = Some(if b == b'[' { b']' } else { b }),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0
                    // Bytes, not `str` slices: `i` may sit inside a multibyte character.
                    && bytes.len() > i + 6
                    && bytes[i..i + 5].eq_ignore_ascii_case(b"where")
                    && i > 0
                    && bytes[i - 1].is_ascii_whitespace()
                    && bytes[i + 5].is_ascii_whitespace() =>
                {
                    found = Some(i + 5)
                }
                _ => {}
            },
        }
    }
    found.map(|at| sql[at..].trim().to_string())
}

/// Every foreign key, one row per column pair, grouped by table and key id. SQLite keeps no
/// names for foreign keys; `to` is NULL for `REFERENCES t` (the target's primary key).
pub const FOREIGN_KEY_QUERY: &str = r#"
SELECT m.name AS table_name, f.id AS key_id, f.seq, f."from" AS column_name,
       f."table" AS target_table, f."to" AS target_column, f.on_delete, f.on_update
FROM pragma_table_list AS m
JOIN pragma_foreign_key_list(m.name, m.schema) AS f
WHERE m.schema = 'main' AND m.type = 'table'
  AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY 1, 2, 3
"#;

/// Every foreign key of every table, by table key.
pub(super) async fn foreign_keys(
    pool: &SqlitePool,
) -> Result<HashMap<TableName, Vec<ForeignKey>>, sqlx::Error> {
    let mut rows = sqlx::query(FOREIGN_KEY_QUERY).fetch(pool);
    let mut keys = ForeignKeyBuilder::new(Engine::Sqlite);
    while let Some(row) = rows.try_next().await? {
        keys.add(ForeignKeyRow {
            table: TableName::new(SCHEMA, row.try_get::<&str, _>("table_name")?),
            group: row.try_get::<i64, _>("key_id")?.to_string(),
            name: "",
            column: row.try_get("column_name")?,
            target: TableName::new(SCHEMA, row.try_get::<&str, _>("target_table")?),
            target_column: row.try_get("target_column")?,
            on_delete: row.try_get("on_delete")?,
            on_update: row.try_get("on_update")?,
            // Neither catalog says: MySQL has no deferred keys, and SQLite's pragma does not list it.
            deferrable: false,
            initially_deferred: false,
            validated: true,
        });
    }
    Ok(keys.finish())
}

/// Every table's `CREATE TABLE` text: SQLite keeps checks nowhere else.
pub const TABLE_SQL_QUERY: &str = r#"
SELECT name AS table_name, sql
FROM sqlite_schema
WHERE type = 'table' AND sql IS NOT NULL
  AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY name
"#;

/// Every check constraint of every table, by table key, read from the table's own `CREATE
/// TABLE` with the parser SQL expectations go through, so both spell a condition alike. A
/// statement the parser cannot read fails the read, naming the table: its checks are never
/// taken as none.
pub(super) async fn checks(
    pool: &SqlitePool,
) -> Result<HashMap<TableName, Vec<Check>>, sqlx::Error> {
    let rows = sqlx::query(TABLE_SQL_QUERY).fetch_all(pool).await?;
    let mut checks = HashMap::new();
    for row in rows {
        let name: String = row.try_get("table_name")?;
        let sql: String = row.try_get("sql")?;
        // Virtual tables keep their module's arguments, no checks.
        if sql.trim_start()[..sql.trim_start().len().min(20)]
            .to_ascii_uppercase()
            .starts_with("CREATE VIRTUAL")
        {
            continue;
        }
        let list = checks_of_create_table(&sql)
            .map_err(|why| sqlx::Error::Protocol(format!("checks of table {name}: {why}")))?;
        let table = TableName::new(SCHEMA, name);
        checks.insert(Schema::key(Engine::Sqlite, &table), list);
    }
    Ok(checks)
}

/// The checks of one `CREATE TABLE` statement: on its columns and on the table, by the name
/// given (SQLite keeps none for an unnamed check).
fn checks_of_create_table(sql: &str) -> Result<Vec<Check>, String> {
    use sqlparser::ast::{ColumnOption, Statement, TableConstraint};
    let statements =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::SQLiteDialect {}, sql)
            .map_err(|e| e.to_string())?;
    let Some(Statement::CreateTable(create)) = statements.into_iter().next() else {
        return Err("not a CREATE TABLE statement".into());
    };
    let check = |name: Option<&sqlparser::ast::Ident>, expr: &sqlparser::ast::Expr| Check {
        name: name.map(|n| n.value.clone()).unwrap_or_default(),
        name_given: name.is_some(),
        expression: Some(expr.to_string()),
        validated: true,
    };
    let mut out = Vec::new();
    for column in &create.columns {
        for option in &column.options {
            if let ColumnOption::Check(c) = &option.option {
                out.push(check(option.name.as_ref().or(c.name.as_ref()), &c.expr));
            }
        }
    }
    for constraint in &create.constraints {
        if let TableConstraint::Check(c) = constraint {
            out.push(check(c.name.as_ref(), &c.expr));
        }
    }
    Ok(out)
}

/// The only schema a read-only SQLite connection of ours can see.
const SCHEMA: &str = "main";

pub(super) fn connect_lazy(url: &str, limits: SessionLimits) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        // Read-only and never created: a mistyped path must fail the check, not make an empty file.
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(limits.statement_timeout);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(limits.connect_timeout)
        .connect_lazy_with(super::quiet(options)))
}

pub(super) async fn introspect(pool: &SqlitePool) -> Result<Schema, sqlx::Error> {
    let mut rows = sqlx::query(CATALOG_QUERY).fetch(pool);
    let mut catalog = CatalogBuilder::new(Engine::Sqlite);
    // Per table: its primary-key columns and whether each is declared exactly INTEGER.
    let mut primary_keys: HashMap<String, Vec<(String, bool)>> = HashMap::new();
    while let Some(row) = rows.try_next().await? {
        let table: &str = row.try_get("table_name")?;
        let name: String = row.try_get("column_name")?;
        let data_type: &str = row.try_get("data_type")?;
        let not_null: bool = row.try_get("not_null")?;
        let default: Option<&str> = row.try_get("column_default")?;
        let pk: i64 = row.try_get("pk")?;
        if pk > 0 {
            let integer = data_type.eq_ignore_ascii_case("integer");
            primary_keys
                .entry(table.to_string())
                .or_default()
                .push((name.clone(), integer));
        }
        catalog.table(SCHEMA, table);
        catalog.column(Column::new(
            Engine::Sqlite,
            name,
            Some(data_type),
            Some(!not_null),
            Some(default),
        ));
    }
    drop(rows);
    let mut schema = catalog.finish();
    // A lone `INTEGER PRIMARY KEY` column is the rowid and can never hold NULL, though SQLite's
    // catalog reports it as nullable unless NOT NULL was also written.
    for (table, pks) in primary_keys {
        if let [(column, true)] = pks.as_slice() {
            let key = Schema::key(Engine::Sqlite, &TableName::new(SCHEMA, table));
            if let Some(c) = schema.tables.get_mut(&key).and_then(|t| {
                t.columns
                    .get_mut(Engine::Sqlite.fold_identifier(column).as_str())
            }) {
                c.nullable = Some(false);
            }
        }
    }
    Ok(schema)
}

/// The primary key and every index of every table, by table key.
pub(super) async fn indexes(
    pool: &SqlitePool,
) -> Result<HashMap<TableName, Vec<Index>>, sqlx::Error> {
    let mut rows = sqlx::query(INDEX_QUERY).fetch(pool);
    let mut indexes = IndexBuilder::new(Engine::Sqlite);
    while let Some(row) = rows.try_next().await? {
        let table = TableName::new(SCHEMA, row.try_get::<&str, _>("table_name")?);
        let column: Option<&str> = row.try_get("column_name")?;
        let sql: Option<&str> = row.try_get("index_sql")?;
        let seq: i64 = row.try_get("seq")?;
        let expression = match (column, sql) {
            (None, Some(sql)) => key_part_of(sql, seq),
            _ => None,
        };
        let mut part = indexes.part(column, expression);
        part.descending = row.try_get("descending")?;
        indexes.add(&table, row.try_get("index_name")?, part, |name| {
            let mut index = Index::new(name, row.try_get("is_primary")?, row.try_get("is_unique")?);
            index.method = Some("btree".into());
            index.partial = row.try_get("partial")?;
            index.predicate = sql.filter(|_| index.partial).and_then(predicate_of);
            index.constraint = index.primary;
            Ok::<_, sqlx::Error>(index)
        })?;
    }
    Ok(indexes.finish())
}

fn qualified(name: &TableName) -> String {
    super::qualified(quote_double, name)
}

/// SQLite's ALTER TABLE can add, drop and rename columns but cannot change one: that takes the
/// documented twelve-step table rebuild, which we point to instead of guessing the whole table.
const REBUILD: &str = "-- SQLite cannot alter a column in place: rebuild the table \
     (https://www.sqlite.org/lang_altertable.html#otheralter) so that";

/// A change in SQLite's dialect: anything but adding or dropping points to the table rebuild.
pub(super) fn render(change: &Change) -> String {
    match change {
        Change::AlterType { table, column } => format!(
            "{REBUILD} {}.{} has type {}",
            qualified(table),
            quote_double(&column.name),
            column.data_type.as_deref().unwrap_or("(any type)")
        ),
        Change::SetNullable { table, column } => format!(
            "{REBUILD} {}.{} is {}",
            qualified(table),
            quote_double(&column.name),
            if column.nullable == Some(false) {
                "NOT NULL"
            } else {
                "NULL"
            }
        ),
        Change::SetDefault {
            table,
            column,
            default,
        } => format!(
            "{REBUILD} {}.{} has {}",
            qualified(table),
            quote_double(column),
            default
                .as_ref()
                .map_or("no default".to_string(), |d| format!("DEFAULT {d}"))
        ),
        _ => render_portable(change, quote_double),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_are_found_beside_multibyte_names_without_slicing_a_character() {
        // A quoted and an unquoted non-ASCII name right before `ON` and `WHERE`: the scan
        // once sliced the text by bytes inside `ï` and panicked, leaving the database unchecked.
        for sql in [
            r#"CREATE INDEX "ïdx" ON t (b) WHERE b > 0"#,
            "CREATE INDEX ïdx ON tï (b) WHERE b > 0",
            "CREATE INDEX i ON t (b) WHERE ïb > 0",
        ] {
            let want = sql.rsplit_once("WHERE ").unwrap().1;
            assert_eq!(predicate_of(sql).as_deref(), Some(want), "{sql}");
        }
        assert_eq!(predicate_of(r#"CREATE INDEX "ïdx" ON t (b)"#), None);
    }

    #[test]
    fn every_kind_of_change_renders_as_sqlite_sql_or_the_rebuild_it_needs() {
        let sql: Vec<String> = super::super::every_change(Engine::Sqlite, "main")
            .iter()
            .map(render)
            .collect();
        let rebuild = "-- SQLite cannot alter a column in place: rebuild the table (https://www.sqlite.org/lang_altertable.html#otheralter) so that";
        assert_eq!(
            sql,
            [
                "CREATE TABLE \"main\".\"new\" (\n  \"id\" bigint NOT NULL,\n  \"note\" text NULL DEFAULT 'x'\n);".to_string(),
                r#"-- destructive: DROP TABLE "main"."old";"#.into(),
                r#"ALTER TABLE "main"."t" ADD COLUMN "b" bigint NULL;"#.into(),
                r#"-- destructive: ALTER TABLE "main"."t" DROP COLUMN "c";"#.into(),
                format!(r#"{rebuild} "main"."t"."a" has type integer"#),
                format!(r#"{rebuild} "main"."t"."a" is NOT NULL"#),
                format!(r#"{rebuild} "main"."t"."a" has DEFAULT 0"#),
                format!(r#"{rebuild} "main"."t"."a" has no default"#),
            ]
        );
    }
}
