//! Connection URLs that never print their password.
//!
//! The URL is needed in full exactly once, when a pool is built ([`DatabaseUrl::expose`]). Everywhere
//! else (logs, errors, `/drift`, Debug output) it shows as its redacted form, and [`DatabaseUrl::scrub`]
//! removes the password from any text that might echo it back, such as a driver error.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;
use url::Url;

/// Everything but RFC 3986's unreserved characters: what a password taken as-is must have escaped
/// to travel inside a URL and come out of the driver's decoding unchanged.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Placeholder shown instead of a password.
pub const REDACTED: &str = "***";

/// A database URL whose password is hidden from Debug and Display.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    full: String,
    redacted: String,
    password: Option<String>,
}

impl DatabaseUrl {
    /// Wraps a URL, optionally replacing its password with one read from a file or the environment.
    pub fn new(url: &str, password: Option<String>) -> Result<DatabaseUrl, String> {
        if url.starts_with("sqlite:") {
            // SQLite URLs carry a path, never credentials; `url` would mangle relative paths. A
            // password given for one would be dropped unused (and never scrubbed): refused.
            if password.is_some() {
                return Err(
                    "an SQLite database takes no password: remove password_file / password_env"
                        .into(),
                );
            }
            return Ok(DatabaseUrl {
                full: url.to_string(),
                redacted: url.to_string(),
                password: None,
            });
        }
        let mut parsed = Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
        if let Some(p) = password {
            // A password from a file or variable is the password itself, not URL text: every byte
            // outside the unreserved set is escaped, `%` included (the URL parser leaves `%` alone,
            // and the driver's decoding would then turn `%41` into `A`).
            let escaped = utf8_percent_encode(&p, NOT_UNRESERVED).to_string();
            parsed
                .set_password(Some(&escaped))
                .map_err(|()| "this URL cannot carry a password".to_string())?;
        }
        let password = parsed
            .password()
            .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned())
            .filter(|p| !p.is_empty());
        let full = parsed.to_string();
        let mut shown = parsed.clone();
        if password.is_some() {
            let _ = shown.set_password(Some(REDACTED));
        }
        // Query parameters such as `password=` would leak too.
        let pairs: Vec<(String, String)> = shown
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    REDACTED.to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        let query_password = parsed
            .query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case("password"))
            .map(|(_, v)| v.into_owned());
        if !pairs.is_empty() {
            shown.query_pairs_mut().clear().extend_pairs(pairs);
        }
        Ok(DatabaseUrl {
            full,
            redacted: shown.to_string(),
            password: password.or(query_password),
        })
    }

    /// The URL with its password, for the driver only.
    pub fn expose(&self) -> &str {
        &self.full
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The server this URL connects to, as `host:port` (the URL's host, or its `host=` parameter
    /// for a socket directory), so checks can be capped per server; `None` for SQLite, whose
    /// databases share nothing that can hang together.
    pub fn server(&self) -> Option<String> {
        if self.full.starts_with("sqlite:") {
            return None;
        }
        let parsed = Url::parse(&self.redacted).ok()?;
        let param = |key: &str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        };
        // One server, one key, however the URL spells it: hosts compare case-insensitively and
        // a missing port is the engine's default.
        let host = match parsed.host_str().filter(|h| !h.is_empty()) {
            Some(h) => h.to_ascii_lowercase(),
            None => param("host").unwrap_or_else(|| "localhost".to_string()),
        };
        let default_port = if parsed.scheme().starts_with("postgres") {
            5432
        } else {
            3306
        };
        let port = parsed
            .port()
            .or_else(|| param("port")?.parse().ok())
            .unwrap_or(default_port);
        Some(format!("{host}:{port}"))
    }

    /// Returns `text` with every occurrence of the password (and of the full URL) replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.full, &self.redacted);
        if let Some(p) = &self.password {
            out = out.replace(p.as_str(), REDACTED);
        }
        out
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.redacted).finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_on_one_server_share_its_key_and_sqlite_files_have_none() {
        let server = |u: &str| DatabaseUrl::new(u, None).unwrap().server();
        assert_eq!(
            server("postgres://u:pw@db.internal:5433/app"),
            Some("db.internal:5433".into())
        );
        assert_eq!(
            server("postgres://u@db.internal:5433/other"),
            server("postgres://v@db.internal:5433/app")
        );
        assert_ne!(
            server("postgres://u@db.internal:5433/app"),
            server("postgres://u@db.internal:5432/app")
        );
        assert_eq!(
            server("postgres:///app?host=/run/postgresql"),
            Some("/run/postgresql:5432".into())
        );
        assert_eq!(
            server("postgres:///app?host=/run/postgresql&port=5433"),
            Some("/run/postgresql:5433".into())
        );
        assert_eq!(
            server("postgres://u@DB.internal/app"),
            server("postgres://u@db.internal:5432/x")
        );
        assert_eq!(server("mysql://u@maria/app"), Some("maria:3306".into()));
        assert_eq!(server("sqlite:app.db"), None);
    }

    #[test]
    fn a_password_for_an_sqlite_database_is_refused_not_dropped() {
        let e = DatabaseUrl::new("sqlite:app.db", Some("hunter2".into())).unwrap_err();
        assert!(e.contains("password_file / password_env"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(DatabaseUrl::new("sqlite:app.db", None).is_ok());
    }

    #[test]
    fn debug_and_display_never_show_the_password() {
        let url =
            DatabaseUrl::new("postgres://app:s3cr%40t@db:5432/app?sslmode=require", None).unwrap();
        for shown in [
            format!("{url}"),
            format!("{url:?}"),
            url.redacted().to_string(),
        ] {
            assert!(!shown.contains("s3cr"), "{shown}");
            assert!(shown.contains("app:***@db"), "{shown}");
        }
        assert!(url.expose().contains("s3cr%40t"));
    }

    #[test]
    fn password_from_a_file_replaces_the_url_password_and_is_scrubbed() {
        let url = DatabaseUrl::new("postgres://app@db/app", Some("p@ss word".into())).unwrap();
        assert!(url.expose().starts_with("postgres://app:p%40ss%20word@db"));
        assert_eq!(
            url.scrub("auth failed for p@ss word at postgres://app:p%40ss%20word@db/app"),
            "auth failed for *** at postgres://app:***@db/app"
        );
    }

    #[test]
    fn a_password_from_a_file_reaches_the_driver_byte_for_byte() {
        for secret in [
            "p%41ss",
            "100%",
            "%zz",
            "a%2Fb/c?d#e",
            "ünï çödé",
            "p@ss:w:rd",
        ] {
            let url = DatabaseUrl::new("postgres://app@db/app", Some(secret.into())).unwrap();
            let parsed = Url::parse(url.expose()).unwrap();
            let decoded = percent_decode_str(parsed.password().unwrap())
                .decode_utf8()
                .unwrap();
            assert_eq!(decoded, secret, "{}", url.expose());
            assert_eq!(url.scrub(&format!("x {secret} y")), "x *** y");
        }
    }

    #[test]
    fn password_in_query_string_is_redacted() {
        let url = DatabaseUrl::new("postgres://db/app?user=a&password=hunter2", None).unwrap();
        assert!(!url.to_string().contains("hunter2"));
        assert_eq!(url.scrub("x hunter2 y"), "x *** y");
    }

    #[test]
    fn sqlite_paths_pass_through() {
        let url = DatabaseUrl::new("sqlite:relative/app.db?mode=ro", None).unwrap();
        assert_eq!(url.expose(), "sqlite:relative/app.db?mode=ro");
    }
}
