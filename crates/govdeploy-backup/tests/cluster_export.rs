//! Secrets exported for a rebuild are encrypted to the environment's age recipients with the
//! real `age` tool, and only the matching identity decrypts them.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::process::Command;

use govdeploy_backup::cluster::{age_encrypt, for_rebuild};
use serde_json::json;

#[tokio::test]
async fn secrets_are_encrypted_to_the_recipients() {
    let (age, keygen) = (support::which("age"), support::which("age-keygen"));
    if !support::require(
        &age,
        "install age (Debian: apt-get install age; .ci/run's backup block)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.txt");
    let out = Command::new(keygen).arg("-o").arg(&key).output().unwrap();
    assert!(out.status.success());
    let recipient = String::from_utf8_lossy(&out.stderr)
        .trim()
        .trim_start_matches("Public key: ")
        .to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");

    let secret = for_rebuild(&json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "backbone", "uid": "x", "resourceVersion": "1"},
        "data": {"password": "aHVudGVyMg=="}
    }));
    let plaintext = serde_json::to_vec(&secret).unwrap();
    let encrypted = dir.path().join("secrets.age");
    age_encrypt(&plaintext, &[recipient], &encrypted)
        .await
        .unwrap();
    let ciphertext = std::fs::read_to_string(&encrypted).unwrap();
    assert!(ciphertext.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    assert!(!ciphertext.contains("aHVudGVyMg=="));

    let out = Command::new(&age)
        .arg("--decrypt")
        .arg("-i")
        .arg(&key)
        .arg(&encrypted)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, plaintext);

    let err = age_encrypt(b"x", &[], &dir.path().join("none"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("never exported unencrypted"),
        "{err}"
    );
}
