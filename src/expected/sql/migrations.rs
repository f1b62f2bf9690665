//! Which files a configured `sql:` list stands for, and in which order they run: migration
//! directories follow the naming conventions of the common migration tools, so the expectation is
//! the schema those tools would build, file after file.

use std::path::{Path, PathBuf};

use crate::expected::ExpectedError;

/// Lists the files a configured `sql:` list stands for, in the order they are applied: a file as is;
/// a directory's migration files in version order (see [`migration_order`]).
pub fn files_to_apply(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ExpectedError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ExpectedError::Read {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut names = Vec::new();
            let entries = std::fs::read_dir(path).map_err(|source| ExpectedError::Read {
                path: path.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| ExpectedError::Read {
                    path: path.clone(),
                    source,
                })?;
                // Every entry's name goes to the ordering, whatever it is: one named like a
                // migration must be readable, or the expectation would silently lack its effect.
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
            let ordered = migration_order(&names).map_err(|message| ExpectedError::Invalid {
                location: path.display().to_string(),
                message,
            })?;
            for name in &ordered {
                let entry = path.join(name);
                if let Some(message) = unreadable(&entry) {
                    return Err(ExpectedError::Invalid {
                        location: entry.display().to_string(),
                        message,
                    });
                }
            }
            if ordered.is_empty() {
                return Err(ExpectedError::Invalid {
                    location: path.display().to_string(),
                    message: "the directory holds no migration files (*.sql, not *.down.sql)"
                        .into(),
                });
            }
            out.extend(ordered.into_iter().map(|n| path.join(n)));
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Why a directory entry named like a migration cannot be applied as one, if it cannot: only a
/// regular file (or a symbolic link to one) is a migration.
fn unreadable(entry: &Path) -> Option<String> {
    match std::fs::metadata(entry) {
        Ok(meta) if meta.is_file() => None,
        Ok(meta) if meta.is_dir() => {
            Some("a directory named like a migration file; a migration must be a file".into())
        }
        Ok(_) => {
            Some("named like a migration but not a regular file (a FIFO, socket or device)".into())
        }
        Err(e) if entry.is_symlink() => Some(format!(
            "a symbolic link named like a migration whose target cannot be read: {e}"
        )),
        Err(e) => Some(format!("cannot be read: {e}")),
    }
}

/// Orders a migration directory's file names by version: Flyway `V3__x.sql` / `V1_1__x.sql` /
/// `V1.1__x.sql` (then repeatable `R__x.sql` by name; undo `U3__x.sql` skipped), and leading-number
/// names of golang-migrate (`0003_x.up.sql`), sqlx, dbmate, goose and Django `sqlmigrate` output
/// (`0003_x.sql`, `20240101120000_x.sql`). Versions compare as numbers, so V2 comes before V10.
/// `*.down.sql` files are skipped; other files without a version are an error, so a stray file can
/// never be applied in a surprising place.
pub fn migration_order(names: &[String]) -> Result<Vec<String>, String> {
    let mut versioned: Vec<(Vec<u64>, String)> = Vec::new();
    let mut repeatable = Vec::new();
    for name in names {
        match migration_version(name)? {
            None => {}
            Some(MigrationVersion::Repeatable) => repeatable.push(name.clone()),
            Some(MigrationVersion::Versioned(v)) => {
                if let Some((_, other)) = versioned.iter().find(|(w, _)| *w == v) {
                    return Err(format!("{name} and {other} have the same version"));
                }
                versioned.push((v, name.clone()));
            }
        }
    }
    versioned.sort();
    repeatable.sort();
    Ok(versioned
        .into_iter()
        .map(|(_, n)| n)
        .chain(repeatable)
        .collect())
}

/// What a migration file's name says about when it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationVersion {
    /// A versioned migration; the numeric parts of its version, trailing zero parts removed
    /// (Flyway's `1.0` is `1`), so a ledger's version text and a file name compare as numbers.
    Versioned(Vec<u64>),
    /// A Flyway repeatable migration (`R__x.sql`), run after the versioned ones.
    Repeatable,
}

/// The version in a migration file's name, `None` for a file that is not a migration to apply
/// (not `*.sql`, a `*.down.sql`, a Flyway undo, a hidden file), an error for a `.sql` file
/// without a version.
pub fn migration_version(name: &str) -> Result<Option<MigrationVersion>, String> {
    let lower = name.to_ascii_lowercase();
    if !lower.ends_with(".sql") || lower.ends_with(".down.sql") || name.starts_with('.') {
        return Ok(None);
    }
    if name.starts_with("R__") {
        return Ok(Some(MigrationVersion::Repeatable));
    }
    if name.starts_with('U') && name[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(None);
    }
    let version = match name.strip_prefix(['V', 'v']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
            let end = rest.find("__").ok_or_else(|| {
                format!("{name}: a Flyway version must be followed by `__` and a description")
            })?;
            &rest[..end]
        }
        _ => {
            let end = name
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(name.len());
            &name[..end]
        }
    };
    match version_parts(version) {
        Some(v) => Ok(Some(MigrationVersion::Versioned(v))),
        None => Err(format!(
            "{name}: no migration version (expected e.g. V3__add_file_size.sql or 0003_add_file_size.up.sql); list plain SQL files one by one instead"
        )),
    }
}

/// `1.2`, `1_2` or `20240101120000` as numbers, trailing zero parts removed; `None` when it is
/// not a version.
pub fn version_parts(version: &str) -> Option<Vec<u64>> {
    if version.is_empty() {
        return None;
    }
    let mut parts: Vec<u64> = version
        .split(['.', '_'])
        .map(|p| p.parse::<u64>())
        .collect::<Result<_, _>>()
        .ok()?;
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    Some(parts)
}

/// Keeps only the part of a migration file that runs on the way up: dbmate (`-- migrate:down`) and
/// goose (`-- +goose Down`) keep both directions in one file. Lines stay where they were.
pub fn up_part(text: &str) -> &str {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.eq_ignore_ascii_case("-- migrate:down") || t.eq_ignore_ascii_case("-- +goose down") {
            return &text[..offset];
        }
        offset += line.len();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Engine;
    use crate::expected::sql::parse_texts;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn migrations_are_ordered_by_numeric_version_in_every_naming_convention() {
        let flyway = names(&[
            "V10__c.sql",
            "R__views.sql",
            "V2__b.sql",
            "V1_1__a2.sql",
            "V1__a.sql",
            "U2__undo.sql",
            "README.md",
        ]);
        assert_eq!(
            migration_order(&flyway).unwrap(),
            [
                "V1__a.sql",
                "V1_1__a2.sql",
                "V2__b.sql",
                "V10__c.sql",
                "R__views.sql"
            ]
        );
        let golang = names(&[
            "0010_x.up.sql",
            "0002_y.up.sql",
            "0002_y.down.sql",
            "0001_z.up.sql",
        ]);
        assert_eq!(
            migration_order(&golang).unwrap(),
            ["0001_z.up.sql", "0002_y.up.sql", "0010_x.up.sql"]
        );
        let timestamps = names(&["20240102000000_b.sql", "20231231235959_a.sql"]);
        assert_eq!(
            migration_order(&timestamps).unwrap(),
            ["20231231235959_a.sql", "20240102000000_b.sql"]
        );
    }

    #[test]
    fn only_the_up_part_of_dbmate_and_goose_files_is_applied() {
        let dbmate = "-- migrate:up\nCREATE TABLE t (a int);\n\n-- migrate:down\nDROP TABLE t;\n";
        let goose = "-- +goose Up\nCREATE TABLE u (a int);\n-- +goose Down\nDROP TABLE u;\n";
        let schema =
            parse_texts(Engine::Postgres, &[("1_t.sql", dbmate), ("2_u.sql", goose)]).unwrap();
        assert_eq!(
            schema.tables.len(),
            2,
            "the down parts would have dropped them"
        );
        assert_eq!(
            up_part("CREATE TABLE t (a int);\n"),
            "CREATE TABLE t (a int);\n"
        );
    }

    #[test]
    fn unversioned_and_duplicate_migrations_are_errors_naming_the_files() {
        let e = migration_order(&names(&["0001_a.sql", "schema.sql"])).unwrap_err();
        assert!(e.starts_with("schema.sql: no migration version"), "{e}");
        let e = migration_order(&names(&["0001_a.sql", "1_b.sql"])).unwrap_err();
        assert!(e.contains("have the same version"), "{e}");
        let e = migration_order(&names(&["V3_no_separator.sql"])).unwrap_err();
        assert!(e.contains("`__`"), "{e}");
    }

    #[test]
    fn a_migration_that_cannot_be_read_as_a_file_is_an_error_naming_it() {
        type Make = fn(&Path);
        let cases: [(&str, Make); 4] = [
            ("dangling symlink", |p| {
                std::os::unix::fs::symlink("/nonexistent/0002.sql", p).unwrap()
            }),
            ("symlink loop", |p| {
                std::os::unix::fs::symlink(p, p).unwrap()
            }),
            ("directory", |p| std::fs::create_dir(p).unwrap()),
            ("fifo", |p| {
                let made = std::process::Command::new("mkfifo").arg(p).status();
                assert!(made.unwrap().success(), "mkfifo");
            }),
        ];
        for (what, make) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("0001_init.sql"), "CREATE TABLE t (a int);").unwrap();
            // Not named like a migration: still skipped, whatever it is.
            std::fs::create_dir(dir.path().join("archive")).unwrap();
            let bad = dir.path().join("0002_add_b.sql");
            make(&bad);
            let e = files_to_apply(&[dir.path().to_path_buf()])
                .expect_err(what)
                .to_string();
            assert!(
                e.starts_with(&format!("{}:", bad.display())),
                "{what}: the error names the entry: {e}"
            );
        }
        // A symlink to a regular file is a migration like any other.
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "CREATE TABLE t (a int);").unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("0001_init.sql")).unwrap();
        assert_eq!(
            files_to_apply(&[dir.path().to_path_buf()]).unwrap(),
            [dir.path().join("0001_init.sql")]
        );
    }
}
