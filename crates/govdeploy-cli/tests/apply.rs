//! `govdeploy apply`, driven through the real binary against the simulated API server
//! (crate govdeploy-testkit): dependency order, fail-fast with reasons, failure reports,
//! idempotent re-applies, rollouts only where something changed, and convergence under
//! injected faults. Timing facts come from the NDJSON events; write and rollout facts from
//! the simulator's own counters.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use govdeploy_testkit::{
    Behaviour, BehaviourRule, FaultConfig, ObjectRef, SimConfig, SimHandle, SimServer,
};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every module of the production example: the full-size scenarios.
const PRODUCTION: &str = "examples/production.yaml";
/// PGR on one machine: the failure scenarios, which need a dependency chain, not size.
const QUICKSTART: &str = "examples/quickstart.yaml";

/// A simulator with a kubeconfig pointing at it, cleaned up on drop.
struct Sim {
    handle: SimHandle,
    dir: tempfile::TempDir,
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

    /// 10 simulated seconds per real second; pods ready after 2 simulated seconds. Progress
    /// deadlines (300 simulated seconds) stay well above a slow machine's request latency.
    fn fast() -> SimConfig {
        SimConfig::default()
            .time_scale(10.0)
            .default_ready_after(Duration::from_secs(2))
    }

    fn kubeconfig(&self) -> String {
        self.dir.path().join("kubeconfig").display().to_string()
    }

    fn apply(&self, env: &str, extra: &[&str]) -> Run {
        let kubeconfig = self.kubeconfig();
        let mut args = vec![
            "apply",
            env,
            "--kubeconfig",
            &kubeconfig,
            "--poll-interval",
            "20ms",
        ];
        args.extend_from_slice(extra);
        Run::of(
            Command::new(env!("CARGO_BIN_EXE_govdeploy"))
                .args(&args)
                .current_dir(root())
                .env_remove("KUBECONFIG")
                .output()
                .expect("the binary runs"),
        )
    }
}

/// One finished run of the binary, with its NDJSON events when `-o json` was given.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    events: Vec<Value>,
}

impl Run {
    fn of(out: Output) -> Run {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let events = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect();
        Run {
            code: out.status.code(),
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            events,
        }
    }

    fn all(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event"] == kind).collect()
    }

    fn outcome(&self) -> &Value {
        let last = self.all("outcome");
        assert_eq!(
            last.len(),
            1,
            "one outcome line\n{}\n{}",
            self.stdout,
            self.stderr
        );
        &last[0]["outcome"]
    }

    /// Node -> its needs, from the plan event.
    fn needs(&self) -> BTreeMap<String, Vec<String>> {
        let plan = self.all("plan");
        assert_eq!(plan.len(), 1, "{}", self.stderr);
        plan[0]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().expect("name").to_string(),
                    n["needs"]
                        .as_array()
                        .expect("needs")
                        .iter()
                        .map(|d| d.as_str().expect("need").to_string())
                        .collect(),
                )
            })
            .collect()
    }

    /// Node -> elapsed seconds of its first event of `kind`.
    fn times(&self, kind: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for e in self.all(kind) {
            let node = e["node"].as_str().expect("node").to_string();
            let at = e["elapsed"].as_f64().expect("elapsed");
            out.entry(node).or_insert(at);
        }
        out
    }

    fn node_states(&self) -> BTreeMap<String, String> {
        self.outcome()["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().expect("name").to_string(),
                    n["state"].as_str().expect("state").to_string(),
                )
            })
            .collect()
    }

    fn explain(&self) -> String {
        format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            tail(&self.stdout, 60),
            self.stderr
        )
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Everything that (transitively) needs `node`.
fn dependents(needs: &BTreeMap<String, Vec<String>>, node: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut frontier = vec![node.to_string()];
    while let Some(current) = frontier.pop() {
        for (n, deps) in needs {
            if deps.contains(&current) && out.insert(n.clone()) {
                frontier.push(n.clone());
            }
        }
    }
    out
}

fn plan_json(env: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args(["plan", "-o", "json", env])
        .current_dir(root())
        .output()
        .expect("the binary runs");
    serde_json::from_slice(&out.stdout).expect("plan JSON")
}

/// Asserts that no node wrote anything before every node it needs was reported healthy,
/// and (independently of the engine's own graph) that no component's workload was written
/// before every component the plan says it needs was healthy.
fn assert_dependency_order(run: &Run, env: &str) {
    let started = run.times("node-started");
    let written = run.times("object-applied");
    let ready = run.times("node-ready");
    for (node, needs) in run.needs() {
        let Some(start) = started.get(&node) else {
            continue;
        };
        for need in &needs {
            let need_ready = ready
                .get(need)
                .unwrap_or_else(|| panic!("{node} started although {need} was never ready"));
            assert!(
                start >= need_ready,
                "{node} started at {start}s before {need} was ready at {need_ready}s"
            );
            if let Some(first_write) = written.get(&node) {
                assert!(
                    first_write >= need_ready,
                    "{node} wrote before {need} was ready"
                );
            }
        }
    }
    let plan = plan_json(env);
    let group_of = |c: &str| plan["components"][c]["group"].as_u64();
    let mut checked = 0;
    for edge in plan["edges"].as_array().expect("edges") {
        let (from, to) = (
            edge["from"].as_str().expect("from"),
            edge["to"].as_str().expect("to"),
        );
        if group_of(from) == group_of(to) {
            continue; // one strongly connected group: started together on purpose
        }
        if let (Some(start), Some(to_ready)) = (started.get(from), ready.get(to)) {
            assert!(
                start >= to_ready,
                "{from} started before {to} (which it needs) was ready"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} plan edges were checked");
}

#[test]
fn production_example_deploys_to_completion_in_dependency_order() {
    let sim = Sim::start(Sim::fast());
    let run = sim.apply(PRODUCTION, &["-o", "json"]);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    let outcome = run.outcome();
    assert_eq!(outcome["ok"], true);
    let states = run.node_states();
    assert!(states.values().all(|s| s == "ready"), "{states:?}");
    assert!(states.len() > 60, "{} nodes", states.len());
    assert_dependency_order(&run, PRODUCTION);

    // What the cluster holds is what was rendered, and every workload rolled out once.
    let inventory = outcome["inventory"].as_array().expect("inventory");
    assert_eq!(
        inventory.len() as u64,
        outcome["objects"].as_u64().expect("objects")
    );
    let deployments = sim.handle.list("apps/v1", "Deployment", None);
    let rendered_deployments = inventory
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .count();
    assert_eq!(deployments.len(), rendered_deployments);
    for d in &deployments {
        let available = d["status"]["availableReplicas"].as_i64().unwrap_or(0);
        assert!(available >= 1, "{} not available", d["metadata"]["name"]);
    }
    let every = sim.handle.objects();
    for o in &every {
        if o["metadata"]["annotations"]["govdeploy.io/applied-hash"].is_string() {
            let managers: Vec<&str> = o["metadata"]["managedFields"]
                .as_array()
                .map(|m| m.iter().filter_map(|f| f["manager"].as_str()).collect())
                .unwrap_or_default();
            assert!(managers.contains(&"govdeploy"), "{managers:?}");
        }
    }
    // Migrations ran before their services and were applied as nodes of their own.
    let migrations: Vec<&String> = states
        .keys()
        .filter(|n| n.ends_with("/migration"))
        .collect();
    assert!(migrations.len() > 10, "{migrations:?}");
}

#[test]
fn bad_image_fails_within_the_grace_period_and_dependents_never_start() {
    let failing = "egov-user";
    let config = Sim::fast().behaviour(BehaviourRule::labels(
        &format!("app.kubernetes.io/name={failing}"),
        Behaviour::ImagePullBackOff,
    ));
    let sim = Sim::start(config);
    let run = sim.apply(
        QUICKSTART,
        &[
            "-o",
            "json",
            "--grace",
            "1s",
            "--component-timeout",
            "10m",
            "--progress-timeout",
            "10m",
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.explain());
    let failed = run.all("node-failed");
    assert_eq!(failed.len(), 1, "{}", run.explain());
    assert_eq!(failed[0]["node"], failing);
    let reason = failed[0]["reason"].as_str().expect("reason");
    assert!(
        reason == "ImagePullBackOff" || reason == "ErrImagePull",
        "{reason}"
    );
    let report = &failed[0]["report"];
    let containers = report["containers"].to_string();
    assert!(
        containers.contains("ImagePull") || containers.contains("ErrImagePull"),
        "{containers}"
    );
    assert!(report["hint"].as_str().unwrap_or("").contains("image"));
    // Failed within the grace period (1 s) of the first failure seen, not at the 10-minute
    // timeout: the simulator reports ErrImagePull a few (scaled) seconds after the pod is
    // created, the grace period runs from then.
    let failing_seen = run.times("node-failing")[failing];
    let failed_at = failed[0]["elapsed"].as_f64().expect("elapsed");
    let last_write = run
        .all("object-applied")
        .iter()
        .filter(|e| e["node"] == failing)
        .filter_map(|e| e["elapsed"].as_f64())
        .fold(0.0, f64::max);
    // The decision needs one poll after the grace period and the report a few requests:
    // seconds on a loaded machine, against a 10-minute component timeout.
    assert!(
        failed_at - failing_seen >= 1.0 && failed_at - failing_seen < 15.0,
        "failed {}s after the failure was first seen (grace 1s)",
        failed_at - failing_seen
    );
    assert!(
        failed_at - last_write < 60.0,
        "failed {}s after its last write",
        failed_at - last_write
    );
    let needs = run.needs();
    let started_nodes = run.times("node-started");
    let downstream = dependents(&needs, failing);
    assert!(!downstream.is_empty());
    for d in &downstream {
        assert!(
            !started_nodes.contains_key(d),
            "{d} started although it needs {failing}"
        );
    }

    // With --continue-on-error every branch that does not need the failure completes.
    let sim = Sim::start(Sim::fast().behaviour(BehaviourRule::labels(
        &format!("app.kubernetes.io/name={failing}"),
        Behaviour::ImagePullBackOff,
    )));
    let run = sim.apply(
        QUICKSTART,
        &["-o", "json", "--grace", "1s", "--continue-on-error"],
    );
    assert_eq!(run.code, Some(1), "{}", run.explain());
    let states = run.node_states();
    for (node, state) in &states {
        if node == failing {
            assert_eq!(state, "failed");
        } else if downstream.contains(node) {
            assert_eq!(state, "skipped", "{node}");
        } else {
            assert_eq!(state, "ready", "{node} is independent of {failing}");
        }
    }
    assert!(states.values().filter(|s| *s == "ready").count() > 10);

    // The same failure as a user sees it on a terminal-less run.
    let sim = Sim::start(Sim::fast().behaviour(BehaviourRule::labels(
        &format!("app.kubernetes.io/name={failing}"),
        Behaviour::ImagePullBackOff,
    )));
    let run = sim.apply(QUICKSTART, &["--grace", "1s"]);
    assert_eq!(run.code, Some(1));
    eprintln!("--- scenario 2 as a user sees it ---\n{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("✗ {failing} failed: ImagePullBackOff")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("not started because of it") || run.stdout.contains("skip "));
    assert!(run.stdout.contains("help: check the image"));
}

#[test]
fn crash_looping_migration_job_is_reported_with_its_log_lines() {
    let config = Sim::fast().behaviour(
        BehaviourRule::labels(
            "app.kubernetes.io/name=egov-user-migration",
            Behaviour::JobFailure {
                exit_code: 1,
                after: Duration::from_secs(3),
            },
        )
        .logs([
            "Flyway Community Edition 9.22.3 by Redgate",
            "Migrating schema \"public\" to version \"20240115\" - create eg_user",
            "ERROR: Migration V20240115__create_eg_user.sql failed",
            "SQL State  : 42P07",
            "Message    : ERROR: relation \"eg_user\" already exists",
        ]),
    );
    let sim = Sim::start(config);
    let run = sim.apply(QUICKSTART, &["-o", "json", "--grace", "1s"]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    let failed = run.all("node-failed");
    assert_eq!(failed.len(), 1, "{}", run.explain());
    assert_eq!(failed[0]["node"], "egov-user/migration");
    let logs = failed[0]["report"]["logs"].to_string();
    assert!(
        logs.contains("relation \\\"eg_user\\\" already exists"),
        "{logs}"
    );
    assert!(!run.times("node-started").contains_key("egov-user"));
    let text = sim.apply(QUICKSTART, &["--grace", "1s"]);
    eprintln!("--- scenario 3 ---\n{}", text.stdout);
    assert!(
        text.stdout
            .contains("last log lines of egov-user-migration"),
        "{}",
        text.stdout
    );
}

/// A copy of the production example in a temp dir, with `extra` appended under `spec:`.
fn production_variant(dir: &Path, name: &str, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(root().join(PRODUCTION)).expect("example");
    let path = dir.join(name);
    std::fs::write(&path, edit(&text)).expect("write");
    path.display().to_string()
}

#[test]
fn second_apply_writes_nothing_and_a_config_change_rolls_only_that_component() {
    let sim = Sim::start(Sim::fast());
    let work = tempfile::tempdir().expect("tempdir");
    let base = production_variant(work.path(), "base.yaml", |t| {
        t.replace("    - m_fire-noc\n", "")
    });
    let first = sim.apply(&base, &["-o", "json"]);
    assert_eq!(first.code, Some(0), "{}", first.explain());

    sim.handle.reset_stats();
    let second = sim.apply(&base, &["-o", "json"]);
    assert_eq!(second.code, Some(0), "{}", second.explain());
    let stats = sim.handle.stats();
    // Every run records a release and holds the lock; the environment's objects are untouched.
    let bookkeeping = |k: &str| k.contains("govdeploy-release.") || k.contains("govdeploy-lock.");
    let writes: u64 = stats
        .writes
        .iter()
        .filter(|(k, _)| !bookkeeping(k))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(writes, 0, "{:?}", stats.writes);
    assert_eq!(stats.requests_with_verb("apply"), 0);
    assert!(
        stats.rollouts.values().all(|&n| n == 0) || stats.rollouts.is_empty(),
        "{:?}",
        stats.rollouts
    );
    let applied = second.all("object-applied");
    assert!(!applied.is_empty());
    assert!(applied.iter().all(|e| e["action"] == "unchanged"));

    // One component's settings change: only its objects are written, only it rolls.
    let changed = production_variant(work.path(), "changed.yaml", |t| {
        t.replace("    - m_fire-noc\n", "").replace(
            "    egov-indexer:\n      memory: 1Gi\n",
            "    egov-indexer:\n      memory: 1Gi\n      env: {LOG_LEVEL: debug}\n",
        )
    });
    sim.handle.reset_stats();
    let third = sim.apply(&changed, &["-o", "json"]);
    assert_eq!(third.code, Some(0), "{}", third.explain());
    let written: BTreeSet<String> = third
        .all("object-applied")
        .into_iter()
        .filter(|e| e["action"] != "unchanged")
        .map(|e| e["node"].as_str().expect("node").to_string())
        .collect();
    // Its ConfigMap travels with its migration node (the Job reads it), its workload with
    // the component node: nothing of any other component is written.
    assert!(!written.is_empty());
    assert!(
        written
            .iter()
            .all(|n| n == "egov-indexer" || n == "egov-indexer/migration"),
        "{written:?}"
    );
    let stats = sim.handle.stats();
    let rolled: Vec<&String> = stats
        .rollouts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(rolled.len(), 1, "{rolled:?}");
    assert!(rolled[0].contains("egov-indexer"), "{rolled:?}");
    let gateway = ObjectRef::new("apps/v1", "Deployment", Some("egov"), "zuul");
    assert_eq!(stats.rollouts_of(&gateway), 0);

    // New routes (a module added) roll the gateway; services whose inputs did not change stay.
    let with_firenoc = production_variant(work.path(), "firenoc.yaml", |t| {
        t.replace(
            "    egov-indexer:\n      memory: 1Gi\n",
            "    egov-indexer:\n      memory: 1Gi\n      env: {LOG_LEVEL: debug}\n",
        )
    });
    let routes_hash = |sim: &Sim| {
        sim.handle.get(&gateway).expect("gateway")["spec"]["template"]["metadata"]["annotations"]
            ["govdeploy.io/routes-hash"]
            .as_str()
            .map(str::to_string)
    };
    let routes_before = routes_hash(&sim);
    sim.handle.reset_stats();
    let fourth = sim.apply(&with_firenoc, &["-o", "json"]);
    assert_eq!(fourth.code, Some(0), "{}", fourth.explain());
    let stats = sim.handle.stats();
    let routes_changed = routes_hash(&sim) != routes_before;
    assert_eq!(
        stats.rollouts_of(&gateway),
        u64::from(routes_changed),
        "routes changed: {routes_changed}; {:?}",
        stats.rollouts
    );
    for unchanged in ["egov-user", "egov-mdms-service"] {
        let d = ObjectRef::new("apps/v1", "Deployment", Some("egov"), unchanged);
        assert_eq!(
            stats.rollouts_of(&d),
            0,
            "{unchanged} rolled: {:?}",
            stats.rollouts
        );
    }
}

#[test]
fn converges_with_ten_percent_injected_faults_and_reports_its_retries() {
    let sim = Sim::start(Sim::fast().faults(FaultConfig::mixed(0.10)).seed(7));
    let run = sim.apply(QUICKSTART, &["-o", "json"]);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    let outcome = run.outcome();
    assert_eq!(outcome["ok"], true);
    let retries = outcome["stats"]["retries"].as_u64().expect("retries");
    assert!(retries > 10, "{retries} retries");
    let reasons = outcome["stats"]["retryReasons"]
        .as_object()
        .expect("reasons");
    assert!(
        reasons.keys().any(|k| k.starts_with("HTTP 5")),
        "{reasons:?}"
    );
    assert!(reasons.contains_key("HTTP 429"), "{reasons:?}");
    assert!(reasons.contains_key("connection"), "{reasons:?}");
    assert!(sim.handle.stats().total_faults() > 10);
    assert!(!run.all("retry").is_empty());
    assert_dependency_order(&run, QUICKSTART);
    let finished = run.all("finished");
    assert_eq!(finished[0]["retries"].as_u64(), Some(retries));
}

#[test]
fn ctrl_c_stops_cleanly_and_says_what_was_applied() {
    let sim = Sim::start(
        SimConfig::default()
            .time_scale(10.0)
            .default_ready_after(Duration::from_secs(10)),
    );
    let kubeconfig = sim.kubeconfig();
    let child = Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args([
            "apply",
            QUICKSTART,
            "--kubeconfig",
            &kubeconfig,
            "--poll-interval",
            "20ms",
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Interrupt once the first nodes are healthy and others are rolling out.
    let mut child = child;
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("ready    shared") {
                let _ = tx.send(());
            }
            seen.push(line);
        }
        seen
    });
    let started = rx.recv_timeout(Duration::from_secs(120)).is_ok();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let code = child.wait().expect("exits").code();
    let lines = reader.join().expect("reader");
    let stdout = lines.join("\n");
    assert!(started, "the run never got going:\n{stdout}");
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert!(stdout.contains("node(s): namespaces"), "{stdout}");
}

#[test]
fn unreachable_cluster_and_bad_kubeconfig_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let out = Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args([
            "apply",
            QUICKSTART,
            "--kubeconfig",
            missing.to_str().expect("utf-8"),
        ])
        .current_dir(root())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the kubeconfig"), "{stderr}");
}
