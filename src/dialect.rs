//! Which engine a database runs, as every pure layer needs to know it: its name, how it folds
//! identifiers, and which namespaces it has. A leaf module: it imports nothing of ours, so the model,
//! normalisation, the diff and the expectation readers can all depend on it without depending on
//! the I/O adapters in [`crate::engine`].

use serde::Serialize;

/// A database engine we can introspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// PostgreSQL 12 or newer, read through `pg_catalog`.
    Postgres,
    /// SQLite 3.33 or newer (bundled with the binary), read through `sqlite_schema`.
    Sqlite,
    /// MySQL 8 or MariaDB 10.2+, read through `information_schema`.
    MySql,
}

impl Engine {
    /// Picks the engine from a URL's scheme, as sqlx spells them.
    pub fn from_url(url: &str) -> Result<Engine, String> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(Engine::Postgres),
            "sqlite" => Ok(Engine::Sqlite),
            "mysql" | "mariadb" => Ok(Engine::MySql),
            "" => Err("the URL has no scheme (expected postgres://, mysql:// or sqlite:)".into()),
            other => Err(format!(
                "unsupported URL scheme `{other}` (supported: postgres, postgresql, mysql, mariadb, sqlite)"
            )),
        }
    }

    /// Lower-case engine name, as used in `/drift` and logs.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Sqlite => "sqlite",
            Engine::MySql => "mysql",
        }
    }

    /// The namespaces read when the config names none. MySQL reads the URL's database, so a
    /// MySQL URL without one has none (and is rejected by config validation).
    pub fn default_schemas(self, url: &str) -> Vec<String> {
        match self {
            Engine::Postgres => vec!["public".into()],
            Engine::Sqlite => vec!["main".into()],
            Engine::MySql => url_database(url).into_iter().collect(),
        }
    }

    /// The schemas this engine can read at all, or `None` when any name may exist.
    pub fn fixed_schemas(self) -> Option<&'static [&'static str]> {
        match self {
            Engine::Postgres | Engine::MySql => None,
            Engine::Sqlite => Some(&["main"]),
        }
    }

    /// The key under which an identifier is compared. PostgreSQL stores identifiers exactly as
    /// created (unquoted ones already folded to lower case); SQLite and MySQL/MariaDB compare column
    /// names case-insensitively (and table names too on the usual `lower_case_table_names` setups).
    pub fn fold_identifier(self, ident: &str) -> String {
        match self {
            Engine::Postgres => ident.to_string(),
            Engine::Sqlite | Engine::MySql => ident.to_lowercase(),
        }
    }
}

/// The database named in a URL's path (`mysql://u@host/app` names `app`).
fn url_database(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let db = parsed.path().trim_start_matches('/');
    (!db.is_empty()).then(|| db.to_string())
}

/// SQLite's postfix `x ISNULL` and `x NOTNULL` as one expression: the parser reads the word as
/// an operator class, which SQLite has none of.
pub fn sqlite_postfix(engine: Engine, c: &sqlparser::ast::IndexColumn) -> Option<String> {
    let class = c
        .operator_class
        .as_ref()
        .filter(|_| engine == Engine::Sqlite)?;
    Some(format!(
        "{} {}",
        c.column.expr,
        class.to_string().to_ascii_uppercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_engine_and_default_schemas() {
        for (url, engine, schemas) in [
            ("postgres://u@h/app", Engine::Postgres, vec!["public"]),
            ("postgresql://u@h/app", Engine::Postgres, vec!["public"]),
            ("sqlite:app.db", Engine::Sqlite, vec!["main"]),
            ("mysql://u@h/app", Engine::MySql, vec!["app"]),
            (
                "mariadb://u@h/shop?ssl-mode=required",
                Engine::MySql,
                vec!["shop"],
            ),
            ("mysql://u@h", Engine::MySql, vec![]),
        ] {
            let e = Engine::from_url(url).unwrap();
            assert_eq!(e, engine, "{url}");
            assert_eq!(e.default_schemas(url), schemas, "{url}");
        }
        assert!(Engine::from_url("oracle://x")
            .unwrap_err()
            .contains("`oracle`"));
        assert!(Engine::from_url("").unwrap_err().contains("no scheme"));
    }

    #[test]
    fn only_postgres_keeps_identifier_case() {
        assert_eq!(Engine::Postgres.fold_identifier("Users"), "Users");
        assert_eq!(Engine::MySql.fold_identifier("Users"), "users");
        assert_eq!(Engine::Sqlite.fold_identifier("Users"), "users");
    }
}
