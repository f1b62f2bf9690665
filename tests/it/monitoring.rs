//! What ships around the exporter, against the real tools it is for: the alert rules under `promtool`,
//! the dashboard's queries and the rules on a real Prometheus scraping the demo, and a page delivered
//! by a real Alertmanager to a webhook this test runs. Plus the contract between them: every metric a
//! rule or a panel reads is one the exporter exports.

use crate::common::{
    self, block_on, find_program, missing, require_tool, run_tool, wait_for, write, Daemon,
    Throwaway, WAIT,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/alerts/schema_exporter.rules.yml"
);
const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/dashboards/schema_exporter.json"
);

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dashboard() -> Value {
    serde_json::from_str(&std::fs::read_to_string(DASHBOARD).unwrap()).unwrap()
}

/// Every rule of the rules file.
fn rules() -> Vec<Value> {
    yaml(RULES)["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .collect()
}

/// Every panel with queries (rows hold none).
fn query_panels(dash: &Value) -> Vec<&Value> {
    dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "row")
        .collect()
}

fn promtool() -> Option<PathBuf> {
    require_tool(&["promtool"], "Debian package `prometheus`")
}

#[test]
fn promtool_checks_the_rules_and_runs_their_unit_tests() {
    let Some(promtool) = promtool() else { return };
    let (ok, out, err) = run_tool(&promtool, &["check", "rules", RULES]);
    assert!(ok, "{out}{err}");
    let mut tests: Vec<String> = std::fs::read_dir(format!("{ROOT}/alerts/tests"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".yml"))
        .collect();
    tests.sort();
    assert!(tests.len() >= 2, "{tests:?}");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    let (ok, out, err) = run_tool(&promtool, &args);
    assert!(ok, "promtool test rules failed:\n{out}{err}");
}

#[test]
fn every_alert_is_unit_tested_and_has_severity_annotations_and_a_runbook_section() {
    let tests: String = std::fs::read_dir(format!("{ROOT}/alerts/tests"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let runbooks = std::fs::read_to_string(format!("{ROOT}/docs/runbooks.md")).unwrap();
    let sections: BTreeSet<String> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    let alerts: Vec<&Value> = Vec::leak(rules())
        .iter()
        .filter(|r| r.get("alert").is_some())
        .collect();
    assert!(alerts.len() >= 9, "{alerts:?}");
    for rule in alerts {
        let name = rule["alert"].as_str().unwrap();
        assert!(
            tests.contains(&format!("alertname: {name}\n")),
            "{name} has no promtool test"
        );
        let severity = rule["labels"]["severity"].as_str().unwrap_or("");
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        for key in ["summary", "description", "runbook_url"] {
            assert!(
                rule["annotations"][key].is_string(),
                "{name} lacks annotation {key}"
            );
        }
        let anchor = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap()
            .rsplit_once('#')
            .unwrap()
            .1;
        assert_eq!(anchor, name.to_lowercase(), "{name}: runbook anchor");
        assert!(
            sections.contains(anchor),
            "docs/runbooks.md has no section `## {name}`"
        );
    }
}

/// Metric names a PromQL expression reads: identifiers outside string literals that name our
/// metrics (`schema_*`) or our recording rules (`schema:*`).
fn metric_names(expr: &str, into: &mut BTreeSet<String>) {
    let mut outside = String::new();
    let mut quote = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                outside.push(' ');
            }
            None if c == '"' || c == '\'' || c == '`' => {
                quote = Some(c);
                outside.push(' ');
            }
            None => outside.push(c),
        }
    }
    for word in outside.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
        if word.starts_with("schema_") || word.starts_with("schema:") {
            into.insert(word.to_string());
        }
    }
}

/// Every metric name that the rules (expressions and the queries inside annotation templates) and
/// the dashboard (panel and variable queries) use.
fn names_used() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut used = BTreeSet::new();
    let mut recorded = BTreeSet::new();
    for rule in rules() {
        metric_names(rule["expr"].as_str().unwrap(), &mut used);
        if let Some(name) = rule["record"].as_str() {
            recorded.insert(name.to_string());
        }
        if let Some(annotations) = rule["annotations"].as_object() {
            for text in annotations.values().filter_map(Value::as_str) {
                for part in text.split("printf \"").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    used.insert(name);
                }
            }
        }
    }
    let dash = dashboard();
    for panel in query_panels(&dash) {
        for target in panel["targets"].as_array().unwrap() {
            metric_names(target["expr"].as_str().unwrap(), &mut used);
        }
    }
    for var in dash["templating"]["list"].as_array().unwrap() {
        if var["type"] == "query" {
            metric_names(var["query"].as_str().unwrap(), &mut used);
        }
    }
    (used, recorded)
}

/// Names of the metric families in a `/metrics` text.
fn exported(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn every_metric_a_rule_or_panel_uses_is_exported() {
    let (used, recorded) = names_used();
    assert!(used.contains("schema_missing_columns"), "{used:?}");
    // The demo shows the incident; table-level detail series exist only when a table drifts, so a
    // second exporter watches a database with every kind of drift.
    let demo = Daemon::demo();
    let mut names = exported(&demo.get("/metrics").1);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("every.db");
    block_on(common::sqlite_exec(&db, common::EVERY_KIND_LIVE));
    write(dir.path(), "e.yaml", common::EVERY_KIND_EXPECTED);
    let cfg = write(
        dir.path(),
        "c.yaml",
        "databases:\n  - name: every\n    url: sqlite:every.db\n    expected: {file: e.yaml}\n",
    );
    let every = Daemon::serve(&cfg);
    wait_for(WAIT, "table drift series", || {
        every
            .get("/metrics")
            .1
            .contains("schema_table_drift{")
            .then_some(())
    });
    names.extend(exported(&every.get("/metrics").1));
    let ledger = ledger_daemon(dir.path());
    names.extend(exported(&ledger.get("/metrics").1));
    // Tenant series exist only for a database with tenant patterns, which SQLite cannot have.
    let tenants_checked = match block_on(common::Postgres::start()) {
        Some(pg) => {
            block_on(pg.exec("CREATE SCHEMA tenant_a"));
            write(dir.path(), "t.yaml", "tables:\n  orders: {}\n");
            let cfg = write(
                dir.path(),
                "t.yaml.config",
                &format!("databases:\n  - name: saas\n    url: {}\n    schemas: [{{match: \"tenant_*\"}}]\n    expected: {{file: t.yaml}}\n", pg.url),
            );
            let saas = Daemon::serve(&cfg);
            saas.wait_sample(r#"schema_tenant_schemas{database="saas"}"#, 1.0);
            names.extend(exported(&saas.get("/metrics").1));
            let keys = keys_daemon(&pg, dir.path());
            names.extend(exported(&keys.get("/metrics").1));
            true
        }
        None => false,
    };
    let unknown: Vec<&String> = used
        .iter()
        .filter(|n| !names.contains(*n) && !recorded.contains(*n))
        .filter(|n| {
            tenants_checked
                || !(n.starts_with("schema_tenant_")
                    || n.contains("_constraints")
                    || n.contains("_indexes")
                    || n.contains("_enum_labels"))
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "rules or dashboard use metrics the exporter does not export: {unknown:?}\nexported: {names:?}"
    );
}

#[test]
fn the_dashboard_imports_anywhere_units_descriptions_and_a_datasource_variable() {
    let dash = dashboard();
    assert_eq!(dash["uid"], "schema-exporter");
    let text = std::fs::read_to_string(DASHBOARD).unwrap();
    assert!(dash.get("__inputs").is_none() && !text.contains("${DS_"));
    let vars: Vec<&str> = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "job", "instance", "database"]);
    assert_eq!(dash["templating"]["list"][0]["type"], "datasource");
    assert_eq!(dash["templating"]["list"][0]["query"], "prometheus");
    let mut ids = BTreeSet::new();
    for panel in dash["panels"].as_array().unwrap() {
        assert!(ids.insert(panel["id"].as_u64().unwrap()), "duplicate id");
        assert!(panel["gridPos"]["w"].as_u64().unwrap() > 0);
    }
    let panels = query_panels(&dash);
    assert!(panels.len() >= 10);
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert!(
            panel["description"].as_str().is_some_and(|d| d.len() > 20),
            "{title}: description"
        );
        assert!(
            panel["fieldConfig"]["defaults"]["unit"].is_string(),
            "{title}: unit"
        );
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{title}");
            let expr = target["expr"].as_str().unwrap();
            for var in ["$job", "$instance"] {
                assert!(expr.contains(var), "{title}: {expr} ignores {var}");
            }
        }
    }
}

/// A dashboard query with its variables as "All" and Grafana's interval macro resolved.
fn substitute(expr: &str) -> String {
    let out = expr
        .replace("$__rate_interval", "1m")
        .replace("$database", ".*")
        .replace("$instance", ".*")
        .replace("$job", ".*");
    assert!(!out.contains('$'), "unknown variable in {expr}");
    out
}

/// A real Prometheus on a free loopback port, with its own config and storage.
pub(crate) struct Prometheus {
    base: String,
    _server: Throwaway,
}

impl Prometheus {
    pub(crate) fn start(config: &str) -> Option<Prometheus> {
        let Some(binary) = find_program(&["prometheus"]) else {
            missing("prometheus was not found (Debian package `prometheus`)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let config_path = write(dir.path(), "prometheus.yml", config);
        let data = dir.path().join("data");
        let (port, server) = Throwaway::start("prometheus", dir, "TERM", |port| {
            let mut c = Command::new(&binary);
            c.arg(format!("--config.file={config_path}"))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"));
            c
        });
        let base = format!("http://127.0.0.1:{port}");
        wait_for(WAIT, "prometheus to be ready", || {
            (get(&format!("{base}/-/ready"), &[]).0 == 200).then_some(())
        });
        Some(Prometheus {
            base,
            _server: server,
        })
    }

    /// `/api/v1/<path>` with `params`: the JSON answer, whatever its status.
    pub(crate) fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let (_, body) = get(&format!("{}/api/v1/{path}", self.base), params);
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    pub(crate) fn query(&self, expr: &str) -> Value {
        self.api("query", &[("query", expr)])
    }
}

fn get(url: &str, params: &[(&str, &str)]) -> (u16, String) {
    common::http("GET", url, params).unwrap_or_else(|e| (0, e))
}

pub(crate) fn host(daemon: &Daemon) -> &str {
    daemon.base.trim_start_matches("http://")
}

fn prometheus_config(target: &str, rules: &str, alertmanager: Option<&str>) -> String {
    prometheus_config_for(&[target], rules, alertmanager)
}

fn prometheus_config_for(targets: &[&str], rules: &str, alertmanager: Option<&str>) -> String {
    let mut config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [{rules:?}]\nscrape_configs:\n  - job_name: schema_exporter\n    static_configs:\n      - targets: {targets:?}\n"
    );
    if let Some(am) = alertmanager {
        config += &format!(
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{am:?}]\n"
        );
    }
    config
}

/// An exporter watching a SQLite database with a sqlx ledger in every state the ledger series
/// and panels show: an applied migration whose column is missing (export_logs.file_size, as in
/// the demo), one pending, one failed, one recorded without a file, one edited since it ran.
/// An exporter watching a PostgreSQL database whose expectation states keys and indexes, with
/// every kind of key and index drift, an index left invalid by a failed concurrent build included.
fn keys_daemon(pg: &common::Postgres, dir: &Path) -> Daemon {
    block_on(pg.exec(
        "CREATE TABLE k (id int PRIMARY KEY, a int, b int);
         CREATE INDEX k_b ON k (b);
         CREATE TABLE dups (v int);
         INSERT INTO dups VALUES (1), (1);
         CREATE TYPE st AS ENUM ('a');
         CREATE TYPE extra AS ENUM ('x');
         CREATE TYPE ord AS ENUM ('y', 'x');",
    ));
    block_on(async {
        let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
        let failed = sqlx::raw_sql("CREATE UNIQUE INDEX CONCURRENTLY dups_v ON dups (v)")
            .execute(&pool)
            .await;
        assert!(failed.is_err(), "over duplicates the build fails");
        pool.close().await;
    });
    write(
        dir,
        "keys.yaml",
        "tables:\n  k:\n    columns: {id: integer, a: integer, b: integer}\n    primary_key: [a]\n    indexes:\n      - {columns: [a]}\n  dups:\n    columns: {v: integer}\n    indexes: []\ntypes:\n  st: {enum: [a, b]}\n  ord: {enum: [x, y]}\n",
    );
    let cfg = write(
        dir,
        "keys.config.yaml",
        &format!(
            "databases:\n  - name: keys\n    url: {}\n    expected: {{file: keys.yaml}}\n",
            pg.url
        ),
    );
    let daemon = Daemon::serve(&cfg);
    daemon.wait_sample(
        r#"schema_invalid_indexes{database="keys",schema="public",table="dups"}"#,
        1.0,
    );
    daemon
}

/// An exporter watching a SQLite database whose expectation states keys and indexes that
/// differ from the live ones (a missing and an unexpected primary key, a missing and an
/// unexpected index).
fn sqlite_keys_daemon(dir: &Path) -> Daemon {
    let db = dir.join("keys.db");
    block_on(common::sqlite_exec(
        &db,
        "CREATE TABLE k (id INTEGER PRIMARY KEY, a INT, b INT); CREATE INDEX k_b ON k (b);",
    ));
    write(
        dir,
        "sqlite-keys.yaml",
        "tables:\n  k:\n    columns: {id: integer, a: integer, b: integer}\n    primary_key: [a]\n    indexes:\n      - {columns: [a]}\n",
    );
    let cfg = write(
        dir,
        "sqlite-keys.config.yaml",
        "databases:\n  - name: keys\n    url: sqlite:keys.db\n    expected: {file: sqlite-keys.yaml}\n",
    );
    let daemon = Daemon::serve(&cfg);
    daemon.wait_sample(
        r#"schema_missing_indexes{database="keys",schema="main",table="k"}"#,
        1.0,
    );
    daemon
}

fn ledger_daemon(dir: &Path) -> Daemon {
    let create = "CREATE TABLE export_logs (id bigint);\n";
    let add = "ALTER TABLE export_logs ADD COLUMN file_size bigint;\n";
    let sha = |text: &str| -> String {
        ring::digest::digest(&ring::digest::SHA384, text.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let db = dir.join("ledger.db");
    block_on(common::sqlite_exec(
        &db,
        &format!(
            "{create}CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, \
             execution_time BIGINT NOT NULL);\n\
             INSERT INTO _sqlx_migrations VALUES (1, 'create', '2024-03-02 10:11:12', 1, X'{}', 1), \
             (2, 'add', '2024-03-02 10:11:13', 1, X'00', 1), (3, 'broken', '2024-03-02 10:11:14', 0, X'00', 1), \
             (9, 'gone', '2024-03-02 10:11:15', 1, X'00', 1);",
            sha(create)
        ),
    ));
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    for (name, sql) in [
        ("1_create.sql", create),
        ("2_add.sql", add),
        ("3_broken.sql", "CREATE TABLE broken (a int);\n"),
        ("4_next.sql", "CREATE TABLE next (a int);\n"),
    ] {
        std::fs::write(migrations.join(name), sql).unwrap();
    }
    let cfg = write(
        dir,
        "ledger.yaml",
        "databases:\n  - name: ledger\n    url: sqlite:ledger.db\n    expected: {sql: [migrations], ledger: sqlx}\n",
    );
    let daemon = Daemon::serve(&cfg);
    daemon.wait_sample(r#"schema_migrations_failed{database="ledger"}"#, 1.0);
    daemon
}

#[test]
fn a_real_prometheus_runs_every_dashboard_query_against_the_demo() {
    let demo = Daemon::demo();
    // The migration panels read a ledger, which the demo has none of: a second target has one.
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_daemon(dir.path());
    // The key and index panel reads an expectation that states keys: a third target.
    let keys = sqlite_keys_daemon(dir.path());
    // Enum types are PostgreSQL's: a fourth target, where a server can be had.
    let pg = block_on(common::Postgres::start());
    let enums = pg.as_ref().map(|pg| keys_daemon(pg, dir.path()));
    let mut targets = vec![host(&demo), host(&ledger), host(&keys)];
    targets.extend(enums.as_ref().map(host));
    let config = prometheus_config_for(&targets, RULES, None);
    let Some(prom) = Prometheus::start(&config) else {
        return;
    };
    // Enough scrapes for range functions (increase over 1m needs two samples).
    wait_for(WAIT, "three scrapes of the demo", || {
        let v = prom.query("count_over_time(schema_checks_total[1m])");
        let n = v["data"]["result"][0]["value"][1]
            .as_str()?
            .parse::<f64>()
            .ok()?;
        (n >= 3.0).then_some(())
    });
    let dash = dashboard();

    // Variables: Grafana's label_values(metric, label) is Prometheus' label values API.
    // (Plain-string variable queries: the form every Grafana version reads.)
    for var in dash["templating"]["list"].as_array().unwrap() {
        if var["type"] != "query" {
            continue;
        }
        let q = var["query"].as_str().unwrap();
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or_else(|| panic!("unexpected variable query {q}"));
        let (matcher, label) = inner.rsplit_once(", ").unwrap();
        let answer = prom.api(
            &format!("label/{label}/values"),
            &[("match[]", &substitute(matcher))],
        );
        assert_eq!(answer["status"], "success", "{q}: {answer}");
        let want = match label {
            "job" => "schema_exporter",
            "instance" => host(&demo),
            "database" => "demo",
            other => panic!("unexpected label {other}"),
        };
        assert!(
            answer["data"].as_array().unwrap().iter().any(|v| v == want),
            "{q} lacks {want}: {answer}"
        );
    }

    // Panels: every query runs (instant or range, as the panel asks) and every panel shows data.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (start, end) = ((now - 60).to_string(), now.to_string());
    for panel in query_panels(&dash) {
        let title = panel["title"].as_str().unwrap();
        let mut series = 0;
        for target in panel["targets"].as_array().unwrap() {
            let expr = substitute(target["expr"].as_str().unwrap());
            let answer = if target["instant"] == true {
                prom.query(&expr)
            } else {
                prom.api(
                    "query_range",
                    &[
                        ("query", &expr),
                        ("start", &start),
                        ("end", &end),
                        ("step", "1"),
                    ],
                )
            };
            assert_eq!(answer["status"], "success", "{title}: {expr}: {answer}");
            series += answer["data"]["result"].as_array().unwrap().len();
        }
        if series == 0 && enums.is_none() && title.starts_with("Enum") {
            common::skipped(&format!(
                "panel {title:?}: no PostgreSQL server to show enum types"
            ));
            continue;
        }
        assert!(series > 0, "panel {title:?} shows no data for the demo");
    }

    // The drifted-columns panel names the incident's column; the rules loaded too.
    let detail = prom.query(&substitute(
        r#"schema_column_drift{job=~"$job",instance=~"$instance",database=~"$database"}"#,
    ));
    assert_eq!(detail["data"]["result"][0]["metric"]["column"], "file_size");
    let rules = prom.api("rules", &[]);
    assert_eq!(rules["status"], "success");
    let loaded = rules["data"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(loaded, self::rules().len(), "{rules}");
    for rule in rules["data"]["groups"][0]["rules"].as_array().unwrap() {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
}

/// An HTTP endpoint standing in for a pager: every POST body arrives on the channel.
fn webhook() -> (String, mpsc::Receiver<String>) {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::{Request, Response};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
                            Ok::<_, hyper::Error>(Response::new(Full::new(bytes::Bytes::new())))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    (url, rx)
}

/// The first page the shipped rules (every `for:` cut to 1s) send through a real Prometheus and
/// Alertmanager to a webhook for alert `alertname`, scraping `target`; `None` when Prometheus is
/// missing (already reported).
fn page_through_alertmanager(am_binary: &Path, target: &str, alertname: &str) -> Option<Value> {
    let (hook, pages) = webhook();

    let dir = tempfile::tempdir().unwrap();
    let am_config = write(
        dir.path(),
        "alertmanager.yml",
        &format!(
            "route:\n  receiver: pager\n  group_by: [alertname, database, table]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: pager\n    webhook_configs:\n      - url: {hook:?}\n        send_resolved: false\n"
        ),
    );
    let am_data = dir.path().join("am-data");
    let (am_port, _alertmanager) = Throwaway::start("alertmanager", dir, "TERM", |port| {
        let mut c = Command::new(am_binary);
        c.arg(format!("--config.file={am_config}"))
            .arg(format!("--storage.path={}", am_data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // No gossip: a single Alertmanager, and no fixed cluster port to collide on.
            .arg("--cluster.listen-address=");
        c
    });

    // The shipped rules with every `for:` shortened, so the page arrives in seconds.
    let shipped = std::fs::read_to_string(RULES).unwrap();
    let fast: String = shipped
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for: ") {
            Some(_) => format!("{}for: 1s", &l[..l.len() - l.trim_start().len()]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(fast, shipped);
    let rules_dir = tempfile::tempdir().unwrap();
    let fast_rules = write(rules_dir.path(), "fast.rules.yml", &fast);
    let am = format!("127.0.0.1:{am_port}");
    let _prom = Prometheus::start(&prometheus_config(target, &fast_rules, Some(&am)))?;

    let page: Value = wait_for(Duration::from_secs(90), "the page at the webhook", || {
        let body = pages.try_recv().ok()?;
        let page: Value = serde_json::from_str(&body).unwrap();
        (page["alerts"][0]["labels"]["alertname"] == alertname).then_some(page)
    });
    Some(page)
}

#[test]
fn prometheus_and_alertmanager_page_a_webhook_for_the_missing_column() {
    let Some(am_binary) = find_program(&["prometheus-alertmanager", "alertmanager"]) else {
        return missing("alertmanager was not found (Debian package `prometheus-alertmanager`)");
    };
    let demo = Daemon::demo();
    let Some(page) = page_through_alertmanager(&am_binary, host(&demo), "SchemaMissingColumns")
    else {
        return;
    };
    let alerts = page["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{page}");
    let alert = &alerts[0];
    assert_eq!(alert["status"], "firing");
    let labels = &alert["labels"];
    assert_eq!(labels["alertname"], "SchemaMissingColumns", "{page}");
    assert_eq!(labels["severity"], "critical");
    assert_eq!(labels["database"], "demo");
    assert_eq!(labels["table"], "export_logs");
    assert_eq!(
        alert["annotations"]["description"],
        format!(
            "Table main.export_logs in database demo (exporter {h}) lacks 1 column(s) the application expects: file_size. Queries that use them fail now. The SQL that adds them: http://{h}/drift?database=demo or `schema_exporter check --database=demo`.",
            h = host(&demo)
        )
    );
    // The link in the page really leads to the fix.
    let (_, drift) = demo.get("/drift");
    assert!(
        drift.contains(r#"ADD COLUMN \"file_size\" bigint NULL"#),
        "{drift}"
    );
}

#[test]
fn alertmanager_pages_the_founding_incident_naming_the_migration_recorded_as_applied() {
    let Some(am_binary) = find_program(&["prometheus-alertmanager", "alertmanager"]) else {
        return missing("alertmanager was not found (Debian package `prometheus-alertmanager`)");
    };
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_daemon(dir.path());
    let Some(page) =
        page_through_alertmanager(&am_binary, host(&ledger), "SchemaMigrationNotInEffect")
    else {
        return;
    };
    let alert = &page["alerts"][0];
    assert_eq!(alert["status"], "firing");
    let labels = &alert["labels"];
    assert_eq!(labels["severity"], "critical", "{page}");
    assert_eq!(
        (&labels["table"], &labels["column"], &labels["migration"]),
        (
            &Value::from("export_logs"),
            &Value::from("file_size"),
            &Value::from("2_add")
        )
    );
    assert_eq!(
        alert["annotations"]["summary"],
        "ledger: migration 2_add is recorded as applied, but export_logs.file_size does not match it (missing)"
    );
}
