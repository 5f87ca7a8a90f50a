//! The `govdeploy` binary, driven as a user drives it: exit codes, output on stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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

#[test]
fn quickstart_plan_fits_one_machine() {
    let out = govdeploy(&["plan", "examples/quickstart.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "release:  quickstart-v2.4 (Urban v2.4)",
        "m_pgr        product  selected",
        "required by m_pgr",
        "pgr-services",
        "Start order",
        "Critical path:",
        "Totals:",
        "Capacity: fits on 1 node(s)",
        "Images:",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(!text.contains('\u{1b}'), "no colour codes in plain output");
}

#[test]
fn production_plan_uses_the_external_database_and_the_mirror() {
    let out = govdeploy(&["plan", "-o", "json", "examples/production.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(plan["profile"], "prod");
    let postgres = &plan["components"]["postgres"];
    assert_eq!(postgres["replicas"], 0, "an external store runs no pods");
    assert_eq!(
        postgres["external"]["host"],
        "digit-prod.cluster-abc.ap-south-1.rds.example"
    );
    assert_eq!(plan["backbone"]["postgres"]["mode"], "external");
    let images = plan["images"].as_array().expect("images");
    assert!(!images.is_empty());
    let images_out = govdeploy(&["images", "examples/production.yaml"]);
    assert_eq!(images_out.status.code(), Some(0));
    let listed = stdout(&images_out);
    assert!(listed.lines().count() > 40);
    assert!(
        listed
            .lines()
            .all(|l| l.starts_with("registry.state.gov.example:5000/")),
        "every image is rewritten to the mirror:\n{listed}"
    );
    assert!(listed.contains("registry.state.gov.example:5000/docker.io/egovio/egov-user:"));
    // Stateless services in prod run at least two replicas with an autoscaling range.
    let user = &plan["components"]["egov-user"];
    assert!(user["replicas"].as_u64().unwrap_or(0) >= 2, "{user}");
    assert!(user["autoscale"].is_object(), "{user}");
}

#[test]
fn json_plan_is_byte_identical_across_runs() {
    let a = govdeploy(&["plan", "-o", "json", "examples/production.yaml"]);
    let b = govdeploy(&["plan", "-o", "json", "examples/production.yaml"]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
    let t1 = govdeploy(&["plan", "examples/quickstart.yaml"]);
    let t2 = govdeploy(&["plan", "examples/quickstart.yaml"]);
    assert_eq!(t1.stdout, t2.stdout);
}

#[test]
fn several_mistakes_are_reported_at_once_with_positions() {
    let out = govdeploy(&[
        "plan",
        "crates/govdeploy-cli/tests/fixtures/several-mistakes.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2), "invalid input exits 2");
    assert!(out.stdout.is_empty(), "nothing is planned");
    let err = stderr(&out);
    let file = "crates/govdeploy-cli/tests/fixtures/several-mistakes.yaml";
    for (position, code, hint) in [
        (
            "7:20",
            "E-PLAN-UNKNOWN-MODULE",
            "did you mean `m_trade-license`?",
        ),
        ("8:12", "E-SPEC-ENUM", "did you mean `prod`?"),
        ("9:11", "E-SPEC-PLACEHOLDER", "replace <domain_name>"),
        ("14:17", "E-SPEC-QUANTITY", "512Mi"),
        ("17:7", "E-SPEC-UNKNOWN-KEY", "did you mean `replicas`?"),
        ("18:15", "E-SPEC-QUANTITY", "512Mi"),
        (
            "19:5",
            "E-PLAN-UNKNOWN-OVERRIDE",
            "did you mean `egov-user`?",
        ),
    ] {
        let line = err
            .lines()
            .position(|l| l.starts_with(&format!("{file}:{position}: error[{code}]")))
            .unwrap_or_else(|| panic!("no {code} at {position} in\n{err}"));
        let help = err.lines().nth(line + 1).unwrap_or_default();
        assert!(
            help.contains("help:") && help.contains(hint),
            "{code}: {help}"
        );
    }
    assert!(err.contains("7 error(s)"), "{err}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = govdeploy(&["plan", "no/such/env.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no/such/env.yaml") && err.contains("E-SPEC-IO"),
        "{err}"
    );
}

#[test]
fn layered_environment_plans_and_reports_base_positions() {
    let out = govdeploy(&["plan", "-o", "json", "examples/layered/uat.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(plan["environment"], "state-uat");
    assert_eq!(plan["profile"], "uat");
    assert_eq!(
        plan["release"], "urban-v2.4",
        "inherited from the base file"
    );
    assert_eq!(plan["components"]["egov-user"]["replicas"], 2);

    // A mistake inherited from the base is reported in the base file.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("base.yaml"),
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: base}\nspec:\n  release: urban-v2.4\n  modules: [m_pgr]\n  domain: x.example.org\n  profile: qa\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("env.yaml"),
        "apiVersion: govdeploy.io/v1\nkind: Environment\nextends: [base.yaml]\nmetadata: {name: env}\nspec:\n  domain: y.example.org\n",
    )
    .expect("write");
    let env = dir.path().join("env.yaml");
    let out = govdeploy(&["plan", env.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("base.yaml:8:12: error[E-SPEC-ENUM]"), "{err}");
}

#[test]
fn graph_in_dot_and_mermaid() {
    let dot = govdeploy(&["graph", "examples/quickstart.yaml", "--format", "dot"]);
    assert_eq!(dot.status.code(), Some(0));
    let text = stdout(&dot);
    assert!(text.starts_with("digraph"), "{text}");
    assert!(
        text.contains("\"pgr-services\" -> \"egov-workflow-v2\""),
        "{text}"
    );
    let mermaid = govdeploy(&["graph", "examples/production.yaml", "--format", "mermaid"]);
    assert_eq!(mermaid.status.code(), Some(0));
    let text = stdout(&mermaid);
    assert!(text.starts_with("flowchart"), "{text}");
    assert!(text.contains("tl-services") && text.contains("tl-calculator"));
}

#[test]
fn schema_is_json_schema_of_the_environment() {
    let out = govdeploy(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        schema["properties"]["spec"]["$ref"],
        "#/$defs/EnvironmentSpec"
    );
    assert!(schema["$defs"]["EnvironmentSpec"]["properties"]["modules"].is_object());
    assert_eq!(
        schema["additionalProperties"], false,
        "unknown keys are rejected by editors too"
    );
    assert_eq!(stdout(&out), stdout(&govdeploy(&["schema"])));
}

#[test]
fn import_digit_writes_the_builtin_catalogue_and_a_drift_report() {
    let corpus = root().join("../shared/corpus/digit-devops");
    if !corpus.is_dir() {
        eprintln!("skipped: {} is absent", corpus.display());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().to_str().expect("utf-8");
    let env_file = corpus.join("deploy-as-code/helm/environments/egov-demo.yaml");
    let out = govdeploy(&[
        "catalog",
        "import-digit",
        corpus.to_str().expect("utf-8"),
        "-o",
        out_dir,
        "--env-file",
        env_file.to_str().expect("utf-8"),
        "--source",
        "egovernments/DIGIT-DevOps (branch master), data files only",
        "--commit",
        "747949622b814c31cc04eb00b98ab52d1bb8e2f8",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(summary.contains("invalid-manifest: 1"), "{summary}");
    assert!(
        summary.contains("dependancy_chart-digit-v2.6.yaml:60:6"),
        "{summary}"
    );
    let written =
        std::fs::read_to_string(dir.path().join("digit.yaml")).expect("catalogue written");
    let committed =
        std::fs::read_to_string(root().join("crates/govdeploy-catalog/catalogs/digit.yaml"))
            .expect("committed");
    assert!(
        written == committed,
        "the committed catalogue is what the command produces"
    );
    assert!(dir.path().join("digit-import-report.yaml").is_file());
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // The imported file works as a catalogue path in an environment.
    let env = dir.path().join("env.yaml");
    std::fs::write(
        &env,
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: from-file}\nspec:\n  catalog: ./digit.yaml\n  release: digit-core-v2.9\n  modules: [m_core]\n  domain: x.example.org\n",
    )
    .expect("write");
    let out = govdeploy(&["plan", env.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn import_digit_rejects_a_directory_that_is_not_a_checkout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_str().expect("utf-8");
    let out = govdeploy(&["catalog", "import-digit", path, "-o", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a DIGIT-DevOps checkout"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_catalogue_is_reported_at_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = dir.path().join("env.yaml");
    std::fs::write(
        &env,
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: x}\nspec:\n  catalog: digti\n  release: urban-v2.4\n  modules: [m_pgr]\n  domain: x.example.org\n",
    )
    .expect("write");
    let out = govdeploy(&["plan", env.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("env.yaml:5:12: error[E-SPEC-CATALOG]"),
        "{err}"
    );
}

#[test]
fn digit_env_file_sections_are_honoured_as_overrides() {
    let corpus_env = root()
        .join("../shared/corpus/digit-devops/deploy-as-code/helm/environments/egov-demo.yaml");
    if !corpus_env.is_file() {
        eprintln!("skipped: {} is absent", corpus_env.display());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let env = dir.path().join("env.yaml");
    std::fs::write(
        &env,
        format!(
            "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {{name: demo}}\nspec:\n  release: urban-v2.4\n  modules: [m_pgr]\n  profile: dev\n  domain: x.example.org\n  digitEnvFile: {}\n  components:\n    egov-user: {{memory: 1Gi}}\n",
            corpus_env.display()
        ),
    )
    .expect("write");
    let out = govdeploy(&["plan", "-o", "json", env.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // egov-demo.yaml: egov-indexer memory_limits 768Mi, heap -Xmx512m.
    let indexer = &plan["components"]["egov-indexer"];
    assert_eq!(indexer["memory"], "768Mi", "{indexer}");
    assert_eq!(indexer["heap"], "-Xmx512m", "{indexer}");
    assert_eq!(indexer["sources"]["memory"], "digit-env");
    // Our own override wins over the DIGIT file (512Mi, -Xmx256m for egov-user), and the heap
    // follows our memory: one knob.
    let user = &plan["components"]["egov-user"];
    assert_eq!(user["memory"], "1Gi", "{user}");
    assert_eq!(user["sources"]["memory"], "override");
    assert_eq!(user["heap"], "-Xmx716m", "{user}");
    // The demo file gives zuul -Xmx704m under a 512Mi limit: replaced by the derived heap, with
    // a warning pointing at the DIGIT file.
    let zuul = &plan["components"]["zuul"];
    assert_eq!(zuul["heap"], "-Xmx358m", "{zuul}");
    let warnings = plan["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w["code"] == "W-PLAN-DIGIT-HEAP-IGNORED"
                && w["message"].as_str().unwrap_or_default().contains("`zuul`")
                && w["location"]["file"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("egov-demo.yaml")),
        "{warnings:?}"
    );
}
