//! MySQL and MariaDB: catalog read through `information_schema`, fixes in MySQL's dialect.
//!
//! The two servers answer the catalog differently (MariaDB quotes literal defaults and stores `json`
//! as `longtext` with a `json_valid` check; MySQL 8 shows literals bare), so each connection learns
//! which server it talks to once, when it connects, and the catalog query and its reading follow.

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{Executor, Row};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use super::{column_definition, render_portable, SessionLimits};
use crate::dialect::Engine;
use crate::model::{Change, Column, Schema, TableName};
use crate::normalize::quote_mysql_literal_default;

/// Which server is behind a pool, learnt at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// MariaDB (any version with `information_schema.CHECK_CONSTRAINTS`, 10.2+).
    MariaDb,
    /// Oracle MySQL 8.
    MySql,
}

/// Columns of every table and view in the given databases, in one round trip. Text columns are cast
/// to CHAR because MySQL 8 sends some `information_schema` columns as binary strings. `{JSON}` is
/// replaced per flavor: MariaDB's `json` is a `longtext` with a `json_valid` check constraint.
pub const CATALOG_QUERY: &str = r#"
SELECT CAST(c.TABLE_SCHEMA AS CHAR) AS schema_name,
       CAST(c.TABLE_NAME AS CHAR) AS table_name,
       CAST(c.COLUMN_NAME AS CHAR) AS column_name,
       CAST(c.COLUMN_TYPE AS CHAR) AS column_type,
       CAST(c.IS_NULLABLE AS CHAR) AS is_nullable,
       CAST(c.COLUMN_DEFAULT AS CHAR) AS column_default,
       CAST(c.EXTRA AS CHAR) AS extra,
       {JSON} AS json_checked
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA IN ({SCHEMAS})
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
"#;

const MARIADB_JSON: &str = "EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS cc \
     WHERE cc.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND cc.TABLE_NAME = c.TABLE_NAME \
     AND cc.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)'))";

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
        .connect_lazy_with(options);
    Ok(MySqlHandle { pool, flavor })
}

pub(super) async fn introspect(
    handle: &MySqlHandle,
    schemas: &[String],
) -> Result<Schema, sqlx::Error> {
    let mut conn = handle.pool.acquire().await?;
    // Connecting ran after_connect, which recorded the flavor.
    let flavor = handle.flavor.get().copied().unwrap_or(Flavor::MySql);
    let placeholders = vec!["?"; schemas.len().max(1)].join(", ");
    let query = CATALOG_QUERY.replace("{SCHEMAS}", &placeholders).replace(
        "{JSON}",
        if flavor == Flavor::MariaDb {
            MARIADB_JSON
        } else {
            "0"
        },
    );
    let mut q = sqlx::query(&query);
    for s in schemas {
        q = q.bind(s);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut schema = Schema::default();
    for row in rows {
        let name = TableName::new(
            row.try_get::<String, _>("schema_name")?,
            row.try_get::<String, _>("table_name")?,
        );
        let column: String = row.try_get("column_name")?;
        let mut data_type: String = row.try_get("column_type")?;
        let nullable = row.try_get::<String, _>("is_nullable")? == "YES";
        let extra = row
            .try_get::<Option<String>, _>("extra")?
            .unwrap_or_default()
            .to_ascii_lowercase();
        if row.try_get::<i64, _>("json_checked")? != 0 && data_type.eq_ignore_ascii_case("longtext")
        {
            data_type = "json".into();
        }
        let raw_default: Option<String> = row.try_get("column_default")?;
        // auto_increment and generated columns compute their value: no default a person set.
        let computed = extra.contains("auto_increment")
            || (extra.contains("generated") && !extra.contains("default_generated"));
        let default = match raw_default {
            _ if computed => None,
            None => None,
            Some(d) if flavor == Flavor::MySql => Some(quote_mysql_literal_default(
                &d,
                extra.contains("default_generated"),
            )),
            Some(d) => Some(d),
        };
        let c = Column::new(
            Engine::MySql,
            column,
            Some(&data_type),
            Some(nullable),
            Some(default.as_deref()),
        );
        schema.add_catalog_row(Engine::MySql, name, Some(c));
    }
    Ok(schema)
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
        Change::AlterType { table, column } | Change::SetNullable { table, column } => format!(
            "ALTER TABLE {} MODIFY COLUMN {};",
            qualified(table),
            column_definition(quote_backtick, column)
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
