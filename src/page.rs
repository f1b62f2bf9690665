//! The on-call page: `/drift` as HTML for a browser. One section per database (anchor
//! `#db-NAME`, or alone at `/drift?database=NAME`, where the alerts link), each drifted object with
//! expected and actual, its SQL ready to copy, destructive statements marked and kept out of the
//! "all safe SQL" block. Server-rendered, every name escaped, no external asset, readable on a
//! phone; the copy buttons are the only script, and the page works without it.

use std::fmt::Write;

use crate::report::{DatabaseDrift, Status};

/// The whole page for `databases` (all of them, or the one asked for).
pub fn page(databases: &[DatabaseDrift]) -> String {
    let mut body = String::new();
    let drifting = databases
        .iter()
        .filter(|d| matches!(d.status, Status::Drift | Status::CheckFailed))
        .count();
    let _ = write!(
        body,
        "<header><h1>Schema drift</h1><p>{} database(s), {drifting} needing attention &middot; \
         <a href=\"/drift?format=json\">JSON</a> &middot; <a href=\"/\">exporter</a></p></header>",
        databases.len()
    );
    if databases.len() > 1 {
        body.push_str("<nav><ul>");
        for db in databases {
            let _ = write!(
                body,
                "<li><a href=\"#db-{id}\">{name}</a> <span class=\"status {class}\">{status}</span></li>",
                id = escape(db.name),
                name = escape(db.name),
                class = status_class(db.status),
                status = db.status.describe()
            );
        }
        body.push_str("</ul></nav>");
    }
    for db in databases {
        section(&mut body, db);
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Schema drift{title}</title><style>{STYLE}</style></head><body>{body}<script>{SCRIPT}</script></body></html>\n",
        title = match databases {
            [one] => format!(": {}", escape(one.name)),
            _ => String::new(),
        }
    )
}

fn section(out: &mut String, db: &DatabaseDrift) {
    let _ = write!(
        out,
        "<section id=\"db-{id}\"><h2>{name} <span class=\"status {class}\">{status}</span></h2><dl>",
        id = escape(db.name),
        name = escape(db.name),
        class = status_class(db.status),
        status = db.status.describe(),
    );
    let facts = [
        ("engine", Some(db.engine.to_string())),
        ("expected schema", Some(db.expected_source.to_string())),
        ("last check", db.last_check.clone()),
        ("drift as of", db.last_success.clone()),
        ("expectation changed", db.expected_changed.clone()),
        ("check error", db.error.map(str::to_string)),
        ("tenant schemas", db.tenants.as_ref().map(|t| t.describe())),
        ("migrations", db.migrations.map(|m| m.describe())),
    ];
    for (term, value) in facts {
        if let Some(v) = value {
            let _ = write!(out, "<dt>{term}</dt><dd>{}</dd>", escape(&v));
        }
    }
    if db.overdue {
        out.push_str(
            "<dt>schedule</dt><dd class=\"warn\">check overdue: every check slot is busy</dd>",
        );
    }
    out.push_str("</dl>");
    if db.drift.is_empty() {
        out.push_str(match db.status {
            Status::InSync => "<p class=\"ok\">No drift.</p>",
            Status::Pending => "<p>Not checked yet.</p>",
            _ => "<p>No drift known from a successful check.</p>",
        });
        out.push_str("</section>");
        return;
    }
    let _ = write!(
        out,
        "<p>{} drifted object(s).</p><div class=\"items\">",
        db.drift.len()
    );
    let mut safe = Vec::new();
    for item in db.drift {
        let place = match &item.column {
            Some(c) => format!("{}.{}.{}", item.schema, item.table, c),
            None => format!("{}.{}", item.schema, item.table),
        };
        let destructive = item.fix.destructive;
        let _ = write!(
            out,
            "<article class=\"item{cls}\"><h3><span class=\"kind\">{kind}</span> <code>{place}</code>{badge}</h3>\
<table><tr><th>expected</th><td>{expected}</td></tr><tr><th>actual</th><td>{actual}</td></tr>{migration}</table>\
<pre><code>{sql}</code></pre><button type=\"button\" class=\"copy\">Copy SQL</button></article>",
            cls = if destructive { " destructive" } else { "" },
            kind = escape(item.kind.describe()),
            place = escape(&place),
            badge = if destructive {
                "<span class=\"badge\">destructive: review before running</span>"
            } else {
                ""
            },
            expected = escape(item.expected.as_deref().unwrap_or("-")),
            actual = escape(item.actual.as_deref().unwrap_or("-")),
            migration = crate::report::item_migration(item).map_or(String::new(), |m| format!(
                "<tr><th>migration</th><td class=\"migration\">{}</td></tr>",
                escape(&m)
            )),
            sql = escape(&item.fix.suggested_sql),
        );
        if !destructive {
            safe.push(item.fix.suggested_sql.as_str());
        }
    }
    out.push_str("</div>");
    if !safe.is_empty() {
        let _ = write!(
            out,
            "<h3>All non-destructive SQL for {name}</h3><pre class=\"all\"><code>{sql}</code></pre>\
<button type=\"button\" class=\"copy\">Copy all</button>",
            name = escape(db.name),
            sql = escape(&safe.join("\n")),
        );
    }
    out.push_str("</section>");
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::InSync => "in-sync",
        Status::Drift => "drift",
        Status::CheckFailed => "failed",
        Status::Pending => "pending",
    }
}

/// Text made safe inside HTML elements and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;line-height:1.4;color:#1b1b1b}\
h1{font-size:1.5rem;margin:0}h2{font-size:1.25rem;border-bottom:1px solid #ccc;padding-bottom:.25rem}h3{font-size:1rem;margin:.25rem 0}\
nav ul{padding-left:1.2rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
.status{font-size:.8rem;padding:.1rem .4rem;border-radius:.3rem;background:#eee;font-weight:600}\
.status.drift{background:#ffe08a}.status.failed{background:#f4a3a3}.status.in-sync{background:#b8e6b8}\
.item{border:1px solid #ddd;border-radius:.4rem;padding:.5rem .75rem;margin:.75rem 0}.item.destructive{border-color:#c0392b;background:#fff5f4}\
.badge{margin-left:.5rem;font-size:.8rem;color:#fff;background:#c0392b;padding:.1rem .4rem;border-radius:.3rem}\
.kind{font-weight:600}table{border-collapse:collapse}th{text-align:left;padding-right:1rem;font-weight:500;color:#555}\
pre{background:#f6f6f6;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere}code{overflow-wrap:anywhere}.ok{color:#1e7b1e}.warn{color:#a15c00}\
button.copy{font-size:.85rem}@media (max-width:40rem){body{padding:.5rem}dl{grid-template-columns:1fr}}";

/// Copy buttons copy the `<pre>` right before them; without script the text is still selectable.
const SCRIPT: &str = "document.querySelectorAll('button.copy').forEach(function(b){b.addEventListener('click',function(){\
var p=b.previousElementSibling;if(p&&navigator.clipboard){navigator.clipboard.writeText(p.innerText).then(function(){b.textContent='Copied';});}});});";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_databases_cannot_inject_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
