//! Human- and tool-facing views of the snapshot: the `/drift` JSON (also `check --output=json`),
//! the `check` text report, and the landing page.

use serde::Serialize;
use std::fmt::Write;
use std::time::SystemTime;

use crate::check::{DriftItem, LedgerReport};
use crate::state::{DatabaseState, State};

/// The `/drift` document.
#[derive(Debug, Serialize)]
pub struct DriftDocument<'a> {
    /// One entry per configured database, in config order.
    pub databases: Vec<DatabaseDrift<'a>>,
}

/// Where a database stands, as `/drift`, `check` and the landing page report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not checked yet.
    Pending,
    /// The last check succeeded and found no drift.
    InSync,
    /// The last successful check found drift (and the last check succeeded).
    Drift,
    /// The last check failed; `drift` is from the last successful one.
    CheckFailed,
}

impl Status {
    /// Wording for people (`check failed`).
    pub fn describe(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InSync => "in sync",
            Status::Drift => "drift",
            Status::CheckFailed => "check failed",
        }
    }
}

/// One database in `/drift`.
#[derive(Debug, Serialize)]
pub struct DatabaseDrift<'a> {
    /// The configured name (the `database` label).
    pub name: &'a str,
    /// Engine name.
    pub engine: &'static str,
    /// Where it stands.
    pub status: Status,
    /// Where the expectation comes from.
    pub expected_source: &'a str,
    /// RFC 3339 start of the last attempt.
    pub last_check: Option<String>,
    /// Duration of the last attempt.
    pub last_check_duration_seconds: Option<f64>,
    /// Why the last attempt failed.
    pub error: Option<&'a str>,
    /// RFC 3339 start of the last successful check; `drift` is as of this time.
    pub last_success: Option<String>,
    /// RFC 3339 time the expectation's content last changed (a deploy, usually).
    pub expected_changed: Option<String>,
    /// A check came due and has not started within the timeout: `drift` is older than the
    /// interval promises.
    pub overdue: bool,
    /// With tenant patterns: the tenant schemas of the last successful check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenants: Option<TenantsView<'a>>,
    /// With a migration ledger: what it recorded at the last successful check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<&'a LedgerReport>,
    /// Every drift item found by the last successful check.
    pub drift: &'a [DriftItem],
}

/// The tenant schemas of one database in `/drift`: counted, and named where something happened.
#[derive(Debug, Serialize)]
pub struct TenantsView<'a> {
    /// Schemas the patterns matched.
    pub matched: usize,
    /// Tenant schemas with drift, by name.
    pub drifted: &'a [String],
    /// Tenant schemas new since the previous successful check.
    pub appeared: &'a [String],
    /// Tenant schemas gone since the previous successful check.
    pub disappeared: &'a [String],
}

impl TenantsView<'_> {
    /// `3 of 120 tenant schemas drifted (t1, t2, t3)`, names capped so a page stays readable.
    pub fn describe(&self) -> String {
        const SHOWN: usize = 10;
        let mut text = format!(
            "{} of {} tenant schemas drifted",
            self.drifted.len(),
            self.matched
        );
        if !self.drifted.is_empty() {
            let names: Vec<&str> = self
                .drifted
                .iter()
                .take(SHOWN)
                .map(String::as_str)
                .collect();
            let more = self.drifted.len().saturating_sub(SHOWN);
            text.push_str(&format!(" ({}", names.join(", ")));
            if more > 0 {
                text.push_str(&format!(" and {more} more"));
            }
            text.push(')');
        }
        for (what, list) in [
            ("appeared", self.appeared),
            ("disappeared", self.disappeared),
        ] {
            if !list.is_empty() {
                let names: Vec<&str> = list.iter().take(SHOWN).map(String::as_str).collect();
                text.push_str(&format!("; {what}: {}", names.join(", ")));
                if list.len() > SHOWN {
                    text.push_str(&format!(" and {} more", list.len() - SHOWN));
                }
            }
        }
        text
    }
}

impl<'a> DatabaseDrift<'a> {
    /// Builds the view of one database.
    pub fn new(name: &'a str, db: &'a DatabaseState) -> Self {
        let error = db.last_check.as_ref().and_then(|c| c.error.as_deref());
        let status = match (&db.last_check, &db.report) {
            (None, _) => Status::Pending,
            (Some(_), _) if error.is_some() => Status::CheckFailed,
            (Some(_), Some(r)) if r.in_sync() => Status::InSync,
            (Some(_), _) => Status::Drift,
        };
        DatabaseDrift {
            name,
            engine: db.engine.name(),
            status,
            expected_source: &db.expected_source,
            last_check: db.last_check.as_ref().map(|c| rfc3339(c.at)),
            last_check_duration_seconds: db.last_check.as_ref().map(|c| c.duration.as_secs_f64()),
            error,
            last_success: db.last_success.map(rfc3339),
            expected_changed: db.expected_changed.map(rfc3339),
            overdue: db.overdue,
            tenants: db
                .report
                .as_ref()
                .and_then(|r| r.tenants.as_ref())
                .map(|t| TenantsView {
                    matched: t.found.matched.len(),
                    drifted: &t.found.drifted,
                    appeared: &t.appeared,
                    disappeared: &t.disappeared,
                }),
            migrations: db.report.as_ref().and_then(|r| r.ledger.as_ref()),
            drift: db.report.as_ref().map_or(&[], |r| r.items.as_slice()),
        }
    }
}

/// Builds the `/drift` document from the state.
pub fn document(state: &State) -> DriftDocument<'_> {
    DriftDocument {
        databases: state
            .databases
            .iter()
            .map(|(name, db)| DatabaseDrift::new(name, db))
            .collect(),
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The `check` command's text report.
pub fn text(doc: &DriftDocument) -> String {
    let mut out = String::new();
    for db in &doc.databases {
        let _ = match db.status {
            Status::CheckFailed => writeln!(
                out,
                "{}: could not check: {}",
                db.name,
                printable(db.error.unwrap_or("unknown error"))
            ),
            Status::InSync => writeln!(out, "{}: in sync with {}", db.name, db.expected_source),
            Status::Pending => writeln!(out, "{}: not checked", db.name),
            _ => writeln!(
                out,
                "{}: {} drift item(s) against {}",
                db.name,
                db.drift.len(),
                db.expected_source
            ),
        };
        if db.status == Status::CheckFailed {
            continue;
        }
        if let Some(tenants) = &db.tenants {
            let _ = writeln!(out, "  {}", printable(&tenants.describe()));
        }
        if let Some(ledger) = db.migrations {
            let _ = writeln!(out, "  {}", printable(&ledger.describe()));
        }
        for item in db.drift {
            let place = match &item.column {
                Some(c) => format!("{}.{}.{}", item.schema, item.table, c),
                None => format!("{}.{}", item.schema, item.table),
            };
            // Destructive or not is the fix's flag, the same one JSON carries, whatever the SQL
            // text says.
            let _ = writeln!(
                out,
                "  {}: {} (expected: {}, actual: {}){}",
                item.kind.describe(),
                printable(&place),
                printable(item.expected.as_deref().unwrap_or("-")),
                printable(item.actual.as_deref().unwrap_or("-")),
                if item.fix.destructive {
                    " [destructive: review before running]"
                } else {
                    ""
                }
            );
            if let Some(line) = item_migration(item) {
                let _ = writeln!(out, "    {}", printable(&line));
            }
            // Line breaks in the SQL are its layout, unless a name or value it quotes has control
            // characters of its own: then it is printed as one escaped line, so no break inside
            // a quoted name can start a line of the report.
            let tainted = [Some(&item.schema), Some(&item.table), item.column.as_ref()]
                .into_iter()
                .flatten()
                .chain(item.expected.as_ref())
                .chain(item.actual.as_ref())
                .any(|s| s.chars().any(char::is_control));
            if tainted {
                let _ = writeln!(out, "      {}", printable(&item.fix.suggested_sql));
            } else {
                for line in item.fix.suggested_sql.lines() {
                    let _ = writeln!(out, "      {}", printable(line));
                }
            }
        }
    }
    out
}

/// "expected since exports.0001_initial, recorded applied 2024-03-02T10:11:12Z" for an item a
/// ledger attributes to a migration.
pub fn item_migration(item: &DriftItem) -> Option<String> {
    let migration = item.migration.as_deref()?;
    Some(match &item.migration_applied_at {
        Some(at) => format!("from migration {migration}, recorded as applied {at}"),
        None => format!("from migration {migration}, recorded as applied"),
    })
}

/// `text` with control characters escaped (`\u{1b}`, `\n`): names come from live catalogs, and a
/// table name holding terminal escapes or line breaks must not rewrite the operator's screen or
/// forge a line of the report.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// The `/drift` document from each database's entry, already serialised (see [`DatabaseDrift`]).
pub fn drift_json(entries: &[&str]) -> String {
    let mut out = String::with_capacity(entries.iter().map(|e| e.len() + 1).sum::<usize>() + 16);
    out.push_str("{\"databases\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e);
    }
    out.push_str("]}\n");
    out
}

/// One database's row of the landing page.
pub fn landing_row(db: &DatabaseDrift) -> String {
    let summary = match db.status {
        Status::CheckFailed => format!("check failed: {}", escape(db.error.unwrap_or(""))),
        Status::Drift => {
            let mut kinds: Vec<String> = Vec::new();
            for item in db.drift {
                let place = match &item.column {
                    Some(c) => format!("{}.{}", item.table, c),
                    None => item.table.clone(),
                };
                kinds.push(format!("{} {}", item.kind.describe(), escape(&place)));
            }
            kinds.join("<br>")
        }
        other => other.describe().to_string(),
    };
    let summary = match (&db.tenants, db.status) {
        (Some(t), Status::Drift | Status::InSync) => {
            format!("{}<br>{summary}", escape(&t.describe()))
        }
        _ => summary,
    };
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(db.name),
        db.engine,
        if db.overdue {
            format!("{} (check overdue)", db.status.describe())
        } else {
            db.status.describe().to_string()
        },
        db.last_check.as_deref().unwrap_or("never"),
        summary
    )
}

/// The landing page around its rows: name, version, links, and each database's status.
pub fn landing_page(rows: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>schema_exporter</title></head><body>\
<h1>schema_exporter {}</h1>\
<p><a href=\"/metrics\">Metrics</a> &middot; <a href=\"/drift?format=html\">Drift page</a> &middot; \
<a href=\"/drift?format=json\">Drift report (JSON)</a> &middot; \
<a href=\"/-/healthy\">Health</a> &middot; <a href=\"/-/ready\">Readiness</a></p>\
<table border=\"1\" cellpadding=\"4\"><tr><th>database</th><th>engine</th><th>status</th><th>last check</th><th>drift</th></tr>{rows}</table>\
</body></html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
