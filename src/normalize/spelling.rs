//! Spellings of one expression that PostgreSQL stores in another form: `CAST(b AS integer)` is
//! kept as `(b)::integer`, `interval '1 week'` as `'7 days'::interval`, `timestamp '2020-1-1'`
//! as `'2020-01-01 00:00:00'::timestamp`. A person's DDL holds the first, the catalog the second;
//! rewriting the first into the second on both sides lets them compare. Other engines store the
//! text as written, so the rewrite, applied to both sides alike, changes nothing there.

/// `text` with every `CAST(e AS t)` written `(e)::t`, every typed literal (`interval '1 day'`)
/// written as a cast of the literal, and the literal cast to `interval`, `timestamp` or `date`
/// in the form PostgreSQL prints it. Text it cannot read is left as it is.
pub fn as_postgres_stores(text: &str) -> String {
    // Longer than any real expression: only hostile text, which the scans below would take
    // quadratic time over (a hundred thousand unclosed `CAST(`).
    if text.len() > LONGEST {
        return text.to_string();
    }
    let lower = text.to_ascii_lowercase();
    let text = match lower.contains("public.") || lower.contains("pg_catalog.") {
        true => unqualified(text),
        false => text.to_string(),
    };
    if !text.contains('\'') && !lower.contains("cast") {
        return text;
    }
    canonical_literals(&typed_literals(&cast_operators(&text)))
}

/// `public.f(x)` -> `f(x)`, `a OPERATOR(public.->) b` -> `a -> b`: pg_dump qualifies every
/// function and operator of `public` and `pg_catalog` (it runs with an empty search path),
/// while the catalog, read on the usual search path, names them bare.
fn unqualified(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'scan: while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with('\'') {
            let end = literal_end(text, i);
            let literal = &text[i..end];
            // A sequence named to `nextval` (pg_dump writes `nextval('public.s'::regclass)`).
            let before = out.trim_end().to_ascii_lowercase();
            let sequence = ["nextval(", "currval(", "setval("]
                .iter()
                .any(|f| before.ends_with(f));
            match literal.get(..8) {
                Some(head) if sequence && head.eq_ignore_ascii_case("'public.") => {
                    out.push('\'');
                    out.push_str(&literal[8..]);
                }
                _ => out.push_str(literal),
            }
            i = end;
            continue;
        }
        if !out.chars().next_back().is_some_and(is_name_char) {
            for schema in ["public.", "pg_catalog."] {
                let Some(head) = rest.get(..schema.len()) else {
                    continue;
                };
                if !head.eq_ignore_ascii_case(schema) {
                    continue;
                }
                let after = &rest[schema.len()..];
                let name = after
                    .char_indices()
                    .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                    .map_or(after.len(), |(at, _)| at);
                // A function's name, followed by its arguments.
                if name > 0 && after[name..].trim_start().starts_with('(') {
                    i += schema.len();
                    continue 'scan;
                }
            }
            if let Some(head) = rest.get(..9) {
                if head.eq_ignore_ascii_case("operator(") {
                    if let Some(close) = rest.find(')') {
                        let inner = &rest[9..close];
                        if let Some((schema, op)) = inner.split_once('.') {
                            let schema = schema.trim().to_ascii_lowercase();
                            if (schema == "public" || schema == "pg_catalog")
                                && !op.is_empty()
                                && !op.contains(char::is_alphanumeric)
                            {
                                out.push_str(op.trim());
                                i += close + 1;
                                continue 'scan;
                            }
                        }
                    }
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The longest expression a `BETWEEN` tests that is rewritten into two comparisons.
const SUBJECT: usize = 1024;

/// How deep an expression's parentheses may nest and still be read as a tree.
const RECURSION: usize = 256;

/// The longest expression read as one; longer ones are compared as written (only hostile
/// text is longer, and the scans over it would take quadratic time).
pub const LONGEST: usize = 16 * 1024;

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '"' || c == '`' || c == '.' || c == '$'
}

/// The byte after the string literal that opens at `at` (a `'`), `''` inside it being a quote.
fn literal_end(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = at + 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// The byte of the `)` that closes the `(` at `open`, literals skipped.
fn closing_paren(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                i = literal_end(text, i);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where the word `AS` stands at the top level of `inner`, literals and parentheses skipped.
fn top_level_as(inner: &str) -> Option<usize> {
    let bytes = inner.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                i = literal_end(inner, i);
                continue;
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'a' | b'A'
                if depth == 0
                    && bytes.len() > i + 2
                    && bytes[i + 1].eq_ignore_ascii_case(&b's')
                    && i > 0
                    && (bytes[i - 1].is_ascii_whitespace() || bytes[i - 1] == b')')
                    && (bytes[i + 2].is_ascii_whitespace() || bytes[i + 2] == b'(') =>
            {
                return Some(i);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `CAST(e AS t)` -> `(e)::t`, to a depth no real expression reaches (hostile text deeper
/// than that is left as written, not recursed into without end).
fn cast_operators(text: &str) -> String {
    casts_within(text, 0)
}

fn casts_within(text: &str, depth: usize) -> String {
    if depth > 32 {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with('\'') {
            let end = literal_end(text, i);
            out.push_str(&text[i..end]);
            i = end;
            continue;
        }
        let starts_word = !out.chars().next_back().is_some_and(is_name_char);
        if starts_word
            && rest
                .get(..4)
                .is_some_and(|w| w.eq_ignore_ascii_case("cast"))
        {
            let after = rest[4..].trim_start();
            let open = i + (rest.len() - after.len());
            if after.starts_with('(') {
                if let Some(close) = closing_paren(text, open) {
                    let inner = &text[open + 1..close];
                    if let Some(at) = top_level_as(inner) {
                        let operand = casts_within(inner[..at].trim(), depth + 1);
                        // A literal or a name stands bare before `::` (PostgreSQL prints a
                        // name in parentheses, which the comparison drops anyway).
                        let literal =
                            operand.starts_with('\'') && literal_end(&operand, 0) == operand.len();
                        if literal || (!operand.is_empty() && operand.chars().all(is_name_char)) {
                            out.push_str(&operand);
                            out.push_str("::");
                        } else {
                            out.push('(');
                            out.push_str(&operand);
                            out.push_str(")::");
                        }
                        out.push_str(inner[at + 2..].trim());
                        i = close + 1;
                        continue;
                    }
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The type names a literal may follow (`interval '1 day'`), longest first, in words.
const LITERAL_TYPES: &[&[&str]] = &[
    &["timestamp", "without", "time", "zone"],
    &["timestamp", "with", "time", "zone"],
    &["time", "without", "time", "zone"],
    &["time", "with", "time", "zone"],
    &["timestamptz"],
    &["timestamp"],
    &["timetz"],
    &["time"],
    &["date"],
    &["interval"],
    // Other types a literal may be given, each stored as a cast of it (`jsonb '{}'`).
    &["text"],
    &["varchar"],
    &["jsonb"],
    &["json"],
    &["uuid"],
    &["bytea"],
    &["boolean"],
    &["bool"],
    &["integer"],
    &["int"],
    &["bigint"],
    &["smallint"],
    &["numeric"],
];

/// `interval '1 day'` -> `'1 day'::interval`: the typed literals a person writes, as a cast.
fn typed_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    'scan: while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with('\'') {
            let end = literal_end(text, i);
            out.push_str(&text[i..end]);
            i = end;
            continue;
        }
        if !out.chars().next_back().is_some_and(is_name_char) {
            for words in LITERAL_TYPES {
                let mut at = rest;
                let mut matched = true;
                for (n, word) in words.iter().enumerate() {
                    if n > 0 {
                        let trimmed = at.trim_start();
                        if trimmed.len() == at.len() {
                            matched = false;
                            break;
                        }
                        at = trimmed;
                    }
                    let ends_word = at
                        .get(word.len()..)
                        .is_some_and(|tail| !tail.starts_with(is_name_char));
                    let starts = at
                        .get(..word.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(word));
                    if !(starts && ends_word) {
                        matched = false;
                        break;
                    }
                    at = &at[word.len()..];
                }
                let literal = at.trim_start();
                if matched && literal.starts_with('\'') {
                    let start = i + (rest.len() - literal.len());
                    let end = literal_end(text, start);
                    out.push_str(&text[start..end]);
                    out.push_str("::");
                    out.push_str(&words.join(" ").to_ascii_lowercase());
                    i = end;
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Which value a literal cast to `cast` (what follows the `::`) holds, if one PostgreSQL
/// prints in a form of its own.
#[derive(Clone, Copy)]
enum Kind {
    Interval,
    Timestamp,
    Date,
}

fn literal_kind(cast: &str) -> Option<Kind> {
    let words: Vec<String> = cast
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .take_while(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .take(4)
        .collect();
    let first = words.first()?;
    match first.as_str() {
        "interval" => Some(Kind::Interval),
        "date" => Some(Kind::Date),
        // With a time zone the printed value depends on the session's zone: left as written.
        "timestamp" if words.get(1).map(String::as_str) != Some("with") => Some(Kind::Timestamp),
        _ => None,
    }
}

/// Every literal cast to `interval`, `timestamp` or `date` in the form PostgreSQL prints it.
fn canonical_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = text[i..].find('\'') {
        let start = i + found;
        out.push_str(&text[i..start]);
        let end = literal_end(text, start);
        let literal = &text[start..end];
        let cast = text[end..].trim_start().strip_prefix("::");
        let value = literal
            .strip_prefix('\'')
            .and_then(|l| l.strip_suffix('\''))
            .filter(|v| !v.contains('\''));
        let canonical = match (cast.and_then(literal_kind), value) {
            (Some(Kind::Interval), Some(v)) => interval(v),
            (Some(Kind::Timestamp), Some(v)) => timestamp(v),
            (Some(Kind::Date), Some(v)) => date(v).map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
            _ => None,
        };
        match canonical {
            Some(v) => out.push_str(&format!("'{v}'")),
            None => out.push_str(literal),
        }
        i = end;
    }
    out.push_str(&text[i..]);
    out
}

/// `1 week 2 days 3 hours` -> `9 days 03:00:00`, as PostgreSQL prints an interval (its default
/// `postgres` style): years and months, then days, then the time. `None` for any other form.
fn interval(value: &str) -> Option<String> {
    let (mut months, mut days, mut seconds) = (0i64, 0i64, 0i64);
    let mut tokens = value.split_whitespace().peekable();
    let mut any = false;
    while let Some(token) = tokens.next() {
        any = true;
        if token.contains(':') {
            seconds = seconds.checked_add(clock(token)?)?;
            continue;
        }
        let digits = token.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = token[..digits].parse().ok()?;
        let unit = match &token[digits..] {
            "" => tokens.next()?,
            glued => glued,
        };
        let (into, by) = match unit.to_ascii_lowercase().as_str() {
            "y" | "yr" | "yrs" | "year" | "years" => (&mut months, 12),
            "mon" | "mons" | "month" | "months" => (&mut months, 1),
            "w" | "week" | "weeks" => (&mut days, 7),
            "d" | "day" | "days" => (&mut days, 1),
            "h" | "hr" | "hrs" | "hour" | "hours" => (&mut seconds, 3600),
            "m" | "min" | "mins" | "minute" | "minutes" => (&mut seconds, 60),
            "s" | "sec" | "secs" | "second" | "seconds" => (&mut seconds, 1),
            _ => return None,
        };
        *into = into.checked_add(n.checked_mul(by)?)?;
    }
    if !any {
        return None;
    }
    let plural = |n: i64, one: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    let mut parts = Vec::new();
    if months / 12 != 0 {
        parts.push(plural(months / 12, "year"));
    }
    if months % 12 != 0 {
        parts.push(plural(months % 12, "mon"));
    }
    if days != 0 {
        parts.push(plural(days, "day"));
    }
    if seconds != 0 || parts.is_empty() {
        parts.push(format!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        ));
    }
    Some(parts.join(" "))
}

/// `H:MM` or `H:MM:SS` in whole seconds.
fn clock(token: &str) -> Option<i64> {
    let parts: Vec<&str> = token.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n = |p: &str| p.parse::<i64>().ok();
    let (h, m) = (n(parts[0])?, n(parts[1])?);
    let s = match parts.get(2) {
        Some(p) => n(p)?,
        None => 0,
    };
    (m < 60 && s < 60).then(|| h * 3600 + m * 60 + s)
}

/// `2020-1-2` as year, month and day.
fn date(value: &str) -> Option<(u32, u32, u32)> {
    let mut parts = value.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || y.len() != 4
        || [y, m, d]
            .iter()
            .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// `2020-1-1 10:00` -> `2020-01-01 10:00:00`; fractional seconds without their trailing zeros.
fn timestamp(value: &str) -> Option<String> {
    let value = value.trim();
    let (day, time) = match value.split_once([' ', 'T']) {
        Some((day, time)) => (day, Some(time.trim())),
        None => (value, None),
    };
    let (y, m, d) = date(day)?;
    let (clock_part, fraction) = match time {
        Some(t) => match t.split_once('.') {
            Some((c, f)) => (Some(c), f),
            None => (Some(t), ""),
        },
        None => (None, ""),
    };
    let seconds = match clock_part {
        Some(c) => clock(c)?,
        None => 0,
    };
    if seconds >= 24 * 3600 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction = fraction.trim_end_matches('0');
    let mut out = format!(
        "{y}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    Some(out)
}

/// The expression's tree as PostgreSQL prints it, in one text: a pair of parentheses around
/// every operand that is itself an operation and nowhere else (PostgreSQL writes
/// `((d + id) > 2)` for a person's `d + id > 2`), and the forms it rewrites rewritten
/// (`LIKE` as `~~`, `IN (..)` as `= ANY (ARRAY[..])`, `BETWEEN` as two comparisons, `-1` as
/// one number). `None` when the text does not parse as one PostgreSQL expression; then only a
/// comparison of texts can be made.
pub fn tree_form(text: &str) -> Option<String> {
    tree_of(text, false)
}

/// [`tree_form`] without any cast: a default's form (defaults compare without casts, and a
/// cast left in the tree would keep parentheses the text without it does not have).
pub fn tree_form_without_casts(text: &str) -> Option<String> {
    tree_of(text, true)
}

/// What [`regroup`] needs besides the node.
struct Rules<'a> {
    /// The string literals of the text, as written (quotes and all), by placeholder number.
    literals: &'a [&'a str],
    /// Whether every cast goes.
    no_casts: bool,
}

impl Rules<'_> {
    /// The text inside the quotes of the literal a placeholder stands for.
    fn inner(&self, placeholder: &str) -> Option<&str> {
        let n: usize = placeholder
            .strip_prefix('\u{2}')?
            .strip_suffix('\u{3}')?
            .parse()
            .ok()?;
        let literal = self.literals.get(n)?;
        literal.strip_prefix('\'')?.strip_suffix('\'')
    }
}

fn tree_of(text: &str, no_casts: bool) -> Option<String> {
    use sqlparser::ast::visit_expressions_mut;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    use sqlparser::tokenizer::Token;
    if text.len() > LONGEST {
        return None;
    }
    // String literals are set aside and put back as written: the parser's own reading and
    // printing of quotes is not one to one (a literal of two doubled quotes came back as one).
    let mut literals: Vec<&str> = Vec::new();
    let mut masked = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = text[i..].find('\'') {
        let start = i + found;
        let end = literal_end(text, start);
        masked.push_str(&text[i..start]);
        masked.push_str(&format!("'\u{2}{}\u{3}'", literals.len()));
        literals.push(&text[start..end]);
        i = end;
    }
    masked.push_str(&text[i..]);
    let dialect = PostgreSqlDialect {};
    // PostgreSQL writes a pair of parentheses per operation: a `to_tsvector` over thirty
    // columns nests past the parser's usual limit of 50.
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION)
        .try_with_sql(&masked)
        .ok()?;
    let mut expr = parser.parse_expr().ok()?;
    if parser.peek_token().token != Token::EOF {
        return None;
    }
    let rules = Rules {
        literals: &literals,
        no_casts,
    };
    let _ = visit_expressions_mut(&mut expr, |e| {
        regroup(e, &rules);
        std::ops::ControlFlow::<()>::Continue(())
    });
    let printed = expr.to_string();
    // Each placeholder back as its literal was written.
    let mut out = String::with_capacity(printed.len());
    let mut rest = printed.as_str();
    while let Some(at) = rest.find("'\u{2}") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1 + '\u{2}'.len_utf8()..];
        let close = after.find('\u{3}')?;
        let n: usize = after[..close].parse().ok()?;
        out.push_str(literals.get(n)?);
        // The placeholder's closing quote follows its end mark.
        rest = after[close + '\u{3}'.len_utf8()..].strip_prefix('\'')?;
    }
    out.push_str(rest);
    Some(out)
}

/// One node of [`tree_form`], its operands already done (the visit is post-order).
fn regroup(e: &mut sqlparser::ast::Expr, rules: &Rules) {
    use sqlparser::ast::{Array, BinaryOperator as Op, Expr, InTarget, UnaryOperator, Value};
    let take = |b: &mut Box<Expr>| std::mem::replace(b.as_mut(), Expr::value(Value::Null));
    while let Expr::Nested(inner) = e {
        *e = take(inner);
    }
    let case_blind = matches!(e, Expr::ILike { .. });
    let rewritten = match e {
        // `LIKE` is `~~`, `ILIKE` `~~*`, each negated with `!`.
        Expr::Like {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: None,
        }
        | Expr::ILike {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: None,
        } => Some(Expr::BinaryOp {
            op: match (case_blind, *negated) {
                (false, false) => Op::PGLikeMatch,
                (false, true) => Op::PGNotLikeMatch,
                (true, false) => Op::PGILikeMatch,
                (true, true) => Op::PGNotILikeMatch,
            },
            left: Box::new(take(expr)),
            right: Box::new(take(pattern)),
        }),
        // `a IN (x)` is `a = x`.
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            global: false,
        } if list.len() == 1 => Some(Expr::BinaryOp {
            left: Box::new(take(expr)),
            op: if *negated { Op::NotEq } else { Op::Eq },
            right: Box::new(list.pop().unwrap_or(Expr::value(Value::Null))),
        }),
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            global: false,
        } => {
            let array = Box::new(Expr::Array(Array {
                elem: std::mem::take(list),
                named: true,
            }));
            let left = Box::new(take(expr));
            Some(match negated {
                false => Expr::AnyOp {
                    left,
                    compare_op: Op::Eq,
                    right: array,
                    is_some: false,
                },
                true => Expr::AllOp {
                    left,
                    compare_op: Op::NotEq,
                    right: array,
                },
            })
        }
        // The tested expression stands twice in the rewrite: one that is itself a BETWEEN
        // rewritten would double at every level, so a long one is left as written (hostile
        // text only; PostgreSQL's own text of such a thing is past the longest read anyway).
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } if expr.to_string().len() <= SUBJECT => {
            let (outer, below, above) = match negated {
                false => (Op::And, Op::GtEq, Op::LtEq),
                true => (Op::Or, Op::Lt, Op::Gt),
            };
            // The tested expression stands in both comparisons.
            let subject = take(expr);
            let compare = |op, right| Expr::BinaryOp {
                left: Box::new(subject.clone()),
                op,
                right,
            };
            let first = compare(below, Box::new(take(low)));
            let second = compare(above, Box::new(take(high)));
            Some(Expr::BinaryOp {
                left: Box::new(first),
                op: outer,
                right: Box::new(second),
            })
        }
        // `-1` is one number, as PostgreSQL folds it (and prints `'-1'::integer`).
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => match &v.value {
                Value::Number(n, long) => Some(Expr::value(Value::Number(format!("-{n}"), *long))),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    if let Some(r) = rewritten {
        *e = r;
        // The new node's operands were made here, after the visit passed them: the inner
        // ones are grouped before the node itself wraps them.
        if let Expr::BinaryOp { left, right, .. } = e {
            regroup_operands(left);
            regroup_operands(right);
        }
        regroup_operands(e);
        return;
    }
    match e {
        // `trim(x)` is `TRIM(BOTH FROM x)`.
        Expr::Trim {
            trim_where: trim_where @ None,
            trim_characters: None,
            ..
        } => *trim_where = Some(sqlparser::ast::TrimWhereField::Both),
        // A `CASE` without `ELSE` has `ELSE NULL`.
        Expr::Case {
            else_result: else_result @ None,
            ..
        } => *else_result = Some(Box::new(Expr::value(Value::Null))),
        // Against NULL, PostgreSQL stores the plain test: `a IS DISTINCT FROM NULL` is
        // `a IS NOT NULL`.
        Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) if matches!(b.as_ref(), Expr::Value(v) if v.value == Value::Null) =>
        {
            let subject = Box::new(take(a));
            let mut plain = match e {
                Expr::IsDistinctFrom(..) => Expr::IsNotNull(subject),
                _ => Expr::IsNull(subject),
            };
            regroup_operands(&mut plain);
            *e = plain;
            return;
        }
        // `a IS NOT DISTINCT FROM b` is `NOT (a IS DISTINCT FROM b)`.
        Expr::IsNotDistinctFrom(a, b) => {
            let mut distinct = Expr::IsDistinctFrom(Box::new(take(a)), Box::new(take(b)));
            regroup_operands(&mut distinct);
            *e = Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr: Box::new(Expr::Nested(Box::new(distinct))),
            };
            return;
        }
        _ => {}
    }
    if let Expr::Cast {
        expr, data_type, ..
    } = e
    {
        // A default's casts all go (see `tree_form_without_casts`).
        if rules.no_casts {
            *e = take(expr);
            regroup_operands(e);
            return;
        }
        // A literal's cast goes, as the comparison of texts drops it (PostgreSQL writes one
        // on every literal: `'n'::text`); a quoted number cast to a number type is the number
        // (`'-1'::integer`), while `'0'::text` stays a string (`data -> '0'` is a key,
        // `data -> 0` an element).
        if let Expr::Value(v) = expr.as_mut() {
            let number = |s: &str| {
                let s = s.trim();
                s.parse::<f64>().is_ok()
                    && s.bytes()
                        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            };
            let value = match &v.value {
                Value::SingleQuotedString(s)
                    if rules.inner(s).is_some_and(number) && numeric_type(data_type) =>
                {
                    Value::Number(rules.inner(s).unwrap_or_default().trim().to_string(), false)
                }
                other => other.clone(),
            };
            *e = Expr::value(value);
            return;
        }
        // A cast to a character type without a length is the one PostgreSQL inserts where a
        // function or operator takes text (`(coalesce(v, ''))::text || ...` over varchar):
        // it goes with its parentheses. One with a length truncates, and stays.
        if unbounded_character_type(data_type) {
            *e = take(expr);
            return;
        }
    }
    regroup_operands(e);
}

/// Whether a cast to `t` makes a number.
fn numeric_type(t: &sqlparser::ast::DataType) -> bool {
    let spelt = t.to_string().to_ascii_lowercase();
    let base = spelt.split('(').next().unwrap_or_default().trim();
    matches!(
        base,
        "int"
            | "integer"
            | "int2"
            | "int4"
            | "int8"
            | "smallint"
            | "bigint"
            | "numeric"
            | "decimal"
            | "real"
            | "float"
            | "float4"
            | "float8"
            | "double precision"
            | "double"
    )
}

/// Whether `t` is `text`, `varchar`, `character varying` or `bpchar` with no length.
fn unbounded_character_type(t: &sqlparser::ast::DataType) -> bool {
    let spelt = t.to_string().to_ascii_lowercase();
    !spelt.contains('(')
        && !spelt.contains('[')
        && matches!(
            spelt.trim(),
            "text" | "varchar" | "character varying" | "bpchar" | "name"
        )
}

/// The operands of an operation in parentheses where they are operations themselves.
fn regroup_operands(e: &mut sqlparser::ast::Expr) {
    use sqlparser::ast::Expr;
    fn group(operand: &mut Box<Expr>) {
        let plain = matches!(
            operand.as_ref(),
            Expr::Identifier(_)
                | Expr::CompoundIdentifier(_)
                | Expr::Value(_)
                | Expr::Function(_)
                | Expr::Nested(_)
                | Expr::TypedString(_)
                | Expr::Array(_)
        );
        if !plain {
            let inner =
                std::mem::replace(operand.as_mut(), Expr::value(sqlparser::ast::Value::Null));
            **operand = Expr::Nested(Box::new(inner));
        }
    }
    match e {
        Expr::BinaryOp { left, right, .. } => {
            group(left);
            group(right);
        }
        Expr::AnyOp { left, .. } | Expr::AllOp { left, .. } => group(left),
        Expr::UnaryOp { expr, .. }
        | Expr::Cast { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsNotFalse(expr) => group(expr),
        Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
            group(a);
            group(b);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::as_postgres_stores;

    /// Each person's spelling beside the one PostgreSQL 15 printed for it (pg_get_indexdef).
    #[test]
    fn a_persons_spelling_becomes_the_one_postgres_prints() {
        for (written, printed) in [
            ("CAST(b AS integer)", "b::integer"),
            ("CAST(b AS numeric(10,2))", "b::numeric(10,2)"),
            ("CAST(a AS bigint) + 1", "a::bigint + 1"),
            ("cast( cast(a as text) as integer)", "(a::text)::integer"),
            ("CAST(a + 1 AS bigint)", "(a + 1)::bigint"),
            ("b = CAST('x' AS text)", "b = 'x'::text"),
            ("at + interval '1 day'", "at + '1 day'::interval"),
            ("at + INTERVAL '2 days'", "at + '2 days'::interval"),
            ("at + interval '1 mon'", "at + '1 mon'::interval"),
            ("at + '90 minutes'::interval", "at + '01:30:00'::interval"),
            (
                "at + interval '1 week 2 days 3 hours'",
                "at + '9 days 03:00:00'::interval",
            ),
            (
                "at + interval '1 year 13 months'",
                "at + '2 years 1 mon'::interval",
            ),
            (
                "at + interval '36 hours 5 secs'",
                "at + '36:00:05'::interval",
            ),
            (
                "at > timestamp '2020-01-01'",
                "at > '2020-01-01 00:00:00'::timestamp",
            ),
            (
                "at > TIMESTAMP '2020-1-1 10:00'",
                "at > '2020-01-01 10:00:00'::timestamp",
            ),
            (
                "at > '2020-01-01 10:00:00.500'::timestamp",
                "at > '2020-01-01 10:00:00.5'::timestamp",
            ),
            (
                "at > timestamp without time zone '2020-01-01'",
                "at > '2020-01-01 00:00:00'::timestamp without time zone",
            ),
            ("d > date '2020-1-2'", "d > '2020-01-02'::date"),
            ("cast(é as ü) + 'é'", "é::ü + 'é'"),
        ] {
            assert_eq!(as_postgres_stores(written), printed, "{written}");
        }
    }

    #[test]
    fn what_it_cannot_read_it_leaves_as_written() {
        for unchanged in [
            // The zone decides how PostgreSQL prints it.
            "tz > '2020-01-01 00:00:00+00'::timestamp with time zone",
            "at + '1.5 hours'::interval",
            "at + 'tomorrow'::interval",
            "d > 'today'::date",
            "d > '2020-13-01'::date",
            // Not typed literals: a column named `date`, a string that reads like one.
            "date = 'x'",
            "name LIKE 'interval %'",
            "broadcast(a AS b)",
            "'CAST(a AS b)'",
            "a = 'it''s'",
            "CAST(a",
            // Text that is not ASCII is cut at character boundaries only.
            "castéé",
            "dateé 'x'",
            "a aś b",
            "intervaé",
        ] {
            assert_eq!(as_postgres_stores(unchanged), unchanged, "{unchanged}");
        }
    }

    #[test]
    fn casts_nested_past_any_real_depth_are_left_as_written() {
        let deep = "CAST(".repeat(1_000) + "a" + &" AS int)".repeat(1_000);
        let got = as_postgres_stores(&deep);
        assert!(
            got.starts_with("(((") && got.contains("CAST(CAST("),
            "{}",
            &got[..80]
        );
        assert!(super::tree_form(&got).is_none());
        // A flat chain as long as is read: its tree, as deep as the chain, is visited and
        // dropped within a thread's stack.
        let chain = "1+".repeat(super::LONGEST / 2 - 1) + "1";
        assert!(chain.len() <= super::LONGEST);
        let spawned = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || super::tree_form(&chain).is_some())
            .unwrap();
        assert!(spawned.join().unwrap());
        // Nested as PostgreSQL prints a long concatenation, deeper than 50 and within the limit.
        let nested = format!("{}a{}", "(".repeat(200), " || b)".repeat(200));
        let spawned = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || super::tree_form(&nested))
            .unwrap();
        assert!(spawned.join().unwrap().is_some());
        // Past the longest expression read, text is left as written (here: no end, quickly).
        let unclosed = "CAST(".repeat(100_000);
        assert_eq!(as_postgres_stores(&unclosed), unclosed);
        assert!(super::tree_form(&unclosed).is_none());
    }

    /// BETWEEN nested in its own subject doubled at every level (20 levels took 5 GB).
    #[test]
    fn nested_between_stays_small() {
        let mut text = "b".to_string();
        for _ in 0..40 {
            text = format!("({text} BETWEEN false AND true)");
        }
        let tree = super::tree_form(&text).unwrap();
        assert!(tree.len() < 64 * 1024, "{}", tree.len());
    }

    /// Hostile text: every mix of quotes, parentheses, keywords and multi-byte characters
    /// returns, never panics.
    #[test]
    fn arbitrary_text_never_panics() {
        let pieces = [
            "cast",
            "CAST(",
            " as ",
            "AS",
            "(",
            ")",
            "'",
            "''",
            "::",
            "interval",
            " ",
            "date",
            "timestamp",
            " with time zone",
            "é",
            "ü",
            "1",
            ":",
            "-",
            "day",
            "x",
            "1 day'",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let _ = super::tree_form(&as_postgres_stores(&text));
            seed = seed.wrapping_add(1);
        }
    }

    #[test]
    fn it_is_idempotent_on_what_postgres_prints() {
        for printed in [
            "((b)::integer)",
            "(at + '9 days 03:00:00'::interval)",
            "(at > '2020-01-01 00:00:00'::timestamp without time zone)",
            "(d > '2020-01-02'::date)",
            "(at + '2 years 1 mon'::interval)",
            "(at + '00:00:00'::interval)",
        ] {
            assert_eq!(as_postgres_stores(printed), printed);
        }
    }
}
