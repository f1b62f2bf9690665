//! One check of a generated 10,000-table PostgreSQL schema, next to psql running the raw catalog
//! query on the same database. Run with `cargo bench --bench catalog` (BENCH_TABLES overrides the
//! table count). Prints wall times and the bench process's peak RSS.

#[path = "util.rs"]
mod util;
use util::{peak_rss_kib, stats};

/// The median of `samples`, in seconds.
fn median(samples: &[std::time::Duration]) -> f64 {
    let mut s: Vec<f64> = samples.iter().map(|d| d.as_secs_f64()).collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

// The integration tests' harness, for its throwaway PostgreSQL server; the rest of it is for the tests.
#[path = "../tests/it/common/mod.rs"]
#[allow(dead_code, unused_imports)]
mod common;

use schema_exporter::check::{pool_for, run_check};
use schema_exporter::expected::ExpectedCache;
use schema_exporter::snapshot::Snapshot;
use schema_exporter::{config, engine, expected};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const COLUMNS: &str =
    "id bigserial PRIMARY KEY, name varchar(255) NOT NULL, status text DEFAULT ''new'', \
    amount numeric(12,2), created_at timestamptz DEFAULT now(), payload jsonb, \
    flag boolean NOT NULL DEFAULT false, ref_id integer";

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs bench binaries too; only `cargo bench` passes --bench.
    if !std::env::args().any(|a| a == "--bench") {
        println!("catalog bench: skipped (run `cargo bench --bench catalog`)");
        return;
    }
    let tables: usize = std::env::var("BENCH_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let Some(pg) = common::Postgres::start().await else {
        return;
    };
    let started = Instant::now();
    let pool = pg.pool().await;
    // Batches keep each transaction's lock count under max_locks_per_transaction.
    // Each table has its primary key, two more indexes, a foreign key and a check, as ordinary
    // tables do: 30,000 indexes for the index read to list, 10,000 keys for the foreign-key
    // read, 10,000 checks; and one enum type per 100 tables.
    for batch in (1..=tables).step_by(250) {
        let last = (batch + 249).min(tables);
        let sql = format!(
            "DO $$ BEGIN FOR i IN {batch}..{last} LOOP \
             EXECUTE format('CREATE TABLE t_%s ({COLUMNS})', i); \
             EXECUTE format('CREATE INDEX ON t_%s (name)', i); \
             EXECUTE format('CREATE UNIQUE INDEX ON t_%s (ref_id, created_at)', i); \
             EXECUTE format('ALTER TABLE t_%s ADD FOREIGN KEY (ref_id) REFERENCES t_1 (id)', i); \
             EXECUTE format('ALTER TABLE t_%s ADD CHECK (id > 0)', i); \
             IF i % 100 = 0 THEN \
               EXECUTE format('CREATE TYPE state_%s AS ENUM (''queued'', ''running'', ''done'')', i); \
             END IF; \
             END LOOP; END $$;"
        );
        sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
    }
    sqlx::raw_sql("ANALYZE").execute(&pool).await.unwrap();
    pool.close().await;
    println!(
        "created {tables} tables x 8 columns in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg_path = common::write(
        dir.path(),
        "c.yaml",
        &format!("interval: 5m\ntimeout: 60s\ndatabases:\n  - name: bench\n    url: {url}\n    expected: {{file: expected.yaml}}\n  - name: bench_keys\n    url: {url}\n    expected: {{file: expected_keys.yaml}}\n", url = pg.url),
    );
    let cfg = config::load(Path::new(&cfg_path)).unwrap();
    let db = &cfg.databases[0];
    let pool = pool_for(db).unwrap();
    // The expectation is the live schema itself, minus one column, so the diff compares everything.
    let engine::Pool::Postgres(_) = &pool else {
        unreachable!()
    };
    let live = pool.introspect(&db.schemas, None, false).await.unwrap();
    let rendered = expected::render_file(&live, "public");
    let rendered = rendered.replacen(
        "      ref_id: {type: integer, nullable: true, default: null}\n",
        "",
        1,
    );
    common::write(dir.path(), "expected.yaml", &rendered);
    println!("expected-schema file: {} KiB", rendered.len() / 1024);
    // The same expectation stating every key, index and foreign key, as a snapshot writes it.
    let mut keyed = live.clone();
    keyed.attach_indexes(pool.indexes(&db.schemas, None).await.unwrap());
    keyed.attach_foreign_keys(pool.foreign_keys(&db.schemas, None).await.unwrap());
    keyed.attach_checks(pool.checks(&db.schemas, None).await.unwrap());
    keyed.types = Some(pool.enum_types(&db.schemas, false).await.unwrap());
    let rendered_keys = expected::render_file(&keyed, "public").replacen(
        "      payload: {type: jsonb, nullable: true, default: null}\n",
        "",
        1,
    );
    common::write(dir.path(), "expected_keys.yaml", &rendered_keys);
    println!(
        "expected-schema file with keys: {} KiB",
        rendered_keys.len() / 1024
    );
    let db_keys = &cfg.databases[1];

    let snapshot = Snapshot::new(&cfg);
    // Cold: a fresh cache, so the expectation is parsed (the first check, or one after a deploy).
    // Warm: the poller's cache, so an unchanged expectation is only read and hashed.
    let mut warm_cache = ExpectedCache::default();
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        for (cache, samples) in [
            (&mut ExpectedCache::default(), &mut cold),
            (&mut warm_cache, &mut warm),
        ] {
            let outcome = run_check(db, &pool, cache).await;
            let report = &outcome.result.as_ref().expect("check succeeds").report;
            assert_eq!(
                report.items.len(),
                1,
                "exactly the removed column reads as unexpected"
            );
            samples.push(outcome.duration);
            snapshot.record(&db.name, outcome);
        }
    }
    // What stating keys costs: the warm check of the columns-only expectation, and of the one
    // that states every key (its check reads indexes and foreign keys too, one query each, and
    // compares them); the two extra reads alone for scale.
    let mut keys_cache = ExpectedCache::default();
    let _ = run_check(db_keys, &pool, &mut keys_cache).await;
    let (mut plain, mut full) = (Vec::new(), Vec::new());
    let (mut index_only, mut fk_only) = (Vec::new(), Vec::new());
    let (mut check_only, mut enum_only) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let outcome = run_check(db, &pool, &mut warm_cache).await;
        assert!(outcome.result.is_ok());
        plain.push(outcome.duration);
        let outcome = run_check(db_keys, &pool, &mut keys_cache).await;
        let report = &outcome.result.as_ref().expect("check succeeds").report;
        assert_eq!(
            report.items.len(),
            1,
            "keys compared, and only the removed column differs: {:?}",
            report.items.first()
        );
        full.push(outcome.duration);
        let t = Instant::now();
        let indexes = pool.indexes(&db.schemas, None).await.unwrap();
        index_only.push(t.elapsed());
        assert_eq!(indexes.values().map(Vec::len).sum::<usize>(), 3 * tables);
        let t = Instant::now();
        let keys = pool.foreign_keys(&db.schemas, None).await.unwrap();
        fk_only.push(t.elapsed());
        assert_eq!(keys.values().map(Vec::len).sum::<usize>(), tables);
        let t = Instant::now();
        let checks = pool.checks(&db.schemas, None).await.unwrap();
        check_only.push(t.elapsed());
        assert_eq!(checks.values().map(Vec::len).sum::<usize>(), tables);
        let t = Instant::now();
        let types = pool.enum_types(&db.schemas, false).await.unwrap();
        enum_only.push(t.elapsed());
        assert_eq!(types.len(), tables / 100);
    }
    let ratio = median(&full) / median(&plain);
    pool.close().await;
    println!("warm check, columns only: {}", stats(plain));
    println!(
        "warm check, every key stated ({} indexes, {tables} foreign keys, {tables} checks, {} enum types): {}",
        3 * tables,
        tables / 100,
        stats(full)
    );
    println!("index read alone: {}", stats(index_only));
    println!("foreign-key read alone: {}", stats(fk_only));
    println!("check read alone: {}", stats(check_only));
    println!("enum read alone: {}", stats(enum_only));
    println!("ratio of the keyed check to the columns-only check (medians): {ratio:.2}x");
    println!(
        "schema_exporter check, cold (parse expectation + catalog query + diff): {}",
        stats(cold)
    );
    // The first warm run filled the cache; the others reused it.
    println!(
        "schema_exporter check, warm (expectation unchanged since the last check): {}",
        stats(warm)
    );

    // What a check outcome costs to publish (rendered once per change; scrapes copy the result).
    let mut renders = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        snapshot.publish();
        renders.push(t.elapsed());
    }
    let published = snapshot.published();
    println!(
        "/metrics publish ({} KiB, {} KiB gzip; render, join and compress): {}",
        published.metrics.identity.len() / 1024,
        published.metrics.gzip.len() / 1024,
        stats(renders)
    );

    let query = engine::postgres::CATALOG_QUERY
        .replace("ANY($1)", "ANY(ARRAY['public'])")
        .replace("ANY($2)", "ANY(ARRAY[]::text[])")
        .replace("($3 OR", "(false OR");
    let mut raw = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-o",
                "/dev/null",
                "-d",
                &pg.url,
                "-c",
                &query,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        raw.push(t.elapsed());
    }
    println!(
        "psql, raw catalog query (incl. process start and connect): {}",
        stats(raw)
    );
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak RSS of the bench process: {:.1} MiB",
            kib as f64 / 1024.0
        );
    }
}
