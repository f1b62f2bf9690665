//! Many targets and many replicas: `/probe?target=NAME` serves one configured database's series,
//! `/sd` lists every configured database for Prometheus' HTTP service discovery, and replicas
//! started with `--shard.index`/`--shard.total` split a config exactly as Prometheus' `hashmod`
//! splits its targets; checked against a real Prometheus.

use crate::common::{self, run, wait_for, write, Daemon, WAIT};
use crate::monitoring::{host, Prometheus};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// `n` SQLite databases `db0..` in `dir`, the even ones lacking the expected column `b`, and a
/// config watching them all; returns the config's path.
fn fleet(dir: &Path, n: usize) -> String {
    let mut config = String::from("interval: 1m\ndatabases:\n");
    for i in 0..n {
        let sql = if i % 2 == 0 {
            "CREATE TABLE t (a int);"
        } else {
            "CREATE TABLE t (a int, b int);"
        };
        common::block_on(common::sqlite_exec(&dir.join(format!("db{i}.sqlite")), sql));
        config.push_str(&format!(
            "  - name: db{i}\n    url: sqlite:db{i}.sqlite\n    expected: {{file: e.yaml}}\n"
        ));
    }
    write(
        dir,
        "e.yaml",
        "tables:\n  t:\n    columns:\n      a: integer\n      b: integer\n",
    );
    write(dir, "c.yaml", &config)
}

/// Sample lines without their values: which series a body has, whenever it was read.
fn series(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
        .collect()
}

/// The databases a replica polls, from its `/metrics`.
fn polled(daemon: &Daemon) -> BTreeSet<String> {
    series(&daemon.get("/metrics").1)
        .iter()
        .filter_map(|s| s.strip_prefix("schema_checks_total{database=\""))
        .map(|s| s.trim_end_matches("\"}").to_string())
        .collect()
}

#[test]
fn probe_serves_one_databases_series_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fleet(dir.path(), 2);
    let daemon = Daemon::serve(&cfg);
    wait_for(WAIT, "first checks", || {
        (daemon.get("/-/ready").0 == 200).then_some(())
    });
    let (code, body) = daemon.get("/probe?target=db0");
    assert_eq!(code, 200, "{body}");
    // Exactly /metrics' series of db0, named and labelled the same, plus what the cap cut.
    let want: BTreeSet<String> = series(&daemon.get("/metrics").1)
        .into_iter()
        .filter(|s| s.contains("database=\"db0\""))
        .chain(["schema_detail_series_dropped".to_string()])
        .collect();
    assert_eq!(series(&body), want);
    assert!(body.contains(
        "schema_column_drift{column=\"b\",database=\"db0\",drift=\"missing\",schema=\"main\",table=\"t\"} 1"
    ));
    // The text format Prometheus reads, with its help and types.
    assert!(
        body.contains("# TYPE schema_checks_total counter\n"),
        "{body}"
    );

    for (query, status) in [
        ("", 400),
        ("?target=", 400),
        ("?target=db0&target=db1", 400),
        ("?target=nope", 404),
        // Never a host, URL or DSN: only configured names, so nothing can be reached through it.
        ("?target=http://169.254.169.254/latest/meta-data/", 404),
        ("?target=postgres://u:p@10.0.0.1/app", 404),
        ("?target=sqlite:db0.sqlite", 404),
        ("?module=x&target=..%2Fdb0", 404),
    ] {
        let (code, body) = daemon.get(&format!("/probe{query}"));
        assert_eq!(code, status, "/probe{query}: {body}");
    }
    assert_eq!(daemon.post("/probe?target=db0").0, 405);

    let (code, body) = daemon.get("/sd");
    assert_eq!(code, 200, "{body}");
    let groups: Value = serde_json::from_str(&body).unwrap();
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[1]["targets"], serde_json::json!(["db1"]));
    let labels = &groups[1]["labels"];
    assert_eq!(labels["__meta_schema_exporter_engine"], "sqlite");
    assert_eq!(labels["__meta_schema_exporter_shard"], "0");
    assert_eq!(labels["__meta_schema_exporter_interval"], "1m");
    assert!(!body.contains(".sqlite"), "no URL or path in /sd: {body}");
}

#[test]
fn bad_shard_flags_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fleet(dir.path(), 1);
    let (code, _, stderr) = run(&[
        "serve",
        "--config.file",
        &cfg,
        "--shard.index=2",
        "--shard.total=2",
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--shard.index=2 must be below --shard.total=2"),
        "{stderr}"
    );
}

/// Two replicas of a 20-database config: each polls its half, and a real Prometheus that finds the
/// databases through one replica's `/sd` and routes each to a replica with `hashmod` scrapes every
/// one of them successfully from the replica that polls it.
#[test]
fn two_replicas_split_the_databases_exactly_as_prometheus_hashmod_does() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fleet(dir.path(), 20);
    let replicas: Vec<Daemon> = (0..2)
        .map(|i| {
            let index = format!("--shard.index={i}");
            Daemon::start(&["serve", "--config.file", &cfg, &index, "--shard.total=2"])
        })
        .collect();
    for r in &replicas {
        wait_for(WAIT, "a replica's first checks", || {
            (r.get("/-/ready").0 == 200).then_some(())
        });
    }
    let (a, b) = (polled(&replicas[0]), polled(&replicas[1]));
    assert!(a.is_disjoint(&b), "{a:?} {b:?}");
    assert_eq!(a.len() + b.len(), 20, "{a:?} {b:?}");
    assert!(!a.is_empty() && !b.is_empty(), "{a:?} {b:?}");
    for (i, r) in replicas.iter().enumerate() {
        let metrics = r.get("/metrics").1;
        assert_eq!(
            common::sample(&metrics, "schema_exporter_shard_index"),
            Some(i as f64)
        );
        assert_eq!(
            common::sample(&metrics, "schema_exporter_shards"),
            Some(2.0)
        );
    }
    // A database the other replica polls is not served here, and says where it is.
    let elsewhere = b.iter().next().unwrap();
    let (code, body) = replicas[0].get(&format!("/probe?target={elsewhere}"));
    assert_eq!(code, 404);
    assert!(body.contains("--shard.index=1"), "{body}");

    // Prometheus: every database from replica 0's /sd, routed by hashmod to the replica of its
    // bucket, scraped through /probe.
    let sd = format!("http://{}/sd", host(&replicas[0]));
    let jobs: String = (0..2)
        .map(|i| {
            format!(
                r#"  - job_name: shard{i}
    metrics_path: /probe
    http_sd_configs: [{{url: "{sd}", refresh_interval: 5s}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__address__], target_label: instance}}
      - {{source_labels: [__address__], modulus: 2, target_label: __tmp_shard, action: hashmod}}
      - {{source_labels: [__tmp_shard], regex: "{i}", action: keep}}
      - {{target_label: __address__, replacement: "{}"}}
"#,
                host(&replicas[i])
            )
        })
        .collect();
    let config = format!("global: {{scrape_interval: 1s}}\nscrape_configs:\n{jobs}");
    let Some(prom) = Prometheus::start(&config) else {
        return;
    };
    let up = wait_for(WAIT, "Prometheus to scrape all 20 targets", || {
        let v = prom.query("up");
        let result = v["data"]["result"].as_array()?.clone();
        (result.len() == 20).then_some(result)
    });
    for (i, want) in [&a, &b].into_iter().enumerate() {
        let job: BTreeSet<String> = up
            .iter()
            .filter(|s| s["metric"]["job"] == format!("shard{i}"))
            .map(|s| s["metric"]["instance"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(&job, want, "hashmod's shard {i} against the replica's own");
    }
    // Every target answers from its replica, with the series alerts read.
    wait_for(WAIT, "every target up with its drift series", || {
        let up = prom.query("sum(up)");
        let ok = up["data"]["result"][0]["value"][1].as_str() == Some("20");
        let missing = prom.query("count(schema_missing_columns{table=\"t\"} == 1)");
        let drifted = missing["data"]["result"][0]["value"][1].as_str() == Some("10");
        (ok && drifted).then_some(())
    });
}
