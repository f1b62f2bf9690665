//! Schema-per-tenant databases: `schemas: [{match: "tenant_*"}]` compares every schema whose name
//! matches with one template expectation (the expectation's unqualified tables), read in the same
//! single catalog query as the schemas named exactly.
//!
//! The catalog query narrows by a SQL `LIKE` prefix of each pattern, which only ever matches more
//! than the glob does; the glob itself then decides. System namespaces never match a pattern.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::sync::Arc;

use crate::dialect::Engine;

/// The patterns of one database's tenant schemas. Cloning shares the compiled set.
#[derive(Debug, Clone)]
pub struct Tenants {
    /// The globs as written, in config order; the first one also names the template.
    patterns: Vec<String>,
    set: Arc<GlobSet>,
}

impl PartialEq for Tenants {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl Eq for Tenants {}

impl Tenants {
    /// Compiles `patterns` for `engine`: case-insensitively on MySQL/MariaDB, whose database names
    /// compare that way on the usual setups. Names the first pattern that does not compile.
    pub fn new(engine: Engine, patterns: Vec<String>) -> Result<Tenants, String> {
        if patterns.is_empty() {
            return Err("no pattern given".into());
        }
        let mut set = GlobSetBuilder::new();
        for p in &patterns {
            if p.trim().is_empty() {
                return Err("match: an empty pattern matches nothing".into());
            }
            let glob = GlobBuilder::new(p)
                .case_insensitive(engine == Engine::MySql)
                .literal_separator(false)
                .build()
                .map_err(|e| format!("match: invalid glob `{p}`: {e}"))?;
            set.add(glob);
        }
        let set = set.build().map_err(|e| format!("match: {e}"))?;
        Ok(Tenants {
            patterns,
            set: Arc::new(set),
        })
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The schema name under which the expectation's template tables are kept: the first pattern,
    /// so a table written as `"tenant_*".orders` means the same as an unqualified one.
    pub fn template(&self) -> &str {
        &self.patterns[0]
    }

    /// Whether `schema` is a tenant of this database. System namespaces never are, whatever the
    /// pattern: `*` must not compare `pg_catalog` or `mysql` with an application's template.
    pub fn matches(&self, engine: Engine, schema: &str) -> bool {
        !is_system_schema(engine, schema) && self.set.is_match(schema)
    }

    /// One SQL `LIKE` pattern per glob that matches at least every name the glob does: the glob's
    /// literal prefix, escaped, followed by `%`.
    pub fn like_prefixes(&self) -> Vec<String> {
        self.patterns.iter().map(|p| like_prefix(p)).collect()
    }
}

/// Namespaces the engine keeps for itself.
pub fn is_system_schema(engine: Engine, schema: &str) -> bool {
    match engine {
        // PostgreSQL refuses `CREATE SCHEMA pg_...` for users: every such name is the system's.
        Engine::Postgres => schema.starts_with("pg_") || schema == "information_schema",
        Engine::MySql => ["mysql", "information_schema", "performance_schema", "sys"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(schema)),
        Engine::Sqlite => false,
    }
}

/// The literal start of `glob` (up to its first metacharacter) as a `LIKE` pattern with `\` as
/// the escape character, which both PostgreSQL and MySQL use by default.
fn like_prefix(glob: &str) -> String {
    let mut out = String::new();
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' | '[' | '{' => break,
            // A backslash escapes the next character in a glob: that character is literal.
            '\\' => match chars.next() {
                Some(next) => push_like_literal(&mut out, next),
                None => break,
            },
            c => push_like_literal(&mut out, c),
        }
    }
    out.push('%');
    out
}

fn push_like_literal(out: &mut String, c: char) {
    if matches!(c, '%' | '_' | '\\') {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants(engine: Engine, patterns: &[&str]) -> Tenants {
        Tenants::new(engine, patterns.iter().map(|p| p.to_string()).collect()).unwrap()
    }

    #[test]
    fn patterns_match_tenant_schemas_and_never_system_ones() {
        let t = tenants(Engine::Postgres, &["tenant_*", "acme"]);
        assert!(t.matches(Engine::Postgres, "tenant_1"));
        assert!(t.matches(Engine::Postgres, "tenant_"));
        assert!(t.matches(Engine::Postgres, "acme"));
        assert!(
            !t.matches(Engine::Postgres, "Tenant_1"),
            "PostgreSQL names are exact"
        );
        assert!(!t.matches(Engine::Postgres, "public"));
        let all = tenants(Engine::Postgres, &["*"]);
        for system in ["pg_catalog", "pg_toast", "pg_temp_3", "information_schema"] {
            assert!(!all.matches(Engine::Postgres, system), "{system}");
        }
        let my = tenants(Engine::MySql, &["*"]);
        for system in ["mysql", "sys", "PERFORMANCE_SCHEMA", "information_schema"] {
            assert!(!my.matches(Engine::MySql, system), "{system}");
        }
        let my = tenants(Engine::MySql, &["tenant_*"]);
        assert!(
            my.matches(Engine::MySql, "TENANT_7"),
            "MySQL names fold case"
        );
        assert_eq!(t.template(), "tenant_*");
    }

    #[test]
    fn like_prefixes_cover_every_name_the_glob_matches() {
        let t = tenants(
            Engine::Postgres,
            &["tenant_*", "a%b?", "*x", "t[0-9]", r"lit\*eral", "{a,b}c"],
        );
        assert_eq!(
            t.like_prefixes(),
            [r"tenant\_%", r"a\%b%", "%", "t%", r"lit*eral%", "%"]
        );
    }

    #[test]
    fn bad_patterns_are_named() {
        let err = Tenants::new(Engine::Postgres, vec!["[oops".into()]).unwrap_err();
        assert!(err.contains("[oops"), "{err}");
        let err = Tenants::new(Engine::Postgres, vec![" ".into()]).unwrap_err();
        assert!(err.contains("empty"), "{err}");
    }
}
