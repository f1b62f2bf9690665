//! Properties that must hold for every schema, not just the ones written down: comparing a schema
//! with itself finds nothing; a snapshot read back, and the DDL rendered for a schema loaded back as
//! a SQL expectation, are the same schema; normalising a type or default twice changes nothing.
//! proptest generates the schemas (names with quotes, spaces and mixed case included) and shrinks a
//! failure to its smallest case.

use proptest::prelude::*;
use schema_exporter::dialect::Engine;
use schema_exporter::diff::diff;
use schema_exporter::engine::render_change;
use schema_exporter::expected::{file, sql, SourceFile};
use schema_exporter::ignore::Ignore;
use schema_exporter::model::{Change, Column, Schema, Table, TableName};
use schema_exporter::normalize::{normalize_default, normalize_type};

const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::MySql, Engine::Sqlite];

fn default_schema(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "public",
        Engine::MySql => "app",
        Engine::Sqlite => "main",
    }
}

/// Type spellings as people and dumps write them, per engine.
fn types(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::Postgres => &[
            "integer",
            "bigint",
            "int4",
            "varchar(255)",
            "character varying(20)",
            "text",
            "numeric(12,2)",
            "timestamp with time zone",
            "timestamptz",
            "boolean",
            "jsonb",
            "uuid",
            "double precision",
            "text[]",
        ],
        Engine::MySql => &[
            "int",
            "bigint unsigned",
            "varchar(255)",
            "text",
            "decimal(12,2)",
            "datetime(6)",
            "tinyint(1)",
            "json",
            "double",
            "enum('a','b')",
        ],
        Engine::Sqlite => &[
            "integer",
            "INTEGER",
            "text",
            "varchar(255)",
            "real",
            "blob",
            "numeric",
            "datetime",
            "bool",
        ],
    }
}

/// Defaults that suit every type above (NULL, numbers and strings are accepted by all of them in
/// DDL, which is all a loaded expectation needs).
fn defaults(engine: Engine) -> &'static [Option<&'static str>] {
    match engine {
        Engine::Postgres => &[None, Some("0"), Some("'x'"), Some("NULL")],
        Engine::MySql => &[None, Some("0"), Some("'x'"), Some("NULL")],
        Engine::Sqlite => &[None, Some("0"), Some("'it''s'"), Some("NULL"), Some("-1.5")],
    }
}

/// Identifiers: plain, mixed case, and ones only quoting makes legal (spaces, quotes, keywords).
fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_]{0,12}",
        1 => "[A-Z][a-zA-Z0-9]{0,8}",
        1 => "[a-z]{1,4}[ \"'`-][a-z]{1,4}",
        1 => prop::sample::select(vec!["select", "order", "user", "table", "key"]).prop_map(String::from),
    ]
}

/// A schema of 1 to 4 tables of 1 to 6 columns for `engine`, every name unique under its folding.
fn schema(engine: Engine) -> impl Strategy<Value = Schema> {
    let column = (
        identifier(),
        prop::sample::select(types(engine)),
        any::<bool>(),
        prop::sample::select(defaults(engine)),
    );
    let table = (identifier(), prop::collection::vec(column, 1..=6));
    prop::collection::vec(table, 1..=4).prop_map(move |tables| {
        let mut schema = Schema::default();
        for (name, columns) in tables {
            let mut table = Table::new(TableName::new(default_schema(engine), name));
            for (name, data_type, nullable, default) in columns {
                // A NULL default on a NOT NULL column is not something a server keeps.
                let default = if nullable {
                    default
                } else {
                    default.filter(|d| *d != "NULL")
                };
                table.add_column(
                    engine,
                    Column::new(engine, name, Some(data_type), Some(nullable), Some(default)),
                );
            }
            schema.add_table(engine, table);
        }
        schema
    })
}

fn drift(engine: Engine, expected: &Schema, live: &Schema) -> Vec<String> {
    let schemas = [default_schema(engine).to_string()];
    diff(engine, expected, live, &schemas, &Ignore::default())
        .drift
        .iter()
        .map(|d| format!("{d:?}"))
        .collect()
}

fn any_engine() -> impl Strategy<Value = (Engine, Schema)> {
    prop::sample::select(ENGINES.to_vec()).prop_flat_map(|e| (Just(e), schema(e)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn a_schema_compared_with_itself_has_no_drift((engine, s) in any_engine()) {
        prop_assert_eq!(drift(engine, &s, &s), Vec::<String>::new());
    }

    #[test]
    fn a_snapshot_read_back_is_the_same_schema((engine, s) in any_engine()) {
        let text = file::render(&s, default_schema(engine));
        let schemas = [default_schema(engine).to_string()];
        let back = file::parse(&text, std::path::Path::new("snapshot.yaml"), engine, &schemas)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(drift(engine, &s, &back), Vec::<String>::new(), "{}", text);
        prop_assert_eq!(drift(engine, &back, &s), Vec::<String>::new(), "{}", text);
    }

    #[test]
    fn ddl_rendered_for_a_schema_loads_back_as_the_same_schema((engine, s) in any_engine()) {
        let mut text = String::new();
        for table in s.tables.values() {
            text.push_str(&render_change(engine, &Change::CreateTable { table: table.clone() }));
            text.push('\n');
        }
        let files = [SourceFile { path: "schema.sql".into(), text: text.clone() }];
        let schemas = [default_schema(engine).to_string()];
        let back = sql::parse(&files, engine, &schemas)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back.tables.len(), s.tables.len(), "{}", text);
        prop_assert_eq!(drift(engine, &s, &back), Vec::<String>::new(), "{}", text);
    }

    #[test]
    fn normalising_twice_changes_nothing(
        engine in prop::sample::select(ENGINES.to_vec()),
        raw in prop_oneof![
            prop::sample::select(types(Engine::Postgres).iter().chain(types(Engine::MySql)).chain(types(Engine::Sqlite)).map(|s| s.to_string()).collect::<Vec<_>>()),
            "[a-zA-Z ()0-9,'_:\\[\\]-]{0,30}",
        ],
    ) {
        let once = normalize_type(engine, &raw);
        prop_assert_eq!(normalize_type(engine, &once), once.clone(), "type {:?}", raw);
        if let Some(once) = normalize_default(engine, &raw) {
            prop_assert_eq!(normalize_default(engine, &once), Some(once.clone()), "default {:?}", raw);
        }
    }
}
