//! Compares an expected schema with a live one. Pure: no I/O, no clocks, so most tests live here.
//!
//! The result is a flat list of [`Drift`]s, each carrying the [`Change`] that would remove it (never
//! SQL: that is each engine's to render), plus the list of expected tables and configured schemas,
//! which metrics need to publish zeros for everything that is in sync.

use serde::Serialize;

use crate::dialect::Engine;
use crate::ignore::Ignore;
use crate::model::{
    Change, Check, Column, ForeignKey, Index, IndexPart, Name, Schema, Table, TableName,
};
use crate::normalize::Spelling;
use crate::tenant::Tenants;

mod kind;
pub use kind::DriftKind;

/// One difference. `F` is how the way back is given: the diff gives the [`Change`] that would
/// remove it; the check replaces that with the engine's SQL ([`crate::check::DriftItem`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift<F = Change> {
    /// What differs.
    pub kind: DriftKind,
    /// The table's schema (namespace).
    pub schema: String,
    /// The table's name.
    pub table: String,
    /// The column, for column-level kinds.
    pub column: Option<String>,
    /// What the expectation says, in canonical spelling.
    pub expected: Option<String>,
    /// What the database has, in canonical spelling.
    pub actual: Option<String>,
    /// With a migration ledger: the applied migration that last shaped the table or column
    /// (created, changed, renamed or dropped it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
    /// When the ledger records that migration as applied (RFC 3339, UTC), where it keeps a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_applied_at: Option<String>,
    /// What would make the database match the expectation.
    #[serde(flatten)]
    pub fix: F,
}

impl<F> Drift<F> {
    /// The same difference with its fix given another way.
    pub fn map_fix<G>(self, f: impl FnOnce(F) -> G) -> Drift<G> {
        Drift {
            kind: self.kind,
            schema: self.schema,
            table: self.table,
            column: self.column,
            expected: self.expected,
            actual: self.actual,
            migration: self.migration,
            migration_applied_at: self.migration_applied_at,
            fix: f(self.fix),
        }
    }
}

/// An expected table as metrics need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedTable {
    /// The table.
    pub name: TableName,
    /// Compared columns it should have; all of them count as missing when the table is.
    pub columns: usize,
    /// Whether the table itself is missing.
    pub missing: bool,
}

/// An enum type as metrics need it: an expected one (in sync or not), or a live one with labels
/// the expectation does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeCounts {
    /// The type.
    pub name: TableName,
    /// Whether the expectation states it (its missing count is published even when 0).
    pub expected: bool,
    /// Expected labels absent from the live type: all of them when the type is missing.
    pub missing_labels: usize,
    /// Live labels the expectation does not have: all of them for a type it does not state.
    pub unexpected_labels: usize,
    /// Labels of both sides out of the expected order (the fewest that, moved, restore it).
    pub misordered_labels: usize,
}

/// The result of one comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Every difference found, tables first, in expectation order; tenant schemas after the
    /// schemas named exactly, in name order.
    pub drift: Vec<Drift>,
    /// Every expected (not ignored) table of the schemas named exactly, so in-sync tables can be
    /// published as zero; of tenant schemas, only the tables that drifted (a thousand tenants in
    /// sync cost no list of twenty thousand tables).
    pub expected_tables: Vec<ExpectedTable>,
    /// Every schema named exactly, so schema-level gauges exist even when nothing drifted.
    pub schemas: Vec<String>,
    /// Every enum type the expectation states (in the schemas named exactly), so in-sync types
    /// are published as zero.
    pub types: Vec<TypeCounts>,
    /// With tenant patterns: which schemas matched and which of them drifted.
    pub tenants: Option<TenantComparison>,
}

/// The tenant schemas of one comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TenantComparison {
    /// The patterns that matched them: a change of patterns is a new baseline, not tenants
    /// appearing and disappearing.
    #[serde(skip)]
    pub patterns: Vec<String>,
    /// Every schema the patterns matched, in name order.
    pub matched: Vec<String>,
    /// Those with at least one drift item, in name order.
    pub drifted: Vec<String>,
    /// Expected tables over all tenants: the template's tables (the expectation's unqualified
    /// ones) once per tenant, ignored ones excluded.
    pub tables: usize,
}

impl TenantComparison {
    /// Whether `schema` is one of the matched tenants.
    pub fn is_tenant(&self, schema: &str) -> bool {
        self.matched
            .binary_search_by(|s| s.as_str().cmp(schema))
            .is_ok()
    }
}

/// Compares `expected` with `live`. `schemas` are the configured schemas: live tables outside them
/// are never reported as unexpected.
pub fn diff(
    engine: Engine,
    expected: &Schema,
    live: &Schema,
    schemas: &[String],
    ignore: &Ignore,
) -> Comparison {
    compare(engine, expected, live, schemas, None, ignore)
}

/// [`diff`], and with `tenants` also every live schema the patterns match, each against the
/// expectation's template tables (those in the schema named [`Tenants::template`]).
pub fn compare(
    engine: Engine,
    expected: &Schema,
    live: &Schema,
    schemas: &[String],
    tenants: Option<&Tenants>,
    ignore: &Ignore,
) -> Comparison {
    let template = tenants.map(|t| engine.fold_identifier(t.template()));
    let is_template =
        |t: &TableName| template.as_deref() == Some(&*engine.fold_identifier(&t.schema));
    let mut out = Comparison {
        schemas: schemas.to_vec(),
        ..Comparison::default()
    };
    for table in expected.tables.values() {
        if is_template(&table.name) || ignore.table(&table.name) {
            continue;
        }
        compare_table(engine, table, &table.name, live, ignore, &mut out, true);
    }
    let folded: Vec<String> = schemas.iter().map(|s| engine.fold_identifier(s)).collect();
    for live_table in live.tables.values() {
        let in_scope = folded.contains(&engine.fold_identifier(&live_table.name.schema));
        if !in_scope
            || ignore.table(&live_table.name)
            || expected.get(engine, &live_table.name).is_some()
        {
            continue;
        }
        out.drift.push(unexpected_table(&live_table.name));
    }
    order_created_tables(engine, &mut out.drift);
    order_dropped_tables(engine, live, &mut out.drift);
    // Foreign keys are dropped first and unexpected tables next: a key or index another table's
    // foreign key needs cannot go before that key does (MySQL error 1553), and a table cannot
    // go while a key still references it. Neither drop needs anything else done first.
    // Keys, indexes and checks are dropped before columns change (a dropped column takes its
    // indexes along, and the drop would then fail) and added after (a key on a new column
    // needs the column). New tables come after the keys added to tables already there, and
    // foreign keys added to those tables last: either may reference a key made in between.
    fn group(change: &Change) -> u8 {
        match change {
            // Steps made before this sort (a cycle's deferred keys) go where their first goes.
            Change::Steps(steps) => steps.first().map_or(3, group),
            Change::DropForeignKey { .. } => 0,
            Change::DropTable { .. } => 1,
            Change::DropIndex { .. } | Change::DropPrimaryKey { .. } | Change::DropCheck { .. } => {
                2
            }
            Change::CreateIndex { .. }
            | Change::AddPrimaryKey { .. }
            | Change::AddCheck { .. }
            | Change::RebuildIndex { .. } => 4,
            // MySQL's AUTO_INCREMENT needs its column's key to be there.
            Change::SetIdentity { .. } => 5,
            Change::CreateTable { .. } => 6,
            Change::AddForeignKey { .. } | Change::ValidateConstraint { .. } => 7,
            _ => 3,
        }
    }
    out.drift.sort_by_key(|d| group(&d.fix));
    keep_foreign_keys_standing(engine, live, &mut out.drift);
    retype_under_foreign_keys(engine, live, &mut out.drift);
    restore_what_dropped_columns_take(engine, expected, live, &mut out.drift);
    let table_items = out.drift.len();
    diff_types(
        engine,
        expected,
        live,
        &folded,
        template.as_deref(),
        &mut out,
    );
    // A created table may use a missing type or label (a column's type, its default), so type
    // items go first for the suggested SQL to apply in the order listed; a type is dropped only
    // after the tables that may use it. Both moves keep the order within each group.
    out.drift.rotate_left(table_items);
    out.drift
        .sort_by_key(|d| matches!(d.fix, Change::DropEnumType { .. }));
    if let (Some(tenants), Some(template)) = (tenants, template) {
        out.tenants = Some(compare_tenants(
            engine, expected, &template, live, &folded, tenants, ignore, &mut out,
        ));
    }
    out
}

/// A key or index that a live foreign key needs cannot be dropped while that foreign key stands
/// (PostgreSQL: "other objects depend on it"; MySQL error 1553), and dropping one is how the
/// suggestions make a key again another way. So the drop's fix drops those foreign keys first,
/// and they are added back by the fix that makes the key again (by the drop's own, when no fix
/// does). Foreign keys the expectation does not have are dropped on their own, before.
fn keep_foreign_keys_standing(engine: Engine, live: &Schema, drift: &mut [Drift]) {
    let drops_a_key = |d: &Drift| {
        matches!(
            d.fix,
            Change::DropIndex { .. } | Change::DropPrimaryKey { .. }
        )
    };
    // Every SQLite key change is a table rebuild, which takes its foreign keys along; and most
    // polls drop no key at all.
    if engine == Engine::Sqlite || !drift.iter().any(drops_a_key) {
        return;
    }
    let dropped_keys: Vec<(TableName, String)> = drift
        .iter()
        .filter_map(|d| match &d.fix {
            Change::DropForeignKey { table, key } => {
                Some((Schema::key(engine, table), key.name.clone()))
            }
            _ => None,
        })
        .collect();
    let dropped_tables: Vec<TableName> = drift
        .iter()
        .filter_map(|d| match &d.fix {
            Change::DropTable { table } => Some(Schema::key(engine, table)),
            _ => None,
        })
        .collect();
    // Every index a fix drops, by table key and name: none of them still serves a foreign key.
    let dropped_indexes: Vec<(TableName, String)> = drift
        .iter()
        .filter_map(|d| match &d.fix {
            Change::DropIndex { table, index, .. } | Change::DropPrimaryKey { table, index } => {
                Some((Schema::key(engine, table), index.name.clone()))
            }
            _ => None,
        })
        .collect();
    // Foreign keys an earlier fix dropped, with the place of the fix that adds them back: a
    // second key they rest on, dropped before that place, must not drop them again.
    let mut away: Vec<(TableName, String, usize)> = Vec::new();
    for i in 0..drift.len() {
        let (table, index) = match &drift[i].fix {
            Change::DropIndex { table, index, .. } | Change::DropPrimaryKey { table, index } => {
                (Schema::key(engine, table), index.clone())
            }
            _ => continue,
        };
        let Some(owner) = live.tables.get(&table) else {
            continue;
        };
        // What stays on the table to serve a foreign key in this index's place (MySQL takes
        // any index that leads with its columns).
        let staying: Vec<&Index> = owner
            .primary_key
            .iter()
            .flatten()
            .chain(owner.indexes.iter().flatten())
            .filter(|x| !dropped_indexes.contains(&(table.clone(), x.name.clone())))
            .collect();
        let mut dependents: Vec<(TableName, ForeignKey, bool, KeySides)> = Vec::new();
        // Keys an earlier drop took away whose way back must wait for this table's new key
        // too: (place in `away`, the later create that serves them).
        let mut wait: Vec<(usize, usize)> = Vec::new();
        for from in live.tables.values() {
            let from_key = Schema::key(engine, &from.name);
            if dropped_tables.contains(&from_key) {
                continue;
            }
            for key in from.foreign_keys.iter().flatten() {
                if dropped_keys.contains(&(from_key.clone(), key.name.clone())) {
                    continue;
                }
                if let Some(at) = away
                    .iter()
                    .position(|(t, n, back)| *t == from_key && *n == key.name && *back > i)
                {
                    let s = serves(engine, &index, &table, &from_key, key);
                    let later = (i + 1..drift.len()).find(|&j| {
                        made_key(engine, &drift[j].fix).is_some_and(|(t, w)| {
                            let x = serves(engine, w, &table, &from_key, key);
                            t == table
                                && (!s.referenced || x.referenced)
                                && (!s.referencing || x.referencing)
                        })
                    });
                    if let Some(j) = later.filter(|&j| j > away[at].2) {
                        wait.push((at, j));
                    }
                    continue;
                }
                let sides = |x: &Index| serves(engine, x, &table, &from_key, key);
                let here = sides(&index);
                // PostgreSQL binds a foreign key to one index, which no other key over the
                // same columns replaces; MySQL takes any index that serves each side.
                let left_without = |side: fn(&KeySides) -> bool| {
                    side(&here)
                        && (engine == Engine::Postgres || !staying.iter().any(|x| side(&sides(x))))
                };
                let needed = KeySides {
                    referenced: left_without(|s| s.referenced),
                    referencing: left_without(|s| s.referencing),
                };
                if needed.referenced || needed.referencing {
                    dependents.push((from.name.clone(), key.clone(), from.partitioned, needed));
                }
            }
        }
        for (at, j) in wait {
            let (t, n, back) = away[at].clone();
            let mut moved = None;
            if let Change::Steps(then) = &mut drift[back].fix {
                if let Some(p) = then.iter().position(|c| {
                    matches!(c, Change::AddForeignKey { table: a, key, .. }
                        if Schema::key(engine, a) == t && key.name == n)
                }) {
                    moved = Some(then.remove(p));
                }
            }
            if let Some(add) = moved {
                append_step(&mut drift[j].fix, add);
                away[at].2 = j;
            }
        }
        if dependents.is_empty() {
            continue;
        }
        let mut steps: Vec<Change> = dependents
            .iter()
            .map(|(t, k, ..)| Change::DropForeignKey {
                table: t.clone(),
                key: k.clone(),
            })
            .collect();
        steps.push(drift[i].fix.clone());
        // Each foreign key comes back with the fix, listed after this drop, that makes the key
        // again (over the same columns), or else with the first that makes one serving it in
        // this one's place; failing both, with this drop.
        let creates = |j: usize| {
            made_key(engine, &drift[j].fix)
                .filter(|(t, _)| *t == table)
                .map(|(_, w)| w)
        };
        let mut back: Vec<(Option<usize>, Change)> = Vec::new();
        for (t, k, partitioned, needed) in dependents {
            let from_key = Schema::key(engine, &t);
            let serving = |w: &Index| {
                let s = serves(engine, w, &table, &from_key, &k);
                (!needed.referenced || s.referenced) && (!needed.referencing || s.referencing)
            };
            let later = i + 1..drift.len();
            // Over the same columns: in any order on PostgreSQL, which matches a foreign key
            // to a key by its set of columns; serving it on MySQL, where order counts.
            let j = later
                .clone()
                .find(|&j| {
                    creates(j).is_some_and(|w| {
                        same_columns(w, &index) && (engine == Engine::Postgres || serving(w))
                    })
                })
                .or_else(|| later.clone().find(|&j| creates(j).is_some_and(serving)));
            if let Some(j) = j {
                away.push((from_key, k.name.clone(), j));
            }
            back.push((
                j,
                Change::AddForeignKey {
                    table: t,
                    key: k,
                    partitioned,
                },
            ));
        }
        for (j, add) in back {
            match j {
                Some(j) => append_step(&mut drift[j].fix, add),
                None => steps.push(add),
            }
        }
        drift[i].fix = Change::Steps(steps);
    }
}

/// The key or index a fix makes (its first step, once other steps were added around it), by
/// the table's key.
fn made_key(engine: Engine, change: &Change) -> Option<(TableName, &Index)> {
    match change {
        Change::CreateIndex { table, index, .. } | Change::AddPrimaryKey { table, index } => {
            Some((Schema::key(engine, table), index))
        }
        Change::Steps(steps) => steps.first().and_then(|c| made_key(engine, c)),
        _ => None,
    }
}

/// `fix` followed by `then`.
fn append_step(fix: &mut Change, then: Change) {
    *fix = match std::mem::replace(fix, Change::Steps(Vec::new())) {
        Change::Steps(mut steps) => {
            steps.push(then);
            Change::Steps(steps)
        }
        made => Change::Steps(vec![made, then]),
    };
}

/// A dropped column takes along the checks and indexes that involve it, also those the
/// expectation keeps under their names with another condition (`CHECK (b2 > 0)` for a live
/// `CHECK (b > 0)`, as when a column is renamed by adding one and dropping the other; a partial
/// index's predicate, which is not compared). Their expected forms are made again after the
/// drop. Ones already reported unexpected are dropped by their own fix.
fn restore_what_dropped_columns_take(
    engine: Engine,
    expected: &Schema,
    live: &Schema,
    drift: &mut [Drift],
) {
    // SQLite's column drop refuses a column a check or index uses.
    if engine == Engine::Sqlite
        || !drift
            .iter()
            .any(|d| matches!(d.fix, Change::DropColumn { .. }))
    {
        return;
    }
    let dropped_checks: Vec<(TableName, String)> = drift
        .iter()
        .filter_map(|d| match &d.fix {
            Change::DropCheck { table, check } => {
                Some((Schema::key(engine, table), check.name.clone()))
            }
            _ => None,
        })
        .collect();
    let dropped_indexes: Vec<(TableName, String)> = drift
        .iter()
        .filter_map(|d| match &d.fix {
            Change::DropIndex { table, index, .. } => {
                Some((Schema::key(engine, table), index.name.clone()))
            }
            _ => None,
        })
        .collect();
    for d in drift.iter_mut() {
        let Change::DropColumn { table, column } = &d.fix else {
            continue;
        };
        let key = Schema::key(engine, table);
        let (Some(have), Some(want)) = (live.tables.get(&key), expected.get(engine, table)) else {
            continue;
        };
        let mut again: Vec<Change> = Vec::new();
        if let (Some(live_checks), Some(expected_checks)) = (&have.checks, &want.checks) {
            for h in live_checks {
                let involved = h.expression.as_deref().is_some_and(|e| mentions(e, column));
                if !involved || dropped_checks.contains(&(key.clone(), h.name.clone())) {
                    continue;
                }
                if let Some(w) = expected_checks.iter().find(|w| w.matches(engine, h)) {
                    again.push(Change::AddCheck {
                        table: table.clone(),
                        check: w.clone(),
                    });
                }
            }
        }
        if let (Some(live_indexes), Some(expected_indexes)) = (&have.indexes, &want.indexes) {
            for h in live_indexes {
                let involved = h.predicate.as_deref().is_some_and(|p| mentions(p, column))
                    || h.parts.iter().any(|p| match &p.key {
                        crate::model::Key::Column(c) => c == column,
                        crate::model::Key::Expression(e) => {
                            e.as_deref().is_some_and(|e| mentions(e, column))
                        }
                    });
                if !involved || dropped_indexes.contains(&(key.clone(), h.name.clone())) {
                    continue;
                }
                if let Some(w) = expected_indexes
                    .iter()
                    .find(|w| w.matches(h) && w.name.eq_ignore_ascii_case(&h.name))
                {
                    again.push(Change::CreateIndex {
                        table: table.clone(),
                        index: w.clone(),
                        partitioned: have.partitioned,
                    });
                }
            }
        }
        if !again.is_empty() {
            let dropped = std::mem::replace(&mut d.fix, Change::Steps(Vec::new()));
            again.insert(0, dropped);
            d.fix = Change::Steps(again);
        }
    }
}

/// Whether `text` names the column `name` (as a whole word, quoted or not, any case).
fn mentions(text: &str, name: &str) -> bool {
    let lower = text.to_lowercase();
    let name = name.to_lowercase();
    lower.match_indices(&name).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// MySQL refuses to change the type of a column a foreign key uses, on either side (errors 1832,
/// 1833): each such key is dropped before the first type change it is part of and added back
/// after the last (both sides' columns change together, as `int` to `bigint` on a key and the
/// columns referencing it). Keys another fix already drops are left to it.
fn retype_under_foreign_keys(engine: Engine, live: &Schema, drift: &mut [Drift]) {
    if engine != Engine::MySql {
        return;
    }
    // The type change a fix makes, also once an earlier key wrapped it in steps.
    fn retyped(engine: Engine, d: &Drift) -> Option<(TableName, &Name)> {
        fn within(engine: Engine, c: &Change) -> Option<(TableName, &Name)> {
            match c {
                Change::AlterType { table, column } => {
                    Some((Schema::key(engine, table), &column.name))
                }
                Change::Steps(steps) => steps.iter().find_map(|s| within(engine, s)),
                _ => None,
            }
        }
        within(engine, &d.fix)
    }
    if !drift.iter().any(|d| retyped(engine, d).is_some()) {
        return;
    }
    fn drops_key(change: &Change, table: &TableName, name: &str, engine: Engine) -> bool {
        match change {
            Change::DropForeignKey { table: t, key } => {
                Schema::key(engine, t) == *table && key.name == name
            }
            Change::DropTable { table: t } => Schema::key(engine, t) == *table,
            Change::Steps(steps) => steps.iter().any(|c| drops_key(c, table, name, engine)),
            _ => false,
        }
    }
    for from in live.tables.values() {
        let from_key = Schema::key(engine, &from.name);
        for key in from.foreign_keys.iter().flatten() {
            let uses = |d: &Drift| {
                retyped(engine, d).is_some_and(|(t, c)| {
                    (t == from_key && key.columns.contains(c))
                        || (t == key.target && key.target_columns.contains(c))
                })
            };
            let (Some(first), Some(last)) =
                (drift.iter().position(uses), drift.iter().rposition(uses))
            else {
                continue;
            };
            if drift
                .iter()
                .any(|d| drops_key(&d.fix, &from_key, &key.name, engine))
            {
                continue;
            }
            let wrap = |change: Change, before: Option<Change>, after: Option<Change>| {
                let mut steps = match change {
                    Change::Steps(steps) => steps,
                    one => vec![one],
                };
                if let Some(b) = before {
                    steps.insert(0, b);
                }
                steps.extend(after);
                Change::Steps(steps)
            };
            let take = |d: &mut Drift| std::mem::replace(&mut d.fix, Change::Steps(Vec::new()));
            let drop = Change::DropForeignKey {
                table: from.name.clone(),
                key: key.clone(),
            };
            let add = Change::AddForeignKey {
                table: from.name.clone(),
                key: key.clone(),
                partitioned: from.partitioned,
            };
            let made = take(&mut drift[first]);
            drift[first].fix = wrap(made, Some(drop), None);
            let made = take(&mut drift[last]);
            drift[last].fix = wrap(made, None, Some(add));
        }
    }
}

/// Which side of a foreign key an index serves: the referenced key, or (MySQL) the index the
/// referencing columns need.
struct KeySides {
    referenced: bool,
    referencing: bool,
}

/// Whether index `index` of the table keyed `table` is one foreign key `key` of the table keyed
/// `from` can rest on: on PostgreSQL a unique, non-partial key over exactly the referenced
/// columns; on MySQL any index leading with the referenced columns, or with the referencing
/// ones on the key's own table.
fn serves(
    engine: Engine,
    index: &Index,
    table: &TableName,
    from: &TableName,
    key: &ForeignKey,
) -> KeySides {
    let columns: Vec<&Name> = index
        .parts
        .iter()
        .filter_map(IndexPart::column_name)
        .collect();
    if columns.len() != index.parts.len() {
        return KeySides {
            referenced: false,
            referencing: false,
        };
    }
    let referenced = key.target == *table
        && match key.target_columns.is_empty() {
            true => index.primary,
            false => match engine {
                Engine::Postgres => {
                    let mut a: Vec<&Name> = columns.clone();
                    let mut b: Vec<&Name> = key.target_columns.iter().collect();
                    a.sort_unstable();
                    b.sort_unstable();
                    index.unique && !index.partial && a == b
                }
                _ => columns.starts_with(&key.target_columns.iter().collect::<Vec<_>>()),
            },
        };
    let referencing = engine == Engine::MySql
        && from == table
        && columns.starts_with(&key.columns.iter().collect::<Vec<_>>());
    KeySides {
        referenced,
        referencing,
    }
}

/// Whether two keys are over the same columns, in any order and direction.
fn same_columns(a: &Index, b: &Index) -> bool {
    fn set(i: &Index) -> Vec<Option<&Name>> {
        let mut c: Vec<Option<&Name>> = i.parts.iter().map(IndexPart::column_name).collect();
        c.sort_unstable();
        c
    }
    set(a) == set(b)
}

/// Puts each missing table's `CREATE TABLE` after those of the missing tables its foreign keys
/// reference, so the suggested SQL applies in the order listed. In a cycle (`a` references `b`,
/// `b` references `a`) one key cannot be written inline: it is taken out of its `CREATE TABLE`
/// and added after the last one (SQLite, which accepts a key on a table yet to come, keeps it
/// inline). Every other item stays where it was.
fn order_created_tables(engine: Engine, drift: &mut [Drift]) {
    let slots: Vec<usize> = (0..drift.len())
        .filter(|&i| matches!(drift[i].fix, Change::CreateTable { .. }))
        .collect();
    if slots.len() < 2 {
        return;
    }
    let key_of = |d: &Drift| match &d.fix {
        Change::CreateTable { table } => Schema::key(engine, &table.name),
        _ => unreachable!("only CreateTable slots"),
    };
    let keys: Vec<TableName> = slots.iter().map(|&i| key_of(&drift[i])).collect();
    let needs: Vec<Vec<usize>> = slots
        .iter()
        .map(|&i| match &drift[i].fix {
            Change::CreateTable { table } => table
                .foreign_keys
                .iter()
                .flatten()
                .filter_map(|k| keys.iter().position(|t| *t == k.target))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    // (table, table it references) where the second is not created yet when the first is.
    let (order, later) = dependency_order(&needs);
    let mut items: Vec<Drift> = slots.iter().map(|&i| drift[i].clone()).collect();
    let mut deferred: Vec<Change> = Vec::new();
    if engine != Engine::Sqlite {
        for &(n, m) in &later {
            if let Change::CreateTable { table } = &mut items[n].fix {
                let Some(keys_of) = table.foreign_keys.as_mut() else {
                    continue;
                };
                let (go, stay): (Vec<ForeignKey>, Vec<ForeignKey>) = std::mem::take(keys_of)
                    .into_iter()
                    .partition(|k| k.target == keys[m]);
                *keys_of = stay;
                deferred.extend(go.into_iter().map(|key| Change::AddForeignKey {
                    table: table.name.clone(),
                    key,
                    partitioned: table.partitioned,
                }));
            }
        }
    }
    for (slot, n) in slots.iter().zip(order) {
        drift[*slot] = items[n].clone();
    }
    if let Some(&last) = slots.last() {
        if !deferred.is_empty() {
            let made = std::mem::replace(&mut drift[last].fix, Change::Steps(Vec::new()));
            deferred.insert(0, made);
            drift[last].fix = Change::Steps(deferred);
        }
    }
}

/// Puts each unexpected table's `DROP TABLE` after those of the unexpected tables whose foreign
/// keys reference it (a table cannot go while another's key references it: PostgreSQL "other
/// objects depend on it", MySQL error 1451). In a cycle, one key is dropped before any table.
/// Every other item stays where it was.
fn order_dropped_tables(engine: Engine, live: &Schema, drift: &mut [Drift]) {
    let slots: Vec<usize> = (0..drift.len())
        .filter(|&i| matches!(drift[i].fix, Change::DropTable { .. }))
        .collect();
    if slots.len() < 2 {
        return;
    }
    let keys: Vec<TableName> = slots
        .iter()
        .map(|&i| match &drift[i].fix {
            Change::DropTable { table } => Schema::key(engine, table),
            _ => unreachable!("only DropTable slots"),
        })
        .collect();
    // For each, the dropped tables whose foreign keys reference it: they go first.
    let referenced_by: Vec<Vec<usize>> = keys
        .iter()
        .map(|target| {
            (0..keys.len())
                .filter(|&m| {
                    keys[m] != *target
                        && live.tables.get(&keys[m]).is_some_and(|t| {
                            t.foreign_keys.iter().flatten().any(|k| k.target == *target)
                        })
                })
                .collect()
        })
        .collect();
    // (table, table it references) closing a cycle: that key is dropped before any table.
    let (order, open) = dependency_order(&referenced_by);
    let cut: Vec<(usize, usize)> = open.into_iter().map(|(n, m)| (m, n)).collect();
    let items: Vec<Drift> = slots.iter().map(|&i| drift[i].clone()).collect();
    for (slot, n) in slots.iter().zip(order) {
        drift[*slot] = items[n].clone();
    }
    // SQLite drops a table whatever references it.
    if cut.is_empty() || engine == Engine::Sqlite {
        return;
    }
    let mut steps: Vec<Change> = Vec::new();
    for (from, to) in cut {
        let Some(table) = live.tables.get(&keys[from]) else {
            continue;
        };
        for key in table.foreign_keys.iter().flatten() {
            if key.target == keys[to] {
                steps.push(Change::DropForeignKey {
                    table: table.name.clone(),
                    key: key.clone(),
                });
            }
        }
    }
    let first = slots[0];
    steps.push(std::mem::replace(
        &mut drift[first].fix,
        Change::Steps(Vec::new()),
    ));
    drift[first].fix = Change::Steps(steps);
}

/// An order of nodes `0..first.len()` in which each comes after the ones `first[n]` lists, by
/// depth-first search, and the edges where that cannot hold because they close a cycle, as
/// (node, listed node still open). A node listing itself is no edge.
fn dependency_order(first: &[Vec<usize>]) -> (Vec<usize>, Vec<(usize, usize)>) {
    fn visit(
        n: usize,
        first: &[Vec<usize>],
        state: &mut [u8],
        order: &mut Vec<usize>,
        open: &mut Vec<(usize, usize)>,
    ) {
        if state[n] != 0 {
            return;
        }
        state[n] = 1;
        for &m in first[n].iter().filter(|&&m| m != n) {
            if state[m] == 1 {
                open.push((n, m));
            }
            visit(m, first, state, order, open);
        }
        state[n] = 2;
        order.push(n);
    }
    let mut order = Vec::with_capacity(first.len());
    let mut open = Vec::new();
    let mut state = vec![0u8; first.len()]; // 0 new, 1 visiting, 2 placed
    for n in 0..first.len() {
        visit(n, first, &mut state, &mut order, &mut open);
    }
    (order, open)
}

/// Every tenant schema of `live` against the template tables of `expected`.
#[allow(clippy::too_many_arguments)]
fn compare_tenants(
    engine: Engine,
    expected: &Schema,
    template: &str,
    live: &Schema,
    named: &[String],
    tenants: &Tenants,
    ignore: &Ignore,
    out: &mut Comparison,
) -> TenantComparison {
    let templates: Vec<&Table> = expected
        .tables
        .values()
        .filter(|t| engine.fold_identifier(&t.name.schema) == template)
        .collect();
    // A schema named exactly is compared as such, not as a tenant.
    let matched: Vec<String> = live
        .namespaces
        .iter()
        .filter(|s| tenants.matches(engine, s) && !named.contains(&engine.fold_identifier(s)))
        .cloned()
        .collect();
    // Live tables by tenant, found in one pass: catalogs list each schema's tables together.
    let mut by_schema: std::collections::HashMap<&str, Vec<&Table>> =
        std::collections::HashMap::new();
    for t in live.tables.values() {
        by_schema.entry(t.name.schema.as_str()).or_default().push(t);
    }
    let (mut drifted, mut tables) = (Vec::new(), 0);
    // Tables the expectation names in a tenant's own schema were compared with the named ones.
    let named_drift: std::collections::HashSet<String> =
        out.drift.iter().map(|d| d.schema.clone()).collect();
    for tenant in &matched {
        let before = out.drift.len();
        for table in &templates {
            let name = TableName::new(tenant.as_str(), table.name.name.as_str());
            if !ignore.table(&name) {
                tables += 1;
                compare_table(engine, table, &name, live, ignore, out, false);
            }
        }
        for live_table in by_schema.get(tenant.as_str()).into_iter().flatten() {
            let as_template = TableName::new(template, live_table.name.name.as_str());
            // Expected as a template table, or named in the tenant's own schema.
            if ignore.table(&live_table.name)
                || expected.get(engine, &as_template).is_some()
                || expected.get(engine, &live_table.name).is_some()
            {
                continue;
            }
            out.drift.push(unexpected_table(&live_table.name));
        }
        if out.drift.len() > before || named_drift.contains(tenant) {
            drifted.push(tenant.clone());
        }
    }
    TenantComparison {
        patterns: tenants.patterns().to_vec(),
        matched,
        drifted,
        tables,
    }
}

/// One expected table, known in the database as `name` (its own name, or a tenant's copy of a
/// template table), against the live catalog. An in-sync table is listed in `expected_tables`
/// only when `always_listed`.
fn compare_table(
    engine: Engine,
    table: &Table,
    name: &TableName,
    live: &Schema,
    ignore: &Ignore,
    out: &mut Comparison,
    always_listed: bool,
) {
    let found = live.get(engine, name);
    let before = out.drift.len();
    match found {
        None => {
            let mut table = table.clone();
            table.name = name.clone();
            out.drift.push(drift(
                DriftKind::MissingTable,
                name,
                None,
                (Some("table".into()), None),
                Change::CreateTable { table },
            ));
        }
        Some(live_table) => diff_table(engine, table, name, live_table, ignore, &mut out.drift),
    }
    if always_listed || out.drift.len() > before {
        out.expected_tables.push(ExpectedTable {
            name: name.clone(),
            columns: if table.columns_compared {
                table.columns.len()
            } else {
                0
            },
            missing: found.is_none(),
        });
    }
}

fn unexpected_table(name: &TableName) -> Drift {
    drift(
        DriftKind::UnexpectedTable,
        name,
        None,
        (None, Some("table".into())),
        Change::DropTable {
            table: name.clone(),
        },
    )
}

/// Columns of a table present on both sides. Items carry the expected spelling of the table so
/// metrics can match them to `expected_tables`; engines that fold case also compare
/// case-insensitively, so the SQL still runs as printed.
fn diff_table(
    engine: Engine,
    expected: &Table,
    name: &TableName,
    live: &Table,
    ignore: &Ignore,
    out: &mut Vec<Drift>,
) {
    // With `names: strict`, an object the expectation names must also have that name live.
    let strict = ignore.strict_names();
    let named = |want: &str, have: &str| {
        // Empty on either side: no name stated, or one the engine keeps none of (SQLite's keys).
        !strict
            || want.is_empty()
            || have.is_empty()
            || engine.fold_identifier(want) == engine.fold_identifier(have)
    };
    diff_keys(expected, name, live, &named, out);
    diff_foreign_keys(expected, name, live, &named, out);
    diff_checks(engine, expected, name, live, &named, out);
    if !expected.columns_compared {
        return;
    }
    for (key, want) in &expected.columns {
        if ignore.column(name, &want.name) {
            continue;
        }
        match live.columns.get(key) {
            None => out.push(drift(
                DriftKind::MissingColumn,
                name,
                Some(&want.name),
                (Some(describe_column(want)), None),
                Change::AddColumn {
                    table: name.clone(),
                    column: want.clone(),
                },
            )),
            Some(have) => out.extend(mismatches(name, want, have)),
        }
    }
    for (key, have) in &live.columns {
        if expected.columns.contains_key(key) || ignore.column(name, &have.name) {
            continue;
        }
        out.push(drift(
            DriftKind::UnexpectedColumn,
            name,
            Some(&have.name),
            (None, Some(describe_column(have))),
            Change::DropColumn {
                table: name.clone(),
                column: have.name.clone(),
            },
        ));
    }
}

/// The primary key and indexes of a table present on both sides, where the expectation states
/// them (and the live side was read). Compared by definition ([`Index::matches`]), never by name:
/// each expected index takes the first live one it matches, what is left over on either side is
/// missing or unexpected. A matching live index the engine cannot use is invalid, not missing.
/// Whether an expected object's name (empty: none stated) admits a live one's.
type NameRule<'a> = &'a dyn Fn(&str, &str) -> bool;

fn diff_keys(
    expected: &Table,
    name: &TableName,
    live: &Table,
    named: NameRule,
    out: &mut Vec<Drift>,
) {
    if let (Some(want), Some(have)) = (&expected.primary_key, &live.primary_key) {
        let same = match (want, have) {
            (Some(w), Some(h)) => w.matches(h) && named(&w.name, &h.name),
            (None, None) => true,
            _ => false,
        };
        // The key it should be, left not valid (added to a partitioned table's parent
        // alone): its partitions do not enforce it, and no foreign key can reference it.
        if let (true, Some(h)) = (same, have) {
            if !h.valid {
                out.push(invalid_index(name, h, true, live.partitioned));
            }
        }
        if !same {
            if let Some(h) = have {
                out.push(drift(
                    DriftKind::UnexpectedPrimaryKey,
                    name,
                    None,
                    (None, Some(h.describe())),
                    Change::DropPrimaryKey {
                        table: name.clone(),
                        index: h.clone(),
                    },
                ));
            }
            if let Some(w) = want {
                out.push(drift(
                    DriftKind::MissingPrimaryKey,
                    name,
                    None,
                    (Some(w.describe()), have.as_ref().map(Index::describe)),
                    Change::AddPrimaryKey {
                        table: name.clone(),
                        index: w.clone(),
                    },
                ));
            }
        }
    }
    let (Some(want), Some(have)) = (&expected.indexes, &live.indexes) else {
        return;
    };
    let own = |c: &str| -> Option<String> {
        live.columns
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(c))
            .and_then(|(_, col)| col.data_type.as_deref().map(str::to_string))
    };
    // Copied only where an expression casts: every poll compares every table.
    let casts = |w: &Index| {
        w.parts.iter().any(|p| {
            matches!(&p.key, crate::model::Key::Expression(Some(e))
                if e.contains("::") || e.to_ascii_lowercase().contains("cast"))
        })
    };
    let rewritten: Option<Vec<Index>> = want.iter().any(casts).then(|| {
        want.iter()
            .map(|w| {
                let mut w = w.clone();
                for p in &mut w.parts {
                    if let crate::model::Key::Expression(Some(e)) = &mut p.key {
                        *e = crate::model::without_own_type_casts(e, &own);
                    }
                }
                w
            })
            .collect()
    });
    let want = rewritten.as_ref().unwrap_or(want);
    let mut taken = vec![false; have.len()];
    // Missing ones are listed after the unexpected ones, whose drops free their names: an index
    // rebuilt another way (without its INCLUDE, say) is often created again under its name.
    let mut missing = Vec::new();
    // Where several live indexes match one expected index (opclasses are not compared, so
    // Django's `_like` index matches the plain one on its column), each first takes the one of
    // its own name: a pairing across names would report the wrong one missing, and its
    // suggested create would collide with the name that is there.
    let mut found: Vec<Option<usize>> = want
        .iter()
        .map(|w| {
            (0..have.len()).find(|&i| {
                !w.name.is_empty()
                    && w.name.eq_ignore_ascii_case(&have[i].name)
                    && w.matches(&have[i])
                    && named(&w.name, &have[i].name)
            })
        })
        .collect();
    for i in found.iter().flatten() {
        taken[*i] = true;
    }
    for (w, found) in want.iter().zip(&mut found) {
        // A valid match first: an invalid leftover beside a good index is only the leftover.
        if found.is_none() {
            *found = (0..have.len())
                .filter(|&i| !taken[i] && w.matches(&have[i]) && named(&w.name, &have[i].name))
                .min_by_key(|&i| !have[i].valid);
        }
        match *found {
            Some(i) => {
                taken[i] = true;
                if !have[i].valid {
                    out.push(invalid_index(name, &have[i], true, live.partitioned));
                }
            }
            None => missing.push(drift(
                if !w.exclusion.is_empty() {
                    DriftKind::MissingExclusionConstraint
                } else if w.unique {
                    DriftKind::MissingUniqueConstraint
                } else {
                    DriftKind::MissingIndex
                },
                name,
                None,
                (Some(w.describe()), None),
                Change::CreateIndex {
                    table: name.clone(),
                    index: w.clone(),
                    partitioned: live.partitioned,
                },
            )),
        }
    }
    for (h, _) in have.iter().zip(taken).filter(|(_, taken)| !taken) {
        if !h.valid {
            out.push(invalid_index(name, h, false, live.partitioned));
            continue;
        }
        out.push(drift(
            if !h.exclusion.is_empty() {
                DriftKind::UnexpectedExclusionConstraint
            } else if h.unique {
                DriftKind::UnexpectedUniqueConstraint
            } else {
                DriftKind::UnexpectedIndex
            },
            name,
            None,
            (None, Some(h.describe())),
            Change::DropIndex {
                table: name.clone(),
                index: h.clone(),
                partitioned: live.partitioned,
            },
        ));
    }
    out.append(&mut missing);
}

/// Foreign keys, where the expectation states them: matched by definition, one live key per
/// expected one.
fn diff_foreign_keys(
    expected: &Table,
    name: &TableName,
    live: &Table,
    named: NameRule,
    out: &mut Vec<Drift>,
) {
    let (Some(want), Some(have)) = (&expected.foreign_keys, &live.foreign_keys) else {
        return;
    };
    let mut taken = vec![false; have.len()];
    let mut missing = Vec::new();
    for w in want {
        match (0..have.len())
            .find(|&i| !taken[i] && w.matches(&have[i]) && named(&w.name, &have[i].name))
        {
            Some(i) => {
                taken[i] = true;
                // Added `NOT VALID` and never validated: rows already there may reference
                // nothing.
                if !have[i].validated {
                    missing.push(drift(
                        DriftKind::MissingForeignKey,
                        name,
                        None,
                        (
                            Some(w.describe()),
                            Some(format!("{} NOT VALID", have[i].describe())),
                        ),
                        Change::ValidateConstraint {
                            table: name.clone(),
                            name: have[i].name.clone(),
                        },
                    ));
                }
            }
            None => missing.push(drift(
                DriftKind::MissingForeignKey,
                name,
                None,
                (Some(w.describe()), None),
                Change::AddForeignKey {
                    table: name.clone(),
                    key: w.clone(),
                    partitioned: live.partitioned,
                },
            )),
        }
    }
    // Drops first: a key whose action changed is dropped and added again under its name, and
    // the statements apply in the order they are listed.
    for (h, _) in have.iter().zip(taken).filter(|(_, taken)| !taken) {
        out.push(drift(
            DriftKind::UnexpectedForeignKey,
            name,
            None,
            (None, Some(h.describe())),
            Change::DropForeignKey {
                table: name.clone(),
                key: h.clone(),
            },
        ));
    }
    out.append(&mut missing);
}

/// PostgreSQL enum types, where the expectation states them: each expected type's labels
/// against the live type's (a label is a value: compared exactly), and live types of the
/// configured schemas the expectation does not have. Labels of the template schema are not
/// compared per tenant.
fn diff_types(
    engine: Engine,
    expected: &Schema,
    live: &Schema,
    folded: &[String],
    template: Option<&str>,
    out: &mut Comparison,
) {
    let (Some(want), Some(have)) = (&expected.types, &live.types) else {
        return;
    };
    for (key, w) in want {
        if template == Some(key.schema.as_str()) {
            continue;
        }
        let found = have.get(key);
        let before = out.drift.len();
        match found {
            None => out.drift.push(drift(
                DriftKind::MissingEnumType,
                &w.name,
                None,
                (Some(describe_enum(&w.labels)), None),
                Change::CreateEnumType {
                    enum_type: w.clone(),
                },
            )),
            Some(h) => diff_labels(&w.name, &w.labels, &h.labels, &mut out.drift),
        }
        let added = &out.drift[before..];
        let count = |kind| added.iter().filter(|d| d.kind == kind).count();
        out.types.push(TypeCounts {
            name: w.name.clone(),
            expected: true,
            missing_labels: match found {
                None => w.labels.len(),
                Some(_) => count(DriftKind::MissingEnumLabel),
            },
            unexpected_labels: count(DriftKind::UnexpectedEnumLabel),
            misordered_labels: added
                .iter()
                .map(|d| match &d.fix {
                    Change::MoveEnumLabels { labels, .. } => labels.len(),
                    _ => 0,
                })
                .sum(),
        });
    }
    for (key, h) in have {
        if want.contains_key(key) || !folded.contains(&engine.fold_identifier(&key.schema)) {
            continue;
        }
        out.drift.push(drift(
            DriftKind::UnexpectedEnumType,
            &h.name,
            None,
            (None, Some(describe_enum(&h.labels))),
            Change::DropEnumType {
                name: h.name.clone(),
            },
        ));
        out.types.push(TypeCounts {
            name: h.name.clone(),
            expected: false,
            missing_labels: 0,
            unexpected_labels: h.labels.len(),
            misordered_labels: 0,
        });
    }
}

/// `enum ('a', 'b')`.
fn describe_enum(labels: &[String]) -> String {
    let list: Vec<String> = labels
        .iter()
        .map(|l| format!("'{}'", l.replace('\'', "''")))
        .collect();
    format!("enum ({})", list.join(", "))
}

/// The labels of one type. A missing label is added in its expected place (after the expected
/// label before it, or before the first); where the two lists have the same length and differ
/// only by labels the other lacks, position by position, those are renames (what
/// `ALTER TYPE ... RENAME VALUE` in one place and not the other leaves), one item each.
fn diff_labels(name: &TableName, want: &[String], have: &[String], out: &mut Vec<Drift>) {
    let quoted = |l: &str| format!("'{}'", l.replace('\'', "''"));
    // Where each label stands on each side: an enum may hold thousands.
    let place: std::collections::HashMap<&String, usize> =
        have.iter().enumerate().map(|(i, l)| (l, i)).collect();
    let wanted: std::collections::HashMap<&String, usize> =
        want.iter().enumerate().map(|(i, l)| (l, i)).collect();
    let missing = |l: &String| !place.contains_key(l);
    let unexpected = |l: &String| !wanted.contains_key(l);
    let renames = want.len() == have.len()
        && want
            .iter()
            .zip(have)
            .all(|(w, h)| w == h || (missing(w) && unexpected(h)));
    if renames {
        for (w, h) in want.iter().zip(have).filter(|(w, h)| w != h) {
            out.push(drift(
                DriftKind::MissingEnumLabel,
                name,
                None,
                (Some(quoted(w)), Some(quoted(h))),
                Change::RenameEnumLabel {
                    name: name.clone(),
                    from: h.clone(),
                    to: w.clone(),
                },
            ));
        }
        return;
    }
    // Labels there once the statements before have run: where the next one can be placed.
    let mut present: Vec<&String> = have.iter().collect();
    let mut previous: Option<&String> = None;
    for w in want {
        if missing(w) {
            let before = match previous {
                None => present.first().map(|l| (*l).clone()),
                Some(_) => None,
            };
            out.push(drift(
                DriftKind::MissingEnumLabel,
                name,
                None,
                (Some(quoted(w)), None),
                Change::AddEnumLabel {
                    name: name.clone(),
                    label: w.clone(),
                    after: previous.cloned(),
                    before,
                },
            ));
            present.push(w);
        }
        previous = Some(w);
    }
    // Of the labels on both sides, the fewest that stand out of the expected order: the rest
    // keep their order (the longest run whose live places increase), these do not.
    let common: Vec<&String> = want.iter().filter(|w| place.contains_key(w)).collect();
    let places: Vec<usize> = common.iter().map(|w| place[w]).collect();
    let in_order = longest_increasing(&places);
    let moved: Vec<String> = common
        .iter()
        .zip(&in_order)
        .filter(|(_, kept)| !**kept)
        .map(|(w, _)| (*w).clone())
        .collect();
    if !moved.is_empty() {
        out.push(drift(
            DriftKind::MisorderedEnumLabel,
            name,
            None,
            (Some(describe_enum(want)), Some(describe_enum(have))),
            Change::MoveEnumLabels {
                name: name.clone(),
                labels: moved,
                order: want.to_vec(),
            },
        ));
    }
    for h in have.iter().filter(|h| unexpected(h)) {
        out.push(drift(
            DriftKind::UnexpectedEnumLabel,
            name,
            None,
            (None, Some(quoted(h))),
            Change::DropEnumLabel {
                name: name.clone(),
                label: h.clone(),
            },
        ));
    }
}

/// Which of `seq` belong to one longest strictly increasing subsequence, in O(n log n): an
/// enum may hold thousands of labels.
fn longest_increasing(seq: &[usize]) -> Vec<bool> {
    // `tails[k]`: the index in `seq` ending the best run of length k + 1 found so far.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous = vec![usize::MAX; seq.len()];
    for (i, &v) in seq.iter().enumerate() {
        let k = tails.partition_point(|&t| seq[t] < v);
        if k > 0 {
            previous[i] = tails[k - 1];
        }
        match tails.get_mut(k) {
            Some(t) => *t = i,
            None => tails.push(i),
        }
    }
    let mut kept = vec![false; seq.len()];
    let mut at = tails.last().copied();
    while let Some(i) = at {
        kept[i] = true;
        at = (previous[i] != usize::MAX).then(|| previous[i]);
    }
    kept
}

/// Check constraints, where the expectation states them: each expected one matched to one
/// live check ([`Check::matches`]); drops listed before adds, as for foreign keys.
fn diff_checks(
    engine: Engine,
    expected: &Table,
    name: &TableName,
    live: &Table,
    named: NameRule,
    out: &mut Vec<Drift>,
) {
    let (Some(want), Some(have)) = (&expected.checks, &live.checks) else {
        return;
    };
    let mut taken = vec![false; have.len()];
    let mut missing = Vec::new();
    // Named ones first: an unnamed expected check must not take the live check another
    // expected one names.
    let mut order: Vec<&Check> = want.iter().collect();
    order.sort_by_key(|c| !c.name_given);
    for w in order {
        match (0..have.len())
            .find(|&i| !taken[i] && w.matches(engine, &have[i]) && named(&w.name, &have[i].name))
        {
            Some(i) => {
                taken[i] = true;
                // There, but added `NOT VALID` and never validated: the rows already there
                // may break it, so what the expectation promises does not hold yet.
                if !have[i].validated {
                    missing.push(drift(
                        DriftKind::MissingCheckConstraint,
                        name,
                        None,
                        (
                            Some(w.describe()),
                            Some(format!("{} NOT VALID", have[i].describe())),
                        ),
                        Change::ValidateConstraint {
                            table: name.clone(),
                            name: have[i].name.clone(),
                        },
                    ));
                }
            }
            None => missing.push(drift(
                DriftKind::MissingCheckConstraint,
                name,
                None,
                (Some(w.describe()), None),
                Change::AddCheck {
                    table: name.clone(),
                    check: w.clone(),
                },
            )),
        }
    }
    for (h, _) in have.iter().zip(taken).filter(|(_, taken)| !taken) {
        out.push(drift(
            DriftKind::UnexpectedCheckConstraint,
            name,
            None,
            (None, Some(h.describe())),
            Change::DropCheck {
                table: name.clone(),
                check: h.clone(),
            },
        ));
    }
    out.append(&mut missing);
}

/// A live index left not valid: built again when it is expected, dropped when it is not.
fn invalid_index(name: &TableName, h: &Index, expected: bool, partitioned: bool) -> Drift {
    let table = name.clone();
    let index = h.clone();
    let (sides, change) = if expected {
        let mut want = h.clone();
        want.valid = true;
        (
            (Some(want.describe()), Some(h.describe())),
            Change::RebuildIndex {
                table,
                index,
                partitioned,
            },
        )
    } else {
        (
            (None, Some(h.describe())),
            Change::DropIndex {
                table,
                index,
                partitioned,
            },
        )
    };
    drift(DriftKind::InvalidIndex, name, None, sides, change)
}

/// What one drift item shows on each side: (expected, actual).
type Sides = (Option<String>, Option<String>);

/// Every stated attribute of `want` that `have` does not match, in type, nullability, default order.
fn mismatches(table: &TableName, want: &Column, have: &Column) -> Vec<Drift> {
    // The column as it should end up: what the expectation states, the rest as it is now.
    let target = Column {
        name: have.name.clone(),
        data_type: want.data_type.clone().or_else(|| have.data_type.clone()),
        nullable: want.nullable.or(have.nullable),
        default: want.default.clone().or_else(|| have.default.clone()),
        identity: want.identity.or(have.identity),
    };
    let column = Some(&*have.name);
    let mut out = Vec::new();
    // A MySQL `MODIFY` restates the column whole: whether it is AUTO_INCREMENT stays as it is,
    // and only the identity item changes it, after the column's key is there.
    let kept = Column {
        identity: have.identity,
        ..target.clone()
    };
    if let Some((w, h)) = differ(&want.data_type, &have.data_type) {
        let change = Change::AlterType {
            table: table.clone(),
            column: kept.clone(),
        };
        let sides = (Some(w.to_string()), Some(h.to_string()));
        out.push(drift(DriftKind::TypeMismatch, table, column, sides, change));
    }
    if let Some((w, h)) = differ(&want.nullable, &have.nullable) {
        let change = Change::SetNullable {
            table: table.clone(),
            column: kept.clone(),
        };
        let sides = (Some(null_word(*w).into()), Some(null_word(*h).into()));
        out.push(drift(
            DriftKind::NullableMismatch,
            table,
            column,
            sides,
            change,
        ));
    }
    // On a boolean column the words PostgreSQL reads as one value are one default (Knex
    // writes `DEFAULT '0'`, SQLAlchemy `'false'` or `'False'`; the catalog answers `false`).
    // A live default that is a bare `true` or `false` is one of a boolean type (a domain over
    // boolean too): PostgreSQL refuses one for any other column.
    let bare_boolean = matches!(
        &have.default,
        Some(Some(d)) if &**d == "true" || &**d == "false"
    );
    let boolean = bare_boolean
        || [&want.data_type, &have.data_type]
            .iter()
            .any(|t| t.as_deref().is_some_and(|t| t == "boolean" || t == "bool"));
    let same_boolean = |w: &Option<Spelling>, h: &Option<Spelling>| match (w, h) {
        (Some(w), Some(h)) => {
            boolean && boolean_value(w).is_some() && boolean_value(w) == boolean_value(h)
        }
        _ => false,
    };
    // On a numeric column a quoted number is the number (PostgreSQL prints `'-1'::integer`
    // for a person's -1; SQLite keeps `'5'` as written); on any other it is a string.
    let numeric = [&want.data_type, &have.data_type]
        .iter()
        .any(|t| t.as_deref().is_some_and(numeric_type));
    let same_number = |w: &Option<Spelling>, h: &Option<Spelling>| match (w, h) {
        (Some(w), Some(h)) => {
            numeric && number_value(w).is_some() && number_value(w) == number_value(h)
        }
        _ => false,
    };
    if let Some((w, h)) = differ(&want.default, &have.default)
        .filter(|(w, h)| !same_boolean(w, h) && !same_number(w, h))
    {
        let change = Change::SetDefault {
            table: table.clone(),
            column: have.name.clone(),
            default: w.clone(),
        };
        let sides = (Some(default_word(w)), Some(default_word(h)));
        out.push(drift(
            DriftKind::DefaultMismatch,
            table,
            column,
            sides,
            change,
        ));
    }
    if let Some((w, h)) = differ(&want.identity, &have.identity) {
        let word = |i: bool| if i { "identity" } else { "not identity" };
        let change = Change::SetIdentity {
            table: table.clone(),
            column: target.clone(),
        };
        let sides = (Some(word(*w).into()), Some(word(*h).into()));
        out.push(drift(
            DriftKind::IdentityMismatch,
            table,
            column,
            sides,
            change,
        ));
    }
    out
}

/// Both sides of an attribute, when it is stated on both and differs.
/// Whether a canonical type is a number's.
fn numeric_type(t: &str) -> bool {
    let base = t.split(['(', ' ']).next().unwrap_or_default();
    matches!(
        base,
        "int"
            | "integer"
            | "bigint"
            | "smallint"
            | "tinyint"
            | "mediumint"
            | "numeric"
            | "decimal"
            | "real"
            | "double"
            | "float"
            | "int2"
            | "int4"
            | "int8"
    )
}

/// The number a default spells, quoted or not, in one form (`'-1'` is `-1`, `1.50` is `1.5`).
fn number_value(default: &str) -> Option<String> {
    let d = default.trim();
    let d = d
        .strip_prefix('\'')
        .and_then(|d| d.strip_suffix('\''))
        .unwrap_or(d)
        .trim();
    crate::normalize::plain_number(d)
        .then(|| crate::normalize::canonical_number(d))
        .flatten()
}

/// The boolean a default of a boolean column spells, as PostgreSQL reads the literal
/// (any case, quoted or not).
fn boolean_value(default: &str) -> Option<bool> {
    let d = default.trim();
    let d = d
        .strip_prefix('\'')
        .and_then(|d| d.strip_suffix('\''))
        .unwrap_or(d)
        .trim()
        .to_ascii_lowercase();
    match d.as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn differ<'a, T: PartialEq>(want: &'a Option<T>, have: &'a Option<T>) -> Option<(&'a T, &'a T)> {
    match (want, have) {
        (Some(w), Some(h)) if w != h => Some((w, h)),
        _ => None,
    }
}

fn drift(
    kind: DriftKind,
    table: &TableName,
    column: Option<&str>,
    (expected, actual): Sides,
    change: Change,
) -> Drift {
    Drift {
        kind,
        schema: table.schema.clone(),
        table: table.name.clone(),
        column: column.map(str::to_string),
        expected,
        actual,
        migration: None,
        migration_applied_at: None,
        fix: change,
    }
}

fn null_word(nullable: bool) -> &'static str {
    if nullable {
        "NULL"
    } else {
        "NOT NULL"
    }
}

fn default_word(default: &Option<Spelling>) -> String {
    default.as_deref().unwrap_or("no default").to_string()
}

/// `bigint NULL DEFAULT 0`: the attributes a column has or is expected to have.
fn describe_column(c: &Column) -> String {
    let mut parts = vec![c.data_type.as_deref().unwrap_or("(any type)").to_string()];
    if let Some(n) = c.nullable {
        parts.push(null_word(n).into());
    }
    if let Some(Some(d)) = &c.default {
        parts.push(format!("DEFAULT {d}"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: Engine = Engine::Postgres;

    fn types(list: &[(&str, &str, &[&str])]) -> Schema {
        let mut map = indexmap::IndexMap::new();
        for (schema, name, labels) in list {
            let name = TableName::new(*schema, *name);
            let labels = labels.iter().map(|l| l.to_string()).collect();
            map.insert(
                Schema::key(PG, &name),
                crate::model::EnumType { name, labels },
            );
        }
        Schema {
            types: Some(map),
            ..Schema::default()
        }
    }

    /// (kind, type, expected, actual, SQL) of every item.
    fn enum_drift(
        want: &Schema,
        have: &Schema,
    ) -> Vec<(DriftKind, String, String, String, String)> {
        let schemas = vec!["public".to_string()];
        diff(PG, want, have, &schemas, &Ignore::default())
            .drift
            .into_iter()
            .map(|d| {
                (
                    d.kind,
                    d.table.clone(),
                    d.expected.clone().unwrap_or_default(),
                    d.actual.clone().unwrap_or_default(),
                    crate::engine::render_change(PG, &d.fix),
                )
            })
            .collect()
    }

    #[test]
    fn types_are_created_before_the_tables_that_use_them_and_dropped_after() {
        let mut want = schema(vec![table(
            "p",
            vec![col("s", Some("st"), Some(false), None)],
        )]);
        want.types = types(&[("public", "st", &["a", "b"])]).types;
        let mut have = schema(vec![table(
            "q",
            vec![col("s", Some("old"), Some(false), None)],
        )]);
        have.types = types(&[("public", "old", &["x"])]).types;
        let got: Vec<String> = enum_drift(&want, &have)
            .into_iter()
            .map(|(.., sql)| sql.lines().next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            got,
            [
                r#"CREATE TYPE "public"."st" AS ENUM ('a', 'b');"#,
                r#"-- destructive: DROP TABLE "public"."q";"#,
                r#"CREATE TABLE "public"."p" ("#,
                r#"-- destructive: DROP TYPE "public"."old";"#,
            ]
        );
    }

    #[test]
    fn enum_labels_are_added_in_their_place_renamed_or_reported_unexpected() {
        let want = types(&[
            ("public", "state", &["new", "queued", "running", "done"]),
            ("public", "mood", &["happy", "sad"]),
            ("public", "gone", &["x"]),
            ("public", "same", &["a", "b"]),
        ]);
        let have = types(&[
            ("public", "state", &["queued", "done", "stale"]),
            ("public", "mood", &["happy", "blue"]),
            ("public", "same", &["a", "b"]),
            ("public", "extra", &["p", "q"]),
            ("other", "elsewhere", &["z"]),
        ]);
        let got = enum_drift(&want, &have);
        let s = |v: &str| v.to_string();
        assert_eq!(
            got,
            [
                (
                    DriftKind::MissingEnumLabel,
                    s("state"),
                    s("'new'"),
                    s(""),
                    s(
                        r#"ALTER TYPE "public"."state" ADD VALUE IF NOT EXISTS 'new' BEFORE 'queued';"#
                    )
                ),
                (
                    DriftKind::MissingEnumLabel,
                    s("state"),
                    s("'running'"),
                    s(""),
                    s(
                        r#"ALTER TYPE "public"."state" ADD VALUE IF NOT EXISTS 'running' AFTER 'queued';"#
                    )
                ),
                (
                    DriftKind::UnexpectedEnumLabel,
                    s("state"),
                    s(""),
                    s("'stale'"),
                    s(
                        r#"-- destructive: PostgreSQL cannot drop enum label 'stale' of "public"."state": move rows off it, create the type again without it, and ALTER the columns that use it"#
                    )
                ),
                (
                    DriftKind::MissingEnumLabel,
                    s("mood"),
                    s("'sad'"),
                    s("'blue'"),
                    s(r#"ALTER TYPE "public"."mood" RENAME VALUE 'blue' TO 'sad';"#)
                ),
                (
                    DriftKind::MissingEnumType,
                    s("gone"),
                    s("enum ('x')"),
                    s(""),
                    s(r#"CREATE TYPE "public"."gone" AS ENUM ('x');"#)
                ),
                (
                    DriftKind::UnexpectedEnumType,
                    s("extra"),
                    s(""),
                    s("enum ('p', 'q')"),
                    s(r#"-- destructive: DROP TYPE "public"."extra";"#)
                ),
            ]
        );
        let counts: Vec<(String, bool, usize, usize)> =
            diff(PG, &want, &have, &["public".into()], &Ignore::default())
                .types
                .into_iter()
                .map(|t| {
                    (
                        t.name.name,
                        t.expected,
                        t.missing_labels,
                        t.unexpected_labels,
                    )
                })
                .collect();
        assert_eq!(
            counts,
            [
                (s("state"), true, 2, 1),
                (s("mood"), true, 1, 0),
                (s("gone"), true, 1, 0),
                (s("same"), true, 0, 0),
                (s("extra"), false, 0, 2),
            ]
        );
        // An expectation without types compares none.
        assert!(enum_drift(&Schema::default(), &have).is_empty());
    }

    /// Values sort in label order: the same labels in another order are drift, named by the
    /// fewest labels that, moved, restore the order.
    #[test]
    fn enum_labels_out_of_order_are_the_fewest_that_moved_restore_it() {
        let want = types(&[
            ("public", "state", &["a", "b", "c", "d"]),
            ("public", "level", &["low", "mid", "high", "new"]),
        ]);
        let have = types(&[
            ("public", "state", &["b", "a", "c", "d"]),
            ("public", "level", &["high", "low", "mid"]),
        ]);
        let got = enum_drift(&want, &have);
        let s = |v: &str| v.to_string();
        assert_eq!(
            got,
            [
                (
                    DriftKind::MisorderedEnumLabel,
                    s("state"),
                    s("enum ('a', 'b', 'c', 'd')"),
                    s("enum ('b', 'a', 'c', 'd')"),
                    s(
                        r#"-- destructive: PostgreSQL cannot move enum label 'a' of "public"."state": create the type again as ENUM ('a', 'b', 'c', 'd') under another name, ALTER each column that uses it to the new type USING its value::text (its default dropped first and set again), drop the old type and rename the new one"#
                    )
                ),
                (
                    DriftKind::MissingEnumLabel,
                    s("level"),
                    s("'new'"),
                    s(""),
                    s(r#"ALTER TYPE "public"."level" ADD VALUE IF NOT EXISTS 'new' AFTER 'high';"#)
                ),
                (
                    DriftKind::MisorderedEnumLabel,
                    s("level"),
                    s("enum ('low', 'mid', 'high', 'new')"),
                    s("enum ('high', 'low', 'mid')"),
                    s(
                        r#"-- destructive: PostgreSQL cannot move enum label 'high' of "public"."level": create the type again as ENUM ('low', 'mid', 'high', 'new') under another name, ALTER each column that uses it to the new type USING its value::text (its default dropped first and set again), drop the old type and rename the new one"#
                    )
                ),
            ]
        );
        let misordered: Vec<usize> = diff(PG, &want, &have, &["public".into()], &Ignore::default())
            .types
            .iter()
            .map(|t| t.misordered_labels)
            .collect();
        assert_eq!(misordered, [1, 1]);
        // A reversed type of many labels: all but one move, found without quadratic work, in
        // one item.
        let labels: Vec<String> = (0..20_000).map(|i| format!("l{i}")).collect();
        let reversed: Vec<String> = labels.iter().rev().cloned().collect();
        let mut many_want = Schema::default();
        let mut many_have = Schema::default();
        many_want.types = types(&[("public", "big", &[])]).types;
        many_have.types = many_want.types.clone();
        many_want
            .types
            .as_mut()
            .unwrap()
            .values_mut()
            .for_each(|t| t.labels = labels.clone());
        many_have
            .types
            .as_mut()
            .unwrap()
            .values_mut()
            .for_each(|t| t.labels = reversed.clone());
        let big = diff(
            PG,
            &many_want,
            &many_have,
            &["public".into()],
            &Ignore::default(),
        );
        assert_eq!(big.types[0].misordered_labels, 19_999);
        assert_eq!(big.drift.len(), 1);
    }

    #[test]
    fn names_are_compared_only_with_names_strict() {
        let yaml = |text: &str| {
            crate::expected::parse_file(
                text,
                std::path::Path::new("e.yaml"),
                PG,
                &["public".into()],
            )
            .unwrap()
        };
        let want = yaml("tables:\n  t:\n    columns: {a: int, b: int}\n    primary_key: [a]\n    indexes:\n      - {columns: [b], name: t_b_idx}\n      - {columns: [a, b]}\n    checks:\n      - {name: t_b_check, expression: \"b > 0\"}\n");
        let have = yaml("tables:\n  t:\n    columns: {a: int, b: int}\n    primary_key: [a]\n    indexes:\n      - {columns: [b], name: hand_made}\n      - {columns: [a, b], name: whatever}\n    checks:\n      - {name: t_b_check, expression: \"b > 0\"}\n");
        let schemas = vec!["public".to_string()];
        let kinds = |ignore: &Ignore| -> Vec<(DriftKind, Option<String>)> {
            diff(PG, &want, &have, &schemas, ignore)
                .drift
                .into_iter()
                .map(|d| (d.kind, d.expected.or(d.actual)))
                .collect()
        };
        assert!(kinds(&Ignore::default()).is_empty());
        let strict = Ignore::default().with_strict_names(true);
        // Only the index the expectation names differs; the unnamed one matches any name.
        assert_eq!(
            kinds(&strict),
            [
                (DriftKind::UnexpectedIndex, Some("INDEX (b)".to_string())),
                (DriftKind::MissingIndex, Some("INDEX (b)".to_string())),
            ]
        );
    }

    #[test]
    fn a_line_break_in_a_name_cannot_end_a_comment_of_the_suggested_sql() {
        let change = Change::DropEnumLabel {
            name: TableName::new("public", "t"),
            label: "x'\nDROP TABLE users; --".into(),
        };
        let sql = crate::engine::render_change(PG, &change);
        assert_eq!(sql.lines().count(), 1, "{sql}");
        let drop = Change::DropTable {
            table: TableName::new("public", "a\nDROP TABLE users; --"),
        };
        let sql = crate::engine::render_change(PG, &drop);
        assert!(sql.lines().all(|l| l.starts_with("--")), "{sql}");
        // In a statement the line break is the name's and stays.
        let add = Change::AddEnumLabel {
            name: TableName::new("public", "t"),
            label: "two\nlines".into(),
            after: None,
            before: None,
        };
        assert!(crate::engine::render_change(PG, &add).contains("'two\nlines'"));
    }

    fn col(
        name: &str,
        ty: Option<&str>,
        nullable: Option<bool>,
        default: Option<Option<&str>>,
    ) -> Column {
        Column::new(PG, name, ty, nullable, default)
    }

    fn table(name: &str, columns: Vec<Column>) -> Table {
        let mut t = Table::new(TableName::new("public", name));
        for c in columns {
            assert!(t.add_column(PG, c));
        }
        t
    }

    fn schema(tables: Vec<Table>) -> Schema {
        let mut s = Schema::default();
        for t in tables {
            assert!(s.add_table(PG, t));
        }
        s
    }

    fn run(expected: &Schema, live: &Schema) -> Comparison {
        diff(
            PG,
            expected,
            live,
            &["public".to_string()],
            &Ignore::default(),
        )
    }

    /// Knex's `'0'`, SQLAlchemy's `'False'` and the catalog's `false` are one boolean default;
    /// on a text column they are words, and differ.
    #[test]
    fn boolean_defaults_compare_as_the_boolean_they_spell_on_boolean_columns_only() {
        let pair = |ty: &str, want: &str, have: &str| {
            let e = schema(vec![table(
                "t",
                vec![col("b", Some(ty), None, Some(Some(want)))],
            )]);
            let l = schema(vec![table(
                "t",
                vec![col("b", Some(ty), None, Some(Some(have)))],
            )]);
            run(&e, &l).drift.len()
        };
        for (want, have) in [
            ("'0'", "false"),
            ("'False'", "false"),
            ("'t'", "true"),
            ("1", "true"),
            ("'on'", "true"),
        ] {
            assert_eq!(pair("boolean", want, have), 0, "{want} vs {have}");
        }
        assert_eq!(pair("boolean", "'0'", "true"), 1);
        // Quoted numbers are numbers on numeric columns only.
        for (ty, want, have, drift) in [
            ("integer", "-1", "'-1'", 0),
            ("numeric(10,2)", "1.5", "'1.50'", 0),
            ("text", "'1.0'", "'1'", 1),
            ("text", "'NaN'", "'nan'", 1),
            ("varchar(9)", "'0.10'", "'0.1'", 1),
        ] {
            assert_eq!(pair(ty, want, have), drift, "{ty}: {want} vs {have}");
        }
        assert_eq!(pair("text", "'t'", "'true'"), 1);
        assert_eq!(pair("text", "'yes'", "'on'"), 1);
    }

    /// The seed incident: the model and migration say `file_size bigint NULL`, the table lacks it.
    fn export_logs(with_file_size: bool, person_spelling: bool) -> Table {
        let (varchar, int, ts) = if person_spelling {
            ("varchar(255)", "int4", "timestamptz")
        } else {
            (
                "character varying(255)",
                "integer",
                "timestamp with time zone",
            )
        };
        let mut cols = vec![
            col("id", Some("bigint"), Some(false), Some(None)),
            col("user_id", Some(varchar), Some(true), Some(None)),
            col(
                "export_format",
                Some("character varying(20)"),
                Some(true),
                Some(Some(if person_spelling {
                    "'csv'"
                } else {
                    "'csv'::character varying"
                })),
            ),
            col("record_count", Some(int), Some(true), Some(None)),
            col(
                "created_at",
                Some(ts),
                Some(true),
                Some(Some(if person_spelling {
                    "now()"
                } else {
                    "CURRENT_TIMESTAMP"
                })),
            ),
        ];
        if with_file_size {
            cols.push(col("file_size", Some("bigint"), Some(true), Some(None)));
        }
        table("export_logs", cols)
    }

    #[test]
    fn the_seed_incident_reports_exactly_the_missing_column_with_its_fix() {
        let expected = schema(vec![export_logs(true, true)]);
        let live = schema(vec![export_logs(false, false)]);
        let report = run(&expected, &live);
        assert_eq!(report.drift.len(), 1, "{:#?}", report.drift);
        let item = &report.drift[0];
        assert_eq!(item.kind, DriftKind::MissingColumn);
        assert_eq!(item.column.as_deref(), Some("file_size"));
        assert_eq!(item.expected.as_deref(), Some("bigint NULL"));
        assert_eq!(
            item.fix,
            Change::AddColumn {
                table: TableName::new("public", "export_logs"),
                column: col("file_size", Some("bigint"), Some(true), Some(None)),
            }
        );
        let names: Vec<_> = report.expected_tables.iter().map(|t| &t.name).collect();
        assert_eq!(names, vec![&TableName::new("public", "export_logs")]);
    }

    #[test]
    fn person_spelling_and_catalog_spelling_are_in_sync() {
        let report = run(
            &schema(vec![export_logs(true, true)]),
            &schema(vec![export_logs(true, false)]),
        );
        assert!(report.drift.is_empty(), "{:#?}", report.drift);
    }

    #[test]
    fn every_column_drift_kind_is_reported() {
        let expected = schema(vec![table(
            "t",
            vec![
                col("a", Some("integer"), Some(false), Some(Some("0"))),
                col("b", Some("text"), None, None),
                col("gone", Some("text"), None, None),
            ],
        )]);
        let live = schema(vec![table(
            "t",
            vec![
                col("a", Some("bigint"), Some(true), Some(Some("1"))),
                col("b", Some("text"), Some(true), Some(None)),
                col("extra", Some("text"), Some(true), Some(None)),
            ],
        )]);
        let report = run(&expected, &live);
        let kinds: Vec<_> = report
            .drift
            .iter()
            .map(|i| (i.kind, i.column.clone().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (DriftKind::TypeMismatch, "a".into()),
                (DriftKind::NullableMismatch, "a".into()),
                (DriftKind::DefaultMismatch, "a".into()),
                (DriftKind::MissingColumn, "gone".into()),
                (DriftKind::UnexpectedColumn, "extra".into()),
            ]
        );
        // The target column restates every attribute: expected where stated, live otherwise.
        let target = col("a", Some("integer"), Some(false), Some(Some("0")));
        let t = || TableName::new("public", "t");
        let changes: Vec<_> = report.drift.iter().map(|i| i.fix.clone()).collect();
        assert_eq!(
            changes,
            vec![
                Change::AlterType {
                    table: t(),
                    column: target.clone()
                },
                Change::SetNullable {
                    table: t(),
                    column: target
                },
                Change::SetDefault {
                    table: t(),
                    column: "a".into(),
                    default: Some("0".into())
                },
                Change::AddColumn {
                    table: t(),
                    column: col("gone", Some("text"), None, None)
                },
                Change::DropColumn {
                    table: t(),
                    column: "extra".into()
                },
            ]
        );
    }

    #[test]
    fn attributes_left_out_of_the_expectation_are_not_compared() {
        let expected = schema(vec![table("t", vec![col("a", None, None, None)])]);
        let live = schema(vec![table(
            "t",
            vec![col("a", Some("uuid"), Some(false), Some(Some("x()")))],
        )]);
        assert!(run(&expected, &live).drift.is_empty());
    }

    #[test]
    fn missing_and_unexpected_tables_are_reported_only_in_configured_schemas() {
        let expected = schema(vec![table(
            "wanted",
            vec![col("id", Some("bigint"), Some(false), None)],
        )]);
        let mut live = schema(vec![table(
            "surprise",
            vec![col("id", Some("bigint"), Some(false), None)],
        )]);
        let mut other = Table::new(TableName::new("audit", "log"));
        other.add_column(PG, col("id", Some("bigint"), Some(false), None));
        live.add_table(PG, other);
        let report = run(&expected, &live);
        let kinds: Vec<_> = report
            .drift
            .iter()
            .map(|i| (i.kind, i.table.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                // Unexpected tables first: a drop never waits on anything else.
                (DriftKind::UnexpectedTable, "surprise"),
                (DriftKind::MissingTable, "wanted"),
            ]
        );
        assert_eq!(
            report.drift[1].fix,
            Change::CreateTable {
                table: expected.tables[0].clone()
            }
        );
        assert_eq!(
            report.drift[0].fix,
            Change::DropTable {
                table: TableName::new("public", "surprise")
            }
        );
    }

    #[test]
    fn ignored_tables_and_columns_are_left_out_entirely() {
        let expected = schema(vec![table(
            "t",
            vec![col("id", Some("bigint"), None, None)],
        )]);
        let live = schema(vec![
            table(
                "t",
                vec![
                    col("id", Some("bigint"), None, None),
                    col("legacy_x", Some("text"), None, None),
                ],
            ),
            table("tmp_1", vec![col("id", Some("bigint"), None, None)]),
            table(
                "django_session",
                vec![col("id", Some("bigint"), None, None)],
            ),
        ]);
        let ignore = Ignore::new(
            &["tmp_*".into(), "public.django_session".into()],
            &["*.legacy_*".into()],
        )
        .unwrap();
        let report = diff(PG, &expected, &live, &["public".into()], &ignore);
        assert!(report.drift.is_empty(), "{:#?}", report.drift);
    }

    #[test]
    fn a_table_listed_without_columns_is_only_checked_for_existence() {
        let mut t = table("v", vec![]);
        t.columns_compared = false;
        let live = schema(vec![table(
            "v",
            vec![col("anything", Some("text"), Some(true), Some(None))],
        )]);
        assert!(run(&schema(vec![t]), &live).drift.is_empty());
    }

    /// An index over `parts` (a `(` marks an expression), unique or not.
    fn idx(name: &str, parts: &[&str], unique: bool) -> Index {
        let mut index = Index::new(name.into(), false, unique);
        index.parts = parts
            .iter()
            .map(
                |p| match p.strip_prefix('(').and_then(|e| e.strip_suffix(')')) {
                    Some(e) => crate::model::IndexPart::expression(Some(e.into())),
                    None => crate::model::IndexPart::column((*p).into()),
                },
            )
            .collect();
        index.method = Some("btree".into());
        index
    }

    fn keyed(pk: Option<&[&str]>, indexes: Vec<Index>) -> Table {
        let mut t = table(
            "t",
            vec![col("a", None, None, None), col("b", None, None, None)],
        );
        t.primary_key = Some(pk.map(|p| Index {
            primary: true,
            ..idx("t_pkey", p, true)
        }));
        t.indexes = Some(indexes);
        t
    }

    fn key_kinds(expected: Table, live: Table) -> Vec<(DriftKind, Option<String>, Option<String>)> {
        let e = schema(vec![expected]);
        let l = schema(vec![live]);
        diff(PG, &e, &l, &["public".into()], &Ignore::default())
            .drift
            .into_iter()
            .map(|d| (d.kind, d.expected, d.actual))
            .collect()
    }

    #[test]
    fn keys_and_indexes_compare_by_definition_not_by_name() {
        // A unique constraint (its index named by the engine) and a unique index a person named
        // over the same columns, an expression spelt with other spaces and parentheses, an
        // expected index that leaves the method open: all in sync.
        let mut open = idx("whatever", &["b"], false);
        open.method = None;
        let want = keyed(
            Some(&["a"]),
            vec![
                idx("t_a_b_key", &["a", "b"], true),
                idx("lower_b", &["(lower( b ))"], false),
                open,
            ],
        );
        let mut hash = idx("t_b_hash", &["b"], false);
        hash.method = Some("hash".into());
        let have = keyed(
            Some(&["a"]),
            vec![
                idx("uq", &["a", "b"], true),
                idx("x", &["((lower(b)))"], false),
                hash,
            ],
        );
        assert_eq!(key_kinds(want, have), []);
    }

    #[test]
    fn every_key_and_index_difference_is_its_own_kind() {
        let want = keyed(
            Some(&["a"]),
            vec![
                idx("t_b_key", &["b"], true),
                idx("t_a_idx", &["a"], false),
                idx("t_ab", &["a", "b"], false),
            ],
        );
        let mut invalid = idx("t_ab", &["a", "b"], false);
        invalid.valid = false;
        let mut stray = idx("t_b_ccnew", &["b", "a"], true);
        stray.valid = false;
        let have = keyed(
            Some(&["b"]),
            vec![idx("t_b_idx", &["b"], false), invalid, stray],
        );
        let kinds: Vec<DriftKind> = key_kinds(want, have).into_iter().map(|k| k.0).collect();
        assert_eq!(
            kinds,
            // Drops first, then what is made or built again.
            [
                DriftKind::UnexpectedPrimaryKey,
                DriftKind::UnexpectedIndex,
                // Not expected and not valid: a leftover to drop.
                DriftKind::InvalidIndex,
                DriftKind::MissingPrimaryKey,
                // Expected, but left not valid: built again, not reported missing.
                DriftKind::InvalidIndex,
                // Missing ones last, after the drops that may free their names.
                DriftKind::MissingUniqueConstraint,
                DriftKind::MissingIndex,
            ]
        );
    }

    #[test]
    fn of_two_indexes_alike_by_definition_the_one_of_its_own_name_is_taken() {
        // Django's `_like` index (varchar_pattern_ops, not compared) beside the plain index on
        // the same column; the plain one is gone. The one missing is the plain one, so its
        // create does not take the name the `_like` index holds.
        let want = keyed(
            Some(&["a"]),
            vec![
                idx("t_b_idx", &["b"], false),
                idx("t_b_like", &["b"], false),
            ],
        );
        let have = keyed(Some(&["a"]), vec![idx("t_b_like", &["b"], false)]);
        let found = key_kinds(want, have);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, DriftKind::MissingIndex);
        let e = schema(vec![keyed(
            Some(&["a"]),
            vec![
                idx("t_b_idx", &["b"], false),
                idx("t_b_like", &["b"], false),
            ],
        )]);
        let l = schema(vec![keyed(
            Some(&["a"]),
            vec![idx("t_b_like", &["b"], false)],
        )]);
        let drift = diff(PG, &e, &l, &["public".into()], &Ignore::default()).drift;
        let sql = crate::engine::render_change(PG, &drift[0].fix);
        assert!(sql.contains("\"t_b_idx\""), "{sql}");
    }

    #[test]
    fn a_foreign_key_resting_on_two_dropped_keys_is_dropped_once_and_added_back_once() {
        // Two unique indexes over `a` serve the foreign key of `r`; both go (the expected one
        // has an INCLUDE), and the one made again carries the foreign key back.
        let mut wanted = idx("u1", &["a"], true);
        wanted.include = vec!["b".into()];
        let key = ForeignKey {
            name: "r_a".into(),
            columns: vec!["a".into()],
            target: TableName::new("public", "t"),
            target_columns: vec!["a".into()],
            on_delete: "no action".into(),
            on_update: "no action".into(),
            deferrable: false,
            initially_deferred: false,
            validated: true,
        };
        let mut r = table("r", vec![col("a", None, None, None)]);
        r.foreign_keys = Some(vec![key]);
        let r_live = r.clone();
        // The primary key is over `b`: it cannot serve in their place.
        let e = schema(vec![keyed(Some(&["b"]), vec![wanted]), r]);
        let l = schema(vec![
            keyed(
                Some(&["b"]),
                vec![idx("u1", &["a"], true), idx("u2", &["a"], true)],
            ),
            r_live,
        ]);
        let drift = diff(PG, &e, &l, &["public".into()], &Ignore::default()).drift;
        let sql: Vec<String> = drift
            .iter()
            .map(|d| crate::engine::render_change(PG, &d.fix))
            .collect();
        let all = sql.join("\n");
        let drops = all.matches(r#"DROP CONSTRAINT "r_a""#).count();
        let adds = all.matches(r#"ADD CONSTRAINT "r_a""#).count();
        assert_eq!((drops, adds), (1, 1), "{all}");
        let at = |needle: &str| {
            all.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {all}"))
        };
        assert!(
            at(r#"DROP CONSTRAINT "r_a""#) < at(r#""public"."u1""#),
            "{all}"
        );
        assert!(
            at(r#"INCLUDE ("b")"#) < at(r#"ADD CONSTRAINT "r_a""#),
            "{all}"
        );
    }

    #[test]
    fn keys_a_source_does_not_state_are_not_compared() {
        let mut want = keyed(Some(&["a"]), vec![idx("i", &["a"], false)]);
        want.primary_key = None;
        want.indexes = None;
        let have = keyed(None, vec![idx("j", &["b"], true)]);
        assert_eq!(key_kinds(want, have), []);
        // A table that should have no primary key, and has one.
        let want = keyed(None, vec![]);
        let have = keyed(Some(&["a"]), vec![]);
        assert_eq!(
            key_kinds(want, have),
            [(
                DriftKind::UnexpectedPrimaryKey,
                None,
                Some("PRIMARY KEY (a)".into())
            )]
        );
    }

    fn in_schema(schema: &str, mut t: Table) -> Table {
        t.name.schema = schema.into();
        t
    }

    #[test]
    fn every_tenant_schema_is_compared_with_the_template_and_only_drifted_ones_are_listed() {
        let tenants = Tenants::new(PG, vec!["tenant_*".into()]).unwrap();
        // The template (unqualified tables land in the first pattern) plus a shared table.
        let expected = schema(vec![
            in_schema("tenant_*", export_logs(true, true)),
            table("countries", vec![col("code", Some("text"), None, None)]),
            // Named in one tenant's own schema: expected there, so never "unexpected" there.
            in_schema("tenant_a", table("special", vec![])),
        ]);
        let mut live = schema(vec![
            table(
                "countries",
                vec![col("code", Some("text"), Some(false), Some(None))],
            ),
            in_schema("tenant_a", export_logs(true, false)),
            in_schema("tenant_a", table("special", vec![])),
            in_schema("tenant_b", export_logs(false, false)),
            in_schema("tenant_b", table("scratch", vec![])),
            // Not a tenant: the pattern does not match it, so it is neither compared nor reported.
            in_schema("other", export_logs(false, false)),
        ]);
        live.namespaces = ["other", "public", "tenant_a", "tenant_b", "tenant_c"]
            .map(String::from)
            .to_vec();
        let c = compare(
            PG,
            &expected,
            &live,
            &["public".into()],
            Some(&tenants),
            &Ignore::default(),
        );
        let t = c.tenants.as_ref().unwrap();
        assert_eq!(t.matched, ["tenant_a", "tenant_b", "tenant_c"]);
        assert_eq!(t.drifted, ["tenant_b", "tenant_c"]);
        assert_eq!(t.tables, 3);
        let items: Vec<(DriftKind, &str, &str, Option<&str>)> = c
            .drift
            .iter()
            .map(|d| {
                (
                    d.kind,
                    d.schema.as_str(),
                    d.table.as_str(),
                    d.column.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            items,
            [
                (
                    DriftKind::MissingColumn,
                    "tenant_b",
                    "export_logs",
                    Some("file_size")
                ),
                (DriftKind::UnexpectedTable, "tenant_b", "scratch", None),
                // An empty tenant schema: every template table is missing from it.
                (DriftKind::MissingTable, "tenant_c", "export_logs", None),
            ]
        );
        // The fix creates the tenant's table, not the template's.
        match &c.drift[2].fix {
            Change::CreateTable { table } => {
                assert_eq!(table.name, TableName::new("tenant_c", "export_logs"))
            }
            other => panic!("{other:?}"),
        }
        // Named schemas list every table (a qualified one in a tenant's schema too); tenants
        // only the ones that drifted.
        let listed: Vec<String> = c
            .expected_tables
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        assert_eq!(
            listed,
            [
                "public.countries",
                "tenant_a.special",
                "tenant_b.export_logs",
                "tenant_c.export_logs"
            ]
        );
        assert_eq!(c.schemas, ["public"]);
    }

    #[test]
    fn a_schema_named_exactly_is_not_also_a_tenant_and_ignores_apply_per_tenant() {
        let tenants = Tenants::new(PG, vec!["t*".into()]).unwrap();
        let expected = schema(vec![in_schema("t*", export_logs(true, true))]);
        let mut live = schema(vec![
            in_schema("t1", export_logs(false, false)),
            in_schema("t2", export_logs(false, false)),
        ]);
        live.namespaces = vec!["t1".into(), "t2".into()];
        let ignore = Ignore::new(&["t2.export_logs".into()], &[]).unwrap();
        let c = compare(
            PG,
            &expected,
            &live,
            &["t1".into()],
            Some(&tenants),
            &ignore,
        );
        let t = c.tenants.unwrap();
        assert_eq!(t.matched, ["t2"], "t1 is named, so it is no tenant");
        assert!(t.drifted.is_empty(), "t2's only table is ignored");
        assert_eq!(t.tables, 0);
        // t1 is compared by name against named tables only: it has none, so its table is unexpected.
        assert_eq!(c.drift.len(), 1, "{:#?}", c.drift);
        assert_eq!(c.drift[0].kind, DriftKind::UnexpectedTable);
        assert_eq!(c.drift[0].schema, "t1");
    }
}
