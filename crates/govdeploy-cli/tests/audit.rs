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
