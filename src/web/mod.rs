//! `--web.config.file`: the web configuration of prometheus/exporter-toolkit (TLS, client
//! certificates, basic auth with bcrypt hashes, response headers, rate limit), read with the same
//! schema and the same validation rules, so one file serves this exporter and every Go exporter.
//!
//! Where rustls cannot do what Go's TLS does (TLS 1.0 and 1.1, client certificates that are asked
//! for but not verified, CBC and RSA key-exchange cipher suites, the P-521 curve), the file is
//! refused with an error that says so, never served with something weaker or different.
//!
//! [`WebConfig::load`] validates a file ([`crate::app::validate`], startup); [`Watched`] re-reads it
//! when it or a certificate file changes, so certificates rotate and users change without a restart.

pub mod auth;
pub mod tls;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Largest web configuration file read (inline certificates included, it is a few KiB).
pub const MAX_WEB_CONFIG_BYTES: u64 = 1 << 20;

/// Headers the toolkit lets a web config set, with the values allowed where it restricts them.
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    prefer_server_cipher_suites: Option<GoScalar<bool>>,
    client_allowed_sans: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    /// Accepted for the toolkit's schema; this server speaks HTTP/1.1 either way.
    #[allow(dead_code)]
    http2: Option<GoScalar<bool>>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<String>,
    burst: Option<GoScalar<u64>>,
}

/// A boolean or integer read as Go's `yaml.v2` reads one into a typed field: from a plain scalar
/// only (`true`, `yes`, `on`, `5`, `0x10`), never from a quoted string (`"true"`, `!!str true`),
/// which `promtool check web-config` refuses with "cannot unmarshal !!str". serde's typed
/// `bool`/`u64` would take the quoted text too; asking for "any" value lets the YAML reader say
/// what the scalar resolved to.
#[derive(Debug, Clone, Copy)]
struct GoScalar<T>(T);

impl<'de> Deserialize<'de> for GoScalar<bool> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GoScalarVisitor("bool"))
            .and_then(|v| match v {
                Resolved::Bool(b) => Ok(GoScalar(b)),
                other => Err(other.refusal("bool")),
            })
    }
}

impl<'de> Deserialize<'de> for GoScalar<u64> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GoScalarVisitor("a non-negative integer"))
            .and_then(|v| match v {
                Resolved::Unsigned(n) => Ok(GoScalar(n)),
                other => Err(other.refusal("a non-negative integer")),
            })
    }
}

/// What a YAML scalar resolved to, as far as [`GoScalar`] cares.
enum Resolved {
    Bool(bool),
    Unsigned(u64),
    /// A negative integer, a float, or text: (YAML's tag name, the value as written).
    Other(&'static str, String),
}

impl Resolved {
    fn refusal<E: serde::de::Error>(self, want: &str) -> E {
        match self {
            Resolved::Other(tag, value) => E::custom(format_args!(
                "cannot unmarshal !!{tag} `{value}` into {want}"
            )),
            Resolved::Bool(b) => {
                E::custom(format_args!("cannot unmarshal !!bool `{b}` into {want}"))
            }
            Resolved::Unsigned(n) => {
                E::custom(format_args!("cannot unmarshal !!int `{n}` into {want}"))
            }
        }
    }
}

struct GoScalarVisitor(&'static str);

impl serde::de::Visitor<'_> for GoScalarVisitor {
    type Value = Resolved;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} as a plain (unquoted) YAML scalar", self.0)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Resolved, E> {
        Ok(Resolved::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Resolved, E> {
        Ok(Resolved::Unsigned(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Resolved, E> {
        Ok(match u64::try_from(v) {
            Ok(n) => Resolved::Unsigned(n),
            Err(_) => Resolved::Other("int", v.to_string()),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Resolved, E> {
        Ok(Resolved::Other("float", v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Resolved, E> {
        Ok(Resolved::Other("str", v.to_string()))
    }
}

/// The first YAML document of `text`. Go's `yaml.Unmarshal` reads one document and stops, so
/// what follows the first `---` (even text that is not YAML) is never looked at; reading the
/// rest would refuse files every Go exporter serves. When the parser fails before the first
/// document ends, the whole text is returned so that the deserializer reports the error.
fn first_document(text: &str) -> &str {
    use granit_parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((event, span))) = parser.next_event() {
        if matches!(event, Event::DocumentEnd) {
            let end = span.start.byte_offset().unwrap_or_else(|| {
                text.char_indices()
                    .nth(span.start.index())
                    .map_or(text.len(), |(i, _)| i)
            });
            return text.get(..end).unwrap_or(text);
        }
    }
    text
}

/// Where a PEM document comes from: a file (read again when it changes) or the web config itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    /// `*_file`, resolved against the web config's folder.
    File(PathBuf),
    /// Inline `cert`, `key` or `client_ca`.
    Inline(String),
}

impl Pem {
    /// The document's bytes.
    pub fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            Pem::Inline(text) => Ok(text.as_bytes().to_vec()),
            Pem::File(path) => crate::files::read_text(path, MAX_WEB_CONFIG_BYTES)
                .map(String::into_bytes)
                .map_err(|e| format!("{}: {e}", path.display())),
        }
    }
}

/// Client certificate policy, as the toolkit names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `NoClientCert` (or unset): none asked for.
    None,
    /// `VerifyClientCertIfGiven`: optional, verified against the client CAs when sent.
    VerifyIfGiven,
    /// `RequireAndVerifyClientCert`: required and verified.
    RequireAndVerify,
}

/// TLS versions this server can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// `tls_server_config`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server's certificate chain.
    pub cert: Pem,
    /// Its private key.
    pub key: Pem,
    /// CAs that sign client certificates.
    pub client_ca: Option<Pem>,
    /// Whether and how client certificates are checked.
    pub client_auth: ClientAuth,
    /// Lowest version offered (default TLS 1.2, as the toolkit's).
    pub min_version: TlsVersion,
    /// Highest version offered (default TLS 1.3).
    pub max_version: TlsVersion,
    /// TLS 1.2 suites allowed, by their Go names, in preference order; empty: the defaults.
    pub cipher_suites: Vec<String>,
    /// Key exchange groups in preference order, by their Go names; empty: the defaults.
    pub curves: Vec<String>,
    /// Whether the server's suite order wins over the client's.
    pub prefer_server_cipher_suites: bool,
    /// Client certificates must carry one of these SANs (DNS, email, IP or URI); empty: any.
    pub client_allowed_sans: Vec<String>,
}

/// `rate_limit`, validated: at most `burst` requests at once, refilled one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Time for one token to come back.
    pub interval: Duration,
    /// Tokens the bucket holds.
    pub burst: u64,
}

/// A web configuration file, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebConfig {
    /// TLS, when configured.
    pub tls: Option<TlsSettings>,
    /// User name -> bcrypt hash; empty: no authentication.
    pub users: BTreeMap<String, String>,
    /// Headers added to every response.
    pub headers: Vec<(String, String)>,
    /// Request rate limit, when configured.
    pub rate_limit: Option<RateLimit>,
}

impl WebConfig {
    /// Reads and validates `path` as the toolkit does (strict keys, paths relative to the file,
    /// certificate and key loaded, users' hashes parsed), plus what rustls cannot do. Every error
    /// names the file and the key.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let fail = |e: String| format!("web config {}: {e}", path.display());
        let config = WebConfig::read(path)?;
        if let Some(tls) = &config.tls {
            // Loaded once now, so a bad certificate is an error at start and in `validate`,
            // not at the first connection.
            tls::server_config(tls).map_err(fail)?;
        }
        Ok(config)
    }

    /// [`WebConfig::load`] without building the TLS setup (for a caller that builds it next).
    fn read(path: &Path) -> Result<WebConfig, String> {
        let fail = |e: String| format!("web config {}: {e}", path.display());
        let text = crate::files::read_text(path, MAX_WEB_CONFIG_BYTES).map_err(fail)?;
        let base = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, base).map_err(fail)
    }

    /// Parses and validates the text of a web config whose relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<WebConfig, String> {
        let mut options = serde_saphyr::Options::default();
        options.with_snippet = false;
        // As Go's YAML reader: the first document counts, and an empty or null one is defaults.
        let raw: RawWebConfig = serde_saphyr::from_str_with_options::<Option<RawWebConfig>>(
            first_document(text),
            options,
        )
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
        let headers = validate_headers(raw.http_server_config.as_ref())?;
        let users = raw.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if let Err(e) = go_bcrypt_cost(hash) {
                return Err(format!(
                    "basic_auth_users: {user:?}: not a bcrypt hash: {e} (make one with `schema_exporter hash-password`)"
                ));
            }
        }
        let rate_limit = match raw.rate_limit {
            None => None,
            Some(r) => {
                let interval = match r.interval.as_deref() {
                    None => Duration::ZERO,
                    Some(t) => go_duration(t)
                        .ok_or_else(|| format!("rate_limit.interval: {t:?} is not a duration"))?,
                };
                (!interval.is_zero()).then_some(RateLimit {
                    interval,
                    burst: r.burst.map_or(0, |b| b.0),
                })
            }
        };
        let tls = match raw.tls_server_config {
            None => None,
            Some(t) => validate_tls(t, base)?,
        };
        Ok(WebConfig {
            tls,
            users,
            headers,
            rate_limit,
        })
    }
}

/// `http_server_config.headers`: only the toolkit's set, with its allowed values. `http2` is
/// accepted and has no effect: this server speaks HTTP/1.1.
fn validate_headers(http: Option<&RawHttp>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (name, value) in http.and_then(|h| h.headers.as_ref()).into_iter().flatten() {
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| n == name) else {
            return Err(format!(
                "http_server_config.headers: HTTP header {name:?} can not be configured (allowed: {})",
                ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ));
        };
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(format!(
                "http_server_config.headers: invalid value for {name}: expected one of {allowed:?}, got {value:?}"
            ));
        }
        if hyper::header::HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "http_server_config.headers: {name}: {value:?} is not a valid header value"
            ));
        }
        out.push((name.clone(), value.clone()));
    }
    Ok(out)
}

/// `tls_server_config`: `None` when nothing in it turns TLS on (as the toolkit: then plain HTTP).
fn validate_tls(t: RawTls, base: &Path) -> Result<Option<TlsSettings>, String> {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    let enabled = [
        &t.cert,
        &t.key,
        &t.client_ca,
        &t.cert_file,
        &t.key_file,
        &t.client_ca_file,
        &t.client_auth_type,
    ]
    .into_iter()
    .any(set);
    if !enabled {
        return Ok(None);
    }
    let pem = |file: &Option<String>, inline: &Option<String>| -> Option<Pem> {
        if set(file) {
            Some(Pem::File(base.join(file.as_deref().unwrap_or_default())))
        } else if set(inline) {
            inline.clone().map(Pem::Inline)
        } else {
            None
        }
    };
    let cert =
        pem(&t.cert_file, &t.cert).ok_or("tls_server_config: missing one of cert or cert_file")?;
    let key =
        pem(&t.key_file, &t.key).ok_or("tls_server_config: missing one of key or key_file")?;
    let client_ca = pem(&t.client_ca_file, &t.client_ca);
    let client_auth = match t.client_auth_type.as_deref().unwrap_or("") {
        "" | "NoClientCert" => ClientAuth::None,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        unverified @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert") => {
            return Err(format!(
                "tls_server_config.client_auth_type: {unverified} accepts client certificates \
                 without verifying them, which rustls (this exporter's TLS) does not do; use \
                 VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"
            ))
        }
        other => return Err(format!("tls_server_config: invalid ClientAuth: {other}")),
    };
    if client_ca.is_some() && client_auth == ClientAuth::None {
        return Err(
            "tls_server_config: client CA's have been configured without a Client Auth Policy"
                .into(),
        );
    }
    if client_auth != ClientAuth::None && client_ca.is_none() {
        // Go would verify against an empty pool and refuse every client; say so up front.
        return Err(format!(
            "tls_server_config.client_auth_type: {} verifies client certificates: client_ca_file \
             (or client_ca) must name the CAs that sign them",
            t.client_auth_type.as_deref().unwrap_or_default()
        ));
    }
    let version = |key: &str, v: &Option<String>, default: TlsVersion| match v.as_deref() {
        None => Ok(default),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some(old @ ("TLS10" | "TLS11")) => Err(format!(
            "tls_server_config.{key}: {old} is not supported: rustls (this exporter's TLS) \
             implements TLS 1.2 and 1.3 only"
        )),
        Some(other) => Err(format!(
            "tls_server_config.{key}: unknown TLS version: {other}"
        )),
    };
    let min_version = version("min_version", &t.min_version, TlsVersion::Tls12)?;
    let max_version = version("max_version", &t.max_version, TlsVersion::Tls13)?;
    if min_version > max_version {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let cipher_suites = t.cipher_suites.unwrap_or_default();
    for suite in &cipher_suites {
        tls::cipher_suite(suite).map_err(|e| format!("tls_server_config.cipher_suites: {e}"))?;
    }
    let curves = t.curve_preferences.unwrap_or_default();
    for curve in &curves {
        tls::curve(curve).map_err(|e| format!("tls_server_config.curve_preferences: {e}"))?;
    }
    Ok(Some(TlsSettings {
        cert,
        key,
        client_ca,
        client_auth,
        min_version,
        max_version,
        cipher_suites,
        curves,
        prefer_server_cipher_suites: t.prefer_server_cipher_suites.map_or(true, |p| p.0),
        client_allowed_sans: t.client_allowed_sans.unwrap_or_default(),
    }))
}

/// The cost of a bcrypt hash, checked as Go's `bcrypt.Cost` (what the toolkit validates users
/// with) checks it: at least 59 bytes, `$`, a major version up to 2, an optional minor letter,
/// then a two-digit cost from 4 to 31. The rest is not looked at until a password is compared.
fn go_bcrypt_cost(hash: &str) -> Result<u32, String> {
    let b = hash.as_bytes();
    if b.len() < 59 {
        return Err("too short to be a bcrypt hash".into());
    }
    if b[0] != b'$' {
        return Err(format!("does not start with '$' but {:?}", b[0] as char));
    }
    if b[1] > b'2' {
        return Err(format!("bcrypt version {:?} is too new", b[1] as char));
    }
    let at = if b[2] == b'$' { 3 } else { 4 };
    let cost = std::str::from_utf8(&b[at..at + 2])
        .ok()
        .and_then(|c| c.parse::<i64>().ok())
        .ok_or("its cost is not a number")?;
    if !(4..=31).contains(&cost) {
        return Err(format!("cost {cost} is outside the allowed range (4,31)"));
    }
    Ok(cost as u32)
}

/// A Go duration (`1m30s`, `250ms`, `1.5h`): what the toolkit's YAML reader accepts.
fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).ok()
}

/// How often [`Watched::current`] looks at the files again: a scrape burst does not stat them per
/// request, and a change applies to connections and requests at most this much later.
const RECHECK: Duration = Duration::from_secs(1);

/// A file modified this recently may be written again within the same timestamp, so its contents
/// are read again at the next look rather than trusted to match its size and time.
const SETTLE: Duration = Duration::from_secs(2);

/// How often the same "no longer valid" error is logged again while it stays.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// A web config file followed as it changes: [`Watched::current`] re-reads it (and rebuilds the
/// TLS setup) when the file or a certificate, key or CA file it names changed, looking at most once
/// per [`RECHECK`].
///
/// Failing closed, as the toolkit does: a file that no longer validates makes `current` fail, and
/// the server refuses requests and handshakes until it is fixed. Whether TLS is on and whether
/// basic auth is on are decided at start: a change that would turn either off (an emptied or
/// truncated file, most often) is refused the same way, never applied, because serving plain
/// HTTP or unauthenticated requests after a half-written file is the one outcome worse than an
/// outage. Turning them on or off takes a restart.
#[derive(Debug)]
pub struct Watched {
    path: PathBuf,
    /// TLS was on at start.
    tls: bool,
    /// Basic auth was on at start.
    auth: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// When the files were last looked at.
    checked: Instant,
    /// Files the config names (itself first), as of the last successful read.
    files: Vec<PathBuf>,
    /// Their sizes and times as of before that read; empty: read again at the next look.
    signature: Signature,
    current: Result<Arc<Active>, String>,
    /// The last error logged and when, so a lasting error is not logged per request.
    logged: Option<(String, Instant)>,
}

/// A validated config with its TLS server setup ready.
#[derive(Debug)]
pub struct Active {
    /// The settings.
    pub config: WebConfig,
    /// The rustls configuration, when TLS is on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Basic-auth state (cache, fake hash for unknown users, rate limiter).
    pub auth: auth::Auth,
}

/// Size and modification time of the web config and of every file it names.
type Signature = Vec<Option<(u64, SystemTime)>>;

impl Watched {
    /// Validates `path` now (the daemon refuses to start on a bad file) and follows it.
    pub fn new(path: &Path) -> Result<Watched, String> {
        let active = build(path, None)?;
        Ok(Watched {
            path: path.to_path_buf(),
            tls: active.config.tls.is_some(),
            auth: !active.config.users.is_empty(),
            state: Mutex::new(State {
                checked: Instant::now(),
                files: named_files(path, &active.config),
                // Nothing looked at before this read: the first look reads again.
                signature: Vec::new(),
                current: Ok(active),
                logged: None,
            }),
        })
    }

    /// Whether TLS is on (decided at start).
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The config as of now, re-read only when a file changed.
    pub fn current(&self) -> Result<Arc<Active>, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(state.checked) < RECHECK {
            return state.current.clone();
        }
        state.checked = now;
        // Stat before reading: a write that lands after this look changes the next signature, so
        // it is read then instead of hiding behind the one taken here.
        let before = signature(&state.files);
        if !state.signature.is_empty() && before == state.signature {
            return state.current.clone();
        }
        let previous = state.current.as_ref().ok().cloned();
        match build(&self.path, previous.as_deref()).and_then(|a| self.allowed(a)) {
            Ok(active) => {
                let files = named_files(&self.path, &active.config);
                // Files named for the first time were not in the look before the read: read
                // everything again at the next look.
                state.signature = if files == state.files {
                    settled(before)
                } else {
                    Vec::new()
                };
                state.files = files;
                if previous
                    .as_ref()
                    .map_or(true, |p| p.config != active.config)
                {
                    tracing::info!(file = %self.path.display(), "web config applied");
                }
                state.logged = None;
                state.current = Ok(active);
            }
            Err(e) => {
                // Read again at every look until it validates; the old config is not served.
                state.signature = Vec::new();
                let repeat = state
                    .logged
                    .as_ref()
                    .is_some_and(|(m, at)| *m == e && now.duration_since(*at) < ERROR_LOG_EVERY);
                if !repeat {
                    tracing::error!(error = %e, "web config no longer valid; refusing requests until it is fixed");
                    state.logged = Some((e.clone(), now));
                }
                state.current = Err(e);
            }
        }
        state.current.clone()
    }

    /// Refuses a change that would turn TLS or basic auth off (or on) while running.
    fn allowed(&self, active: Arc<Active>) -> Result<Arc<Active>, String> {
        let file = self.path.display();
        match (self.tls, active.config.tls.is_some()) {
            (true, false) => Err(format!(
                "web config {file}: it no longer turns TLS on (an emptied or truncated file?); \
                 TLS stays required until a restart"
            )),
            (false, true) => Err(format!(
                "web config {file}: it now turns TLS on; that takes a restart"
            )),
            _ if self.auth && active.config.users.is_empty() => Err(format!(
                "web config {file}: basic_auth_users is now empty (an emptied or truncated file?); \
                 authentication stays required until a restart"
            )),
            _ => Ok(active),
        }
    }
}

/// Reads and validates the file and builds its TLS setup once, carrying the auth cache and the
/// rate limiter over from `previous` where they still apply.
fn build(path: &Path, previous: Option<&Active>) -> Result<Arc<Active>, String> {
    let config = WebConfig::read(path)?;
    let tls = match &config.tls {
        Some(settings) => {
            Some(Arc::new(tls::server_config(settings).map_err(|e| {
                format!("web config {}: {e}", path.display())
            })?))
        }
        None => None,
    };
    let auth = auth::Auth::new(&config, previous.map(|p| &p.auth));
    Ok(Arc::new(Active { config, tls, auth }))
}

/// The web config and every certificate, key and CA file it names.
fn named_files(path: &Path, config: &WebConfig) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    if let Some(t) = &config.tls {
        for pem in [Some(&t.cert), Some(&t.key), t.client_ca.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Pem::File(p) = pem {
                files.push(p.clone());
            }
        }
    }
    files
}

fn signature(files: &[PathBuf]) -> Signature {
    files
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)))
        })
        .collect()
}

/// `signature`, or empty (read again next time) when a file changed too recently to trust it.
fn settled(signature: Signature) -> Signature {
    let now = SystemTime::now();
    let recent = signature.iter().flatten().any(|(_, modified)| {
        now.duration_since(*modified)
            .map_or(true, |age| age < SETTLE)
    });
    if recent {
        Vec::new()
    } else {
        signature
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebConfig, String> {
        WebConfig::parse(text, Path::new("/etc/se"))
    }

    #[test]
    fn only_the_first_document_is_read_as_go_does() {
        assert_eq!(first_document("a: 1\n---\n[: :\n"), "a: 1\n");
        assert_eq!(first_document("---\na: 1\n...\n---\nb: 2\n"), "---\na: 1\n");
        assert_eq!(first_document("# ünï\na: ✓\n---\nb\n"), "# ünï\na: ✓\n");
        assert_eq!(
            first_document("a: [\n"),
            "a: [\n",
            "a broken first document is left whole"
        );
        let rate = "rate_limit:\n  interval: 1s\n  burst: 3\n---\nnot: [valid\n";
        assert_eq!(parse(rate).unwrap().rate_limit.unwrap().burst, 3);
        assert_eq!(
            parse("~\n---\nbasic_auth_users: {}\n").unwrap(),
            WebConfig::default()
        );
        assert!(parse("foo: 1\n---\n{}\n").is_err());
    }

    #[test]
    fn booleans_and_integers_come_from_plain_scalars_only() {
        for ok in ["true", "yes", "On", "!!bool \"true\""] {
            assert!(
                parse(&format!("http_server_config:\n  http2: {ok}\n")).is_ok(),
                "{ok}"
            );
        }
        for bad in ["\"true\"", "'false'", "!!str true", "1", "maybe"] {
            let e = parse(&format!("http_server_config:\n  http2: {bad}\n")).unwrap_err();
            assert!(e.contains("into bool"), "{bad}: {e}");
        }
        let burst = |b: &str| parse(&format!("rate_limit:\n  interval: 1s\n  burst: {b}\n"));
        assert_eq!(burst("0x10").unwrap().rate_limit.unwrap().burst, 16);
        for bad in ["\"5\"", "-1", "2.5", "true"] {
            assert!(
                burst(bad)
                    .unwrap_err()
                    .contains("into a non-negative integer"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_toolkit_schema_parses_strictly_with_its_defaults() {
        assert_eq!(parse("").unwrap(), WebConfig::default());
        let c = parse(
            "tls_server_config:\n  cert_file: s.crt\n  key_file: /abs/s.key\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n",
        )
        .unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, Pem::File("/etc/se/s.crt".into()));
        assert_eq!(tls.key, Pem::File("/abs/s.key".into()));
        assert_eq!(
            (tls.min_version, tls.max_version),
            (TlsVersion::Tls12, TlsVersion::Tls13)
        );
        assert!(tls.prefer_server_cipher_suites);
        assert_eq!(
            c.headers,
            [("X-Frame-Options".to_string(), "deny".to_string())]
        );
        // A tls_server_config that turns nothing on is plain HTTP, as in the toolkit.
        assert!(parse("tls_server_config:\n  min_version: TLS13\n")
            .unwrap()
            .tls
            .is_none());
    }

    #[test]
    fn the_toolkits_invalid_cases_are_refused_and_named() {
        for (text, says) in [
            ("tls_server_config:\n  cert_filse: s.crt\n", "cert_filse"),
            ("hWkNKCp3fvIx3jKnsaBI\nTuEjdwNS8A2vYdFbiKqr\n", ""),
            ("tls_server_config:\n  cert_file: s.crt\n", "missing one of key or key_file"),
            ("tls_server_config:\n  key_file: s.key\n", "missing one of cert or cert_file"),
            ("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_ca_file: ca.pem\n", "without a Client Auth Policy"),
            ("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_auth_type: Sometimes\n", "invalid ClientAuth: Sometimes"),
            ("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  min_version: TLS14\n", "unknown TLS version: TLS14"),
            ("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  cipher_suites: [TLS_FAKE]\n", "unknown cipher: TLS_FAKE"),
            ("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  curve_preferences: [CurveP999]\n", "unknown curve: CurveP999"),
            ("basic_auth_users:\n  john: doe\n", "\"john\": not a bcrypt hash"),
            ("http_server_config:\n  headers:\n    Content-Type: foo\n", "\"Content-Type\" can not be configured"),
            ("http_server_config:\n  headers:\n    X-Frame-Options: foo\n", "invalid value for X-Frame-Options"),
            ("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "invalid value for X-Content-Type-Options"),
            ("rate_limit:\n  interval: soon\n", "rate_limit.interval"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn what_rustls_cannot_do_is_refused_with_the_reason() {
        let base = "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n";
        for (extra, says) in [
            ("  min_version: TLS10\n", "TLS 1.2 and 1.3 only"),
            ("  max_version: TLS11\n", "TLS 1.2 and 1.3 only"),
            (
                "  client_auth_type: RequireAnyClientCert\n",
                "without verifying them",
            ),
            (
                "  client_auth_type: RequestClientCert\n",
                "without verifying them",
            ),
            (
                "  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n",
                "not available in rustls",
            ),
            (
                "  curve_preferences: [CurveP521]\n",
                "not available in rustls",
            ),
            (
                "  min_version: TLS13\n  max_version: TLS12\n",
                "above max_version",
            ),
        ] {
            let err = parse(&format!("{base}{extra}")).unwrap_err();
            assert!(err.contains(says), "{extra:?}: {err}");
        }
    }

    #[test]
    fn go_durations_parse_as_go_reads_them() {
        assert_eq!(go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("0"), Some(Duration::ZERO));
        assert_eq!(go_duration("5"), None, "Go wants a unit");
        assert_eq!(go_duration("1d"), None);
    }
}
