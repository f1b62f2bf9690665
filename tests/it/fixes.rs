//! The suggested SQL, applied once in the order listed, repairs the drift: shapes where an order
//! of statements that applies is not the obvious one (keys on columns still to be added, tables
//! that reference each other, foreign keys bound to a key that is made again), each on a real
//! server with rows in its tables.

use crate::common::{self, write, EngineDb, MariaDb, Postgres};

/// One case: the expectation's DDL, the live database's, and what `names: strict` asks.
struct Case {
    what: &'static str,
    expected: &'static str,
    live: &'static str,
    strict: bool,
}

/// Builds the live schema in a fresh database, checks it against the expected DDL, applies
/// every suggested statement (destructive ones too) in order, and checks again: in sync.
async fn repairs<D: EngineDb>(db: &D, case: &Case) {
    db.exec(case.live).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "expected.sql", case.expected);
    let names = if case.strict {
        "    names: strict\n"
    } else {
        ""
    };
    let cfg = write(
        dir.path(),
        "config.yaml",
        &format!(
            "databases:\n  - name: app\n    url: {}\n    expected: {{sql: [expected.sql]}}\n{names}",
            db.url()
        ),
    );
    let report = common::check_config(&cfg).await;
    assert!(!report.in_sync(), "{}: drift to repair", case.what);
    for item in &report.items {
        // A statement may span lines (`CREATE TABLE`); comments between statements are notes.
        let mut statement = String::new();
        for line in item.fix.suggested_sql.lines() {
            let line = line.strip_prefix("-- destructive: ").unwrap_or(line);
            if statement.is_empty() && line.starts_with("--") {
                continue;
            }
            statement.push_str(line);
            statement.push('\n');
            if !line.ends_with(';') {
                continue;
            }
            if let Err(why) = db.try_exec(&statement).await {
                panic!("{}: {statement}: {why}\n{:#?}", case.what, report.items);
            }
            statement.clear();
        }
        assert!(
            statement.is_empty(),
            "{}: unfinished: {statement}",
            case.what
        );
    }
    let after = common::check_config(&cfg).await;
    assert!(
        after.in_sync(),
        "{}: the suggested SQL repairs it: {:#?}\nbefore: {:#?}",
        case.what,
        after.items,
        report.items
    );
}

/// Shapes every engine that checks keys at once shares (PostgreSQL and MariaDB spell them
/// alike here).
const COMMON: &[Case] = &[
    Case {
        what: "a key, an index and a check on columns still to be added",
        expected: "CREATE TABLE parent (id int PRIMARY KEY, code varchar(10), CONSTRAINT parent_code UNIQUE (code));
CREATE TABLE child (id int PRIMARY KEY, qty int, parent_code varchar(10),
    CONSTRAINT child_pc FOREIGN KEY (parent_code) REFERENCES parent (code),
    CONSTRAINT child_qty CHECK (qty > 0));
CREATE INDEX child_pc_qty ON child (parent_code, qty);",
        live: "CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY);
INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1);",
        strict: false,
    },
    Case {
        what: "unexpected tables where one references the other (dropped in name order, the referenced one came first)",
        expected: "CREATE TABLE kept (id int PRIMARY KEY);",
        live: "CREATE TABLE kept (id int PRIMARY KEY);
CREATE TABLE a_parent (id int PRIMARY KEY);
CREATE TABLE b_child (id int PRIMARY KEY, p int, CONSTRAINT b_child_p FOREIGN KEY (p) REFERENCES a_parent (id));
INSERT INTO a_parent VALUES (1); INSERT INTO b_child VALUES (1, 1);",
        strict: false,
    },
    Case {
        what: "two new tables that reference each other",
        expected: "CREATE TABLE a (id int PRIMARY KEY, b_id int);
CREATE TABLE b (id int PRIMARY KEY, a_id int, CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id));
ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b (id);",
        live: "CREATE TABLE other (id int PRIMARY KEY);",
        strict: false,
    },
    Case {
        what: "a primary key replaced by the unique key over its columns, a foreign key resting on it",
        expected: "CREATE TABLE parent (id int NOT NULL, CONSTRAINT parent_id_uq UNIQUE (id));
CREATE TABLE child (id int PRIMARY KEY, parent_id int, CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id));",
        live: "CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int, CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id));
ALTER TABLE parent ADD CONSTRAINT parent_id_uq UNIQUE (id);
INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);",
        strict: false,
    },
    Case {
        what: "a unique key made narrower, foreign keys from two tables resting on it",
        expected: "CREATE TABLE parent (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL, CONSTRAINT parent_ab UNIQUE (a, b));
CREATE TABLE c1 (id int PRIMARY KEY, a int, b int, CONSTRAINT c1_ab FOREIGN KEY (a, b) REFERENCES parent (a, b) ON DELETE CASCADE);
CREATE TABLE c2 (id int PRIMARY KEY, a int, b int, CONSTRAINT c2_ab FOREIGN KEY (a, b) REFERENCES parent (a, b) ON UPDATE CASCADE);",
        live: "CREATE TABLE parent (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL, CONSTRAINT parent_ab UNIQUE (a, b, id));
CREATE TABLE c1 (id int PRIMARY KEY, a int, b int);
CREATE TABLE c2 (id int PRIMARY KEY, a int, b int);
INSERT INTO parent VALUES (1, 1, 1); INSERT INTO c1 VALUES (1, 1, 1); INSERT INTO c2 VALUES (1, 1, 1);",
        strict: false,
    },
    Case {
        what: "a self-referencing foreign key on a unique key renamed under names: strict",
        expected: "CREATE TABLE node (id int PRIMARY KEY, code varchar(10) NOT NULL, parent_code varchar(10),
    CONSTRAINT node_code_uq UNIQUE (code),
    CONSTRAINT node_parent FOREIGN KEY (parent_code) REFERENCES node (code));",
        live: "CREATE TABLE node (id int PRIMARY KEY, code varchar(10) NOT NULL, parent_code varchar(10),
    CONSTRAINT node_code_old UNIQUE (code),
    CONSTRAINT node_parent FOREIGN KEY (parent_code) REFERENCES node (code));
INSERT INTO node VALUES (1, 'a', NULL), (2, 'b', 'a');",
        strict: true,
    },
    Case {
        what: "unexpected tables that reference each other",
        expected: "CREATE TABLE keepme (id int PRIMARY KEY);",
        live: "CREATE TABLE keepme (id int PRIMARY KEY);
CREATE TABLE p (id int PRIMARY KEY, q_id int);
CREATE TABLE q (id int PRIMARY KEY, p_id int, CONSTRAINT q_p FOREIGN KEY (p_id) REFERENCES p (id));
ALTER TABLE p ADD CONSTRAINT p_q FOREIGN KEY (q_id) REFERENCES q (id);
INSERT INTO p VALUES (1, NULL); INSERT INTO q VALUES (1, 1); UPDATE p SET q_id = 1;",
        strict: false,
    },
    Case {
        what: "a column renamed by adding one and dropping the other, a named check on it",
        expected: "CREATE TABLE t (id int PRIMARY KEY, b2 int, CONSTRAINT t_b_ck CHECK (b2 > 0));
CREATE INDEX t_b2_ix ON t (b2);",
        live: "CREATE TABLE t (id int PRIMARY KEY, b int, CONSTRAINT t_b_ck CHECK (b > 0));
INSERT INTO t VALUES (1, 1);",
        strict: false,
    },
    Case {
        what: "new tables, their keys named, under names: strict",
        expected: "CREATE TABLE c (id int NOT NULL, code varchar(10), CONSTRAINT c_pk PRIMARY KEY (id), CONSTRAINT c_code_uq UNIQUE (code));
CREATE TABLE b (id int PRIMARY KEY, c_id int, CONSTRAINT b_c_fk FOREIGN KEY (c_id) REFERENCES c (id));",
        live: "CREATE TABLE other (id int PRIMARY KEY);",
        strict: true,
    },
];

/// PostgreSQL alone: a primary key renamed under `names: strict` (MySQL's is always PRIMARY).
const POSTGRES_ONLY: &[Case] = &[
    Case {
        what: "a primary key renamed under names: strict, a foreign key resting on it",
        expected:
            "CREATE TABLE t (id int NOT NULL, CONSTRAINT t_pk PRIMARY KEY (id));
CREATE TABLE u (id int PRIMARY KEY, t_id int, CONSTRAINT u_t FOREIGN KEY (t_id) REFERENCES t (id));",
        live: "CREATE TABLE t (id int PRIMARY KEY);
CREATE TABLE u (id int PRIMARY KEY, t_id int, CONSTRAINT u_t FOREIGN KEY (t_id) REFERENCES t (id));
INSERT INTO t VALUES (1); INSERT INTO u VALUES (1, 1);",
        strict: true,
    },
    Case {
        what: "a column renamed by adding one and dropping the other, a partial index's predicate on it",
        expected: "CREATE TABLE t (id int PRIMARY KEY, a int, b2 int);
CREATE INDEX t_a_part ON t (a) WHERE b2 > 0;",
        live: "CREATE TABLE t (id int PRIMARY KEY, a int, b int);
CREATE INDEX t_a_part ON t (a) WHERE b > 0;
INSERT INTO t VALUES (1, 1, 1);",
        strict: false,
    },
    Case {
        what: "an identity key column added to a table with rows",
        expected: "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v int);",
        live: "CREATE TABLE t (v int); INSERT INTO t VALUES (1), (2);",
        strict: false,
    },
];

/// MariaDB alone: `MODIFY COLUMN` restates the whole column, AUTO_INCREMENT included.
const MARIADB_ONLY: &[Case] = &[
    Case {
        what: "an AUTO_INCREMENT key column made wider",
        expected: "CREATE TABLE t (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, v int);",
        live: "CREATE TABLE t (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, v int);
INSERT INTO t (v) VALUES (1);",
        strict: false,
    },
    Case {
        what: "a key two foreign keys rest on made wider with the columns referencing it",
        expected: "CREATE TABLE parent (id bigint NOT NULL PRIMARY KEY);
CREATE TABLE a (id int PRIMARY KEY, parent_id bigint, CONSTRAINT a_parent FOREIGN KEY (parent_id) REFERENCES parent (id));
CREATE TABLE b (id int PRIMARY KEY, parent_id bigint, CONSTRAINT b_parent FOREIGN KEY (parent_id) REFERENCES parent (id));",
        live: "CREATE TABLE parent (id int NOT NULL PRIMARY KEY);
CREATE TABLE a (id int PRIMARY KEY, parent_id int, CONSTRAINT a_parent FOREIGN KEY (parent_id) REFERENCES parent (id));
CREATE TABLE b (id int PRIMARY KEY, parent_id int, CONSTRAINT b_parent FOREIGN KEY (parent_id) REFERENCES parent (id));
INSERT INTO parent VALUES (1); INSERT INTO a VALUES (1, 1); INSERT INTO b VALUES (1, 1);",
        strict: false,
    },
    Case {
        what: "AUTO_INCREMENT on a column whose primary key is missing too",
        expected: "CREATE TABLE t (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, v int);",
        live: "CREATE TABLE t (id int NOT NULL, v int); INSERT INTO t VALUES (1, 1), (2, 2);",
        strict: false,
    },
    Case {
        what: "a primary key reordered, the foreign key resting on its old order served by a new unique key",
        expected: "CREATE TABLE parent (a int NOT NULL, b int NOT NULL, PRIMARY KEY (b, a), CONSTRAINT parent_ab UNIQUE (a, b));
CREATE TABLE child (id int PRIMARY KEY, pa int, pb int, CONSTRAINT child_ab FOREIGN KEY (pa, pb) REFERENCES parent (a, b));",
        live: "CREATE TABLE parent (a int NOT NULL, b int NOT NULL, PRIMARY KEY (a, b));
CREATE TABLE child (id int PRIMARY KEY, pa int, pb int, CONSTRAINT child_ab FOREIGN KEY (pa, pb) REFERENCES parent (a, b));
INSERT INTO parent VALUES (1, 2); INSERT INTO child VALUES (1, 1, 2);",
        strict: false,
    },
    Case {
        what: "a foreign key resting on two keys made again, the referencing table listed first",
        expected: "CREATE TABLE child (id int PRIMARY KEY, pc varchar(10), created int,
    CONSTRAINT child_fk FOREIGN KEY (pc) REFERENCES parent (code));
CREATE TABLE parent (id int PRIMARY KEY, code varchar(10), CONSTRAINT parent_code_uq UNIQUE (code));
CREATE INDEX child_pc_ix ON child (pc, created);",
        live: "CREATE TABLE parent (id int PRIMARY KEY, code varchar(10), CONSTRAINT parent_code_uq UNIQUE (code, id));
CREATE TABLE child (id int PRIMARY KEY, pc varchar(10), created int, KEY child_pc_ix (pc),
    CONSTRAINT child_fk FOREIGN KEY (pc) REFERENCES parent (code));
INSERT INTO parent VALUES (1, 'a'); INSERT INTO child VALUES (1, 'a', 1);",
        strict: false,
    },
    Case {
        what: "a key and the column referencing it made wider together (errors 1832, 1833)",
        expected: "CREATE TABLE parent (id bigint NOT NULL PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id bigint, CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id));",
        live: "CREATE TABLE parent (id int NOT NULL PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int, CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id));
INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);",
        strict: false,
    },
];

#[tokio::test]
async fn postgres_suggested_sql_applies_in_order_and_repairs_each_shape() {
    for case in COMMON.iter().chain(POSTGRES_ONLY) {
        let Some(db) = Postgres::start().await else {
            return;
        };
        repairs(&db, case).await;
    }
}

#[tokio::test]
async fn mariadb_suggested_sql_applies_in_order_and_repairs_each_shape() {
    for case in COMMON.iter().chain(MARIADB_ONLY) {
        let Some(db) = MariaDb::start().await else {
            return;
        };
        repairs(&db, case).await;
    }
}

/// InnoDB drops the index it made for a foreign key once a later `CREATE INDEX` serves the key:
/// a database built from that DDL has only the later one, and is in sync with the DDL.
#[tokio::test]
async fn mariadb_a_later_index_serving_a_foreign_key_replaces_innodbs_own() {
    let ddl =
        "CREATE TABLE parent (id int PRIMARY KEY, code varchar(10), UNIQUE KEY parent_code (code));
CREATE TABLE child (id int PRIMARY KEY, parent_code varchar(10),
    CONSTRAINT child_code_fk FOREIGN KEY (parent_code) REFERENCES parent (code));
CREATE INDEX child_pc_ix ON child (parent_code, id);";
    let Some((db, dir)) = common::seeded::<MariaDb>(ddl).await else {
        return;
    };
    write(dir.path(), "expected.sql", ddl);
    let cfg = write(
        dir.path(),
        "config.yaml",
        &format!(
            "databases:\n  - name: app\n    url: {}\n    expected: {{sql: [expected.sql]}}\n",
            db.url()
        ),
    );
    let report = common::check_config(&cfg).await;
    assert!(report.in_sync(), "{:#?}", report.items);
}

/// A foreign key and a check added `NOT VALID` hold only for rows written since: what the
/// expectation promises does not hold, so each is reported (not in sync) with the `VALIDATE`
/// that makes it hold, which fails while old rows break it and works once they are mended.
#[tokio::test]
async fn postgres_constraints_never_validated_are_drift_until_validated() {
    let expected = "CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int, qty int,
    CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id),
    CONSTRAINT child_qty CHECK (qty > 0));";
    let live = "CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int, qty int);
INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1, 1), (2, 99, -1);
ALTER TABLE child ADD CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;
ALTER TABLE child ADD CONSTRAINT child_qty CHECK (qty > 0) NOT VALID;";
    let Some((db, dir)) = common::seeded::<Postgres>(live).await else {
        return;
    };
    write(dir.path(), "expected.sql", expected);
    let cfg = write(
        dir.path(),
        "config.yaml",
        &format!(
            "databases:\n  - name: app\n    url: {}\n    expected: {{sql: [expected.sql]}}\n",
            db.url()
        ),
    );
    let report = common::check_config(&cfg).await;
    assert_eq!(
        common::found(&report),
        [
            common::item(common::DriftKind::MissingForeignKey, "child", None),
            common::item(common::DriftKind::MissingCheckConstraint, "child", None),
        ],
        "{:#?}",
        report.items
    );
    let statements: Vec<&str> = report
        .items
        .iter()
        .flat_map(|i| i.fix.suggested_sql.lines())
        .filter(|l| !l.starts_with("--"))
        .collect();
    assert_eq!(
        statements,
        [
            "ALTER TABLE \"public\".\"child\" VALIDATE CONSTRAINT \"child_parent\";",
            "ALTER TABLE \"public\".\"child\" VALIDATE CONSTRAINT \"child_qty\";",
        ]
    );
    assert!(
        db.try_exec(statements[0]).await.is_err(),
        "the old row breaks it"
    );
    db.exec("DELETE FROM child WHERE id = 2").await;
    for statement in statements {
        db.exec(statement).await;
    }
    let after = common::check_config(&cfg).await;
    assert!(after.in_sync(), "{:#?}", after.items);
}
