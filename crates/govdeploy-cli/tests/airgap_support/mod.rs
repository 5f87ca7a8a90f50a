//! Real registries (Debian's `docker-registry`, distribution 2.8) on 127.0.0.1, test images
//! built here (pseudo-random layers, shared base layers, a multi-architecture index), a TCP
//! proxy that counts and cuts connections, and `skopeo` as the independent oracle.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use govdeploy_oci::manifest::Manifest;
use govdeploy_oci::upload::BlobPush;
use govdeploy_oci::{Digest, Progress, Registry, RegistryOptions, Silent, Stats};

/// Whether the external tools are here. With `CI` set their absence fails the test.
pub fn tools_present() -> bool {
    let missing: Vec<&str> = ["docker-registry", "skopeo"]
        .into_iter()
        .filter(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .map(|s| !s.success())
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{} not installed: the `air-gap (issue 9)` block of .ci/run installs them (apt-get install -y --no-install-recommends docker-registry skopeo)",
        missing.join(" and ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("SKIPPED: {message}");
    false
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct TestRegistry {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl TestRegistry {
    pub fn start(htpasswd: Option<(&str, &str)>) -> Self {
        Self::start_with(htpasswd, None)
    }

    /// `tls`: certificate and key files to serve HTTPS with.
    pub fn start_with(htpasswd: Option<(&str, &str)>, tls: Option<(&Path, &Path)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: govdeploy-test-secret\n",
            dir.path().join("data").display()
        );
        if let Some((cert, key)) = tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if let Some((user, password)) = htpasswd {
            let hash = bcrypt::hash(password, 5).expect("bcrypt");
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, format!("{user}:{hash}\n")).expect("htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: govdeploy-test\n    path: {}\n",
                path.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = TestRegistry { port, dir, child };
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return registry;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {port}: {}",
            registry.log()
        );
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The file holding a blob's bytes in the registry's storage.
    pub fn blob_file(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deterministic pseudo-random bytes (xorshift), different per seed.
pub fn random_bytes(seed: u64, len: usize) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

pub struct Pusher {
    pub registry: Registry,
    rt: tokio::runtime::Runtime,
}

impl Pusher {
    pub fn new(host: &str, credentials: Option<(&str, &str)>) -> Self {
        let options = RegistryOptions {
            credentials: credentials.map(|(u, p)| govdeploy_oci::Credentials {
                username: u.into(),
                password: p.into(),
            }),
            ..RegistryOptions::default()
        };
        Pusher {
            registry: Registry::new(host, &options, Arc::new(Stats::default())).expect("client"),
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    fn blob(&self, repository: &str, bytes: &Bytes) -> (Digest, u64) {
        let digest = Digest::of(bytes);
        let progress: Arc<dyn Progress> = Arc::new(Silent);
        self.rt
            .block_on(
                BlobPush {
                    target: &self.registry,
                    repository,
                    digest: &digest,
                    size: bytes.len() as u64,
                    origin: govdeploy_oci::blob::BlobOrigin::Memory(bytes.clone()),
                    mount_from: None,
                    chunk_size: 8 << 20,
                    progress: &progress,
                }
                .run(),
            )
            .expect("push blob");
        (digest, bytes.len() as u64)
    }

    fn manifest(&self, repository: &str, reference: &str, json: String) -> (Digest, u64) {
        let size = json.len() as u64;
        let manifest = Manifest::parse(Bytes::from(json), None, "test").expect("manifest");
        self.rt
            .block_on(self.registry.put_manifest(repository, reference, &manifest))
            .expect("push manifest");
        (manifest.digest, size)
    }

    /// An OCI image of `layers` for one architecture; pushed by digest, and tagged when asked.
    pub fn image(
        &self,
        repository: &str,
        tag: Option<&str>,
        arch: &str,
        layers: &[Bytes],
    ) -> (Digest, u64) {
        let mut layer_json = Vec::new();
        let mut diff_ids = Vec::new();
        for layer in layers {
            let (digest, size) = self.blob(repository, layer);
            layer_json.push(format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{digest}","size":{size}}}"#
            ));
            diff_ids.push(format!("\"{digest}\""));
        }
        let config = Bytes::from(format!(
            r#"{{"architecture":"{arch}","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
            diff_ids.join(",")
        ));
        let (config_digest, config_size) = self.blob(repository, &config);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{}]}}"#,
            layer_json.join(",")
        );
        let (digest, size) = self.manifest(repository, &digest_ref(&manifest), manifest.clone());
        if let Some(tag) = tag {
            self.manifest(repository, tag, manifest);
        }
        (digest, size)
    }

    /// A multi-architecture index over per-architecture images.
    pub fn index(&self, repository: &str, tag: &str, per_arch: &[(&str, Vec<Bytes>)]) -> Digest {
        let mut entries = Vec::new();
        for (arch, layers) in per_arch {
            let (digest, size) = self.image(repository, None, arch, layers);
            entries.push(format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{size},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#
            ));
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            entries.join(",")
        );
        self.manifest(repository, tag, index).0
    }
}

fn digest_ref(json: &str) -> String {
    Digest::of(json.as_bytes()).to_string()
}

/// The test image set: two images sharing base layers, and a two-architecture index that
/// shares one of them too. Returns (reference, top digest) per image and the bytes of all
/// distinct layer content.
pub struct ImageSet {
    pub images: Vec<(String, Digest)>,
    pub layer_bytes: u64,
}

pub fn build_images(source: &TestRegistry) -> ImageSet {
    let pusher = Pusher::new(&source.host(), None);
    let base1 = random_bytes(1, 1_600_000);
    let base2 = random_bytes(2, 300_000);
    let app1 = random_bytes(3, 2_500_000);
    let app2 = random_bytes(4, 700_000);
    let amd = random_bytes(5, 400_000);
    let arm = random_bytes(6, 450_000);
    let layer_bytes = [&base1, &base2, &app1, &app2, &amd, &arm]
        .iter()
        .map(|b| b.len() as u64)
        .sum();
    let host = source.host();
    let (d1, _) = pusher.image(
        "test/app1",
        Some("v1"),
        "amd64",
        &[base1.clone(), base2.clone(), app1],
    );
    let (d2, _) = pusher.image(
        "test/app2",
        Some("v1"),
        "amd64",
        &[base1.clone(), base2, app2],
    );
    let d3 = pusher.index(
        "test/multi",
        "v1",
        &[
            ("amd64", vec![base1.clone(), amd]),
            ("arm64", vec![base1, arm]),
        ],
    );
    ImageSet {
        images: vec![
            (format!("{host}/test/app1:v1"), d1),
            (format!("{host}/test/app2:v1"), d2),
            (format!("{host}/test/multi:v1"), d3),
        ],
        layer_bytes,
    }
}

/// A lockfile naming `images` (unresolved: the tools resolve them).
pub fn write_lockfile(path: &Path, images: &[(String, Digest)]) {
    let entries: Vec<String> = images
        .iter()
        .map(|(r, _)| format!(r#"{{"source":"{r}","reference":"{r}"}}"#))
        .collect();
    std::fs::write(
        path,
        format!(
            r#"{{"apiVersion":"govdeploy.io/v1","kind":"ImageLock","images":[{}]}}"#,
            entries.join(",")
        ),
    )
    .expect("lockfile");
}

pub fn govdeploy(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_govdeploy"));
    command.args(args).env_remove(FROM_PW).env_remove(TO_PW);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("run govdeploy")
}

const FROM_PW: &str = "GOVDEPLOY_FROM_PASSWORD";
const TO_PW: &str = "GOVDEPLOY_TO_PASSWORD";

pub fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The raw manifest skopeo reads, as a digest.
pub fn skopeo_digest(transport_ref: &str) -> Digest {
    let output = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", transport_ref])
        .output()
        .expect("run skopeo");
    assert!(
        output.status.success(),
        "skopeo inspect {transport_ref}: {}",
        text(&output)
    );
    Digest::of(&output.stdout)
}

/// The mirror path of a source reference (`<to>/<host with _ port>/<path>`).
pub fn mirrored(to: &str, reference: &str) -> String {
    govdeploy_plan::images::mirror_reference(to, reference)
}

/// Where the proxy cuts a connection once it has carried `cut_after` bytes upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Wherever the next read falls: usually in the middle of a request body.
    MidBody,
    /// When the client starts its next request after an answer (nothing of it goes through).
    BetweenRequests,
}

/// A TCP proxy on 127.0.0.1 that counts client-to-server bytes and cuts up to `drops`
/// connections.
pub struct Proxy {
    pub port: u16,
    pub upstream_bytes: Arc<AtomicU64>,
    pub drops_done: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: u16, drops: u32, cut_after: u64, cut: Cut) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let upstream_bytes = Arc::new(AtomicU64::new(0));
        let drops_left = Arc::new(AtomicU32::new(drops));
        let drops_done = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (bytes, left, done, halt) = (
            upstream_bytes.clone(),
            drops_left.clone(),
            drops_done.clone(),
            stop.clone(),
        );
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                            continue;
                        };
                        let (bytes, left, done) = (bytes.clone(), left.clone(), done.clone());
                        std::thread::spawn(move || {
                            pipe(client, server, bytes, left, done, cut_after, cut)
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            port,
            upstream_bytes,
            drops_done,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pipe(
    mut client: TcpStream,
    mut server: TcpStream,
    bytes: Arc<AtomicU64>,
    drops_left: Arc<AtomicU32>,
    drops_done: Arc<AtomicU32>,
    cut_after: u64,
    cut: Cut,
) {
    let (Ok(mut server_read), Ok(mut client_write)) = (server.try_clone(), client.try_clone())
    else {
        return;
    };
    let answered = Arc::new(AtomicBool::new(false));
    let answered_back = answered.clone();
    let back = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = server_read.read(&mut buf) {
            if n == 0 || client_write.write_all(&buf[..n]).is_err() {
                break;
            }
            answered_back.store(true, Ordering::SeqCst);
        }
        let _ = client_write.shutdown(Shutdown::Both);
    });
    let mut carried = 0u64;
    let mut buf = [0u8; 16384];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let at_boundary = cut == Cut::MidBody || answered.swap(false, Ordering::SeqCst);
        let before = carried;
        carried += n as u64;
        let due = match cut {
            Cut::MidBody => carried > cut_after,
            Cut::BetweenRequests => before >= cut_after,
        };
        if due
            && at_boundary
            && drops_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
                .is_ok()
        {
            drops_done.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
        bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = server.shutdown(Shutdown::Both);
    let _ = client.shutdown(Shutdown::Both);
    let _ = back.join();
}

/// A Docker-protocol token server on 127.0.0.1: checks basic credentials, answers
/// `{"token": JWT}` for the requested scopes, signed RS256 (openssl) with a certificate the
/// registry trusts (`x5c` header).
pub struct TokenServer {
    pub port: u16,
    pub requests: Arc<AtomicU32>,
    pub cert: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenServer {
    /// `dir` must hold `token.key` and `token.pem` (see [`make_token_key`]).
    pub fn start(dir: &Path, user: &str, password: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let requests = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let expected = format!(
            "Basic {}",
            base64_std(format!("{user}:{password}").as_bytes())
        );
        let key = dir.join("token.key");
        let cert_der = std::fs::read(dir.join("token.der")).expect("der");
        let (count, halt) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                count.fetch_add(1, Ordering::SeqCst);
                let mut head = Vec::new();
                let mut byte = [0u8];
                while !head.ends_with(b"\r\n\r\n")
                    && stream.read(&mut byte).map(|n| n == 1).unwrap_or(false)
                {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let authorized = head.lines().any(|l| {
                    l.to_ascii_lowercase().starts_with("authorization:")
                        && l[14..].trim() == expected
                });
                let response = if authorized {
                    let target = head.split_whitespace().nth(1).unwrap_or("/");
                    let token = sign_token(&key, &cert_der, target);
                    let body = format!("{{\"token\":\"{token}\"}}");
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_string()
                };
                let _ = stream.write_all(response.as_bytes());
            }
        });
        TokenServer {
            port,
            requests,
            cert: dir.join("token.pem"),
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An RSA key and self-signed certificate for signing tokens (PEM and DER), made by openssl.
pub fn make_token_key(dir: &Path) -> bool {
    let script = "set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout token.key -out token.pem -days 2 -subj /CN=govdeploy-test-token 2>/dev/null
openssl x509 -in token.pem -outform der -out token.der";
    Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// A JWT granting every scope of the request (`/token?service=..&scope=repository:x:pull,push`).
fn sign_token(key: &Path, cert_der: &[u8], target: &str) -> String {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut access = Vec::new();
    for pair in query.split('&') {
        let Some(("scope", value)) = pair.split_once('=') else {
            continue;
        };
        for scope in percent_decode(value).split(' ') {
            let Some((kind, rest)) = scope.split_once(':') else {
                continue;
            };
            let Some((name, actions)) = rest.rsplit_once(':') else {
                continue;
            };
            let actions: Vec<String> = actions.split(',').map(|a| format!("\"{a}\"")).collect();
            access.push(format!(
                r#"{{"type":"{kind}","name":"{name}","actions":[{}]}}"#,
                actions.join(",")
            ));
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = format!(
        r#"{{"typ":"JWT","alg":"RS256","x5c":["{}"]}}"#,
        base64_std(cert_der)
    );
    let claims = format!(
        r#"{{"iss":"govdeploy-test-issuer","sub":"mirror-user","aud":"govdeploy-test","exp":{},"nbf":{},"iat":{},"jti":"{}","access":[{}]}}"#,
        now + 600,
        now - 60,
        now - 60,
        now,
        access.join(",")
    );
    let signing_input = format!(
        "{}.{}",
        base64_url(header.as_bytes()),
        base64_url(claims.as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(signing_input.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("openssl");
    format!("{signing_input}.{}", base64_url(&output.stdout))
}

impl TestRegistry {
    /// A registry that wants bearer tokens from `token`.
    pub fn start_token(token: &TokenServer) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: govdeploy-test-secret\nauth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: govdeploy-test\n    issuer: govdeploy-test-issuer\n    rootcertbundle: {}\n",
            dir.path().join("data").display(),
            token.port,
            token.cert.display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = TestRegistry { port, dir, child };
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return registry;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {port}: {}",
            registry.log()
        );
    }
}
