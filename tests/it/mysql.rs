//! Engine and binary tests against real, throwaway MariaDB servers (or `SCHEMA_EXPORTER_TEST_MYSQL_URL`):
//! the shared scenarios in MySQL spellings, then the sessions and the daemon.

use crate::common::{self, DriftKind, EngineDb, MariaDb, Pool};
use crate::scenarios;
use std::path::Path;

/// The incident in MySQL spellings, and the expectation as a person writes it for MySQL.
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

#[tokio::test]
async fn seed_incident_reports_exactly_file_size_and_the_sql_that_fixes_it() {
    scenarios::seed_incident::<MariaDb>(SEED_SQL, SEED_EXPECTED).await;
}

#[tokio::test]
async fn every_drift_kind_is_found_and_every_suggested_fix_repairs_it() {
    let Some(report) = scenarios::every_drift_kind_and_its_fixes::<MariaDb>().await else {
        return;
    };
    // MODIFY restates the whole column: the new type with the attributes it should keep.
    let modify = report
        .items
        .iter()
        .find(|i| i.kind == DriftKind::TypeMismatch)
        .unwrap();
    assert!(
        modify
            .fix
            .suggested_sql
            .ends_with("`.`t` MODIFY COLUMN `a` int NOT NULL DEFAULT 0;"),
        "{}",
        modify.fix.suggested_sql
    );
}

/// MySQL's spellings: display widths, unsigned, bool, enum and set with quotes, json, fractional
/// seconds with ON UPDATE, generated columns, quoted names with spaces, a view.
const RICH_SCHEMA: &str = "CREATE TABLE kitchen_sink (
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
CREATE VIEW active_contacts AS SELECT id, email FROM contacts WHERE is_active;";

#[tokio::test]
async fn snapshot_of_a_rich_schema_checks_back_with_zero_drift() {
    let schema = [SEED_SQL, RICH_SCHEMA].concat();
    let Some((_, snapshot)) = scenarios::snapshot_checks_back_in_sync::<MariaDb>(&schema, "").await
    else {
        return;
    };
    let wants = [
        "doc: {type: json",
        "flag: {type: boolean",
        "id: {type: bigint unsigned",
        "status: {type: \"enum('new','done','It''s')\"",
        "active_contacts:",
    ];
    common::assert_contains_all(&snapshot, &wants);
}

/// A password from `password_file` is the password byte for byte: `%41` is not `A` and `%zz` is no
/// encoding error; the wrong one is refused, so the password is really checked.
#[tokio::test]
async fn a_password_file_with_percent_signs_logs_in_as_written() {
    let Some((db, dir)) = common::seeded::<MariaDb>(SEED_SQL).await else {
        return;
    };
    let database = url::Url::parse(&db.url).unwrap().path()[1..].to_string();
    let user = format!("se_pw_{}", std::process::id());
    db.exec(&format!(
        "DROP USER IF EXISTS '{user}'@'%';
         CREATE USER '{user}'@'%' IDENTIFIED BY 'p%41ss%zz';
         GRANT SELECT ON {database}.* TO '{user}'@'%';"
    ))
    .await;
    let url = common::with_user(&db.url, &user);
    let top = "interval: 5s\ntimeout: 2s\n";
    let extra = "    password_file: pw\n";
    let cfg = common::config_with_expected(dir.path(), "app", &url, SEED_EXPECTED, top, extra);
    common::write(dir.path(), "pw", "pAss%zz\n");
    common::assert_check(
        &cfg,
        &[],
        2,
        "app: could not check: cannot connect: authentication failed: Access denied",
    );
    common::write(dir.path(), "pw", "p%41ss%zz\n");
    let missing = format!("missing column: {database}.export_logs.file_size");
    common::assert_check(&cfg, &[], 1, &missing);
    db.exec(&format!("DROP USER '{user}'@'%'")).await;
}

#[tokio::test]
async fn sessions_are_read_only_with_a_statement_time_limit_and_a_dead_server_exits_2() {
    let Some(mut db) = MariaDb::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = config_for(dir.path(), &db, "tables: {}\n");
    let Pool::MySql(handle) = common::exporter_pool(&path) else {
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
    // Real writes: a row into a table the test's own session made, and a new table. (Not a
    // TEMPORARY table: MySQL and MariaDB allow writing those in read-only sessions, so a refusal
    // there proves nothing.) Each must be refused on its own.
    db.exec("CREATE TABLE kept (id int)").await;
    for write in ["INSERT INTO kept VALUES (1)", "CREATE TABLE nope (id int)"] {
        let refused = sqlx::query(write)
            .execute(&handle.pool)
            .await
            .expect_err(&format!("a read-only session accepted {write}"));
        assert!(
            refused.to_string().contains("READ ONLY transaction"),
            "{write}: {refused}"
        );
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kept")
        .fetch_one(&db.pool().await)
        .await
        .unwrap();
    assert_eq!(rows, 0, "the refused INSERT left a row");
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
    common::assert_check(
        &path,
        &[],
        2,
        "app: could not check: cannot connect: connection refused by 127.0.0.1:",
    );
}

#[tokio::test]
async fn daemon_exports_the_mariadb_incident_per_table() {
    let Some((db, dir)) = common::seeded::<MariaDb>(SEED_SQL).await else {
        return;
    };
    // The daemon is given the mariadb:// spelling of the URL; the check must work the same.
    let mariadb_url = db.url.replacen("mysql://", "mariadb://", 1);
    let top = "interval: 5s\ntimeout: 2s\n";
    let cfg = common::config_with_expected(dir.path(), "app", &mariadb_url, SEED_EXPECTED, top, "");
    let daemon = common::Daemon::serve(&cfg);
    let schema = db.schema();
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
            // In-sync tables cost one series: no zero per attribute.
            assert_eq!(common::sample(&metrics, &s), None, "{s}");
        }
    }
    let drift: serde_json::Value = serde_json::from_str(&daemon.get("/drift").1).unwrap();
    assert_eq!(drift["databases"][0]["engine"], "mysql");
}
