//! The `govdeploy-simkube` binary: prints its URL, writes a kubeconfig, serves /_sim/stats.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn binary_prints_url_writes_kubeconfig_and_serves_stats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kc");
    let mut child = Command::new(env!("CARGO_BIN_EXE_govdeploy-simkube"))
        .args([
            "--kubeconfig",
            kubeconfig.to_str().expect("path"),
            "--context",
            "lab",
            "--time-scale",
            "50",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = lines.next().expect("a line").expect("utf-8");
    let result = std::panic::catch_unwind(|| {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let config = std::fs::read_to_string(&kubeconfig).expect("kubeconfig");
        assert!(config.contains(&format!("server: {url}")));
        assert!(config.contains("current-context: lab"));
        assert_eq!(common::get(&url, "/api/v1/namespaces/default").status, 200);
        let stats = common::get(&url, "/_sim/stats").json();
        assert_eq!(stats["requests"]["get namespaces"], 1);
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn binary_rejects_bad_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_govdeploy-simkube"))
        .args(["--time-scale", "fast"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--time-scale \"fast\": expected a positive number")
    );
}
