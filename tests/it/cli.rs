//! The whole binary: demo on port 0, golden `/metrics`, HTTP endpoints, reloads, exit codes,
//! `validate`, secrets, and `promtool check metrics` on our output.

use crate::common::{
    self, block_on, free_port, require_tool, run, sample, write, Daemon, DEMO_MISSING,
};
use std::process::Command;

/// Masks what legitimately changes between runs (durations, timestamps, build metadata, how many
/// changes one publish coalesced); configured durations such as the interval stay visible.
fn masked(metrics: &str) -> String {
    metrics
        .lines()
        .map(|l| {
            if l.starts_with("schema_exporter_build_info{") {
                "schema_exporter_build_info{<masked>} 1".to_string()
            } else if !l.starts_with('#')
                && (l.contains("_timestamp_seconds{")
                    || l.contains("_duration_seconds{")
                    || l.starts_with("schema_exporter_renders_total "))
            {
                let (series, _) = l.rsplit_once(' ').unwrap();
                format!("{series} <masked>")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn demo_serves_the_incident_exactly_as_the_golden_file_says() {
    let daemon = Daemon::demo();
    let (status, body) = daemon.get("/metrics");
    assert_eq!(status, 200);
    let golden_path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/demo.metrics");
    let actual = masked(&body);
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::write(golden_path, &actual).unwrap();
    }
    let golden = std::fs::read_to_string(golden_path).unwrap();
    assert_eq!(
        actual, golden,
        "run with UPDATE_GOLDEN=1 to accept a deliberate change"
    );
    // No sample carries a timestamp: exactly two fields per sample line.
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let value_part = line
            .rsplit_once('}')
            .map_or(line.split_once(' ').map_or("", |(_, v)| v), |(_, v)| v);
        assert_eq!(value_part.split_whitespace().count(), 1, "{line}");
    }
}

/// `healthcheck --web.listen-address=ADDR ARGS...`: (exit code, stderr).
fn healthcheck(addr: &str, args: &[&str]) -> (i32, String) {
    let listen = format!("--web.listen-address={addr}");
    let mut all = vec!["healthcheck", listen.as_str()];
    all.extend_from_slice(args);
    let (code, _, stderr) = run(&all);
    (code, stderr)
}

#[test]
fn healthcheck_command_exits_0_for_a_running_exporter_and_1_otherwise() {
    let daemon = Daemon::start(&["demo"]);
    let addr = daemon.base.trim_start_matches("http://");
    let port = addr.rsplit_once(':').unwrap().1;
    // The image's HEALTHCHECK form: a wildcard listen address, probed over loopback.
    let (code, stderr) = healthcheck(&format!(":{port}"), &[]);
    assert_eq!(code, 0, "{stderr}");
    daemon.wait_sample(DEMO_MISSING, 1.0);
    let (code, stderr) = healthcheck(addr, &["--path=/-/ready"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = healthcheck(addr, &["--path=/nope"]);
    let want = format!("unhealthy: /nope on 127.0.0.1:{port}: answered HTTP 404");
    assert_eq!((code, stderr.trim()), (1, want.as_str()));
    // A listener that accepts but never answers: bounded by --timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let (code, stderr) = healthcheck(&silent_addr, &["--timeout=300ms"]);
    assert_eq!(code, 1);
    assert!(stderr.ends_with("no answer within 300ms\n"), "{stderr}");
    drop(silent);
    let (code, stderr) = healthcheck(&format!("127.0.0.1:{}", free_port()), &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot connect to 127.0.0.1:"), "{stderr}");
}

#[test]
fn promtool_accepts_our_metrics_output() {
    let Some(promtool) = require_tool(&["promtool"], "Debian package `prometheus`") else {
        return;
    };
    let daemon = Daemon::demo();
    let metrics = daemon.get("/metrics").1;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && printed.trim().is_empty(),
        "promtool check metrics said:\n{printed}"
    );
}

#[test]
fn http_endpoints_landing_page_drift_health_and_readiness() {
    let daemon = Daemon::demo();
    let (status, landing) = daemon.get("/");
    assert_eq!(status, 200);
    for want in [
        "schema_exporter",
        "href=\"/metrics\"",
        "href=\"/drift?format=html\"",
        "href=\"/drift?format=json\"",
        "demo",
        "missing column export_logs.file_size",
    ] {
        assert!(
            landing.contains(want),
            "landing page lacks {want:?}:\n{landing}"
        );
    }
    let (status, drift) = daemon.get("/drift");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&drift).unwrap();
    let item = &doc["databases"][0]["drift"][0];
    assert_eq!(item["kind"], "missing_column");
    assert_eq!(item["table"], "export_logs");
    assert_eq!(item["column"], "file_size");
    assert_eq!(item["expected"], "bigint NULL");
    assert_eq!(
        item["suggested_sql"],
        r#"ALTER TABLE "main"."export_logs" ADD COLUMN "file_size" bigint NULL;"#
    );
    assert_eq!(doc["databases"][0]["status"], "drift");
    assert_eq!(daemon.get("/-/healthy"), (200, "Healthy\n".into()));
    assert_eq!(daemon.get("/-/ready").0, 200);
    assert_eq!(daemon.get("/nope").0, 404);
    assert_eq!(daemon.post("/metrics").0, 405);
    assert_eq!(
        daemon.post("/-/reload").0,
        403,
        "lifecycle API must be off by default"
    );
}

#[test]
fn not_ready_until_the_first_check_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.yaml", "tables: {}\n");
    // A PostgreSQL port nobody listens on: the first check takes its connect timeout to fail.
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!("databases:\n  - name: slow\n    url: postgres://x@127.0.0.1:{}/x\n    interval: 1m\n    timeout: 3s\n    expected: {{file: e.yaml}}\n", free_port()),
    );
    let mut daemon = Daemon::start(&["--config.file", &cfg]);
    assert_eq!(
        daemon.get("/-/ready").0,
        503,
        "ready before the first check was attempted"
    );
    assert_eq!(
        daemon.get("/metrics").0,
        200,
        "scrapes must not wait for a database"
    );
    common::wait_for(common::WAIT, "readiness", || {
        (daemon.get("/-/ready").0 == 200).then_some(())
    });
    assert_eq!(
        daemon.sample(r#"schema_check_success{database="slow"}"#),
        Some(0.0)
    );
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().code(), Some(0));
}

/// A config checking `first` (an SQLite file whose table `t` lacks the expected column `extra`)
/// every second: `schema_missing_columns` reads 1 for it while this config runs.
const RELOAD_CONFIG: &str = "interval: 1s\ntimeout: 500ms\ndatabases:\n  - name: first\n    url: sqlite:a.db\n    expected: {file: e.yaml}\n";

/// A temp dir holding the database and expectation [`RELOAD_CONFIG`] names.
fn reload_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let lite = dir.path().join("a.db");
    block_on(common::sqlite_exec(&lite, "CREATE TABLE t (id integer)"));
    write(
        dir.path(),
        "e.yaml",
        "tables:\n  t:\n    columns:\n      id: integer\n      extra: text\n",
    );
    dir
}

#[test]
fn reload_adopts_a_valid_config_refuses_an_invalid_one_and_drops_removed_databases() {
    let dir = reload_fixture();
    let one = RELOAD_CONFIG;
    let two =
        format!("{one}  - name: second\n    url: sqlite:a.db\n    expected: {{file: e.yaml}}\n");
    let cfg = write(dir.path(), "c.yaml", one);
    let mut daemon = Daemon::start(&["--config.file", &cfg, "--web.enable-lifecycle"]);
    let series =
        |db: &str| format!(r#"schema_missing_columns{{database="{db}",schema="main",table="t"}}"#);
    daemon.wait_sample(&series("first"), 1.0);

    write(dir.path(), "c.yaml", &two);
    assert_eq!(daemon.post("/-/reload").0, 200);
    daemon.wait_sample(&series("second"), 1.0);
    daemon.wait_sample("schema_exporter_config_last_reload_successful", 1.0);

    write(
        dir.path(),
        "c.yaml",
        "databases:\n  - name: first\n    url: sqlite:a.db\n    bogus: 1\n",
    );
    let (status, body) = daemon.post("/-/reload");
    assert_eq!(status, 500);
    assert!(body.contains("bogus"), "{body}");
    assert_eq!(
        daemon.sample("schema_exporter_config_last_reload_successful"),
        Some(0.0)
    );
    assert_eq!(
        daemon.sample(&series("second")),
        Some(1.0),
        "the running config must stay"
    );

    write(dir.path(), "c.yaml", one);
    daemon.signal("HUP");
    common::wait_for(
        common::WAIT,
        "the removed database's series to vanish",
        || {
            let m = daemon.get("/metrics").1;
            (!m.contains(r#"database="second""#)).then_some(())
        },
    );
    assert_eq!(
        daemon.sample("schema_exporter_config_last_reload_successful"),
        Some(1.0)
    );
    assert_eq!(daemon.sample(&series("first")), Some(1.0));
}

#[test]
fn no_config_a_sighup_reads_stops_the_daemon_or_loses_the_running_config() {
    let dir = reload_fixture();
    let good = RELOAD_CONFIG;
    let cfg = write(dir.path(), "c.yaml", good);
    let mut daemon = Daemon::start(&["--config.file", &cfg]);
    let series = r#"schema_missing_columns{database="first",schema="main",table="t"}"#;
    daemon.wait_sample(series, 1.0);

    // Nested aliases: each level doubles, 2^40 nodes if expanded.
    let mut bomb = String::from("a0: &a0 [x, x]\n");
    for i in 1..=40 {
        bomb.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
    }
    bomb.push_str("databases: []\n");
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("nested aliases", bomb.into_bytes()),
        (
            "a number past every range",
            format!("max_concurrent_checks: 18446744073709551615\n{good}").into_bytes(),
        ),
        (
            "a zero interval",
            good.replace("interval: 1s", "interval: 0s").into_bytes(),
        ),
        (
            "a NUL byte",
            format!("{good}\0ignore: {{tables: [t]}}\n").into_bytes(),
        ),
        ("invalid UTF-8", [good.as_bytes(), b"# caf\xe9\n"].concat()),
        ("not YAML", b"databases: [\n".to_vec()),
    ];
    for (what, bytes) in hostile {
        std::fs::write(&cfg, bytes).unwrap();
        daemon.signal("HUP");
        daemon.wait_sample("schema_exporter_config_last_reload_successful", 0.0);
        assert_eq!(
            daemon.sample(series),
            Some(1.0),
            "{what}: the running config must stay"
        );
        // The good config back: the reload after a refused one still works.
        std::fs::write(&cfg, good).unwrap();
        daemon.signal("HUP");
        daemon.wait_sample("schema_exporter_config_last_reload_successful", 1.0);
    }
    daemon.signal("TERM");
    assert_eq!(
        daemon.wait_exit().code(),
        Some(0),
        "it was alive throughout"
    );
}

#[test]
fn every_gauge_counts_its_own_kind_and_detail_series_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    block_on(common::sqlite_exec(
        &db,
        "CREATE TABLE t (id integer, extra text); CREATE TABLE stray (id integer);",
    ));
    write(
        dir.path(),
        "e.yaml",
        "tables:\n  t:\n    columns:\n      id: {type: bigint, nullable: false, default: 0}\n      a: text\n      b: text\n      c: text\n  gone:\n    columns:\n      x: text\n      y: text\n",
    );
    let cfg = write(dir.path(), "c.yaml", "detail_series_limit: 1\ndatabases:\n  - name: capped\n    url: sqlite:a.db\n    expected: {file: e.yaml}\n");
    let daemon = Daemon::serve(&cfg);
    let t = |metric: &str| format!(r#"{metric}{{database="capped",schema="main",table="t"}}"#);
    daemon.wait_sample(&t("schema_missing_columns"), 3.0);
    let m = daemon.get("/metrics").1;
    let expect = [
        (t("schema_unexpected_columns"), 1.0),
        (
            r#"schema_missing_columns{database="capped",schema="main",table="gone"}"#.to_string(),
            2.0,
        ),
        (
            r#"schema_missing_tables{database="capped",schema="main"}"#.to_string(),
            1.0,
        ),
        (
            r#"schema_unexpected_tables{database="capped",schema="main"}"#.to_string(),
            1.0,
        ),
        (
            r#"schema_expected_tables{database="capped"}"#.to_string(),
            2.0,
        ),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&m, &series), Some(value), "{series}\n{m}");
    }
    for attribute in ["type", "nullable", "default"] {
        let series = format!(
            r#"schema_mismatched_columns{{attribute="{attribute}",database="capped",schema="main",table="t"}}"#
        );
        assert_eq!(sample(&m, &series), Some(1.0), "{series}");
    }
    // 7 drifted columns on t (3 missing, 1 unexpected, 3 mismatches) and 2 drifted tables; the
    // cap keeps one series.
    let detail = |m: &str| {
        m.lines()
            .filter(|l| {
                l.starts_with("schema_column_drift{") || l.starts_with("schema_table_drift{")
            })
            .count()
    };
    assert_eq!(detail(&m), 1, "{m}");
    assert_eq!(sample(&m, "schema_detail_series_dropped"), Some(8.0));
    drop(daemon);

    // Without the cap every drifted column and table has its series.
    let cfg = write(
        dir.path(),
        "c.yaml",
        "databases:\n  - name: capped\n    url: sqlite:a.db\n    expected: {file: e.yaml}\n",
    );
    let daemon = Daemon::serve(&cfg);
    daemon.wait_sample(&t("schema_missing_columns"), 3.0);
    let m = daemon.get("/metrics").1;
    assert_eq!(detail(&m), 9, "{m}");
    assert_eq!(sample(&m, "schema_detail_series_dropped"), Some(0.0));
    for table in [
        r#"drift="missing",schema="main",table="gone""#,
        r#"drift="unexpected",schema="main",table="stray""#,
    ] {
        let series = format!(r#"schema_table_drift{{database="capped",{table}}}"#);
        assert_eq!(sample(&m, &series), Some(1.0), "{series}\n{m}");
    }
}

/// The names of the databases a `/drift` or `check --output=json` document lists.
fn database_names(doc: &serde_json::Value) -> Vec<&str> {
    doc["databases"]
        .as_array()
        .unwrap_or_else(|| panic!("no databases in {doc}"))
        .iter()
        .map(|db| db["name"].as_str().unwrap())
        .collect()
}

/// Two databases whose checks fail while carrying a password (in a file, in the URL), and a SQLite
/// one that drifts: every place a report goes must name them all, show the failures and the drift,
/// and never the password.
#[test]
fn secrets_never_reach_logs_metrics_drift_or_the_landing_page() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "Pa55-w0rd-that-must-not-leak";
    write(dir.path(), "pw", &format!("{secret}\n"));
    write(dir.path(), "e.yaml", "tables: {}\n");
    block_on(common::sqlite_exec(
        &dir.path().join("lite.db"),
        "CREATE TABLE t (id integer)",
    ));
    write(
        dir.path(),
        "lite.yaml",
        "tables:\n  t:\n    columns:\n      id: integer\n      extra: text\n",
    );
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!(
            "databases:\n  - name: app\n    url: postgres://exporter@127.0.0.1:{}/app\n    password_file: pw\n    interval: 2s\n    timeout: 1s\n    expected: {{file: e.yaml}}\n  \
             - name: inline\n    url: postgres://exporter:{secret}@127.0.0.1:{}/app?sslmode=disable\n    interval: 2s\n    timeout: 1s\n    expected: {{file: e.yaml}}\n  \
             - name: lite\n    url: sqlite:lite.db\n    expected: {{file: lite.yaml}}\n",
            free_port(),
            free_port()
        ),
    );
    let lite_missing = r#"schema_missing_columns{database="lite",schema="main",table="t"}"#;
    let daemon = Daemon::start(&["--config.file", &cfg, "--log.level=debug"]);
    daemon.wait_sample(r#"schema_check_success{database="inline"}"#, 0.0);
    daemon.wait_sample(r#"schema_check_success{database="app"}"#, 0.0);
    daemon.wait_sample(lite_missing, 1.0);
    let mut pages = Vec::new();
    for path in ["/metrics", "/drift", "/"] {
        let (status, body) = daemon.get(path);
        assert_eq!(status, 200, "{path}:\n{body}");
        assert!(!body.contains(secret), "{path} leaks the password:\n{body}");
        pages.push(body);
    }
    let [metrics, drift, landing] = &pages[..] else {
        unreachable!()
    };
    assert_eq!(
        sample(metrics, r#"schema_check_success{database="app"}"#),
        Some(0.0)
    );
    assert_eq!(sample(metrics, lite_missing), Some(1.0));
    let doc: serde_json::Value = serde_json::from_str(drift).unwrap();
    assert_eq!(database_names(&doc), ["app", "inline", "lite"]);
    assert_eq!(doc["databases"][1]["status"], "check_failed");
    assert_eq!(doc["databases"][2]["drift"][0]["column"], "extra");
    common::assert_contains_all(landing, &["inline", "missing column t.extra"]);
    let logs = daemon.logs.lock().unwrap().clone();
    assert!(
        logs.contains("exporter:***@127.0.0.1"),
        "the redacted URL should be logged:\n{logs}"
    );
    assert!(!logs.contains(secret), "logs leak the password:\n{logs}");
    // logfmt as Prometheus' tools write it: `msg=`, no `message=` or `target=` keys.
    let watching = logs
        .lines()
        .find(|l| l.contains("watching database"))
        .unwrap_or_else(|| panic!("no start line in:\n{logs}"));
    assert!(
        watching.contains(" msg=\"watching database\""),
        "{watching}"
    );
    assert!(
        !logs.contains(" message=") && !logs.contains(" target="),
        "{logs}"
    );

    // `check` exits 2 because two checks failed; its JSON still reports all three.
    let (code, stdout, stderr) = run(&["check", "--config.file", &cfg, "--output=json"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"));
    assert_eq!(database_names(&doc), ["app", "inline", "lite"]);
    for failed in [0, 1] {
        let db = &doc["databases"][failed];
        assert_eq!(db["status"], "check_failed", "{db}");
        assert!(
            db["error"].as_str().unwrap().starts_with("cannot connect"),
            "{db}"
        );
    }
    let lite = &doc["databases"][2];
    assert_eq!(lite["status"], "drift", "{lite}");
    assert_eq!(lite["drift"][0]["kind"], "missing_column");
    assert_eq!(lite["drift"][0]["column"], "extra");
}

#[test]
fn validate_lists_every_problem_with_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "good.yaml",
        "tables:\n  t:\n    columns:\n      id: bigint\n",
    );
    write(
        dir.path(),
        "bad.yaml",
        "tables:\n  t:\n    columns:\n      id: {type: bigint, nulable: true}\n",
    );
    let ok = write(
        dir.path(),
        "ok.yaml",
        "databases:\n  - name: a\n    url: sqlite:a.db\n    expected: {file: good.yaml}\n",
    );
    let (code, stdout, stderr) = run(&["validate", "--config.file", &ok]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // SCHEMA_EXPORTER__KEY overrides a top-level key of the file, and is validated like it.
    let (code, _, stderr) = common::run_with_env(
        &["validate", "--config.file", &ok],
        &[("SCHEMA_EXPORTER__MAX_CONCURRENT_CHECKS", "0")],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("max_concurrent_checks: 0 is outside 1..=1024"),
        "{stderr}"
    );
    // Devices and FIFOs are refused unopened, so none of them hangs `validate` or fills memory.
    let fifo = dir.path().join("fifo");
    let fifo_made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    assert!(fifo_made, "mkfifo failed");
    let devices = write(
        dir.path(),
        "dev.yaml",
        &format!(
            "databases:\n  - name: a\n    url: sqlite:a.db\n    expected: {{file: /dev/zero}}\n  - name: b\n    url: sqlite:a.db\n    expected: {{sql: [{}]}}\n",
            fifo.display()
        ),
    );
    let (code, _, stderr) = run(&["validate", "--config.file", &devices]);
    assert_eq!(code, 2, "{stderr}");
    common::assert_contains_all(
        &stderr,
        &[
            "cannot read expected schema /dev/zero: not a regular file",
            &format!("{}: not a regular file", fifo.display()),
        ],
    );
    let secret = write(
        dir.path(),
        "secret.yaml",
        "databases:\n  - name: a\n    url: postgres://u@db/a\n    password_file: /dev/zero\n    expected: {file: good.yaml}\n",
    );
    let (code, _, stderr) = run(&["validate", "--config.file", &secret]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("password_file: cannot read /dev/zero: not a regular file"),
        "{stderr}"
    );
    // A stray variable is named as the variable, not blamed on the file.
    let (code, _, stderr) = common::run_with_env(
        &["validate", "--config.file", &ok],
        &[("SCHEMA_EXPORTER__FOO", "1")],
    );
    assert_eq!(code, 2);
    assert!(
        stderr
            .contains("environment variable SCHEMA_EXPORTER__FOO: foo is not a configuration key"),
        "{stderr}"
    );

    let bad_expected = write(dir.path(), "c1.yaml", "databases:\n  - name: a\n    url: sqlite:a.db\n    expected: {file: bad.yaml}\n  - name: b\n    url: sqlite:a.db\n    expected: {file: nowhere.yaml}\n");
    let (code, _, stderr) = run(&["validate", "--config.file", &bad_expected]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("database \"a\"")
            && stderr.contains("bad.yaml:4:")
            && stderr.contains("unknown field `nulable`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("database \"b\"") && stderr.contains("nowhere.yaml"),
        "{stderr}"
    );

    let bad_config = write(dir.path(), "c2.yaml", "interval: 1m\ndatabases:\n  - name: a\n    url: sqlite:a.db\n    timeout: 2m\n    expected: {file: good.yaml}\n");
    let (code, _, stderr) = run(&["validate", "--config.file", &bad_config]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("c2.yaml") && stderr.contains("databases[0] (name \"a\"): timeout"),
        "{stderr}"
    );

    let (code, _, stderr) = run(&[
        "--config.file",
        &bad_config,
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_eq!(code, 2, "the daemon must refuse an invalid config at start");
    assert!(stderr.contains("timeout"), "{stderr}");
    let (code, _, stderr) = run(&[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--config.file"), "{stderr}");
}

#[test]
fn check_on_sqlite_exits_by_drift_and_filters_by_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = block_on(common::demo::prepare(dir.path())).unwrap();
    let cfg = config.to_str().unwrap();
    common::assert_check(cfg, &[], 1, "missing column: main.export_logs.file_size");
    let (code, _, stderr) = run(&["check", "--config.file", cfg, "--database", "other"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no database named \"other\""), "{stderr}");
    block_on(common::sqlite_exec(
        &dir.path().join("demo.db"),
        "ALTER TABLE export_logs ADD COLUMN file_size bigint",
    ));
    common::assert_check(cfg, &["--database", "demo"], 0, "demo: in sync");
}

#[test]
fn the_reference_config_and_its_expectation_are_valid() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/config/schema_exporter.yaml");
    let (code, stdout, stderr) = run(&["validate", "--config.file", cfg]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("2 expected schema(s) are valid"),
        "{stdout}"
    );
}

#[test]
fn a_broken_expectation_mid_run_fails_the_check_but_keeps_the_last_drift() {
    let dir = tempfile::tempdir().unwrap();
    let config = block_on(common::demo::prepare(dir.path())).unwrap();
    let cfg = std::fs::read_to_string(&config)
        .unwrap()
        .replace("interval: 15s", "interval: 1s")
        .replace("timeout: 5s", "timeout: 500ms");
    std::fs::write(&config, cfg).unwrap();
    let daemon = Daemon::serve(config.to_str().unwrap());
    daemon.wait_sample(DEMO_MISSING, 1.0);
    let changed = r#"schema_expected_last_change_timestamp_seconds{database="demo"}"#;
    let first_change = daemon.sample(changed).unwrap();

    let expected = dir.path().join("expected.yaml");
    std::fs::write(
        &expected,
        "tables:\n  export_logs:\n    columns:\n      id: {type: integer, nulable: false}\n",
    )
    .unwrap();
    daemon.wait_sample(r#"schema_check_success{database="demo"}"#, 0.0);
    assert_eq!(
        daemon.sample(DEMO_MISSING),
        Some(1.0),
        "the last known drift must stay"
    );
    let drift: serde_json::Value = serde_json::from_str(&daemon.get("/drift").1).unwrap();
    let error = drift["databases"][0]["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("expected.yaml:4:") && error.contains("nulable"),
        "{error}"
    );
    assert_eq!(drift["databases"][0]["drift"][0]["column"], "file_size");

    std::fs::write(
        &expected,
        common::demo::EXPECTED.replace("      file_size: {type: bigint, nullable: true}\n", ""),
    )
    .unwrap();
    daemon.wait_sample(r#"schema_check_success{database="demo"}"#, 1.0);
    daemon.wait_sample(DEMO_MISSING, 0.0);
    assert_eq!(
        daemon.sample(r#"schema_in_sync{database="demo"}"#),
        Some(1.0)
    );
    assert!(
        daemon.sample(changed).unwrap() > first_change,
        "a content change must move the timestamp"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let daemon = Daemon::binary_demo(&["--log.format=json"]);
    let logs = daemon.logs.lock().unwrap().clone();
    let mut lines = 0;
    for line in logs.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{line}"
        );
        lines += 1;
    }
    assert!(
        lines >= 2,
        "expected at least the demo and listening lines:\n{logs}"
    );
}

/// A server that accepts and never answers: `snapshot` gives up at `--timeout`, not at 10 s.
#[test]
fn snapshot_gives_up_at_its_timeout_on_a_silent_server() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://u@{}/app", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let (code, _, stderr) = run(&["snapshot", "--database-url", &url, "--timeout=300ms"]);
    let took = started.elapsed();
    assert_eq!(code, 2, "{stderr}");
    // The connect limit is three quarters of the timeout, so it is what gives up here.
    assert!(
        stderr.contains(
            "accepted the connection but the server did not complete the login within 225ms"
        ) && stderr.contains("--timeout"),
        "{stderr}"
    );
    assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
    drop(silent);
}

/// Refused, unresolvable and accepted-but-silent servers each read as what they are, for a check
/// as for the daemon's `/drift`.
#[test]
fn a_failed_connection_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = silent.local_addr().unwrap().to_string();
    let refused = format!("127.0.0.1:{}", free_port());
    let cases = [
        (
            format!("postgres://u@{refused}/app"),
            format!("cannot connect: connection refused by {refused} (no server listening there)"),
        ),
        (
            format!("mysql://u@{silent}/app"),
            format!("cannot connect: {silent} accepted the connection but the server did not complete the login within 750ms"),
        ),
        (
            "postgres://u@no-such-host.invalid/app".to_string(),
            "cannot connect: cannot resolve host no-such-host.invalid".to_string(),
        ),
        (
            format!("sqlite:{}", dir.path().join("absent.db").display()),
            "cannot connect: the database file is missing or not readable".to_string(),
        ),
    ];
    for (url, says) in cases {
        let cfg = common::config_with_expected(
            dir.path(),
            "app",
            &url,
            "tables: {}\n",
            "timeout: 1s\n",
            "",
        );
        let (code, stdout, stderr) = run(&["check", "--config.file", &cfg]);
        assert_eq!(code, 2, "{url}: {stdout}{stderr}");
        assert!(
            stdout.contains(&format!("app: could not check: {says}")),
            "{url}: want {says:?} in:\n{stdout}{stderr}"
        );
    }
}
