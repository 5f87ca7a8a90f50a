//! Air gap end to end, with real registries: lockfile, bundle, mirror (from a bundle and from
//! a registry), resume through a proxy that cuts connections, corruption detection, basic
//! auth, platform filtering. `skopeo` reads what was written as the independent oracle.

#![allow(clippy::unwrap_used, reason = "tests")]

mod airgap_support;

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::Ordering;

use airgap_support::*;
use govdeploy_oci::Digest;

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(output)))
}

fn tar_entries(path: &std::path::Path) -> Vec<(String, u64, u64)> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(file);
    archive
        .entries_with_seek()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().to_string_lossy().to_string(),
                e.raw_file_position(),
                e.size(),
            )
        })
        .collect()
}

#[test]
fn bundle_then_mirror_reproduces_every_digest_and_a_rerun_sends_nothing() {
    if !tools_present() {
        return;
    }
    let source = TestRegistry::start(None);
    let target = TestRegistry::start(None);
    let set = build_images(&source);
    let work = tempfile::tempdir().unwrap();
    let lock = work.path().join("images.lock.json");
    write_lockfile(&lock, &set.images);
    let bundle = work.path().join("bundle.tar");
    let out = govdeploy(
        &[
            "bundle",
            "--images",
            lock.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bundled 3 images"),
        "{}",
        text(&out)
    );

    // The layout: oci-layout, index.json, lockfile, checksums; each blob once.
    let entries = tar_entries(&bundle);
    let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
    for required in [
        "oci-layout",
        "index.json",
        "govdeploy-images.lock.json",
        "SHA256SUMS",
    ] {
        assert!(names.contains(&required), "{required} missing: {names:?}");
    }
    let blob_names: Vec<&&str> = names
        .iter()
        .filter(|n| n.starts_with("blobs/sha256/"))
        .collect();
    let unique: BTreeSet<&&&str> = blob_names.iter().collect();
    assert_eq!(blob_names.len(), unique.len(), "a blob stored twice");
    // 6 layers + 4 configs + 4 manifests + 1 index.
    assert_eq!(blob_names.len(), 15, "{blob_names:?}");
    let bundle_size = std::fs::metadata(&bundle).unwrap().len();
    let sum_of_images = set.layer_bytes + 2 * 1_600_000 + 2 * 300_000; // shared layers counted per image
    assert!(
        bundle_size < sum_of_images,
        "{bundle_size} >= {sum_of_images}"
    );

    // Oracle 1: skopeo reads the bundle as an oci-archive.
    for (reference, digest) in &set.images {
        assert_eq!(
            &skopeo_digest(&format!("oci-archive:{}:{reference}", bundle.display())),
            digest
        );
    }
    // The bundled lockfile has the digests.
    let mut file = std::fs::File::open(&bundle).unwrap();
    let (_, offset, size) = entries
        .iter()
        .find(|(n, _, _)| n == "govdeploy-images.lock.json")
        .unwrap();
    file.seek(SeekFrom::Start(*offset)).unwrap();
    let mut locked = vec![0; *size as usize];
    file.read_exact(&mut locked).unwrap();
    let locked = String::from_utf8(locked).unwrap();
    for (_, digest) in &set.images {
        assert!(locked.contains(digest.as_str()), "{locked}");
    }

    // Mirror the bundle into the target; oracle 2: skopeo reads the target.
    let to = target.host();
    let out = govdeploy(
        &[
            "mirror",
            "--from",
            bundle.to_str().unwrap(),
            "--to",
            &to,
            "--chunk-size",
            "1MiB",
            "-o",
            "json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let first = json(&out);
    assert_eq!(first["images"], 3);
    assert_eq!(first["failed"], 0);
    for (reference, digest) in &set.images {
        let target_ref = mirrored(&to, reference);
        assert_eq!(
            &skopeo_digest(&format!("docker://{target_ref}")),
            digest,
            "{target_ref}"
        );
    }
    // Every child of the index too.
    let multi = mirrored(&to, &set.images[2].0);
    let out = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{multi}"),
        ])
        .output()
        .unwrap();
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let repo = multi.rsplit_once(':').unwrap().0;
    for child in index["manifests"].as_array().unwrap() {
        let d = child["digest"].as_str().unwrap();
        assert_eq!(skopeo_digest(&format!("docker://{repo}@{d}")).as_str(), d);
    }
    // Shared base layers went once and were mounted into the other repositories.
    assert_eq!(first["blobsSent"], 10, "{first}");
    assert!(first["blobsMounted"].as_u64().unwrap() >= 3, "{first}");
    assert!(
        first["blobBytesSent"].as_u64().unwrap() < set.layer_bytes + 10_000,
        "{first}"
    );
    assert!(
        first["blobBytesSent"].as_u64().unwrap() >= set.layer_bytes,
        "{first}"
    );

    // Again: nothing moves.
    let out = govdeploy(
        &[
            "mirror",
            "--from",
            bundle.to_str().unwrap(),
            "--to",
            &to,
            "-o",
            "json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let again = json(&out);
    assert_eq!(again["blobsSent"], 0, "{again}");
    assert_eq!(again["blobsMounted"], 0, "{again}");
    assert_eq!(again["blobBytesSent"], 0, "{again}");
    assert_eq!(again["manifestsPushed"], 0, "{again}");
    assert_eq!(again["bytesSent"], 0, "{again}");
}

fn mirror_through_proxy(
    cut: Cut,
    concurrency: &str,
) -> (
    ImageSet,
    serde_json::Value,
    Proxy,
    TestRegistry,
    TestRegistry,
) {
    let source = TestRegistry::start(None);
    let target = TestRegistry::start(None);
    let set = build_images(&source);
    // Cut two connections once each has carried 600 KiB (mid-body) or 1 MiB (then at the
    // start of the next request) upstream; chunks are 1 MiB.
    let cut_after = match cut {
        Cut::MidBody => 600 * 1024,
        Cut::BetweenRequests => 1 << 20,
    };
    let proxy = Proxy::start(target.port, 2, cut_after, cut);
    let to = format!("127.0.0.1:{}", proxy.port);
    let out = govdeploy(&mirror_args(&set, &to, concurrency), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(proxy.drops_done.load(Ordering::SeqCst), 2, "{}", text(&out));
    let summary = json(&out);
    // Read the target directly (not through the proxy): every digest as in the source.
    for (reference, digest) in &set.images {
        let direct = mirrored(&target.host(), reference);
        assert_eq!(
            &skopeo_digest(&format!("docker://{direct}")),
            digest,
            "{direct}"
        );
    }
    let _ = &source;
    (set, summary, proxy, source, target)
}

fn mirror_args(set: &ImageSet, to: &str, concurrency: &str) -> Vec<&'static str> {
    let mut args = vec!["mirror".to_string()];
    for (reference, _) in &set.images {
        args.push("--from".into());
        args.push(reference.clone());
    }
    args.extend(
        [
            "--to",
            to,
            "--chunk-size",
            "1MiB",
            "-o",
            "json",
            "--concurrency",
            concurrency,
        ]
        .map(String::from),
    );
    args.into_iter()
        .map(|a| &*Box::leak(a.into_boxed_str()))
        .collect()
}

/// After a finished mirror, running it again sends no blob content: only HEAD requests.
fn rerun_sends_nothing(set: &ImageSet, proxy: &Proxy) {
    let to = format!("127.0.0.1:{}", proxy.port);
    let before = proxy.upstream_bytes.load(Ordering::SeqCst);
    let out = govdeploy(&mirror_args(set, &to, "2"), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let again = json(&out);
    assert_eq!(again["blobBytesSent"], 0, "{again}");
    assert_eq!(again["manifestsPushed"], 0, "{again}");
    let rerun_bytes = proxy.upstream_bytes.load(Ordering::SeqCst) - before;
    assert!(
        rerun_bytes < 64 * 1024,
        "a finished mirror sent {rerun_bytes} bytes again"
    );
}

#[test]
fn cut_between_requests_resumes_the_upload_at_the_offset_the_registry_reports() {
    if !tools_present() {
        return;
    }
    let (set, summary, proxy, _source, _target) = mirror_through_proxy(Cut::BetweenRequests, "1");
    assert!(
        summary["resumedUploads"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    // Nothing was sent twice: layers once, plus configs, manifests and request headers.
    let upstream = proxy.upstream_bytes.load(Ordering::SeqCst);
    assert!(upstream >= set.layer_bytes, "{upstream}");
    assert!(
        upstream < set.layer_bytes + 128 * 1024,
        "{upstream} bytes upstream for {} bytes of layers",
        set.layer_bytes
    );
    rerun_sends_nothing(&set, &proxy);
}

#[test]
fn cut_mid_body_restarts_only_the_interrupted_blob() {
    if !tools_present() {
        return;
    }
    let (set, _summary, proxy, _source, target) = mirror_through_proxy(Cut::MidBody, "2");
    // Distribution 2.8 keeps the part of a PATCH body that arrived, while the upload URL it
    // handed out still carries the old offset in its signed state; the next request to that
    // URL makes it cancel the session. So the interrupted blob starts over in a new session:
    // what went up is every layer once plus, per cut, at most the largest blob (2.5 MB).
    assert!(
        target.log().contains("upload resumed at wrong offest"),
        "quirk not seen"
    );
    let upstream = proxy.upstream_bytes.load(Ordering::SeqCst);
    let slack = 2 * 2_500_000 + 128 * 1024;
    assert!(upstream >= set.layer_bytes, "{upstream}");
    assert!(
        upstream < set.layer_bytes + slack,
        "{upstream} bytes upstream for {} bytes of layers",
        set.layer_bytes
    );
    rerun_sends_nothing(&set, &proxy);
}

#[test]
fn a_corrupt_blob_is_detected_in_a_bundle_and_in_a_registry() {
    if !tools_present() {
        return;
    }
    let source = TestRegistry::start(None);
    let target = TestRegistry::start(None);
    let set = build_images(&source);
    let work = tempfile::tempdir().unwrap();
    let lock = work.path().join("lock.json");
    write_lockfile(&lock, &set.images[..1]);
    let bundle = work.path().join("b.tar");
    let out = govdeploy(
        &[
            "bundle",
            "--images",
            lock.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));

    // Flip one byte in the biggest blob of the bundle.
    let (name, offset, _) = tar_entries(&bundle)
        .into_iter()
        .filter(|(n, _, _)| n.starts_with("blobs/"))
        .max_by_key(|(_, _, s)| *s)
        .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&bundle)
        .unwrap();
    file.seek(SeekFrom::Start(offset + 1000)).unwrap();
    let mut byte = [0u8];
    file.read_exact(&mut byte).unwrap();
    file.seek(SeekFrom::Start(offset + 1000)).unwrap();
    file.write_all(&[byte[0] ^ 0xff]).unwrap();
    drop(file);
    let out = govdeploy(
        &[
            "mirror",
            "--from",
            bundle.to_str().unwrap(),
            "--to",
            &target.host(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let hex = name.trim_start_matches("blobs/sha256/");
    assert!(
        err.contains("digest mismatch") && err.contains(hex),
        "{err}"
    );
    // The image was not published.
    let target_ref = mirrored(&target.host(), &set.images[0].0);
    let inspect = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{target_ref}"),
        ])
        .output()
        .unwrap();
    assert!(!inspect.status.success(), "a corrupt image was published");

    // Corrupt the same layer in the source registry's storage: bundling fails, no file.
    let digest = Digest::parse(&format!("sha256:{hex}")).unwrap();
    let stored = source.blob_file(&digest);
    let mut content = std::fs::read(&stored).unwrap();
    content[1000] ^= 0xff;
    std::fs::write(&stored, content).unwrap();
    let fresh = work.path().join("again.tar");
    let out = govdeploy(
        &[
            "bundle",
            "--images",
            lock.to_str().unwrap(),
            "-o",
            fresh.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("digest mismatch"),
        "{}",
        text(&out)
    );
    assert!(!fresh.exists(), "a half-written bundle was left");
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn basic_auth_against_an_htpasswd_registry() {
    if !tools_present() {
        return;
    }
    let source = TestRegistry::start(None);
    let target = TestRegistry::start(Some(("mirror-user", "s3cret-pass")));
    let set = build_images(&source);
    let from = &set.images[0].0;
    let out = govdeploy(&["mirror", "--from", from, "--to", &target.host()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("user name and password"), "{err}");

    let out = govdeploy(
        &[
            "mirror",
            "--from",
            from,
            "--to",
            &target.host(),
            "--to-user",
            "mirror-user",
        ],
        &[("GOVDEPLOY_TO_PASSWORD", "wrong")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("credentials refused"),
        "{}",
        text(&out)
    );

    let out = govdeploy(
        &[
            "mirror",
            "--from",
            from,
            "--to",
            &target.host(),
            "--to-user",
            "mirror-user",
            "-o",
            "json",
        ],
        &[("GOVDEPLOY_TO_PASSWORD", "s3cret-pass")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("s3cret-pass"));
    let target_ref = mirrored(&target.host(), from);
    let inspect = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            "mirror-user:s3cret-pass",
            &format!("docker://{target_ref}"),
        ])
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{}", text(&inspect));
    assert_eq!(Digest::of(&inspect.stdout), set.images[0].1);
}

#[test]
fn platform_filter_keeps_one_manifest_of_an_index() {
    if !tools_present() {
        return;
    }
    let source = TestRegistry::start(None);
    let set = build_images(&source);
    let work = tempfile::tempdir().unwrap();
    let lock = work.path().join("lock.json");
    write_lockfile(&lock, &set.images[2..]);
    let bundle = work.path().join("arm.tar");
    let out = govdeploy(
        &[
            "bundle",
            "--images",
            lock.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--platform",
            "linux/arm64",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let reference = &set.images[2].0;
    let raw = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            &format!("oci-archive:{}:{reference}", bundle.display()),
        ])
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert!(
        manifest.get("layers").is_some(),
        "an image manifest, not the index: {manifest}"
    );
    let index_raw = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{reference}"),
        ])
        .output()
        .unwrap();
    let index: serde_json::Value = serde_json::from_slice(&index_raw.stdout).unwrap();
    let arm = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "arm64")
        .unwrap();
    assert_eq!(
        Digest::of(&raw.stdout).as_str(),
        arm["digest"].as_str().unwrap()
    );
    let blobs = tar_entries(&bundle)
        .into_iter()
        .filter(|(n, _, _)| n.starts_with("blobs/"))
        .count();
    assert_eq!(blobs, 4, "arm64 manifest, config and two layers only");

    let out = govdeploy(
        &[
            "bundle",
            "--images",
            lock.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--platform",
            "linux/s390x",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("linux/amd64, linux/arm64"),
        "{}",
        text(&out)
    );
}

#[test]
fn images_lock_covers_every_rendered_image_under_the_mirror() {
    let work = tempfile::tempdir().unwrap();
    let env = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/production.yaml"
    );
    let lock_a = work.path().join("a.json");
    let lock_b = work.path().join("b.json");
    for lock in [&lock_a, &lock_b] {
        let out = govdeploy(&["images", env, "--lock", lock.to_str().unwrap()], &[]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let a = std::fs::read_to_string(&lock_a).unwrap();
    assert_eq!(
        a,
        std::fs::read_to_string(&lock_b).unwrap(),
        "lockfile not deterministic"
    );
    let lock: serde_json::Value = serde_json::from_str(&a).unwrap();
    let mirror = lock["mirror"].as_str().unwrap();
    let references: BTreeSet<&str> = lock["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    for image in lock["images"].as_array().unwrap() {
        let source = image["source"].as_str().unwrap();
        let reference = image["reference"].as_str().unwrap();
        assert!(reference.starts_with(&format!("{mirror}/")), "{reference}");
        assert_eq!(
            govdeploy_plan::images::mirror_reference(mirror, source),
            reference
        );
    }
    // Every image of every rendered object (containers, init containers, migration Jobs,
    // backbone, config delivery) is under the mirror and in the lockfile.
    let out = govdeploy(&["render", env, "-o", "-"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stream = String::from_utf8_lossy(&out.stdout);
    let rendered: BTreeSet<&str> = stream
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("image: ")
        })
        .map(|i| i.trim_matches('"'))
        .collect();
    assert!(rendered.len() > 50, "{}", rendered.len());
    for image in &rendered {
        assert!(
            image.starts_with(&format!("{mirror}/")),
            "{image} is not under the mirror"
        );
        assert!(
            references.contains(image),
            "{image} is rendered but not in the lockfile"
        );
    }
    for kind in [
        "-db:",
        "/git-sync/",
        "/ingress-nginx/",
        "/elasticsearch/",
        "/state/egov-mdms-data:",
    ] {
        assert!(
            rendered.iter().any(|i| i.contains(kind)),
            "no rendered image like {kind}"
        );
    }
    // A config image already in the mirror is not prefixed twice.
    assert!(references.contains(&*format!("{mirror}/state/egov-mdms-data:2024.11.1")));

    // --resolve against a registry that is not there: a warning per image, exit 1, the
    // lockfile still written without digests.
    let dir = work.path().join("env");
    std::fs::create_dir(&dir).unwrap();
    let unreachable = dir.join("lock.json");
    let quick = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/quickstart.yaml"
    );
    // Connections are refused at once: every HTTPS request goes to a closed local port.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = govdeploy(
        &[
            "images",
            quick,
            "--lock",
            unreachable.to_str().unwrap(),
            "--resolve",
            "--retries",
            "0",
        ],
        &[("HTTPS_PROXY", &closed), ("https_proxy", &closed)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not resolved"),
        "{}",
        text(&out)
    );
    assert!(unreachable.exists());
}

/// A CA and a server certificate for 127.0.0.1, made with openssl.
fn make_certificates(dir: &std::path::Path) -> bool {
    let script = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=govdeploy-test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf 2>/dev/null
"#;
    let status = std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .status();
    match status {
        Ok(s) if s.success() => true,
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "openssl failed or is missing: the `air-gap (issue 9)` block of .ci/run installs it"
            )
        }
        _ => {
            eprintln!("SKIPPED: openssl is missing (apt-get install openssl)");
            false
        }
    }
}

#[test]
fn https_registry_with_a_custom_ca() {
    if !tools_present() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    if !make_certificates(certs.path()) {
        return;
    }
    let source = TestRegistry::start(None);
    let target = TestRegistry::start_with(
        None,
        Some((
            &certs.path().join("server.pem"),
            &certs.path().join("server.key"),
        )),
    );
    let set = build_images(&source);
    let from = &set.images[0].0;
    let to = format!("https://{}", target.host());
    let out = govdeploy(
        &["mirror", "--from", from, "--to", &to, "--retries", "0"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("certificate") || err.contains("unknownissuer"),
        "{err}"
    );

    let ca = certs.path().join("ca.pem");
    let out = govdeploy(
        &[
            "mirror",
            "--from",
            from,
            "--to",
            &to,
            "--ca-cert",
            ca.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let target_ref = mirrored(&target.host(), from);
    let inspect = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--cert-dir",
            certs.path().to_str().unwrap(),
            &format!("docker://{target_ref}"),
        ])
        .output()
        .unwrap();
    let digest = if inspect.status.success() {
        Digest::of(&inspect.stdout)
    } else {
        skopeo_digest(&format!("docker://{target_ref}"))
    };
    assert_eq!(digest, set.images[0].1);

    // Plain HTTP is for loopback only unless --insecure.
    let out = govdeploy(
        &[
            "mirror",
            "--from",
            from,
            "--to",
            "http://registry.example:5000",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing plain HTTP"),
        "{}",
        text(&out)
    );
}

#[test]
fn bearer_token_auth_through_a_token_server() {
    if !tools_present() {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    if !make_token_key(keys.path()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl missing: the `air-gap (issue 9)` block of .ci/run installs it"
        );
        eprintln!("SKIPPED: openssl is missing");
        return;
    }
    let token = TokenServer::start(keys.path(), "mirror-user", "t0ken-pass");
    let source = TestRegistry::start(None);
    let target = TestRegistry::start_token(&token);
    let set = build_images(&source);
    let to = target.host();
    let out = govdeploy(
        &[
            "mirror",
            "--from",
            &set.images[0].0,
            "--to",
            &to,
            "--to-user",
            "mirror-user",
        ],
        &[("GOVDEPLOY_TO_PASSWORD", "nope")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("token endpoint"),
        "{}",
        text(&out)
    );

    let mut args = vec![
        "mirror",
        "--to",
        &to,
        "--to-user",
        "mirror-user",
        "-o",
        "json",
    ];
    for (reference, _) in &set.images {
        args.push("--from");
        args.push(reference);
    }
    let out = govdeploy(&args, &[("GOVDEPLOY_TO_PASSWORD", "t0ken-pass")]);
    assert!(out.status.success(), "{}\n{}", text(&out), target.log());
    assert!(!text(&out).contains("t0ken-pass"));
    let summary = json(&out);
    assert!(
        summary["blobsMounted"].as_u64().unwrap() >= 3,
        "mounts need pull scope on the other repository: {summary}"
    );
    assert!(token.requests.load(Ordering::SeqCst) >= 3);
    for (reference, digest) in &set.images {
        let target_ref = mirrored(&to, reference);
        let inspect = std::process::Command::new("skopeo")
            .args([
                "inspect",
                "--raw",
                "--tls-verify=false",
                "--creds",
                "mirror-user:t0ken-pass",
                &format!("docker://{target_ref}"),
            ])
            .output()
            .unwrap();
        assert!(inspect.status.success(), "{}", text(&inspect));
        assert_eq!(&Digest::of(&inspect.stdout), digest);
    }
}

#[test]
fn lockfile_driven_mirrors_chain_from_the_source_and_from_a_filled_mirror() {
    if !tools_present() {
        return;
    }
    let source = TestRegistry::start(None);
    let dmz = TestRegistry::start(None);
    let inside = TestRegistry::start(None);
    let set = build_images(&source);
    let work = tempfile::tempdir().unwrap();
    let lock = work.path().join("lock.json");
    write_lockfile(&lock, &set.images);
    // Straight from each image's own source registry (no --from) into a DMZ mirror ...
    let out = govdeploy(
        &[
            "mirror",
            "--images",
            lock.to_str().unwrap(),
            "--to",
            &dmz.host(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    // ... then from that mirror (same layout) into the one inside, under a path prefix.
    let inside_root = format!("{}/digit", inside.host());
    let out = govdeploy(
        &[
            "mirror",
            "--from",
            &dmz.host(),
            "--images",
            lock.to_str().unwrap(),
            "--to",
            &inside_root,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    for (reference, digest) in &set.images {
        let target_ref = mirrored(&inside_root, reference);
        assert!(
            target_ref.starts_with(&format!("{}/digit/127.0.0.1_", inside.host())),
            "{target_ref}"
        );
        assert_eq!(
            &skopeo_digest(&format!("docker://{target_ref}")),
            digest,
            "{target_ref}"
        );
    }
}

#[test]
fn bundle_refuses_an_environment_that_clones_config_from_git() {
    let work = tempfile::tempdir().unwrap();
    let env = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/production.yaml"
    );
    let bundle = work.path().join("prod.tar");
    let out = govdeploy(&["bundle", env, "-o", bundle.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("production.yaml:49:7: error[E-BUNDLE-GIT-CONFIG]"),
        "{err}"
    );
    assert!(err.contains("spec.configSources.configs.image"), "{err}");
    assert!(!bundle.exists());
}
