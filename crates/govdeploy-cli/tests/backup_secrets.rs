//! `govdeploy backup ENV` and `restore ENV` take the Postgres password from the
//! environment's SOPS secrets file (decrypted in memory), not from the command line or
//! PGPASSWORD, and never print it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "../../govdeploy-backup/tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{PASSWORD, Postgres};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn govdeploy(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("SOPS_AGE_KEY_FILE", dir.join("key.txt"))
        .env_remove("SOPS_AGE_KEY")
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .env("PGUSER", "postgres")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn the_password_comes_from_the_environments_secrets_file() {
    let Some(pg) = Postgres::start(false) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(support::seed(&pg, "egov"));
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let identity = age::x25519::Identity::generate();
    use age::secrecy::ExposeSecret;
    std::fs::write(
        dir.join("key.txt"),
        format!("{}\n", identity.to_string().expose_secret()),
    )
    .unwrap();
    std::fs::write(
        dir.join("env.yaml"),
        format!(
            "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata:\n  name: backuptest\nspec:\n  catalog: digit\n  release: quickstart-v2.4\n  modules: [m_pgr]\n  profile: quickstart\n  domain: digit.example.org\n  cluster:\n    nodes: [{{name: single, count: 1, cpu: \"4\", memory: 16Gi}}]\n  backbone:\n    postgres: {{mode: external, host: 127.0.0.1, port: {}, database: egov}}\n  secrets:\n    file: secrets.enc.yaml\n",
            pg.port
        ),
    )
    .unwrap();
    let recipient = identity.to_public().to_string();
    let out = govdeploy(
        dir,
        &["secrets", "init", "env.yaml", "--age", &recipient],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A wrong password in the file: the server refuses it, so the file is what is used.
    let out = govdeploy(
        dir,
        &["secrets", "set", "env.yaml", "db/password"],
        Some("not-the-password\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let store = dir.join("store");
    let store = store.to_str().unwrap();
    let out = govdeploy(dir, &["backup", "env.yaml", "--to", store], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("password authentication failed"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("not-the-password"), "{}", text(&out));

    let out = govdeploy(
        dir,
        &["secrets", "set", "env.yaml", "db/password"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = govdeploy(
        dir,
        &["secrets", "set", "env.yaml", "db/username"],
        Some("postgres\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let encrypted = std::fs::read_to_string(dir.join("secrets.enc.yaml")).unwrap();
    assert!(!encrypted.contains(PASSWORD));

    let out = govdeploy(dir, &["backup", "env.yaml", "--to", store], None);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains(PASSWORD), "password printed:\n{all}");
    assert!(all.contains("4 tables, 8003 rows"), "{all}");
    let id = all.split_whitespace().nth(1).unwrap().to_string();
    let from = format!("{store}/{id}");
    let out = govdeploy(
        dir,
        &[
            "restore",
            "env.yaml",
            "--from",
            &from,
            "--yes",
            "--pg-database",
            "egov_copy",
        ],
        None,
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains(PASSWORD), "password printed:\n{all}");
    // The manifest records no credentials.
    let manifest = std::fs::read_to_string(Path::new(&from).join("manifest.json")).unwrap();
    assert!(!manifest.contains(PASSWORD));

    // Without a readable key the file cannot be opened: a clear error, no value.
    std::fs::remove_file(dir.join("key.txt")).unwrap();
    let out = govdeploy(dir, &["backup", "env.yaml", "--to", store], None);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("secrets file"), "{}", text(&out));
}
