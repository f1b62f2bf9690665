//! Engine and binary tests against real, throwaway MariaDB servers (or `SCHEMA_EXPORTER_TEST_MYSQL_URL`).

use crate::common;

use crate::common::{run, write, MariaDb};
use schema_exporter::check::pool_for;
use schema_exporter::check::DriftReport;
use schema_exporter::config;
use schema_exporter::diff::DriftKind;
use schema_exporter::engine::Pool;
use std::path::Path;

const SEED_SQL: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/export_logs.mysql.sql"
));
const SEED_EXPECTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/export_logs.mysql.yaml"
));

fn config_for(dir: &Path, db: &MariaDb, expected: &str) -> String {
    let top = "interval: 5s\ntimeout: 2s\n";
    common::config_with_expected(dir, "app", &db.url, expected, top, "")
}

async fn check(dir: &Path, db: &MariaDb, expected: &str) -> DriftReport {
    common::check_config(&config_for(dir, db, expected)).await
}

#[tokio::test]
async fn seed_incident_in_mysql_spellings_reports_only_file_size() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    db.exec(SEED_SQL).await;
    let report = check(dir.path(), &db, SEED_EXPECTED).await;
    assert_eq!(
        common::found(&report),
        vec![common::item(
            DriftKind::MissingColumn,
            "export_logs",
            Some("file_size")
        )],
        "{:#?}",
        report.items
    );
    let fix = &report.items[0].fix.suggested_sql;
    assert!(
        fix.starts_with("ALTER TABLE `se_test_")
            && fix.ends_with("`.`export_logs` ADD COLUMN `file_size` bigint NULL;"),
        "{fix}"
    );
    db.exec(fix).await;
    let report = check(dir.path(), &db, SEED_EXPECTED).await;
    assert!(report.in_sync(), "{:#?}", report.items);
}

#[tokio::test]
async fn every_drift_kind_on_mariadb_and_every_fix_repairs_it() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    db.exec(common::EVERY_KIND_LIVE).await;
    // `A` where the table has `a`: MySQL compares column names case-insensitively.
    let expected = common::EVERY_KIND_EXPECTED.replace("      a:", "      A:");
    let report = check(dir.path(), &db, &expected).await;
    assert_eq!(
        common::found(&report),
        common::every_kind_found(),
        "{:#?}",
        report.items
    );
    let modify = report
        .items
        .iter()
        .find(|i| i.kind == DriftKind::TypeMismatch)
        .unwrap();
    assert!(
        modify
            .fix
            .suggested_sql
            .contains("MODIFY COLUMN `a` int NOT NULL DEFAULT 0;"),
        "{}",
        modify.fix.suggested_sql
    );
    for item in &report.items {
        db.exec(
            item.fix
                .suggested_sql
                .trim_start_matches("-- destructive: "),
        )
        .await;
    }
    let report = check(dir.path(), &db, &expected).await;
    assert!(report.in_sync(), "{:#?}", report.items);
}

#[tokio::test]
async fn snapshot_of_a_rich_mariadb_schema_checks_back_with_zero_drift() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    db.exec(SEED_SQL).await;
    db.exec(
        "CREATE TABLE kitchen_sink (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            tiny TINYINT(4) DEFAULT -1, small SMALLINT(6) UNSIGNED, med MEDIUMINT, flag BOOL DEFAULT FALSE,
            status ENUM('new','done','It''s') NOT NULL DEFAULT 'new', tags SET('a','b'),
            doc JSON, at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
            ts TIMESTAMP NULL DEFAULT NULL, d DATE DEFAULT '2026-01-01', y YEAR,
            price DECIMAL(12,4) NOT NULL DEFAULT 0.0000, ratio FLOAT, big DOUBLE DEFAULT 1.5,
            body LONGTEXT, note TEXT, raw BLOB, bin VARBINARY(16), code CHAR(3) DEFAULT 'abc',
            `Mixed Case` VARCHAR(10) DEFAULT 'x y',
            total DECIMAL(14,4) AS (price * 2) STORED
        );
        CREATE VIEW active_contacts AS SELECT id, email FROM contacts WHERE is_active;",
    )
    .await;
    let cfg = config_for(dir.path(), &db, "tables: {}\n");
    let snapshot = common::snapshot(&cfg, "app", &[]);
    write(dir.path(), "expected.yaml", &snapshot);
    for want in [
        "doc: {type: json",
        "flag: {type: boolean",
        "id: {type: bigint unsigned",
        "status: {type: \"enum('new','done','It''s')\"",
        "active_contacts:",
    ] {
        assert!(snapshot.contains(want), "{want:?} not in:\n{snapshot}");
    }
    let (code, stdout, stderr) = run(&["check", "--config.file", &cfg]);
    assert_eq!(
        code, 0,
        "snapshot did not check back clean:\n{stdout}\n{stderr}\n{snapshot}"
    );
}

#[tokio::test]
async fn sessions_are_read_only_with_a_statement_time_limit_and_a_dead_server_exits_2() {
    let Some(mut db) = MariaDb::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = config_for(dir.path(), &db, "tables: {}\n");
    let cfg = config::load(Path::new(&path)).unwrap();
    let Pool::MySql(handle) = pool_for(&cfg.databases[0]).unwrap() else {
        panic!("not a MySQL pool")
    };
    let version: String = sqlx::query_scalar("SELECT CAST(VERSION() AS CHAR)")
        .fetch_one(&handle.pool)
        .await
        .unwrap();
    let mariadb = version.to_lowercase().contains("mariadb");
    // MariaDB names it tx_read_only, MySQL 8 transaction_read_only; the limit differs in name and unit.
    let (read_only_var, limit_query, limit_want) = if mariadb {
        (
            "@@session.tx_read_only",
            "SELECT CAST(@@session.max_statement_time AS DOUBLE)",
            2.0,
        )
    } else {
        (
            "@@session.transaction_read_only",
            "SELECT CAST(@@session.max_execution_time AS DOUBLE)",
            2000.0,
        )
    };
    let read_only: i64 = sqlx::query_scalar(&format!("SELECT CAST({read_only_var} AS SIGNED)"))
        .fetch_one(&handle.pool)
        .await
        .unwrap();
    assert_eq!(read_only, 1);
    let limit: f64 = sqlx::query_scalar(limit_query)
        .fetch_one(&handle.pool)
        .await
        .unwrap();
    assert_eq!(limit, limit_want);
    let write = sqlx::query("CREATE TEMPORARY TABLE x (id int)")
        .execute(&handle.pool)
        .await;
    let insert = sqlx::query("CREATE TABLE nope (id int)")
        .execute(&handle.pool)
        .await;
    assert!(
        write.is_err() || insert.is_err(),
        "read-only session accepted a write"
    );
    let slow = sqlx::query("SELECT SLEEP(5)").fetch_one(&handle.pool).await;
    // MariaDB interrupts the statement: either an error or SLEEP's "interrupted" result of 1.
    match slow {
        Err(e) => assert!(
            e.to_string().contains("max_statement_time")
                || e.to_string().contains("maximum statement execution time"),
            "{e}"
        ),
        Ok(row) => {
            use sqlx::Row;
            assert_eq!(
                row.try_get::<i64, _>(0).unwrap(),
                1,
                "SLEEP(5) ran to the end"
            );
        }
    }
    handle.pool.close().await;

    if !db.stop_server() {
        return;
    }
    let (code, stdout, _) = run(&["check", "--config.file", &path]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("app: could not check"), "{stdout}");
}

#[tokio::test]
async fn daemon_exports_the_mariadb_incident_per_table() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    db.exec(SEED_SQL).await;
    // The daemon is given the mariadb:// spelling of the URL; the check must work the same.
    let mariadb_url = db.url.replacen("mysql://", "mariadb://", 1);
    write(dir.path(), "expected.yaml", SEED_EXPECTED);
    let cfg = write(
        dir.path(),
        "config.yaml",
        &format!("interval: 5s\ntimeout: 2s\ndatabases:\n  - name: app\n    url: {mariadb_url}\n    expected: {{file: expected.yaml}}\n"),
    );
    let daemon = common::Daemon::start(&["--config.file", &cfg]);
    let schema = db.url.rsplit('/').next().unwrap().to_string();
    let series = |table: &str| {
        format!(r#"schema_missing_columns{{database="app",schema="{schema}",table="{table}"}}"#)
    };
    daemon.wait_sample(&series("export_logs"), 1.0);
    let metrics = daemon.get("/metrics").1;
    assert_eq!(common::sample(&metrics, &series("contacts")), Some(0.0));
    for table in ["export_logs", "contacts"] {
        for attribute in ["type", "nullable", "default"] {
            let s = format!(
                r#"schema_mismatched_columns{{attribute="{attribute}",database="app",schema="{schema}",table="{table}"}}"#
            );
            assert_eq!(common::sample(&metrics, &s), Some(0.0), "{s}");
        }
    }
    let drift: serde_json::Value = serde_json::from_str(&daemon.get("/drift").1).unwrap();
    assert_eq!(drift["databases"][0]["engine"], "mysql");
}
