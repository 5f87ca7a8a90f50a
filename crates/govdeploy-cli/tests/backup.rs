//! `govdeploy backup` and `govdeploy restore` driven through the binary against a real
//! PostgreSQL 15 server: exit codes, confirmation, refusal of a non-empty database, drill and
//! prune, corruption reported, the password never printed, schedules that validate.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "../../govdeploy-backup/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{PASSWORD, Postgres};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn govdeploy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args(args)
        .env("PGPASSWORD", PASSWORD)
        .env("PGUSER", "postgres")
        .stdin(Stdio::null())
        .output()
        .expect("govdeploy runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn env_file(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("env.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata:\n  name: backuptest\nspec:\n  catalog: digit\n  release: quickstart-v2.4\n  modules: [m_pgr]\n  profile: quickstart\n  domain: digit.example.org\n  cluster:\n    nodes: [{{name: single, count: 1, cpu: \"4\", memory: 16Gi}}]\n  backbone:\n    postgres: {{mode: external, host: 127.0.0.1, port: {port}, database: egov}}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn backup_drill_restore_prune_through_the_binary() {
    let Some(pg) = Postgres::start(true) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(support::seed(&pg, "egov"));
    let work = tempfile::tempdir().unwrap();
    let env = env_file(work.path(), pg.port);
    let env = env.to_str().unwrap();
    let store = work.path().join("store");
    let store = store.to_str().unwrap();

    let out = govdeploy(&["backup", env, "--to", store]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains(PASSWORD), "password printed:\n{all}");
    assert!(
        all.contains("4 tables, 8003 rows, 3 large objects"),
        "{all}"
    );
    assert!(all.contains("WAL archiving on: segment"), "{all}");
    let id = all.split_whitespace().nth(1).unwrap().to_string();
    assert!(id.starts_with("backuptest-"), "{id}");
    let backup = format!("{store}/{id}");

    let out = govdeploy(&["backup", "list", store]);
    assert!(text(&out).contains("never verified"), "{}", text(&out));

    let out = govdeploy(&["backup", "drill", &backup]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains(&format!("drill {id}: PASS")), "{all}");
    let out = govdeploy(&["backup", "list", store]);
    assert!(text(&out).contains("drill passed"), "{}", text(&out));

    // Confirmation: none on a script's stdin without --yes.
    let out = govdeploy(&["restore", env, "--from", &backup]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("pass --yes"), "{}", text(&out));
    // The environment's database holds data: refused without --overwrite.
    let out = govdeploy(&["restore", env, "--from", &backup, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("is not empty") && text(&out).contains("--overwrite"),
        "{}",
        text(&out)
    );
    let out = govdeploy(&[
        "restore",
        env,
        "--from",
        &backup,
        "--yes",
        "--pg-database",
        "egov_copy",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("8003 rows"), "{}", text(&out));
    let out = govdeploy(&["restore", env, "--from", &backup, "--yes", "--overwrite"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A second, unverified backup; prune --keep 0 keeps only the newest verified one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = govdeploy(&["backup", env, "--to", store]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = govdeploy(&["backup", "prune", store, "--keep", "0"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains(&format!("keep    {id} (newest verified)")),
        "{all}"
    );
    assert!(all.contains("removed backuptest-"), "{all}");

    // One flipped byte: verify fails (exit 1) and says which file.
    let dump = Path::new(&backup).join("postgres.dump");
    let mut bytes = std::fs::read(&dump).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&dump, bytes).unwrap();
    let out = govdeploy(&["backup", "verify", &backup]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("FAIL  postgres.dump: SHA-256"), "{all}");
}

#[test]
fn in_cluster_postgres_needs_a_port_forward_for_now() {
    let work = tempfile::tempdir().unwrap();
    let env = root().join("examples/quickstart.yaml");
    let out = govdeploy(&[
        "backup",
        env.to_str().unwrap(),
        "--to",
        work.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--pg-host 127.0.0.1"), "{}", text(&out));
}

#[test]
fn schedule_renders_valid_hardened_objects() {
    let env = root().join("examples/quickstart.yaml");
    let out = govdeploy(&[
        "backup",
        "schedule",
        env.to_str().unwrap(),
        "--to",
        "s3://backups/quickstart",
        "--image",
        "registry.local:5000/govdeploy/backup:0.1.0-pg14",
    ]);
    let yaml = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for needle in [
        "kind: CronJob",
        "kind: NetworkPolicy",
        "kind: ServiceAccount",
        "readOnlyRootFilesystem: true",
        "concurrencyPolicy: Forbid",
        "- run",
    ] {
        assert!(yaml.contains(needle), "{needle} missing:\n{yaml}");
    }
    let out = govdeploy(&[
        "backup",
        "schedule",
        env.to_str().unwrap(),
        "--to",
        "/srv/backups",
        "--image",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let bin = std::env::var_os("GOVDEPLOY_TOOLS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/venv/bin"));
    let validate = bin.join("kubernetes-validate");
    if !support::require(
        &validate,
        "run scripts/install-tools.sh (scripts/test does it)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schedule.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let out = Command::new(validate)
        .args(["--strict", "-k", "1.30.0", "-k", "1.33.0"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
