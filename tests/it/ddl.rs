//! Expectations from SQL, read offline: each engine's own dump of a real server, migration directories
//! in several naming conventions, and every error path. A dump or a migration set that built a database
//! must compare with that database with zero drift.

use crate::common::{
    self, item, require_tool, run, run_tool, write, DriftKind, EngineDb, Found, MariaDb, Postgres,
    Sqlite,
};
use std::path::{Path, PathBuf};

/// A config checking `url` against `expected` (YAML flow mapping text) in `dir`.
fn config(dir: &Path, url: &str, expected: &str, extra: &str) -> String {
    write(
        dir,
        "config.yaml",
        &format!("databases:\n  - name: app\n    url: {url}\n    expected: {expected}\n{extra}"),
    )
}

/// Checks once and asserts the drift is exactly `want`.
async fn assert_drift(cfg: &str, want: Vec<Found>) {
    let report = common::check_config(cfg).await;
    assert_eq!(common::found(&report), want, "{:#?}", report.items);
}

/// What `program args` printed, asserting it succeeded.
fn tool_output(program: &Path, args: &[&str]) -> String {
    let (ok, out, err) = run_tool(program, args);
    assert!(ok, "{} failed: {err}", program.display());
    out
}

/// An engine's own schema dump as an expectation.
struct Dump<'a> {
    /// What the database is built from before the dump.
    schema: &'a str,
    /// The `expected:` source naming the dump, written as `schema.sql`.
    source: &'a str,
    /// Keys of the database in the config (its schemas).
    extra: &'a str,
    /// How many tables the dump declares.
    tables: usize,
    /// Real changes after the dump (columns, indexes and unique constraints), and exactly the
    /// drift they must cause, in any order.
    change: &'a str,
    /// A statement run alone after the change that the server must refuse, for what a failed
    /// statement leaves behind ("" for none).
    failing: &'a str,
    want: &'a [(DriftKind, &'a str, Option<&'a str>)],
    /// What the operator does where a suggestion leaves the step to them (removing duplicates
    /// before a unique index is built again, recreating a type without a label), run before
    /// the suggested statements.
    operator: &'a str,
}

/// Builds `db` from the case's schema, dumps it with `dump` (`None` when the tool is missing, after
/// reporting it), and checks the dump back: zero drift over every table, then after the change
/// exactly the drift it causes; the operator's steps and every suggested statement applied (the
/// destructive ones too: the database is a throwaway) bring it back in sync.
async fn dump_round_trip(
    db: &impl EngineDb,
    case: &Dump<'_>,
    dump: impl FnOnce() -> Option<String>,
) {
    db.exec(case.schema).await;
    let Some(dump) = dump() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "schema.sql", &dump);
    let cfg = config(dir.path(), db.url(), case.source, case.extra);
    let report = common::check_config(&cfg).await;
    assert!(report.in_sync(), "{:#?}\n{dump}", report.items);
    assert_eq!(
        report.expected_tables.len(),
        case.tables,
        "{:#?}",
        report.expected_tables
    );
    // The database's snapshot is an expectation in sync too, and sees the same drift.
    let snap_dir = tempfile::tempdir().unwrap();
    let snap_cfg = common::config_with_expected(
        snap_dir.path(),
        "app",
        db.url(),
        "tables: {}\n",
        "",
        case.extra,
    );
    let snap_file = snap_dir.path().join("expected.yaml");
    common::snapshot(&snap_cfg, "app", &["-o", snap_file.to_str().unwrap()]);
    let snap = common::check_config(&snap_cfg).await;
    assert!(
        snap.in_sync(),
        "{:#?}\n{}",
        snap.items,
        std::fs::read_to_string(&snap_file).unwrap()
    );
    db.exec(case.change).await;
    if !case.failing.is_empty() {
        let refused = db.try_exec(case.failing).await;
        assert!(refused.is_err(), "{} should fail", case.failing);
    }
    let mut want: Vec<Found> = case.want.iter().map(|&(k, t, c)| item(k, t, c)).collect();
    // `found` lists the drift sorted.
    want.sort();
    let report = common::check_config(&cfg).await;
    assert_eq!(common::found(&report), want, "{:#?}", report.items);
    let snap = common::check_config(&snap_cfg).await;
    assert_eq!(
        common::found(&snap),
        want,
        "against the snapshot: {:#?}",
        snap.items
    );
    if !case.operator.is_empty() {
        db.exec(case.operator).await;
    }
    for item in &report.items {
        for line in item.fix.suggested_sql.lines() {
            // Statements end with `;`; the rest are steps in prose (a rebuild, say), which the
            // case's operator steps cover.
            let statement = line.strip_prefix("-- destructive: ").unwrap_or(line);
            if !statement.starts_with("--") && statement.ends_with(';') {
                if let Err(why) = db.try_exec(statement).await {
                    panic!("{statement}: {why}\n{:#?}", report.items);
                }
            }
        }
    }
    let after = common::check_config(&cfg).await;
    assert!(
        after.in_sync(),
        "the suggested SQL repairs it: {:#?}",
        after.items
    );
}

/// A schema using what real applications use: enums, domains, serial and identity columns,
/// generated columns, arrays, json, defaults with casts, quoted mixed-case names, constraints,
/// indexes, a view, a function and a trigger with dollar-quoted bodies, comments.
const PG_SCHEMA: &str = r#"
CREATE TYPE mood AS ENUM ('happy', 'sad', 'it''s complicated');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE SCHEMA billing;
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email varchar(254) NOT NULL UNIQUE,
    "DisplayName" text,
    mood mood DEFAULT 'happy',
    tags text[] DEFAULT '{}',
    settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    score numeric(10,2) DEFAULT -1.5,
    visits positive_int,
    created_at timestamptz NOT NULL DEFAULT now(),
    is_active boolean DEFAULT true
);
CREATE TABLE export_logs (
    id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id bigint REFERENCES users(id) ON DELETE CASCADE,
    export_format varchar(20) DEFAULT 'csv',
    file_size bigint CHECK (file_size >= 0),
    size_kb bigint GENERATED ALWAYS AS (file_size / 1024) STORED,
    filename varchar(500),
    created_at timestamp(3) without time zone DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX export_logs_user ON export_logs (user_id, created_at DESC);
CREATE TABLE billing.invoices (
    id serial,
    amount numeric(12,2) NOT NULL DEFAULT 0.00,
    currency char(3) NOT NULL DEFAULT 'EUR',
    PRIMARY KEY (id),
    CONSTRAINT invoices_amount_positive CHECK (amount >= 0::numeric)
);
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 (id bigint NOT NULL, at date NOT NULL, kind text);
ALTER TABLE events ATTACH PARTITION events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE tags (label text);
CREATE UNIQUE INDEX tags_label ON tags (label);
CREATE TABLE audit_base (id bigint NOT NULL, at timestamptz DEFAULT now());
CREATE TABLE audit_logins (ip inet, at timestamptz NOT NULL) INHERITS (audit_base);
ALTER TABLE audit_base ADD COLUMN actor text;
COMMENT ON TABLE users IS 'people; with a semicolon';
CREATE VIEW active_users AS SELECT id, email FROM users WHERE is_active;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.created_at := now(); -- a semicolon inside the body
    RETURN NEW;
END
$body$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
"#;

const PG_DUMP: Dump = Dump {
    schema: PG_SCHEMA,
    source: "{sql: [schema.sql]}",
    extra: "    schemas: [public, billing]\n",
    // users, export_logs, billing.invoices, active_users, events (its partitions count through
    // it), tags, audit_base and audit_logins (whose inherited columns pg_dump does not repeat).
    tables: 8,
    change: "ALTER TABLE export_logs DROP COLUMN filename; ALTER TABLE billing.invoices ALTER COLUMN currency DROP NOT NULL; ALTER TABLE audit_logins NO INHERIT audit_base; ALTER TABLE audit_logins DROP COLUMN actor; DROP INDEX export_logs_user; ALTER TABLE users DROP CONSTRAINT users_email_key; ALTER TABLE export_logs DROP CONSTRAINT export_logs_user_id_fkey; ALTER TYPE mood ADD VALUE 'angry'; ALTER TABLE export_logs DROP CONSTRAINT export_logs_file_size_check; ALTER TABLE billing.invoices DROP CONSTRAINT invoices_amount_positive; ALTER TABLE billing.invoices ADD CONSTRAINT invoices_currency_upper CHECK (currency = upper(currency)); DROP INDEX tags_label; INSERT INTO tags VALUES ('x'), ('x');",
    // Over the duplicates the concurrent build fails and leaves the index behind, not valid.
    failing: "CREATE UNIQUE INDEX CONCURRENTLY tags_label ON tags (label)",
    want: &[
        (DriftKind::MissingColumn, "audit_logins", Some("actor")),
        (DriftKind::MissingColumn, "export_logs", Some("filename")),
        (DriftKind::NullableMismatch, "invoices", Some("currency")),
        (DriftKind::MissingUniqueConstraint, "users", None),
        (DriftKind::MissingIndex, "export_logs", None),
        (DriftKind::InvalidIndex, "tags", None),
        (DriftKind::MissingForeignKey, "export_logs", None),
        (DriftKind::MissingCheckConstraint, "export_logs", None),
        (DriftKind::MissingCheckConstraint, "invoices", None),
        (DriftKind::UnexpectedCheckConstraint, "invoices", None),
        (DriftKind::UnexpectedEnumLabel, "mood", None),
    ],
    // The suggestions say both steps are the operator's: the duplicates the rebuild would fail
    // on, and a type without the label (PostgreSQL cannot drop one).
    operator: "DELETE FROM tags a USING tags b WHERE a.ctid > b.ctid AND a.label = b.label;
        ALTER TYPE mood RENAME TO mood_old;
        CREATE TYPE mood AS ENUM ('happy', 'sad', 'it''s complicated');
        ALTER TABLE users ALTER COLUMN mood DROP DEFAULT,
            ALTER COLUMN mood TYPE mood USING mood::text::mood,
            ALTER COLUMN mood SET DEFAULT 'happy';
        DROP TYPE mood_old;",
};

#[tokio::test]
async fn pg_dump_of_a_real_schema_is_an_expectation_with_zero_drift() {
    let Some(pg) = Postgres::start().await else {
        return;
    };
    dump_round_trip(&pg, &PG_DUMP, || {
        let pg_dump = require_tool(&["pg_dump"], "Debian package `postgresql-client`")?;
        Some(tool_output(
            &pg_dump,
            &["--schema-only", "--dbname", &pg.url],
        ))
    })
    .await;
}

/// MariaDB spellings: unsigned and zerofill, tinyint(1), enum with a quote, set, json, datetime(6)
/// ON UPDATE, generated and auto-increment columns, a view, an index, a foreign key and a trigger
/// (which mysqldump writes under `DELIMITER ;;`).
const MARIADB_SCHEMA: &str = r#"
CREATE TABLE users (
    id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email varchar(254) NOT NULL,
    `DisplayName` varchar(100) DEFAULT NULL,
    is_active tinyint(1) NOT NULL DEFAULT 1,
    kind enum('csv','json','it''s') DEFAULT 'csv',
    flags set('a','b') DEFAULT NULL,
    settings json DEFAULT NULL,
    score decimal(10,2) DEFAULT -1.50,
    ratio double DEFAULT NULL,
    updated_at datetime(6) NOT NULL DEFAULT current_timestamp(6) ON UPDATE current_timestamp(6),
    UNIQUE KEY email (email),
    CONSTRAINT users_score_range CHECK (score > -100),
    CHECK (ratio IS NULL OR ratio >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE export_logs (
    id int NOT NULL AUTO_INCREMENT,
    user_id bigint unsigned DEFAULT NULL,
    file_size bigint DEFAULT NULL,
    size_kb bigint GENERATED ALWAYS AS (file_size DIV 1024) STORED,
    filename varchar(500) DEFAULT NULL,
    created_at timestamp NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY user_id (user_id),
    CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id)
);
CREATE VIEW active_users AS SELECT id, email FROM users WHERE is_active = 1;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email);
"#;

/// `mysqldump` (or `mariadb-dump`) of the MariaDB database at `url`.
fn mysqldump(url: &str) -> Option<String> {
    let program = require_tool(
        &["mariadb-dump", "mysqldump"],
        "Debian package `mariadb-client`",
    )?;
    let u = url::Url::parse(url).unwrap();
    let mut args = vec![
        "--no-data".to_string(),
        "--protocol=TCP".to_string(),
        format!("--host={}", u.host_str().unwrap()),
        format!("--port={}", u.port().unwrap_or(3306)),
        format!("--user={}", u.username()),
    ];
    if let Some(p) = u.password() {
        args.push(format!("--password={p}"));
    }
    args.push(u.path().trim_start_matches('/').to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dump = tool_output(&program, &args);
    assert!(
        dump.contains("DELIMITER ;;"),
        "the dump should hold the trigger:\n{dump}"
    );
    Some(dump)
}

const MARIADB_DUMP: Dump = Dump {
    schema: MARIADB_SCHEMA,
    source: "{sql: [schema.sql]}",
    extra: "",
    tables: 3,
    change: "ALTER TABLE export_logs DROP COLUMN filename; ALTER TABLE users MODIFY kind enum('csv','json') DEFAULT 'csv'; ALTER TABLE users DROP INDEX email; CREATE INDEX by_size ON export_logs (file_size); ALTER TABLE export_logs DROP FOREIGN KEY fk_user; ALTER TABLE users DROP CONSTRAINT users_score_range;",
    failing: "",
    want: &[
        (DriftKind::MissingColumn, "export_logs", Some("filename")),
        (DriftKind::TypeMismatch, "users", Some("kind")),
        (DriftKind::MissingUniqueConstraint, "users", None),
        (DriftKind::UnexpectedIndex, "export_logs", None),
        (DriftKind::MissingForeignKey, "export_logs", None),
        (DriftKind::MissingCheckConstraint, "users", None),
    ],
    operator: "",
};

#[tokio::test]
async fn mysqldump_of_a_real_mariadb_schema_is_an_expectation_with_zero_drift() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    dump_round_trip(&db, &MARIADB_DUMP, || mysqldump(&db.url)).await;
}

const SQLITE_SCHEMA: &str = r#"
CREATE TABLE users (
    id integer PRIMARY KEY AUTOINCREMENT,
    email varchar(254) NOT NULL UNIQUE,
    "DisplayName" text,
    is_active bool NOT NULL DEFAULT TRUE,
    score real DEFAULT -1.5 CHECK (score >= -10),
    created_at datetime DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT users_email_shape CHECK (email LIKE '%@%')
);
CREATE TABLE export_logs (
    id integer NOT NULL PRIMARY KEY,
    user_id integer REFERENCES users (id),
    file_size bigint,
    filename varchar(500)
);
CREATE TABLE pairs (a text, b text, note, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE INDEX export_logs_user ON export_logs (user_id);
CREATE VIEW active_users AS SELECT id, email FROM users WHERE is_active;
CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN UPDATE users SET created_at = CURRENT_TIMESTAMP WHERE id = NEW.id; END;
CREATE VIRTUAL TABLE search USING fts5(title, body UNINDEXED, tokenize = 'porter ascii');
CREATE VIRTUAL TABLE boxes USING rtree(id, min_x, max_x, +label);
"#;

const SQLITE_DUMP: Dump = Dump {
    schema: SQLITE_SCHEMA,
    // A single file may be given without a list.
    source: "{sql: schema.sql}",
    extra: "",
    // The virtual tables count; their shadow tables (`search_data`, `boxes_node`, ...), which
    // `.schema` lists as tables, are the module's storage on both sides.
    tables: 6,
    change:
        "ALTER TABLE export_logs DROP COLUMN filename; ALTER TABLE users ADD COLUMN extra integer CHECK (extra > 0); DROP INDEX export_logs_user; CREATE UNIQUE INDEX users_name ON users (\"DisplayName\"); DROP TABLE pairs; CREATE TABLE pairs (a text REFERENCES users (email), b text, note, PRIMARY KEY (a, b)) WITHOUT ROWID;",
    failing: "",
    want: &[
        (DriftKind::MissingColumn, "export_logs", Some("filename")),
        (DriftKind::UnexpectedColumn, "users", Some("extra")),
        (DriftKind::UnexpectedUniqueConstraint, "users", None),
        (DriftKind::MissingIndex, "export_logs", None),
        (DriftKind::UnexpectedForeignKey, "pairs", None),
        (DriftKind::UnexpectedCheckConstraint, "users", None),
    ],
    // SQLite drops a foreign key only by rebuilding the table, as the suggestion says.
    operator: "DROP TABLE pairs; CREATE TABLE pairs (a text, b text, note, PRIMARY KEY (a, b)) WITHOUT ROWID;",
};

#[tokio::test]
async fn sqlite3_schema_output_is_an_expectation_with_zero_drift() {
    let db = Sqlite::new();
    dump_round_trip(&db, &SQLITE_DUMP, || {
        let sqlite3 = require_tool(&["sqlite3"], "Debian package `sqlite3`")?;
        Some(tool_output(
            &sqlite3,
            &[db.path.to_str().unwrap(), ".schema"],
        ))
    })
    .await;
}

/// Key shapes each of which once read as drift against the database's own dump, or was lost
/// when recreated: a collation or an operator class on a key part, a `CASE` expression (pg_dump
/// keeps parentheses the pretty printer drops), `INCLUDE`, `NULLS NOT DISTINCT`, a deferrable
/// key, a part sorted `DESC NULLS LAST`, storage parameters on a constraint, an exclusion
/// constraint, a partitioned table (pg_dump writes `CREATE INDEX ... ON ONLY`), a materialized
/// view `WITH NO DATA` with an index, `INITIALLY DEFERRED`, and keys foreign keys need (one made
/// again another way, whose drop waits for the foreign key; one missing with its foreign key).
const PG_KEYS: &str = r#"
CREATE EXTENSION btree_gist;
CREATE TABLE t (id int, a int, b int, c text, name text COLLATE "C",
                CONSTRAINT t_pk PRIMARY KEY (id) INCLUDE (a) DEFERRABLE);
ALTER TABLE t ADD CONSTRAINT t_nnd UNIQUE NULLS NOT DISTINCT (a, b);
ALTER TABLE t ADD CONSTRAINT t_inc UNIQUE (b) INCLUDE (c) WITH (fillfactor = 70);
CREATE INDEX t_coll ON t (name COLLATE "C");
CREATE INDEX t_coll2 ON t (lower(name) COLLATE "C");
CREATE INDEX t_ops ON t (c text_pattern_ops);
CREATE INDEX t_desc ON t (c DESC NULLS LAST, id);
CREATE INDEX t_case ON t ((CASE WHEN id > 0 THEN 'p' ELSE 'n' END));
CREATE TABLE booking (id int PRIMARY KEY, room int, during tstzrange,
                      EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (id > 0) DEFERRABLE);
CREATE TABLE tgt (id int PRIMARY KEY, a int, CONSTRAINT tgt_a UNIQUE (a) DEFERRABLE);
CREATE TABLE ev (id int, k int, tgt_id int, note text, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE ev1 PARTITION OF ev FOR VALUES IN (1);
CREATE INDEX ev_note ON ev (note);
ALTER TABLE ev ADD CONSTRAINT ev_uk UNIQUE (k, id);
ALTER TABLE ev ADD CONSTRAINT ev_tgt FOREIGN KEY (tgt_id) REFERENCES tgt (id);
CREATE MATERIALIZED VIEW ids AS SELECT id FROM t WITH NO DATA;
CREATE UNIQUE INDEX ids_id ON ids (id);
CREATE TABLE dfr (id int PRIMARY KEY, slug text,
                  CONSTRAINT dfr_slug UNIQUE (slug) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE refs (id int PRIMARY KEY, b int CONSTRAINT refs_b REFERENCES t (b));
CREATE TABLE up (id int PRIMARY KEY, code text CONSTRAINT up_code UNIQUE);
CREATE EXTENSION "uuid-ossp";
CREATE FUNCTION f_un(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT t $$;
CREATE DOMAIN flag AS boolean;
CREATE TABLE docs (id int PRIMARY KEY, data jsonb, at timestamptz, email varchar(50),
                   uid uuid DEFAULT uuid_generate_v4(), r double precision DEFAULT random() * (10 + 1),
                   q text DEFAULT 'it''s', f flag DEFAULT 'f');
CREATE INDEX docs_un ON docs (f_un(email));
CREATE INDEX docs_n ON docs (((data->>'n')::int));
CREATE INDEX docs_day ON docs (((at AT TIME ZONE 'UTC')::date));
CREATE INDEX docs_email ON docs (lower(email));
CREATE TABLE down (id int PRIMARY KEY,
                   code text CONSTRAINT down_code REFERENCES up (code) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE kid (id int PRIMARY KEY, up_id int CONSTRAINT kid_up REFERENCES up (id) DEFERRABLE);
CREATE TABLE pev (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE pev1 PARTITION OF pev FOR VALUES IN (1);
CREATE TABLE node (id int, x int, up_id int, up_x int, CONSTRAINT node_pk PRIMARY KEY (id, x),
                   CONSTRAINT node_up FOREIGN KEY (up_id, up_x) REFERENCES node (id, x));
CREATE TABLE leaf (id int PRIMARY KEY, a int, b int,
                   CONSTRAINT leaf_node FOREIGN KEY (a, b) REFERENCES node (id, x) ON DELETE CASCADE);
INSERT INTO node VALUES (1, 1, NULL, NULL), (2, 1, 1, 1);
INSERT INTO leaf VALUES (1, 2, 1);
INSERT INTO t VALUES (1, 1, 1, 'x', 'n'), (2, 2, NULL, 'y', 'm');
INSERT INTO tgt VALUES (1);
INSERT INTO ev VALUES (1, 1, 1, 'a');
"#;

const PG_KEYS_DUMP: Dump = Dump {
    schema: PG_KEYS,
    source: "{sql: [schema.sql]}",
    extra: "",
    tables: 14,
    // Each key made again without what set it apart, which reads as in sync unless compared;
    // and on the partitioned table, drift whose fixes must do without CONCURRENTLY and NOT VALID.
    change: "ALTER TABLE t DROP CONSTRAINT t_nnd; ALTER TABLE t ADD CONSTRAINT t_nnd UNIQUE (a, b);
        ALTER TABLE t DROP CONSTRAINT t_inc CASCADE; ALTER TABLE t ADD CONSTRAINT t_inc UNIQUE (b);
        ALTER TABLE refs ADD CONSTRAINT refs_b FOREIGN KEY (b) REFERENCES t (b);
        ALTER TABLE down DROP CONSTRAINT down_code; ALTER TABLE up DROP CONSTRAINT up_code;
        DROP INDEX docs_n; CREATE INDEX docs_n ON docs ((data->>'n'));
        ALTER TABLE kid DROP CONSTRAINT kid_up;
        ALTER TABLE kid ADD CONSTRAINT kid_up FOREIGN KEY (up_id) REFERENCES up (id);
        ALTER TABLE t DROP CONSTRAINT t_pk; ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY (id);
        DROP INDEX t_desc; CREATE INDEX t_desc ON t (c, id);
        DROP INDEX ev_note; ALTER TABLE ev DROP CONSTRAINT ev_tgt;
        CREATE INDEX ev_only ON ONLY ev (k);
        ALTER TABLE ev DROP CONSTRAINT ev_uk; ALTER TABLE ONLY ev ADD CONSTRAINT ev_uk UNIQUE (k, id);
        ALTER TABLE tgt DROP CONSTRAINT tgt_a; CREATE UNIQUE INDEX tgt_a ON tgt (a);
        ALTER TABLE booking DROP CONSTRAINT booking_room_during_excl;
        ALTER TABLE tgt ADD CONSTRAINT tgt_ex EXCLUDE USING gist (id WITH =);
        ALTER TABLE dfr DROP CONSTRAINT dfr_slug; ALTER TABLE dfr ADD CONSTRAINT dfr_slug UNIQUE (slug) DEFERRABLE;
        ALTER TABLE docs ALTER COLUMN q SET DEFAULT 'it''''s';
        ALTER TABLE pev DROP CONSTRAINT pev_pkey; ALTER TABLE ONLY pev ADD PRIMARY KEY (id, k);
        ALTER TABLE node DROP CONSTRAINT node_pk CASCADE;
        ALTER TABLE node ADD CONSTRAINT node_pk PRIMARY KEY (x, id);
        ALTER TABLE node ADD CONSTRAINT node_up FOREIGN KEY (up_id, up_x) REFERENCES node (id, x);
        ALTER TABLE leaf ADD CONSTRAINT leaf_node FOREIGN KEY (a, b) REFERENCES node (id, x) ON DELETE CASCADE;",
    failing: "",
    want: &[
        (DriftKind::MissingPrimaryKey, "t", None),
        (DriftKind::UnexpectedPrimaryKey, "t", None),
        (DriftKind::MissingUniqueConstraint, "t", None),
        (DriftKind::MissingUniqueConstraint, "t", None),
        (DriftKind::UnexpectedUniqueConstraint, "t", None),
        (DriftKind::UnexpectedUniqueConstraint, "t", None),
        (DriftKind::MissingIndex, "ev", None),
        (DriftKind::MissingIndex, "t", None),
        (DriftKind::UnexpectedIndex, "t", None),
        // Made for the parent alone, with no partition's index attached: not valid.
        (DriftKind::InvalidIndex, "ev", None),
        // A constraint added to the parent alone (`ALTER TABLE ONLY`): not valid either, and
        // dropped as a constraint.
        (DriftKind::InvalidIndex, "ev", None),
        (DriftKind::MissingForeignKey, "ev", None),
        // Only a constraint can be deferrable: that one is added back as a constraint.
        (DriftKind::MissingUniqueConstraint, "tgt", None),
        (DriftKind::UnexpectedUniqueConstraint, "tgt", None),
        (DriftKind::MissingExclusionConstraint, "booking", None),
        (DriftKind::UnexpectedExclusionConstraint, "tgt", None),
        // Deferred at every commit unless a transaction says otherwise: not the same key.
        (DriftKind::MissingUniqueConstraint, "dfr", None),
        (DriftKind::UnexpectedUniqueConstraint, "dfr", None),
        // The key a foreign key of another table needs, and that foreign key: the key first.
        (DriftKind::MissingUniqueConstraint, "up", None),
        (DriftKind::MissingForeignKey, "down", None),
        // The cast is what makes it an index on numbers: without it, another index.
        (DriftKind::MissingIndex, "docs", None),
        (DriftKind::UnexpectedIndex, "docs", None),
        // Django makes every foreign key deferrable; one made again checks at once.
        (DriftKind::MissingForeignKey, "kid", None),
        (DriftKind::UnexpectedForeignKey, "kid", None),
        // Two quotes are not one.
        (DriftKind::DefaultMismatch, "docs", Some("q")),
        // A partitioned table's key made for the parent alone: not valid, made again whole.
        (DriftKind::InvalidIndex, "pev", None),
        // A key of other columns in order, which two foreign keys (one of its own table)
        // rest on: they are dropped before it and added back after.
        (DriftKind::MissingPrimaryKey, "node", None),
        (DriftKind::UnexpectedPrimaryKey, "node", None),
    ],
    operator: "",
};

#[tokio::test]
async fn pg_dump_of_collations_include_partitions_and_exclusions_has_zero_drift() {
    let Some(pg) = Postgres::start().await else {
        return;
    };
    dump_round_trip(&pg, &PG_KEYS_DUMP, || {
        let pg_dump = require_tool(&["pg_dump"], "Debian package `postgresql-client`")?;
        Some(tool_output(
            &pg_dump,
            &["--schema-only", "--dbname", &pg.url],
        ))
    })
    .await;
}

/// MariaDB key shapes: prefix parts (a TEXT column's key needs one), a descending part, and a
/// unique key an unexpected table's foreign key depends on (dropped after that table).
const MARIADB_KEYS: &str = r#"
CREATE TABLE users (
    id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email varchar(255) NOT NULL,
    bio text,
    org int,
    `select` varchar(20),
    UNIQUE KEY users_email (email),
    KEY bio_prefix (bio(20)),
    KEY org_desc (org DESC, `select`),
    UNIQUE KEY u_sel (`select`(5))
) ENGINE=InnoDB;
CREATE TABLE ranks (id int NOT NULL, score int, PRIMARY KEY (id DESC)) ENGINE=InnoDB;
CREATE TABLE child (id int PRIMARY KEY, uid bigint unsigned, KEY child_uid (uid),
                    CONSTRAINT child_fk FOREIGN KEY (uid) REFERENCES users (id)) ENGINE=InnoDB;
CREATE TABLE parent (id int PRIMARY KEY, code varchar(10), UNIQUE KEY parent_code (code)) ENGINE=InnoDB;
CREATE TABLE kid (id int PRIMARY KEY, pcode varchar(10), KEY kid_pcode (pcode),
                  CONSTRAINT kid_parent FOREIGN KEY (pcode) REFERENCES parent (code)) ENGINE=InnoDB;
INSERT INTO parent VALUES (1, 'a');
INSERT INTO kid VALUES (1, 'a');
CREATE TRIGGER users_lower BEFORE INSERT ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email);
INSERT INTO users (email, bio, org, `select`) VALUES ('a@x', 'hello', 1, 'abcdef');
"#;

const MARIADB_KEYS_DUMP: Dump = Dump {
    schema: MARIADB_KEYS,
    source: "{sql: [schema.sql]}",
    extra: "",
    tables: 5,
    change: "ALTER TABLE users DROP INDEX bio_prefix, ADD KEY bio_prefix (bio(40));
        ALTER TABLE kid DROP FOREIGN KEY kid_parent;
        ALTER TABLE parent DROP INDEX parent_code, ADD UNIQUE KEY parent_code (code, id);
        ALTER TABLE kid ADD CONSTRAINT kid_parent FOREIGN KEY (pcode) REFERENCES parent (code);
        ALTER TABLE ranks DROP PRIMARY KEY, ADD PRIMARY KEY (id);
        ALTER TABLE child DROP FOREIGN KEY child_fk;
        ALTER TABLE child DROP INDEX child_uid, ADD KEY child_uid (uid DESC);
        ALTER TABLE child ADD CONSTRAINT child_fk FOREIGN KEY (uid) REFERENCES users (id);
        ALTER TABLE users DROP INDEX org_desc, ADD KEY org_desc (org, `select`);
        ALTER TABLE users ADD UNIQUE KEY org_u (org);
        CREATE TABLE extra (id int PRIMARY KEY, o int, FOREIGN KEY (o) REFERENCES users (org));",
    failing: "",
    want: &[
        (DriftKind::UnexpectedTable, "extra", None),
        (DriftKind::UnexpectedUniqueConstraint, "users", None),
        (DriftKind::MissingIndex, "users", None),
        (DriftKind::MissingIndex, "users", None),
        (DriftKind::UnexpectedIndex, "users", None),
        (DriftKind::UnexpectedIndex, "users", None),
        (DriftKind::MissingPrimaryKey, "ranks", None),
        (DriftKind::UnexpectedPrimaryKey, "ranks", None),
        // The index its foreign key rests on: dropped only while that key is gone (error 1553).
        (DriftKind::MissingIndex, "child", None),
        (DriftKind::UnexpectedIndex, "child", None),
        // The referenced side: a unique key that leads with the referenced column serves the
        // foreign key, which is dropped before it and added back once the key is right.
        (DriftKind::MissingUniqueConstraint, "parent", None),
        (DriftKind::UnexpectedUniqueConstraint, "parent", None),
    ],
    operator: "",
};

#[tokio::test]
async fn mysqldump_of_prefix_and_descending_keys_has_zero_drift() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    dump_round_trip(&db, &MARIADB_KEYS_DUMP, || mysqldump(&db.url)).await;
}

/// SQLite key shapes: collations on key parts (and on a table's `UNIQUE`), descending primary
/// keys (the direction is read from the key's own index; `INTEGER PRIMARY KEY DESC` is no
/// rowid alias and has one), descending parts, and
/// expression indexes, whose text a snapshot reads from the index's own SQL.
const SQLITE_KEYS: &str = r#"
CREATE TABLE s (a text, b int, c text COLLATE NOCASE, d text,
                UNIQUE (a COLLATE NOCASE), PRIMARY KEY (b DESC));
CREATE INDEX s_desc ON s (a COLLATE BINARY DESC, b);
CREATE INDEX s_coll ON s (d COLLATE NOCASE);
CREATE INDEX s_expr ON s (b + 1);
CREATE INDEX s_lower ON s (lower(d));
CREATE TABLE w (k text, j int, PRIMARY KEY (k DESC, j)) WITHOUT ROWID;
CREATE TABLE r (id INTEGER PRIMARY KEY DESC, x text);
"#;

const SQLITE_KEYS_DUMP: Dump = Dump {
    schema: SQLITE_KEYS,
    source: "{sql: schema.sql}",
    extra: "",
    tables: 3,
    // A primary key's direction is compared too: `w` rebuilt ascending is another key.
    change: "DROP INDEX s_desc; CREATE INDEX s_desc ON s (a, b);
        DROP INDEX s_expr; CREATE INDEX s_expr ON s (b + 2);
        DROP TABLE w; CREATE TABLE w (k text, j int, PRIMARY KEY (k, j)) WITHOUT ROWID;",
    failing: "",
    want: &[
        (DriftKind::MissingIndex, "s", None),
        (DriftKind::MissingIndex, "s", None),
        (DriftKind::UnexpectedIndex, "s", None),
        (DriftKind::UnexpectedIndex, "s", None),
        (DriftKind::MissingPrimaryKey, "w", None),
        (DriftKind::UnexpectedPrimaryKey, "w", None),
    ],
    // SQLite changes a primary key only by rebuilding the table, which its suggestion says.
    operator:
        "DROP TABLE w; CREATE TABLE w (k text, j int, PRIMARY KEY (k DESC, j)) WITHOUT ROWID;",
};

#[tokio::test]
async fn sqlite3_schema_of_collations_and_descending_keys_has_zero_drift() {
    let db = Sqlite::new();
    dump_round_trip(&db, &SQLITE_KEYS_DUMP, || {
        let sqlite3 = require_tool(&["sqlite3"], "Debian package `sqlite3`")?;
        Some(tool_output(
            &sqlite3,
            &[db.path.to_str().unwrap(), ".schema"],
        ))
    })
    .await;
}

/// SQLite keeps an index's SQL as written, and some of it the SQL parser cannot read (any words
/// are a type to SQLite; `NOT GLOB`); `x ISNULL` it reads as a column with an operator class.
/// The snapshot still states each expression, so a changed one is drift, never "any
/// expression"; `ISNULL` loads from the schema dump too.
#[tokio::test]
async fn sqlite_expressions_the_parser_cannot_read_are_compared_as_written() {
    let db = Sqlite::new();
    db.exec(
        "CREATE TABLE s (a text, b int);
         CREATE INDEX s_glob ON s (a NOT GLOB 'x*');
         CREATE INDEX s_cast ON s (CAST(b AS UNSIGNED BIG INT) DESC, a);
         CREATE INDEX s_null ON s (a ISNULL);",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config_with_expected(dir.path(), "app", db.url(), "tables: {}\n", "", "");
    let file = dir.path().join("expected.yaml");
    common::snapshot(&cfg, "app", &["-o", file.to_str().unwrap()]);
    let snap = std::fs::read_to_string(&file).unwrap();
    for want in [
        "{expression: \"a NOT GLOB 'x*'\"}",
        "{expression: \"CAST(b AS UNSIGNED BIG INT)\", order: desc}",
        "{expression: \"a ISNULL\"}",
    ] {
        assert!(snap.contains(want), "lacks {want}:\n{snap}");
    }
    assert!(!snap.contains("expression: null"), "{snap}");
    assert!(common::check_config(&cfg).await.in_sync());
    // The dump: `ISNULL` is an expression on both sides.
    db.exec("DROP INDEX s_glob; DROP INDEX s_cast;").await;
    if let Some(sqlite3) = require_tool(&["sqlite3"], "Debian package `sqlite3`") {
        let sql_dir = tempfile::tempdir().unwrap();
        write(
            sql_dir.path(),
            "schema.sql",
            &tool_output(&sqlite3, &[db.path.to_str().unwrap(), ".schema"]),
        );
        let sql_cfg = config(sql_dir.path(), db.url(), "{sql: schema.sql}", "");
        let report = common::check_config(&sql_cfg).await;
        assert!(report.in_sync(), "{:#?}", report.items);
    }
    db.exec(
        "CREATE INDEX s_glob ON s (a NOT GLOB 'y*');
         CREATE INDEX s_cast ON s (CAST(b AS UNSIGNED BIG INT) DESC, a);",
    )
    .await;
    let report = common::check_config(&cfg).await;
    assert_eq!(
        common::found(&report),
        vec![
            item(DriftKind::MissingIndex, "s", None),
            item(DriftKind::UnexpectedIndex, "s", None),
        ],
        "{:#?}",
        report.items
    );
}

/// Writes `files` (name, contents) into a new folder `dir/name` and returns its path.
fn folder(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    for (file, text) in files {
        std::fs::write(path.join(file), text).unwrap();
    }
    path
}

/// Builds `db` by running `applied` (what the migration tool runs, in its order), then checks it
/// against `files` as the migration directory `name`: zero drift over `tables` tables. Returns
/// what `snapshot --expected` shows of the directory, for what the test expects the migrations to
/// have resolved to.
async fn migrations_round_trip(
    db: &impl EngineDb,
    name: &str,
    files: &[(&str, &str)],
    applied: &[&str],
    tables: usize,
) -> String {
    for sql in applied {
        db.exec(sql).await;
    }
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), name, files);
    let cfg = config(dir.path(), db.url(), &format!("{{sql: [{name}]}}"), "");
    let report = common::check_config(&cfg).await;
    assert!(report.in_sync(), "{:#?}", report.items);
    assert_eq!(
        report.expected_tables.len(),
        tables,
        "{:#?}",
        report.expected_tables
    );
    common::snapshot(&cfg, "app", &["--expected"])
}

/// The contents of the files named `names` in `files`, in that order.
fn contents<'a>(files: &[(&str, &'a str)], names: &[&str]) -> Vec<&'a str> {
    names
        .iter()
        .map(|name| files.iter().find(|(n, _)| n == name).unwrap().1)
        .collect()
}

/// Flyway naming. V10 alters what V2 added, so plain string order (V10 before V1 and V2) fails.
const FLYWAY: &[(&str, &str)] = &[
    (
        "V1__create_users.sql",
        "CREATE TABLE users (id bigserial PRIMARY KEY, email varchar(100) NOT NULL, name text);\nCREATE TABLE export_logs (id serial PRIMARY KEY, user_id bigint, created_at timestamptz DEFAULT now());\n",
    ),
    (
        "V2__add_file_size.sql",
        "ALTER TABLE export_logs ADD COLUMN file_size integer;\nALTER TABLE export_logs ADD COLUMN legacy text;\n",
    ),
    (
        "V10__reshape.sql",
        "ALTER TABLE export_logs ALTER COLUMN file_size TYPE bigint;\nALTER TABLE export_logs ALTER COLUMN file_size SET DEFAULT 0;\nALTER TABLE export_logs ALTER COLUMN file_size SET NOT NULL;\nALTER TABLE export_logs DROP COLUMN legacy;\nALTER TABLE users RENAME COLUMN name TO display_name;\nALTER TABLE users ALTER COLUMN email TYPE varchar(254), ALTER COLUMN email DROP NOT NULL;\nCREATE TABLE tmp_import (id int);\nALTER TABLE tmp_import RENAME TO imports;\nCREATE INDEX users_email_lower ON users (lower(email));\nCREATE TABLE docs (id int, data jsonb, at timestamp);\nCREATE INDEX docs_n ON docs (((data->>'n')::int));\nCREATE INDEX docs_day ON docs ((at::date), (data->'tags'));\nCREATE INDEX docs_trunc ON docs ((date_trunc('day', at::timestamp)));\nCREATE TABLE slots (id int, b text, at timestamp, d date, wait interval DEFAULT interval '90 minutes', since date DEFAULT date '2020-1-2', CONSTRAINT slots_long CHECK (at > timestamp '2020-01-01'));\nCREATE INDEX slots_b ON slots ((CAST(b AS integer)));\nCREATE INDEX slots_week ON slots ((at + interval '1 week 2 days'), (at > timestamp '2020-1-1 10:00'));\nCREATE INDEX slots_d ON slots ((d + CAST(id AS integer) > date '2020-1-2'));\nALTER TABLE slots ADD COLUMN flag boolean DEFAULT 'false', ADD COLUMN v varchar(20), ADD COLUMN v2 varchar(20), ADD COLUMN mx int;\nCREATE INDEX slots_name ON slots ((coalesce(v, '') || coalesce(v2, '')), (trim(b)), (id BETWEEN 0 AND mx - 1), (b IN ('x')), (CASE WHEN id > 0 THEN 'p' END));\nALTER TABLE slots ADD COLUMN tok text DEFAULT md5(random()::text), ADD COLUMN secs int DEFAULT 60 * 60 * 24, ADD COLUMN kind text DEFAULT CASE WHEN true THEN 'a' ELSE 'b' END, ADD COLUMN knex boolean DEFAULT '0', ADD COLUMN alembic boolean DEFAULT 'False', ADD COLUMN data jsonb;\nCREATE INDEX slots_score ON slots (((data->>'score')::float), ((data->>'n')::numeric(10)));\n",
    ),
    (
        "R__views.sql",
        "CREATE OR REPLACE VIEW recent_exports AS SELECT id, created_at FROM export_logs;\n",
    ),
    // Undo migrations are not applied on the way up.
    ("U10__undo_reshape.sql", "ALTER TABLE export_logs ADD COLUMN legacy text;\n"),
];

#[tokio::test]
async fn a_flyway_directory_applied_in_version_order_equals_the_database_it_built() {
    let Some(pg) = Postgres::start().await else {
        return;
    };
    let applied = contents(
        FLYWAY,
        &[
            "V1__create_users.sql",
            "V2__add_file_size.sql",
            "V10__reshape.sql",
            "R__views.sql",
        ],
    );
    // The resolved expectation, as `snapshot --expected` shows it.
    let out = migrations_round_trip(&pg, "migrations", FLYWAY, &applied, 6).await;
    for want in [
        "file_size: {type: bigint, nullable: false, default: \"0\"}",
        "display_name: {type: text, nullable: true, default: null}",
        "email: {type: varchar(254), nullable: true, default: null}",
        "imports:",
        "recent_exports: {}",
    ] {
        assert!(out.contains(want), "lacks {want}:\n{out}");
    }
    assert!(
        !out.contains("legacy") && !out.contains("tmp_import"),
        "{out}"
    );
}

/// sqlx-style reversible migrations without zero padding (10 after 2), the last one a Django-style
/// SQLite table rebuild.
const SQLX: &[(&str, &str)] = &[
    (
        "1_create.up.sql",
        "CREATE TABLE export_logs (id integer PRIMARY KEY, user_id varchar(255), filename varchar(500));\nCREATE TABLE notes (id integer PRIMARY KEY, body text);\n",
    ),
    ("1_create.down.sql", "DROP TABLE export_logs;\n"),
    (
        "2_add_size.up.sql",
        "ALTER TABLE export_logs ADD COLUMN file_size bigint;\nALTER TABLE export_logs ADD COLUMN junk text;\nALTER TABLE notes RENAME COLUMN body TO text_body;\n",
    ),
    ("2_add_size.down.sql", "ALTER TABLE export_logs DROP COLUMN file_size;\n"),
    (
        "10_rebuild.up.sql",
        "CREATE TABLE \"new__export_logs\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \"user_id\" varchar(255) NOT NULL, \"file_size\" bigint NULL, \"name\" varchar(500) NULL);\nINSERT INTO \"new__export_logs\" (\"id\", \"user_id\", \"file_size\", \"name\") SELECT \"id\", \"user_id\", \"file_size\", \"filename\" FROM \"export_logs\";\nDROP TABLE \"export_logs\";\nALTER TABLE \"new__export_logs\" RENAME TO \"export_logs\";\nCREATE INDEX \"export_logs_user_id\" ON \"export_logs\" (\"user_id\");\n",
    ),
    ("10_rebuild.down.sql", "DROP TABLE export_logs;\n"),
];

#[tokio::test]
async fn sqlx_migrations_with_a_table_rebuild_equal_the_sqlite_database_they_built() {
    let applied = contents(
        SQLX,
        &["1_create.up.sql", "2_add_size.up.sql", "10_rebuild.up.sql"],
    );
    let out = migrations_round_trip(&Sqlite::new(), "migrations", SQLX, &applied, 2).await;
    assert!(
        out.contains("name: {type: varchar(500), nullable: true, default: null}"),
        "{out}"
    );
    assert!(!out.contains("new__") && !out.contains("junk"), "{out}");
}

/// Wagtail's search migration on SQLite creates an fts5 table: SQLite adds its shadow tables,
/// which are neither expected nor drift (a `DROP TABLE` for them would break search), and the
/// virtual table's columns are compared by name.
#[tokio::test]
async fn an_fts5_table_from_a_migration_is_expected_and_its_shadow_tables_are_not_drift() {
    const WAGTAIL: &[(&str, &str)] = &[
        (
            "0001_initial.sql",
            "CREATE TABLE \"wagtailsearch_indexentry\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \"object_id\" varchar(50) NOT NULL);\n",
        ),
        (
            "0002_fts.sql",
            "CREATE VIRTUAL TABLE IF NOT EXISTS wagtailsearch_indexentry_fts USING fts5(autocomplete, body, title, content='', tokenize = 'porter unicode61');\n",
        ),
    ];
    let db = Sqlite::new();
    let applied = contents(WAGTAIL, &["0001_initial.sql", "0002_fts.sql"]);
    let out = migrations_round_trip(&db, "migrations", WAGTAIL, &applied, 2).await;
    assert!(out.contains("wagtailsearch_indexentry_fts"), "{out}");
    assert!(
        !out.contains("_fts_"),
        "shadow tables are not expected:\n{out}"
    );
    // A column the live virtual table lacks is drift like any other.
    db.exec("DROP TABLE wagtailsearch_indexentry_fts; CREATE VIRTUAL TABLE wagtailsearch_indexentry_fts USING fts5(autocomplete, body);")
        .await;
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), "migrations", WAGTAIL);
    let cfg = config(dir.path(), db.url(), "{sql: [migrations]}", "");
    assert_drift(
        &cfg,
        vec![item(
            DriftKind::MissingColumn,
            "wagtailsearch_indexentry_fts",
            Some("title"),
        )],
    )
    .await;
}

/// dbmate keeps both directions in one file; only the part before `-- migrate:down` runs. MariaDB's
/// MODIFY, CHANGE and RENAME TABLE.
const DBMATE: &[(&str, &str)] = &[
    (
        "20240101000000_create.sql",
        "-- migrate:up\nCREATE TABLE export_logs (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id varchar(100), size int);\nCREATE TABLE tmp_things (id int);\n\n-- migrate:down\nDROP TABLE export_logs;\n",
    ),
    (
        "20240102000000_reshape.sql",
        "-- migrate:up\nALTER TABLE export_logs MODIFY user_id varchar(255) NOT NULL;\nALTER TABLE export_logs CHANGE size file_size bigint DEFAULT NULL;\nRENAME TABLE tmp_things TO things;\nALTER TABLE things ADD COLUMN label varchar(20) NOT NULL DEFAULT 'x' AFTER id;\n\n-- migrate:down\nALTER TABLE export_logs DROP COLUMN file_size;\n",
    ),
];

#[tokio::test]
async fn dbmate_migrations_equal_the_mariadb_database_they_built() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    let applied: Vec<&str> = DBMATE
        .iter()
        .map(|(_, sql)| sql.split("-- migrate:down").next().unwrap())
        .collect();
    let out = migrations_round_trip(&db, "db/migrations", DBMATE, &applied, 2).await;
    for want in [
        "user_id: {type: varchar(255), nullable: false",
        "file_size: {type: bigint, nullable: true",
        "label: {type: varchar(20), nullable: false, default: \"'x'\"}",
    ] {
        assert!(out.contains(want), "lacks {want}:\n{out}");
    }
    assert!(!out.contains("tmp_things"), "{out}");
}

#[test]
fn every_sql_source_error_names_its_file_line_or_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    folder(
        dir.path(),
        "broken",
        &[
            ("0001_a.sql", "CREATE TABLE t (a int);\n"),
            (
                "0002_b.sql",
                "-- add two\nALTER TABLE t ADD COLUMN b int,, c int;\n",
            ),
        ],
    );
    folder(
        dir.path(),
        "stray",
        &[
            ("0001_a.sql", "CREATE TABLE t (a int);\n"),
            ("notes.sql", ""),
        ],
    );
    let cases = [
        (
            "{sql: [missing.sql]}",
            "cannot read expected schema ",
            "missing.sql: No such file",
        ),
        (
            "{sql: [empty]}",
            "empty: the directory holds no migration files",
            "",
        ),
        (
            "{sql: [broken]}",
            "0002_b.sql:2: statement `ALTER TABLE t ADD COLUMN b int,, c int`",
            "",
        ),
        (
            "{sql: [stray]}",
            "stray: notes.sql: no migration version",
            "",
        ),
        (
            "{sql: []}",
            "expected.sql: list at least one file or directory",
            "",
        ),
        (
            "{reference: nowhere}",
            "expected.reference: no database named \"nowhere\" is configured (configured: app)",
            "",
        ),
        (
            "{reference: app}",
            "a database cannot be its own reference",
            "",
        ),
        (
            "{file: e.yaml, sql: [x.sql]}",
            "expected: exactly one source is required (one of: file, sql, reference)",
            "",
        ),
    ];
    for (expected, want, also) in cases {
        let cfg = config(dir.path(), "sqlite:app.db", expected, "");
        let (code, out, err) = run(&["validate", "--config.file", &cfg]);
        assert_eq!(code, 2, "{expected}: {out}{err}");
        assert!(
            err.contains(want) && err.contains(also),
            "{expected}: {err}"
        );
    }
}

#[tokio::test]
async fn framework_migration_tables_are_ignored_unless_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    common::sqlite_exec(&db, "CREATE TABLE t (id integer); CREATE TABLE django_migrations (id integer); CREATE TABLE _sqlx_migrations (version bigint); CREATE TABLE alembic_version (v text);").await;
    write(dir.path(), "schema.sql", "CREATE TABLE t (id integer);\n");
    let cfg = config(dir.path(), "sqlite:app.db", "{sql: [schema.sql]}", "");
    let report = common::check_config(&cfg).await;
    assert!(report.in_sync(), "{:#?}", report.items);
    let cfg = config(
        dir.path(),
        "sqlite:app.db",
        "{sql: [schema.sql]}",
        "    ignore: {migration_tables: false}\n",
    );
    let want = ["_sqlx_migrations", "alembic_version", "django_migrations"]
        .map(|t| item(DriftKind::UnexpectedTable, t, None));
    assert_drift(&cfg, want.to_vec()).await;
}

const TEMPLATE: &str = "CREATE TABLE accounts (id integer PRIMARY KEY, email varchar(254) NOT NULL UNIQUE, plan text DEFAULT 'free', created_at datetime);\nCREATE TABLE invoices (id integer PRIMARY KEY, amount numeric(10,2) NOT NULL);";

#[tokio::test]
async fn a_reference_database_of_the_same_engine_is_compared_in_full() {
    let dir = tempfile::tempdir().unwrap();
    common::sqlite_exec(&dir.path().join("template.db"), TEMPLATE).await;
    common::sqlite_exec(
        &dir.path().join("tenant.db"),
        "CREATE TABLE accounts (id integer PRIMARY KEY, email text NOT NULL, plan text DEFAULT 'free');\nCREATE TABLE invoices (id integer PRIMARY KEY, amount numeric(10,2) NOT NULL);\nCREATE INDEX by_plan ON accounts (plan);",
    )
    .await;
    let cfg = write(
        dir.path(),
        "c.yaml",
        "databases:\n  - name: tenant_a\n    url: sqlite:tenant.db\n    expected: {reference: template}\n  - name: template\n    url: sqlite:template.db\n    expected: {sql: [template.sql]}\n",
    );
    write(dir.path(), "template.sql", TEMPLATE);
    assert_drift(
        &cfg,
        vec![
            item(DriftKind::MissingColumn, "accounts", Some("created_at")),
            item(DriftKind::TypeMismatch, "accounts", Some("email")),
            item(DriftKind::MissingUniqueConstraint, "accounts", None),
            item(DriftKind::UnexpectedIndex, "accounts", None),
        ],
    )
    .await;
    let out = common::snapshot(&cfg, "tenant_a", &["--expected"]);
    assert!(out.contains("from reference database template"), "{out}");
    assert!(
        out.contains("email: {type: varchar(254), nullable: false, default: null}"),
        "{out}"
    );

    // A reference that cannot be read fails the check and says which database it was.
    std::fs::remove_file(dir.path().join("template.db")).unwrap();
    let error = common::try_check_config(&cfg).await.unwrap_err();
    assert!(
        error.starts_with("expected schema: reference database \"template\": "),
        "{error}"
    );
}

#[tokio::test]
async fn a_reference_on_another_engine_compares_presence_and_nullability_only() {
    let Some(pg) = Postgres::start().await else {
        return;
    };
    pg.exec("CREATE TABLE accounts (id bigserial PRIMARY KEY, email varchar(100), plan text NOT NULL DEFAULT 'pro');\nCREATE TABLE invoices (id bigint PRIMARY KEY, amount numeric(10,2) NOT NULL);")
        .await;
    let dir = tempfile::tempdir().unwrap();
    common::sqlite_exec(&dir.path().join("template.db"), TEMPLATE).await;
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!(
            "databases:\n  - name: prod\n    url: {}\n    expected: {{reference: template}}\n  - name: template\n    url: sqlite:template.db\n    expected: {{sql: [template.sql]}}\n",
            pg.url
        ),
    );
    write(dir.path(), "template.sql", TEMPLATE);
    // Types (varchar(100) vs varchar(254), bigint vs integer) and defaults ('pro' vs 'free') do not
    // carry across engines; a missing column and nullability do.
    let want = vec![
        item(DriftKind::MissingColumn, "accounts", Some("created_at")),
        item(DriftKind::NullableMismatch, "accounts", Some("email")),
        item(DriftKind::NullableMismatch, "accounts", Some("plan")),
    ];
    assert_drift(&cfg, want).await;
    // And it says so wherever the source is shown.
    let out = common::snapshot(&cfg, "prod", &["--expected"]);
    assert!(
        out.contains("reference database template (another engine: tables, columns and nullability are compared; types and defaults are not)"),
        "{out}"
    );
    assert!(out.contains("email: {nullable: false}"), "{out}");
}

#[test]
fn new_migration_files_are_picked_up_and_the_change_time_moves_only_with_content() {
    let dir = tempfile::tempdir().unwrap();
    common::block_on(common::sqlite_exec(
        &dir.path().join("app.db"),
        "CREATE TABLE t (a integer, b text);",
    ));
    let migrations = folder(
        dir.path(),
        "migrations",
        &[("0001_t.sql", "CREATE TABLE t (a integer);\n")],
    );
    let cfg = write(
        dir.path(),
        "c.yaml",
        "interval: 1s\ntimeout: 900ms\ndatabases:\n  - name: app\n    url: sqlite:app.db\n    expected: {sql: [migrations]}\n",
    );
    let daemon = common::Daemon::serve(&cfg);
    let unexpected = r#"schema_unexpected_columns{database="app",schema="main",table="t"}"#;
    let changed = r#"schema_expected_last_change_timestamp_seconds{database="app"}"#;
    let checks = r#"schema_checks_total{database="app"}"#;
    let in_sync = r#"schema_in_sync{database="app"}"#;
    daemon.wait_sample(unexpected, 1.0);
    let first = daemon.sample(changed).unwrap();

    // A deploy ships the next migration: no restart, the drift goes, the change time moves.
    std::fs::write(
        migrations.join("0002_b.sql"),
        "ALTER TABLE t ADD COLUMN b text;\n",
    )
    .unwrap();
    daemon.wait_sample(in_sync, 1.0);
    // An in-sync table keeps one series, its missing-columns 0; the other gauges go.
    assert_eq!(daemon.sample(unexpected), None);
    let missing = r#"schema_missing_columns{database="app",schema="main",table="t"}"#;
    assert_eq!(daemon.sample(missing), Some(0.0));
    let second = daemon.sample(changed).unwrap();
    assert!(second > first, "{second} > {first}");

    // Rewording a file without changing what it builds does not move it.
    std::fs::write(
        migrations.join("0001_t.sql"),
        "-- the first table\nCREATE TABLE t (\n  a integer\n);\n",
    )
    .unwrap();
    let seen = daemon.sample(checks).unwrap();
    common::wait_for(common::WAIT, "two more checks", || {
        (daemon.sample(checks)? >= seen + 2.0).then_some(())
    });
    assert_eq!(daemon.sample(changed), Some(second));
    assert_eq!(daemon.sample(in_sync), Some(1.0));
}

#[test]
fn validate_resolves_references_by_name_without_connecting() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: validate must not try.
    let closed = common::free_port();
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!("databases:\n  - name: tenant\n    url: sqlite:t.db\n    expected: {{reference: template}}\n  - name: template\n    url: postgres://u@127.0.0.1:{closed}/app\n    expected: {{sql: [schema.sql]}}\n"),
    );
    write(dir.path(), "schema.sql", "CREATE TABLE t (a int);\n");
    let (code, out, err) = run(&["validate", "--config.file", &cfg]);
    assert_eq!(code, 0, "{out}{err}");

    // A check does read it; the failure names the reference and never its password.
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!("interval: 2s\ntimeout: 1s\ndatabases:\n  - name: tenant\n    url: sqlite:t.db\n    expected: {{reference: template}}\n  - name: template\n    url: postgres://u:Hush-1234@127.0.0.1:{closed}/app\n    expected: {{sql: [schema.sql]}}\n"),
    );
    let (code, out, err) = run(&["check", "--config.file", &cfg, "--database", "tenant"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("reference database \"template\""), "{out}");
    assert!(
        !out.contains("Hush-1234") && !err.contains("Hush-1234"),
        "{out}{err}"
    );

    // A referenced database with problems of its own is reported once, for those problems.
    let cfg = write(
        dir.path(),
        "c.yaml",
        "databases:\n  - name: tenant\n    url: sqlite:t.db\n    expected: {reference: template}\n  - name: template\n    url: oracle://x/app\n    expected: {sql: [schema.sql]}\n",
    );
    let (code, _, err) = run(&["validate", "--config.file", &cfg]);
    assert_eq!(code, 2);
    assert!(
        err.contains("databases[1] (name \"template\"): url:"),
        "{err}"
    );
    assert!(!err.contains("no database named"), "{err}");
}

/// PostgreSQL cuts names to 63 bytes in its lexer (a psql NOTICE says so) and every later statement
/// names the table by its long spelling too: the SQL expectation follows, so the server's own
/// result is in sync. The cut keeps multi-byte characters whole.
#[tokio::test]
async fn postgres_names_over_63_bytes_are_cut_as_the_server_cuts_them() {
    let Some(pg) = Postgres::start().await else {
        return;
    };
    let table = format!("export_logs_{}", "x".repeat(60));
    let column = format!("{}_size", "é".repeat(40));
    let sql = format!(
        "CREATE TABLE {table} (id integer, \"{column}\" bigint);\nALTER TABLE {table} ADD COLUMN note text;\n"
    );
    pg.exec(&sql).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "schema.sql", &sql);
    let cfg = config(dir.path(), pg.url(), "{sql: schema.sql}", "");
    let report = common::check_config(&cfg).await;
    assert!(report.in_sync(), "{:#?}", report.items);
    let out = common::snapshot(&cfg, "app", &["--expected"]);
    assert!(out.contains(&format!("{}:", &table[..63])), "{out}");
    // 31 two-byte characters: the 32nd would end past byte 63.
    assert!(
        out.contains(&"é".repeat(31)) && !out.contains(&"é".repeat(32)),
        "{out}"
    );
}

/// MySQL and MariaDB refuse a name over 64 characters: so does the SQL reader, naming the statement,
/// instead of expecting a table the server never created.
#[tokio::test]
async fn mariadb_names_over_64_characters_are_refused_as_the_server_refuses_them() {
    let Some(db) = MariaDb::start().await else {
        return;
    };
    let sql = format!("CREATE TABLE t (id int, {} int)", "c".repeat(65));
    let pool = sqlx::MySqlPool::connect(db.url()).await.unwrap();
    let refused = sqlx::query(&sql).execute(&pool).await.unwrap_err();
    assert!(refused.to_string().contains("too long"), "{refused}");
    pool.close().await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "schema.sql", &format!("{sql};\n"));
    let cfg = config(dir.path(), db.url(), "{sql: schema.sql}", "");
    let (code, stdout, _) = run(&["check", "--config.file", &cfg]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("schema.sql:1: statement `CREATE TABLE t (id int, ccc")
            && stdout.contains("is longer than 64 characters, which the server refuses"),
        "{stdout}"
    );
}
