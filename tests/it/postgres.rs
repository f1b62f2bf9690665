//! Engine and whole-binary tests against real, throwaway PostgreSQL servers (see `common`): the
//! shared scenarios, then what is PostgreSQL's own (catalog privileges, session settings, the
//! daemon following a live server).

use crate::common::{self, run, sample, write, Daemon, Pool, Postgres};
use crate::scenarios;
use std::path::Path;

/// The incident as the compose stack's PostgreSQL starts with it (with Django's migration table,
/// which is ignored by default), and the expectation a person writes from the Django model.
const SEED_SQL: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/compose/initdb/01-incident.sql"
));
const SEED_EXPECTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/config/expected/app.yaml"
));

/// Writes a config for `pg` with `expected` and returns its path.
fn config_for(dir: &Path, pg: &Postgres, expected: &str, extra: &str) -> String {
    let top = "interval: 1s\ntimeout: 900ms\n";
    common::config_with_expected(dir, "app", &pg.url, expected, top, extra)
}

#[tokio::test]
async fn seed_incident_reports_exactly_file_size_and_the_sql_that_fixes_it() {
    scenarios::seed_incident::<Postgres>(SEED_SQL, SEED_EXPECTED).await;
}

#[tokio::test]
async fn every_drift_kind_is_found_and_every_suggested_fix_repairs_it() {
    scenarios::every_drift_kind_and_its_fixes::<Postgres>().await;
}

/// Catalog spellings, casts in defaults, identity, serial and generated columns, arrays, enums,
/// views, quoted names and a second schema, on top of the incident's tables.
const RICH_SCHEMA: &str = r#"CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE SCHEMA billing;
CREATE TABLE "MixedCase" ("Id" serial PRIMARY KEY, "Value" text DEFAULT 'It''s');
CREATE TABLE kitchen_sink (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    small smallserial,
    f4 real, f8 double precision, n numeric, n2 numeric(12), money numeric(12,4) DEFAULT 0,
    tags text[] DEFAULT '{}'::text[], grid integer[][],
    c char(3), bits bit varying(8),
    at timestamp(3) without time zone DEFAULT CURRENT_TIMESTAMP,
    at_tz timestamptz(0), t time, ttz timetz, d date DEFAULT CURRENT_DATE,
    iv interval, u uuid DEFAULT gen_random_uuid(), j json, b bytea, ip inet,
    m mood DEFAULT 'ok', neg integer DEFAULT -1,
    total numeric GENERATED ALWAYS AS (money * 2) STORED
);
CREATE TABLE billing.invoices (id bigserial PRIMARY KEY, amount numeric(10,2) NOT NULL);
CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW active_contacts AS SELECT id, email FROM contacts WHERE is_active;
CREATE MATERIALIZED VIEW contact_counts AS SELECT count(*) AS n FROM contacts;"#;

#[tokio::test]
async fn snapshot_of_a_rich_schema_checks_back_with_zero_drift() {
    let schema = [SEED_SQL, RICH_SCHEMA].concat();
    let extra = "    schemas: [public, billing]\n";
    let Some((pg, snapshot)) =
        scenarios::snapshot_checks_back_in_sync::<Postgres>(&schema, extra).await
    else {
        return;
    };
    let wants = [
        "billing.invoices:",
        "MixedCase:",
        "active_contacts:",
        "contact_counts:",
    ];
    common::assert_contains_all(&snapshot, &wants);
    assert!(
        !snapshot.contains("events_2026"),
        "partitions are not tables: {snapshot}"
    );

    // The same snapshot through --database-url (default schema public) only covers public.
    let (code, by_url, err) = run(&["snapshot", "--database-url", &pg.url]);
    assert_eq!(code, 0, "{err}");
    assert!(
        by_url.contains("kitchen_sink:") && !by_url.contains("billing"),
        "{by_url}"
    );
    // --schema picks the namespaces; the first one is written unqualified.
    let (code, billing, err) = run(&["snapshot", "--database-url", &pg.url, "--schema", "billing"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        billing.contains("\n  invoices:\n") && !billing.contains("kitchen_sink"),
        "{billing}"
    );
}

/// `information_schema` hides columns a role cannot access and would report them missing;
/// reading `pg_catalog` does not, so a least-privileged exporter role sees no false drift.
#[tokio::test]
async fn a_role_without_table_privileges_sees_every_column() {
    let Some((pg, dir)) = common::seeded::<Postgres>(SEED_SQL).await else {
        return;
    };
    pg.exec("ALTER TABLE export_logs ADD COLUMN file_size bigint; CREATE ROLE watcher LOGIN; REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;").await;
    let mut url = url::Url::parse(&pg.url).unwrap();
    url.set_username("watcher").unwrap();
    let cfg = common::config_with_expected(dir.path(), "app", url.as_str(), SEED_EXPECTED, "", "");
    common::assert_check(&cfg, &[], 0, "app: in sync");
}

#[tokio::test]
async fn sessions_are_read_only_and_time_bounded() {
    let Some(pg) = Postgres::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = config_for(dir.path(), &pg, "tables: {}\n", "");
    let Pool::Postgres(pool) = common::exporter_pool(&path) else {
        panic!("not a PostgreSQL pool")
    };
    let show = |setting: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(&format!("SHOW {setting}"))
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(show("default_transaction_read_only").await, "on");
    assert_eq!(show("statement_timeout").await, "900ms");
    assert_eq!(show("lock_timeout").await, "900ms");
    let write = sqlx::query("CREATE TABLE nope (id int)")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(write.to_string().contains("read-only"), "{write}");
    let slow = sqlx::query("SELECT pg_sleep(5)")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(slow.to_string().contains("statement timeout"), "{slow}");
}

/// A password from `password_file` is the password byte for byte: `%41` is not `A` and `%zz` is no
/// encoding error. The role must log in by scram-sha-256 (the harness's pg_hba line for members of
/// `password_login`), which the wrong password shows.
#[tokio::test]
async fn a_password_file_with_percent_signs_logs_in_as_written() {
    let Some((pg, dir)) = common::seeded::<Postgres>(SEED_SQL).await else {
        return;
    };
    let role = format!("se_pw_{}", std::process::id());
    pg.exec(&format!(
        "DO $$ BEGIN CREATE ROLE password_login NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         DROP ROLE IF EXISTS {role};
         CREATE ROLE {role} LOGIN PASSWORD 'p%41ss%zz' IN ROLE password_login;"
    ))
    .await;
    let url = common::with_user(&pg.url, &role);
    let top = "interval: 1s\ntimeout: 900ms\n";
    let extra = "    password_file: pw\n";
    let cfg = common::config_with_expected(dir.path(), "app", &url, SEED_EXPECTED, top, extra);
    write(dir.path(), "pw", "pAss%zz\n");
    common::assert_check(
        &cfg,
        &[],
        2,
        "app: could not check: cannot connect: authentication failed: password authentication failed",
    );
    write(dir.path(), "pw", "p%41ss%zz\n");
    common::assert_check(&cfg, &[], 1, "missing column: public.export_logs.file_size");
    // The harness's server has no TLS: asking for it is a TLS failure, said as one.
    let tls = format!("{url}?sslmode=require");
    let cfg = common::config_with_expected(dir.path(), "app", &tls, SEED_EXPECTED, top, extra);
    common::assert_check(&cfg, &[], 2, "app: could not check: cannot connect: TLS:");
    pg.exec(&format!("DROP ROLE {role}")).await;
}

#[tokio::test]
async fn check_exits_1_on_drift_0_when_fixed_and_2_when_the_server_is_down() {
    let Some((mut pg, dir)) = common::seeded::<Postgres>(SEED_SQL).await else {
        return;
    };
    let secret = "hunter2-never-shown";
    write(dir.path(), "pw", secret);
    let cfg = config_for(dir.path(), &pg, SEED_EXPECTED, "    password_file: pw\n");

    let stdout = common::assert_check(
        &cfg,
        &[],
        1,
        "missing column: public.export_logs.file_size (expected: bigint NULL",
    );
    assert!(
        stdout
            .contains(r#"ALTER TABLE "public"."export_logs" ADD COLUMN "file_size" bigint NULL;"#),
        "{stdout}"
    );

    let (code, json, _) = run(&["check", "--config.file", &cfg, "--output=json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["databases"][0]["drift"][0]["column"], "file_size");
    assert_eq!(doc["databases"][0]["status"], "drift");

    pg.exec("ALTER TABLE export_logs ADD COLUMN file_size bigint")
        .await;
    common::assert_check(&cfg, &[], 0, "app: in sync");

    if !pg.stop_server() {
        return;
    }
    let (code, stdout, stderr) = run(&["check", "--config.file", &cfg]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stdout.contains("app: could not check: cannot connect: connection refused by 127.0.0.1:"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(secret) && !stderr.contains(secret),
        "{stdout}{stderr}"
    );
}

/// The daemon end to end: drift shows, a fixed column clears within an interval, a table that
/// appears or disappears is reported, and a dead server keeps the last known drift while
/// `schema_check_success` drops to 0.
#[tokio::test]
async fn daemon_follows_the_live_schema_and_survives_the_server_going_down() {
    let Some((mut pg, dir)) = common::seeded::<Postgres>(SEED_SQL).await else {
        return;
    };
    let cfg = config_for(dir.path(), &pg, SEED_EXPECTED, "");
    let daemon = Daemon::serve(&cfg);
    let missing = r#"schema_missing_columns{database="app",schema="public",table="export_logs"}"#;
    daemon.wait_sample(missing, 1.0);
    let metrics = daemon.get("/metrics").1;
    assert_eq!(
        sample(
            &metrics,
            r#"schema_missing_columns{database="app",schema="public",table="contacts"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"schema_column_drift{column="file_size",database="app",drift="missing",schema="public",table="export_logs"}"#
        ),
        Some(1.0)
    );
    for attribute in ["type", "nullable", "default"] {
        for table in ["export_logs", "contacts"] {
            let s = format!(
                r#"schema_mismatched_columns{{attribute="{attribute}",database="app",schema="public",table="{table}"}}"#
            );
            // In-sync tables cost one series: no zero per attribute.
            assert_eq!(sample(&metrics, &s), None, "{s}");
        }
    }

    pg.exec("ALTER TABLE export_logs ADD COLUMN file_size bigint")
        .await;
    daemon.wait_sample(missing, 0.0);
    daemon.wait_sample(r#"schema_in_sync{database="app"}"#, 1.0);
    assert!(
        !daemon.get("/metrics").1.contains("schema_column_drift{"),
        "fixed drift must leave no series"
    );

    pg.exec("CREATE TABLE stray (id int); DROP TABLE contacts;")
        .await;
    daemon.wait_sample(
        r#"schema_unexpected_tables{database="app",schema="public"}"#,
        1.0,
    );
    daemon.wait_sample(
        r#"schema_missing_tables{database="app",schema="public"}"#,
        1.0,
    );
    assert_eq!(
        daemon.sample(r#"schema_missing_columns{database="app",schema="public",table="contacts"}"#),
        Some(5.0)
    );

    if !pg.stop_server() {
        return;
    }
    daemon.wait_sample(r#"schema_check_success{database="app"}"#, 0.0);
    let metrics = daemon.get("/metrics").1;
    assert_eq!(
        sample(
            &metrics,
            r#"schema_missing_tables{database="app",schema="public"}"#
        ),
        Some(1.0),
        "last known drift must stay"
    );
    let drift: serde_json::Value = serde_json::from_str(&daemon.get("/drift").1).unwrap();
    assert_eq!(drift["databases"][0]["status"], "check_failed");
    assert!(
        drift["databases"][0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{drift}"
    );
    assert_eq!(daemon.get("/-/healthy").0, 200);
}

/// Backend pids of the sessions of others on the test's database (not the one asking).
async fn sessions_on(pg: &Postgres) -> Vec<i32> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    pids
}

/// Waits (bounded) until the sessions on `pg` satisfy `done`, and returns them.
async fn wait_sessions(pg: &Postgres, what: &str, done: impl Fn(&[i32]) -> bool) -> Vec<i32> {
    let deadline = std::time::Instant::now() + common::WAIT;
    loop {
        let pids = sessions_on(pg).await;
        if done(&pids) {
            return pids;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: sessions {pids:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// With a one-minute interval the exporter holds no session between checks (`keep_connections:
/// auto`); with `keep_connections: always` the same session serves check after check.
#[tokio::test]
async fn no_session_is_held_between_checks_unless_asked() {
    let Some((pg, dir)) = common::seeded::<Postgres>(SEED_SQL).await else {
        return;
    };
    let top = "interval: 1m\ntimeout: 5s\n";
    let cfg = common::config_with_expected(dir.path(), "app", &pg.url, SEED_EXPECTED, top, "");
    let daemon = Daemon::serve(&cfg);
    daemon.wait_sample(r#"schema_checks_total{database="app"}"#, 1.0);
    // A closed session leaves pg_stat_activity once its backend has exited: soon, not at once.
    wait_sessions(&pg, "auto, 1m interval", |p| p.is_empty()).await;
    drop(daemon);

    let top = "interval: 1s\ntimeout: 900ms\nkeep_connections: always\n";
    let cfg = common::config_with_expected(dir.path(), "app", &pg.url, SEED_EXPECTED, top, "");
    let daemon = Daemon::serve(&cfg);
    // At a 1 s interval a value can be published for less time than a poll takes (publishes are
    // spaced and coalesce): wait for counts reached, not for exact ones.
    let checks = r#"schema_checks_total{database="app"}"#;
    let at_least = |n: f64| {
        common::wait_for(common::WAIT, &format!("{checks} >= {n}"), || {
            daemon.sample(checks).filter(|v| *v >= n)
        })
    };
    let done = at_least(1.0);
    let first = wait_sessions(&pg, "always", |p| !p.is_empty()).await;
    at_least(done + 2.0);
    let later = sessions_on(&pg).await;
    assert!(
        first.iter().any(|p| later.contains(p)),
        "no session outlived two checks: {first:?} then {later:?}"
    );
}
