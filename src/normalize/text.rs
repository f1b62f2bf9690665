//! Text scanning that normalisation needs and SQL makes subtle: quotes (whose content must never be
//! folded or squeezed), balanced parentheses and PostgreSQL's `::type` casts.

/// Lowercases everything outside single- and double-quoted sections: SQL keywords and unquoted
/// identifiers are case-insensitive, string literals and quoted identifiers are not.
pub(super) fn lower_unquoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) => out.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Collapses runs of whitespace outside quotes and drops spaces next to brackets and commas.
pub(super) fn squeeze(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut pending_space = false;
    for c in s.chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space
            && !out.is_empty()
            && !matches!(c, '(' | ')' | ',' | '[' | ']')
            && !out.ends_with(['(', ',', '['])
        {
            out.push(' ');
        }
        pending_space = false;
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
        out.push(c);
    }
    out
}

pub(super) fn split_array_suffix(s: &str) -> (&str, String) {
    let mut base = s;
    let mut dims = 0;
    while base.ends_with(']') {
        match base.rfind('[') {
            Some(open) => {
                base = base[..open].trim_end();
                dims += 1;
            }
            None => break,
        }
    }
    if let Some(stripped) = base.strip_suffix(" array") {
        base = stripped;
        dims += 1;
    }
    (base, "[]".repeat(dims))
}

/// Splits `timestamp(3) with time zone` into (`timestamp with time zone`, `3`).
pub(super) fn split_type_args(s: &str) -> (String, Option<String>) {
    match (s.find('('), s.find(')')) {
        (Some(open), Some(close)) if close > open => {
            let name = format!("{}{}", s[..open].trim_end(), &s[close + 1..]);
            (squeeze(&name), Some(s[open + 1..close].to_string()))
        }
        _ => (s.to_string(), None),
    }
}

/// Puts modifiers back after the first word for the time types (`timestamptz(3)`), else at the end.
pub(super) fn insert_args(name: &str, args: &str) -> String {
    match name.split_once(' ') {
        Some((first, rest)) if matches!(first, "time" | "timestamp") => {
            format!("{first}({args}) {rest}")
        }
        _ => format!("{name}({args})"),
    }
}

/// Removes parentheses that wrap the whole expression: `('csv')` and `((0))` become `'csv'` and `0`.
pub(super) fn strip_parens(mut s: &str) -> &str {
    loop {
        let t = s.trim();
        if t.starts_with('(') && t.ends_with(')') && closes_at_end(t) {
            s = &t[1..t.len() - 1];
        } else {
            return t;
        }
    }
}

/// True when the `(` at the start of `s` is matched by the `)` at its end.
fn closes_at_end(s: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return i == s.len() - 1;
                    }
                }
                _ => {}
            },
        }
    }
    false
}

/// Removes PostgreSQL `::type` casts outside quotes: `'csv'::character varying` becomes `'csv'`.
/// A cast's type name may contain spaces (`timestamp with time zone`), modifiers and array brackets;
/// it ends at the first character that cannot belong to a type name, such as an operator.
pub(super) fn strip_casts(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == ':' && chars.get(i + 1) == Some(&':') {
            i += 2;
            let mut depth = 0;
            // Array brackets of the type (`text[]`): a `]` the type did not open closes
            // something around the cast (`ARRAY['a'::text]`), and ends the type.
            let mut brackets = 0;
            while i < chars.len() {
                let t = chars[i];
                match t {
                    '[' => brackets += 1,
                    ']' if brackets == 0 => break,
                    ']' => brackets -= 1,
                    _ => {}
                }
                let word_char = t.is_alphanumeric() || matches!(t, '_' | '.' | '"' | '[' | ']');
                if depth > 0 {
                    if t == ')' {
                        depth -= 1;
                    }
                } else if t == '(' {
                    depth += 1;
                } else if t == ' ' {
                    // A space continues the type name only when a word follows (`double precision`).
                    match chars.get(i + 1) {
                        Some(n) if n.is_alphabetic() => {}
                        _ => break,
                    }
                } else if !word_char {
                    break;
                }
                i += 1;
            }
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
        out.push(c);
        i += 1;
    }
    out.trim().to_string()
}
