//! schema_exporter: watches databases for schema drift and exports it as Prometheus metrics.
//!
//! # Layout
//!
//! The data path, in the order a check walks it:
//!
//! 1. [`config`]: the YAML file, parsed strictly and validated into [`config::Config`] (a
//!    `reference:` already resolved to the database it names); secrets resolved into
//!    [`secret::DatabaseUrl`], which never prints its password.
//! 2. [`expected`]: where the expected schema comes from (one file per source), read each check and
//!    parsed again only when it changed.
//! 3. [`engine`]: the I/O seam (one file per engine): lazy read-only pools, one catalog round trip
//!    per check, and the SQL that renders a [`model::Change`] in the engine's dialect.
//! 4. [`diff`]: pure comparison into [`diff::Comparison`], each item carrying the change that would
//!    remove it and no SQL.
//! 5. [`check`]: one bounded check (expectation + catalog + diff, then each change rendered once by
//!    the engine into a [`check::DriftReport`]), shared by the daemon and `check`.
//! 6. [`poller`]: one task per database on its interval, under a global concurrency cap, writing to
//! 7. [`snapshot`]: the only shared state ([`state`]: every database's latest outcome), where
//!    each recorded outcome is rendered into its database's pieces by
//! 8. [`metrics`] and [`report`], and a publisher joins and compresses them once per change, so
//!    [`http`] serves `/metrics`, `/drift` and the landing page as prepared bytes: no scrape renders
//!    or waits on a database.
//!
//! Underneath, the pure vocabulary every layer shares, each importing only what is listed before it:
//! [`dialect`] (which engine: name, identifier folding, namespaces), [`normalize`] (every engine's
//! type and default spellings to one canonical form), [`model`] (tables, columns, changes) and
//! [`ignore`] (what not to compare) and [`tenant`] (which schemas a pattern makes tenants). The
//! module graph has no cycles:
//! `dialect <- normalize <- model <- diff`; `model + dialect <- engine`;
//! `diff, engine, expected <- check <- poller <- app`.
//!
//! [`app`] wires it together for each command of [`cli`] and returns one [`app::Error`] type that
//! `main.rs` prints once; the daemon ([`app::serve`]) takes a bound listener and a shutdown future.
//! [`demo`] builds the demo database; [`healthcheck`] is the container's probe of a running
//! exporter; [`web`] is `--web.config.file` (TLS, basic auth) in front of [`http`]; [`shard`]
//! decides which databases a replica polls.

pub mod app;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dialect;
pub mod diff;
pub mod engine;
pub mod expected;
pub mod files;
pub mod healthcheck;
pub mod http;
pub mod ignore;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod page;
pub mod poller;
pub mod report;
pub mod secret;
pub mod shard;
pub mod snapshot;
pub mod state;
pub mod tenant;
pub mod web;

/// The layering `# Layout` promises, checked on the source itself so a new import that closes a
/// cycle fails here rather than in the next engineer's head.
#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Top-level module -> the top-level modules its non-test code names as `crate::X`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path.strip_prefix(&src).unwrap();
                let module = rel.components().next().unwrap().as_os_str();
                let module = module.to_string_lossy().trim_end_matches(".rs").to_string();
                if module == "lib" || module == "main" {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                let edges = graph.entry(module.clone()).or_default();
                for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                    for (i, _) in line.match_indices("crate::") {
                        let name: String = line[i + 7..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if name != module {
                            edges.insert(name);
                        }
                    }
                }
            }
        }
        graph
    }

    fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    }

    #[test]
    fn the_module_graph_has_no_cycles_and_the_pure_layers_do_no_io() {
        let graph = imports();
        assert!(graph.len() > 10, "read too few modules: {graph:?}");
        let cycles: Vec<(&String, &String)> = graph
            .iter()
            .flat_map(|(m, edges)| edges.iter().map(move |e| (m, e)))
            .filter(|(m, e)| reaches(&graph, e, m))
            .collect();
        assert!(cycles.is_empty(), "import cycles: {cycles:?}");
        assert!(graph["dialect"].is_empty(), "{:?}", graph["dialect"]);
        for pure in ["dialect", "normalize", "model", "ignore", "tenant", "diff"] {
            for io in ["engine", "check", "expected", "config", "snapshot"] {
                assert!(!reaches(&graph, pure, io), "{pure} reaches {io}");
            }
        }
    }
}
