//! The engine seam: which databases we can read, and the one place each engine is registered.
//!
//! The I/O side of an engine: pools, the catalog read, and the SQL that renders a [`Change`]. Which
//! engine a database runs (its identity, identifier folding, namespaces) is [`crate::dialect`]'s.
//! Adding an engine means one new file here (connect, catalog query, rendering) and one variant in
//! [`Engine`] and [`Pool`]; the compiler then points at every `match` that needs an arm. Type and
//! default spellings live in [`crate::normalize`] so all engines' rules can be read side by side.

mod connect;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

pub use connect::classify;

use std::time::Duration;

use crate::dialect::Engine;
use crate::model::{Change, Column, ForeignKey, Index, Schema, TableName};
use crate::secret::DatabaseUrl;
use crate::tenant::Tenants;
use std::collections::HashMap;

/// Renders a change as SQL in `engine`'s dialect: what the check attaches to each drift item.
pub fn render_change(engine: Engine, change: &Change) -> String {
    if let Change::Steps(steps) = change {
        let each: Vec<String> = steps.iter().map(|c| render_change(engine, c)).collect();
        return each.join("\n");
    }
    let sql = match render_key_change(engine, change) {
        Some(sql) => sql,
        None => match engine {
            Engine::Postgres => postgres::render(change),
            Engine::Sqlite => sqlite::render(change),
            Engine::MySql => mysql::render(change),
        },
    };
    keep_comments_closed(sql)
}

/// A line break inside a quoted name or label of a `--` comment would end the comment and make
/// the rest of the name a statement; there it is written as `\n` (`\r`) instead. Line breaks
/// inside quotes of a statement are the name itself and stay.
fn keep_comments_closed(sql: String) -> String {
    if !sql.contains(['\n', '\r']) {
        return sql;
    }
    let mut out = String::with_capacity(sql.len());
    let (mut line_start, mut comment, mut quote) = (true, false, None::<char>);
    for (i, c) in sql.char_indices() {
        if line_start {
            comment = sql[i..].starts_with("--");
            line_start = false;
        }
        match c {
            '\n' | '\r' if comment && quote.is_some() => {
                out.push_str(if c == '\n' { "\\n" } else { "\\r" });
                continue;
            }
            '\n' => {
                line_start = true;
                quote = None;
            }
            '"' | '`' | '\'' if comment => match quote {
                Some(q) if q == c => quote = None,
                None => quote = Some(c),
                Some(_) => {}
            },
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A constraint's key list and what follows it: `(a, b) INCLUDE (c) DEFERRABLE`. A prefix
/// length stays (MySQL writes it in a constraint too); a direction does not (PostgreSQL's
/// constraints take none, and an index with one is created as an index).
fn constraint_keys(quote: fn(&str) -> String, index: &Index) -> String {
    let mut out = index.key_list(quote);
    out.push_str(&index.tail(quote));
    out.push_str(index.deferral());
    out
}

/// Keys and indexes in `engine`'s dialect (`None` for every other change). PostgreSQL builds
/// indexes `CONCURRENTLY` (no write lock on a live table); MySQL and SQLite need an index name,
/// made from the table and columns when the expectation gives none; SQLite cannot add or drop a
/// primary key in place. A unique index over rows that may hold duplicates says how to find them.
fn render_key_change(engine: Engine, change: &Change) -> Option<String> {
    let quote: fn(&str) -> String = match engine {
        Engine::MySql => mysql::quote_backtick,
        _ => quote_double,
    };
    let q = |t: &TableName| qualified(quote, t);
    // Where duplicates would make a unique build fail, the query that lists them.
    let duplicates = |table: &TableName, index: &Index| -> String {
        let columns: Vec<String> = index
            .parts
            .iter()
            .filter_map(|p| p.column_name().map(|c| quote(c)))
            .collect();
        if !index.unique || columns.is_empty() {
            return String::new();
        }
        let list = columns.join(", ");
        format!(
            "-- fails while duplicates exist; list them first: SELECT {list}, count(*) FROM {} GROUP BY {list} HAVING count(*) > 1;\n",
            q(table)
        )
    };
    let partial = |index: &Index| {
        if index.partial && index.predicate.is_none() {
            "-- partial index: add the expected WHERE clause before running\n"
        } else {
            ""
        }
    };
    // Before the statement's `;`.
    let predicate = |index: &Index| match index.predicate.as_deref() {
        Some(p) if index.partial && engine != Engine::MySql => format!(" WHERE {p}"),
        _ => String::new(),
    };
    let name = |table: &TableName, index: &Index| -> String {
        // SQLite reserves its autoindex names: a constraint's index made again is named anew.
        if !index.name.is_empty() && !index.name.starts_with("sqlite_autoindex_") {
            return index.name.clone();
        }
        let mut made = table.name.clone();
        for part in &index.parts {
            match part.column_name() {
                Some(c) => {
                    made.push('_');
                    made.push_str(c);
                }
                None => made.push_str("_expr"),
            }
        }
        made.push_str(if !index.exclusion.is_empty() {
            "_excl"
        } else if index.unique {
            "_key"
        } else {
            "_idx"
        });
        // MySQL's limit; PostgreSQL truncates at 63 bytes by itself.
        made.chars().take(64).collect()
    };
    let method = |index: &Index| match index.method.as_deref() {
        Some(m) if m != "btree" && engine == Engine::Postgres => format!(" USING {m}"),
        _ => String::new(),
    };
    let sql = match change {
        // NOT NULL without a default fails on a table with rows: add it nullable, leave the fill
        // to the operator (only they know the value), then make it NOT NULL.
        // PostgreSQL numbers the rows already there from the new identity's sequence.
        Change::AddColumn { table, column }
            if engine == Engine::Postgres && column.identity == Some(true) =>
        {
            format!(
                "ALTER TABLE {} ADD COLUMN {} GENERATED BY DEFAULT AS IDENTITY;",
                q(table),
                column_definition(quote, column)
            )
        }
        Change::AddColumn { table, column }
            if column.nullable == Some(false)
                && !matches!(column.default, Some(Some(_)))
                && column.identity != Some(true) =>
        {
            let mut nullable = column.clone();
            nullable.nullable = Some(true);
            let c = quote(&column.name);
            let add = format!(
                "ALTER TABLE {} ADD COLUMN {};",
                q(table),
                column_definition(quote, &nullable)
            );
            let fill = format!(
                "-- fill {c} on the rows already there before the next statement: UPDATE {} SET {c} = <value> WHERE {c} IS NULL;",
                q(table)
            );
            let not_null = match engine {
                Engine::Postgres => {
                    format!("ALTER TABLE {} ALTER COLUMN {c} SET NOT NULL;", q(table))
                }
                Engine::MySql => format!(
                    "ALTER TABLE {} MODIFY {};",
                    q(table),
                    column_definition(quote, column)
                ),
                Engine::Sqlite => format!(
                    "-- SQLite cannot make a column NOT NULL in place: rebuild {} with {c} NOT NULL (https://www.sqlite.org/lang_altertable.html#otheralter)",
                    q(table)
                ),
            };
            format!("{add}\n{fill}\n{not_null}")
        }
        // A table made with its keys, so inserts work at once: the primary key, unique
        // constraints and foreign keys in the statement, other indexes after it.
        Change::CreateTable { table }
            if table.primary_key.as_ref().is_some_and(Option::is_some)
                || table.indexes.as_ref().is_some_and(|i| !i.is_empty())
                || table.foreign_keys.as_ref().is_some_and(|k| !k.is_empty())
                || table.checks.as_ref().is_some_and(|k| !k.is_empty())
                || table.columns.values().any(|c| c.identity == Some(true)) =>
        {
            // An identity column as each engine spells one: SQLite's is its INTEGER PRIMARY KEY.
            let identity = match engine {
                Engine::Postgres => " GENERATED BY DEFAULT AS IDENTITY",
                Engine::MySql => " AUTO_INCREMENT",
                Engine::Sqlite => "",
            };
            let mut lines: Vec<String> = table
                .columns
                .values()
                .map(|c| {
                    let own = if c.identity == Some(true) { identity } else { "" };
                    format!("  {}{own}", column_definition(quote, c))
                })
                .collect();
            // Names the expectation states are written, so that `names: strict` finds them.
            let named = |name: &str| match name.is_empty() {
                true => String::new(),
                false => format!("CONSTRAINT {} ", quote(name)),
            };
            if let Some(Some(pk)) = &table.primary_key {
                // MySQL's primary key is always named PRIMARY; SQLite keeps no name.
                let name = match engine {
                    Engine::Postgres => named(&pk.name),
                    _ => String::new(),
                };
                lines.push(format!("  {name}PRIMARY KEY {}", constraint_keys(quote, pk)));
            }
            // A part's direction or prefix is an index's, not a constraint's (PostgreSQL).
            let inline = |i: &Index| {
                i.unique
                    && !i.partial
                    && i.parts.iter().all(|p| {
                        p.column_name().is_some() && !p.descending && !p.nulls_reversed
                    })
            };
            let indexes = table.indexes.as_deref().unwrap_or_default();
            for index in indexes.iter().filter(|i| inline(i)) {
                let name = match engine {
                    Engine::Sqlite => String::new(),
                    _ => named(&index.name),
                };
                lines.push(format!(
                    "  {name}UNIQUE{} {}",
                    index.head(),
                    constraint_keys(quote, index)
                ));
            }
            for key in table.foreign_keys.iter().flatten() {
                lines.push(format!(
                    "  {}{}",
                    named(&key.name),
                    foreign_key_clause(engine, quote, key)
                ));
            }
            // A check the expectation names without its condition cannot be written: left out.
            for check in table.checks.iter().flatten() {
                let Some(e) = &check.expression else {
                    continue;
                };
                let condition = crate::model::strip_outer_parens(e);
                // MariaDB names a column's own check after the column, and refuses that name
                // for a table's check when a key has it too: written on the column, as it was.
                let folded = engine.fold_identifier(&check.name);
                let column = table
                    .columns
                    .values()
                    .position(|c| engine.fold_identifier(&c.name) == folded);
                if let (Engine::MySql, Some(at)) = (engine, column) {
                    lines[at].push_str(&format!(" CHECK ({condition})"));
                    continue;
                }
                let named = match check.name.is_empty() {
                    true => String::new(),
                    false => format!("CONSTRAINT {} ", quote(&check.name)),
                };
                lines.push(format!("  {named}CHECK ({condition})"));
            }
            let mut sql = format!(
                "CREATE TABLE {} (\n{}\n);",
                q(&table.name),
                lines.join(",\n")
            );
            for index in indexes.iter().filter(|i| !inline(i)) {
                let create = Change::CreateIndex {
                    table: table.name.clone(),
                    index: index.clone(),
                    partitioned: false,
                };
                if let Some(more) = render_key_change(engine, &create) {
                    sql.push('\n');
                    sql.push_str(&more);
                }
            }
            sql
        }
        // An exclusion constraint makes its own index; its predicate goes in parentheses.
        Change::CreateIndex { table, index, .. } if !index.exclusion.is_empty() => {
            let mut sql = format!(
                "-- fails while rows conflict under it\nALTER TABLE {} ADD CONSTRAINT {} EXCLUDE{} {}{}",
                q(table),
                quote(&name(table, index)),
                method(index),
                index.key_list(quote),
                index.tail(quote)
            );
            // The predicate comes before DEFERRABLE in this syntax.
            if let Some(p) = index.predicate.as_deref().filter(|_| index.partial) {
                sql.push_str(&format!(" WHERE ({p})"));
            }
            sql.push_str(index.deferral());
            sql.push(';');
            format!("{}{sql}", partial(index))
        }
        // Only a constraint can be deferrable: `CREATE UNIQUE INDEX` cannot say it.
        Change::CreateIndex { table, index, .. }
            if engine == Engine::Postgres && index.deferrable && !index.partial =>
        {
            format!(
                "{}ALTER TABLE {} ADD CONSTRAINT {} UNIQUE{} {};",
                duplicates(table, index),
                q(table),
                quote(&name(table, index)),
                index.head(),
                constraint_keys(quote, index)
            )
        }
        Change::CreateIndex {
            table,
            index,
            partitioned,
        } => {
            let keys = format!("{}{}", index.key_list(quote), index.tail(quote));
            let head = match (engine, index.method.as_deref()) {
                (Engine::MySql, Some("fulltext")) => "CREATE FULLTEXT INDEX".to_string(),
                (Engine::MySql, Some("spatial")) => "CREATE SPATIAL INDEX".to_string(),
                _ if index.unique => "CREATE UNIQUE INDEX".to_string(),
                _ => "CREATE INDEX".to_string(),
            };
            let statement = match engine {
                // A partitioned table takes no CONCURRENTLY: the build locks it, or is made
                // per partition and attached (`CREATE INDEX ... ON ONLY`).
                Engine::Postgres => format!(
                    "{head}{} {} ON {}{} {keys}{}{};",
                    if *partitioned { "" } else { " CONCURRENTLY" },
                    quote(&name(table, index)),
                    q(table),
                    method(index),
                    index.head(),
                    predicate(index)
                ),
                Engine::MySql => format!(
                    "{head} {} ON {} {keys};",
                    quote(&name(table, index)),
                    q(table)
                ),
                // SQLite qualifies the index, never the table.
                Engine::Sqlite => format!(
                    "{head} {}.{} ON {} {keys}{};",
                    quote(&table.schema),
                    quote(&name(table, index)),
                    quote(&table.name),
                    predicate(index)
                ),
            };
            format!("{}{}{statement}", duplicates(table, index), partial(index))
        }
        // A constraint's index goes with the constraint only.
        Change::DropIndex { table, index, .. }
            if engine == Engine::Postgres && index.constraint =>
        {
            format!(
                "-- destructive: ALTER TABLE {} DROP CONSTRAINT {};",
                q(table),
                quote(&index.name)
            )
        }
        Change::DropIndex {
            table,
            index,
            partitioned,
        } => match engine {
            Engine::Postgres => format!(
                "-- destructive: DROP INDEX{} {}.{};",
                if *partitioned { "" } else { " CONCURRENTLY" },
                quote(&table.schema),
                quote(&index.name)
            ),
            Engine::MySql => format!(
                "-- destructive: DROP INDEX {} ON {};",
                quote(&index.name),
                q(table)
            ),
            // A UNIQUE constraint's own index cannot be dropped, only the table rebuilt.
            Engine::Sqlite if index.name.starts_with("sqlite_autoindex_") => format!(
                "-- destructive: rebuild {} without its UNIQUE constraint (https://www.sqlite.org/lang_altertable.html#otheralter)",
                q(table)
            ),
            Engine::Sqlite => format!(
                "-- destructive: DROP INDEX {}.{};",
                quote(&table.schema),
                quote(&index.name)
            ),
        },
        // REINDEX cannot mend a partitioned table's index left not valid (made `ON ONLY` the
        // parent, a partition's index never attached): built again on the whole table instead.
        Change::RebuildIndex {
            table,
            index,
            partitioned: true,
        } if engine == Engine::Postgres => {
            let mut fresh = index.clone();
            fresh.valid = true;
            // A constraint's index goes with the constraint only (`ALTER TABLE ONLY ... ADD
            // CONSTRAINT` leaves one not valid, as pg_dump does until partitions attach).
            let drop = match index.constraint {
                true => format!(
                    "ALTER TABLE {} DROP CONSTRAINT {};",
                    q(table),
                    quote(&index.name)
                ),
                false => format!(
                    "DROP INDEX {}.{};",
                    quote(&table.schema),
                    quote(&index.name)
                ),
            };
            let create = match index.primary {
                true => Change::AddPrimaryKey {
                    table: table.clone(),
                    index: fresh,
                },
                false => Change::CreateIndex {
                    table: table.clone(),
                    index: fresh,
                    partitioned: true,
                },
            };
            format!("{drop}\n{}", render_key_change(engine, &create)?)
        }
        Change::RebuildIndex { table, index, .. } => match engine {
            Engine::Postgres => format!(
                "{}REINDEX INDEX CONCURRENTLY {}.{};",
                duplicates(table, index),
                quote(&table.schema),
                quote(&index.name)
            ),
            _ => format!(
                "REINDEX {}.{};",
                quote(&table.schema),
                quote(&index.name)
            ),
        },
        Change::AddPrimaryKey { table, index } => match engine {
            Engine::Sqlite => format!(
                "-- SQLite cannot add a primary key in place: rebuild {} with PRIMARY KEY {} (https://www.sqlite.org/lang_altertable.html#otheralter)",
                q(table),
                index.key_list(quote)
            ),
            // Under its stated name on PostgreSQL (MySQL's is always PRIMARY).
            _ => format!(
                "{}ALTER TABLE {} ADD {}PRIMARY KEY {};",
                duplicates(table, index),
                q(table),
                match (engine, index.name.is_empty()) {
                    (Engine::Postgres, false) => format!("CONSTRAINT {} ", quote(&index.name)),
                    _ => String::new(),
                },
                constraint_keys(quote, index)
            ),
        },
        Change::DropPrimaryKey { table, index } => match engine {
            Engine::Postgres => format!(
                "-- destructive: ALTER TABLE {} DROP CONSTRAINT {};",
                q(table),
                quote(&index.name)
            ),
            Engine::MySql => format!("-- destructive: ALTER TABLE {} DROP PRIMARY KEY;", q(table)),
            Engine::Sqlite => format!(
                "-- destructive: rebuild {} without its primary key (https://www.sqlite.org/lang_altertable.html#otheralter)",
                q(table)
            ),
        },
        Change::AddForeignKey {
            table,
            key,
            partitioned,
        } => {
            let name = if key.name.is_empty() {
                format!("{}_{}_fkey", table.name, key.columns.join("_"))
                    .chars()
                    .take(63)
                    .collect()
            } else {
                key.name.clone()
            };
            let reference = foreign_key_clause(engine, quote, key);
            match engine {
                // A partitioned table's foreign key cannot be NOT VALID: added and checked at once.
                Engine::Postgres if *partitioned => format!(
                    "-- rows that reference nothing make this fail; find them first\nALTER TABLE {} ADD CONSTRAINT {} {reference};",
                    q(table),
                    quote(&name)
                ),
                // NOT VALID takes no long lock; validating later scans without blocking writes.
                Engine::Postgres => format!(
                    "-- rows that reference nothing make VALIDATE fail; find them first\nALTER TABLE {} ADD CONSTRAINT {} {reference} NOT VALID;\nALTER TABLE {} VALIDATE CONSTRAINT {};",
                    q(table),
                    quote(&name),
                    q(table),
                    quote(&name)
                ),
                Engine::MySql => format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} {reference};",
                    q(table),
                    quote(&name)
                ),
                Engine::Sqlite => format!(
                    "-- SQLite cannot add a foreign key in place: rebuild {} with {reference} (https://www.sqlite.org/lang_altertable.html#otheralter)",
                    q(table)
                ),
            }
        }
        Change::SetIdentity { table, column } => {
            let c = quote(&column.name);
            match (engine, column.identity == Some(true)) {
                // The rows already there hold values the new sequence would hand out again.
                (Engine::Postgres, true) => format!(
                    "ALTER TABLE {t} ALTER COLUMN {c} ADD GENERATED BY DEFAULT AS IDENTITY;\nSELECT setval(pg_get_serial_sequence('{t}', '{name}'), coalesce(max({c}), 0) + 1, false) FROM {t};",
                    t = q(table),
                    name = column.name.replace('\'', "''"),
                ),
                (Engine::Postgres, false) => format!(
                    "-- destructive: ALTER TABLE {t} ALTER COLUMN {c} DROP IDENTITY IF EXISTS;\n-- destructive: ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT;",
                    t = q(table)
                ),
                (Engine::MySql, identity) => format!(
                    "{}ALTER TABLE {} MODIFY {}{};",
                    if identity { "" } else { "-- destructive: " },
                    q(table),
                    column_definition(quote, column),
                    if identity { " AUTO_INCREMENT" } else { "" }
                ),
                (Engine::Sqlite, _) => format!(
                    "-- SQLite makes a rowid column only as INTEGER PRIMARY KEY: rebuild {} (https://www.sqlite.org/lang_altertable.html#otheralter)",
                    q(table)
                ),
            }
        }
        Change::AddCheck { table, check } => {
            let Some(expression) = &check.expression else {
                return Some(format!(
                    "-- add check {} to {} by hand: the expected schema names it without its condition",
                    quote(&check.name),
                    q(table)
                ));
            };
            let condition = crate::model::strip_outer_parens(expression);
            let constraint = if check.name.is_empty() {
                String::new()
            } else {
                format!("CONSTRAINT {} ", quote(&check.name))
            };
            match engine {
                // NOT VALID takes no long lock and leaves the rows there alone; VALIDATE then
                // scans them without blocking writes.
                Engine::Postgres => format!(
                    "-- rows that break it make VALIDATE fail; find them first: SELECT * FROM {t} WHERE NOT ({condition});\nALTER TABLE {t} ADD {constraint}CHECK ({condition}) NOT VALID;\nALTER TABLE {t} VALIDATE CONSTRAINT {};",
                    quote(&check.name),
                    t = q(table),
                ),
                Engine::MySql => format!(
                    "-- fails while rows break it; find them first: SELECT * FROM {t} WHERE NOT ({condition});\nALTER TABLE {t} ADD {constraint}CHECK ({condition});",
                    t = q(table),
                ),
                Engine::Sqlite => format!(
                    "-- SQLite cannot add a check in place: rebuild {} with {constraint}CHECK ({condition}) (https://www.sqlite.org/lang_altertable.html#otheralter)",
                    q(table)
                ),
            }
        }
        Change::DropCheck { table, check } => match engine {
            Engine::Postgres => format!(
                "-- destructive: ALTER TABLE {} DROP CONSTRAINT {};",
                q(table),
                quote(&check.name)
            ),
            // MariaDB lists a column's own check by the column's name, and drops it only with
            // the column's definition. The note is a line of its own: uncommented, the
            // statement must stand alone.
            Engine::MySql => format!(
                "-- destructive: ALTER TABLE {} DROP CONSTRAINT {};\n-- if {} is the check of the column of that name, it goes only with MODIFY COLUMN, restating the column without it",
                q(table),
                quote(&check.name),
                quote(&check.name)
            ),
            Engine::Sqlite => format!(
                "-- destructive: rebuild {} without {} (https://www.sqlite.org/lang_altertable.html#otheralter)",
                q(table),
                check.describe()
            ),
        },
        Change::DropForeignKey { table, key } => match engine {
            Engine::Postgres => format!(
                "-- destructive: ALTER TABLE {} DROP CONSTRAINT {};",
                q(table),
                quote(&key.name)
            ),
            Engine::MySql => format!(
                "-- destructive: ALTER TABLE {} DROP FOREIGN KEY {};",
                q(table),
                quote(&key.name)
            ),
            Engine::Sqlite => format!(
                "-- destructive: rebuild {} without {} (https://www.sqlite.org/lang_altertable.html#otheralter)",
                q(table),
                key.describe()
            ),
        },
        _ => return None,
    };
    Some(sql)
}

/// `FOREIGN KEY (a) REFERENCES s.t (b) ON DELETE CASCADE`, actions only where not the default.
/// SQLite refuses a qualified target: it is always in the referencing table's schema.
fn foreign_key_clause(
    engine: Engine,
    quote: fn(&str) -> String,
    key: &crate::model::ForeignKey,
) -> String {
    let list = |c: &[crate::model::Name]| c.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ");
    let target = match engine {
        Engine::Sqlite => quote(&key.target.name),
        Engine::Postgres | Engine::MySql => qualified(quote, &key.target),
    };
    let mut out = format!("FOREIGN KEY ({}) REFERENCES {target}", list(&key.columns));
    if !key.target_columns.is_empty() {
        out.push_str(&format!(" ({})", list(&key.target_columns)));
    }
    for (what, action) in [("DELETE", &key.on_delete), ("UPDATE", &key.on_update)] {
        if action != "no action" {
            out.push_str(&format!(" ON {what} {}", action.to_ascii_uppercase()));
        }
    }
    out.push_str(key.deferral());
    out
}

/// Turns off sqlx's own statement logging: it logs every statement at debug and any over a second
/// as a multi-line warning with the whole catalog query. The check reports a slow catalog read once,
/// in its own words ([`crate::check`]).
pub(crate) fn quiet<O: sqlx::ConnectOptions>(options: O) -> O {
    options
        .log_statements(log::LevelFilter::Off)
        .log_slow_statements(log::LevelFilter::Off, Duration::ZERO)
}

/// The most rows a ledger may hold: a check reads it whole, so it is bounded like the catalog.
pub const MAX_LEDGER_ROWS: usize = 100_000;

/// How a migration ledger's column ([`crate::expected::ledger`]) is read: every value comes back
/// as text. Times print the same everywhere because sqlx opens PostgreSQL sessions with `TimeZone
/// UTC` and `DateStyle ISO` and MySQL sessions with `time_zone '+00:00'`; booleans print as
/// `true`/`t`/`1`, which the ledger reader accepts alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Text, a number, a boolean or a time, cast to text.
    Text,
    /// Bytes, as lowercase hex.
    Hex,
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

    /// Reads every table and column of `schemas` and of the schemas `tenants` match, in one
    /// catalog round trip. Tenant matches are narrowed by `LIKE` in the query and decided here by
    /// the glob, so the result holds exactly the schemas asked for. Tables a PostgreSQL extension
    /// owns are read only when `extension_objects`.
    pub async fn introspect(
        &self,
        schemas: &[String],
        tenants: Option<&Tenants>,
        extension_objects: bool,
    ) -> Result<Schema, sqlx::Error> {
        let (engine, mut live) = match self {
            Pool::Postgres(pool) => (
                Engine::Postgres,
                postgres::introspect(pool, schemas, tenants, extension_objects).await?,
            ),
            Pool::Sqlite(pool) => (Engine::Sqlite, sqlite::introspect(pool).await?),
            Pool::MySql(handle) => (
                Engine::MySql,
                mysql::introspect(handle, schemas, tenants).await?,
            ),
        };
        if let Some(tenants) = tenants {
            let wanted = |schema: &str| {
                schemas
                    .iter()
                    .any(|s| engine.fold_identifier(s) == engine.fold_identifier(schema))
                    || tenants.matches(engine, schema)
            };
            live.tables.retain(|_, t| wanted(&t.name.schema));
            live.namespaces.retain(|s| wanted(s));
        }
        Ok(live)
    }

    /// Reads the primary key and every index of the tables in `schemas` and the schemas
    /// `tenants` match, in one catalog round trip, for [`Schema::attach_indexes`]: keyed by
    /// [`Schema::key`], a table without indexes absent.
    pub async fn indexes(
        &self,
        schemas: &[String],
        tenants: Option<&Tenants>,
    ) -> Result<HashMap<TableName, Vec<Index>>, sqlx::Error> {
        match self {
            Pool::Postgres(pool) => postgres::indexes(pool, schemas, tenants).await,
            Pool::Sqlite(pool) => sqlite::indexes(pool).await,
            Pool::MySql(handle) => mysql::indexes(handle, schemas, tenants).await,
        }
    }

    /// Every check constraint of the tables in `schemas` (and the schemas `tenants` match), by
    /// table key, in one query (SQLite: one read of the tables' `CREATE TABLE` text).
    pub async fn checks(
        &self,
        schemas: &[String],
        tenants: Option<&Tenants>,
    ) -> Result<HashMap<TableName, Vec<crate::model::Check>>, sqlx::Error> {
        match self {
            Pool::Postgres(pool) => postgres::checks(pool, schemas, tenants).await,
            Pool::Sqlite(pool) => sqlite::checks(pool).await,
            Pool::MySql(handle) => mysql::checks(handle, schemas, tenants).await,
        }
    }

    /// Every enum type of `schemas` with its labels, by [`Schema::key`], in one query: PostgreSQL's
    /// alone (the other engines have none; MySQL's `ENUM` is a column type, compared as one).
    pub async fn enum_types(
        &self,
        schemas: &[String],
        extension_objects: bool,
    ) -> Result<indexmap::IndexMap<TableName, crate::model::EnumType>, sqlx::Error> {
        match self {
            Pool::Postgres(pool) => postgres::enum_types(pool, schemas, extension_objects).await,
            Pool::Sqlite(_) | Pool::MySql(_) => Ok(Default::default()),
        }
    }

    /// Every foreign key of the tables in `schemas` (and the schemas `tenants` match), by table
    /// key, in one query.
    pub async fn foreign_keys(
        &self,
        schemas: &[String],
        tenants: Option<&Tenants>,
    ) -> Result<HashMap<TableName, Vec<ForeignKey>>, sqlx::Error> {
        match self {
            Pool::Postgres(pool) => postgres::foreign_keys(pool, schemas, tenants).await,
            Pool::Sqlite(pool) => sqlite::foreign_keys(pool).await,
            Pool::MySql(handle) => mysql::foreign_keys(handle, schemas, tenants).await,
        }
    }

    /// Reads a migration ledger: `columns` of `table` (the name as the catalog spells it), each
    /// as text, at most [`MAX_LEDGER_ROWS`] rows plus one so that a larger table is noticed. One
    /// read-only statement, under the session's statement timeout.
    pub async fn read_ledger(
        &self,
        table: &TableName,
        columns: &[(&str, Cell)],
    ) -> Result<Vec<Vec<Option<String>>>, sqlx::Error> {
        let engine = match self {
            Pool::Postgres(_) => Engine::Postgres,
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::MySql(_) => Engine::MySql,
        };
        let quote = |ident: &str| match engine {
            Engine::MySql => format!("`{}`", ident.replace('`', "``")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        };
        let select: Vec<String> = columns
            .iter()
            .map(|(name, cell)| {
                let c = quote(name);
                match (engine, cell) {
                    (Engine::Postgres, Cell::Hex) => format!("encode({c}, 'hex')"),
                    (Engine::Postgres, _) => format!("CAST({c} AS text)"),
                    (Engine::MySql, Cell::Hex) => format!("LOWER(HEX({c}))"),
                    (Engine::MySql, _) => format!("CAST({c} AS CHAR)"),
                    (Engine::Sqlite, Cell::Hex) => format!("lower(hex({c}))"),
                    (Engine::Sqlite, _) => format!("CAST({c} AS TEXT)"),
                }
            })
            .collect();
        let from = match engine {
            Engine::Sqlite => quote(&table.name),
            _ => format!("{}.{}", quote(&table.schema), quote(&table.name)),
        };
        let query = format!(
            "SELECT {} FROM {from} LIMIT {}",
            select.join(", "),
            MAX_LEDGER_ROWS + 1
        );
        fn collect<R: sqlx::Row>(
            rows: Vec<R>,
            width: usize,
        ) -> Result<Vec<Vec<Option<String>>>, sqlx::Error>
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            rows.iter()
                .map(|row| {
                    (0..width)
                        .map(|i| row.try_get::<Option<String>, _>(i))
                        .collect()
                })
                .collect()
        }
        let width = columns.len();
        match self {
            Pool::Postgres(pool) => collect(sqlx::query(&query).fetch_all(pool).await?, width),
            Pool::Sqlite(pool) => collect(sqlx::query(&query).fetch_all(pool).await?, width),
            Pool::MySql(handle) => {
                collect(sqlx::query(&query).fetch_all(&handle.pool).await?, width)
            }
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
pub(crate) fn qualified(quote: fn(&str) -> String, name: &TableName) -> String {
    format!("{}.{}", quote(&name.schema), quote(&name.name))
}

/// Renders a change in its SQL-standard form: create/drop a table, add/drop a column, and
/// `ALTER COLUMN ... SET|DROP DEFAULT`. Each engine renders what its dialect does differently (type
/// and nullability changes, or whatever it cannot do in place) and passes every other change here.
pub(crate) fn render_portable(change: &Change, quote: fn(&str) -> String) -> String {
    let q = |table: &TableName| qualified(quote, table);
    match change {
        Change::CreateTable { table } => {
            let columns: Vec<String> = table
                .columns
                .values()
                .map(|c| format!("  {}", column_definition(quote, c)))
                .collect();
            format!(
                "CREATE TABLE {} (\n{}\n);",
                q(&table.name),
                columns.join(",\n")
            )
        }
        Change::DropTable { table } => format!("-- destructive: DROP TABLE {};", q(table)),
        Change::AddColumn { table, column } => format!(
            "ALTER TABLE {} ADD COLUMN {};",
            q(table),
            column_definition(quote, column)
        ),
        Change::DropColumn { table, column } => format!(
            "-- destructive: ALTER TABLE {} DROP COLUMN {};",
            q(table),
            quote(column)
        ),
        Change::SetDefault {
            table,
            column,
            default: Some(d),
        } => format!(
            "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {d};",
            q(table),
            quote(column)
        ),
        Change::SetDefault {
            table,
            column,
            default: None,
        } => format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT;",
            q(table),
            quote(column)
        ),
        Change::AlterType { table, column } | Change::SetNullable { table, column } => format!(
            "-- alter {}.{} by hand: this engine has no portable syntax for it",
            q(table),
            quote(&column.name)
        ),
        // [`render_change`] writes each step in the engine's dialect.
        Change::Steps(steps) => steps
            .iter()
            .map(|c| render_portable(c, quote))
            .collect::<Vec<_>>()
            .join("\n"),
        // Keys and indexes differ in every dialect: [`render_key_change`] writes them.
        Change::CreateIndex { table, .. }
        | Change::DropIndex { table, .. }
        | Change::RebuildIndex { table, .. }
        | Change::AddPrimaryKey { table, .. }
        | Change::DropPrimaryKey { table, .. }
        | Change::AddForeignKey { table, .. }
        | Change::DropForeignKey { table, .. }
        | Change::SetIdentity { table, .. }
        | Change::AddCheck { table, .. }
        | Change::DropCheck { table, .. } => {
            format!("-- change the keys of {} by hand", q(table))
        }
        // Enum types are PostgreSQL's alone: only its catalog reader yields them.
        Change::CreateEnumType { enum_type } => {
            let labels: Vec<String> = enum_type.labels.iter().map(|l| literal(l)).collect();
            format!(
                "CREATE TYPE {} AS ENUM ({});",
                q(&enum_type.name),
                labels.join(", ")
            )
        }
        Change::DropEnumType { name } => format!("-- destructive: DROP TYPE {};", q(name)),
        Change::AddEnumLabel {
            name,
            label,
            after,
            before,
        } => {
            let place = match (after, before) {
                (Some(a), _) => format!(" AFTER {}", literal(a)),
                (None, Some(b)) => format!(" BEFORE {}", literal(b)),
                (None, None) => String::new(),
            };
            format!(
                "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{place};",
                q(name),
                literal(label)
            )
        }
        Change::RenameEnumLabel { name, from, to } => format!(
            "ALTER TYPE {} RENAME VALUE {} TO {};",
            q(name),
            literal(from),
            literal(to)
        ),
        // No way to move a label: the type is made again in order and every column using it
        // converted (through text), which rewrites those tables under an exclusive lock.
        Change::MoveEnumLabels {
            name,
            labels,
            order,
        } => {
            let list = |l: &[String]| l.iter().map(|l| literal(l)).collect::<Vec<_>>().join(", ");
            format!(
                "-- destructive: PostgreSQL cannot move enum label{} {} of {}: create the type again as ENUM ({}) under another name, ALTER each column that uses it to the new type USING its value::text (its default dropped first and set again), drop the old type and rename the new one",
                if labels.len() == 1 { "" } else { "s" },
                list(labels),
                q(name),
                list(order)
            )
        }
        // Only PostgreSQL's catalog reads a constraint as not validated.
        Change::ValidateConstraint { table, name } => format!(
            "-- fails while rows already there break it\nALTER TABLE {} VALIDATE CONSTRAINT {};",
            q(table),
            quote(name)
        ),
        // No DROP VALUE: the type is rebuilt once no row holds the label.
        Change::DropEnumLabel { name, label } => format!(
            "-- destructive: PostgreSQL cannot drop enum label {} of {}: move rows off it, create the type again without it, and ALTER the columns that use it",
            literal(label),
            q(name)
        ),
    }
}

/// A string literal in standard SQL: single quotes, doubled inside.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Shared by the engines' unit tables of change -> SQL: one change of every kind on `t.a`, in the
/// order [`crate::diff`] reports them.
#[cfg(test)]
pub(crate) fn every_change(engine: Engine, schema: &str) -> Vec<Change> {
    let t = || TableName::new(schema, "t");
    let target = Column::new(engine, "a", Some("integer"), Some(false), Some(Some("0")));
    let mut table = crate::model::Table::new(TableName::new(schema, "new"));
    table.add_column(
        engine,
        Column::new(engine, "id", Some("bigint"), Some(false), Some(None)),
    );
    table.add_column(
        engine,
        Column::new(engine, "note", Some("text"), Some(true), Some(Some("'x'"))),
    );
    vec![
        Change::CreateTable { table },
        Change::DropTable {
            table: TableName::new(schema, "old"),
        },
        Change::AddColumn {
            table: t(),
            column: Column::new(engine, "b", Some("bigint"), Some(true), None),
        },
        Change::DropColumn {
            table: t(),
            column: "c".into(),
        },
        Change::AlterType {
            table: t(),
            column: target.clone(),
        },
        Change::SetNullable {
            table: t(),
            column: target,
        },
        Change::SetDefault {
            table: t(),
            column: "a".into(),
            default: Some("0".into()),
        },
        Change::SetDefault {
            table: t(),
            column: "a".into(),
            default: None,
        },
    ]
}

#[cfg(test)]
mod key_sql_tests {
    use super::render_key_change;
    use crate::dialect::Engine;
    use crate::model::{Change, Index, IndexPart, TableName};

    #[test]
    fn a_sqlite_unique_index_made_again_does_not_take_the_reserved_autoindex_name() {
        let mut index = Index::new("sqlite_autoindex_t_1".into(), false, true);
        index.parts = vec![IndexPart::column("a".into())];
        let create = Change::CreateIndex {
            table: TableName::new("main", "t"),
            index,
            partitioned: false,
        };
        let sql = render_key_change(Engine::Sqlite, &create).unwrap();
        assert!(
            sql.ends_with(r#"CREATE UNIQUE INDEX "main"."t_a_key" ON "t" ("a");"#),
            "{sql}"
        );
    }
}
