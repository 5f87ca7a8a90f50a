//! The etcd snapshot over TLS with client-certificate authentication, against a real etcd
//! started with certificates made by openssl for this test.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::path::Path;
use std::process::Command;

use govdeploy_backup::etcd::{EtcdTls, snapshot, verify_trailer};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=govdeploy-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for name in ["server", "client"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_over_tls_with_a_client_certificate() {
    let etcd = support::which("etcd");
    if !support::require(
        &etcd,
        "install etcd (Debian: apt-get install etcd-server etcd-client; .ci/run's backup block)",
    ) || !support::require(
        &support::which("openssl"),
        "install openssl (Debian: apt-get install openssl)",
    ) {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("gd-etcd-tls-")
        .tempdir()
        .unwrap();
    let pki = dir.path();
    certificates(pki);
    let (client_port, peer_port) = (support::free_port(), support::free_port());
    let url = format!("https://127.0.0.1:{client_port}");
    let peer = format!("http://127.0.0.1:{peer_port}");
    let log = std::fs::File::create(pki.join("log")).unwrap();
    let child = Command::new(etcd)
        .arg("--data-dir")
        .arg(pki.join("data"))
        .arg(format!("--listen-client-urls={url}"))
        .arg(format!("--advertise-client-urls={url}"))
        .arg(format!("--listen-peer-urls={peer}"))
        .arg(format!("--initial-advertise-peer-urls={peer}"))
        .arg(format!("--initial-cluster=default={peer}"))
        .arg("--cert-file")
        .arg(pki.join("server.crt"))
        .arg("--key-file")
        .arg(pki.join("server.key"))
        .arg("--trusted-ca-file")
        .arg(pki.join("ca.crt"))
        .arg("--client-cert-auth")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let _server = support::Server {
        child,
        dir: tempfile::tempdir().unwrap(),
        url: url.clone(),
    };
    let tls = EtcdTls {
        ca: Some(pki.join("ca.crt")),
        cert: Some(pki.join("client.crt")),
        key: Some(pki.join("client.key")),
    };
    // etcd takes a moment to listen; connection errors until then.
    let mut client = None;
    for _ in 0..100 {
        if let Ok(mut c) = govdeploy_backup::etcd::connect(&url, Some(&tls)).await
            && c.status().await.is_ok()
        {
            client = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mut client = client.expect("etcd over TLS did not answer within 20s");
    for i in 0..20 {
        client
            .put(format!("/registry/tls/{i}"), "v", None)
            .await
            .unwrap();
    }

    let out = pki.join("etcd.snapshot");
    let record = snapshot(&url, Some(&tls), &out).await.unwrap();
    assert_eq!(record.keys, 20);
    assert_eq!(verify_trailer(&out).unwrap(), record.trailer_sha256);

    // Without the client certificate the server refuses; without TLS an https URL fails;
    // certificates with an http URL are refused before connecting.
    let no_identity = EtcdTls {
        cert: None,
        key: None,
        ..tls.clone()
    };
    assert!(
        snapshot(&url, Some(&no_identity), &pki.join("a"))
            .await
            .is_err()
    );
    assert!(snapshot(&url, None, &pki.join("b")).await.is_err());
    let err = snapshot(&url.replace("https", "http"), Some(&tls), &pki.join("c"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
}
