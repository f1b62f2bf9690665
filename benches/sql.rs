//! Loading an expectation from SQL, offline: a generated `pg_dump`-shaped file of 10,000 tables
//! (CREATE TABLE, sequence defaults, owners, comments, primary keys, indexes) and the same schema as 100
//! migration files with ALTERs on top, and the dump again as one line. Run with `cargo bench --bench sql` (BENCH_TABLES overrides the
//! table count). Prints wall times and the process's peak RSS; no database is involved.

#[path = "util.rs"]
mod util;
use util::{peak_rss_kib, stats};

use schema_exporter::dialect::Engine;
use schema_exporter::expected::sql::parse;
use schema_exporter::expected::SourceFile;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One table as pg_dump writes it.
fn dump_table(out: &mut String, i: usize) {
    write!(
        out,
        "CREATE TABLE public.t{i} (\n    id bigint NOT NULL,\n    name character varying(255) NOT NULL,\n    status text DEFAULT 'new'::text,\n    amount numeric(12,2),\n    created_at timestamp with time zone DEFAULT now(),\n    payload jsonb,\n    flag boolean DEFAULT false NOT NULL,\n    ref_id integer\n);\n\nALTER TABLE public.t{i} OWNER TO app;\n\nCOMMENT ON TABLE public.t{i} IS 'table {i}';\n\nCREATE SEQUENCE public.t{i}_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;\n\nALTER TABLE ONLY public.t{i} ALTER COLUMN id SET DEFAULT nextval('public.t{i}_id_seq'::regclass);\n\nALTER TABLE ONLY public.t{i}\n    ADD CONSTRAINT t{i}_pkey PRIMARY KEY (id);\n\nCREATE INDEX t{i}_ref ON public.t{i} USING btree (ref_id);\n\n"
    )
    .unwrap();
}

fn time<F: FnMut()>(runs: usize, mut f: F) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect()
}

fn main() {
    let tables: usize = std::env::var("BENCH_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let schemas = ["public".to_string()];

    let mut dump = String::new();
    for i in 0..tables {
        dump_table(&mut dump, i);
    }
    let dump = vec![SourceFile {
        path: PathBuf::from("dump.sql"),
        text: dump,
    }];
    let size = dump[0].text.len() as f64 / (1024.0 * 1024.0);
    let schema = parse(&dump, Engine::Postgres, &schemas).expect("the generated dump loads");
    assert_eq!(schema.tables.len(), tables);
    let samples = time(5, || {
        parse(&dump, Engine::Postgres, &schemas).unwrap();
    });
    println!(
        "pg_dump-shaped file, {tables} tables ({size:.1} MiB): {}",
        stats(samples)
    );

    // The same dump on one line (statements joined by spaces, as some tools write them): a
    // statement's position must not cost a walk of its line, or this turns quadratic.
    let one_line = vec![SourceFile {
        path: PathBuf::from("one-line.sql"),
        text: dump[0].text.replace('\n', " "),
    }];
    let samples = time(5, || {
        parse(&one_line, Engine::Postgres, &schemas).unwrap();
    });
    println!(
        "the same file on one line ({size:.1} MiB): {}",
        stats(samples)
    );

    // The same tables spread over 100 migrations, each also adding and renaming a column.
    let per_file = tables.div_ceil(100);
    let migrations: Vec<SourceFile> = (0..100)
        .map(|m| {
            let mut text = String::new();
            for i in (m * per_file)..((m + 1) * per_file).min(tables) {
                write!(
                    text,
                    "CREATE TABLE t{i} (id bigserial PRIMARY KEY, name varchar(255) NOT NULL, created_at timestamptz DEFAULT now());\nALTER TABLE t{i} ADD COLUMN note text;\nALTER TABLE t{i} RENAME COLUMN note TO remark;\n"
                )
                .unwrap();
            }
            SourceFile {
                path: PathBuf::from(format!("V{}__m.sql", m + 1)),
                text,
            }
        })
        .collect();
    let samples = time(5, || {
        parse(&migrations, Engine::Postgres, &schemas).unwrap();
    });
    println!(
        "100 migration files, {tables} tables, 3 statements each: {}",
        stats(samples)
    );
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS: {:.0} MiB", kib as f64 / 1024.0);
    }
}
