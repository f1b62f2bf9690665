//! Schema-per-tenant databases (`schemas: [{match: PATTERN}]`) against real servers: every
//! matching schema compared with one template, counted in aggregate gauges with per-tenant detail
//! only where it drifted, and tenant schemas that appear or disappear reported as such.

use crate::common::{self, run, sample, wait_for, Daemon, EngineDb, MariaDb, Postgres, WAIT};
use serde_json::Value;

/// The template every tenant should follow, and one table of the shared `public` schema.
const EXPECTED: &str = "tables:
  orders:
    columns:
      id: {type: bigint, nullable: false}
      total: numeric(10,2)
  public.countries:
    columns:
      code: text
";

const TENANTS_SQL: &str = "CREATE TABLE countries (code text);
CREATE SCHEMA tenant_1;
CREATE TABLE tenant_1.orders (id bigint NOT NULL, total numeric(10,2));
CREATE SCHEMA tenant_2;
CREATE TABLE tenant_2.orders (id bigint NOT NULL);
CREATE SCHEMA tenant_3;
CREATE TABLE tenant_3.orders (id bigint NOT NULL, total numeric(10,2));
CREATE TABLE tenant_3.scratch (id int);
CREATE SCHEMA other;
CREATE TABLE other.orders (id int);";

fn series(name: &str, labels: &str) -> String {
    format!("{name}{{database=\"app\"{labels}}}")
}

/// `schema_tenant_schema_changes_total` of `change` (labels in the exposition's sorted order).
fn changes(change: &str) -> String {
    format!("schema_tenant_schema_changes_total{{change=\"{change}\",database=\"app\"}}")
}

#[tokio::test]
async fn postgres_tenant_schemas_follow_one_template_and_come_and_go() {
    let Some((pg, dir)) = common::seeded::<Postgres>(TENANTS_SQL).await else {
        return;
    };
    let cfg = common::config_with_expected(
        dir.path(),
        "app",
        &pg.url,
        EXPECTED,
        "interval: 1s\ntimeout: 900ms\n",
        "    schemas: [public, {match: \"tenant_*\"}]\n",
    );

    // One-shot: the text report sums the tenants up and names the drifted ones.
    let (code, stdout, stderr) = run(&["check", "--config.file", &cfg]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    common::assert_contains_all(
        &stdout,
        &[
            "2 of 3 tenant schemas drifted (tenant_2, tenant_3)",
            "missing column: tenant_2.orders.total",
            "unexpected table: tenant_3.scratch",
        ],
    );
    assert!(!stdout.contains("other."), "not a tenant: {stdout}");

    // A snapshot of a tenant database names the tenant whose tables become the template.
    let (code, _, stderr) = run(&["snapshot", "--config.file", &cfg, "--database", "app"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("pass --schema=TENANT"), "{stderr}");
    let (code, snapshot, stderr) = run(&[
        "snapshot",
        "--config.file",
        &cfg,
        "--database",
        "app",
        "--schema",
        "tenant_1",
        "--schema",
        "public",
    ]);
    assert_eq!(code, 0, "{stderr}");
    common::assert_contains_all(&snapshot, &["\n  orders:", "\n  public.countries:"]);
    assert!(!snapshot.contains("tenant_1.orders"), "{snapshot}");

    let daemon = Daemon::serve(&cfg);
    daemon.wait_sample(&series("schema_tenant_schemas", ""), 3.0);
    let metrics = daemon.get("/metrics").1;
    let at = |s: &str| sample(&metrics, s);
    assert_eq!(at(&series("schema_tenant_schemas_drifted", "")), Some(2.0));
    // Two named tables per tenant plus the shared one.
    assert_eq!(at(&series("schema_expected_tables", "")), Some(4.0));
    let tenant_2 = ",schema=\"tenant_2\",table=\"orders\"";
    assert_eq!(at(&series("schema_missing_columns", tenant_2)), Some(1.0));
    assert_eq!(
        at(&series("schema_unexpected_tables", ",schema=\"tenant_3\"")),
        Some(1.0)
    );
    // The shared schema is published as always; an in-sync tenant costs no series of its own.
    let countries = ",schema=\"public\",table=\"countries\"";
    assert_eq!(at(&series("schema_missing_columns", countries)), Some(0.0));
    assert!(!metrics.contains("schema=\"tenant_1\""), "{metrics}");
    assert!(!metrics.contains("schema=\"other\""), "{metrics}");
    for change in ["appeared", "disappeared"] {
        let s = changes(change);
        assert_eq!(at(&s), Some(0.0), "the first check is the baseline: {s}");
    }
    let drift: Value = serde_json::from_str(&daemon.get("/drift").1).unwrap();
    let tenants = &drift["databases"][0]["tenants"];
    assert_eq!(tenants["matched"], 3, "{drift}");
    assert_eq!(
        tenants["drifted"],
        serde_json::json!(["tenant_2", "tenant_3"])
    );

    // A tenant is onboarded (its schema still empty) and another one leaves.
    pg.exec("CREATE SCHEMA tenant_4; DROP SCHEMA tenant_3 CASCADE;")
        .await;
    daemon.wait_sample(&changes("appeared"), 1.0);
    let metrics = daemon.get("/metrics").1;
    let at = |s: &str| sample(&metrics, s);
    assert_eq!(at(&changes("disappeared")), Some(1.0));
    assert_eq!(at(&series("schema_tenant_schemas", "")), Some(3.0));
    assert_eq!(at(&series("schema_tenant_schemas_drifted", "")), Some(2.0));
    // The empty schema lacks every template table; the one that left has no series any more.
    assert_eq!(
        at(&series("schema_missing_tables", ",schema=\"tenant_4\"")),
        Some(1.0)
    );
    assert!(!metrics.contains("schema=\"tenant_3\""), "{metrics}");
    // /drift names both changes for the check that saw them.
    let seen = wait_for(WAIT, "/drift naming the tenant changes", || {
        let drift: Value = serde_json::from_str(&daemon.get("/drift").1).ok()?;
        let t = drift["databases"][0]["tenants"].clone();
        (t["appeared"] == serde_json::json!(["tenant_4"])).then_some(t)
    });
    assert_eq!(
        seen["disappeared"],
        serde_json::json!(["tenant_3"]),
        "{seen}"
    );
    assert_eq!(seen["drifted"], serde_json::json!(["tenant_2", "tenant_4"]));
}

#[tokio::test]
async fn mariadb_tenant_databases_include_empty_ones() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    let prefix = db.schema();
    let tenant = |n: u8| format!("{prefix}_t{n}");
    db.exec(&format!(
        "CREATE DATABASE {t1}; CREATE TABLE {t1}.orders (id bigint NOT NULL, total decimal(10,2));
         CREATE DATABASE {t2}; CREATE TABLE {t2}.orders (id bigint NOT NULL);
         CREATE DATABASE {t3};",
        t1 = tenant(1),
        t2 = tenant(2),
        t3 = tenant(3),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let expected = "tables:
  orders:
    columns:
      id: {type: bigint, nullable: false}
      total: decimal(10,2)
";
    let cfg = common::config_with_expected(
        dir.path(),
        "app",
        &db.url,
        expected,
        "",
        &format!("    schemas: [{{match: \"{prefix}_t*\"}}]\n"),
    );
    let (code, stdout, stderr) = run(&["check", "--config.file", &cfg, "--output=json"]);
    // On a case-sensitive server, a tenant whose name differs only in case cannot be told apart
    // from another: the check fails rather than merging their tables.
    let pool = db.pool().await;
    let case_sensitive: u64 = sqlx::query_scalar("SELECT @@lower_case_table_names")
        .fetch_one(&pool)
        .await
        .unwrap();
    let twin = format!("{prefix}_T1");
    let collision = if case_sensitive == 0 {
        db.exec(&format!("CREATE DATABASE {twin}")).await;
        let seen = run(&["check", "--config.file", &cfg]);
        db.exec(&format!("DROP DATABASE {twin}")).await;
        Some(seen)
    } else {
        None
    };
    // Tenant databases are the server's, not the test database's: drop them whatever happened.
    db.exec(&format!(
        "DROP DATABASE {}; DROP DATABASE {}; DROP DATABASE {};",
        tenant(1),
        tenant(2),
        tenant(3)
    ))
    .await;
    if let Some((code, stdout, stderr)) = collision {
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(stdout.contains("differ only in case"), "{stdout}");
    }
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let db_report = &report["databases"][0];
    assert_eq!(db_report["tenants"]["matched"], 3, "{stdout}");
    assert_eq!(
        db_report["tenants"]["drifted"],
        serde_json::json!([tenant(2), tenant(3)])
    );
    let items: Vec<(String, String, String)> = db_report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["schema"].as_str().unwrap().to_string(),
                i["table"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("missing_column".into(), tenant(2), "orders".into()),
            ("missing_table".into(), tenant(3), "orders".into()),
        ],
        "{stdout}"
    );
}

/// An expectation without unqualified tables gives the tenants an empty template, which would make
/// every tenant table "unexpected": `validate` refuses it offline, naming the file.
#[test]
fn an_empty_tenant_template_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config_with_expected(
        dir.path(),
        "saas",
        "postgres://exporter@127.0.0.1:1/saas",
        "tables:\n  public.countries:\n    columns:\n      code: text\n",
        "",
        "    schemas: [public, {match: \"tenant_*\"}]\n",
    );
    let (code, stdout, stderr) = run(&["validate", "--config.file", &cfg]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    common::assert_contains_all(
        &stderr,
        &[
            "database \"saas\"",
            "expected.yaml",
            "template of the tenant schemas (tenant_*) is empty",
        ],
    );
}
