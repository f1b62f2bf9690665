//! The engine seam: which databases we can read, and the one place each engine is registered.
//!
//! Adding an engine means one new file here (connect, catalog query, SQL dialect) and one variant in
//! [`Engine`] and [`Pool`]; the compiler then points at every `match` that needs an arm. Type and
//! default spellings live in [`crate::normalize`] so all engines' rules can be read side by side.

pub mod mysql;
pub mod postgres;
pub mod sqlite;

use serde::Serialize;
use std::time::Duration;

use crate::diff::Fix;
use crate::model::{Column, Schema};
use crate::secret::DatabaseUrl;

/// A database engine we can introspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// PostgreSQL 12 or newer, read through `pg_catalog`.
    Postgres,
    /// SQLite 3.33 or newer (bundled with the binary), read through `sqlite_schema`.
    Sqlite,
    /// MySQL 8 or MariaDB 10.2+, read through `information_schema`.
    MySql,
}

impl Engine {
    /// Picks the engine from a URL's scheme, as sqlx spells them.
    pub fn from_url(url: &str) -> Result<Engine, String> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(Engine::Postgres),
            "sqlite" => Ok(Engine::Sqlite),
            "mysql" | "mariadb" => Ok(Engine::MySql),
            "" => Err("the URL has no scheme (expected postgres://, mysql:// or sqlite:)".into()),
            other => Err(format!(
                "unsupported URL scheme `{other}` (supported: postgres, postgresql, mysql, mariadb, sqlite)"
            )),
        }
    }

    /// Lower-case engine name, as used in `/drift` and logs.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Sqlite => "sqlite",
            Engine::MySql => "mysql",
        }
    }

    /// The namespaces read when the config names none. MySQL reads the URL's database, so a
    /// MySQL URL without one has none (and is rejected by config validation).
    pub fn default_schemas(self, url: &str) -> Vec<String> {
        match self {
            Engine::Postgres => vec!["public".into()],
            Engine::Sqlite => vec!["main".into()],
            Engine::MySql => mysql::url_database(url).into_iter().collect(),
        }
    }

    /// The schemas this engine can read at all, or `None` when any name may exist.
    pub fn fixed_schemas(self) -> Option<&'static [&'static str]> {
        match self {
            Engine::Postgres | Engine::MySql => None,
            Engine::Sqlite => Some(&["main"]),
        }
    }

    /// The key under which an identifier is compared. PostgreSQL stores identifiers exactly as
    /// created (unquoted ones already folded to lower case); SQLite and MySQL/MariaDB compare column
    /// names case-insensitively (and table names too on the usual `lower_case_table_names` setups).
    pub fn fold_identifier(self, ident: &str) -> String {
        match self {
            Engine::Postgres => ident.to_string(),
            Engine::Sqlite | Engine::MySql => ident.to_lowercase(),
        }
    }

    /// Renders a fix as SQL in this engine's dialect.
    pub fn render_fix(self, fix: &Fix) -> String {
        match self {
            Engine::Postgres => postgres::render_fix(fix),
            Engine::Sqlite => sqlite::render_fix(fix),
            Engine::MySql => mysql::render_fix(fix),
        }
    }
}

/// Limits applied to every session the exporter opens.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// How long to keep trying to get a connection. Shorter than the check timeout, so that an
    /// unreachable server is reported as such rather than as a generic timeout.
    pub connect_timeout: Duration,
    /// Upper bound for one catalog read; the server cancels the statement after it.
    pub statement_timeout: Duration,
}

impl SessionLimits {
    /// Limits derived from a check's overall timeout.
    pub fn for_check(timeout: Duration) -> SessionLimits {
        SessionLimits {
            connect_timeout: timeout.mul_f64(0.75),
            statement_timeout: timeout,
        }
    }
}

/// A lazily connected, read-only connection pool of one or two connections.
#[derive(Debug, Clone)]
pub enum Pool {
    /// PostgreSQL pool.
    Postgres(sqlx::PgPool),
    /// SQLite pool.
    Sqlite(sqlx::SqlitePool),
    /// MySQL/MariaDB pool, with the server flavor its connections reported.
    MySql(mysql::MySqlHandle),
}

impl Pool {
    /// Builds a pool without connecting: the daemon must start and serve while a database is down.
    pub fn connect_lazy(
        engine: Engine,
        url: &DatabaseUrl,
        limits: SessionLimits,
    ) -> Result<Pool, sqlx::Error> {
        match engine {
            Engine::Postgres => postgres::connect_lazy(url.expose(), limits).map(Pool::Postgres),
            Engine::Sqlite => sqlite::connect_lazy(url.expose(), limits).map(Pool::Sqlite),
            Engine::MySql => mysql::connect_lazy(url.expose(), limits).map(Pool::MySql),
        }
    }

    /// Reads every table and column of `schemas` in one catalog round trip.
    pub async fn introspect(&self, schemas: &[String]) -> Result<Schema, sqlx::Error> {
        match self {
            Pool::Postgres(pool) => postgres::introspect(pool, schemas).await,
            Pool::Sqlite(pool) => sqlite::introspect(pool).await,
            Pool::MySql(handle) => mysql::introspect(handle, schemas).await,
        }
    }

    /// Closes every connection; used when a poller stops or the config is reloaded.
    pub async fn close(&self) {
        match self {
            Pool::Postgres(pool) => pool.close().await,
            Pool::Sqlite(pool) => pool.close().await,
            Pool::MySql(handle) => handle.pool.close().await,
        }
    }
}

/// Quotes an identifier the SQL-standard way, as PostgreSQL and SQLite both accept.
pub(crate) fn quote_double(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `"name" type [NOT NULL|NULL] [DEFAULT expr]`, shared by engines whose column syntax agrees.
pub(crate) fn column_definition(quote: fn(&str) -> String, column: &Column) -> String {
    let mut sql = format!(
        "{} {}",
        quote(&column.name),
        column
            .data_type
            .as_deref()
            .unwrap_or("/* type not stated in the expectation */ text")
    );
    match column.nullable {
        Some(false) => sql.push_str(" NOT NULL"),
        Some(true) => sql.push_str(" NULL"),
        None => {}
    }
    if let Some(Some(default)) = &column.default {
        sql.push_str(" DEFAULT ");
        sql.push_str(default);
    }
    sql
}

/// The table-qualified name with `quote` applied to both parts.
pub(crate) fn qualified(quote: fn(&str) -> String, name: &crate::model::TableName) -> String {
    format!("{}.{}", quote(&name.schema), quote(&name.name))
}

/// Renders the fixes in their SQL-standard form: create/drop a table, add/drop a column, and
/// `ALTER COLUMN ... SET|DROP DEFAULT`. Each engine renders what its dialect does differently (type
/// and nullability changes, or whatever it cannot do in place) and passes every other fix here.
pub(crate) fn render_portable(fix: &Fix, quote: fn(&str) -> String) -> String {
    match *fix {
        Fix::CreateTable(table) => {
            let columns: Vec<String> = table
                .columns
                .values()
                .map(|c| format!("  {}", column_definition(quote, c)))
                .collect();
            format!(
                "CREATE TABLE {} (\n{}\n);",
                qualified(quote, &table.name),
                columns.join(",\n")
            )
        }
        Fix::DropTable(name) => format!("-- destructive: DROP TABLE {};", qualified(quote, name)),
        Fix::AddColumn(table, column) => format!(
            "ALTER TABLE {} ADD COLUMN {};",
            qualified(quote, table),
            column_definition(quote, column)
        ),
        Fix::DropColumn(table, column) => format!(
            "-- destructive: ALTER TABLE {} DROP COLUMN {};",
            qualified(quote, table),
            quote(column)
        ),
        Fix::SetDefault(table, column, Some(d)) => format!(
            "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {d};",
            qualified(quote, table),
            quote(column)
        ),
        Fix::SetDefault(table, column, None) => format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT;",
            qualified(quote, table),
            quote(column)
        ),
        Fix::AlterType(table, column, ..) | Fix::SetNullable(table, column, ..) => format!(
            "-- alter {}.{} by hand: this engine has no portable syntax for it",
            qualified(quote, table),
            quote(column)
        ),
    }
}
