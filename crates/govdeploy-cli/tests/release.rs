//! Releases through the real binary against the simulated API server: the six scenarios of
//! the releases capability (install/change/diff/history; prune after removing a module; a
//! failed deploy and rollback; a killed client; every module with a large config across the
//! Secret size limit; no secret value anywhere), plus adoption and unlock.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use govdeploy_testkit::{Behaviour, BehaviourRule, ObjectRef, SimConfig, SimHandle, SimServer};
use serde_json::Value;
use sha2::Digest;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const KNOWN_SECRET: &str = "Zq7-release-known-secret";
const RELEASE_TYPE: &str = "govdeploy.io/release.v1";

struct Sim {
    handle: SimHandle,
    dir: tempfile::TempDir,
}

/// One finished run of the binary.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self) -> &Run {
        assert_eq!(self.code, Some(0), "{}\n{}", self.stdout, self.stderr);
        self
    }
}

impl Sim {
    fn start(config: SimConfig) -> Sim {
        let handle = SimServer::start(config).expect("simulator starts");
        let dir = tempfile::tempdir().expect("tempdir");
        handle
            .write_kubeconfig(&dir.path().join("kubeconfig"), "sim")
            .expect("kubeconfig");
        Sim { handle, dir }
    }

    /// 5 simulated seconds per real second (progress deadlines of 300 simulated seconds stay far
    /// above a loaded machine's latency); pods ready after 2 simulated seconds.
    fn fast() -> SimConfig {
        SimConfig::default()
            .time_scale(5.0)
            .default_ready_after(Duration::from_secs(2))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn kubeconfig(&self) -> String {
        self.path("kubeconfig").display().to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_govdeploy"));
        c.args(args)
            .args(["--kubeconfig", &self.kubeconfig()])
            .current_dir(root())
            .env_remove("KUBECONFIG");
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args).output().expect("the binary runs"))
    }

    fn apply(&self, env: &str, extra: &[&str]) -> Run {
        let mut args = vec!["apply", env, "--poll-interval", "20ms", "--grace", "1s"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Writes an environment file (and the secrets file it names) into the temp dir.
    fn env(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).expect("env");
        path.display().to_string()
    }

    fn release_secrets(&self) -> Vec<Value> {
        self.handle
            .list("v1", "Secret", Some("egov"))
            .into_iter()
            .filter(|s| s["type"] == RELEASE_TYPE)
            .collect()
    }

    /// Every stored revision, decompressed: revision -> (chunk count, record JSON text).
    fn records(&self) -> BTreeMap<u64, (usize, String)> {
        let mut chunks: BTreeMap<u64, BTreeMap<usize, Vec<u8>>> = BTreeMap::new();
        for s in self.release_secrets() {
            let label = |n: &str| {
                s["metadata"]["labels"][n]
                    .as_str()
                    .and_then(|v| v.parse::<u64>().ok())
                    .expect("release labels")
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s["data"]["release"].as_str().unwrap_or_default())
                .expect("base64");
            chunks
                .entry(label("govdeploy.io/release-revision"))
                .or_default()
                .insert(label("govdeploy.io/release-chunk") as usize, bytes);
        }
        chunks
            .into_iter()
            .map(|(revision, parts)| {
                let count = parts.len();
                let joined: Vec<u8> = parts.into_values().flatten().collect();
                let mut text = String::new();
                flate2::read::GzDecoder::new(&joined[..])
                    .read_to_string(&mut text)
                    .expect("gzip");
                (revision, (count, text))
            })
            .collect()
    }

    fn record(&self, revision: u64) -> Value {
        let records = self.records();
        let (_, text) = records.get(&revision).expect("revision stored");
        serde_json::from_str(text).expect("record JSON")
    }

    fn history_json(&self, env: &str) -> Vec<Value> {
        let out = self.run(&["history", env, "-o", "json"]);
        out.ok();
        serde_json::from_str(&out.stdout).expect("history JSON")
    }
}

fn statuses(history: &[Value]) -> Vec<(u64, String)> {
    history
        .iter()
        .map(|h| {
            (
                h["revision"].as_u64().unwrap_or(0),
                h["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn quickstart() -> String {
    std::fs::read_to_string(root().join("examples/quickstart.yaml")).expect("example")
}

/// The quickstart with a plaintext secrets file of known values (allowed for the quickstart
/// profile), every value derived from [`KNOWN_SECRET`].
fn quickstart_with_secrets(sim: &Sim, extra_spec: &str) -> String {
    let secrets = format!(
        "db:\n  username: egov\n  password: {KNOWN_SECRET}-db\n  flyway-username: egov\n  flyway-password: {KNOWN_SECRET}-flyway\n\
         egov-enc-service:\n  master.password: {KNOWN_SECRET}-enc\n  master.salt: {KNOWN_SECRET}-salt\n  master.initialvector: {KNOWN_SECRET}-iv\n\
         egov-filestore: {{awskey: {KNOWN_SECRET}-aws, awssecretkey: {KNOWN_SECRET}-aws2}}\n\
         egov-location: {{gmapskey: {KNOWN_SECRET}-gmaps}}\n\
         egov-notification-mail: {{mailsenderusername: m, mailsenderpassword: {KNOWN_SECRET}-mail}}\n\
         egov-notification-sms: {{username: s, password: {KNOWN_SECRET}-sms}}\n\
         elasticsearch-master-credentials: {{username: elastic, password: {KNOWN_SECRET}-es}}\n"
    );
    std::fs::write(sim.path("secrets.dev.yaml"), secrets).expect("secrets");
    sim.env(
        "env.yaml",
        &(quickstart() + "  secrets:\n    file: secrets.dev.yaml\n" + extra_spec),
    )
}

fn deployment(sim: &Sim, ns: &str, name: &str) -> Value {
    sim.handle
        .get(&ObjectRef::new("apps/v1", "Deployment", Some(ns), name))
        .unwrap_or(Value::Null)
}

fn first_image(deploy: &Value) -> String {
    deploy["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Scenario 1 (and 6 on the same run): install, change, diff with the exact expected text,
/// apply, history shows both revisions; no secret value in any record, diff or output.
#[test]
fn install_change_diff_apply_history_and_no_secret_anywhere() {
    let sim = Sim::start(Sim::fast());
    let env = quickstart_with_secrets(&sim, "");
    let mut outputs: Vec<String> = Vec::new();

    let install = sim.apply(&env, &[]);
    install.ok();
    assert!(
        install
            .stderr
            .contains("release 1 of quickstart: succeeded"),
        "{}",
        install.stderr
    );
    outputs.extend([install.stdout.clone(), install.stderr.clone()]);

    let unchanged = sim.run(&["diff", &env]);
    assert_eq!(
        unchanged.code,
        Some(0),
        "{}\n{}",
        unchanged.stdout,
        unchanged.stderr
    );
    outputs.extend([unchanged.stdout.clone(), unchanged.stderr.clone()]);

    // The change: one more setting of pgr-services.
    let changed_env = sim.env(
        "env.yaml",
        &(std::fs::read_to_string(&env).expect("env")
            + "  components:\n    pgr-services:\n      env:\n        LOG_LEVEL: debug\n"),
    );
    let diff = sim.run(&["diff", &changed_env]);
    assert_eq!(diff.code, Some(2), "{}\n{}", diff.stdout, diff.stderr);
    assert_eq!(diff.stdout, EXPECTED_DIFF, "diff text:\n{}", diff.stdout);
    outputs.extend([diff.stdout.clone(), diff.stderr.clone()]);
    let shown = sim.run(&["diff", &changed_env, "--show-secrets"]);
    outputs.push(shown.stderr.clone());

    let change = sim.apply(&changed_env, &[]);
    change.ok();
    outputs.extend([change.stdout.clone(), change.stderr.clone()]);
    let config = sim
        .handle
        .get(&ObjectRef::new(
            "v1",
            "ConfigMap",
            Some("urban"),
            "pgr-services-env",
        ))
        .expect("config");
    assert_eq!(config["data"]["LOG_LEVEL"], "debug");

    let history = sim.run(&["history", &changed_env]);
    history.ok();
    outputs.extend([history.stdout.clone(), history.stderr.clone()]);
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", history.stdout);
    assert!(
        lines[0].starts_with("REVISION  STATUS     STARTED"),
        "{}",
        history.stdout
    );
    assert!(
        lines[1].starts_with("1         succeeded  "),
        "{}",
        history.stdout
    );
    assert!(
        lines[1].ends_with("install: 220 objects"),
        "{}",
        history.stdout
    );
    assert!(
        lines[2].starts_with("2         succeeded  "),
        "{}",
        history.stdout
    );
    assert!(
        lines[2].contains("+0 ~2 -0 in pgr-services"),
        "{}",
        history.stdout
    );
    let json = sim.history_json(&changed_env);
    assert_eq!(
        statuses(&json),
        [(1, "succeeded".to_string()), (2, "succeeded".to_string())]
    );
    assert_eq!(json[1]["changes"]["components"][0], "pgr-services");

    // The record: inputs by hash, images, inventory with uids, nodes with timings.
    let record = sim.record(2);
    assert_eq!(record["status"], "succeeded");
    assert!(
        record["inventory"]
            .as_array()
            .is_some_and(|i| i.len() == 220)
    );
    assert!(
        record["inventory"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|i| i["uid"].is_string())
    );
    assert!(record["nodes"][0]["finished"].is_number());
    assert!(
        record["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["kind"] == "secrets" && i["sha256"].as_str().is_some_and(|h| h.len() == 64))
    );
    assert!(record["images"].as_array().is_some_and(|i| !i.is_empty()));

    // The ApplySet: parent with id, tooling and group-kinds; every member labelled.
    let parent = sim
        .handle
        .get(&ObjectRef::new(
            "v1",
            "ConfigMap",
            Some("egov"),
            "govdeploy-applyset.quickstart",
        ))
        .expect("ApplySet parent");
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
        .as_str()
        .expect("id")
        .to_string();
    let digest = sha2::Sha256::digest(b"govdeploy-applyset.quickstart.egov.ConfigMap.");
    assert_eq!(
        id,
        format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        )
    );
    let annotations = &parent["metadata"]["annotations"];
    assert_eq!(
        annotations["applyset.kubernetes.io/tooling"],
        "govdeploy/v0.1.0"
    );
    let kinds = annotations["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .expect("group-kinds");
    assert!(
        kinds.contains("Deployment.apps") && kinds.contains("Namespace"),
        "{kinds}"
    );
    let mut sorted: Vec<&str> = kinds.split(',').collect();
    sorted.sort();
    assert_eq!(sorted.join(","), kinds);
    assert_eq!(
        deployment(&sim, "urban", "pgr-services")["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        id.as_str()
    );

    for args in [
        vec!["get", "manifests", changed_env.as_str()],
        vec!["get", "values", changed_env.as_str(), "--revision", "1"],
        vec!["status", changed_env.as_str()],
        vec!["history", changed_env.as_str(), "-o", "json"],
    ] {
        let out = sim.run(&args);
        out.ok();
        outputs.extend([out.stdout, out.stderr]);
    }
    let status = sim.run(&["status", &changed_env]);
    assert!(status.stdout.contains("healthy"), "{}", status.stdout);

    // Scenario 6: every byte written, for every known secret value (plain and base64).
    let values: Vec<String> = [
        "db", "flyway", "enc", "salt", "iv", "aws", "aws2", "gmaps", "mail", "sms", "es",
    ]
    .iter()
    .map(|s| format!("{KNOWN_SECRET}-{s}"))
    .collect();
    let needles: Vec<String> = values
        .iter()
        .flat_map(|v| {
            [
                v.clone(),
                base64::engine::general_purpose::STANDARD.encode(v.as_bytes()),
            ]
        })
        .chain([KNOWN_SECRET.to_string()])
        .collect();
    let mut haystacks: Vec<(String, String)> = outputs
        .iter()
        .enumerate()
        .map(|(i, o)| (format!("output {i}"), o.clone()))
        .collect();
    for (revision, (_, text)) in sim.records() {
        haystacks.push((format!("record {revision} (decompressed)"), text));
    }
    let mut app_secrets = 0;
    for object in sim.handle.objects() {
        let is_app_secret = object["kind"] == "Secret" && object["type"] != RELEASE_TYPE;
        if is_app_secret {
            // The Secrets the services read hold the values by design; nothing else may.
            app_secrets += 1;
            let mut without_data = object.clone();
            if let Some(m) = without_data.as_object_mut() {
                m.remove("data");
            }
            haystacks.push((
                format!("Secret metadata {}", object["metadata"]["name"]),
                without_data.to_string(),
            ));
            continue;
        }
        haystacks.push((
            format!("{} {}", object["kind"], object["metadata"]["name"]),
            object.to_string(),
        ));
    }
    assert!(app_secrets > 0);
    for entry in std::fs::read_dir(sim.dir.path()).expect("dir").flatten() {
        if entry.file_name() == "secrets.dev.yaml" {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            haystacks.push((entry.path().display().to_string(), text));
        }
    }
    for (what, text) in &haystacks {
        for needle in &needles {
            assert!(
                !text.contains(needle.as_str()),
                "a secret value ({needle}) is in {what}"
            );
        }
    }
}

/// The diff of one more setting of pgr-services against the live cluster, as a user sees it.
const EXPECTED_DIFF: &str = r#"# module m_pgr, component pgr-services
--- live/ConfigMap/urban/pgr-services-env
+++ new/ConfigMap/urban/pgr-services-env
@@ -13,6 +13,7 @@
   JAVA_ARGS: "-Dspring.profiles.active=monitoring"
   JAVA_ENABLE_DEBUG: ""
   JAVA_OPTS: "-Xmx268m -Xms268m"
+  LOG_LEVEL: debug
   MANAGEMENT_ENDPOINTS_WEB_BASE_PATH: /
   MANAGEMENT_SECURITY_ENABLED: "false"
   NEW_COMPLAINT_ENABLED: "true"
--- live/Deployment/urban/pgr-services
+++ new/Deployment/urban/pgr-services
@@ -34,7 +34,7 @@
   template:
     metadata:
       annotations:
-        govdeploy.io/config-hash: 93731ffdd5e6c427
+        govdeploy.io/config-hash: 2ff4f89ae5715f02
         govdeploy.io/secret-hash: aa4d5343defb0af1
         govdeploy.io/waive.secrets-as-env: Spring Boot before 2.4 cannot read secrets from files (configtree)
       labels:
0 to create, 2 to change, 0 to delete, 218 unchanged
"#;

fn urban(modules: &str, extra_spec: &str) -> String {
    quickstart()
        .replace("release: quickstart-v2.4", "release: urban-v2.4")
        .replace("modules: [m_pgr]", &format!("modules: [{modules}]"))
        .replace("count: 1", "count: 3")
        + extra_spec
}

fn inventory_refs(record: &Value, key: &str) -> Vec<String> {
    record[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            format!(
                "{}/{}/{}",
                i["kind"].as_str().unwrap_or(""),
                i["namespace"].as_str().unwrap_or("-"),
                i["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Scenario 2: removing a module prunes its objects in reverse apply order; a StatefulSet's
/// volumes are reported and kept.
#[test]
fn removing_a_module_prunes_its_objects_in_reverse_order_and_keeps_volumes() {
    let sim = Sim::start(Sim::fast());
    let with_fsm = sim.env("fsm.yaml", &urban("m_pgr, m_fsm", ""));
    sim.apply(&with_fsm, &[]).ok();
    for name in ["fsm", "vendor", "fsm-calculator"] {
        assert!(
            !deployment(&sim, "sanitation", name).is_null(),
            "{name} deployed"
        );
    }
    let first = sim.record(1);

    let without = sim.env("one.yaml", &urban("m_pgr", ""));
    let preview = sim.run(&["diff", &without]);
    assert_eq!(preview.code, Some(2), "{}", preview.stderr);
    assert!(
        preview
            .stdout
            .contains("--- live/Deployment/sanitation/fsm\n+++ /dev/null\n"),
        "{}",
        preview.stdout
    );

    let pruned = sim.apply(&without, &[]);
    pruned.ok();
    assert!(pruned.stderr.contains("pruning "), "{}", pruned.stderr);
    for name in ["fsm", "vendor", "fsm-calculator"] {
        assert!(
            deployment(&sim, "sanitation", name).is_null(),
            "{name} pruned"
        );
    }
    // Deleted in exactly the reverse of the order they were applied in.
    let second = sim.record(2);
    let deleted = inventory_refs(&second, "pruned");
    assert!(deleted.len() >= 12, "{deleted:?}");
    let applied = inventory_refs(&first, "inventory");
    let mut expected: Vec<String> = applied
        .iter()
        .filter(|r| deleted.contains(r))
        .cloned()
        .collect();
    expected.reverse();
    assert_eq!(deleted, expected);
    let printed: Vec<String> = pruned
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  deleted "))
        .map(str::to_string)
        .collect();
    assert_eq!(printed, deleted);
    // Within a component, the workload goes before the ConfigMap it reads.
    let position = |r: &str| deleted.iter().position(|d| d == r);
    assert!(position("Deployment/sanitation/fsm") < position("ServiceAccount/sanitation/fsm"));
    assert!(position("ServiceAccount/sanitation/fsm").is_some());
    // The module's namespace is a protected kind: kept, and said so.
    assert!(!deleted.iter().any(|d| d.starts_with("Namespace/")));
    assert!(
        pruned
            .stderr
            .contains("kept Namespace/-/sanitation (protected kind")
            || pruned
                .stderr
                .contains("kept Namespace/sanitation (protected kind"),
        "{}",
        pruned.stderr
    );
    assert!(
        sim.handle
            .get(&ObjectRef::new("v1", "Namespace", None, "sanitation"))
            .is_some()
    );
    let after = sim.run(&["diff", &without]);
    assert_eq!(after.code, Some(0), "{}\n{}", after.stdout, after.stderr);

    // Postgres moves out of the cluster: its StatefulSet is pruned, its claim stays.
    let external = sim.env(
        "ext.yaml",
        &urban(
            "m_pgr",
            "  backbone:\n    postgres:\n      mode: external\n      host: db.example.org\n      port: 5432\n      database: digit\n",
        ),
    );
    let claims_before = sim
        .handle
        .list("v1", "PersistentVolumeClaim", Some("backbone"));
    assert!(claims_before.iter().any(|c| {
        c["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("-postgres-0"))
    }));
    let moved = sim.apply(&external, &[]);
    moved.ok();
    assert!(
        sim.handle
            .get(&ObjectRef::new(
                "apps/v1",
                "StatefulSet",
                Some("backbone"),
                "postgres"
            ))
            .is_none()
    );
    assert!(
        moved
            .stderr
            .contains("orphaned volume PersistentVolumeClaim/backbone/"),
        "{}",
        moved.stderr
    );
    let claims_after = sim
        .handle
        .list("v1", "PersistentVolumeClaim", Some("backbone"));
    assert_eq!(claims_after.len(), claims_before.len(), "no claim deleted");
    let json = sim.history_json(&external);
    assert_eq!(json.len(), 3);
    assert!(json[1]["pruned"].as_u64().unwrap_or(0) >= 12);
}

/// `want` is contained in `live`: every field of the recorded object has the same value live
/// (the server adds defaults and status; lists must have the same length).
fn contained(want: &Value, live: &Value, at: &str) -> Result<(), String> {
    match (want, live) {
        (Value::Object(w), Value::Object(l)) => {
            for (k, v) in w {
                let inner = l.get(k).unwrap_or(&Value::Null);
                contained(v, inner, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(w), Value::Array(l)) if w.len() == l.len() => {
            for (i, (a, b)) in w.iter().zip(l).enumerate() {
                contained(a, b, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{at}: recorded {a}, live {b}")),
    }
}

/// Every non-Job object of a record is live as recorded (Secrets: by hash of their data).
fn live_equals_record(sim: &Sim, record: &Value) {
    let mut checked = 0;
    for o in record["objects"].as_array().into_iter().flatten() {
        let (api, kind) = (
            o["apiVersion"].as_str().unwrap_or(""),
            o["kind"].as_str().unwrap_or(""),
        );
        if kind == "Job" {
            continue;
        }
        let name = o["name"].as_str().unwrap_or("");
        let live = sim
            .handle
            .get(&ObjectRef::new(api, kind, o["namespace"].as_str(), name))
            .unwrap_or_else(|| panic!("{kind}/{name} is live"));
        let mut want = o["body"].clone();
        if kind == "Secret" {
            for (k, hash) in want["data"].as_object().cloned().unwrap_or_default() {
                let value = live["data"][&k].as_str().unwrap_or("");
                let digest = sha2::Sha256::digest(value.as_bytes());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(hash, format!("sha256:{hex}"), "Secret {name} key {k}");
            }
            want.as_object_mut().map(|m| m.remove("data"));
        }
        contained(&want, &live, &format!("{kind}/{name}")).unwrap_or_else(|e| panic!("{e}"));
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
}

/// Scenario 3: a deploy that fails, then rollback: the live objects equal the previous
/// revision's; then `--rollback-on-failure` does the same by itself.
#[test]
fn failed_deploy_then_rollback_restores_the_previous_revision() {
    let sim = Sim::start(Sim::fast().behaviour(BehaviourRule::image(
        "pgr-services:v-broken",
        Behaviour::ImagePullBackOff,
    )));
    let good = sim.env("env.yaml", &quickstart());
    sim.apply(&good, &[]).ok();
    let good_image = first_image(&deployment(&sim, "urban", "pgr-services"));
    let broken = sim.env(
        "broken.yaml",
        &(quickstart() + "  components:\n    pgr-services:\n      tag: v-broken\n"),
    );
    let failed = sim.apply(&broken, &[]);
    assert_eq!(failed.code, Some(1), "{}\n{}", failed.stdout, failed.stderr);
    assert!(
        failed.stderr.contains("release 2 of quickstart: failed"),
        "{}",
        failed.stderr
    );
    assert!(first_image(&deployment(&sim, "urban", "pgr-services")).ends_with(":v-broken"));

    let rollback = sim.run(&[
        "rollback",
        &good,
        "--poll-interval",
        "20ms",
        "--grace",
        "1s",
    ]);
    rollback.ok();
    assert!(
        rollback
            .stderr
            .contains("rolling back quickstart to release 1"),
        "{}",
        rollback.stderr
    );
    assert!(
        rollback.stderr.contains("migrations do not run backwards"),
        "{}",
        rollback.stderr
    );
    assert!(
        rollback
            .stderr
            .contains("Secret values come from the current secrets file"),
        "{}",
        rollback.stderr
    );
    assert!(
        rollback
            .stderr
            .contains("release 3 of quickstart: succeeded"),
        "{}",
        rollback.stderr
    );
    live_equals_record(&sim, &sim.record(1));
    assert_eq!(
        first_image(&deployment(&sim, "urban", "pgr-services")),
        good_image
    );
    let json = sim.history_json(&good);
    assert_eq!(
        statuses(&json),
        [
            (1, "succeeded".into()),
            (2, "failed".into()),
            (3, "succeeded".into())
        ]
    );
    assert_eq!(json[2]["rollbackOf"], 1);

    // The same by itself: the failed components go back to release 3.
    let auto = sim.apply(&broken, &["--rollback-on-failure"]);
    assert_eq!(auto.code, Some(1), "{}", auto.stderr);
    assert!(
        auto.stderr
            .contains("--rollback-on-failure: rolling back pgr-services"),
        "{}",
        auto.stderr
    );
    assert!(
        auto.stderr.contains("release 5 of quickstart: succeeded"),
        "{}",
        auto.stderr
    );
    assert_eq!(
        first_image(&deployment(&sim, "urban", "pgr-services")),
        good_image
    );
    let json = sim.history_json(&good);
    assert_eq!(json[4]["rollbackOf"], 3);
    assert_eq!(json[3]["status"], "failed");
    // Nothing of the release was pruned by the partial rollback.
    assert_eq!(
        sim.record(5)["inventory"].as_array().map(Vec::len),
        sim.record(3)["inventory"].as_array().map(Vec::len)
    );
}

/// Scenario 4: the client is killed while waiting on a slow component; the next run waits
/// for the Lease to expire, takes it over, marks the old revision interrupted, completes.
#[test]
fn killed_client_lease_expires_old_revision_interrupted_next_run_completes() {
    let sim = Sim::start(Sim::fast().behaviour(BehaviourRule::image(
        "pgr-services",
        Behaviour::Ready {
            after: Duration::from_secs(40),
        },
    )));
    let env = sim.env("env.yaml", &quickstart());
    let mut child = sim
        .command(&[
            "apply",
            &env,
            "--poll-interval",
            "20ms",
            "--lock-duration",
            "3s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(120);
    // Killed once the slow component is written and waited on.
    while deployment(&sim, "urban", "pgr-services").is_null() {
        assert!(Instant::now() < deadline, "pgr-services never written");
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "apply ended early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let lease = sim
        .handle
        .get(&ObjectRef::new(
            "coordination.k8s.io/v1",
            "Lease",
            Some("egov"),
            "govdeploy-lock.quickstart",
        ))
        .expect("lease");
    let holder = lease["spec"]["holderIdentity"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(holder.ends_with(&format!(":{pid}")), "{holder}");
    assert_eq!(
        statuses(&sim.history_json(&env)),
        [(1, "running".to_string())]
    );

    let next = sim.apply(&env, &["--lock-duration", "3s"]);
    next.ok();
    assert!(
        next.stderr.contains(&format!("is locked by {holder}")),
        "{}",
        next.stderr
    );
    assert!(
        next.stderr.contains(&format!(
            "took over the lock of environment quickstart from {holder}"
        )),
        "{}",
        next.stderr
    );
    assert!(
        next.stderr.contains(
            "release 1 of quickstart was left running by a run that died; marked interrupted"
        ),
        "{}",
        next.stderr
    );
    assert_eq!(
        statuses(&sim.history_json(&env)),
        [(1, "interrupted".to_string()), (2, "succeeded".to_string())]
    );
    // Released at the end: nobody holds it.
    let lease = sim
        .handle
        .get(&ObjectRef::new(
            "coordination.k8s.io/v1",
            "Lease",
            Some("egov"),
            "govdeploy-lock.quickstart",
        ))
        .expect("lease");
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
}

/// Deterministic text that does not compress (a large config, such as inline MDMS data).
fn noise(seed: u64, len: usize) -> String {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// Scenario 5: every DIGIT module of the production example with a large config: the record
/// spans several Secrets, each under the 1 MiB limit, and reads back exactly.
#[test]
fn every_module_with_a_large_config_spans_several_release_secrets() {
    let sim = Sim::start(Sim::fast());
    let production =
        std::fs::read_to_string(root().join("examples/production.yaml")).expect("example");
    let components = [
        "egov-user",
        "egov-mdms-service",
        "egov-workflow-v2",
        "egov-persister",
        "egov-location",
        "egov-localization",
        "egov-accesscontrol",
        "egov-idgen",
    ];
    let mut extra = String::new();
    for (i, c) in components.iter().enumerate() {
        extra.push_str(&format!(
            "    {c}:\n      env:\n        LARGE_CONFIG: {}\n",
            noise(i as u64 + 7, 200_000)
        ));
    }
    let env = sim.env(
        "prod.yaml",
        &production.replace("  components:\n", &format!("  components:\n{extra}")),
    );
    let first = sim.apply(&env, &[]);
    first.ok();
    let second = sim.apply(&env, &[]);
    second.ok();
    let records = sim.records();
    for (revision, (chunks, text)) in &records {
        assert!(*chunks >= 3, "revision {revision}: {chunks} chunk(s)");
        assert!(text.len() > 1_600_000, "{}", text.len());
    }
    for s in sim.release_secrets() {
        assert!(
            s.to_string().len() < 1024 * 1024,
            "a release Secret over 1 MiB"
        );
    }
    // Read back through the CLI: every object, the large values intact.
    let manifests = sim.run(&["get", "manifests", &env, "--revision", "1"]);
    manifests.ok();
    for (i, _) in components.iter().enumerate() {
        assert!(manifests.stdout.contains(&noise(i as u64 + 7, 200_000)));
    }
    let record = sim.record(2);
    assert_eq!(
        manifests.stdout.matches("\n---\n").count() + 1,
        record["objects"].as_array().map_or(0, Vec::len)
    );
    // The second run found everything unchanged from the first (it read the record back).
    assert!(
        second.stderr.contains("release 2 of state-prod: succeeded"),
        "{}",
        second.stderr
    );
    assert!(record["pruned"].is_null());
    let history = sim.run(&["history", &env]);
    history.ok();
    assert!(history.stdout.contains("no changes"), "{}", history.stdout);
}

/// `--adopt`: objects made with `kubectl apply` are refused without it and taken over with
/// it; an object of another release is refused either way.
#[test]
fn adopt_takes_over_kubectl_objects_and_refuses_other_releases() {
    let sim = Sim::start(Sim::fast());
    let env = sim.env("env.yaml", &quickstart());
    // A Namespace and a ConfigMap as `kubectl apply` leaves them (client-side apply).
    let client = reqwest_free_post(
        &sim,
        "/api/v1/namespaces?fieldManager=kubectl-client-side-apply",
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"egov","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"egov\"}}"}}}"#,
    );
    assert!(client.starts_with("HTTP/1.1 201"), "{client}");
    let refused = sim.apply(&env, &[]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("existing object(s) were not created by govdeploy"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("Namespace/egov (managed by kubectl last-applied-configuration, kubectl-client-side-apply (Update))"), "{}", refused.stderr);
    assert!(
        deployment(&sim, "urban", "pgr-services").is_null(),
        "nothing written"
    );

    let adopted = sim.apply(&env, &["--adopt"]);
    adopted.ok();
    assert!(
        adopted
            .stderr
            .contains("adopted Namespace/egov (was managed by"),
        "{}",
        adopted.stderr
    );
    let ns = sim
        .handle
        .get(&ObjectRef::new("v1", "Namespace", None, "egov"))
        .expect("ns");
    assert_eq!(
        ns["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "govdeploy"
    );
    let history = sim.history_json(&env);
    assert_eq!(
        statuses(&history),
        [(1, "failed".into()), (2, "succeeded".into())]
    );
    assert_eq!(sim.record(2)["adopted"][0], "Namespace/egov");

    // Another environment's object is never taken over.
    let other = sim.env(
        "other.yaml",
        &quickstart().replace("name: quickstart", "name: other"),
    );
    let clash = sim.apply(&other, &["--adopt"]);
    assert_eq!(clash.code, Some(1), "{}", clash.stderr);
    assert!(
        clash.stderr.contains("owned by another release"),
        "{}",
        clash.stderr
    );
}

/// `unlock` asks before removing a lock (refuses without a terminal), `--yes` removes it.
#[test]
fn unlock_needs_confirmation() {
    let sim = Sim::start(Sim::fast());
    let env = sim.env("env.yaml", &quickstart());
    let lease = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"govdeploy-lock.quickstart"},"spec":{"holderIdentity":"ops@deadhost:4242","leaseDurationSeconds":600,"renewTime":"2099-01-01T00:00:00.000000Z"}}"#;
    reqwest_free_post(
        &sim,
        "/api/v1/namespaces?fieldManager=t",
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"egov"}}"#,
    );
    let created = reqwest_free_post(
        &sim,
        "/apis/coordination.k8s.io/v1/namespaces/egov/leases?fieldManager=t",
        lease,
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let locked = sim.apply(&env, &["--lock-wait", "0"]);
    assert_eq!(locked.code, Some(1));
    assert!(
        locked
            .stderr
            .contains("environment quickstart is locked by ops@deadhost:4242"),
        "{}",
        locked.stderr
    );
    let asked = Run::of(
        sim.command(&["unlock", &env])
            .stdin(Stdio::null())
            .output()
            .expect("runs"),
    );
    assert_eq!(asked.code, Some(1));
    assert!(asked.stderr.contains("pass --yes"), "{}", asked.stderr);
    let removed = sim.run(&["unlock", &env, "--yes"]);
    removed.ok();
    assert!(
        removed
            .stdout
            .contains("removed the lock of environment quickstart (held by ops@deadhost:4242)")
    );
    let again = sim.run(&["unlock", &env, "--yes"]);
    assert!(again.stdout.contains("is not locked"));
}

/// A plain HTTP/1.1 POST to the simulator (as kubectl's client-side apply sends a create).
fn reqwest_free_post(sim: &Sim, path: &str, body: &str) -> String {
    use std::io::Write;
    let url = sim
        .handle
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = std::net::TcpStream::connect(&url).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {url}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}
