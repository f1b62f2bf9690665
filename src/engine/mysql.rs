//! MySQL and MariaDB: catalog read through `information_schema`, fixes in MySQL's dialect.
//!
//! The two servers answer the catalog differently (MariaDB quotes literal defaults and stores `json`
//! as `longtext` with a `json_valid` check; MySQL 8 shows literals bare), so each connection learns
//! which server it talks to once, when it connects, and the catalog query and its reading follow.

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{Executor, Row};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use super::{column_definition, render_portable, SessionLimits};
use crate::dialect::Engine;
use crate::model::{
    CatalogBuilder, Change, Check, Column, ForeignKey, ForeignKeyBuilder, ForeignKeyRow, Index,
    IndexBuilder, Schema, TableName,
};
use crate::normalize::quote_mysql_literal_default;
use crate::tenant::Tenants;
use futures_util::TryStreamExt;

/// Which server is behind a pool, learnt at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// MariaDB (any version with `information_schema.CHECK_CONSTRAINTS`, 10.2+).
    MariaDb,
    /// Oracle MySQL 8.
    MySql,
}

/// Columns of every table and view in the given databases, in one round trip. Text columns are cast
/// to CHAR because MySQL 8 sends some `information_schema` columns as binary strings. `{SCOPE}` is
/// the databases' predicate on the named column ([`scope`]).
pub const CATALOG_QUERY: &str = r#"
SELECT CAST(c.TABLE_SCHEMA AS CHAR) AS schema_name,
       CAST(c.TABLE_NAME AS CHAR) AS table_name,
       CAST(c.COLUMN_NAME AS CHAR) AS column_name,
       CAST(c.COLUMN_TYPE AS CHAR) AS column_type,
       CAST(c.IS_NULLABLE AS CHAR) AS is_nullable,
       CAST(c.COLUMN_DEFAULT AS CHAR) AS column_default,
       CAST(c.EXTRA AS CHAR) AS extra,
       c.ORDINAL_POSITION AS ordinal
FROM information_schema.COLUMNS c
WHERE {SCOPE:c.TABLE_SCHEMA}
"#;

/// With tenant patterns, one row per matching database comes first, with no table: a tenant
/// database without tables has no columns to show that it exists.
pub const TENANT_DATABASES_QUERY: &str = r#"
SELECT CAST(s.SCHEMA_NAME AS CHAR) AS schema_name,
       CAST(NULL AS CHAR) AS table_name,
       CAST(NULL AS CHAR) AS column_name,
       CAST(NULL AS CHAR) AS column_type,
       CAST(NULL AS CHAR) AS is_nullable,
       CAST(NULL AS CHAR) AS column_default,
       CAST(NULL AS CHAR) AS extra,
       0 AS ordinal
FROM information_schema.SCHEMATA s
WHERE {SCOPE:s.SCHEMA_NAME}
"#;

/// The order every catalog read returns rows in: grouped by database and table.
const CATALOG_ORDER: &str = "ORDER BY schema_name, table_name, ordinal";

/// MariaDB's `json` is a `longtext` with a `json_valid(`column`)` check constraint. The checks are
/// read once per catalog read and matched in memory: asking per column (a correlated subquery) made
/// MariaDB re-scan its constraint catalog for every column, seconds on an ordinary schema.
pub const MARIADB_JSON_CHECKS: &str = r#"
SELECT CAST(CONSTRAINT_SCHEMA AS CHAR) AS schema_name,
       CAST(TABLE_NAME AS CHAR) AS table_name,
       CAST(CHECK_CLAUSE AS CHAR) AS check_clause
FROM information_schema.CHECK_CONSTRAINTS
WHERE {SCOPE:CONSTRAINT_SCHEMA}
  AND CHECK_CLAUSE LIKE 'json_valid(%'
"#;

/// Every index of every table in the given databases (the primary key is the one named `PRIMARY`;
/// unique constraints are unique indexes), one row per key part, in one round trip. A
/// functional key part (MySQL 8) has no column name. `SUB_PART` is a prefix part's length in
/// characters; `COLLATION` is `D` for a descending part (MariaDB 10.8, MySQL 8).
pub const INDEX_QUERY: &str = r#"
SELECT CAST(s.TABLE_SCHEMA AS CHAR) AS schema_name,
       CAST(s.TABLE_NAME AS CHAR) AS table_name,
       CAST(s.INDEX_NAME AS CHAR) AS index_name,
       s.NON_UNIQUE AS non_unique,
       CAST(s.COLUMN_NAME AS CHAR) AS column_name,
       CAST(s.INDEX_TYPE AS CHAR) AS index_type,
       CAST(s.SUB_PART AS SIGNED) AS sub_part,
       CAST(s.COLLATION AS CHAR) AS collation,
       s.SEQ_IN_INDEX AS seq
FROM information_schema.STATISTICS s
WHERE {SCOPE:s.TABLE_SCHEMA}
ORDER BY schema_name, table_name, index_name, seq
"#;

/// A pool plus the flavor its connections reported.
#[derive(Debug, Clone)]
pub struct MySqlHandle {
    /// The pool.
    pub pool: MySqlPool,
    flavor: Arc<OnceLock<Flavor>>,
}

pub(super) fn connect_lazy(url: &str, limits: SessionLimits) -> Result<MySqlHandle, sqlx::Error> {
    // sqlx knows the scheme as mysql://; mariadb:// is the same protocol.
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_string(),
    };
    let options = MySqlConnectOptions::from_str(&url)?;
    let flavor = Arc::new(OnceLock::new());
    let seen = flavor.clone();
    let timeout = limits.statement_timeout;
    let pool = MySqlPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(limits.connect_timeout)
        .after_connect(move |conn, _| {
            let seen = seen.clone();
            Box::pin(async move {
                let version: String = sqlx::query_scalar("SELECT CAST(VERSION() AS CHAR)")
                    .fetch_one(&mut *conn)
                    .await?;
                let flavor = if version.to_ascii_lowercase().contains("mariadb") {
                    Flavor::MariaDb
                } else {
                    Flavor::MySql
                };
                let _ = seen.set(flavor);
                // Read-only and time-bounded at the session level; the limit's name and unit differ.
                let limit = match flavor {
                    Flavor::MariaDb => format!(
                        "SET SESSION max_statement_time = {:.3}",
                        timeout.as_secs_f64()
                    ),
                    Flavor::MySql => format!(
                        "SET SESSION max_execution_time = {}",
                        timeout.as_millis().max(1)
                    ),
                };
                conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                conn.execute(limit.as_str()).await?;
                let lock = format!(
                    "SET SESSION lock_wait_timeout = {}",
                    timeout.as_secs().max(1)
                );
                conn.execute(lock.as_str()).await?;
                Ok(())
            })
        })
        .connect_lazy_with(super::quiet(options));
    Ok(MySqlHandle { pool, flavor })
}

pub(super) async fn introspect(
    handle: &MySqlHandle,
    schemas: &[String],
    tenants: Option<&Tenants>,
) -> Result<Schema, sqlx::Error> {
    let scope = Scope::new(schemas, tenants);
    let mut conn = handle.pool.acquire().await?;
    // Connecting ran after_connect, which recorded the flavor.
    let flavor = handle.flavor.get().copied().unwrap_or(Flavor::MySql);
    let json_columns = match flavor {
        Flavor::MariaDb => json_columns(&mut conn, &scope).await?,
        Flavor::MySql => HashSet::new(),
    };
    let query = match tenants {
        Some(_) => format!("{TENANT_DATABASES_QUERY} UNION ALL {CATALOG_QUERY} {CATALOG_ORDER}"),
        None => format!("{CATALOG_QUERY} {CATALOG_ORDER}"),
    };
    let (query, placeholders) = scope.fill(&query);
    let mut rows = scope.bind(&query, placeholders).fetch(&mut *conn);
    let mut catalog = CatalogBuilder::new(Engine::MySql);
    while let Some(row) = rows.try_next().await? {
        let schema: &str = row.try_get("schema_name")?;
        let Some(table) = row.try_get::<Option<&str>, _>("table_name")? else {
            catalog.namespace(schema);
            continue;
        };
        catalog.table(schema, table);
        let column: &str = row.try_get("column_name")?;
        let mut data_type: &str = row.try_get("column_type")?;
        if data_type.eq_ignore_ascii_case("longtext")
            && json_columns.contains(&(schema.to_string(), table.to_string(), column.to_string()))
        {
            data_type = "json";
        }
        let auto_increment = row
            .try_get::<Option<&str>, _>("extra")?
            .is_some_and(|e| e.to_ascii_lowercase().contains("auto_increment"));
        catalog.column(
            Column::new(
                Engine::MySql,
                column,
                Some(data_type),
                Some(row.try_get::<&str, _>("is_nullable")? == "YES"),
                Some(column_default(&row, flavor)?.as_deref()),
            )
            .with_identity(auto_increment),
        );
    }
    Ok(catalog.finish())
}

/// Every index of the tables in `schemas` and the databases `tenants` match, by table key.
pub(super) async fn indexes(
    handle: &MySqlHandle,
    schemas: &[String],
    tenants: Option<&Tenants>,
) -> Result<HashMap<TableName, Vec<Index>>, sqlx::Error> {
    let scope = Scope::new(schemas, tenants);
    let (query, placeholders) = scope.fill(INDEX_QUERY);
    let mut conn = handle.pool.acquire().await?;
    let mut rows = scope.bind(&query, placeholders).fetch(&mut *conn);
    let mut indexes = IndexBuilder::new(Engine::MySql);
    while let Some(row) = rows.try_next().await? {
        let table = TableName::new(
            row.try_get::<&str, _>("schema_name")?,
            row.try_get::<&str, _>("table_name")?,
        );
        let mut part = indexes.part(row.try_get("column_name")?, None);
        part.length = row
            .try_get::<Option<i64>, _>("sub_part")?
            .and_then(|n| u32::try_from(n).ok());
        part.descending = row.try_get::<Option<&str>, _>("collation")? == Some("D");
        indexes.add(&table, row.try_get("index_name")?, part, |name| {
            let primary = name == "PRIMARY";
            let unique = row.try_get::<i64, _>("non_unique")? == 0;
            let mut index = Index::new(name, primary, unique);
            index.method = Some(row.try_get::<String, _>("index_type")?.to_ascii_lowercase());
            Ok::<_, sqlx::Error>(index)
        })?;
    }
    Ok(indexes.finish())
}

/// Every foreign key, one row per column pair in key order. `{SCOPE}` as in [`CATALOG_QUERY`].
pub const FOREIGN_KEY_QUERY: &str = r#"
SELECT CAST(k.TABLE_SCHEMA AS CHAR) AS schema_name,
       CAST(k.TABLE_NAME AS CHAR) AS table_name,
       CAST(k.CONSTRAINT_NAME AS CHAR) AS key_name,
       CAST(k.COLUMN_NAME AS CHAR) AS column_name,
       CAST(k.REFERENCED_TABLE_SCHEMA AS CHAR) AS target_schema,
       CAST(k.REFERENCED_TABLE_NAME AS CHAR) AS target_table,
       CAST(k.REFERENCED_COLUMN_NAME AS CHAR) AS target_column,
       CAST(r.DELETE_RULE AS CHAR) AS on_delete,
       CAST(r.UPDATE_RULE AS CHAR) AS on_update
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA
 AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
 AND r.TABLE_NAME = k.TABLE_NAME
WHERE {SCOPE:k.TABLE_SCHEMA}
  AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
"#;

/// Every check constraint, one row each, with its condition as the server prints it. MariaDB
/// keeps check names per table (a column's check is named after the column), so its
/// `CHECK_CONSTRAINTS` has the table; MySQL 8's does not, and is not read yet.
pub const CHECK_QUERY: &str = r#"
SELECT CAST(c.CONSTRAINT_SCHEMA AS CHAR) AS schema_name,
       CAST(c.TABLE_NAME AS CHAR) AS table_name,
       CAST(c.CONSTRAINT_NAME AS CHAR) AS check_name,
       CAST(c.CHECK_CLAUSE AS CHAR) AS expression
FROM information_schema.CHECK_CONSTRAINTS c
WHERE {SCOPE:c.CONSTRAINT_SCHEMA}
ORDER BY c.CONSTRAINT_SCHEMA, c.TABLE_NAME, c.CONSTRAINT_NAME
"#;

/// Every check constraint of the tables in `schemas` and the databases `tenants` match, by
/// table key; MariaDB's check behind a `json` column is its type, not a constraint, and is left
/// out.
pub(super) async fn checks(
    handle: &MySqlHandle,
    schemas: &[String],
    tenants: Option<&Tenants>,
) -> Result<HashMap<TableName, Vec<Check>>, sqlx::Error> {
    let scope = Scope::new(schemas, tenants);
    let (query, placeholders) = scope.fill(CHECK_QUERY);
    let mut conn = handle.pool.acquire().await?;
    let mut rows = scope.bind(&query, placeholders).fetch(&mut *conn);
    let mut checks: HashMap<TableName, Vec<Check>> = HashMap::new();
    while let Some(row) = rows.try_next().await? {
        let table = TableName::new(
            row.try_get::<&str, _>("schema_name")?,
            row.try_get::<&str, _>("table_name")?,
        );
        let check = Check {
            name: row.try_get("check_name")?,
            name_given: true,
            expression: row.try_get("expression")?,
            validated: true,
        };
        if check.is_json_type_check() {
            continue;
        }
        checks
            .entry(Schema::key(Engine::MySql, &table))
            .or_default()
            .push(check);
    }
    Ok(checks)
}

/// Every foreign key of the tables in `schemas` and the databases `tenants` match, by table key.
pub(super) async fn foreign_keys(
    handle: &MySqlHandle,
    schemas: &[String],
    tenants: Option<&Tenants>,
) -> Result<HashMap<TableName, Vec<ForeignKey>>, sqlx::Error> {
    let scope = Scope::new(schemas, tenants);
    let (query, placeholders) = scope.fill(FOREIGN_KEY_QUERY);
    let mut conn = handle.pool.acquire().await?;
    let mut rows = scope.bind(&query, placeholders).fetch(&mut *conn);
    let mut keys = ForeignKeyBuilder::new(Engine::MySql);
    while let Some(row) = rows.try_next().await? {
        let name: &str = row.try_get("key_name")?;
        keys.add(ForeignKeyRow {
            table: TableName::new(
                row.try_get::<&str, _>("schema_name")?,
                row.try_get::<&str, _>("table_name")?,
            ),
            group: name.to_string(),
            name,
            column: row.try_get("column_name")?,
            target: TableName::new(
                row.try_get::<&str, _>("target_schema")?,
                row.try_get::<&str, _>("target_table")?,
            ),
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

/// Which databases a catalog read covers, as SQL: names exactly, tenant patterns by their `LIKE`
/// prefix (the glob decides afterwards, in [`super::Pool::introspect`]), system databases never
/// by pattern.
struct Scope<'a> {
    names: &'a [String],
    likes: Vec<String>,
}

impl<'a> Scope<'a> {
    fn new(names: &'a [String], tenants: Option<&Tenants>) -> Scope<'a> {
        Scope {
            names,
            likes: tenants.map(Tenants::like_prefixes).unwrap_or_default(),
        }
    }

    /// `query` with every `{SCOPE:COLUMN}` replaced by the predicate on that column, and how
    /// many there were: each takes the same parameters, bound in order by [`Scope::bind`].
    fn fill(&self, query: &str) -> (String, usize) {
        let mut out = String::with_capacity(query.len() + 64);
        let mut rest = query;
        let mut count = 0;
        while let Some(at) = rest.find("{SCOPE:") {
            count += 1;
            out.push_str(&rest[..at]);
            let after = &rest[at + 7..];
            let end = after
                .find('}')
                .expect("a {SCOPE:...} placeholder is closed");
            out.push_str(&self.predicate(&after[..end]));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        (out, count)
    }

    fn predicate(&self, column: &str) -> String {
        let mut parts = Vec::new();
        if !self.names.is_empty() {
            parts.push(format!(
                "{column} IN ({})",
                vec!["?"; self.names.len()].join(", ")
            ));
        }
        if !self.likes.is_empty() {
            let likes = vec![format!("{column} LIKE ?"); self.likes.len()].join(" OR ");
            parts.push(format!(
                "(({likes}) AND {column} NOT IN \
                 ('mysql', 'information_schema', 'performance_schema', 'sys'))"
            ));
        }
        if parts.is_empty() {
            return "FALSE".into();
        }
        format!("({})", parts.join(" OR "))
    }

    /// `query` (filled with `placeholders` predicates) with their parameters bound.
    fn bind<'q>(
        &'q self,
        query: &'q str,
        placeholders: usize,
    ) -> sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments> {
        let mut q = sqlx::query(query);
        for _ in 0..placeholders {
            for name in self.names {
                q = q.bind(name);
            }
            for like in &self.likes {
                q = q.bind(like);
            }
        }
        q
    }
}

/// The (schema, table, column) of every MariaDB `json` column, from its `json_valid` check.
async fn json_columns(
    conn: &mut sqlx::MySqlConnection,
    scope: &Scope<'_>,
) -> Result<HashSet<(String, String, String)>, sqlx::Error> {
    let (query, placeholders) = scope.fill(MARIADB_JSON_CHECKS);
    let rows = scope
        .bind(&query, placeholders)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = HashSet::new();
    for row in rows {
        let clause: String = row.try_get("check_clause")?;
        if let Some(column) = json_valid_column(&clause) {
            out.insert((
                row.try_get("schema_name")?,
                row.try_get("table_name")?,
                column,
            ));
        }
    }
    Ok(out)
}

/// The column of a check clause that is exactly `json_valid(`column`)`, as MariaDB writes it.
fn json_valid_column(clause: &str) -> Option<String> {
    let quoted = clause.strip_prefix("json_valid(`")?.strip_suffix("`)")?;
    // A backtick inside the name is doubled; an undoubled one means the clause is something else.
    let name = quoted.replace("``", "`");
    (!name.is_empty() && name.matches('`').count() * 2 == quoted.matches('`').count())
        .then_some(name)
}

/// The column's default as a person would write it: none for computed columns, MySQL 8 literals
/// quoted the way MariaDB shows them.
fn column_default(row: &MySqlRow, flavor: Flavor) -> Result<Option<String>, sqlx::Error> {
    let extra = row
        .try_get::<Option<String>, _>("extra")?
        .unwrap_or_default()
        .to_ascii_lowercase();
    // auto_increment and generated columns compute their value: no default a person set.
    let computed = extra.contains("auto_increment")
        || (extra.contains("generated") && !extra.contains("default_generated"));
    let raw: Option<String> = row.try_get("column_default")?;
    Ok(match raw {
        _ if computed => None,
        None => None,
        Some(d) if flavor == Flavor::MySql => Some(quote_mysql_literal_default(
            &d,
            extra.contains("default_generated"),
        )),
        Some(d) => Some(d),
    })
}

/// Quotes an identifier with backticks, MySQL's way.
pub(crate) fn quote_backtick(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

fn qualified(name: &TableName) -> String {
    super::qualified(quote_backtick, name)
}

/// A change in MySQL's dialect: `MODIFY` restates the whole column, so it carries every attribute
/// the column should keep (a bare type change would silently drop NOT NULL and the default).
pub(super) fn render(change: &Change) -> String {
    match change {
        // AUTO_INCREMENT is part of the definition too: a MODIFY without it removes it.
        Change::AlterType { table, column } | Change::SetNullable { table, column } => format!(
            "ALTER TABLE {} MODIFY COLUMN {}{};",
            qualified(table),
            column_definition(quote_backtick, column),
            if column.identity == Some(true) {
                " AUTO_INCREMENT"
            } else {
                ""
            }
        ),
        _ => render_portable(change, quote_backtick),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_change_renders_as_mysql_sql() {
        let sql: Vec<String> = super::super::every_change(Engine::MySql, "app")
            .iter()
            .map(render)
            .collect();
        assert_eq!(
            sql,
            [
                "CREATE TABLE `app`.`new` (\n  `id` bigint NOT NULL,\n  `note` text NULL DEFAULT 'x'\n);",
                "-- destructive: DROP TABLE `app`.`old`;",
                "ALTER TABLE `app`.`t` ADD COLUMN `b` bigint NULL;",
                "-- destructive: ALTER TABLE `app`.`t` DROP COLUMN `c`;",
                "ALTER TABLE `app`.`t` MODIFY COLUMN `a` int NOT NULL DEFAULT 0;",
                "ALTER TABLE `app`.`t` MODIFY COLUMN `a` int NOT NULL DEFAULT 0;",
                "ALTER TABLE `app`.`t` ALTER COLUMN `a` SET DEFAULT 0;",
                "ALTER TABLE `app`.`t` ALTER COLUMN `a` DROP DEFAULT;",
            ]
        );
    }

    #[test]
    fn only_a_bare_json_valid_check_makes_a_json_column() {
        assert_eq!(
            json_valid_column("json_valid(`payload`)").as_deref(),
            Some("payload")
        );
        assert_eq!(
            json_valid_column("json_valid(`we``ird`)").as_deref(),
            Some("we`ird")
        );
        assert_eq!(json_valid_column("json_valid(`a`) and `b` > 0"), None);
        assert_eq!(
            json_valid_column("json_valid(`a`) or json_valid(`b`)"),
            None
        );
        assert_eq!(json_valid_column("json_valid(``)"), None);
    }

    #[test]
    fn backticks_in_names_are_doubled() {
        let change = Change::DropTable {
            table: TableName::new("app", "we`ird"),
        };
        assert_eq!(
            render(&change),
            "-- destructive: DROP TABLE `app`.`we``ird`;"
        );
    }
}
