//! Every rule proven to fire on its fixture and to stay silent on the clean hardened example;
//! profiles, config, waivers, malformed input and the report formats.

use std::path::{Path, PathBuf};

use govdeploy_audit::{Config, Date, Profile, RULES, Report, Severity, Source, audit};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn site_config() -> Config {
    let path = fixtures().join("audit.yaml");
    Config::from_yaml(&read(&path), "audit.yaml", None).unwrap_or_else(|e| panic!("{e}"))
}

fn today() -> Date {
    Date {
        year: 2026,
        month: 12,
        day: 1,
    }
}

fn run(name: &str, text: String, config: &Config) -> Report {
    audit(
        &[Source {
            path: name.into(),
            text,
        }],
        config,
        today(),
    )
}

fn hardened() -> String {
    read(&fixtures().join("hardened.yaml"))
}

fn unwaived(report: &Report) -> Vec<&str> {
    report
        .findings
        .iter()
        .filter(|f| f.waived.is_none())
        .map(|f| f.rule.id)
        .collect()
}

#[test]
fn the_hardened_example_is_clean() {
    let report = run("hardened.yaml", hardened(), &site_config());
    assert_eq!(report.objects, 15);
    assert!(report.errors.is_empty() && report.skipped.is_empty());
    assert!(
        report.findings.is_empty(),
        "{}",
        govdeploy_audit::text::render(&report, Severity::Low)
    );
}

#[test]
fn every_rule_fires_on_its_fixture() {
    let config = site_config();
    let mut missing = Vec::new();
    for rule in RULES {
        let path = fixtures()
            .join("violations")
            .join(format!("{}.yaml", rule.id));
        assert!(
            path.exists(),
            "{} has no fixture: add it to tests/fixtures/generate.py",
            rule.id
        );
        let report = run(&format!("{}.yaml", rule.id), read(&path), &config);
        assert!(report.errors.is_empty(), "{}: {:?}", rule.id, report.errors);
        let fired: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.waived.is_none() && f.rule.id == rule.id)
            .collect();
        if fired.is_empty() {
            missing.push(format!("{} (found {:?})", rule.id, unwaived(&report)));
        }
        for f in fired {
            assert_eq!(f.severity, rule.severity, "{}", rule.id);
            assert_eq!(f.checklist_item, rule.item);
            assert!(
                f.line >= f.object_line,
                "{}: line {} before object",
                rule.id,
                f.line
            );
            assert!(!f.message.is_empty() && !f.name.is_empty() && !f.kind.is_empty());
        }
    }
    assert!(missing.is_empty(), "rules that did not fire: {missing:#?}");
    let fixtures = std::fs::read_dir(fixtures().join("violations"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(fixtures, RULES.len(), "one fixture per rule, no strays");
}

#[test]
fn findings_point_at_the_offending_field() {
    let path = fixtures().join("violations/GD-SEC-001.yaml");
    let text = read(&path);
    let report = run("GD-SEC-001.yaml", text.clone(), &site_config());
    let f = report
        .findings
        .iter()
        .find(|f| f.rule.id == "GD-SEC-001")
        .unwrap_or_else(|| panic!("fires"));
    let line = text.lines().nth(f.line - 1).unwrap_or_default();
    assert!(line.contains("privileged: true"), "line {}: {line}", f.line);
    assert_eq!(
        (f.kind.as_str(), f.namespace.as_str(), f.name.as_str()),
        ("Deployment", "shop", "web")
    );
}

#[test]
fn waivers_are_reported_as_waived_and_expired_ones_are_findings() {
    let with_limit = hardened().replace(
        "limits: {memory: 256Mi}}",
        "limits: {cpu: 500m, memory: 256Mi}}",
    );
    let waived = with_limit.replace(
        "annotations: {example.org/team: shop}",
        "annotations: {example.org/team: shop, govdeploy.io/waive.cpu-limit: \"until 2099-12-31: the vendor licence counts CPU limits\"}",
    );
    let report = run("waived.yaml", waived, &site_config());
    assert_eq!(report.findings.len(), 1);
    let w = report.findings[0]
        .waived
        .as_ref()
        .unwrap_or_else(|| panic!("waived"));
    assert_eq!(w.reason, "the vendor licence counts CPU limits");
    assert_eq!(w.annotation, "govdeploy.io/waive.cpu-limit");
    assert_eq!(report.failing(Severity::Low), 0);
    let json = govdeploy_audit::json::render(&report, Severity::High);
    assert_eq!(json["findings"][0]["waived"]["until"], "2099-12-31");
    assert_eq!(json["summary"]["waived"], 1);

    let by_id = with_limit.replace(
        "annotations: {example.org/team: shop}",
        "annotations: {example.org/team: shop, govdeploy.io/waive.GD-RES-006: \"until 2026-11-30: licence\"}",
    );
    let report = run("expired.yaml", by_id, &site_config());
    let mut ids = unwaived(&report);
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["GD-RES-006", "GD-WAIVE-001"],
        "an expired waiver waives nothing"
    );
}

#[test]
fn render_waiver_annotations_are_understood() {
    let text = hardened()
        .replace(
            "readOnlyRootFilesystem: true,",
            "readOnlyRootFilesystem: false,",
        )
        .replace(
            "annotations: {example.org/team: shop}",
            "annotations: {govdeploy.io/waive.read-only-root-filesystem: \"the image writes its config at start\"}",
        );
    let report = run("render-style.yaml", text, &site_config());
    assert_eq!(unwaived(&report), Vec::<&str>::new());
    assert_eq!(report.waived(), 1);
}

#[test]
fn a_malformed_document_is_located_and_the_rest_audited() {
    let text = hardened().replace("# doc: quota\n", "# doc: quota\nkind: [unclosed\n---\n");
    let report = run("broken.yaml", text, &site_config());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].file, "broken.yaml");
    // The broken line is 19; the parser notices the unclosed list where the document ends.
    assert!(
        (19..=20).contains(&report.errors[0].line),
        "{:?}",
        report.errors
    );
    assert_eq!(report.objects, 15, "every other document was audited");
}

#[test]
fn the_development_profile_relaxes_availability_but_not_security() {
    let dev = Config::profile(Profile::Development);
    let replica = read(&fixtures().join("violations/GD-REPLICA-001.yaml"));
    let report = run("r.yaml", replica, &dev);
    assert!(!unwaived(&report).contains(&"GD-REPLICA-001"));
    let privileged = read(&fixtures().join("violations/GD-SEC-001.yaml"));
    let report = run("p.yaml", privileged, &dev);
    assert!(unwaived(&report).contains(&"GD-SEC-001"));
}

#[test]
fn a_config_changes_severities_and_turns_rules_off() {
    let config = Config::from_yaml(
        "extends: production\nrules: {GD-RES-006: critical, GD-PROBE-001: off}\nallowedRegistries: [registry.example.org]\ningressDomains: [example.org]\n",
        "audit.yaml",
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let limit = read(&fixtures().join("violations/GD-RES-006.yaml"));
    let report = run("l.yaml", limit, &config);
    assert_eq!(report.findings[0].severity, Severity::Critical);
    let no_probe = read(&fixtures().join("violations/GD-PROBE-001.yaml"));
    assert!(run("n.yaml", no_probe, &config).findings.is_empty());
}

#[test]
fn references_to_absent_secrets_are_low_and_optional_ones_silent() {
    let text = hardened()
        .replace("# doc: secret\n", "# doc: secret\n# (left out)\n")
        .replace(
            "kind: Secret\nmetadata: {name: web-db, namespace: shop}",
            "kind: ConfigMap\nmetadata: {name: unrelated, namespace: shop}",
        );
    let report = run("s.yaml", text.clone(), &site_config());
    let refs: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule.id == "GD-REF-002")
        .collect();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].severity, Severity::Low);
    let optional = text.replace("secretName: web-db,", "secretName: web-db, optional: true,");
    assert!(run("o.yaml", optional, &site_config()).findings.is_empty());
}

#[test]
fn sarif_has_every_rule_and_suppressions_for_waived_results() {
    let with_waiver = hardened()
        .replace(
            "limits: {memory: 256Mi}}",
            "limits: {cpu: 1, memory: 256Mi}}",
        )
        .replace(
            "annotations: {example.org/team: shop}",
            "annotations: {govdeploy.io/waive.cpu-limit: \"licence\"}",
        )
        .replace("imagePullPolicy: IfNotPresent", "imagePullPolicy: Always");
    let report = run("dir/app 1.yaml", with_waiver, &site_config());
    let sarif = govdeploy_audit::sarif::render(&report, "0.1.0");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(rules, RULES.len());
    let results = run["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 2);
    for result in &results {
        let index = result["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(
            run["tool"]["driver"]["rules"][index]["id"],
            result["ruleId"]
        );
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "dir/app%201.yaml");
        assert!(location["region"]["startLine"].as_u64().unwrap_or(0) > 0);
    }
    let suppressed: Vec<_> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["ruleId"], "GD-RES-006");
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn output_is_deterministic() {
    let a = run(
        "x.yaml",
        read(&fixtures().join("violations/GD-NETPOL-002.yaml")),
        &site_config(),
    );
    let b = run(
        "x.yaml",
        read(&fixtures().join("violations/GD-NETPOL-002.yaml")),
        &site_config(),
    );
    assert_eq!(
        govdeploy_audit::text::render(&a, Severity::High),
        govdeploy_audit::text::render(&b, Severity::High)
    );
    assert_eq!(
        govdeploy_audit::json::render(&a, Severity::High),
        govdeploy_audit::json::render(&b, Severity::High)
    );
}

#[test]
fn committed_fixtures_are_what_the_generator_makes() {
    let script = fixtures().join("generate.py");
    match std::process::Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!(
                "python3 is needed to check the fixtures ({e}); CI installs it with the machine image"
            )
        }
        Err(e) => eprintln!("note: python3 not found ({e}); fixture freshness not checked"),
    }
}
