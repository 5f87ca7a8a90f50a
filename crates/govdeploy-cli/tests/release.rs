//! `govdeploy diff`, driven through the real binary against the simulated API server.

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
fn diff_shows_creations_on_an_empty_cluster_and_nothing_after_apply() {
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

    let applied = run(&["apply", env, "--kubeconfig", &kc, "--poll-interval", "20ms"]);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );

    let after = run(&["diff", env, "--kubeconfig", &kc]);
    let stdout = String::from_utf8_lossy(&after.stdout);
    let stderr = String::from_utf8_lossy(&after.stderr);
    assert_eq!(after.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("0 to create, 0 to change, 0 to delete, "),
        "{stdout}"
    );
}
