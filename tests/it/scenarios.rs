//! The scenarios every engine must pass, written once over [`EngineDb`]. Each engine's suite runs
//! them from tests of its own, with the incident and a rich schema in that engine's DDL, and adds
//! what only its dialect says. Each starts its own database, and returns early (the skip already
//! said and recorded) when the engine's server cannot be had.

use crate::common::{self, item, DriftKind, DriftReport, EngineDb, Found};
use std::path::Path;

/// A config watching `db` as database `app` against `expected`; `extra` adds keys of the database.
fn config(dir: &Path, db: &impl EngineDb, expected: &str, extra: &str) -> String {
    common::config_with_expected(dir, "app", db.url(), expected, "", extra)
}

/// The seed incident: `live` leaves `export_logs` without the `file_size` that `expected` declares.
/// The check finds exactly that column, suggests the engine's `ADD COLUMN` for it, and once that
/// runs the database is in sync.
pub async fn seed_incident<D: EngineDb>(live: &str, expected: &str) {
    let Some(db) = D::start().await else {
        return;
    };
    db.exec(live).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &db, expected, "");
    let report = common::check_config(&cfg).await;
    assert_eq!(
        common::found(&report),
        vec![item(
            DriftKind::MissingColumn,
            "export_logs",
            Some("file_size")
        )],
        "{:#?}",
        report.items
    );
    let fix = &report.items[0];
    assert_eq!(fix.schema, db.schema());
    let q = |name: &str| db.quote(name);
    assert_eq!(
        fix.fix.suggested_sql,
        format!(
            "ALTER TABLE {}.{} ADD COLUMN {} bigint NULL;",
            q(&db.schema()),
            q("export_logs"),
            q("file_size")
        )
    );
    assert!(!fix.fix.destructive);

    db.exec(&fix.fix.suggested_sql).await;
    let report = common::check_config(&cfg).await;
    assert!(report.in_sync(), "{:#?}", report.items);
}

/// Whether `kind` is about a column's attributes rather than the presence of a table or column.
fn is_attribute(kind: DriftKind) -> bool {
    matches!(
        kind,
        DriftKind::TypeMismatch | DriftKind::NullableMismatch | DriftKind::DefaultMismatch
    )
}

/// Every drift kind at once ([`common::EVERY_KIND_LIVE`]): exactly the expected items, each flagged
/// destructive exactly when it is. Then every fix the engine can run is run as printed (destructive
/// ones uncommented, as a reviewer would), and a re-check finds nothing, or on an engine that
/// cannot alter columns in place exactly the attribute drift its comments leave to a person.
/// Returns the first report, for what the engine's own dialect says.
pub async fn every_drift_kind_and_its_fixes<D: EngineDb>() -> Option<DriftReport> {
    let db = D::start().await?;
    db.exec(common::EVERY_KIND_LIVE).await;
    let in_place = D::SPELLING.alters_columns_in_place;
    // `A` where the table has `a`, on engines whose column names compare case-insensitively.
    let expected = if D::SPELLING.folds_column_names {
        common::EVERY_KIND_EXPECTED.replace("      a:", "      A:")
    } else {
        common::EVERY_KIND_EXPECTED.to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &db, &expected, "");
    let report = common::check_config(&cfg).await;
    assert_eq!(
        common::found(&report),
        common::every_kind_found(),
        "{:#?}",
        report.items
    );
    for item in &report.items {
        // Drops are commented out so nobody runs them by pasting; type changes run as printed but
        // are flagged too, since they may lose data.
        assert_eq!(
            item.fix.destructive,
            item.fix.suggested_sql.starts_with("-- destructive: ")
                || item.kind == DriftKind::TypeMismatch,
            "{item:?}"
        );
        if in_place || !is_attribute(item.kind) {
            db.exec(common::fix_sql(item)).await;
        } else {
            assert!(item.fix.suggested_sql.starts_with("-- "), "{item:?}");
        }
    }
    let left: Vec<Found> = common::every_kind_found()
        .into_iter()
        .filter(|(kind, ..)| !in_place && is_attribute(*kind))
        .collect();
    let after = common::check_config(&cfg).await;
    assert_eq!(common::found(&after), left, "{:#?}", after.items);
    Some(report)
}

/// A snapshot of a database built from `schema` (the engine's richest spellings), written with `-o`
/// where the config reads its expectation, checks back in sync (`extra` adds keys of the database,
/// such as its schemas). Returns the database and the snapshot, for what the engine's test expects
/// of them.
pub async fn snapshot_checks_back_in_sync<D: EngineDb>(
    schema: &str,
    extra: &str,
) -> Option<(D, String)> {
    let db = D::start().await?;
    db.exec(schema).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &db, "tables: {}\n", extra);
    let out = dir.path().join("expected.yaml");
    common::snapshot(&cfg, "app", &["-o", out.to_str().unwrap()]);
    let snapshot = std::fs::read_to_string(&out).unwrap();
    common::assert_check(&cfg, &[], 0, "app: in sync");
    Some((db, snapshot))
}
