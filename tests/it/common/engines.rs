//! One trait over a test's database on each engine, so that a scenario every engine must pass is
//! written once (`tests/it/scenarios.rs`) and each engine's suite runs it from a test of its own.

use super::servers::{Server, TestDb};
use std::path::{Path, PathBuf};

/// How an engine spells and alters what the shared scenarios check.
pub struct Spelling {
    /// The character the engine's suggested SQL quotes identifiers with.
    pub quote: char,
    /// Whether column names compare case-insensitively (MySQL, SQLite) rather than exactly.
    pub folds_column_names: bool,
    /// Whether the engine can change a column's type, nullability or default in place (SQLite
    /// cannot: its suggestions for those are comments pointing to a table rebuild).
    pub alters_columns_in_place: bool,
}

/// A test's own database, with full rights, on one engine.
pub trait EngineDb: Sized {
    /// How the engine spells and alters what the scenarios check.
    const SPELLING: Spelling;

    /// A fresh database, or `None` after saying why there is none (outside CI only).
    async fn start() -> Option<Self>;

    /// The URL the exporter's config names the database by.
    fn url(&self) -> &str;

    /// Runs a batch of statements.
    async fn exec(&self, sql: &str);

    /// Runs a batch of statements the database may refuse: why it did.
    async fn try_exec(&self, sql: &str) -> Result<(), String>;

    /// The schema (namespace) drift items name: PostgreSQL's `public`, the database a MySQL URL
    /// names, SQLite's `main`.
    fn schema(&self) -> String;

    /// `name` quoted as the engine's suggested SQL quotes identifiers.
    fn quote(&self, name: &str) -> String {
        let q = Self::SPELLING.quote;
        format!("{q}{name}{q}")
    }
}

impl<DB: Server> EngineDb for TestDb<DB>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    const SPELLING: Spelling = DB::SPELLING;

    async fn start() -> Option<Self> {
        TestDb::start().await
    }

    fn url(&self) -> &str {
        &self.url
    }

    async fn exec(&self, sql: &str) {
        TestDb::exec(self, sql).await;
    }

    async fn try_exec(&self, sql: &str) -> Result<(), String> {
        let pool = self.pool().await;
        let result = sqlx::raw_sql(sql).execute(&pool).await;
        pool.close().await;
        result.map(|_| ()).map_err(|e| e.to_string())
    }

    fn schema(&self) -> String {
        DB::schema(&self.url)
    }
}

/// A SQLite database file of one test, in a temp dir of its own, created on first use. SQLite is
/// compiled into the exporter, so there is nothing to skip.
pub struct Sqlite {
    /// The database file.
    pub path: PathBuf,
    url: String,
    _dir: tempfile::TempDir,
}

impl Sqlite {
    /// A fresh database whose file does not exist yet.
    pub fn new() -> Sqlite {
        let dir = tempfile::Builder::new()
            .prefix("se-lite-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("app.db");
        Sqlite {
            url: format!("sqlite://{}", path.display()),
            path,
            _dir: dir,
        }
    }
}

impl EngineDb for Sqlite {
    const SPELLING: Spelling = Spelling {
        quote: '"',
        folds_column_names: true,
        alters_columns_in_place: false,
    };

    async fn start() -> Option<Self> {
        Some(Sqlite::new())
    }

    fn url(&self) -> &str {
        &self.url
    }

    async fn exec(&self, sql: &str) {
        sqlite_exec(&self.path, sql).await;
    }

    async fn try_exec(&self, sql: &str) -> Result<(), String> {
        use sqlx::{Connection, Executor};
        let mut c = sqlx::SqliteConnection::connect(&self.url)
            .await
            .map_err(|e| e.to_string())?;
        let result = c.execute(sql).await;
        let _ = c.close().await;
        result.map(|_| ()).map_err(|e| e.to_string())
    }

    fn schema(&self) -> String {
        "main".to_string()
    }
}

/// Runs `sql` on the SQLite file at `path`, creating it when missing.
pub async fn sqlite_exec(path: &Path, sql: &str) {
    use sqlx::{Connection, Executor};
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut c = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    c.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    c.close().await.unwrap();
}
