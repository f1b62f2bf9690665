//! Migration ledgers on real databases: the founding incident with a real Django project on
//! SQLite, PostgreSQL and MariaDB (migrate, then the column dropped behind Django's back), and
//! the ledger tables of Flyway, sqlx, golang-migrate and dbmate as those tools create them.

use std::path::PathBuf;
use std::process::Command;

use schema_exporter::check::DriftReport;
use schema_exporter::diff::DriftKind;

use crate::common::{
    self, check_config, try_check_config, write, EngineDb, MariaDb, Postgres, Sqlite,
};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/django");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/django-sqlmigrate");

/// A Python that imports Django and the driver `module` (psycopg2, pymysql), or `None` after
/// saying so (fatal under CI, which installs them: see .ci/run).
fn python(module: &str) -> Option<PathBuf> {
    let python = std::env::var_os("SCHEMA_EXPORTER_TEST_PYTHON")
        .map(PathBuf::from)
        .or_else(|| common::find_program(&["python3"]))?;
    let ok = Command::new(&python)
        .args(["-c", &format!("import django, {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::missing(&format!(
            "{} cannot import django and {module} (pip install django psycopg2-binary pymysql)",
            python.display()
        ));
        return None;
    }
    Some(python)
}

/// A copy of the Django test project, run against `url`.
struct Project {
    python: PathBuf,
    dir: tempfile::TempDir,
    url: String,
    /// The Django apps installed (settings.py reads DJANGO_APPS).
    apps: &'static str,
}

impl Project {
    fn new(python: PathBuf, url: &str) -> Project {
        Project::with_apps(python, url, "exports")
    }

    fn with_apps(python: PathBuf, url: &str, apps: &'static str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let copy = Command::new("cp")
            .args(["-r", FIXTURE, dir.path().join("project").to_str().unwrap()])
            .status()
            .unwrap();
        assert!(copy.success());
        Project {
            python,
            dir,
            url: url.to_string(),
            apps,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `python ARGS` in the project's environment; panics with its output on failure.
    fn python(&self, args: &[&str]) -> String {
        let out = Command::new(&self.python)
            .args(args)
            .env("DATABASE_URL", &self.url)
            .env("DJANGO_APPS", self.apps)
            .env("DJANGO_SETTINGS_MODULE", "settings")
            .env("PYTHONPATH", self.path("project"))
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "python {args:?}: {text}");
        text
    }

    fn manage(&self, args: &[&str]) -> String {
        self.python(&[&["-m", "django"], args].concat())
    }

    /// The SQL of every migration, as the shipped script writes it.
    fn sqlmigrate(&self) {
        let out = self.path("sql");
        self.python(&[SCRIPT, out.to_str().unwrap()]);
    }

    fn add_later_migration(&self) {
        std::fs::copy(
            self.path("project/later/0002_exportlog_checksum.py"),
            self.path("project/exports/migrations/0002_exportlog_checksum.py"),
        )
        .unwrap();
    }

    fn config(&self, url: &str) -> String {
        write(
            self.dir.path(),
            "config.yaml",
            &format!(
                "databases:\n  - name: app\n    url: {url}\n    expected: {{sql: [sql], ledger: django}}\n"
            ),
        )
    }
}

fn missing_columns(report: &DriftReport) -> Vec<(String, Option<String>, Option<String>)> {
    report
        .items
        .iter()
        .filter(|i| i.kind == DriftKind::MissingColumn)
        .map(|i| {
            (
                i.column.clone().unwrap_or_default(),
                i.migration.clone(),
                i.migration_applied_at.clone(),
            )
        })
        .collect()
}

/// The founding incident end to end: Django applies exports.0001_initial, `file_size` is dropped
/// behind its back, and the exporter names the column and the migration recorded as applied.
async fn founding_incident<D: EngineDb>(driver: &str) {
    let Some(python) = python(driver) else {
        return;
    };
    let Some(db) = D::start().await else {
        return;
    };
    let project = Project::new(python, db.url());
    project.manage(&["migrate", "--noinput"]);
    project.sqlmigrate();
    db.exec("ALTER TABLE export_logs DROP COLUMN file_size")
        .await;
    let cfg = project.config(db.url());

    let report = check_config(&cfg).await;
    let missing = missing_columns(&report);
    assert_eq!(missing.len(), 1, "{:#?}", report.items);
    let (column, migration, applied_at) = &missing[0];
    assert_eq!(column, "file_size");
    assert_eq!(migration.as_deref(), Some("exports.0001_initial"));
    assert!(
        applied_at.as_deref().is_some_and(|t| t.ends_with('Z')),
        "{applied_at:?}"
    );
    assert_eq!(
        report.items.len(),
        1,
        "only the dropped column: {:#?}",
        report.items
    );
    let ledger = report.ledger.as_ref().expect("a ledger report");
    assert_eq!((ledger.applied, ledger.pending.len()), (1, 0));

    // The series the page-at-once alert reads, from the running daemon.
    let daemon = common::Daemon::serve(&cfg);
    let series = format!(
        "schema_migration_drift{{column=\"file_size\",database=\"app\",drift=\"missing\",migration=\"exports.0001_initial\",schema=\"{}\",table=\"export_logs\"}}",
        db.schema()
    );
    daemon.wait_sample(&series, 1.0);
    daemon.wait_sample("schema_migrations_pending{database=\"app\"}", 0.0);
    drop(daemon);

    // A new migration not applied yet: pending, and what it adds is not drift.
    project.add_later_migration();
    project.sqlmigrate();
    let report = check_config(&cfg).await;
    let ledger = report.ledger.as_ref().unwrap();
    assert_eq!(ledger.pending, ["exports.0002_exportlog_checksum"]);
    assert_eq!(missing_columns(&report).len(), 1, "{:#?}", report.items);

    // Recorded as applied without running: its column is missing, and named by it.
    project.manage(&["migrate", "--fake", "exports", "0002"]);
    let report = check_config(&cfg).await;
    let mut missing = missing_columns(&report);
    missing.sort();
    assert_eq!(
        missing
            .iter()
            .map(|(c, m, _)| (c.as_str(), m.as_deref().unwrap_or("")))
            .collect::<Vec<_>>(),
        [
            ("checksum", "exports.0002_exportlog_checksum"),
            ("file_size", "exports.0001_initial")
        ]
    );
    assert!(report.ledger.as_ref().unwrap().pending.is_empty());

    // A column added by hand is no migration's doing: reported, but never blamed on one.
    db.exec("ALTER TABLE export_logs ADD COLUMN hand_added varchar(10)")
        .await;
    let report = check_config(&cfg).await;
    let hand = report
        .items
        .iter()
        .find(|i| i.kind == DriftKind::UnexpectedColumn)
        .unwrap_or_else(|| panic!("{:#?}", report.items));
    assert_eq!(hand.column.as_deref(), Some("hand_added"));
    assert_eq!(hand.migration, None, "{hand:#?}");
}

#[tokio::test]
async fn sqlite_django_founding_incident_names_the_migration() {
    founding_incident::<Sqlite>("sqlite3").await;
}

#[tokio::test]
async fn postgres_django_founding_incident_names_the_migration() {
    founding_incident::<Postgres>("psycopg2").await;
}

#[tokio::test]
async fn mariadb_django_founding_incident_names_the_migration() {
    founding_incident::<MariaDb>("pymysql").await;
}

/// Keys and indexes as Django makes them (`unique=True`, `db_index=True`, a foreign key's index,
/// `Meta.indexes` with an expression, a conditional `UniqueConstraint`, a SQLite table rebuild
/// and a `RemoveIndex`): what `sqlmigrate` printed equals what `migrate` built, with every
/// auto-generated name, its checks too (a named `CheckConstraint` and the unnamed check of a
/// `PositiveIntegerField`). Then an index, a unique constraint and the checks dropped behind
/// Django's back are exactly the drift, and the suggested SQL puts them back.
async fn django_keys<D: EngineDb>(
    driver: &str,
    drop_index: &str,
    drop_unique: &str,
    unique_table: &str,
    drop_checks: &[&str],
) {
    let Some(python) = python(driver) else {
        return;
    };
    let Some(db) = D::start().await else {
        return;
    };
    let project = Project::with_apps(python, db.url(), "catalog");
    project.manage(&["migrate", "--noinput"]);
    project.sqlmigrate();
    let cfg = project.config(db.url());
    let report = check_config(&cfg).await;
    assert!(report.in_sync(), "{:#?}", report.items);
    assert_eq!(
        report.expected_tables.len(),
        2,
        "{:#?}",
        report.expected_tables
    );

    db.exec(drop_index).await;
    db.exec(drop_unique).await;
    for sql in drop_checks {
        db.exec(sql).await;
    }
    let report = check_config(&cfg).await;
    let mut found: Vec<(DriftKind, &str)> = report
        .items
        .iter()
        .map(|i| (i.kind, i.table.as_str()))
        .collect();
    found.sort();
    let mut want = vec![
        (DriftKind::MissingIndex, "catalog_book"),
        (DriftKind::MissingUniqueConstraint, unique_table),
    ];
    want.extend(
        drop_checks
            .iter()
            .map(|_| (DriftKind::MissingCheckConstraint, "catalog_book")),
    );
    want.sort();
    assert_eq!(found, want, "{:#?}", report.items);
    // The suggested SQL puts both back: in sync again.
    for item in &report.items {
        db.exec(&item.fix.suggested_sql).await;
    }
    let report = check_config(&cfg).await;
    assert!(report.in_sync(), "{:#?}", report.items);
}

#[tokio::test]
async fn sqlite_django_keys_and_indexes_are_in_sync_and_their_drift_is_exact() {
    django_keys::<Sqlite>(
        "sqlite3",
        "DROP INDEX book_pages",
        "DROP INDEX book_author_isbn",
        "catalog_book",
        // SQLite drops a check only by rebuilding the table; its zero drift above compared them.
        &[],
    )
    .await;
}

#[tokio::test]
async fn postgres_django_keys_and_indexes_are_in_sync_and_their_drift_is_exact() {
    django_keys::<Postgres>(
        "psycopg2",
        "DROP INDEX book_pages",
        "DROP INDEX book_author_isbn",
        "catalog_book",
        &[
            "ALTER TABLE catalog_book DROP CONSTRAINT book_pages_positive",
            "ALTER TABLE catalog_book DROP CONSTRAINT catalog_book_stock_check",
        ],
    )
    .await;
}

#[tokio::test]
async fn mariadb_django_keys_and_indexes_are_in_sync_and_their_drift_is_exact() {
    // MariaDB has no partial indexes (Django leaves the conditional constraint out there):
    // the unique key of `unique=True` goes instead.
    django_keys::<MariaDb>(
        "pymysql",
        "DROP INDEX book_pages ON catalog_book",
        "ALTER TABLE catalog_author DROP INDEX name",
        "catalog_author",
        &[
            "ALTER TABLE catalog_book DROP CONSTRAINT book_pages_positive",
            // A column's own check goes with the column's definition on MariaDB.
            "ALTER TABLE catalog_book MODIFY stock integer UNSIGNED NOT NULL",
        ],
    )
    .await;
}

/// A migration directory of `files` (name, SQL) in a temp dir, and a config reading it with
/// `ledger` from `url`.
fn tool_setup(url: &str, ledger: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    for (name, sql) in files {
        std::fs::write(migrations.join(name), sql).unwrap();
    }
    let cfg = write(
        dir.path(),
        "config.yaml",
        &format!("databases:\n  - name: app\n    url: {url}\n    expected: {{sql: [migrations], ledger: {ledger}}}\n"),
    );
    (dir, cfg)
}

fn sha384_hex(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA384, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const USERS: &str = "CREATE TABLE users (id bigint NOT NULL, email varchar(200));\n";
const EMAIL_VERIFIED: &str = "ALTER TABLE users ADD COLUMN verified boolean;\n";
const ORDERS: &str = "CREATE TABLE orders (id bigint NOT NULL);\n";

/// Flyway's, sqlx's, golang-migrate's and dbmate's ledgers, created as each tool creates them on
/// PostgreSQL, with a failed or dirty row, an unknown row and an edited file: each is counted,
/// the failed one is not expected to have run, and the unapplied one is pending.
#[tokio::test]
async fn postgres_tool_ledgers_count_failed_unknown_and_edited_migrations() {
    let Some(db) = Postgres::start().await else {
        return;
    };
    // The applied part of each tool's history: users exists, verified was dropped by hand.
    db.exec(USERS).await;

    // Flyway 10's flyway_schema_history (as its PostgreSQL createMetaDataTable script has it).
    db.exec(
        "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), \
         description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, \
         installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INT NOT NULL, \
         success BOOLEAN NOT NULL)",
    )
    .await;
    let v1 = schema_exporter::expected::ledger::flyway_checksum(USERS);
    db.exec(&format!(
        "INSERT INTO flyway_schema_history VALUES \
         (1, '1', 'users', 'SQL', 'V1__users.sql', {v1}, 'app', '2024-03-02 10:11:12', 5, true), \
         (2, '2', 'verified', 'SQL', 'V2__verified.sql', 42, 'app', '2024-03-02 10:11:13', 5, true), \
         (3, '3', 'orders', 'SQL', 'V3__orders.sql', NULL, 'app', '2024-03-02 10:11:14', 5, false), \
         (4, '7', 'gone', 'SQL', 'V7__gone.sql', NULL, 'app', '2024-03-02 10:11:15', 5, true)"
    ))
    .await;
    let (_dir, cfg) = tool_setup(
        db.url(),
        "flyway",
        &[
            ("V1__users.sql", USERS),
            ("V2__verified.sql", EMAIL_VERIFIED),
            ("V3__orders.sql", ORDERS),
            ("V4__later.sql", "ALTER TABLE users ADD COLUMN later int;\n"),
        ],
    );
    let report = check_config(&cfg).await;
    let ledger = report.ledger.as_ref().unwrap();
    assert_eq!(ledger.ledger, "flyway");
    assert_eq!(ledger.applied, 2);
    assert_eq!(ledger.failed, ["V3__orders"]);
    assert_eq!(ledger.unknown, ["7 (V7__gone.sql)"]);
    assert_eq!(ledger.checksum_mismatched, ["V2__verified"]);
    assert_eq!(ledger.pending, ["V4__later"]);
    assert_eq!(
        ledger.last_applied_at.as_deref(),
        Some("2024-03-02T10:11:13Z")
    );
    let missing = missing_columns(&report);
    assert_eq!(
        missing,
        [(
            "verified".to_string(),
            Some("V2__verified".to_string()),
            Some("2024-03-02T10:11:13Z".to_string())
        )]
    );
    assert!(
        !report.items.iter().any(|i| i.table == "orders"),
        "a failed migration's table is not expected: {:#?}",
        report.items
    );
    db.exec("DROP TABLE flyway_schema_history").await;

    // sqlx's _sqlx_migrations (sqlx-postgres' ensure_migrations_table).
    db.exec(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, \
         execution_time BIGINT NOT NULL)",
    )
    .await;
    db.exec(&format!(
        "INSERT INTO _sqlx_migrations VALUES \
         (20240101000000, 'users', '2024-03-02 10:11:12+00', true, '\\x{}', 1), \
         (20240102000000, 'verified', '2024-03-02 10:11:13+00', true, '\\x00ff', 1), \
         (20240103000000, 'orders', '2024-03-02 10:11:14+00', false, '\\x00', 1), \
         (20240109000000, 'gone', '2024-03-02 10:11:15+00', true, '\\x00', 1)",
        sha384_hex(USERS)
    ))
    .await;
    let (_dir, cfg) = tool_setup(
        db.url(),
        "auto",
        &[
            ("20240101000000_users.sql", USERS),
            ("20240102000000_verified.sql", EMAIL_VERIFIED),
            ("20240103000000_orders.sql", ORDERS),
            (
                "20240104000000_later.sql",
                "ALTER TABLE users ADD COLUMN later int;\n",
            ),
        ],
    );
    let report = check_config(&cfg).await;
    let ledger = report.ledger.as_ref().unwrap();
    assert_eq!(ledger.ledger, "sqlx", "auto found it");
    assert_eq!(
        (
            ledger.applied,
            ledger.failed.as_slice(),
            ledger.unknown.as_slice()
        ),
        (
            2,
            &["20240103000000_orders".to_string()][..],
            &["20240109000000".to_string()][..]
        )
    );
    assert_eq!(ledger.checksum_mismatched, ["20240102000000_verified"]);
    assert_eq!(ledger.pending, ["20240104000000_later"]);
    assert_eq!(missing_columns(&report).len(), 1);
    db.exec("DROP TABLE _sqlx_migrations").await;

    // golang-migrate's schema_migrations: the current version, dirty.
    db.exec("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")
        .await;
    db.exec("INSERT INTO schema_migrations VALUES (3, true)")
        .await;
    let golang = [
        ("1_users.up.sql", USERS),
        ("1_users.down.sql", "DROP TABLE users;"),
        ("2_verified.up.sql", EMAIL_VERIFIED),
        ("3_orders.up.sql", ORDERS),
        (
            "4_later.up.sql",
            "ALTER TABLE users ADD COLUMN later int;\n",
        ),
    ];
    let (_dir, cfg) = tool_setup(db.url(), "golang-migrate", &golang);
    let report = check_config(&cfg).await;
    let ledger = report.ledger.as_ref().unwrap();
    assert_eq!(ledger.applied, 2);
    assert_eq!(ledger.failed, ["3_orders"], "dirty");
    assert_eq!(ledger.pending, ["4_later"]);
    let (_dir, cfg) = tool_setup(db.url(), "dbmate", &golang);
    let e = try_check_config(&cfg).await.unwrap_err();
    assert!(
        e.contains("golang-migrate"),
        "the table's columns tell the tools apart: {e}"
    );
    db.exec("DROP TABLE schema_migrations").await;

    // dbmate's schema_migrations: one row per applied version.
    db.exec("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)")
        .await;
    db.exec("INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240102000000'), ('20231231000000')")
        .await;
    let (_dir, cfg) = tool_setup(
        db.url(),
        "dbmate",
        &[
            (
                "20240101000000_users.sql",
                &format!("-- migrate:up\n{USERS}\n-- migrate:down\nDROP TABLE users;\n"),
            ),
            ("20240102000000_verified.sql", EMAIL_VERIFIED),
            ("20240103000000_orders.sql", ORDERS),
        ],
    );
    let report = check_config(&cfg).await;
    let ledger = report.ledger.as_ref().unwrap();
    assert_eq!(ledger.applied, 2);
    assert_eq!(ledger.unknown, ["20231231000000"]);
    assert_eq!(ledger.pending, ["20240103000000_orders"]);
    assert_eq!(
        missing_columns(&report)[0].1.as_deref(),
        Some("20240102000000_verified")
    );
}

/// A ledger that is not there, or not readable, fails the check by name: never "nothing applied".
#[tokio::test]
async fn a_missing_or_unreadable_ledger_fails_the_check_by_name() {
    let db = Sqlite::new();
    db.exec(USERS).await;
    let (_dir, cfg) = tool_setup(db.url(), "sqlx", &[("1_users.sql", USERS)]);
    let e = try_check_config(&cfg).await.unwrap_err();
    assert!(e.contains("main._sqlx_migrations not found"), "{e}");
    let (_dir, cfg) = tool_setup(db.url(), "auto", &[("1_users.sql", USERS)]);
    let e = try_check_config(&cfg).await.unwrap_err();
    assert!(e.contains("auto found no ledger table"), "{e}");
    // A ledger table without the columns the tool writes.
    db.exec("CREATE TABLE _sqlx_migrations (version bigint)")
        .await;
    let (_dir, cfg) = tool_setup(db.url(), "sqlx", &[("1_users.sql", USERS)]);
    let e = try_check_config(&cfg).await.unwrap_err();
    assert!(e.contains("ledger main._sqlx_migrations"), "{e}");
}

/// Shipping a migration file changes the expectation as the deploy grace window counts it (its
/// fingerprint), before the ledger records it; rerunning with nothing new changes nothing.
#[tokio::test]
async fn a_shipped_pending_migration_moves_the_expectations_fingerprint() {
    use schema_exporter::check::{pool_for, run_check};
    let db = Sqlite::new();
    db.exec(&format!(
        "{USERS}CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);\
         INSERT INTO schema_migrations VALUES ('1');"
    ))
    .await;
    let (dir, cfg) = tool_setup(db.url(), "dbmate", &[("1_users.sql", USERS)]);
    let config = schema_exporter::config::load(std::path::Path::new(&cfg)).unwrap();
    let database = &config.databases[0];
    let pool = pool_for(database).unwrap();
    let mut cache = schema_exporter::expected::ExpectedCache::default();
    let mut fingerprints = Vec::new();
    for ship in [false, false, true] {
        if ship {
            std::fs::write(dir.path().join("migrations/2_orders.sql"), ORDERS).unwrap();
        }
        let outcome = run_check(database, &pool, &mut cache).await;
        fingerprints.push(outcome.result.unwrap().expected_fingerprint);
    }
    assert_eq!(
        fingerprints[1], fingerprints[0],
        "nothing shipped, nothing changed"
    );
    assert_ne!(
        fingerprints[2], fingerprints[1],
        "a shipped migration changes the expectation"
    );
    pool.close().await;
}
