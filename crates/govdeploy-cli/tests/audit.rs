//! `govdeploy audit` driven as a user drives it: exit codes, formats, stdin, config errors, and
//! the production example rendered by `govdeploy render` passing the built-in profile.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> &'static str {
    "crates/govdeploy-audit/tests/fixtures"
}

fn govdeploy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn the_rendered_production_example_has_no_high_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("prod");
    let rendered = govdeploy(&[
        "render",
        "examples/production.yaml",
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
    let audited = govdeploy(&[
        "audit",
        &out.display().to_string(),
        "-o",
        "json",
        "--today",
        "2026-12-01",
    ]);
    let report = json(&audited);
    assert_eq!(audited.status.code(), Some(0), "{}", stdout(&audited));
    assert!(
        report["objects"].as_u64().unwrap_or(0) > 400,
        "{}",
        report["objects"]
    );
    assert_eq!(report["summary"]["critical"], 0);
    assert_eq!(report["summary"]["high"], 0, "{}", stdout(&audited));
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    // render's own waiver annotations are honoured and reported as waived, not dropped.
    let waived_topics: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["waived"]["annotation"].as_str())
        .collect();
    assert!(waived_topics.contains(&"govdeploy.io/waive.secrets-as-env"));
    assert!(waived_topics.contains(&"govdeploy.io/waive.read-only-root-filesystem"));
    // The checklist's own choices are not findings: no CPU limits, IfNotPresent.
    for rule in [
        "GD-RES-006",
        "GD-IMAGE-003",
        "GD-IMAGE-002",
        "GD-NETPOL-001",
        "GD-NETPOL-002",
    ] {
        assert!(
            !findings.iter().any(|f| f["ruleId"] == rule),
            "{rule} fired on the rendered production example"
        );
    }
    let registry = dir.path().join("audit.yaml");
    std::fs::write(&registry, "extends: production\nallowedRegistries: [registry.state.gov.example:5000]\ningressDomains: [state.gov.example]\n").expect("write");
    let strict = govdeploy(&[
        "audit",
        &out.display().to_string(),
        "--config",
        &registry.display().to_string(),
        "-o",
        "json",
    ]);
    let report = json(&strict);
    assert_eq!(
        report["summary"]["high"], 0,
        "every image is mirrored, every host approved"
    );
}

#[test]
fn exit_codes_follow_the_threshold_and_the_input() {
    let config = format!("{}/audit.yaml", fixtures());
    let clean = govdeploy(&[
        "audit",
        &format!("{}/hardened.yaml", fixtures()),
        "--config",
        &config,
    ]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    assert!(
        stdout(&clean).contains("0 critical, 0 high, 0 medium, 0 low"),
        "{}",
        stdout(&clean)
    );

    let high = format!("{}/violations/GD-SEC-002.yaml", fixtures());
    let failing = govdeploy(&["audit", &high, "--config", &config]);
    assert_eq!(failing.status.code(), Some(1));
    let text = stdout(&failing);
    assert!(text.contains("Deployment shop/web"), "{text}");
    assert!(text.contains("high     GD-SEC-002"), "{text}");
    assert!(text.contains("[read-only root filesystem]"), "{text}");
    let critical_only = govdeploy(&["audit", &high, "--config", &config, "--fail-on", "critical"]);
    assert_eq!(critical_only.status.code(), Some(0));

    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: x}]}\n---\nkind: [oops\n").expect("write");
    let malformed = govdeploy(&["audit", &broken.display().to_string()]);
    assert_eq!(malformed.status.code(), Some(2));
    let text = stdout(&malformed);
    assert!(
        text.contains("broken.yaml:") && text.contains("error[E-AUDIT-INPUT]"),
        "{text}"
    );
    assert!(
        text.contains("Pod default/a"),
        "the good document is still audited: {text}"
    );

    let missing = govdeploy(&["audit", "no/such/file.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read no/such/file.yaml"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn standard_input_and_directories_are_read() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args(["audit", "-", "-o", "json"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let text =
        std::fs::read(root().join(fixtures()).join("violations/GD-SEC-001.yaml")).expect("fixture");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&text)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let first = &report["findings"][0];
    assert_eq!(first["file"], "-");
    assert!(
        report["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["ruleId"] == "GD-SEC-001"))
    );

    let dir = govdeploy(&[
        "audit",
        &format!("{}/violations", fixtures()),
        "-o",
        "sarif",
    ]);
    let sarif = json(&dir);
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().map_or(0, Vec::len);
    assert!(results > 64, "{results}");
}

#[test]
fn rules_are_listed_and_bad_configs_are_located() {
    let rules = govdeploy(&["audit", "--rules"]);
    assert_eq!(rules.status.code(), Some(0));
    let text = stdout(&rules);
    let limit = text
        .lines()
        .find(|l| l.starts_with("GD-RES-006"))
        .unwrap_or_default();
    assert!(
        limit.contains(" medium ")
            && limit.contains(" cpu-limit ")
            && limit.contains("[no CPU limit unless waived]"),
        "{limit}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("GD-")).count(), 64);

    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("audit.yaml");
    std::fs::write(&config, "extends: production\nrules:\n  GD-NOPE-001: off\n").expect("write");
    let out = govdeploy(&[
        "audit",
        &format!("{}/hardened.yaml", fixtures()),
        "--config",
        &config.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("audit.yaml:3:3: error[E-AUDIT-CONFIG]: unknown rule `GD-NOPE-001`"),
        "{}",
        stderr(&out)
    );
}

/// The independent SARIF validators installed by scripts/install-sarif-tools.sh, or why not.
struct SarifTools {
    multitool: PathBuf,
    python: PathBuf,
    schema: PathBuf,
}

fn sarif_tools() -> Option<SarifTools> {
    let dest = root().join(".tools/sarif");
    let package = dest.join("node_modules/@microsoft/sarif-multitool-linux");
    let tools = SarifTools {
        multitool: package.join("Sarif.Multitool"),
        python: dest.join("venv/bin/python"),
        schema: package.join("sarif-2.1.0.json"),
    };
    let present = [&tools.multitool, &tools.python, &tools.schema]
        .iter()
        .all(|p| p.is_file());
    if present {
        return Some(tools);
    }
    let message = "SARIF validators missing in .tools/sarif: run scripts/install-sarif-tools.sh";
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("skipping SARIF schema validation: {message}");
    None
}

/// Every problem the JSON Schema (draft 2020-12) shipped with the Multitool finds, one per line.
fn schema_errors(tools: &SarifTools, sarif: &Path) -> Vec<String> {
    const CHECK: &str = "import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
log = json.load(open(sys.argv[2]))
for e in jsonschema.Draft202012Validator(schema).iter_errors(log):
    print('/'.join(map(str, e.absolute_path)) + ': ' + e.message)
";
    let out = Command::new(&tools.python)
        .args(["-c", CHECK])
        .arg(&tools.schema)
        .arg(sarif)
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// Every error or warning of `Sarif.Multitool validate` (schema plus the SARIF SDK's rules).
/// Notes are left out: they suggest optional enrichments (snippets, context regions, help URIs,
/// message ids) that a valid log need not carry.
fn multitool_findings(tools: &SarifTools, sarif: &Path, dir: &Path) -> Vec<String> {
    let report = dir.join("validation.sarif");
    let out = Command::new(&tools.multitool)
        .arg("validate")
        .arg(sarif)
        .arg("--output")
        .arg(&report)
        .args(["--log", "ForceOverwrite", "--level", "Error;Warning"])
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .output()
        .expect("the SARIF Multitool runs");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = std::fs::read(&report).expect("the Multitool writes its report");
    let log: serde_json::Value = serde_json::from_slice(&text).expect("the report is JSON");
    let run = &log["runs"][0];
    let notifications = run["invocations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| {
            i["toolExecutionNotifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|n| n["level"] == "error")
        .map(|n| format!("tool error: {}", n["message"]["text"]));
    run["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{} {}: {}",
                r["level"].as_str().unwrap_or("warning"),
                r["ruleId"].as_str().unwrap_or("?"),
                r["message"]["arguments"]
            )
        })
        .chain(notifications)
        .collect()
}

#[test]
fn sarif_output_passes_the_official_schema_and_the_sarif_sdk_rules() {
    let Some(tools) = sarif_tools() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    // Beyond the violation fixtures: accepted waivers (suppressions) and an unreadable document
    // (a tool execution notification).
    let extra = dir.path().join("inputs");
    std::fs::create_dir(&extra).expect("mkdir");
    std::fs::write(
        extra.join("waived.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: legacy\n  namespace: shop\n  annotations:\n    govdeploy.io/waive.GD-SEC-002: \"until 2099-12-31: the image writes to /etc at start\"\n    govdeploy.io/waive.non-root: \"the vendor image needs root\"\nspec:\n  containers: [{name: app, image: nginx}]\n",
    )
    .expect("write");
    std::fs::write(extra.join("broken file.yaml"), "kind: [oops\n").expect("write");
    let audited = govdeploy(&[
        "audit",
        &format!("{}/violations", fixtures()),
        &extra.display().to_string(),
        "-o",
        "sarif",
        "--today",
        "2026-12-01",
    ]);
    let log = json(&audited);
    let run = &log["runs"][0];
    let results = run["results"].as_array().cloned().unwrap_or_default();
    let rules: std::collections::BTreeSet<&str> = results
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert!(rules.len() > 50, "most rules have results: {rules:?}");
    assert!(
        results
            .iter()
            .filter(|r| r["suppressions"].is_array())
            .count()
            >= 2,
        "waivers appear as suppressions"
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    let sarif = dir.path().join("audit.sarif");
    std::fs::write(&sarif, &audited.stdout).expect("write");

    let errors = schema_errors(&tools, &sarif);
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
    let findings = multitool_findings(&tools, &sarif, dir.path());
    assert!(
        findings.is_empty(),
        "SARIF Multitool validate:\n{}",
        findings.join("\n")
    );

    // The validators are not blind: logs broken on purpose are rejected. (The Multitool
    // silently skips a log that does not deserialize, such as one with an unknown level, hence
    // the schema check of its own and a separate log for each validator.)
    let mut bad_level = log.clone();
    bad_level["runs"][0]["results"][0]["level"] = "severe".into();
    let bad_level_path = dir.path().join("bad-level.sarif");
    std::fs::write(&bad_level_path, bad_level.to_string()).expect("write");
    let errors = schema_errors(&tools, &bad_level_path);
    assert!(
        errors.iter().any(|e| e.contains("results/0/level")),
        "{errors:?}"
    );
    let mut rooted = log.clone();
    rooted["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "/rooted/reference.yaml".into();
    let rooted_path = dir.path().join("rooted.sarif");
    std::fs::write(&rooted_path, rooted.to_string()).expect("write");
    let findings = multitool_findings(&tools, &rooted_path, dir.path());
    assert!(
        findings.iter().any(|f| f.contains("SARIF1004")),
        "{findings:?}"
    );
}
