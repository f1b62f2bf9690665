//! Engine tests against real SQLite files (always run: SQLite is compiled into the binary): the
//! shared scenarios on SQLite, then a database file that is not there.

use crate::common::{self, demo, DriftKind, EngineDb, Sqlite};
use crate::scenarios;

#[tokio::test]
async fn seed_incident_reports_exactly_file_size_and_the_sql_that_fixes_it() {
    scenarios::seed_incident::<Sqlite>(demo::LIVE_SCHEMA, demo::EXPECTED).await;
}

/// SQLite cannot alter a column in place: every attribute fix is a comment pointing to the table
/// rebuild, and only those attributes are left once the other fixes ran.
#[tokio::test]
async fn every_drift_kind_is_found_and_its_fixes_leave_only_what_needs_a_rebuild() {
    let report = scenarios::every_drift_kind_and_its_fixes::<Sqlite>()
        .await
        .expect("SQLite is always there");
    let rebuilds: Vec<&str> = report
        .items
        .iter()
        .filter(|i| {
            matches!(
                i.kind,
                DriftKind::TypeMismatch | DriftKind::NullableMismatch | DriftKind::DefaultMismatch
            )
        })
        .map(|i| i.fix.suggested_sql.as_str())
        .collect();
    assert_eq!(rebuilds.len(), 5, "{rebuilds:#?}");
    for sql in rebuilds {
        assert!(
            sql.starts_with("-- SQLite cannot alter a column in place"),
            "{sql}"
        );
    }
}

/// Django's spellings, quoted and untyped columns, generated columns, WITHOUT ROWID, a view and an
/// index.
const RICH_SCHEMA: &str = r#"CREATE TABLE "django_content_type" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app_label" varchar(100) NOT NULL, "model" varchar(100) NOT NULL);
CREATE TABLE plain (id INTEGER PRIMARY KEY, "Mixed Case" TEXT DEFAULT 'It''s', flag bool DEFAULT TRUE, amount decimal(10, 2) DEFAULT 0.5, at datetime DEFAULT CURRENT_TIMESTAMP, blob_col BLOB, untyped);
CREATE TABLE pairs (a text, b text, total int GENERATED ALWAYS AS (length(a) + length(b)) VIRTUAL, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE VIEW v AS SELECT id, flag FROM plain;
CREATE INDEX plain_at ON plain (at);"#;

#[tokio::test]
async fn snapshot_of_a_rich_schema_checks_back_with_zero_drift() {
    let (_, snapshot) = scenarios::snapshot_checks_back_in_sync::<Sqlite>(RICH_SCHEMA, "")
        .await
        .expect("SQLite is always there");
    // AUTOINCREMENT makes SQLite keep its own sqlite_sequence, which is never drift.
    assert!(!snapshot.contains("sqlite_sequence"), "{snapshot}");
    let wants = ["django_content_type:", "total:", "Mixed Case", "\n  v:"];
    common::assert_contains_all(&snapshot, &wants);
}

#[tokio::test]
async fn a_missing_database_file_fails_the_check_and_is_not_created() {
    let db = Sqlite::new();
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config_with_expected(dir.path(), "lite", db.url(), "tables: {}\n", "", "");
    common::assert_check(
        &cfg,
        &[],
        2,
        "lite: could not check: cannot connect: the database file is missing or not readable",
    );
    assert!(
        !db.path.exists(),
        "the exporter must never create the database"
    );
}

/// The expectation is loaded while the catalog is read; when both fail, the broken expectation is
/// what the check reports (it is the operator's to fix, and the catalog error would hide it).
#[tokio::test]
async fn a_broken_expectation_is_reported_even_when_the_catalog_read_fails_too() {
    let db = Sqlite::new();
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config_with_expected(dir.path(), "lite", db.url(), "tabels: {}\n", "", "");
    let out = common::assert_check(&cfg, &[], 2, "lite: could not check: expected schema: ");
    common::assert_contains_all(&out, &["expected.yaml:1:1: unknown field `tabels`"]);
}

/// The text report escapes control characters from live names (a table name cannot clear the
/// terminal or forge a report line), and marks every destructive fix from the same flag JSON
/// carries: a type change as well as a drop.
#[tokio::test]
async fn the_text_report_escapes_control_characters_and_marks_every_destructive_fix() {
    let db = Sqlite::new();
    common::sqlite_exec(
        &db.path,
        "CREATE TABLE t (a integer); CREATE TABLE \"x\u{1b}[2J\napp: in sync\" (id integer);",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let expected = "tables:\n  t:\n    columns:\n      a: text\n";
    let cfg = common::config_with_expected(dir.path(), "lite", db.url(), expected, "", "");
    let out = common::assert_check(&cfg, &[], 1, "lite: 2 drift item(s)");
    assert!(!out.contains('\u{1b}'), "raw escape in:\n{out}");
    assert!(
        !out.lines()
            .any(|l| l.trim_start().starts_with("app: in sync")),
        "a name forged a line:\n{out}"
    );
    common::assert_contains_all(
        &out,
        &[
            "unexpected table: main.x\\u{1b}[2J\\napp: in sync (expected: -, actual: table) [destructive: review before running]",
            "type differs: main.t.a (expected: text, actual: integer) [destructive: review before running]",
        ],
    );
}

/// A partial index whose name is not ASCII once made the index read panic, and `check` then
/// exited 0 with the database "not checked". Now the index is read and compared: in sync when
/// the expectation states its predicate, and the live partial index named in the drift when not.
#[tokio::test]
async fn a_partial_index_with_a_non_ascii_name_is_read_and_compared() {
    let db = Sqlite::new();
    common::sqlite_exec(
        &db.path,
        "CREATE TABLE t (b integer PRIMARY KEY); CREATE INDEX \"ïdx\" ON t (b) WHERE b > 0;",
    )
    .await;
    for (index, code, says) in [
        ("{columns: [b], where: b > 0}", 0, "lite: in sync"),
        ("{columns: [b]}", 1, r#"DROP INDEX "main"."ïdx";"#),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let expected = format!(
            "tables:\n  t:\n    columns:\n      b: integer\n    primary_key: [b]\n    indexes:\n      - {index}\n"
        );
        let cfg = common::config_with_expected(dir.path(), "lite", db.url(), &expected, "", "");
        common::assert_check(&cfg, &[], code, says);
    }
}
