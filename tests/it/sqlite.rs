//! Engine tests against real SQLite files (always run: SQLite is compiled into the binary).

use crate::common;

use crate::common::{run, write};
use schema_exporter::check::DriftReport;
use schema_exporter::diff::DriftKind;
use std::path::Path;

fn config(dir: &Path, expected: &str) -> String {
    common::config_with_expected(
        dir,
        "lite",
        "sqlite:app.db",
        expected,
        "",
        "    timeout: 5s\n",
    )
}

async fn check(dir: &Path, expected: &str) -> DriftReport {
    common::check_config(&config(dir, expected)).await
}

#[tokio::test]
async fn seed_incident_on_sqlite_reports_file_size_until_it_is_added() {
    let dir = tempfile::tempdir().unwrap();
    common::sqlite_exec(
        &dir.path().join("app.db"),
        schema_exporter::demo::LIVE_SCHEMA,
    )
    .await;
    let report = check(dir.path(), schema_exporter::demo::EXPECTED).await;
    let found: Vec<_> = report
        .items
        .iter()
        .map(|i| (i.kind, i.table.as_str(), i.column.as_deref()))
        .collect();
    assert_eq!(
        found,
        vec![(DriftKind::MissingColumn, "export_logs", Some("file_size"))]
    );
    let fix = report.items[0].fix.suggested_sql.clone();
    assert_eq!(
        fix,
        r#"ALTER TABLE "main"."export_logs" ADD COLUMN "file_size" bigint NULL;"#
    );
    common::sqlite_exec(&dir.path().join("app.db"), &fix).await;
    assert!(check(dir.path(), schema_exporter::demo::EXPECTED)
        .await
        .in_sync());
}

#[tokio::test]
async fn every_drift_kind_on_sqlite_and_tables_that_come_and_go() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    common::sqlite_exec(&db, common::EVERY_KIND_LIVE).await;
    // `A` where the table has `a`: SQLite compares column names case-insensitively.
    let expected = &common::EVERY_KIND_EXPECTED.replace("      a:", "      A:");
    let report = check(dir.path(), expected).await;
    assert_eq!(
        common::found(&report),
        common::every_kind_found(),
        "{:#?}",
        report.items
    );
    // SQLite cannot alter a column in place: those fixes point to the rebuild procedure instead.
    let rebuild = report
        .items
        .iter()
        .find(|i| i.kind == DriftKind::TypeMismatch)
        .unwrap();
    assert!(
        rebuild
            .fix
            .suggested_sql
            .starts_with("-- SQLite cannot alter a column in place"),
        "{}",
        rebuild.fix.suggested_sql
    );
    // The others run as printed (destructive ones once uncommented).
    for item in report.items.iter().filter(|i| {
        matches!(
            i.kind,
            DriftKind::MissingTable
                | DriftKind::UnexpectedTable
                | DriftKind::MissingColumn
                | DriftKind::UnexpectedColumn
        )
    }) {
        common::sqlite_exec(
            &db,
            item.fix
                .suggested_sql
                .trim_start_matches("-- destructive: "),
        )
        .await;
    }
    let after = check(dir.path(), expected).await;
    let left: Vec<_> = after.items.iter().map(|i| i.kind).collect();
    assert!(
        left.iter().all(|k| matches!(
            k,
            DriftKind::TypeMismatch | DriftKind::NullableMismatch | DriftKind::DefaultMismatch
        )),
        "{left:?}"
    );
    assert_eq!(after.count(DriftKind::UnexpectedTable), 0);
    assert_eq!(after.count(DriftKind::MissingTable), 0);
}

#[tokio::test]
async fn snapshot_of_a_django_style_sqlite_schema_checks_back_clean() {
    let dir = tempfile::tempdir().unwrap();
    common::sqlite_exec(
        &dir.path().join("app.db"),
        r#"CREATE TABLE "django_content_type" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app_label" varchar(100) NOT NULL, "model" varchar(100) NOT NULL);
        CREATE TABLE plain (id INTEGER PRIMARY KEY, "Mixed Case" TEXT DEFAULT 'It''s', flag bool DEFAULT TRUE, amount decimal(10, 2) DEFAULT 0.5, at datetime DEFAULT CURRENT_TIMESTAMP, blob_col BLOB, untyped);
        CREATE TABLE pairs (a text, b text, total int GENERATED ALWAYS AS (length(a) + length(b)) VIRTUAL, PRIMARY KEY (a, b)) WITHOUT ROWID;
        CREATE VIEW v AS SELECT id, flag FROM plain;
        CREATE INDEX plain_at ON plain (at);"#,
    )
    .await;
    let cfg = config(dir.path(), "tables: {}\n");
    let snapshot = common::snapshot(&cfg, "lite", &[]);
    write(dir.path(), "expected.yaml", &snapshot);
    assert!(
        !snapshot.contains("sqlite_sequence"),
        "SQLite's own tables are never drift:\n{snapshot}"
    );
    assert!(
        snapshot.contains("total:") && snapshot.contains("Mixed Case"),
        "{snapshot}"
    );
    let (code, stdout, stderr) = run(&["check", "--config.file", &cfg]);
    assert_eq!(code, 0, "{stdout}{stderr}\n{snapshot}");
}

#[tokio::test]
async fn a_missing_database_file_fails_the_check_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "tables: {}\n");
    let (code, stdout, _) = run(&["check", "--config.file", &cfg]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("lite: could not check: catalog read failed"),
        "{stdout}"
    );
    assert!(
        !dir.path().join("app.db").exists(),
        "the exporter must never create the database"
    );
}
