//! Throwaway PostgreSQL and MariaDB servers, and one test's own database on them.
//!
//! Every test gets its own server (initialised into a temp dir, on loopback, a free port, its own
//! socket and temp dirs) and its own database, stopped and deleted when the handle drops, so tests
//! run in parallel without sharing anything. `SCHEMA_EXPORTER_TEST_POSTGRES_URL` and
//! `SCHEMA_EXPORTER_TEST_MYSQL_URL` point the tests at existing servers instead (a fresh database
//! per test is created there and dropped afterwards).

use super::engines::Spelling;
use super::{block_on, find_program, free_port, missing, skipped, wait_for, WAIT};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Runs `program` as the `postgres` user when we are root (PostgreSQL refuses to run as root).
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn chown_to_server_user(path: &Path) {
    if !is_root() {
        return;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id runs");
        assert!(
            out.status.success(),
            "running PostgreSQL as root needs a `postgres` user"
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g"))).unwrap();
}

static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// A server process the harness started, in a temp dir of its own; stopped with its engine's
/// shutdown signal and deleted on drop.
pub struct Throwaway {
    child: Child,
    signal: &'static str,
    _dir: tempfile::TempDir,
}

impl Throwaway {
    /// Runs `command(port)` on free ports until the server accepts TCP; a server that exits first
    /// lost the race for its port, so another is tried.
    pub fn start(
        what: &str,
        dir: tempfile::TempDir,
        signal: &'static str,
        command: impl Fn(u16) -> Command,
    ) -> (u16, Throwaway) {
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = command(port)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let ready = wait_for(WAIT, &format!("{what} to start"), || {
                if let Ok(Some(_)) = child.try_wait() {
                    return Some(false);
                }
                std::net::TcpStream::connect(("127.0.0.1", port))
                    .ok()
                    .map(|_| true)
            });
            if ready {
                return (
                    port,
                    Throwaway {
                        child,
                        signal,
                        _dir: dir,
                    },
                );
            }
        }
        panic!("{what} did not start on any of 5 free ports");
    }

    /// Stops the server (PostgreSQL's fast shutdown is INT, MariaDB's clean one TERM), killing it
    /// if it has not exited within [`WAIT`].
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args([&format!("-{}", self.signal), &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One test's own database, on a throwaway server or on an external one given by an environment
/// variable (the database is then dropped afterwards).
pub struct TestDb<DB: sqlx::Database>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    /// URL of the test's database, as the exporter should use it.
    pub url: String,
    admin_url: String,
    drop_sql: String,
    server: Option<Throwaway>,
    _engine: std::marker::PhantomData<DB>,
}

/// A PostgreSQL database for one test (`SCHEMA_EXPORTER_TEST_POSTGRES_URL` for an external server).
pub type Postgres = TestDb<sqlx::Postgres>;
/// A MariaDB database for one test (`SCHEMA_EXPORTER_TEST_MYSQL_URL` for an external MySQL or MariaDB).
pub type MariaDb = TestDb<sqlx::MySql>;

impl<DB: sqlx::Database> TestDb<DB>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    /// Connects to the server (waiting until it accepts connections) and creates a fresh database.
    async fn create(
        what: &str,
        admin_url: String,
        server: Option<Throwaway>,
        drop_suffix: &str,
    ) -> Self {
        let database = format!(
            "se_test_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst)
        );
        let deadline = Instant::now() + WAIT;
        let admin = loop {
            match sqlx::Pool::<DB>::connect(&admin_url).await {
                Ok(pool) => break pool,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "{what} never accepted connections: {e}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        sqlx::raw_sql(&format!("CREATE DATABASE {database}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        TestDb {
            url: replace_database(&admin_url, &database),
            drop_sql: format!("DROP DATABASE IF EXISTS {database}{drop_suffix}"),
            admin_url,
            server,
            _engine: std::marker::PhantomData,
        }
    }

    /// A pool with full rights on the test's database.
    pub async fn pool(&self) -> sqlx::Pool<DB> {
        sqlx::pool::PoolOptions::<DB>::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .unwrap()
    }

    /// Runs a batch of statements on the test's database.
    pub async fn exec(&self, sql: &str) {
        let pool = self.pool().await;
        sqlx::raw_sql(sql)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
        pool.close().await;
    }

    /// Stops the server now (simulates a database going down). An external server is not ours to
    /// stop: this says so and returns `false`, and the test ends there.
    #[must_use]
    pub fn stop_server(&mut self) -> bool {
        match self.server.as_mut() {
            Some(server) => {
                server.stop();
                true
            }
            None => {
                skipped("not stopping an external server: the rest of this test does not run");
                false
            }
        }
    }
}

impl<DB: sqlx::Database> Drop for TestDb<DB>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    fn drop(&mut self) {
        if self.server.is_some() {
            return; // the Throwaway stops the server and deletes its directory
        }
        let (admin, sql) = (&self.admin_url, &self.drop_sql);
        // On a runtime of its own: Drop may run inside the test's runtime. (By engine rather than
        // through DB: the generic future's Send bound is more than the compiler can prove.)
        block_on(async {
            let result = if admin.starts_with("mysql") {
                match sqlx::MySqlPool::connect(admin).await {
                    Ok(pool) => sqlx::raw_sql(sql).execute(&pool).await.map(drop),
                    Err(e) => Err(e),
                }
            } else {
                match sqlx::PgPool::connect(admin).await {
                    Ok(pool) => sqlx::raw_sql(sql).execute(&pool).await.map(drop),
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = result {
                eprintln!("could not drop the test database ({sql}): {e}");
            }
        });
    }
}

/// What differs between the server engines the harness gives tests a database on.
pub trait Server: sqlx::Database {
    /// The variable naming an existing server to use instead of a throwaway one.
    const URL_VAR: &'static str;
    /// Appended to `DROP DATABASE` on an external server (PostgreSQL must end what still uses it).
    const DROP_SUFFIX: &'static str;
    /// How the engine spells and alters what the shared scenarios check.
    const SPELLING: Spelling;
    /// Starts a throwaway server: its admin URL and the handle that stops it, or `None` after
    /// reporting which binaries are missing.
    fn spawn() -> Option<(String, Throwaway)>;
    /// The schema drift items name for the database at `url`.
    fn schema(url: &str) -> String;
}

impl Server for sqlx::Postgres {
    const URL_VAR: &'static str = "SCHEMA_EXPORTER_TEST_POSTGRES_URL";
    const DROP_SUFFIX: &'static str = " WITH (FORCE)";
    const SPELLING: Spelling = Spelling {
        quote: '"',
        folds_column_names: false,
        alters_columns_in_place: true,
    };

    fn spawn() -> Option<(String, Throwaway)> {
        let (Some(initdb), Some(postgres)) =
            (find_program(&["initdb"]), find_program(&["postgres"]))
        else {
            missing("PostgreSQL server binaries (initdb, postgres) were not found (Debian package `postgresql`)");
            return None;
        };
        let (port, server) = spawn_postgres(&initdb, &postgres);
        Some((
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            server,
        ))
    }

    fn schema(_url: &str) -> String {
        "public".to_string()
    }
}

impl Server for sqlx::MySql {
    const URL_VAR: &'static str = "SCHEMA_EXPORTER_TEST_MYSQL_URL";
    const DROP_SUFFIX: &'static str = "";
    const SPELLING: Spelling = Spelling {
        quote: '`',
        folds_column_names: true,
        alters_columns_in_place: true,
    };

    fn spawn() -> Option<(String, Throwaway)> {
        let (Some(install), Some(mariadbd)) = (
            find_program(&["mariadb-install-db"]),
            find_program(&["mariadbd"]),
        ) else {
            missing("MariaDB server binaries (mariadb-install-db, mariadbd) were not found (Debian package `mariadb-server`)");
            return None;
        };
        let (port, server) = spawn_mariadb(&install, &mariadbd);
        Some((format!("mysql://root@127.0.0.1:{port}/mysql"), server))
    }

    /// The database the URL names: MySQL has no schemas within a database.
    fn schema(url: &str) -> String {
        let url = url::Url::parse(url).expect("test database URL parses");
        url.path().trim_start_matches('/').to_string()
    }
}

impl<DB: Server> TestDb<DB>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    /// Starts a throwaway server (or uses the external one its variable names) and creates the
    /// test's database. Returns `None` (after saying why) when no server can be had outside CI.
    pub async fn start() -> Option<Self> {
        let (url, server) = match std::env::var(DB::URL_VAR) {
            Ok(url) => (url, None),
            Err(_) => {
                let (url, server) = DB::spawn()?;
                (url, Some(server))
            }
        };
        Some(Self::create(DB::NAME, url, server, DB::DROP_SUFFIX).await)
    }
}

/// `url` with `user` as its user name and no password.
pub fn with_user(url: &str, user: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("test server URL parses");
    parsed.set_username(user).unwrap();
    parsed.set_password(None).unwrap();
    parsed.to_string()
}

fn replace_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("test server URL parses");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

fn spawn_postgres(initdb: &Path, postgres: &Path) -> (u16, Throwaway) {
    let dir = tempfile::Builder::new().prefix("se-pg-").tempdir().unwrap();
    chown_to_server_user(dir.path());
    let data = dir.path().join("data");
    let out = as_server_user(initdb)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Members of `password_login` must give their password (first matching line wins); every other
    // role keeps trust. Tests that are about passwords make their roles members.
    let hba = data.join("pg_hba.conf");
    let rest = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("host all +password_login 127.0.0.1/32 scram-sha-256\n{rest}"),
    )
    .unwrap();
    let socket_dir = dir.path().to_path_buf();
    Throwaway::start("PostgreSQL", dir, "INT", |port| {
        let mut c = as_server_user(postgres);
        c.arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(&socket_dir)
            .args([
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ])
            .args(["-c", "max_connections=40", "-c", "shared_buffers=16MB"]);
        c
    })
}

fn spawn_mariadb(install: &Path, mariadbd: &Path) -> (u16, Throwaway) {
    let dir = tempfile::Builder::new().prefix("se-my-").tempdir().unwrap();
    let data = dir.path().join("data");
    let root = is_root();
    let mut cmd = Command::new(install);
    // The bootstrap server's temporary tables are named after its pid-derived ids in $TMPDIR; parallel
    // bootstraps sharing /tmp collide, so each gets its own.
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .env("TMPDIR", dir.path());
    if root {
        cmd.arg("--user=root");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "mariadb-install-db failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = dir.path().to_path_buf();
    Throwaway::start("MariaDB", dir, "TERM", |port| {
        let mut c = Command::new(mariadbd);
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", base.join("sock").display()))
            .arg(format!("--pid-file={}", base.join("pid").display()))
            // Its own temp dir: internal temp tables of parallel servers must not meet in /tmp.
            .arg(format!("--tmpdir={}", base.display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--skip-log-bin",
            ])
            .args([
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                "--innodb-flush-log-at-trx-commit=0",
            ])
            .args(["--max-connections=40", "--performance-schema=OFF"]);
        if root {
            c.arg("--user=root");
        }
        c
    })
}
