//! The per-engine rules of reading DDL offline: where engines disagree on what a statement means
//! for a column, or on what their dump tools write, and nowhere else.
//!
//! Each rule is a function of [`Engine`] with one `match` arm per engine, so adding an engine means
//! adding an arm to each function here (the compiler points at every one). The interpreter and the
//! statement splitter ask these functions and hold no engine rules of their own.

use sqlparser::ast::{ColumnOption, CreateTable, Expr, Ident, SqliteTableOption, TableConstraint};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};

use super::keys::KeyKind;
use crate::dialect::Engine;

/// The parser dialect of the engine's own DDL: quoting, type names and table options differ enough
/// (backticks and `ENGINE=` on MySQL, `WITHOUT ROWID` on SQLite) that one dialect cannot read all
/// dumps.
pub(super) fn dialect(engine: Engine) -> Box<dyn Dialect> {
    match engine {
        Engine::Postgres => Box::new(PostgreSqlDialect {}),
        Engine::MySql => Box::new(MySqlDialect {}),
        Engine::Sqlite => Box::new(SQLiteDialect {}),
    }
}

/// What an engine does with an identifier longer than it allows.
pub(super) enum LongIdentifiers {
    /// PostgreSQL cuts it to this many bytes (NAMEDATALEN - 1), on a character boundary, in
    /// its lexer, quoted or not: `CREATE TABLE` and later references all use the cut name.
    Truncate(usize),
    /// MySQL/MariaDB refuse the statement when a name is longer than this many characters.
    Reject(usize),
    /// SQLite has no limit.
    Keep,
}

/// How `engine` treats overlong identifiers.
pub(super) fn long_identifiers(engine: Engine) -> LongIdentifiers {
    match engine {
        Engine::Postgres => LongIdentifiers::Truncate(63),
        Engine::MySql => LongIdentifiers::Reject(64),
        Engine::Sqlite => LongIdentifiers::Keep,
    }
}

/// Whether the engine's dump tool writes `DELIMITER` client directives: mysqldump does around
/// triggers and routines, whose bodies hold `;`. Elsewhere a line starting with `DELIMITER` is SQL
/// and must be left alone.
pub(super) fn writes_delimiter_directives(engine: Engine) -> bool {
    match engine {
        Engine::MySql => true,
        Engine::Postgres | Engine::Sqlite => false,
    }
}

/// An identifier's name as the catalog stores it. PostgreSQL folds unquoted identifiers to lower
/// case, so `CREATE TABLE Users` creates `users`; the others keep the spelling and compare names
/// case-insensitively instead ([`Engine::fold_identifier`]).
pub(super) fn identifier(engine: Engine, ident: &Ident) -> String {
    match engine {
        Engine::Postgres if ident.quote_style.is_none() => ident.value.to_lowercase(),
        Engine::Postgres | Engine::Sqlite | Engine::MySql => ident.value.clone(),
    }
}

/// Whether a table is the engine's own bookkeeping rather than the application's: SQLite's
/// `sqlite_*` tables (`sqlite_sequence` is in every `.schema` of a database using AUTOINCREMENT)
/// are never compared, as the catalog reader skips them too.
pub(super) fn is_internal_table(engine: Engine, table: &str) -> bool {
    match engine {
        Engine::Sqlite => table.to_ascii_lowercase().starts_with("sqlite_"),
        Engine::Postgres | Engine::MySql => false,
    }
}

/// Whether a column's declared type alone makes it NOT NULL. PostgreSQL's serial types are NOT NULL
/// integers with a sequence default (which is not drift), and MySQL's `SERIAL` is `BIGINT UNSIGNED
/// NOT NULL AUTO_INCREMENT`. SQLite has no serial type, yet the rule has always applied there too;
/// it is kept so that this module changes no result.
pub(super) fn type_implies_not_null(engine: Engine, data_type: &str) -> bool {
    let serial = matches!(
        data_type.to_ascii_lowercase().as_str(),
        "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"
    );
    match engine {
        Engine::Postgres | Engine::MySql | Engine::Sqlite => serial,
    }
}

/// Whether naming a column in a primary key makes it NOT NULL right away, as standard SQL says.
/// SQLite keeps most key columns nullable; which ones are NOT NULL can only be told once the whole
/// table is known ([`key_columns_made_not_null`]).
pub(super) fn primary_key_implies_not_null(engine: Engine) -> bool {
    match engine {
        Engine::Postgres | Engine::MySql => true,
        Engine::Sqlite => false,
    }
}

/// The primary key columns of a whole `CREATE TABLE` that being in the key makes NOT NULL, on
/// engines where [`primary_key_implies_not_null`] is false; `declared_type` gives a column's type
/// as the table so far has it. On SQLite a lone INTEGER PRIMARY KEY is the rowid and never NULL,
/// every key column of a WITHOUT ROWID table is NOT NULL, and any other key column stays nullable
/// unless declared NOT NULL (a historical SQLite bug kept for compatibility, which its catalog
/// shows).
pub(super) fn key_columns_made_not_null<'t>(
    engine: Engine,
    create: &CreateTable,
    declared_type: impl Fn(&str) -> Option<&'t str>,
) -> Vec<String> {
    match engine {
        Engine::Postgres | Engine::MySql => Vec::new(),
        Engine::Sqlite => {
            let keys = primary_key_columns(engine, create);
            let without_rowid = create
                .sqlite_table_options
                .options
                .iter()
                .any(|o| matches!(o, SqliteTableOption::WithoutRowid));
            let rowid = |key: &String| {
                keys.len() == 1
                    && declared_type(key).is_some_and(|t| t.eq_ignore_ascii_case("integer"))
            };
            keys.iter()
                .filter(|key| without_rowid || rowid(key))
                .cloned()
                .collect()
        }
    }
}

/// The columns `create` puts in its primary key, by a column option or a table constraint, in
/// declaration order (a column named by both counts twice).
fn primary_key_columns(engine: Engine, create: &CreateTable) -> Vec<String> {
    let mut keys: Vec<String> = create
        .columns
        .iter()
        .filter(|d| {
            d.options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::PrimaryKey(_)))
        })
        .map(|d| identifier(engine, &d.name))
        .collect();
    for constraint in &create.constraints {
        if let TableConstraint::PrimaryKey(pk) = constraint {
            for c in &pk.columns {
                if let Expr::Identifier(i) = &c.column.expr {
                    keys.push(identifier(engine, i));
                }
            }
        }
    }
    keys
}

/// The type a CHECK constraint on a column stands for, when the engine spells a type that way.
/// MariaDB's `json` is a `longtext` with a `json_valid(...)` check in `SHOW CREATE TABLE` and
/// mysqldump output, while its catalog reports `json`.
pub(super) fn type_from_check(engine: Engine, check: &Expr) -> Option<&'static str> {
    match engine {
        Engine::MySql
            if check
                .to_string()
                .to_ascii_lowercase()
                .starts_with("json_valid(") =>
        {
            Some("json")
        }
        Engine::MySql | Engine::Postgres | Engine::Sqlite => None,
    }
}

/// The shadow-table suffixes of the SQLite virtual-table modules this reader knows (the tables
/// SQLite creates as `NAME_suffix` to store the virtual table), `None` for other modules.
pub(super) fn virtual_table_shadows(module: &str) -> Option<&'static [&'static str]> {
    match module.to_ascii_lowercase().as_str() {
        "fts5" => Some(&["data", "idx", "content", "docsize", "config"]),
        "fts3" | "fts4" => Some(&["content", "segments", "segdir", "docsize", "stat"]),
        "rtree" | "rtree_i32" => Some(&["node", "rowid", "parent"]),
        _ => None,
    }
}

/// Whether the catalog reader tells identity columns apart on `engine`: PostgreSQL (identity,
/// serial) and MySQL (AUTO_INCREMENT) do; SQLite's rowid alias is not read as one yet.
pub(super) fn identity_is_compared(engine: Engine) -> bool {
    match engine {
        Engine::Postgres | Engine::MySql => true,
        Engine::Sqlite => false,
    }
}

/// The access method an index gets when `CREATE INDEX` names none: PostgreSQL's is always
/// btree. MySQL's depends on the storage engine (InnoDB btree, MEMORY hash) and SQLite has one
/// kind, so there it is not stated and not compared.
pub(super) fn default_index_method(engine: Engine) -> Option<String> {
    match engine {
        Engine::Postgres => Some("btree".into()),
        Engine::MySql | Engine::Sqlite => None,
    }
}

/// The name the engine gives a key that the DDL does not name; `taken` says whether a name is
/// in use. `columns` are the key's column names (`expr` for an expression).
///
/// - PostgreSQL: `table_pkey`, `table_a_b_key` (unique constraint), `table_a_b_idx` (index),
///   `table_a_b_excl` (exclusion constraint),
///   each part cut so the whole fits 63 bytes, the longer part first, and a number added to the
///   label until the name is free (`table_a_key1`).
/// - MySQL: `PRIMARY`; otherwise the first column's name, then `name_2`, `name_3`, ...
/// - SQLite: `sqlite_autoindex_table_N` for constraints, numbered in the table.
pub(super) fn generated_key_name(
    engine: Engine,
    kind: KeyKind,
    table: &str,
    columns: &[String],
    taken: impl Fn(&str) -> bool,
) -> String {
    match engine {
        Engine::Postgres => {
            let label = match kind {
                KeyKind::Primary => "pkey",
                KeyKind::Unique => "key",
                KeyKind::Index => "idx",
                KeyKind::Exclusion => "excl",
            };
            let middle = match kind {
                KeyKind::Primary => String::new(),
                _ => columns.join("_"),
            };
            let mut n = 0;
            loop {
                let label = if n == 0 {
                    label.to_string()
                } else {
                    format!("{label}{n}")
                };
                let name = postgres_object_name(table, &middle, &label);
                if !taken(&name) {
                    return name;
                }
                n += 1;
            }
        }
        Engine::MySql => {
            if kind == KeyKind::Primary {
                return "PRIMARY".into();
            }
            let base = columns.first().cloned().unwrap_or_else(|| "expr".into());
            let mut name = base.clone();
            let mut n = 2;
            while taken(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        }
        Engine::Sqlite => {
            let mut n = 1;
            loop {
                let name = format!("sqlite_autoindex_{table}_{n}");
                if !taken(&name) {
                    return name;
                }
                n += 1;
            }
        }
    }
}

/// The name the engine gives a foreign key the DDL does not name: PostgreSQL's
/// `table_a_b_fkey` (numbered when taken), MySQL's `table_ibfk_N`, none on SQLite.
/// The name `engine` gives a check constraint declared without one: PostgreSQL names it after
/// the table and, when the condition reads exactly one column, that column (`t_qty_check`,
/// else `t_check`, numbered past names taken, cut to 63 bytes); MariaDB names a column's check
/// after the column and a table's `CONSTRAINT_1`, `CONSTRAINT_2`, ... (MySQL 8's `t_chk_1` is
/// not modelled: there an unnamed check is found by its condition); SQLite keeps no name.
pub(super) fn generated_check_name(
    engine: Engine,
    table: &str,
    column: Option<&str>,
    referenced: &[String],
    taken: impl Fn(&str) -> bool,
) -> String {
    match engine {
        Engine::Postgres => {
            let middle = match referenced {
                [only] => only.as_str(),
                _ => "",
            };
            let mut n = 0;
            loop {
                let label = if n == 0 {
                    "check".to_string()
                } else {
                    format!("check{n}")
                };
                let name = postgres_object_name(table, middle, &label);
                if !taken(&name) {
                    return name;
                }
                n += 1;
            }
        }
        Engine::MySql => match column {
            Some(c) => c.to_string(),
            None => {
                let mut n = 1;
                loop {
                    let name = format!("CONSTRAINT_{n}");
                    if !taken(&name) {
                        return name;
                    }
                    n += 1;
                }
            }
        },
        Engine::Sqlite => String::new(),
    }
}

pub(super) fn generated_foreign_key_name(
    engine: Engine,
    table: &str,
    columns: &[String],
    taken: impl Fn(&str) -> bool,
) -> String {
    let mut n = 0;
    loop {
        let name = match engine {
            Engine::Postgres => {
                let label = if n == 0 {
                    "fkey".to_string()
                } else {
                    format!("fkey{n}")
                };
                postgres_object_name(table, &columns.join("_"), &label)
            }
            Engine::MySql => format!("{table}_ibfk_{}", n + 1),
            Engine::Sqlite => return String::new(),
        };
        if !taken(&name) {
            return name;
        }
        n += 1;
    }
}

/// Whether dropping a table takes the foreign keys that reference it: PostgreSQL's `CASCADE`
/// drops them (and refuses without it), MySQL refuses unless checks are off; SQLite keeps them
/// as text, and a table of that name made later (a table rebuild) is what they reference.
pub(super) fn dropped_table_keeps_references(engine: Engine) -> bool {
    match engine {
        Engine::Sqlite => true,
        Engine::Postgres | Engine::MySql => false,
    }
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, the longer of the two names cut a byte
/// at a time (on character boundaries) until the whole fits in 63 bytes.
fn postgres_object_name(name1: &str, name2: &str, label: &str) -> String {
    let overhead = label.len() + 1 + usize::from(!name2.is_empty());
    let (mut a, mut b) = (name1.len(), name2.len());
    while a + b + overhead > 63 {
        if a > b {
            a -= 1;
        } else {
            b -= 1;
        }
    }
    let cut = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    let mut out = cut(name1, a);
    if !name2.is_empty() {
        out.push('_');
        out.push_str(&cut(name2, b));
    }
    out.push('_');
    out.push_str(label);
    out
}

/// What dropping a column does to the keys over it.
pub(super) enum DroppedKeyColumn {
    /// PostgreSQL drops every index and constraint that uses the column (SQLite refuses to
    /// drop an indexed column; a migration that ran did not do it, so the same rule serves).
    DropsTheKey,
    /// MySQL removes the column from each key, and a key left with no part goes.
    DropsThePart,
}

/// The rule for keys over a dropped column on `engine`.
pub(super) fn dropped_column_in_key(engine: Engine) -> DroppedKeyColumn {
    match engine {
        Engine::Postgres | Engine::Sqlite => DroppedKeyColumn::DropsTheKey,
        Engine::MySql => DroppedKeyColumn::DropsThePart,
    }
}

/// Whether a foreign key makes the engine create an index over its columns when none starts
/// with them: InnoDB does (and the catalog lists it as an index); PostgreSQL and SQLite do not.
pub(super) fn foreign_key_makes_index(engine: Engine) -> bool {
    match engine {
        Engine::MySql => true,
        Engine::Postgres | Engine::Sqlite => false,
    }
}

/// Whether index names are per schema (PostgreSQL, SQLite: `DROP INDEX name`) rather than per
/// table (MySQL: `DROP INDEX name ON table`).
pub(super) fn index_names_per_schema(engine: Engine) -> bool {
    match engine {
        Engine::Postgres | Engine::Sqlite => true,
        Engine::MySql => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expected::sql::parse_texts;
    use crate::model::TableName;
    use sqlparser::ast::Statement;
    use sqlparser::parser::Parser;

    const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::MySql, Engine::Sqlite];

    fn create_table(engine: Engine, sql: &str) -> CreateTable {
        match Parser::parse_sql(dialect(engine).as_ref(), sql)
            .unwrap()
            .remove(0)
        {
            Statement::CreateTable(create) => create,
            other => panic!("not a CREATE TABLE: {other}"),
        }
    }

    #[test]
    fn each_engine_reads_its_own_dump_syntax() {
        assert!(dialect(Engine::Postgres).is::<PostgreSqlDialect>());
        assert!(dialect(Engine::MySql).is::<MySqlDialect>());
        assert!(dialect(Engine::Sqlite).is::<SQLiteDialect>());
        let mysql = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;";
        let schema = parse_texts(Engine::MySql, &[("dump.sql", mysql)]).unwrap();
        assert!(schema
            .get(Engine::MySql, &TableName::new("app", "t"))
            .is_some());
    }

    #[test]
    fn only_mysql_dumps_hold_delimiter_directives() {
        assert!(writes_delimiter_directives(Engine::MySql));
        assert!(!writes_delimiter_directives(Engine::Postgres));
        assert!(!writes_delimiter_directives(Engine::Sqlite));
    }

    #[test]
    fn only_postgres_folds_unquoted_identifiers_to_lower_case() {
        let unquoted = Ident::new("Users");
        let quoted = Ident::with_quote('"', "Users");
        assert_eq!(identifier(Engine::Postgres, &unquoted), "users");
        assert_eq!(identifier(Engine::Postgres, &quoted), "Users");
        for engine in [Engine::MySql, Engine::Sqlite] {
            assert_eq!(identifier(engine, &unquoted), "Users", "{engine:?}");
            assert_eq!(identifier(engine, &quoted), "Users", "{engine:?}");
        }
    }

    #[test]
    fn only_sqlite_has_internal_tables() {
        assert!(is_internal_table(Engine::Sqlite, "sqlite_sequence"));
        assert!(is_internal_table(Engine::Sqlite, "SQLITE_stat1"));
        assert!(!is_internal_table(Engine::Sqlite, "my_sqlite_notes"));
        assert!(!is_internal_table(Engine::Postgres, "sqlite_sequence"));
        assert!(!is_internal_table(Engine::MySql, "sqlite_sequence"));
        let schema = parse_texts(
            Engine::Sqlite,
            &[("s.sql", "CREATE TABLE sqlite_sequence(name,seq);")],
        )
        .unwrap();
        assert!(schema.tables.is_empty());
    }

    #[test]
    fn serial_types_are_not_null_on_every_engine() {
        for engine in ENGINES {
            assert!(type_implies_not_null(engine, "SERIAL"), "{engine:?}");
            assert!(type_implies_not_null(engine, "bigserial"), "{engine:?}");
            assert!(!type_implies_not_null(engine, "integer"), "{engine:?}");
        }
    }

    #[test]
    fn a_primary_key_is_not_null_by_itself_except_on_sqlite() {
        assert!(primary_key_implies_not_null(Engine::Postgres));
        assert!(primary_key_implies_not_null(Engine::MySql));
        assert!(!primary_key_implies_not_null(Engine::Sqlite));
        for engine in [Engine::Postgres, Engine::MySql] {
            let create = create_table(engine, "CREATE TABLE t (id integer PRIMARY KEY)");
            let made = key_columns_made_not_null(engine, &create, |_| Some("integer"));
            assert!(made.is_empty(), "{engine:?}: the key itself said so");
        }
    }

    #[test]
    fn sqlite_key_columns_are_not_null_only_as_the_rowid_or_without_rowid() {
        let made = |sql: &str, declared: Option<&'static str>| {
            let create = create_table(Engine::Sqlite, sql);
            key_columns_made_not_null(Engine::Sqlite, &create, |_| declared)
        };
        assert_eq!(
            made("CREATE TABLE a (id INTEGER PRIMARY KEY)", Some("INTEGER")),
            ["id"]
        );
        assert!(made("CREATE TABLE b (code text PRIMARY KEY)", Some("text")).is_empty());
        assert!(
            made(
                "CREATE TABLE c (x INTEGER, y INTEGER, PRIMARY KEY (x, y))",
                Some("INTEGER")
            )
            .is_empty(),
            "only a lone key column is the rowid"
        );
        assert_eq!(
            made(
                "CREATE TABLE d (x text, y text, PRIMARY KEY (x, y)) WITHOUT ROWID",
                Some("text")
            ),
            ["x", "y"]
        );
    }

    #[test]
    fn only_mariadb_json_valid_checks_stand_for_json() {
        let check = |engine: Engine| {
            let create = create_table(
                engine,
                "CREATE TABLE t (doc longtext CHECK (json_valid(doc)), n int CHECK (n > 0))",
            );
            let checks: Vec<Option<&str>> = create
                .columns
                .iter()
                .flat_map(|c| &c.options)
                .filter_map(|o| match &o.option {
                    ColumnOption::Check(c) => Some(type_from_check(engine, &c.expr)),
                    _ => None,
                })
                .collect();
            checks
        };
        assert_eq!(check(Engine::MySql), [Some("json"), None]);
        assert_eq!(check(Engine::Postgres), [None, None]);
        assert_eq!(check(Engine::Sqlite), [None, None]);
        let mariadb = "CREATE TABLE `t` (\n  `doc` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`doc`))\n);";
        let schema = parse_texts(Engine::MySql, &[("dump.sql", mariadb)]).unwrap();
        let t = schema
            .get(Engine::MySql, &TableName::new("app", "t"))
            .unwrap();
        assert_eq!(t.columns["doc"].data_type.as_deref(), Some("json"));
    }
}
