//! `--web.config.file` against real tools: `promtool check web-config` and the exporter agree on
//! what is valid, curl gets 200 with the right password and 401 otherwise, a required client
//! certificate is enforced in the handshake, a rotated certificate is served to the next
//! connection, and a real Prometheus scrapes over TLS with basic auth.

use crate::common::{self, require_tool, run, wait_for, write, Daemon, WAIT};
use crate::monitoring::{host, Prometheus};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs openssl with `args` in `dir`, failing the test on error.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway PKI in `dir`: `ca.crt`, a server certificate `NAME.crt`/`NAME.key` for 127.0.0.1
/// per server name, `client.crt`/`client.key` signed by the CA (SAN `client.test`), and
/// `stranger.crt`/`stranger.key` self-signed.
fn pki(dir: &Path, servers: &[&str]) -> bool {
    if require_tool(&["openssl"], "Debian package `openssl`").is_none() {
        return false;
    }
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca = [
        &ec[..],
        &[
            "-x509",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
        ],
    ]
    .concat();
    openssl(dir, &[&["req"], &ca[..]].concat());
    let mut leaves: Vec<(String, String)> = servers
        .iter()
        .map(|s| {
            (
                s.to_string(),
                "subjectAltName=IP:127.0.0.1,DNS:localhost".to_string(),
            )
        })
        .collect();
    leaves.push(("client".into(), "subjectAltName=DNS:client.test".into()));
    for (name, san) in &leaves {
        write(dir, &format!("{name}.ext"), &format!("{san}\n"));
        let (key, csr, crt, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        let subject = format!("/CN={name}");
        openssl(
            dir,
            &[
                &["req"],
                &ec[..],
                &["-keyout", &key, "-out", &csr, "-subj", &subject],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
    let stranger = [
        &ec[..],
        &[
            "-x509",
            "-keyout",
            "stranger.key",
            "-out",
            "stranger.crt",
            "-days",
            "2",
            "-subj",
            "/CN=stranger",
        ],
    ]
    .concat();
    openssl(dir, &[&["req"], &stranger[..]].concat());
    true
}

/// A bcrypt hash of `password`, made by the exporter's own `hash-password` from stdin.
fn hash(password: &str) -> String {
    let mut child = Command::new(common::BIN)
        .args(["hash-password", "--cost", "4"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$2b$04$"), "{hash}");
    hash
}

/// A config watching one SQLite database, in `dir`.
fn config(dir: &Path) -> String {
    common::block_on(common::sqlite_exec(
        &dir.join("a.sqlite"),
        "CREATE TABLE t (a int);",
    ));
    write(
        dir,
        "e.yaml",
        "tables:\n  t:\n    columns:\n      a: integer\n",
    );
    write(
        dir,
        "c.yaml",
        "databases:\n  - name: a\n    url: sqlite:a.sqlite\n    expected: {file: e.yaml}\n",
    )
}

/// curl with `args`: (exit code, stdout, stderr).
fn curl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The HTTP status curl gets from `url`, trusting `ca`, with `extra` arguments; "none" when it got
/// no response (a refused handshake).
fn https_status(ca: &str, url: &str, extra: &[&str]) -> String {
    let (code, out, _) = curl(
        &[
            &["--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}"],
            extra,
            &[url],
        ]
        .concat(),
    );
    if code == 0 {
        out
    } else {
        "none".to_string()
    }
}

#[test]
fn promtool_and_the_exporter_agree_on_web_configs() {
    let dir = tempfile::tempdir().unwrap();
    if !pki(dir.path(), &["server"]) {
        return;
    }
    let Some(promtool) = require_tool(&["promtool"], "Debian package `prometheus`") else {
        return;
    };
    let cfg = config(dir.path());
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let good = hash("pw");
    // (name, web config, what promtool says, what we say): they agree except where rustls cannot
    // do what Go does (we refuse, promtool accepts).
    let cases: Vec<(&str, String, bool, bool)> = vec![
        ("empty", String::new(), true, true),
        ("plain tls", tls.into(), true, true),
        ("tls13 only", format!("{tls}  min_version: TLS13\n"), true, true),
        ("verified client certs", format!("{tls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"), true, true),
        ("optional client certs", format!("{tls}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n"), true, true),
        ("suites and curves", format!("{tls}  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: false\n"), true, true),
        ("headers", "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n    X-Content-Type-Options: nosniff\n".into(), true, true),
        ("users", format!("basic_auth_users:\n  prometheus: {good}\n"), true, true),
        ("junk", "hWkNKCp3fvIx3jKnsaBI\nTuEjdwNS8A2vYdFbiKqr\n".into(), false, false),
        ("unknown key", "tls_server_config:\n  cert_filse: server.crt\n".into(), false, false),
        ("no key", "tls_server_config:\n  cert_file: server.crt\n".into(), false, false),
        ("no cert", "tls_server_config:\n  key_file: server.key\n".into(), false, false),
        ("missing cert file", "tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n".into(), false, false),
        ("key of another cert", "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n".into(), false, false),
        ("CA without policy", format!("{tls}  client_ca_file: ca.crt\n"), false, false),
        ("bad client auth", format!("{tls}  client_auth_type: Sometimes\n"), false, false),
        ("bad version", format!("{tls}  min_version: TLS14\n"), false, false),
        ("bad cipher", format!("{tls}  cipher_suites: [TLS_FAKE]\n"), false, false),
        ("bad curve", format!("{tls}  curve_preferences: [CurveP999]\n"), false, false),
        ("plain password", "basic_auth_users:\n  john: doe\n".into(), false, false),
        ("null document", "~\n".into(), true, true),
        ("two documents", format!("basic_auth_users:\n  prometheus: {good}\n---\nhttp_server_config: {{}}\n"), true, true),
        ("bcrypt cost 3", format!("basic_auth_users:\n  u: {}\n", good.replacen("$04$", "$03$", 1)), false, false),
        ("bcrypt cost 32", format!("basic_auth_users:\n  u: {}\n", good.replacen("$04$", "$32$", 1)), false, false),
        ("short hash", "basic_auth_users:\n  u: \"$2y$10$abc\"\n".into(), false, false),
        ("extra header", "http_server_config:\n  headers:\n    Content-Type: foo\n".into(), false, false),
        ("bad frame options", "http_server_config:\n  headers:\n    X-Frame-Options: foo\n".into(), false, false),
        // What rustls cannot do: refused here, accepted by Go.
        ("TLS 1.0", format!("{tls}  min_version: TLS10\n"), true, false),
        ("unverified client certs", format!("{tls}  client_auth_type: RequireAnyClientCert\n"), true, false),
        ("CBC suite", format!("{tls}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n"), true, false),
        ("P-521", format!("{tls}  curve_preferences: [CurveP521]\n"), true, false),
        // Go would verify against the system's roots and refuse every client at run time.
        ("verification without CAs", format!("{tls}  client_auth_type: RequireAndVerifyClientCert\n"), true, false),
        // YAML as Go's yaml.v2 reads it: the first document only (what follows is never parsed),
        // YAML 1.1 booleans, and no quoted string where a boolean goes.
        ("invalid later document", "http_server_config: {}\n---\nfoo: bar\n".into(), true, true),
        ("later document not YAML", "http_server_config: {}\n---\n[: :\n".into(), true, true),
        ("null first document", "~\n---\nfoo: bar\n".into(), true, true),
        ("invalid first document", "foo: bar\n---\nhttp_server_config: {}\n".into(), false, false),
        ("quoted boolean", "http_server_config:\n  http2: \"true\"\n".into(), false, false),
        ("single-quoted boolean", "http_server_config:\n  http2: 'false'\n".into(), false, false),
        ("string-tagged boolean", "http_server_config:\n  http2: !!str true\n".into(), false, false),
        ("bool-tagged quoted boolean", "http_server_config:\n  http2: !!bool \"true\"\n".into(), true, true),
        ("YAML 1.1 boolean", "http_server_config:\n  http2: yes\n".into(), true, true),
        ("integer as boolean", "http_server_config:\n  http2: 1\n".into(), false, false),
        ("quoted boolean in tls", format!("{tls}  prefer_server_cipher_suites: \"true\"\n"), false, false),
    ];
    for (name, text, promtool_ok, ours_ok) in &cases {
        let path = write(
            dir.path(),
            &format!("web-{}.yml", name.replace(' ', "-")),
            text,
        );
        let (p_ok, p_out, p_err) = common::run_tool(&promtool, &["check", "web-config", &path]);
        assert_eq!(p_ok, *promtool_ok, "promtool on {name}: {p_out}{p_err}");
        let (code, out, err) = run(&[
            "validate",
            "--config.file",
            &cfg,
            "--web.config.file",
            &path,
        ]);
        assert_eq!(code == 0, *ours_ok, "validate on {name}: {out}{err}");
        if !ours_ok {
            assert!(
                err.contains(&path),
                "{name}: the error names the file: {err}"
            );
        }
    }
}

#[test]
fn curl_gets_in_with_the_right_password_and_the_certificate_rotates() {
    let dir = tempfile::tempdir().unwrap();
    if !pki(dir.path(), &["server", "rotated"])
        || require_tool(&["curl"], "Debian package `curl`").is_none()
    {
        return;
    }
    let cfg = config(dir.path());
    std::fs::copy(dir.path().join("server.crt"), dir.path().join("live.crt")).unwrap();
    std::fs::copy(dir.path().join("server.key"), dir.path().join("live.key")).unwrap();
    let web = write(
        dir.path(),
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\nbasic_auth_users:\n  prometheus: {}\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n",
            hash("correct horse")
        ),
    );
    let daemon = Daemon::start(&["serve", "--config.file", &cfg, "--web.config.file", &web]);
    let base = format!("https://{}", host(&daemon));
    let ca = dir.path().join("ca.crt");
    let ca = ca.to_str().unwrap();
    let status = |extra: &[&str], path: &str| https_status(ca, &format!("{base}{path}"), extra);
    assert_eq!(
        status(&["-u", "prometheus:correct horse"], "/metrics"),
        "200"
    );
    assert_eq!(status(&["-u", "prometheus:wrong"], "/metrics"), "401");
    assert_eq!(status(&["-u", "nobody:correct horse"], "/metrics"), "401");
    assert_eq!(status(&[], "/-/healthy"), "401");
    let (_, headers, _) = curl(&[
        "--cacert",
        ca,
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("{base}/metrics"),
    ]);
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{headers}"
    );
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("x-content-type-options: nosniff"),
        "{headers}"
    );
    // Plain HTTP on the TLS port gets nothing.
    let (_, out, _) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://{}/metrics", host(&daemon)),
    ]);
    assert_ne!(out, "200");
    // The healthcheck speaks TLS to the certificate the file names; a 401 is alive.
    let listen = host(&daemon).to_string();
    let (code, _, err) = run(&[
        "healthcheck",
        "--web.listen-address",
        &listen,
        "--web.config.file",
        &web,
    ]);
    assert_eq!(code, 0, "{err}");

    // Rotation: new files in place, and the next connection gets the new certificate.
    std::fs::copy(dir.path().join("rotated.crt"), dir.path().join("live.crt")).unwrap();
    std::fs::copy(dir.path().join("rotated.key"), dir.path().join("live.key")).unwrap();
    wait_for(WAIT, "the rotated certificate on a new connection", || {
        let (_, _, err) = curl(&[
            "-v",
            "--cacert",
            ca,
            "-u",
            "prometheus:correct horse",
            "-o",
            "/dev/null",
            &format!("{base}/-/healthy"),
        ]);
        err.contains("CN=rotated").then_some(())
    });
    // Users change without a restart too.
    let replaced = std::fs::read_to_string(&web)
        .unwrap()
        .replace("prometheus:", "scraper:");
    std::fs::write(&web, replaced).unwrap();
    wait_for(WAIT, "the renamed user", || {
        (status(&["-u", "scraper:correct horse"], "/metrics") == "200").then_some(())
    });
    assert_eq!(
        status(&["-u", "prometheus:correct horse"], "/metrics"),
        "401"
    );
}

#[test]
fn a_required_client_certificate_is_enforced_in_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    if !pki(dir.path(), &["server"]) || require_tool(&["curl"], "Debian package `curl`").is_none() {
        return;
    }
    let cfg = config(dir.path());
    let web = write(
        dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [client.test]\n",
    );
    let daemon = Daemon::start(&["serve", "--config.file", &cfg, "--web.config.file", &web]);
    let url = format!("https://{}/metrics", host(&daemon));
    let p = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
    let (code, out, err) = curl(&[
        "--cacert",
        &p("ca.crt"),
        "--cert",
        &p("client.crt"),
        "--key",
        &p("client.key"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]);
    assert_eq!((code, out.as_str()), (0, "200"), "{err}");
    let (code, _, _) = curl(&["--cacert", &p("ca.crt"), &url]);
    assert_ne!(code, 0, "no client certificate: no connection");
    let (code, _, _) = curl(&[
        "--cacert",
        &p("ca.crt"),
        "--cert",
        &p("stranger.crt"),
        "--key",
        &p("stranger.key"),
        &url,
    ]);
    assert_ne!(code, 0, "a certificate from another CA: no connection");
}

#[test]
fn prometheus_scrapes_over_tls_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    if !pki(dir.path(), &["server"]) {
        return;
    }
    let cfg = config(dir.path());
    let web = write(
        dir.path(),
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: {}\n",
            hash("scrape-me")
        ),
    );
    let daemon = Daemon::start(&["serve", "--config.file", &cfg, "--web.config.file", &web]);
    let ca: PathBuf = dir.path().join("ca.crt");
    let config = format!(
        "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: right\n    scheme: https\n    tls_config: {{ca_file: {ca}}}\n    basic_auth: {{username: prometheus, password: scrape-me}}\n    static_configs: [{{targets: ['{t}']}}]\n  - job_name: wrong\n    scheme: https\n    tls_config: {{ca_file: {ca}}}\n    basic_auth: {{username: prometheus, password: guess}}\n    static_configs: [{{targets: ['{t}']}}]\n",
        ca = ca.display(),
        t = host(&daemon)
    );
    let Some(prom) = Prometheus::start(&config) else {
        return;
    };
    wait_for(WAIT, "both jobs scraped once", || {
        let v = prom.query("up");
        let r = v["data"]["result"].as_array()?.clone();
        (r.len() == 2).then_some(())
    });
    let value = |job: &str| {
        prom.query(&format!("up{{job=\"{job}\"}}"))["data"]["result"][0]["value"][1]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(value("right").as_deref(), Some("1"));
    assert_eq!(value("wrong").as_deref(), Some("0"));
    wait_for(WAIT, "the exporter's series in Prometheus", || {
        let v = prom.query("schema_checks_total{job=\"right\"}");
        (!v["data"]["result"].as_array()?.is_empty()).then_some(())
    });
}

#[test]
fn a_web_config_that_breaks_or_drops_auth_at_run_time_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    if !pki(dir.path(), &["server"]) || require_tool(&["curl"], "Debian package `curl`").is_none() {
        return;
    }
    let cfg = config(dir.path());
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let good = format!("{tls}basic_auth_users:\n  prometheus: {}\n", hash("pw"));
    let web = write(dir.path(), "web.yml", &good);
    let daemon = Daemon::start(&["serve", "--config.file", &cfg, "--web.config.file", &web]);
    let ca = dir.path().join("ca.crt");
    let ca = ca.to_str().unwrap();
    let url = format!("https://{}/metrics", host(&daemon));
    let status = |extra: &[&str]| https_status(ca, &url, extra);
    assert_eq!(status(&["-u", "prometheus:pw"]), "200");

    // Users removed: no request gets in without credentials, not even after the recheck; the
    // exporter keeps asking (or refuses outright) rather than opening up.
    std::fs::write(&web, tls).unwrap();
    let mut seen = Vec::new();
    wait_for(WAIT, "the dropped users noticed", || {
        let s = status(&["-u", "prometheus:pw"]);
        seen.push(status(&[]));
        (s != "200").then_some(())
    });
    seen.push(status(&[]));
    assert!(
        seen.iter().all(|s| s != "200"),
        "an anonymous request got in while users were dropped: {seen:?}"
    );

    // Back to a valid file: in again.
    std::fs::write(&web, &good).unwrap();
    wait_for(WAIT, "the restored web config", || {
        (status(&["-u", "prometheus:pw"]) == "200").then_some(())
    });

    // Truncated (a half-written file): nobody gets a 200, and TLS is not dropped.
    std::fs::write(&web, "tls_server_config:\n  cert_fi").unwrap();
    wait_for(WAIT, "the broken web config noticed", || {
        (status(&["-u", "prometheus:pw"]) != "200").then_some(())
    });
    assert_ne!(status(&[]), "200");
    let (_, out, _) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://{}/metrics", host(&daemon)),
    ]);
    assert_ne!(out, "200", "plain HTTP after the web config broke");
}
