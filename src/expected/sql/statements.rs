//! A file's text as the statements the parser understood, each with where it starts (`file:line`
//! and its first words) for messages.
//!
//! Dumps are written for a client, not a parser: psql meta-commands, mysqldump's `DELIMITER`
//! blocks and pg_dump's identity sequence options are taken out first, always keeping line numbers.
//! A statement the parser cannot read is skipped unless it could shape a table
//! ([`could_shape_tables`]); then it is an error, so a column-shaping statement is never dropped.

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, Statement};
use sqlparser::dialect::Dialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Span;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};
use std::path::Path;

use super::quirks;
use crate::dialect::Engine;
use crate::expected::ExpectedError;

/// Where a statement starts, for messages: `file:line`, plus its first words.
pub(super) struct At<'a> {
    path: &'a Path,
    line: u64,
    lines: &'a [&'a str],
    from: Location,
    to: Location,
}

impl At<'_> {
    /// An error about this statement, located at its file and first line.
    pub(super) fn error(&self, message: impl std::fmt::Display) -> ExpectedError {
        ExpectedError::Invalid {
            location: format!("{}:{}", self.path.display(), self.line),
            message: format!("statement `{}`: {message}", self.start()),
        }
    }

    /// The statement's first words. Only errors need them: finding them walks the statement's
    /// line, which in a one-line dump is the whole file, so doing it per statement would make
    /// reading such a file quadratic.
    fn start(&self) -> String {
        statement_start(self.lines, self.from, self.to)
    }
}

/// Parses the statements of `text`, the contents of `path`, in `engine`'s dialect and hands each to
/// `apply` in file order. One at a time, so that the first problem in the file is the one reported,
/// whether the parser or `apply` finds it.
pub(super) fn for_each(
    path: &Path,
    text: &str,
    engine: Engine,
    mut apply: impl FnMut(Statement, &At) -> Result<(), ExpectedError>,
) -> Result<(), ExpectedError> {
    let text = without_meta_commands(text);
    let text = if quirks::writes_delimiter_directives(engine) {
        without_custom_delimiters(&text)
    } else {
        text
    };
    let dialect = quirks::dialect(engine);
    let tokens = Tokenizer::new(dialect.as_ref(), &text)
        .tokenize_with_location()
        .map_err(|e| ExpectedError::Invalid {
            location: format!(
                "{}:{}:{}",
                path.display(),
                e.location.line,
                e.location.column
            ),
            message: e.message,
        })?;
    let lines: Vec<&str> = text.lines().collect();
    let mut statement: Vec<TokenWithSpan> = Vec::new();
    for token in tokens {
        if token.token == Token::SemiColon {
            let tokens = std::mem::take(&mut statement);
            if let Some((parsed, at)) =
                parse_statement(path, &lines, tokens, engine, dialect.as_ref())?
            {
                apply(parsed, &at)?;
            }
        } else {
            statement.push(token);
        }
    }
    match parse_statement(path, &lines, statement, engine, dialect.as_ref())? {
        Some((parsed, at)) => apply(parsed, &at),
        None => Ok(()),
    }
}

/// One statement's tokens as a parsed statement, or `None` when there is nothing to apply: no
/// tokens, or a statement the parser does not know that cannot change a table's columns.
fn parse_statement<'p>(
    path: &'p Path,
    lines: &'p [&'p str],
    mut tokens: Vec<TokenWithSpan>,
    engine: Engine,
    dialect: &dyn Dialect,
) -> Result<Option<(Statement, At<'p>)>, ExpectedError> {
    let Some(first) = tokens
        .iter()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))
    else {
        return Ok(None);
    };
    let words = leading_words(&tokens, 6);
    let last = tokens
        .iter()
        .rev()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))
        .unwrap_or(first);
    let at = At {
        path,
        line: first.span.start.line,
        lines,
        from: first.span.start,
        to: last.span.end,
    };
    if could_shape_tables(&words) {
        // Keywords are short: a word this long is a name, treated as the server treats it.
        for token in &mut tokens {
            let Token::Word(word) = &mut token.token else {
                continue;
            };
            match quirks::long_identifiers(engine) {
                quirks::LongIdentifiers::Truncate(bytes) if word.value.len() > bytes => {
                    let mut end = bytes;
                    while !word.value.is_char_boundary(end) {
                        end -= 1;
                    }
                    word.value.truncate(end);
                }
                quirks::LongIdentifiers::Reject(chars) if word.value.chars().count() > chars => {
                    let shown: String = word.value.chars().take(40).collect();
                    return Err(at.error(format!(
                        "the name `{shown}...` is longer than {chars} characters, which the server refuses"
                    )));
                }
                _ => {}
            }
        }
    }
    if is_virtual_table(&words) {
        return match virtual_table(&tokens) {
            Ok(statement) => Ok(Some((statement, at))),
            Err(e) => Err(at.error(e)),
        };
    }
    // The parser reads a chain of operators (`1 + 1 + ... + 1`, `a @> a @> ...`, `x LIKE y
    // LIKE ...`) into a tree as deep as the chain, and dropping that tree recurses once per
    // level: tens of thousands of them exhaust a thread's stack and abort the process. A chain
    // lies between two commas at one depth of parentheses, so the longest such run of tokens
    // bounds it; rows of an `INSERT` and columns of a table are runs of their own.
    let run = longest_run(&tokens);
    if run > MAX_RUN {
        return Err(at.error(format!(
            "an expression {run} tokens deep (counted between commas, through parentheses); more than {MAX_RUN} are not read"
        )));
    }
    let tokens = without_storage_details(&words, without_identity_sequence_options(tokens));
    // pg_dump writes a pair of parentheses per operation in an index or check: a long
    // concatenation nests past the parser's usual limit of 50.
    let mut parser = Parser::new(dialect)
        .with_recursion_limit(256)
        .with_tokens_with_locations(tokens);
    let parsed = parser.parse_statement().and_then(|statement| {
        // The parser stops where its grammar ends (`CREATE TABLE t OF some_type` reads as
        // `CREATE TABLE t`); what is left over would be dropped without a word.
        match parser.peek_token().token {
            Token::EOF => Ok(statement),
            rest => Err(sqlparser::parser::ParserError::ParserError(format!(
                "`{rest}` and what follows is not understood"
            ))),
        }
    });
    match parsed {
        Ok(statement) => Ok(Some((statement, at))),
        Err(e) if could_shape_tables(&words) => Err(at.error(e)),
        // Functions, triggers, grants and the like that this parser does not know: they cannot
        // change a table's columns.
        Err(_) => Ok(None),
    }
}

/// The longest run of tokens one expression may hold (see [`parse_statement`]): a chain of
/// ten thousand operators.
const MAX_RUN: usize = 20_000;

/// How deep the parsed tree of the statement can be, in tokens, whitespace aside: a run of
/// tokens since the last comma is a chain as deep as it is long, and a parenthesised group in
/// it adds its own depth (a chain whose first operand is a chain is one deeper tree).
fn longest_run(tokens: &[TokenWithSpan]) -> usize {
    /// One open parenthesis: the run since its last comma, the deepest group in that run, and
    /// the deepest of its segments so far.
    #[derive(Default)]
    struct Level {
        run: usize,
        child: usize,
        deepest: usize,
    }
    impl Level {
        fn depth(&self) -> usize {
            self.deepest.max(self.run + self.child)
        }
    }
    let mut levels: Vec<Level> = vec![Level::default()];
    for token in tokens {
        match token.token {
            Token::Whitespace(_) => {}
            Token::LParen | Token::LBracket => levels.push(Level::default()),
            Token::RParen | Token::RBracket if levels.len() > 1 => {
                let closed = levels.pop().map_or(0, |l| l.depth());
                if let Some(parent) = levels.last_mut() {
                    parent.child = parent.child.max(closed);
                    parent.run += 1;
                }
            }
            Token::Comma => {
                if let Some(level) = levels.last_mut() {
                    level.deepest = level.depth();
                    level.run = 0;
                    level.child = 0;
                }
            }
            _ => {
                if let Some(level) = levels.last_mut() {
                    level.run += 1;
                }
            }
        }
    }
    // Unclosed groups count as closed at the end.
    while levels.len() > 1 {
        let closed = levels.pop().map_or(0, |l| l.depth());
        if let Some(parent) = levels.last_mut() {
            parent.child = parent.child.max(closed);
        }
    }
    levels.pop().map_or(0, |l| l.depth())
}

/// Whether a statement starting with `words` is SQLite's `CREATE VIRTUAL TABLE`.
fn is_virtual_table(words: &[String]) -> bool {
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    upper.starts_with(&["CREATE".into(), "VIRTUAL".into(), "TABLE".into()])
}

/// `CREATE VIRTUAL TABLE [IF NOT EXISTS] name USING module[(args)]`, read here because the parser
/// takes the arguments for bare names and fails on fts5's `tokenize='porter'`. The result's
/// `module_args` are the columns the table will have: arguments that are not `key=value` options,
/// each by its first word (fts's `UNINDEXED`, rtree's `+` of auxiliary columns and declared
/// types do not change the name).
fn virtual_table(tokens: &[TokenWithSpan]) -> Result<Statement, String> {
    let words: Vec<&Token> = tokens
        .iter()
        .map(|t| &t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let ident = |t: &Token| match t {
        Token::Word(w) => Some(Ident {
            value: w.value.clone(),
            quote_style: w.quote_style,
            span: Span::empty(),
        }),
        Token::SingleQuotedString(v) | Token::DoubleQuotedString(v) => {
            Some(Ident::with_quote('"', v.clone()))
        }
        _ => None,
    };
    let keyword = |t: Option<&&Token>, k: &str| matches!(t, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k));
    let mut i = 3;
    let if_not_exists = keyword(words.get(i), "IF");
    if if_not_exists {
        if !(keyword(words.get(i + 1), "NOT") && keyword(words.get(i + 2), "EXISTS")) {
            return Err("expected IF NOT EXISTS".into());
        }
        i += 3;
    }
    let mut name = Vec::new();
    loop {
        let part = words
            .get(i)
            .and_then(|t| ident(t))
            .ok_or("expected the table's name")?;
        name.push(ObjectNamePart::Identifier(part));
        i += 1;
        if words.get(i) != Some(&&Token::Period) {
            break;
        }
        i += 1;
    }
    if !keyword(words.get(i), "USING") {
        return Err("expected USING and the module's name".into());
    }
    let module_name = words
        .get(i + 1)
        .and_then(|t| ident(t))
        .ok_or("expected the module's name after USING")?;
    i += 2;
    let mut module_args = Vec::new();
    if words.get(i) == Some(&&Token::LParen) {
        if words.last() != Some(&&Token::RParen) {
            return Err("the module's arguments are not closed by `)`".into());
        }
        let inner = &words[i + 1..words.len() - 1];
        let mut depth = 0usize;
        let mut arg: Vec<&Token> = Vec::new();
        for t in inner.iter().copied().chain([&Token::Comma]) {
            match t {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                Token::Comma if depth == 0 => {
                    let option = arg.iter().any(|t| **t == Token::Eq);
                    let first = arg.iter().find(|t| !matches!(t, Token::Plus));
                    match (option, first) {
                        (true, _) | (false, None) => {}
                        (false, Some(t)) => module_args.push(
                            ident(t).ok_or_else(|| format!("cannot read the argument `{t}`"))?,
                        ),
                    }
                    arg.clear();
                    continue;
                }
                _ => {}
            }
            arg.push(t);
        }
    } else if i < words.len() {
        return Err(format!("unexpected `{}` after the module's name", words[i]));
    }
    Ok(Statement::CreateVirtualTable {
        name: ObjectName(name),
        if_not_exists,
        module_name,
        module_args,
    })
}

/// psql meta-commands (`\connect`, `\restrict` in newer pg_dump output) are not SQL: blanked, keeping
/// line numbers.
fn without_meta_commands(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            if line.starts_with('\\') {
                if line.ends_with('\n') {
                    "\n"
                } else {
                    ""
                }
            } else {
                line
            }
        })
        .collect()
}

/// mysqldump writes triggers and routines under `DELIMITER ;;`, a client directive, because their
/// bodies hold `;`. Such statements are blanked (keeping line numbers) unless they could shape a
/// table, in which case their delimiter becomes `;` again.
fn without_custom_delimiters(text: &str) -> String {
    let blank = |s: &str| s.chars().filter(|c| *c == '\n').collect::<String>();
    let mut out = String::with_capacity(text.len());
    let mut delimiter = ";".to_string();
    let mut pending = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let directive = trimmed
            .get(..10)
            .filter(|p| p.eq_ignore_ascii_case("delimiter "))
            .map(|_| trimmed[10..].trim().to_string());
        if let Some(d) = directive {
            out.push_str(&blank(&pending));
            pending.clear();
            out.push_str(&blank(line));
            delimiter = d;
            continue;
        }
        if delimiter == ";" {
            out.push_str(line);
            continue;
        }
        pending.push_str(line);
        if trimmed.ends_with(delimiter.as_str()) {
            let words: Vec<String> = pending
                .replace("/*!", " ")
                .split_whitespace()
                .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
                .take(6)
                .map(str::to_string)
                .collect();
            if could_shape_tables(&words) {
                out.push_str(&pending.replace(delimiter.as_str(), ";"));
            } else {
                out.push_str(&blank(&pending));
            }
            pending.clear();
        }
    }
    out.push_str(&blank(&pending));
    out
}

/// The first words of a statement, for messages and for deciding whether an unparsable statement
/// could shape a table.
fn leading_words(tokens: &[TokenWithSpan], n: usize) -> Vec<String> {
    tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .take(n)
        .map(|t| t.token.to_string())
        .collect()
}

/// The statement's first line from where it starts (up to its end when it ends on that line),
/// shortened, as people see it in their file.
fn statement_start(lines: &[&str], start: Location, end: Location) -> String {
    let line = lines
        .get(start.line.saturating_sub(1) as usize)
        .copied()
        .unwrap_or_default();
    let from = start.column.saturating_sub(1) as usize;
    let to = if end.line == start.line {
        end.column.saturating_sub(1) as usize
    } else {
        usize::MAX
    };
    let text: String = line
        .chars()
        .skip(from)
        .take(to.saturating_sub(from))
        .collect();
    let text = text.trim_end();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text.to_string()
    }
}

/// pg_dump writes identity columns as `ALTER COLUMN c ADD GENERATED ... AS IDENTITY (SEQUENCE NAME
/// s START WITH 1 ...)`, and the parser does not read `SEQUENCE NAME`. The options only shape the
/// sequence, never the column, so the parenthesised group after `IDENTITY` is dropped before parsing.
fn without_identity_sequence_options(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let is_word = |t: &TokenWithSpan, w: &str| matches!(&t.token, Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    let Some(identity) = tokens.iter().position(|t| is_word(t, "IDENTITY")) else {
        return tokens;
    };
    let Some(open) = tokens[identity + 1..]
        .iter()
        .position(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(|i| identity + 1 + i)
        .filter(|&i| tokens[i].token == Token::LParen)
    else {
        return tokens;
    };
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    let mut out = tokens;
                    out.drain(open..=i);
                    return out;
                }
            }
            _ => {}
        }
    }
    tokens
}

/// `tokens` without what pg_dump writes that the parser does not read and the comparison does
/// not need: `ON ONLY` in `CREATE INDEX` (an index of a partitioned table made for the parent
/// alone, its partitions' indexes attached later: compared through the parent all the same), a
/// constraint's storage parameters (`UNIQUE (b) WITH (fillfactor=70)`), and a materialized
/// view's `WITH [NO] DATA`.
fn without_storage_details(words: &[String], tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let first = upper.first().map(String::as_str);
    let index = first == Some("CREATE") && upper.iter().any(|w| w == "INDEX");
    let table = matches!(first, Some("CREATE" | "ALTER")) && upper.iter().any(|w| w == "TABLE");
    let view = first == Some("CREATE") && upper.iter().any(|w| w == "MATERIALIZED");
    if !(index || table || view) {
        return tokens;
    }
    let is_word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    // Positions of the tokens that are not whitespace, for looking back and ahead.
    let solid: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let mut drop = vec![false; tokens.len()];
    for (n, &i) in solid.iter().enumerate() {
        let next = |k: usize| solid.get(n + k).map(|&j| &tokens[j].token);
        let before = n.checked_sub(1).map(|k| &tokens[solid[k]].token);
        let t = &tokens[i].token;
        if index && is_word(t, "ONLY") && before.is_some_and(|b| is_word(b, "ON")) {
            drop[i] = true;
        }
        if table
            && is_word(t, "WITH")
            && before == Some(&Token::RParen)
            && next(1) == Some(&Token::LParen)
        {
            let mut depth = 0;
            for &j in &solid[n + 1..] {
                drop[j] = true;
                match tokens[j].token {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
            }
            drop[i] = true;
        }
        if view && is_word(t, "WITH") {
            let rest: Vec<&Token> = solid[n + 1..].iter().map(|&j| &tokens[j].token).collect();
            let tail = match rest.as_slice() {
                [d, ..] if is_word(d, "DATA") => 1,
                [no, d, ..] if is_word(no, "NO") && is_word(d, "DATA") => 2,
                _ => continue,
            };
            let end = rest[tail..]
                .iter()
                .all(|t| matches!(t, Token::SemiColon | Token::EOF));
            if end {
                drop[i] = true;
                for &j in &solid[n + 1..=n + tail] {
                    drop[j] = true;
                }
            }
        }
    }
    tokens
        .into_iter()
        .zip(drop)
        .filter_map(|(t, d)| (!d).then_some(t))
        .collect()
}

/// Whether a statement starting with `words` could create, change or drop a table, view, column
/// or index.
fn could_shape_tables(words: &[String]) -> bool {
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let has = |w: &str| upper.iter().any(|u| u == w);
    match upper.first().map(String::as_str) {
        // Indexes are part of what is compared; `ALTER INDEX` is read for its renames only
        // (pg_dump's `ATTACH PARTITION` ties a partition's index to its parent's, which the
        // comparison reads through the parent anyway).
        // Enum types too (`CREATE TYPE ... AS ENUM`, label changes and renames of a type; an
        // `ALTER TYPE ... OWNER TO` changes nothing compared).
        Some("CREATE") => {
            has("TABLE") || has("VIEW") || has("INDEX") || (has("TYPE") && has("ENUM"))
        }
        Some("ALTER") => {
            upper.get(1).is_some_and(|w| w == "TABLE" || w == "VIEW")
                || (upper.get(1).is_some_and(|w| w == "INDEX") && has("RENAME"))
                || (upper.get(1).is_some_and(|w| w == "TYPE")
                    && (has("VALUE") || (has("RENAME") && has("TO"))))
        }
        Some("DROP") => upper
            .get(1)
            .is_some_and(|w| w == "TABLE" || w == "VIEW" || w == "INDEX" || w == "TYPE"),
        Some("RENAME") => upper.get(1).is_some_and(|w| w == "TABLE"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each statement `for_each` hands on, as (line, start shown in messages, statement as parsed).
    fn split(engine: Engine, text: &str) -> Result<Vec<(u64, String, String)>, String> {
        let mut out = Vec::new();
        for_each(Path::new("f.sql"), text, engine, |statement, at| {
            out.push((at.line, at.start(), statement.to_string()));
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn words(list: &str) -> Vec<String> {
        list.split_whitespace().map(str::to_string).collect()
    }

    fn tokens(sql: &str) -> Vec<TokenWithSpan> {
        let dialect = quirks::dialect(Engine::Postgres);
        Tokenizer::new(dialect.as_ref(), sql)
            .tokenize_with_location()
            .unwrap()
    }

    fn text_of(tokens: &[TokenWithSpan]) -> String {
        tokens.iter().map(|t| t.token.to_string()).collect()
    }

    #[test]
    fn statements_come_in_order_with_their_line_and_start() {
        let text =
            "CREATE TABLE a (x int); CREATE TABLE b (y int);\n\nCREATE TABLE c (\n  z int\n)";
        let got = split(Engine::Postgres, text).unwrap();
        let lines: Vec<(u64, &str)> = got.iter().map(|(l, s, _)| (*l, s.as_str())).collect();
        assert_eq!(
            lines,
            [
                (1, "CREATE TABLE a (x int)"),
                (1, "CREATE TABLE b (y int)"),
                (3, "CREATE TABLE c ("),
            ]
        );
        assert_eq!(got[2].2, "CREATE TABLE c (z INT)", "the last needs no `;`");
    }

    /// A chain of operators past the bound is an error naming the file and line, not a tree
    /// whose drop exhausts the stack; one within it is read.
    #[test]
    fn a_statement_of_too_many_operators_is_refused_not_read() {
        let chain = |n: usize| {
            format!(
                "CREATE TABLE ok (a int);\nCREATE TABLE t (a int DEFAULT {});",
                vec!["1"; n].join("+")
            )
        };
        let mut seen = 0;
        for_each(
            Path::new("deep.sql"),
            &chain(9_000),
            Engine::Postgres,
            |_, _| {
                seen += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, 2);
        let err = for_each(
            Path::new("deep.sql"),
            &chain(60_000),
            Engine::Postgres,
            |_, _| Ok(()),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("deep.sql:2"), "{err}");
        assert!(err.contains("120006 tokens deep"), "{err}");
        // Any operator: a chain of containments, of LIKEs.
        for op in ["@>", "LIKE"] {
            let chain = format!(
                "CREATE TABLE t (a text, b bool DEFAULT (a {op} {}));",
                vec!["a"; 30_000].join(&format!(" {op} "))
            );
            assert!(
                for_each(Path::new("deep.sql"), &chain, Engine::Postgres, |_, _| Ok(
                    ()
                ))
                .is_err()
            );
        }
        // Chains inside chains add up: four levels of 9,000 are one tree 36,000 deep.
        let mut nested = "1".to_string();
        for _ in 0..4 {
            nested = format!("({nested}{})", " + 1".repeat(9_000));
        }
        let deep = format!("CREATE TABLE t (a int DEFAULT {nested});");
        assert!(for_each(
            Path::new("deep.sql"),
            &deep,
            Engine::Postgres,
            |_, _| Ok(())
        )
        .is_err());
        let mut nested = "1".to_string();
        for _ in 0..40 {
            nested = format!("({nested}{})", " || 1".repeat(1_000));
        }
        let deep = format!("SELECT {nested};");
        assert!(for_each(
            Path::new("deep.sql"),
            &deep,
            Engine::Postgres,
            |_, _| Ok(())
        )
        .is_err());
        // A seed of many rows is many short runs, and is read.
        let rows: Vec<String> = (0..6_000)
            .map(|i| format!("({i}, 'City {i}', -12.5, -34.25)"))
            .collect();
        let seed = format!("CREATE TABLE cities (id int, name text, lat numeric, lon numeric);\nINSERT INTO cities VALUES {};", rows.join(", "));
        for_each(
            Path::new("seed.sql"),
            &seed,
            Engine::Postgres,
            |_, _| Ok(()),
        )
        .unwrap();
        // Parentheses nested as pg_dump writes a long concatenation are read.
        let nested = format!(
            "CREATE TABLE t (a text, b text);\nCREATE INDEX t_ab ON t (({}a{}));",
            "(".repeat(120),
            " || b)".repeat(120)
        );
        for_each(
            Path::new("nested.sql"),
            &nested,
            Engine::Postgres,
            |_, _| Ok(()),
        )
        .unwrap();
    }

    #[test]
    fn meta_commands_are_blanked_keeping_line_numbers() {
        let dump = "\\restrict abc\n\\connect app\nCREATE TABLE t (a int);\n\\unrestrict abc";
        assert_eq!(without_meta_commands(dump), "\n\nCREATE TABLE t (a int);\n");
        let got = split(Engine::Postgres, dump).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 3);
    }

    #[test]
    fn delimiter_blocks_are_blanked_unless_they_shape_tables() {
        let dump = "CREATE TABLE t (a int);\nDELIMITER ;;\n/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN\n  SET NEW.a = 1;\nEND */;;\nCREATE TABLE u (b int);;\ndelimiter ;\nCREATE TABLE v (c int);\nDELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END";
        let out = without_custom_delimiters(dump);
        assert_eq!(
            out,
            "CREATE TABLE t (a int);\n\n\n\n\nCREATE TABLE u (b int);\n\nCREATE TABLE v (c int);\n\n"
        );
        let got = split(Engine::MySql, dump).unwrap();
        let lines: Vec<u64> = got.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(lines, [1, 6, 8], "line numbers as in the dump");
    }

    #[test]
    fn delimiter_directives_are_read_only_on_mysql() {
        let text = "DELIMITER ;;\nSELECT 1;\nCREATE TABLE t (a int);;";
        assert!(
            split(Engine::MySql, text).unwrap().is_empty(),
            "a block that starts with SELECT"
        );
        let lines: Vec<u64> = split(Engine::Postgres, text)
            .unwrap()
            .iter()
            .map(|(l, _, _)| *l)
            .collect();
        assert_eq!(lines, [2, 3], "plain SQL on PostgreSQL");
    }

    #[test]
    fn identity_sequence_options_are_dropped_before_parsing() {
        let identity = tokens(
            "ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (\n    SEQUENCE NAME s\n    START WITH 1\n    CACHE (1)\n)",
        );
        assert_eq!(
            text_of(&without_identity_sequence_options(identity)),
            "ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY "
        );
        for unchanged in [
            "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, b int)",
            "CREATE TABLE t (a int)",
            "ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (START WITH 1",
        ] {
            let t = tokens(unchanged);
            assert_eq!(text_of(&without_identity_sequence_options(t)), unchanged);
        }
        let pg_dump = "ALTER TABLE public.t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (\n    SEQUENCE NAME public.t_id_seq\n    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1\n);";
        assert_eq!(split(Engine::Postgres, pg_dump).unwrap().len(), 1);
    }

    #[test]
    fn the_start_shown_is_the_statements_own_part_of_its_first_line_shortened() {
        let at = |line: u64, column: u64| Location::new(line, column);
        let lines = ["SET x = 1; ALTER TABLE t ADD b int; SELECT 1", "next"];
        assert_eq!(
            statement_start(&lines, at(1, 12), at(1, 35)),
            "ALTER TABLE t ADD b int"
        );
        assert_eq!(
            statement_start(&lines, at(1, 12), at(2, 4)),
            "ALTER TABLE t ADD b int; SELECT 1",
            "ends on a later line: the rest of the first"
        );
        let long = format!("CREATE TABLE t ({})", "a int, ".repeat(20));
        let shown = statement_start(&[long.as_str()], at(1, 1), at(1, 200));
        assert_eq!(shown.chars().count(), 63);
        assert!(shown.starts_with("CREATE TABLE t (a int, ") && shown.ends_with("..."));
        assert_eq!(statement_start(&[], at(7, 1), at(7, 2)), "");
    }

    #[test]
    fn only_table_view_and_index_statements_could_shape_tables() {
        for shaping in [
            "CREATE TABLE t",
            "CREATE UNLOGGED TABLE t",
            "CREATE OR REPLACE VIEW v",
            "ALTER TABLE t",
            "alter view v",
            "DROP TABLE t",
            "RENAME TABLE a TO b",
            "CREATE INDEX i ON t",
            "CREATE UNIQUE INDEX CONCURRENTLY i",
            "DROP INDEX i",
            "ALTER INDEX i RENAME TO j",
        ] {
            assert!(could_shape_tables(&words(shaping)), "{shaping}");
        }
        for other in [
            "CREATE FUNCTION f",
            "ALTER SEQUENCE s",
            "ALTER INDEX i ATTACH PARTITION j",
            "COMMENT ON TABLE t",
            "GRANT SELECT ON TABLE t",
            "",
        ] {
            assert!(!could_shape_tables(&words(other)), "{other}");
        }
    }

    #[test]
    fn unparsable_statements_fail_only_when_they_could_shape_tables() {
        let skipped = split(
            Engine::Postgres,
            "CREATE EVENT TRIGGER x ON ddl_command_start EXECUTE FUNCTION f();\nCREATE TABLE t (a int);",
        )
        .unwrap();
        assert_eq!(skipped.len(), 1);
        let e = split(
            Engine::Postgres,
            "SELECT 1;\n\n  CREATE TABLE t (a int,, b int);",
        )
        .unwrap_err();
        assert!(
            e.starts_with("f.sql:3: statement `CREATE TABLE t (a int,, b int)`:"),
            "{e}"
        );
        let e = split(Engine::Postgres, "CREATE TABLE t (a text DEFAULT 'x);").unwrap_err();
        assert!(
            e.starts_with("f.sql:1:32: Unterminated string literal"),
            "a tokenizer error has a column too: {e}"
        );
    }
}
