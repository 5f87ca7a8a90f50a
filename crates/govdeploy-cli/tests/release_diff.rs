//! `govdeploy diff` on an empty cluster, driven through the real binary against the simulated
//! API server: only creations, exit 2, and nothing written (no objects, record or lock). The
//! diff after changes is asserted in `release.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use govdeploy_testkit::{SimConfig, SimServer};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args(args)
        .current_dir(root())
        .env_remove("KUBECONFIG")
        .output()
        .expect("the binary runs")
}

#[test]
fn diff_on_an_empty_cluster_shows_only_creations_and_writes_nothing() {
    let sim = SimServer::start(
        SimConfig::default()
            .time_scale(10.0)
            .default_ready_after(Duration::from_secs(2)),
    )
    .expect("simulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "sim")
        .expect("kubeconfig");
    let kc = kubeconfig.display().to_string();
    let env = "examples/quickstart.yaml";

    let before = run(&["diff", env, "--kubeconfig", &kc]);
    let stdout = String::from_utf8_lossy(&before.stdout);
    let stderr = String::from_utf8_lossy(&before.stderr);
    assert_eq!(before.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("# module "), "{stdout}");
    assert!(stdout.contains("+kind: Deployment"), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or("")
            .contains(" to create, 0 to change, 0 to delete, 0 unchanged"),
        "{stdout}"
    );
    assert!(
        sim.list("apps/v1", "Deployment", None).is_empty(),
        "diff wrote to the cluster"
    );
    assert!(
        sim.list("v1", "Secret", None).is_empty(),
        "diff wrote a release record"
    );
    assert!(
        sim.list("coordination.k8s.io/v1", "Lease", None).is_empty(),
        "diff took the lock"
    );
}
