//! The one place where engine spellings of types and defaults become canonical.
//!
//! A person writes `varchar(255)`, Django writes `varchar(255)`, PostgreSQL's catalog answers
//! `character varying(255)`; all three must compare equal or the exporter pages on noise. Every rule
//! lives in a table below with a test per row, and both the expected and the live side go through the
//! same functions. Normalising an already normalised value returns it unchanged.

mod spelling;
mod text;

pub use spelling::{
    as_postgres_stores, tree_form, tree_form_without_casts, LONGEST as LONGEST_EXPRESSION,
};

use text::{
    insert_args, lower_unquoted, split_array_suffix, split_type_args, squeeze, strip_casts,
    strip_parens,
};

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::dialect::Engine;

/// Type names that mean the same thing on every engine we read, mapped to one canonical spelling.
/// The serial pseudo-types map to their storage type: the sequence behind them is an implementation
/// detail (their `nextval` default is dropped by [`normalize_default`]).
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("int2", "smallint"),
    ("smallserial", "smallint"),
    ("serial2", "smallint"),
    ("int", "integer"),
    ("int4", "integer"),
    ("serial", "integer"),
    ("serial4", "integer"),
    ("int8", "bigint"),
    ("bigserial", "bigint"),
    ("serial8", "bigint"),
    ("float4", "real"),
    ("float8", "double precision"),
    ("double", "double precision"),
    ("character varying", "varchar"),
    ("character", "char"),
    ("bpchar", "char"),
    ("bool", "boolean"),
    ("timestamp with time zone", "timestamptz"),
    ("timestamp without time zone", "timestamp"),
    ("time with time zone", "timetz"),
    ("time without time zone", "time"),
    ("decimal", "numeric"),
    ("bit varying", "varbit"),
];

/// MySQL/MariaDB spellings that differ from the shared table: `float` is single precision and
/// `real` is double there, `serial` is an unsigned bigint, and `bool`/`tinyint(1)` are one type.
const MYSQL_TYPE_ALIASES: &[(&str, &str)] = &[
    ("float", "float"),
    ("double", "double"),
    ("double precision", "double"),
    ("real", "double"),
    ("float4", "float"),
    ("float8", "double"),
    ("serial", "bigint unsigned"),
    ("dec", "numeric"),
    ("fixed", "numeric"),
    ("integer", "int"),
    ("int4", "int"),
    ("int", "int"),
];

/// MySQL integer types whose `(n)` is a display width, not part of the type (MySQL 8 no longer
/// shows it; MariaDB does).
const MYSQL_DISPLAY_WIDTH_TYPES: &[&str] = &[
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "integer",
    "bigint",
    "year",
];

/// Default expressions that are different spellings of one value.
const DEFAULT_ALIASES: &[(&str, &str)] = &[
    ("now()", "current_timestamp"),
    ("current_timestamp()", "current_timestamp"),
    ("transaction_timestamp()", "current_timestamp"),
    ("localtimestamp()", "localtimestamp"),
    ("current_date()", "current_date"),
];

/// SQLite and MySQL store booleans as integers: `TRUE` and `FALSE` are 1 and 0.
const INTEGER_BOOLEAN_DEFAULTS: &[(&str, &str)] = &[("true", "1"), ("false", "0")];

/// A canonical type or default spelling. Reference-counted: a schema of 200,000 columns holds a few
/// dozen distinct spellings, so each is stored once, not once per column.
pub type Spelling = std::sync::Arc<str>;

/// Canonical spellings computed so far, per engine and raw text: a catalog of 200,000 columns
/// spells its types and defaults a few dozen ways, so each is normalised once and its result shared
/// by every column that uses it. Bounded: past [`SPELLINGS_CACHED`] raw texts per map (only hostile
/// input has that many), new ones are normalised without being remembered.
static SPELLINGS: LazyLock<Mutex<Vec<SpellingMap>>> =
    LazyLock::new(|| Mutex::new((0..6).map(|_| SpellingMap::new()).collect()));

/// Raw text -> canonical spelling (`None`: a default that amounts to no default).
type SpellingMap = HashMap<Box<str>, Option<Spelling>>;

/// Upper bound on cached spellings per engine, for types and for defaults.
const SPELLINGS_CACHED: usize = 16_384;

fn cached(
    engine: Engine,
    is_type: bool,
    raw: &str,
    compute: impl FnOnce() -> Option<String>,
) -> Option<Spelling> {
    let slot = match engine {
        Engine::Postgres => 0,
        Engine::Sqlite => 2,
        Engine::MySql => 4,
    } + usize::from(is_type);
    let mut maps = SPELLINGS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = maps[slot].get(raw) {
        return hit.clone();
    }
    let value: Option<Spelling> = compute().map(Spelling::from);
    if maps[slot].len() < SPELLINGS_CACHED {
        maps[slot].insert(raw.into(), value.clone());
    }
    value
}

/// [`normalize_type`], shared: equal spellings are one allocation.
pub fn canonical_type(engine: Engine, raw: &str) -> Spelling {
    cached(engine, true, raw, || Some(normalize_type(engine, raw)))
        .expect("a type always has a canonical spelling")
}

/// [`normalize_default`], shared: equal spellings are one allocation.
pub fn canonical_default(engine: Engine, raw: &str) -> Option<Spelling> {
    cached(engine, false, raw, || normalize_default(engine, raw))
}

/// Returns the canonical spelling of a column type as `engine` understands it.
pub fn normalize_type(engine: Engine, raw: &str) -> String {
    let text = squeeze(&lower_unquoted(raw.trim()));
    if !well_formed(engine, &text) {
        // No server reports such a type; rearranging its parts could make the result
        // normalise differently again. Compared as written (case aside).
        return text;
    }
    // Array suffixes (`integer[]`, `text[3]`) do not change the element type's spelling rules.
    let (base, dims) = split_array_suffix(&text);
    if engine == Engine::MySql {
        return normalize_mysql_type(base);
    }
    let (name, args) = split_type_args(base);
    // Types in `public` or `pg_catalog` are on every session's search path, so the catalog names them
    // unqualified while pg_dump qualifies them (`public.mood`); other schemas stay qualified on both.
    let name = match engine {
        Engine::Postgres => ["public.", "pg_catalog."]
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .map(str::to_string)
            .unwrap_or(name),
        _ => name,
    };
    let mut name = lookup(TYPE_ALIASES, &name).unwrap_or(&name).to_string();
    let mut args = args;
    match (name.as_str(), args.as_deref()) {
        // float(p) is real up to 24 bits of precision and double precision above (SQL standard).
        ("float", Some(p)) => {
            name = match p.parse::<u32>() {
                Ok(bits) if bits <= 24 => "real".into(),
                _ => "double precision".into(),
            };
            args = None;
        }
        ("float", None) => name = "double precision".into(),
        // numeric(p) is numeric(p,0); the catalog always shows the scale.
        ("numeric", Some(p)) if !p.contains(',') => args = Some(format!("{p},0")),
        _ => {}
    }
    if engine == Engine::Postgres && name == "char" && args.is_none() {
        // PostgreSQL's `char` without a length is char(1); its internal one-byte "char" is quoted.
        args = Some("1".into());
    }
    let mut out = name;
    if let Some(a) = args {
        out = insert_args(&out, &a);
    }
    out.push_str(&dims);
    out
}

/// Whether `text` looks like a type a server reports: a name first, one balanced argument list, and
/// quotes only in MySQL's `enum('a')` and `set('a')`, whose values are kept verbatim.
fn well_formed(engine: Engine, text: &str) -> bool {
    if !text.starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '"') {
        return false;
    }
    if text.contains('\'') {
        return engine == Engine::MySql && (text.starts_with("enum(") || text.starts_with("set("));
    }
    // One argument list at most (`timestamp(3) with time zone`): the normaliser moves it to
    // after the name, which a second list would make ambiguous.
    let mut depth = 0i32;
    let mut lists = 0;
    for c in text.chars() {
        match c {
            '(' => {
                if depth == 0 {
                    lists += 1;
                    if lists > 1 {
                        return false;
                    }
                }
                depth += 1;
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// MySQL and MariaDB: display widths dropped, `tinyint(1)` and `bool` are `boolean`, `unsigned` and
/// `zerofill` kept as suffixes, `enum(...)`/`set(...)` values kept verbatim.
fn normalize_mysql_type(text: &str) -> String {
    let mut suffixes = Vec::new();
    let mut base = text;
    loop {
        if let Some(b) = base.strip_suffix(" zerofill") {
            base = b;
            suffixes.insert(0, " zerofill");
        } else if let Some(b) = base.strip_suffix(" unsigned") {
            base = b;
            suffixes.insert(0, " unsigned");
        } else if let Some(b) = base.strip_suffix(" signed") {
            base = b; // the default, as good as absent
        } else {
            break;
        }
    }
    let (name, args) = split_type_args(base);
    if name == "enum" || name == "set" {
        return text.to_string();
    }
    if name == "tinyint" && args.as_deref() == Some("1") && suffixes.is_empty() {
        return "boolean".into();
    }
    let name = lookup(MYSQL_TYPE_ALIASES, &name)
        .or_else(|| lookup(TYPE_ALIASES, &name))
        .unwrap_or(&name)
        .to_string();
    let args = match args {
        Some(_) if MYSQL_DISPLAY_WIDTH_TYPES.contains(&name.as_str()) => None,
        Some(p) if name == "numeric" && !p.contains(',') => Some(format!("{p},0")),
        None if name == "numeric" => Some("10,0".to_string()),
        other => other,
    };
    let mut out = match args {
        Some(a) => format!("{name}({a})"),
        None => name,
    };
    for s in suffixes {
        out.push_str(s);
    }
    out
}

/// MySQL 8 reports literal defaults unquoted (`csv`), MariaDB quoted (`'csv'`); expression defaults
/// are flagged `DEFAULT_GENERATED` in MySQL 8's `EXTRA`. Quotes a MySQL 8 literal so both servers
/// (and what a person writes) compare the same. Numbers stay bare.
pub fn quote_mysql_literal_default(raw: &str, is_expression: bool) -> String {
    if is_expression || raw.parse::<f64>().is_ok() || raw.starts_with('\'') {
        raw.to_string()
    } else {
        format!("'{}'", raw.replace('\'', "''"))
    }
}

/// Returns the canonical form of a default expression, or `None` when it amounts to "no default"
/// (`NULL`, or the sequence default behind a serial column).
pub fn normalize_default(engine: Engine, raw: &str) -> Option<String> {
    let stored = as_postgres_stores(raw.trim());
    // PostgreSQL prints a default in its own form (a pair of parentheses per operation, the
    // casts it inserts): where the text reads as an expression, its tree is compared.
    let stored = match engine {
        Engine::Postgres => tree_form_without_casts(&stored).unwrap_or(stored),
        _ => stored,
    };
    let mut expr = strip_parens(&stored).to_string();
    expr = strip_casts(&expr);
    expr = strip_parens(&expr).to_string();
    let expr = squeeze(&lower_unquoted(&expr));
    if expr.is_empty() || expr == "null" || expr.starts_with("nextval(") {
        return None;
    }
    // PostgreSQL quotes negative and some numeric literals ('-1'::integer), a person writes
    // -1; but on a text column `'1.0'` is not `'1'`, and the default alone does not say the
    // column's type: the diff compares quoted numbers as numbers on numeric columns only.
    let mut expr = lookup(DEFAULT_ALIASES, &expr)
        .map(str::to_string)
        .unwrap_or(expr);
    if matches!(engine, Engine::Sqlite | Engine::MySql) {
        if let Some(v) = lookup(INTEGER_BOOLEAN_DEFAULTS, &expr) {
            expr = v.to_string();
        }
    }
    Some(canonical_number(&expr).unwrap_or(expr))
}

/// Whether `s` is a number in digits: an optional minus, digits, at most one point.
pub fn plain_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.matches('.').count() <= 1
}

/// `1.50` and `1.5`, `0.00` and `0` are one number: trailing fractional zeros are dropped.
pub fn canonical_number(s: &str) -> Option<String> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        || digits.matches('.').count() > 1
    {
        return None;
    }
    if !s.contains('.') {
        return Some(s.to_string());
    }
    let trimmed = s.trim_end_matches('0').trim_end_matches('.');
    Some(if trimmed.is_empty() || trimmed == "-" {
        "0".into()
    } else {
        trimmed.to_string()
    })
}

fn lookup<'a>(table: &'a [(&str, &str)], key: &str) -> Option<&'a str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (engine, written, canonical). Each row is a spelling seen in the wild.
    const TYPE_CASES: &[(Engine, &str, &str)] = &[
        (Engine::Postgres, "int4", "integer"),
        (Engine::Postgres, "INT", "integer"),
        (Engine::Postgres, "integer", "integer"),
        (Engine::Postgres, "serial", "integer"),
        (Engine::Postgres, "int8", "bigint"),
        (Engine::Postgres, "bigserial", "bigint"),
        (Engine::Postgres, "smallserial", "smallint"),
        (Engine::Postgres, "int2", "smallint"),
        (Engine::Postgres, "float4", "real"),
        (Engine::Postgres, "float8", "double precision"),
        (Engine::Postgres, "float", "double precision"),
        (Engine::Postgres, "float(10)", "real"),
        (Engine::Postgres, "float(53)", "double precision"),
        (Engine::Postgres, "varchar(255)", "varchar(255)"),
        (Engine::Postgres, "character varying(255)", "varchar(255)"),
        (Engine::Postgres, "VARCHAR ( 255 )", "varchar(255)"),
        (Engine::Postgres, "character varying", "varchar"),
        (Engine::Postgres, "character(2)", "char(2)"),
        (Engine::Postgres, "bpchar", "char(1)"),
        (Engine::Postgres, "char", "char(1)"),
        (Engine::Postgres, "bool", "boolean"),
        (Engine::Postgres, "timestamptz", "timestamptz"),
        (Engine::Postgres, "timestamp with time zone", "timestamptz"),
        (
            Engine::Postgres,
            "timestamp(3) with time zone",
            "timestamptz(3)",
        ),
        (Engine::Postgres, "timestamptz(3)", "timestamptz(3)"),
        (Engine::Postgres, "timestamp without time zone", "timestamp"),
        (Engine::Postgres, "time with time zone", "timetz"),
        (Engine::Postgres, "decimal(10,2)", "numeric(10,2)"),
        (Engine::Postgres, "numeric(10, 2)", "numeric(10,2)"),
        (Engine::Postgres, "numeric(10)", "numeric(10,0)"),
        (Engine::Postgres, "int4[]", "integer[]"),
        (Engine::Postgres, "integer[]", "integer[]"),
        (Engine::Postgres, "text[3]", "text[]"),
        (Engine::Postgres, "int array", "integer[]"),
        (Engine::Postgres, "jsonb", "jsonb"),
        (Engine::Postgres, "\"MyEnum\"", "\"MyEnum\""),
        (Engine::Sqlite, "INTEGER", "integer"),
        (Engine::Sqlite, "VARCHAR(20)", "varchar(20)"),
        (Engine::Sqlite, "bool", "boolean"),
        (Engine::Sqlite, "datetime", "datetime"),
        (Engine::Sqlite, "char", "char"),
        (Engine::MySql, "int(11)", "int"),
        (Engine::MySql, "INTEGER", "int"),
        (Engine::MySql, "int", "int"),
        (Engine::MySql, "int(10) unsigned", "int unsigned"),
        (Engine::MySql, "int unsigned", "int unsigned"),
        (Engine::MySql, "bigint(20)", "bigint"),
        (Engine::MySql, "int8", "bigint"),
        (Engine::Postgres, "public.mood", "mood"),
        (Engine::Postgres, "pg_catalog.int4", "integer"),
        (Engine::Postgres, "billing.currency", "billing.currency"),
        (Engine::Postgres, "public.mood[]", "mood[]"),
        (Engine::MySql, "tinyint(1)", "boolean"),
        (Engine::MySql, "bool", "boolean"),
        (Engine::MySql, "boolean", "boolean"),
        (Engine::MySql, "tinyint(4)", "tinyint"),
        (Engine::MySql, "tinyint(3) unsigned", "tinyint unsigned"),
        (
            Engine::MySql,
            "int(10) unsigned zerofill",
            "int unsigned zerofill",
        ),
        (Engine::MySql, "smallint signed", "smallint"),
        (Engine::MySql, "datetime(6)", "datetime(6)"),
        (Engine::MySql, "DATETIME", "datetime"),
        (Engine::MySql, "decimal(10,2)", "numeric(10,2)"),
        (Engine::MySql, "decimal(10)", "numeric(10,0)"),
        (Engine::MySql, "decimal", "numeric(10,0)"),
        (Engine::MySql, "float", "float"),
        (Engine::MySql, "double", "double"),
        (Engine::MySql, "double precision", "double"),
        (Engine::MySql, "real", "double"),
        (Engine::MySql, "serial", "bigint unsigned"),
        (Engine::MySql, "varchar(255)", "varchar(255)"),
        (Engine::MySql, "character varying(20)", "varchar(20)"),
        (Engine::MySql, "enum('csv','json')", "enum('csv','json')"),
        (Engine::MySql, "ENUM('Csv', 'json')", "enum('Csv','json')"),
        (Engine::MySql, "year(4)", "year"),
        (Engine::MySql, "json", "json"),
        (Engine::MySql, "longtext", "longtext"),
    ];

    #[test]
    fn type_spellings_normalise_to_one_canonical_form() {
        for (engine, written, canonical) in TYPE_CASES {
            assert_eq!(
                normalize_type(*engine, written),
                *canonical,
                "{engine:?}: {written}"
            );
        }
    }

    #[test]
    fn type_normalisation_is_idempotent() {
        for (engine, written, _) in TYPE_CASES {
            let once = normalize_type(*engine, written);
            assert_eq!(
                normalize_type(*engine, &once),
                once,
                "{engine:?}: {written}"
            );
        }
    }

    /// (engine, written, canonical or None for "no default").
    const DEFAULT_CASES: &[(Engine, &str, Option<&str>)] = &[
        (Engine::Postgres, "'csv'::character varying", Some("'csv'")),
        (Engine::Postgres, "'csv'", Some("'csv'")),
        (Engine::Postgres, "'{}'::jsonb", Some("'{}'")),
        (Engine::Postgres, "now()", Some("current_timestamp")),
        (Engine::Postgres, "NOW()", Some("current_timestamp")),
        (
            Engine::Postgres,
            "CURRENT_TIMESTAMP",
            Some("current_timestamp"),
        ),
        // Quoted numbers stay quoted: on a text column they are strings (the diff compares
        // them as numbers on numeric columns).
        (Engine::Postgres, "'-1'::integer", Some("'-1'")),
        (Engine::Postgres, "-1", Some("-1")),
        // A typed literal, and the value as PostgreSQL prints it.
        (
            Engine::Postgres,
            "interval '90 minutes'",
            Some("'01:30:00'"),
        ),
        (Engine::Postgres, "'01:30:00'::interval", Some("'01:30:00'")),
        (Engine::Postgres, "date '2020-1-2'", Some("'2020-01-02'")),
        (Engine::Postgres, "'2020-01-02'::date", Some("'2020-01-02'")),
        (Engine::Postgres, "CAST(0 AS bigint)", Some("0")),
        // pg_dump names the sequence with its schema; the catalog read does not.
        (
            Engine::Postgres,
            "('INV-'::text || lpad((nextval('public.s'::regclass))::text, 6, '0'::text))",
            Some("'INV-' || lpad(nextval('s'),6,'0')"),
        ),
        (
            Engine::Postgres,
            "('INV-'::text || lpad((nextval('s'::regclass))::text, 6, '0'::text))",
            Some("'INV-' || lpad(nextval('s'),6,'0')"),
        ),
        // Printed by PostgreSQL 15 for what a person wrote; normalising either again changes
        // nothing (the cast goes with the parentheses it needed).
        (
            Engine::Postgres,
            "(random() * ((10 + 1))::double precision)",
            Some("random() *(10 + 1)"),
        ),
        (
            Engine::Postgres,
            "random() * (10 + 1)",
            Some("random() *(10 + 1)"),
        ),
        (Engine::Postgres, "'it''''s'", Some("'it''''s'")),
        (Engine::Postgres, "'it''s'::text", Some("'it''s'")),
        // Printed by PostgreSQL 15 for what a person wrote.
        (
            Engine::Postgres,
            "md5((random())::text)",
            Some("md5(random())"),
        ),
        (
            Engine::Postgres,
            "md5(random()::text)",
            Some("md5(random())"),
        ),
        (Engine::Postgres, "((60 * 60) * 24)", Some("(60 * 60) * 24")),
        (Engine::Postgres, "60*60*24", Some("(60 * 60) * 24")),
        (
            Engine::Postgres,
            "\nCASE\n    WHEN true THEN 'a'::text\n    ELSE 'b'::text\nEND",
            Some("case when true then 'a' else 'b' end"),
        ),
        (
            Engine::Postgres,
            "CASE WHEN true THEN 'a' ELSE 'b' END",
            Some("case when true then 'a' else 'b' end"),
        ),
        // Prisma writes the array's cast; PostgreSQL casts each element.
        (
            Engine::Postgres,
            "ARRAY['a', 'b']::TEXT[]",
            Some("array['a','b']"),
        ),
        (
            Engine::Postgres,
            "ARRAY['a'::text, 'b'::text]",
            Some("array['a','b']"),
        ),
        // What pg_dump writes, beside what the catalog says on the usual search path.
        (
            Engine::Postgres,
            "public.uuid_generate_v4()",
            Some("uuid_generate_v4()"),
        ),
        (
            Engine::Postgres,
            "uuid_generate_v4()",
            Some("uuid_generate_v4()"),
        ),
        (Engine::Postgres, "(0)", Some("0")),
        (Engine::Postgres, "0", Some("0")),
        (Engine::Postgres, "('a'::text)", Some("'a'")),
        (Engine::Postgres, "'Mixed Case'::text", Some("'Mixed Case'")),
        (
            Engine::Postgres,
            "'2020-01-01 00:00:00+00'::timestamp with time zone",
            Some("'2020-01-01 00:00:00+00'"),
        ),
        (Engine::Postgres, "'1.50'::numeric(10,2)", Some("'1.50'")),
        (Engine::Postgres, "0.00", Some("0")),
        (Engine::Postgres, "'{}'::text[]", Some("'{}'")),
        (Engine::Postgres, "true", Some("true")),
        (Engine::Postgres, "NULL::character varying", None),
        (Engine::Postgres, "NULL", None),
        (
            Engine::Postgres,
            "nextval('export_logs_id_seq'::regclass)",
            None,
        ),
        (
            Engine::Postgres,
            "gen_random_uuid()",
            Some("gen_random_uuid()"),
        ),
        (
            Engine::Postgres,
            "('x'::text || 'y'::text)",
            Some("'x' || 'y'"),
        ),
        (Engine::Sqlite, "'csv'", Some("'csv'")),
        (
            Engine::Sqlite,
            "CURRENT_TIMESTAMP",
            Some("current_timestamp"),
        ),
        (Engine::Sqlite, "TRUE", Some("1")),
        (Engine::Sqlite, "0", Some("0")),
        (Engine::Sqlite, "NULL", None),
        (Engine::MySql, "'csv'", Some("'csv'")),
        (Engine::MySql, "NULL", None),
        (
            Engine::MySql,
            "current_timestamp()",
            Some("current_timestamp"),
        ),
        (
            Engine::MySql,
            "CURRENT_TIMESTAMP",
            Some("current_timestamp"),
        ),
        (
            Engine::MySql,
            "current_timestamp(6)",
            Some("current_timestamp(6)"),
        ),
        (Engine::MySql, "0.00", Some("0")),
        (Engine::MySql, "'0'", Some("'0'")),
        (Engine::MySql, "true", Some("1")),
    ];

    #[test]
    fn mysql8_unquoted_literal_defaults_are_quoted_like_mariadb_shows_them() {
        for (raw, expression, quoted) in [
            ("csv", false, "'csv'"),
            ("it's", false, "'it''s'"),
            ("0", false, "0"),
            ("1.5", false, "1.5"),
            ("CURRENT_TIMESTAMP", true, "CURRENT_TIMESTAMP"),
            ("'csv'", false, "'csv'"),
        ] {
            assert_eq!(
                quote_mysql_literal_default(raw, expression),
                quoted,
                "{raw}"
            );
            let mariadb =
                normalize_default(Engine::MySql, &quote_mysql_literal_default(raw, expression));
            assert_eq!(mariadb, normalize_default(Engine::MySql, quoted), "{raw}");
        }
    }

    #[test]
    fn default_spellings_normalise_to_one_canonical_form() {
        for (engine, written, canonical) in DEFAULT_CASES {
            assert_eq!(
                normalize_default(*engine, written).as_deref(),
                *canonical,
                "{engine:?}: {written}"
            );
        }
    }

    #[test]
    fn default_normalisation_is_idempotent() {
        for (engine, written, _) in DEFAULT_CASES {
            if let Some(once) = normalize_default(*engine, written) {
                assert_eq!(
                    normalize_default(*engine, &once).as_deref(),
                    Some(once.as_str()),
                    "{engine:?}: {written}"
                );
            }
        }
    }
}
