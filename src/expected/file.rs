//! The native expected-schema YAML file: parsed strictly, rendered by `snapshot`.
//!
//! ```yaml
//! tables:
//!   export_logs:                  # or "schema.table"
//!     columns:
//!       id: {type: bigint, nullable: false}
//!       user_id: varchar(255)     # shorthand: type only
//! ```

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use super::ExpectedError;
use crate::dialect::Engine;
use crate::model::{
    Column, EnumType, ForeignKey, Index, IndexPart, Key, Name, Names, Schema, Table, TableName,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    /// A table written with no value (`audit.events:`) is a table without columns.
    tables: UniqueMap<Option<TableDoc>>,
    /// PostgreSQL enum types (`name` or `schema.name`); absent: types are not compared.
    #[serde(default)]
    types: Option<UniqueMap<TypeDoc>>,
}

/// One enum type: `{enum: [queued, running, done]}`, labels in order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeDoc {
    #[serde(rename = "enum")]
    labels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableDoc {
    /// Absent: only the table's existence is checked.
    #[serde(default)]
    columns: Option<UniqueMap<ColumnDoc>>,
    /// Absent: not compared; `null`: the table has no primary key; its key parts, or a mapping
    /// as an index's (`{columns: [id], include: [a], deferrable: true}`).
    #[serde(default, deserialize_with = "present")]
    primary_key: Option<Option<PrimaryKeyDoc>>,
    /// Absent: not compared; a list (maybe empty): every index and unique constraint besides
    /// the primary key.
    #[serde(default)]
    indexes: Option<Vec<IndexDoc>>,
    /// Absent: not compared; a list (maybe empty): every foreign key of the table.
    #[serde(default)]
    foreign_keys: Option<Vec<ForeignKeyDoc>>,
    /// Absent: not compared; a list (maybe empty): every check constraint of the table.
    #[serde(default)]
    checks: Option<Vec<CheckDoc>>,
}

/// One check constraint: `{name: qty_positive, expression: "qty > 0"}`; by name when it has
/// one, else by its condition.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckDoc {
    name: Option<String>,
    expression: Option<String>,
}

/// One foreign key: `{columns: [user_id], references: {table: users, columns: [id]},
/// on_delete: cascade}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForeignKeyDoc {
    columns: Vec<String>,
    references: ReferenceDoc,
    /// Absent: `no action`, the engines' default.
    #[serde(default)]
    on_delete: Option<String>,
    #[serde(default)]
    on_update: Option<String>,
    /// `DEFERRABLE` (PostgreSQL).
    #[serde(default)]
    deferrable: bool,
    /// `DEFERRABLE INITIALLY DEFERRED` (PostgreSQL; implies `deferrable`).
    #[serde(default)]
    initially_deferred: bool,
    /// Used for the suggested SQL; never compared.
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceDoc {
    /// `table` or `schema.table`.
    table: String,
    /// Absent: the target's primary key.
    #[serde(default)]
    columns: Vec<String>,
}

/// The referential actions a foreign key may name.
const ACTIONS: [&str; 5] = [
    "no action",
    "restrict",
    "cascade",
    "set null",
    "set default",
];

/// A key that is present is `Some`, even when its value is `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// One index or unique constraint.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexDoc {
    columns: Vec<PartDoc>,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    partial: bool,
    /// `INCLUDE` columns (PostgreSQL), compared as a set.
    #[serde(default)]
    include: Vec<String>,
    /// `NULLS NOT DISTINCT` (PostgreSQL 15).
    #[serde(default)]
    nulls_not_distinct: bool,
    /// A `DEFERRABLE` constraint.
    #[serde(default)]
    deferrable: bool,
    /// `DEFERRABLE INITIALLY DEFERRED` (implies `deferrable`).
    #[serde(default)]
    initially_deferred: bool,
    /// An exclusion constraint's operator per key part (PostgreSQL `EXCLUDE`).
    #[serde(default)]
    exclude: Vec<String>,
    /// A partial index's predicate: implies `partial`, written into suggested SQL, never
    /// compared (servers rewrite predicates).
    #[serde(default, rename = "where")]
    predicate: Option<String>,
    /// Absent: any method.
    #[serde(default)]
    method: Option<String>,
    /// Used for the suggested SQL; never compared.
    #[serde(default)]
    name: Option<String>,
}

/// A primary key: its key parts, or a mapping with the attributes of an index.
enum PrimaryKeyDoc {
    Parts(Vec<PartDoc>),
    Full(IndexDoc),
}

impl<'de> Deserialize<'de> for PrimaryKeyDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl<'de> Visitor<'de> for Key {
            type Value = PrimaryKeyDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of key parts or {columns: [...], ...}")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<PrimaryKeyDoc, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(PrimaryKeyDoc::Parts)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PrimaryKeyDoc, A::Error> {
                IndexDoc::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(PrimaryKeyDoc::Full)
            }
        }
        d.deserialize_any(Key)
    }
}

/// A key part: a column name, or a mapping: `{column: name}` or `{expression: "lower(email)"}`
/// (`null`: any expression), with `order: desc`, `nulls: first | last` and `length: 10` (a MySQL
/// prefix part) where they are not the default.
struct PartDoc {
    key: KeyDoc,
    descending: bool,
    nulls_first: Option<bool>,
    length: Option<u32>,
}

enum KeyDoc {
    Column(String),
    Expression(Option<String>),
}

impl<'de> Deserialize<'de> for PartDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Part;
        impl<'de> Visitor<'de> for Part {
            type Value = PartDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name, {column: ...} or {expression: ...}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PartDoc, E> {
                Ok(PartDoc {
                    key: KeyDoc::Column(v.to_string()),
                    descending: false,
                    nulls_first: None,
                    length: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PartDoc, A::Error> {
                #[derive(Deserialize)]
                #[serde(rename_all = "lowercase")]
                enum Order {
                    Asc,
                    Desc,
                }
                #[derive(Deserialize)]
                #[serde(rename_all = "lowercase")]
                enum Nulls {
                    First,
                    Last,
                }
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Raw {
                    column: Option<String>,
                    // `{expression: null}` is stated: any expression. Absent is not.
                    #[serde(default, deserialize_with = "stated")]
                    expression: Option<Option<String>>,
                    order: Option<Order>,
                    nulls: Option<Nulls>,
                    length: Option<u32>,
                }
                let raw = Raw::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let key = match (raw.column, raw.expression) {
                    (Some(c), None) => KeyDoc::Column(c),
                    (None, Some(e)) => KeyDoc::Expression(e),
                    _ => {
                        return Err(de::Error::custom(
                            "a key part names exactly one of `column` and `expression`",
                        ))
                    }
                };
                Ok(PartDoc {
                    key,
                    descending: matches!(raw.order, Some(Order::Desc)),
                    nulls_first: raw.nulls.map(|n| matches!(n, Nulls::First)),
                    length: raw.length,
                })
            }
        }
        d.deserialize_any(Part)
    }
}

/// A field that may be written as `null`: `Some(None)`, where an absent one is `None`.
fn stated<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// One column. Deserialised by hand (see below) so the shorthand `name: type` is accepted too.
#[derive(Default)]
struct ColumnDoc {
    data_type: Option<String>,
    nullable: Option<bool>,
    /// `None`: not stated; `Some(None)`: `default: null`, the column must have no default.
    default: Option<Option<String>>,
    /// `identity: true`: the engine makes its values (identity, serial, AUTO_INCREMENT).
    identity: Option<bool>,
}

/// A mapping that rejects duplicate keys (YAML allows them silently; we do not: the second one
/// would hide the first).
struct UniqueMap<V>(IndexMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = IndexMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.contains_key(&key) {
                        return Err(de::Error::custom(format!("duplicate name `{key}`")));
                    }
                    let value = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_map(V2(PhantomData))
    }
}

impl<'de> Deserialize<'de> for ColumnDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Shorthand;
        impl<'de> Visitor<'de> for Shorthand {
            type Value = ColumnDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a type name or a mapping with type, nullable and default")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnDoc, E> {
                Ok(ColumnDoc {
                    data_type: Some(v.to_string()),
                    ..ColumnDoc::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ColumnDoc, A::Error> {
                FullColumn::deserialize(de::value::MapAccessDeserializer::new(map)).map(|c| c.0)
            }
        }
        d.deserialize_any(Shorthand)
    }
}

/// The mapping form of a column, deserialised with the derived (strict) rules.
struct FullColumn(ColumnDoc);

impl<'de> Deserialize<'de> for FullColumn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(rename = "type", default)]
            data_type: Option<String>,
            #[serde(default)]
            nullable: Option<bool>,
            #[serde(default, deserialize_with = "default_expr")]
            default: Option<Option<String>>,
            #[serde(default)]
            identity: Option<bool>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(FullColumn(ColumnDoc {
            data_type: raw.data_type,
            nullable: raw.nullable,
            default: raw.default,
            identity: raw.identity,
        }))
    }
}

/// A default is an SQL expression; YAML numbers and booleans are accepted as their SQL spelling.
fn default_expr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    struct Expr;
    impl<'de> Visitor<'de> for Expr {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an SQL default expression, a number, a boolean or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Expr).map(Some)
}

/// Parses an expected-schema file. `schemas` are the database's configured schemas; unqualified
/// table names belong to the first.
pub fn parse(
    text: &str,
    path: &Path,
    engine: Engine,
    schemas: &[String],
) -> Result<Schema, ExpectedError> {
    let invalid = |message: String| ExpectedError::Invalid {
        location: path.display().to_string(),
        message,
    };
    let doc: FileDoc = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| yaml_error(e, path))?;
    let default_schema = schemas.first().map_or("public", String::as_str);
    let mut schema = Schema::default();
    let mut names = Names::default();
    for (key, table_doc) in doc.tables.0 {
        let name = table_name(&key, default_schema, engine).map_err(invalid)?;
        let mut table = Table::new(name);
        let (columns, primary_key, indexes, foreign_keys, checks) = match table_doc {
            Some(t) => (
                t.columns,
                t.primary_key,
                t.indexes,
                t.foreign_keys,
                t.checks,
            ),
            None => (None, None, None, None, None),
        };
        match columns {
            None => table.columns_compared = false,
            Some(columns) => {
                for (column, doc) in columns.0 {
                    add_column(&mut table, &key, names.get(&column), doc, engine)
                        .map_err(invalid)?;
                }
                // Built by doubling: without this a 20-column table holds room for 32.
                table.columns.shrink_to_fit();
            }
        }
        table.primary_key = match primary_key {
            None => None,
            Some(None) => Some(None),
            Some(Some(pk)) => {
                let doc = match pk {
                    PrimaryKeyDoc::Full(doc) => doc,
                    PrimaryKeyDoc::Parts(parts) => IndexDoc {
                        columns: parts,
                        unique: true,
                        partial: false,
                        include: Vec::new(),
                        nulls_not_distinct: false,
                        deferrable: false,
                        initially_deferred: false,
                        exclude: Vec::new(),
                        predicate: None,
                        method: None,
                        name: None,
                    },
                };
                Some(Some(
                    index(&table, &key, "primary_key", doc, true, engine, &mut names)
                        .map_err(invalid)?,
                ))
            }
        };
        if let Some(docs) = indexes {
            let mut list = Vec::with_capacity(docs.len());
            for (i, doc) in docs.into_iter().enumerate() {
                let at = format!("indexes[{i}]");
                list.push(
                    index(&table, &key, &at, doc, false, engine, &mut names).map_err(invalid)?,
                );
            }
            table.indexes = Some(list);
        }
        if let Some(docs) = foreign_keys {
            let mut list = Vec::with_capacity(docs.len());
            for (i, doc) in docs.into_iter().enumerate() {
                let at = format!("foreign_keys[{i}]");
                list.push(
                    foreign_key(&table, &key, &at, doc, default_schema, engine, &mut names)
                        .map_err(invalid)?,
                );
            }
            table.foreign_keys = Some(list);
        }
        if let Some(docs) = checks {
            let mut list: Vec<crate::model::Check> = Vec::with_capacity(docs.len());
            for (i, doc) in docs.into_iter().enumerate() {
                let at = format!("table `{key}`: checks[{i}]");
                let name = doc.name.filter(|n| !n.trim().is_empty());
                let expression = doc.expression.filter(|e| !e.trim().is_empty());
                if name.is_none() && expression.is_none() {
                    return Err(invalid(format!("{at}: give a name, an expression or both")));
                }
                if let Some(n) = &name {
                    let folded = engine.fold_identifier(n);
                    if list
                        .iter()
                        .any(|c| engine.fold_identifier(&c.name) == folded)
                    {
                        return Err(invalid(format!("{at}: check `{n}` is listed twice")));
                    }
                }
                list.push(crate::model::Check {
                    name_given: name.is_some(),
                    name: name.unwrap_or_default(),
                    expression,
                    validated: true,
                });
            }
            table.checks = Some(list);
        }
        if !schema.add_table(engine, table) {
            return Err(invalid(format!("table `{key}` is listed twice")));
        }
    }
    schema.tables.shrink_to_fit();
    if let Some(types) = doc.types {
        schema.types = Some(enum_types(types, default_schema, engine).map_err(invalid)?);
    }
    Ok(schema)
}

/// The `types:` section: PostgreSQL's alone, each type's labels distinct.
fn enum_types(
    docs: UniqueMap<TypeDoc>,
    default_schema: &str,
    engine: Engine,
) -> Result<IndexMap<TableName, EnumType>, String> {
    if engine != Engine::Postgres && !docs.0.is_empty() {
        return Err(format!(
            "types: enum types are PostgreSQL's; a {} ENUM is a column type (write it as the column's type)",
            engine.name()
        ));
    }
    let mut types = IndexMap::with_capacity(docs.0.len());
    for (key, doc) in docs.0 {
        let name = table_name(&key, default_schema, engine)
            .map_err(|e| format!("types: {}", e.replacen("table `", "type `", 1)))?;
        for (i, label) in doc.labels.iter().enumerate() {
            if doc.labels[..i].contains(label) {
                return Err(format!("types: `{key}`: label `{label}` is listed twice"));
            }
        }
        let folded = Schema::key(engine, &name);
        if types.contains_key(&folded) {
            return Err(format!("types: `{key}` is listed twice"));
        }
        types.insert(
            folded,
            EnumType {
                name,
                labels: doc.labels,
            },
        );
    }
    Ok(types)
}

/// How expected-schema files are read. The deserializer streams (no buffer of every YAML event of
/// the document, which cost 200 MB for a 13 MB file), so the input's size already bounds events,
/// nodes and scalar bytes; what stays capped is what can grow beyond the input: alias expansion and
/// nesting depth (the library's defaults).
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = usize::MAX;
    budget.max_nodes = usize::MAX;
    budget.max_total_scalar_bytes = usize::MAX;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // The message alone: the location is ours to format, and a snippet would span lines in logs.
    options.with_snippet = false;
    options
}

/// A YAML error at its `file:line:column`, worded for the person who wrote the file.
fn yaml_error(e: serde_saphyr::Error, path: &Path) -> ExpectedError {
    let location = match e.location() {
        Some(l) if l.line() > 0 => format!("{}:{}:{}", path.display(), l.line(), l.column()),
        _ => path.display().to_string(),
    };
    // The library appends " at line X, column Y"; the location already says it.
    let message = match &e {
        serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
            format!("duplicate name `{key}`")
        }
        _ => e.to_string(),
    };
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    // `{type: numeric(10,2)}` splits at the comma in YAML flow style; say how to write it.
    let message = if message.contains("unknown field `") && message.contains(")`") {
        format!("{message} (a type containing a comma must be quoted inside {{...}}, e.g. type: \"numeric(10,2)\")")
    } else {
        message
    };
    ExpectedError::Invalid { location, message }
}

/// A table key (`table` or `schema.table`) as a name in one of the engine's schemas.
fn table_name(key: &str, default_schema: &str, engine: Engine) -> Result<TableName, String> {
    let name = match key.split_once('.') {
        Some((s, t)) if !s.is_empty() && !t.is_empty() => TableName::new(s, t),
        Some(_) => return Err(format!("table `{key}`: expected `table` or `schema.table`")),
        None => TableName::new(default_schema, key),
    };
    match engine.fixed_schemas() {
        Some(fixed) if !fixed.contains(&name.schema.as_str()) => Err(format!(
            "table `{key}`: {} databases only have schema {}",
            engine.name(),
            fixed.join(", ")
        )),
        _ => Ok(name),
    }
}

/// A foreign key of `table` (written under `key`) from its document at `at`: its columns must
/// be the table's when the table lists them, and its actions ones the engines know.
fn foreign_key(
    table: &Table,
    key: &str,
    at: &str,
    doc: ForeignKeyDoc,
    default_schema: &str,
    engine: Engine,
    names: &mut Names,
) -> Result<ForeignKey, String> {
    if doc.columns.is_empty() {
        return Err(format!("table `{key}`, {at}: no columns"));
    }
    if !doc.references.columns.is_empty() && doc.references.columns.len() != doc.columns.len() {
        return Err(format!(
            "table `{key}`, {at}: {} columns reference {} columns",
            doc.columns.len(),
            doc.references.columns.len()
        ));
    }
    let mut columns = Vec::with_capacity(doc.columns.len());
    for c in &doc.columns {
        let folded = engine.fold_identifier(c);
        if table.columns_compared && !table.columns.contains_key(folded.as_str()) {
            return Err(format!(
                "table `{key}`, {at}: column `{c}` is not one of its columns"
            ));
        }
        columns.push(names.get(&folded));
    }
    let target = table_name(&doc.references.table, default_schema, engine)
        .map_err(|e| format!("table `{key}`, {at}: references: {e}"))?;
    let mut actions = Vec::new();
    for (what, action) in [("on_delete", &doc.on_delete), ("on_update", &doc.on_update)] {
        let action = ForeignKey::action(engine, action.as_deref());
        if !ACTIONS.contains(&action.as_str()) {
            return Err(format!(
                "table `{key}`, {at}: {what}: `{action}` is not one of {}",
                ACTIONS.join(", ")
            ));
        }
        actions.push(action);
    }
    let on_update = actions.pop().unwrap_or_default();
    let on_delete = actions.pop().unwrap_or_default();
    let deferrable = doc.deferrable || doc.initially_deferred;
    if deferrable && engine != Engine::Postgres {
        // No other catalog shows it: the key would read as drift on every check.
        return Err(format!(
            "table `{key}`, {at}: a deferrable foreign key is compared on PostgreSQL only"
        ));
    }
    Ok(ForeignKey {
        name: doc.name.unwrap_or_default(),
        columns,
        target: Schema::key(engine, &target),
        target_columns: doc
            .references
            .columns
            .iter()
            .map(|c| names.get(&engine.fold_identifier(c)))
            .collect(),
        on_delete,
        on_update,
        deferrable,
        initially_deferred: doc.initially_deferred,
        validated: true,
    })
}

/// An index of `table` (written under `key`) from its document at `at`: its columns must be
/// the table's, when the table lists columns.
fn index(
    table: &Table,
    key: &str,
    at: &str,
    doc: IndexDoc,
    primary: bool,
    engine: Engine,
    names: &mut Names,
) -> Result<Index, String> {
    if doc.columns.is_empty() {
        return Err(format!("table `{key}`, {at}: no columns"));
    }
    let column = |c: &str, names: &mut Names| {
        let folded = engine.fold_identifier(c);
        if table.columns_compared && !table.columns.contains_key(folded.as_str()) {
            return Err(format!(
                "table `{key}`, {at}: column `{c}` is not one of its columns"
            ));
        }
        Ok(names.get(&folded))
    };
    let mut parts = Vec::with_capacity(doc.columns.len());
    for part in doc.columns {
        let mut made = match &part.key {
            KeyDoc::Column(c) => IndexPart::column(column(c, names)?),
            KeyDoc::Expression(e) => IndexPart::expression(e.clone()),
        };
        made.descending = part.descending;
        made.nulls_reversed = part
            .nulls_first
            .is_some_and(|first| first != part.descending);
        made.length = part.length;
        parts.push(made);
    }
    let mut include = Vec::with_capacity(doc.include.len());
    for c in &doc.include {
        include.push(column(c, names)?);
    }
    let mut index = Index::new(doc.name.unwrap_or_default(), primary, doc.unique);
    index.parts = parts;
    index.method = doc.method.map(|m| m.to_ascii_lowercase());
    index.partial = doc.partial || doc.predicate.is_some();
    index.predicate = doc.predicate;
    index.include = include;
    index.nulls_not_distinct = doc.nulls_not_distinct;
    index.deferrable = doc.deferrable || doc.initially_deferred;
    index.initially_deferred = doc.initially_deferred;
    if !doc.exclude.is_empty() && doc.exclude.len() != index.parts.len() {
        return Err(format!(
            "table `{key}`, {at}: `exclude` names {} operator(s) for {} key part(s)",
            doc.exclude.len(),
            index.parts.len()
        ));
    }
    if !doc.exclude.is_empty() && (doc.unique || primary) {
        return Err(format!(
            "table `{key}`, {at}: an exclusion constraint is not also `unique`"
        ));
    }
    index.exclusion = doc.exclude.iter().map(|o| Index::operator(o)).collect();
    Ok(index)
}

fn add_column(
    table: &mut Table,
    key: &str,
    column: Name,
    doc: ColumnDoc,
    engine: Engine,
) -> Result<(), String> {
    // SQLite allows a column declared without a type; other engines do not.
    let untyped = doc
        .data_type
        .as_deref()
        .is_some_and(|t| t.trim().is_empty());
    if untyped && engine != Engine::Sqlite {
        return Err(format!("table `{key}`, column `{column}`: empty type"));
    }
    let mut c = Column::new(
        engine,
        column.clone(),
        doc.data_type.as_deref(),
        doc.nullable,
        doc.default.as_ref().map(|d| d.as_deref()),
    );
    c.identity = doc.identity;
    if !table.add_column(engine, c) {
        return Err(format!(
            "table `{key}`: column `{column}` is listed twice ({} compares names case-insensitively)",
            engine.name()
        ));
    }
    Ok(())
}

/// Renders a schema as an expected-schema file, one flow mapping per column as people write it.
/// Tables in `default_schema` are written unqualified, so a snapshot reads back the same way under
/// the same configuration.
pub fn render(schema: &Schema, default_schema: &str) -> String {
    // `tables:` alone would read as null: an empty database is written as an empty mapping.
    let mut out = String::from(if schema.tables.is_empty() {
        "tables: {}\n"
    } else {
        "tables:\n"
    });
    for table in schema.tables.values() {
        let key = if table.name.schema == default_schema {
            table.name.name.clone()
        } else {
            table.name.to_string()
        };
        if !table.columns_compared {
            out.push_str(&format!("  {}: {{}}\n", scalar(&key)));
            continue;
        }
        let keys = render_keys(table, default_schema);
        out.push_str(&format!("  {}:\n    columns:\n", scalar(&key)));
        for c in table.columns.values() {
            let mut attrs = Vec::new();
            if let Some(t) = &c.data_type {
                attrs.push(format!("type: {}", scalar(t)));
            }
            if let Some(n) = c.nullable {
                attrs.push(format!("nullable: {n}"));
            }
            match &c.default {
                Some(Some(d)) => attrs.push(format!("default: {}", scalar(d))),
                Some(None) => attrs.push("default: null".into()),
                None => {}
            }
            if c.identity == Some(true) {
                attrs.push("identity: true".into());
            }
            out.push_str(&format!(
                "      {}: {{{}}}\n",
                scalar(&c.name),
                attrs.join(", ")
            ));
        }
        out.push_str(&keys);
    }
    if let Some(types) = &schema.types {
        out.push_str(if types.is_empty() {
            "types: {}\n"
        } else {
            "types:\n"
        });
        for t in types.values() {
            let key = if t.name.schema == default_schema {
                t.name.name.clone()
            } else {
                t.name.to_string()
            };
            let labels: Vec<String> = t.labels.iter().map(|l| scalar(l)).collect();
            out.push_str(&format!(
                "  {}: {{enum: [{}]}}\n",
                scalar(&key),
                labels.join(", ")
            ));
        }
    }
    out
}

/// A table's `primary_key`, `indexes` and `foreign_keys`, when it has them (a snapshot read
/// them).
fn render_keys(table: &Table, default_schema: &str) -> String {
    let parts = |index: &Index| {
        let list: Vec<String> = index
            .parts
            .iter()
            .map(|p| {
                let mut attrs = Vec::new();
                if p.descending {
                    attrs.push("order: desc".to_string());
                }
                if p.nulls_reversed {
                    let first = !p.descending;
                    attrs.push(format!("nulls: {}", if first { "first" } else { "last" }));
                }
                if let Some(n) = p.length {
                    attrs.push(format!("length: {n}"));
                }
                let key = match &p.key {
                    Key::Column(c) if attrs.is_empty() => return scalar(c),
                    Key::Column(c) => format!("column: {}", scalar(c)),
                    Key::Expression(Some(e)) => format!("expression: {}", quoted(e)),
                    Key::Expression(None) => "expression: null".into(),
                };
                attrs.insert(0, key);
                format!("{{{}}}", attrs.join(", "))
            })
            .collect();
        format!("[{}]", list.join(", "))
    };
    let extras = |index: &Index, attrs: &mut Vec<String>| {
        if !index.include.is_empty() {
            let list: Vec<String> = index.include.iter().map(|c| scalar(c)).collect();
            attrs.push(format!("include: [{}]", list.join(", ")));
        }
        if index.nulls_not_distinct {
            attrs.push("nulls_not_distinct: true".into());
        }
        if index.initially_deferred {
            attrs.push("initially_deferred: true".into());
        } else if index.deferrable {
            attrs.push("deferrable: true".into());
        }
        if !index.exclusion.is_empty() {
            let list: Vec<String> = index.exclusion.iter().map(|o| quoted(o)).collect();
            attrs.push(format!("exclude: [{}]", list.join(", ")));
        }
    };
    let mut out = String::new();
    match &table.primary_key {
        None => {}
        Some(None) => out.push_str("    primary_key: null\n"),
        Some(Some(pk)) if pk.include.is_empty() && !pk.deferrable => {
            out.push_str(&format!("    primary_key: {}\n", parts(pk)))
        }
        Some(Some(pk)) => {
            let mut attrs = vec![format!("columns: {}", parts(pk))];
            extras(pk, &mut attrs);
            out.push_str(&format!("    primary_key: {{{}}}\n", attrs.join(", ")));
        }
    }
    if let Some(indexes) = &table.indexes {
        if indexes.is_empty() {
            out.push_str("    indexes: []\n");
        } else {
            out.push_str("    indexes:\n");
        }
        for index in indexes {
            let mut attrs = vec![format!("columns: {}", parts(index))];
            if index.unique {
                attrs.push("unique: true".into());
            }
            match &index.predicate {
                Some(p) if index.partial => attrs.push(format!("where: {}", quoted(p))),
                _ if index.partial => attrs.push("partial: true".into()),
                _ => {}
            }
            if let Some(m) = index.method.as_deref().filter(|m| *m != "btree") {
                attrs.push(format!("method: {}", scalar(m)));
            }
            extras(index, &mut attrs);
            if !index.name.is_empty() {
                attrs.push(format!("name: {}", quoted(&index.name)));
            }
            out.push_str(&format!("      - {{{}}}\n", attrs.join(", ")));
        }
    }
    if let Some(checks) = &table.checks {
        if checks.is_empty() {
            out.push_str("    checks: []\n");
        } else {
            out.push_str("    checks:\n");
        }
        for c in checks {
            let mut attrs = Vec::new();
            if !c.name.is_empty() {
                attrs.push(format!("name: {}", scalar(&c.name)));
            }
            if let Some(e) = &c.expression {
                attrs.push(format!("expression: {}", quoted(e)));
            }
            out.push_str(&format!("      - {{{}}}\n", attrs.join(", ")));
        }
    }
    if let Some(keys) = &table.foreign_keys {
        if keys.is_empty() {
            out.push_str("    foreign_keys: []\n");
        } else {
            out.push_str("    foreign_keys:\n");
        }
        for k in keys {
            let list = |c: &[Name]| c.iter().map(|n| scalar(n)).collect::<Vec<_>>().join(", ");
            let target = if k.target.schema == default_schema {
                k.target.name.clone()
            } else {
                k.target.to_string()
            };
            let mut reference = format!("table: {}", scalar(&target));
            if !k.target_columns.is_empty() {
                reference.push_str(&format!(", columns: [{}]", list(&k.target_columns)));
            }
            let mut attrs = vec![
                format!("columns: [{}]", list(&k.columns)),
                format!("references: {{{reference}}}"),
            ];
            for (what, action) in [("on_delete", &k.on_delete), ("on_update", &k.on_update)] {
                if action != "no action" {
                    attrs.push(format!("{what}: {}", scalar(action)));
                }
            }
            if k.initially_deferred {
                attrs.push("initially_deferred: true".into());
            } else if k.deferrable {
                attrs.push("deferrable: true".into());
            }
            if !k.name.is_empty() {
                attrs.push(format!("name: {}", quoted(&k.name)));
            }
            out.push_str(&format!("      - {{{}}}\n", attrs.join(", ")));
        }
    }
    out
}

/// A double-quoted YAML string (JSON string syntax is valid YAML).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A YAML scalar safe inside a flow mapping: plain when it is unambiguous text, otherwise a
/// double-quoted string (JSON string syntax is valid YAML).
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | '(' | ')' | '.' | '-'))
        && s.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && !s.ends_with(' ')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("strings always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Schema, String> {
        parse(
            text,
            Path::new("expected/app.yaml"),
            Engine::Postgres,
            &["public".to_string()],
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn part_order_include_and_exclusion_load_and_read_back_and_bad_ones_are_named() {
        let text = "tables:\n  t:\n    columns: {a: int, b: text, r: int4range}\n    primary_key: {columns: [a], include: [b], deferrable: true}\n    indexes:\n      - {columns: [{column: b, order: desc, nulls: last}, {column: a, length: 5}], include: [r]}\n      - {columns: [a, r], method: gist, exclude: [\"=\", \"&&\"]}\n      - {columns: [a], unique: true, nulls_not_distinct: true}\n";
        let s = load(text).unwrap();
        let t = s
            .get(Engine::Postgres, &TableName::new("public", "t"))
            .unwrap();
        let pk = t.primary_key.clone().unwrap().unwrap();
        assert!(pk.deferrable && pk.include.len() == 1);
        let i = t.indexes.as_ref().unwrap();
        assert!(i[0].parts[0].descending && i[0].parts[0].nulls_reversed);
        assert_eq!(i[0].parts[1].length, Some(5));
        assert_eq!(i[1].exclusion, ["=", "&&"]);
        assert!(i[2].nulls_not_distinct);
        let again = load(&render(&s, "public")).unwrap();
        assert_eq!(again, s, "a snapshot reads back the same");
        let e = load("tables:\n  t:\n    columns: {a: int}\n    indexes:\n      - {columns: [a], exclude: [\"=\", \"&&\"]}\n").unwrap_err();
        assert!(e.contains("indexes[0]") && e.contains("operator"), "{e}");
        let e = load("tables:\n  t:\n    columns: {a: int}\n    indexes:\n      - {columns: [{column: a, order: up}]}\n").unwrap_err();
        assert!(e.contains("up"), "{e}");
        let e = load("tables:\n  t:\n    columns: {a: int}\n    indexes:\n      - {columns: [{column: a, expression: x}]}\n").unwrap_err();
        assert!(e.contains("exactly one"), "{e}");
    }

    #[test]
    fn keys_and_indexes_load_and_a_snapshot_reads_back_the_same() {
        let text = "tables:\n  t:\n    columns:\n      id: bigint\n      email: text\n    primary_key: [id]\n    indexes:\n      - {columns: [email], unique: true, name: t_email_key}\n      - {columns: [{expression: \"lower(\\\"Email\\\")\"}, id], method: hash, partial: true}\n      - {columns: [email], where: \"email <> ''\"}\n  u:\n    columns:\n      a: int\n    primary_key: null\n    indexes: []\n  v:\n    columns:\n      a: int\n";
        let s = load(text).unwrap();
        let t = s
            .get(Engine::Postgres, &TableName::new("public", "t"))
            .unwrap();
        let pk = t.primary_key.clone().unwrap().unwrap();
        assert!(pk.primary && pk.unique);
        assert_eq!(pk.parts, [IndexPart::column("id".into())]);
        let indexes = t.indexes.as_ref().unwrap();
        assert_eq!(
            indexes[0].parts,
            [IndexPart::column("email".into())],
            "folded"
        );
        assert_eq!(indexes[0].method, None, "not stated, not compared");
        assert_eq!(
            indexes[1].parts[0],
            IndexPart::expression(Some("lower(\"Email\")".into()))
        );
        assert!(indexes[1].partial && indexes[1].method.as_deref() == Some("hash"));
        assert_eq!(indexes[1].predicate, None);
        assert!(indexes[2].partial, "where: makes it partial");
        assert_eq!(indexes[2].predicate.as_deref(), Some("email <> ''"));
        let u = s
            .get(Engine::Postgres, &TableName::new("public", "u"))
            .unwrap();
        assert_eq!(
            (u.primary_key.clone(), u.indexes.clone()),
            (Some(None), Some(vec![]))
        );
        let v = s
            .get(Engine::Postgres, &TableName::new("public", "v"))
            .unwrap();
        assert_eq!((v.primary_key.clone(), v.indexes.clone()), (None, None));
        assert_eq!(load(&render(&s, "public")).unwrap(), s);
    }

    #[test]
    fn enum_types_load_in_label_order_and_read_back_from_a_snapshot() {
        let text = "tables: {}\ntypes:\n  state: {enum: [queued, \"in progress\", done]}\n  audit.level: {enum: [\"yes\", \"it's\", \"a, b\"]}\n";
        let s = load(text).unwrap();
        let types: Vec<(String, Vec<String>)> = s
            .types
            .as_ref()
            .unwrap()
            .values()
            .map(|t| (t.name.to_string(), t.labels.clone()))
            .collect();
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            types,
            [
                ("public.state".into(), v(&["queued", "in progress", "done"])),
                ("audit.level".into(), v(&["yes", "it's", "a, b"])),
            ]
        );
        assert_eq!(load(&render(&s, "public")).unwrap(), s);
        // No `types:`: not compared; `types: {}`: no enum type is expected.
        assert_eq!(load("tables: {}\n").unwrap().types, None);
        let none = load("tables: {}\ntypes: {}\n").unwrap();
        assert_eq!(none.types.as_ref().map(|t| t.len()), Some(0));
        assert_eq!(load(&render(&none, "public")).unwrap(), none);
        for (bad, says) in [
            ("types:\n  s: {enum: [a, a]}\n", "label `a` is listed twice"),
            ("types:\n  s: {labels: [a]}\n", "unknown field `labels`"),
            (
                "types:\n  s: {enum: [a]}\n  public.s: {enum: [b]}\n",
                "`public.s` is listed twice",
            ),
            ("types:\n  .s: {enum: [a]}\n", "type `.s`"),
        ] {
            let err = load(&format!("tables: {{}}\n{bad}")).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let mysql = parse(
            "tables: {}\ntypes:\n  s: {enum: [a]}\n",
            Path::new("e.yaml"),
            Engine::MySql,
            &["app".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(
            mysql.contains("e.yaml") && mysql.contains("PostgreSQL's"),
            "{mysql}"
        );
    }

    #[test]
    fn a_deferred_foreign_key_loads_on_postgres_reads_back_and_is_refused_elsewhere() {
        let text = "tables:\n  a:\n    columns: {id: int}\n  b:\n    columns: {a_id: int}\n    foreign_keys:\n      - {columns: [a_id], references: {table: a}, initially_deferred: true}\n";
        let s = load(text).unwrap();
        let b = s
            .get(Engine::Postgres, &TableName::new("public", "b"))
            .unwrap();
        let key = &b.foreign_keys.as_ref().unwrap()[0];
        assert!(key.deferrable && key.initially_deferred);
        assert_eq!(load(&render(&s, "public")).unwrap(), s);
        let mut at_once = key.clone();
        at_once.initially_deferred = false;
        assert!(!key.matches(&at_once));
        let sqlite = parse(text, Path::new("e.yaml"), Engine::Sqlite, &["main".into()])
            .unwrap_err()
            .to_string();
        assert!(
            sqlite.contains("e.yaml") && sqlite.contains("PostgreSQL only"),
            "{sqlite}"
        );
    }

    #[test]
    fn foreign_keys_load_compare_by_definition_and_read_back_from_a_snapshot() {
        let text = "tables:\n  users:\n    columns: {id: bigint}\n  orders:\n    columns: {id: bigint, user_id: bigint}\n    foreign_keys:\n      - {columns: [user_id], references: {table: users, columns: [id]}, on_delete: CASCADE, name: orders_user}\n      - {columns: [id], references: {table: audit.log}}\n";
        let s = load(text).unwrap();
        let orders = s
            .get(Engine::Postgres, &TableName::new("public", "orders"))
            .unwrap();
        let keys = orders.foreign_keys.as_ref().unwrap();
        assert_eq!(keys[0].on_delete, "cascade");
        assert_eq!(keys[0].on_update, "no action");
        assert_eq!(keys[1].target, TableName::new("audit", "log"));
        // A live key of another name, and one that leaves the target columns to the primary key,
        // are the same keys; another action is not.
        let mut live = keys.clone();
        live[0].name = "orders_user_id_fkey".into();
        live[1].target_columns = vec!["id".into()];
        assert!(keys.iter().zip(&live).all(|(w, h)| w.matches(h)));
        live[0].on_delete = "set null".into();
        assert!(!keys[0].matches(&live[0]));
        assert_eq!(load(&render(&s, "public")).unwrap(), s);
        for (bad, want) in [
            (
                "{columns: [nope], references: {table: users}}",
                "column `nope`",
            ),
            (
                "{columns: [user_id], references: {table: users}, on_delete: explode}",
                "on_delete: `explode`",
            ),
            (
                "{columns: [user_id], references: {table: users, columns: [a, b]}}",
                "1 columns reference 2",
            ),
            ("{columns: [user_id], references: users}", "app.yaml:5:"),
        ] {
            let text = format!("tables:\n  orders:\n    columns: {{id: bigint, user_id: bigint}}\n    foreign_keys:\n      - {bad}\n");
            let e = load(&text).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn an_index_over_a_column_the_table_lacks_is_refused_by_name() {
        let e = load("tables:\n  t:\n    columns:\n      id: bigint\n    indexes:\n      - {columns: [idd]}\n").unwrap_err();
        assert!(e.contains("indexes[0]") && e.contains("`idd`"), "{e}");
        let e = load("tables:\n  t:\n    columns:\n      id: bigint\n    primary_key: []\n")
            .unwrap_err();
        assert!(e.contains("primary_key: no columns"), "{e}");
        let e =
            load("tables:\n  t:\n    indexes:\n      - {columns: [a], uniq: true}\n").unwrap_err();
        assert!(e.contains("uniq"), "{e}");
    }

    #[test]
    fn both_column_forms_and_qualified_names_load() {
        let s = load(
            "tables:\n  export_logs:\n    columns:\n      id: {type: bigint, nullable: false}\n      user_id: varchar(255)\n      export_format: {type: varchar(20), default: \"'csv'\"}\n      n: {default: 0}\n      gone: {default: null}\n  audit.events:\n",
        )
        .unwrap();
        let t = s
            .get(Engine::Postgres, &TableName::new("public", "export_logs"))
            .unwrap();
        assert_eq!(t.columns["id"].data_type.as_deref(), Some("bigint"));
        assert_eq!(t.columns["id"].nullable, Some(false));
        assert_eq!(t.columns["user_id"].nullable, None);
        assert_eq!(
            t.columns["export_format"].default,
            Some(Some("'csv'".into()))
        );
        assert_eq!(t.columns["n"].default, Some(Some("0".into())));
        assert_eq!(t.columns["gone"].default, Some(None));
        assert_eq!(t.columns["user_id"].default, None);
        let events = s
            .get(Engine::Postgres, &TableName::new("audit", "events"))
            .unwrap();
        assert!(!events.columns_compared);
    }

    #[test]
    fn deep_nesting_and_repeated_aliases_are_refused_within_their_budget() {
        // 500 KB of nested flow mappings, where the format nests and where it does not: refused
        // at the first level that cannot be (streaming: the rest is never read), with its place.
        for deep in [
            format!("tables: {}", "{a: ".repeat(125_000)),
            format!(
                "tables: {{t: {{columns: {{a: {{default: {}",
                "[".repeat(500_000)
            ),
            "[".repeat(500_000),
        ] {
            let e = load(&deep).unwrap_err();
            assert!(e.starts_with("expected/app.yaml:1:"), "{e}");
        }
        // Aliases that each repeat the one before: 2^30 columns if expanded, refused instead.
        let mut bomb = String::from("x0: &x0 {type: text}\n");
        for i in 1..=30 {
            bomb.push_str(&format!("x{i}: &x{i} [*x{}, *x{}]\n", i - 1, i - 1));
        }
        bomb.push_str("tables: {t: {columns: {a: *x30}}}\n");
        let e = load(&bomb).unwrap_err();
        assert!(e.starts_with("expected/app.yaml"), "{e}");
    }

    #[test]
    fn errors_name_the_file_line_and_problem() {
        let cases = [
            (
                "tables:\n  t:\n    columns:\n      id: {type: bigint, nulable: false}\n",
                "expected/app.yaml:4:",
                "unknown field `nulable`",
            ),
            (
                "tables:\n  t:\n    columns:\n      id: bigint\n      id: text\n",
                "expected/app.yaml:",
                "duplicate name `id`",
            ),
            (
                "tables:\n  t: {}\n  t: {}\n",
                "expected/app.yaml:",
                "duplicate name `t`",
            ),
            (
                "tables:\n  t:\n    columns:\n      id: {nullable: maybe}\n",
                "expected/app.yaml:4:22:",
                "invalid boolean",
            ),
            (
                "tabels: {}\n",
                "expected/app.yaml:1:",
                "unknown field `tabels`",
            ),
            (
                "tables:\n  t:\n    columns:\n      id: ''\n",
                "expected/app.yaml",
                "empty type",
            ),
            ("tables:\n  .t: {}\n", "expected/app.yaml", "`schema.table`"),
            (
                "tables:\n  t:\n    columns:\n      n: {type: numeric(10,2)}\n",
                "expected/app.yaml:4:",
                "must be quoted",
            ),
        ];
        for (text, location, message) in cases {
            let err = load(text).unwrap_err();
            assert!(err.starts_with(location), "{text:?}: {err}");
            assert!(err.contains(message), "{text:?}: {err}");
        }
    }

    #[test]
    fn sqlite_rejects_other_schemas_and_case_duplicates() {
        let p = Path::new("e.yaml");
        let main = ["main".to_string()];
        let err = parse("tables:\n  other.t: {}\n", p, Engine::Sqlite, &main).unwrap_err();
        assert!(err.to_string().contains("only have schema main"), "{err}");
        let err = parse(
            "tables:\n  t:\n    columns:\n      ID: text\n      id: text\n",
            p,
            Engine::Sqlite,
            &main,
        )
        .unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
    }

    #[test]
    fn render_then_parse_round_trips() {
        let text = "tables:\n  t:\n    columns:\n      id: {type: int8, nullable: false}\n      d: {type: text, nullable: true, default: \"'x'::text\"}\n      e: {type: text, default: null}\n      \"odd: name\": {type: \"numeric(10,2)\", default: \"'a, b'\"}\n      \"null\": {type: \"text[]\", default: true}\n  audit.v:\n";
        let schema = load(text).unwrap();
        let rendered = render(&schema, "public");
        assert_eq!(load(&rendered).unwrap(), schema, "{rendered}");
    }
}
