//! `govdeploy secrets …` and the secrets gate of `plan`/`render`, driven through the binary:
//! init, set, edit with a scripted editor, rotate, render (round trip); failed edits leave the
//! file untouched; tampered files, wrong keys and missing or placeholder secrets are errors;
//! DIGIT import; and no command ever prints a value (or its base64), with or without --debug.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use std::io::Write;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A scratch environment: the quickstart example with a secrets file, an age key, and a
/// clean process environment (HOME inside the scratch directory, so sops' default keys file
/// is not the developer's).
struct Scratch {
    dir: tempfile::TempDir,
    recipient: String,
    /// Every command's stdout and stderr, for the redaction check.
    transcript: std::cell::RefCell<Vec<String>>,
}

impl Scratch {
    fn new(profile: &str) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let identity = age::x25519::Identity::generate();
        use age::secrecy::ExposeSecret;
        std::fs::write(
            dir.path().join("key.txt"),
            format!("{}\n", identity.to_string().expose_secret()),
        )
        .unwrap();
        let quickstart = std::fs::read_to_string(root().join("examples/quickstart.yaml")).unwrap();
        let env = quickstart.replace("profile: quickstart", &format!("profile: {profile}"))
            + "  secrets:\n    file: secrets.enc.yaml\n";
        std::fs::write(dir.path().join("env.yaml"), env).unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Scratch {
            recipient: identity.to_public().to_string(),
            dir,
            transcript: Default::default(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_govdeploy"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.path("home"))
            .env("SOPS_AGE_KEY_FILE", self.path("key.txt"))
            .env_remove("SOPS_AGE_KEY")
            .env_remove("SOPS_AGE_RECIPIENTS")
            .env_remove("XDG_CONFIG_HOME")
            .env("EDITOR", "false");
        c
    }

    fn record(&self, out: Output) -> Output {
        self.transcript.borrow_mut().push(text(&out.stdout));
        self.transcript.borrow_mut().push(text(&out.stderr));
        out
    }

    fn run(&self, args: &[&str]) -> Output {
        self.record(self.command(args).output().unwrap())
    }

    fn run_with(&self, args: &[&str], configure: impl FnOnce(&mut Command)) -> Output {
        let mut c = self.command(args);
        configure(&mut c);
        self.record(c.output().unwrap())
    }

    fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        self.record(child.wait_with_output().unwrap())
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        out
    }

    fn init(&self) {
        let out = self.ok(&["secrets", "init", "env.yaml", "--age", &self.recipient]);
        assert!(
            text(&out.stderr).contains("to fill in"),
            "{}",
            text(&out.stderr)
        );
    }

    /// Fills every operator-provided key with a known value.
    fn fill(&self) {
        for id in OPERATOR_KEYS {
            let out = self.run_stdin(
                &["secrets", "set", "env.yaml", id],
                &format!("{}\n", known(id)),
            );
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        }
    }

    /// The decrypted values, read with the library.
    fn values(&self) -> govdeploy_secrets::Values {
        let keys = govdeploy_secrets::KeySources {
            key: None,
            key_file: Some(self.path("key.txt")),
            default_file: None,
        };
        govdeploy_secrets::SecretsFile::load(&self.path("secrets.enc.yaml"), &keys)
            .unwrap()
            .values()
            .unwrap()
    }

    fn value(&self, secret: &str, key: &str) -> String {
        self.values()[secret][key].value.to_string()
    }
}

const OPERATOR_KEYS: [&str; 7] = [
    "egov-filestore/awskey",
    "egov-filestore/awssecretkey",
    "egov-location/gmapskey",
    "egov-notification-mail/mailsenderpassword",
    "egov-notification-mail/mailsenderusername",
    "egov-notification-sms/password",
    "egov-notification-sms/username",
];

fn known(id: &str) -> String {
    format!("Known-{}-Value", id.replace('/', "-"))
}

/// A shell script as $EDITOR.
fn editor(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_set_edit_rotate_render_round_trip() {
    let s = Scratch::new("quickstart");
    s.init();
    #[cfg(unix)]
    assert_eq!(mode(&s.path("secrets.enc.yaml")), 0o600);
    let first = std::fs::read(s.path("secrets.enc.yaml")).unwrap();
    assert!(text(&first).contains("\nsops:\n    age:\n"));
    // Generated: strong random database and encryption keys; placeholders for the rest.
    let password = s.value("db", "password");
    assert_eq!(password.len(), 32);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(s.value("egov-enc-service", "master.salt").len(), 8);
    assert!(
        s.value("egov-notification-sms", "password")
            .starts_with("<set me: ")
    );
    // init never overwrites.
    let again = s.run(&["secrets", "init", "env.yaml", "--age", &s.recipient]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read(s.path("secrets.enc.yaml")).unwrap(), first);

    // Placeholders stop plan and render, each at its place in the file.
    for args in [
        &["plan", "env.yaml"][..],
        &["render", "env.yaml", "-o", "out"][..],
    ] {
        let out = s.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("secrets.enc.yaml:") && err.contains("error[E-SECRETS-PLACEHOLDER]: secret `egov-notification-sms/password` is still a placeholder (read by egov-notification-sms)"),
            "{err}"
        );
        assert!(!s.path("out").exists());
    }

    s.fill();
    assert_eq!(
        s.value("egov-notification-sms", "password"),
        known("egov-notification-sms/password")
    );
    assert_eq!(
        s.value("db", "password"),
        password,
        "set keeps the other values"
    );
    s.ok(&["secrets", "check", "env.yaml"]);

    // Edit with a scripted editor: it sees a private 0600 copy, changes one value.
    let log = s.path("editor.log");
    let script = editor(
        s.dir.path(),
        "edit.sh",
        &format!(
            "echo \"$1\" > {log}\nstat -c %a \"$1\" >> {log}\nstat -c %a \"$(dirname \"$1\")\" >> {log}\nsed -i 's/Known-egov-location-gmapskey-Value/Edited-Gmaps-Key-Value/' \"$1\"",
            log = log.display()
        ),
    );
    let before_edit = std::fs::read_to_string(s.path("secrets.enc.yaml")).unwrap();
    let out = s.run_with(&["secrets", "edit", "env.yaml"], |c| {
        c.env("EDITOR", &script);
    });
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("changed egov-location/gmapskey"),
        "{}",
        text(&out.stderr)
    );
    let seen = std::fs::read_to_string(&log).unwrap();
    let mut lines = seen.lines();
    let temp = PathBuf::from(lines.next().unwrap());
    assert_eq!(lines.next(), Some("600"), "the copy is owner-only");
    assert_eq!(lines.next(), Some("700"), "its directory is owner-only");
    assert!(
        !temp.exists() && !temp.parent().unwrap().exists(),
        "the copy is removed"
    );
    assert_eq!(
        s.value("egov-location", "gmapskey"),
        "Edited-Gmaps-Key-Value"
    );
    // Unchanged values keep their ciphertext: the diff shows only what changed.
    let after_edit = std::fs::read_to_string(s.path("secrets.enc.yaml")).unwrap();
    let line = |t: &str, key: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap()
            .to_string()
    };
    assert_eq!(line(&before_edit, "awskey:"), line(&after_edit, "awskey:"));
    assert_ne!(
        line(&before_edit, "gmapskey:"),
        line(&after_edit, "gmapskey:")
    );

    // Rotate a generated key: a new value, and the components that restart.
    let out_before = s.path("before");
    s.ok(&["render", "env.yaml", "-o", out_before.to_str().unwrap()]);
    let out = s.ok(&[
        "secrets",
        "rotate",
        "env.yaml",
        "egov-enc-service/master.password",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout, "restarts on the next apply (1):\n  egov-enc-service\n",
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("cannot be decrypted with the new one"));
    let rotated = s.value("egov-enc-service", "master.password");
    assert_eq!(rotated.len(), 32);
    let out_after = s.path("after");
    s.ok(&["render", "env.yaml", "-o", out_after.to_str().unwrap()]);
    let out = s.ok(&["secrets", "rotate", "env.yaml", "db/password"]);
    assert!(
        text(&out.stdout).contains("  egov-user\n") && text(&out.stdout).contains("  postgres\n")
    );
    assert_ne!(s.value("db", "password"), password);
    // Operator-provided values are never made up.
    let out = s.run(&[
        "secrets",
        "rotate",
        "env.yaml",
        "egov-notification-sms/password",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("E-SECRETS-NOT-GENERATABLE"));

    // Render: the values reach the Secret objects (owner-only files) and nothing else.
    let rendered = s.path("rendered");
    s.ok(&["render", "env.yaml", "-o", rendered.to_str().unwrap()]);
    let shared = std::fs::read_to_string(rendered.join("001-shared-config.yaml")).unwrap();
    assert!(shared.contains(&base64(rotated.as_bytes())));
    assert!(shared.contains(&base64(b"Edited-Gmaps-Key-Value")));
    #[cfg(unix)]
    assert_eq!(mode(&rendered.join("001-shared-config.yaml")), 0o600);
    // The enc-service pods roll; a service that does not read the rotated key does not.
    let hash = |dir: &Path, component: &str| {
        let file = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .ends_with(&format!("-{component}.yaml"))
            })
            .unwrap();
        let body = std::fs::read_to_string(file).unwrap();
        body.lines()
            .find(|l| l.contains("govdeploy.io/secret-hash"))
            .unwrap()
            .to_string()
    };
    assert_ne!(
        hash(&out_before, "egov-enc-service"),
        hash(&out_after, "egov-enc-service")
    );
    assert_eq!(
        hash(&out_before, "egov-location"),
        hash(&out_after, "egov-location")
    );
    // db/password is read by egov-location: its pods roll after that rotation.
    assert_ne!(
        hash(&out_after, "egov-location"),
        hash(&rendered, "egov-location")
    );
    assert_redacted(&s, &[&rendered, &out_before, &out_after]);
}

#[test]
fn failed_edits_leave_the_file_untouched() {
    let s = Scratch::new("quickstart");
    s.init();
    let original = std::fs::read(s.path("secrets.enc.yaml")).unwrap();
    let record = s.path("temp-path");
    let cases = [
        ("fails.sh", "exit 3", "exited with"),
        (
            "invalid.sh",
            "printf 'db: [unclosed\\n' > \"$1\"",
            "not valid YAML at line",
        ),
        (
            "shape.sh",
            "printf 'db: [a, b]\\n' > \"$1\"",
            "does not have the shape",
        ),
        (
            "sops.sh",
            "printf 'sops: {version: 1}\\n' >> \"$1\"",
            "`sops` block",
        ),
    ];
    for (name, body, expected) in cases {
        let script = editor(
            s.dir.path(),
            name,
            &format!("echo \"$1\" > {}\n{body}", record.display()),
        );
        let out = s.run_with(&["secrets", "edit", "env.yaml"], |c| {
            c.env("EDITOR", &script);
        });
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(expected) && err.contains("was not changed"),
            "{name}: {err}"
        );
        assert_eq!(
            std::fs::read(s.path("secrets.enc.yaml")).unwrap(),
            original,
            "{name}"
        );
        let temp = PathBuf::from(std::fs::read_to_string(&record).unwrap().trim());
        assert!(
            !temp.exists() && !temp.parent().unwrap().exists(),
            "{name}: copy removed"
        );
    }
    // An editor that changes nothing changes nothing.
    let out = s.run_with(&["secrets", "edit", "env.yaml"], |c| {
        c.env("EDITOR", "true");
    });
    assert!(text(&out.stderr).contains("no changes"));
    assert_eq!(std::fs::read(s.path("secrets.enc.yaml")).unwrap(), original);
    assert_redacted(&s, &[]);
}

/// Prints the error output of the three failure cases the documentation shows.
#[test]
fn tampered_file_wrong_key_and_missing_secret_are_errors() {
    let s = Scratch::new("quickstart");
    s.init();
    s.fill();
    let path = s.path("secrets.enc.yaml");
    let good = std::fs::read_to_string(&path).unwrap();

    // Tampered: a value moved from one key to another (each ciphertext alone is valid).
    let lines: Vec<&str> = good.lines().collect();
    let find = |key: &str| {
        lines
            .iter()
            .position(|l| l.trim_start().starts_with(key))
            .unwrap()
    };
    let (a, b) = (find("mailsenderpassword:"), find("mailsenderusername:"));
    let mut swapped: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let value = |l: &str| l.split_once(": ").unwrap().1.to_string();
    swapped[a] = format!("        mailsenderpassword: {}", value(lines[b]));
    swapped[b] = format!("        mailsenderusername: {}", value(lines[a]));
    std::fs::write(&path, swapped.join("\n") + "\n").unwrap();
    let out = s.run(&["render", "env.yaml", "-o", "out"]);
    eprintln!("--- tampered (value moved):\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[E-SECRETS-TAMPERED]"));
    assert!(text(&out.stderr).contains("egov-notification-mail.mailsenderpassword"));

    // Tampered: a whole entry deleted (every remaining value still decrypts: the MAC catches it).
    let removed: String = good
        .lines()
        .filter(|l| {
            !l.trim_start().starts_with("gmapskey:")
                && !l.trim_start().starts_with("egov-location:")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, removed).unwrap();
    let out = s.run(&["plan", "env.yaml"]);
    eprintln!("--- tampered (entry removed):\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("MAC mismatch"));

    // The sops block stripped: never read as plaintext.
    let stripped = &good[..good.find("\nsops:\n").unwrap() + 1];
    std::fs::write(&path, stripped).unwrap();
    let out = s.run(&["render", "env.yaml", "-o", "out"]);
    eprintln!("--- sops block removed:\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("never read as plaintext"));

    // Wrong key.
    std::fs::write(&path, &good).unwrap();
    let other = age::x25519::Identity::generate();
    use age::secrecy::ExposeSecret;
    std::fs::write(s.path("other.txt"), other.to_string().expose_secret()).unwrap();
    let out = s.run_with(&["render", "env.yaml", "-o", "out"], |c| {
        c.env("SOPS_AGE_KEY_FILE", s.path("other.txt"));
    });
    eprintln!("--- wrong key:\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[E-SECRETS-KEY]"));
    assert!(text(&out.stderr).contains(&s.recipient));

    // Missing: an editor deletes a key the SMS service needs.
    let script = editor(
        s.dir.path(),
        "drop.sh",
        "sed -i '/^    password: Known-egov-notification-sms/d' \"$1\"",
    );
    let out = s.run_with(&["secrets", "edit", "env.yaml"], |c| {
        c.env("EDITOR", &script);
    });
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = s.run(&["render", "env.yaml", "-o", "out"]);
    eprintln!("--- missing:\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[E-SECRETS-MISSING]: "));
    assert!(text(&out.stderr).contains(
        "secret `egov-notification-sms/password` is missing; egov-notification-sms reads it"
    ));
    assert!(!s.path("out").exists(), "nothing rendered");
    assert_redacted(&s, &[]);
}

#[test]
fn digit_secrets_files_import_in_both_flavours() {
    let corpus = root().join(
        "../shared/corpus/digit-devops/deploy-as-code/helm/environments/egov-demo-secrets.yaml",
    );
    let Ok(digit) = std::fs::read_to_string(&corpus) else {
        eprintln!("SKIPPED: {} is absent", corpus.display());
        return;
    };
    let s = Scratch::new("quickstart");
    std::fs::write(s.path("digit.yaml"), &digit).unwrap();
    // The older flavour: `secrets:` at the top.
    let flat = digit.replace("cluster-configs:\n    secrets:\n", "secrets:\n");
    std::fs::write(s.path("digit-flat.yaml"), flat).unwrap();
    for (input, flavour) in [
        ("digit.yaml", "cluster-configs.secrets"),
        ("digit-flat.yaml", "(secrets)"),
    ] {
        let output = format!("{input}.enc.yaml");
        let out = s.run(&[
            "secrets",
            "import-digit",
            input,
            "-o",
            &output,
            "--env",
            "env.yaml",
            "--age",
            &s.recipient,
        ]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(
            err.contains(&format!("({})", flavour.trim_matches(['(', ')']))),
            "{err}"
        );
        assert!(
            err.contains("renamed `db.flywayPassword` to `db.flyway-password`"),
            "{err}"
        );
        assert!(
            err.contains(
                "renamed `egov-enc-service.master-password` to `egov-enc-service.master.password`"
            ),
            "{err}"
        );
        assert!(err.contains("skipped `alertmanager.config`"), "{err}");
        // DIGIT's `<db_pwd>` placeholders are reported at their place in the input.
        assert!(
            err.contains(&format!("{input}:")) && err.contains("E-SECRETS-PLACEHOLDER"),
            "{err}"
        );
        let keys = govdeploy_secrets::KeySources {
            key: None,
            key_file: Some(s.path("key.txt")),
            default_file: None,
        };
        let file = govdeploy_secrets::SecretsFile::load(&s.path(&output), &keys).unwrap();
        let values = file.values().unwrap();
        assert_eq!(
            &*values["egov-enc-service"]["master.salt"].value,
            "q7.fr.cr"
        );
        assert_eq!(&*values["egov-filestore"]["awskey"].value, "<redacted>");
        assert!(
            values["git-sync"]["ssh"]
                .value
                .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
        );
        // Never overwrites.
        let again = s.run(&[
            "secrets",
            "import-digit",
            input,
            "-o",
            &output,
            "--age",
            &s.recipient,
        ]);
        assert_eq!(again.status.code(), Some(2));
    }
    let transcript = s.transcript.borrow().join("\n");
    for value in [
        "q7.fr.cr",
        "9J&asfgrU-H2",
        "demo@demo.com",
        "BEGIN RSA PRIVATE KEY",
    ] {
        assert!(!transcript.contains(value), "{value} printed");
    }
}

/// Every command with known values, with and without --debug: no value (or its base64) in
/// any output or in the non-Secret files written.
#[test]
fn no_command_prints_a_value() {
    let s = Scratch::new("quickstart");
    s.init();
    s.fill();
    let script = editor(
        s.dir.path(),
        "noop.sh",
        "sed -i 's/Known-egov-location-gmapskey-Value/Another-Gmaps-Key-Value/' \"$1\"",
    );
    for debug in [false, true] {
        let d: &[&str] = if debug { &["--debug"] } else { &[] };
        let with = |args: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            v.splice(1..1, d.iter().map(|x| x.to_string()));
            v
        };
        let run = |args: Vec<String>| {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            s.run(&refs)
        };
        run(with(&["secrets", "check", "env.yaml"]));
        run(with(&[
            "secrets",
            "rotate",
            "env.yaml",
            "db/flyway-password",
        ]));
        let refs = with(&["secrets", "edit", "env.yaml"]);
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        s.run_with(&refs, |c| {
            c.env("EDITOR", &script);
        });
        let refs = with(&[
            "secrets",
            "set",
            "env.yaml",
            "egov-notification-sms/username",
        ]);
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        s.run_stdin(&refs, &known("egov-notification-sms/username"));
        let refs = with(&["secrets", "set", "env.yaml", "unknown-secret/key"]);
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        s.run_stdin(&refs, "Unknown-Key-Known-Value");
    }
    s.ok(&["plan", "env.yaml"]);
    s.ok(&["plan", "-o", "json", "env.yaml"]);
    s.ok(&["render", "env.yaml", "-o", "-"]);
    s.ok(&["render", "env.yaml", "-o", "dir"]);
    s.ok(&["images", "env.yaml"]);
    let bad = s.run(&[
        "secrets",
        "--debug",
        "rotate",
        "env.yaml",
        "egov-notification-sms/password",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let dir = s.path("dir");
    assert_redacted(&s, &[&dir]);
}

/// No value of the secrets file (nor `Unknown-Key-Known-Value`) in the transcript, in its
/// base64 form, or in the non-Secret rendered files.
fn assert_redacted(s: &Scratch, rendered: &[&Path]) {
    let mut values: Vec<String> = s
        .values()
        .values()
        .flat_map(|keys| keys.values().map(|e| e.value.to_string()))
        // `egov` (the generated account name) is also a namespace: not a secret.
        .filter(|v| v.len() >= 8)
        .collect();
    values.push("Known-egov".into());
    values.push("Unknown-Key-Known-Value".into());
    let transcript = s.transcript.borrow().join("\n");
    for v in &values {
        assert!(
            !transcript.contains(v.as_str()),
            "a value reached the output"
        );
        assert!(
            !transcript.contains(&base64(v.as_bytes())),
            "an encoded value reached the output"
        );
    }
    for dir in rendered {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let body = std::fs::read_to_string(&path).unwrap();
            if body.contains("\nkind: Secret\n") {
                continue;
            }
            for v in &values {
                assert!(
                    !body.contains(v.as_str()) && !body.contains(&base64(v.as_bytes())),
                    "{}",
                    path.display()
                );
            }
        }
    }
}

/// Identities as sops finds them: SOPS_AGE_KEY (the key text), SOPS_AGE_KEY_FILE, and the
/// default keys file under the user's config directory.
#[test]
fn keys_are_found_where_sops_looks() {
    let s = Scratch::new("quickstart");
    s.init();
    let key = std::fs::read_to_string(s.path("key.txt")).unwrap();
    let out = s.run_with(&["secrets", "check", "env.yaml"], |c| {
        c.env_remove("SOPS_AGE_KEY_FILE")
            .env("SOPS_AGE_KEY", key.trim());
    });
    assert!(
        text(&out.stderr).contains("E-SECRETS-PLACEHOLDER"),
        "decrypted via SOPS_AGE_KEY: {}",
        text(&out.stderr)
    );
    let default = s.path("home/.config/sops/age");
    std::fs::create_dir_all(&default).unwrap();
    std::fs::write(default.join("keys.txt"), &key).unwrap();
    let out = s.run_with(&["secrets", "check", "env.yaml"], |c| {
        c.env_remove("SOPS_AGE_KEY_FILE");
    });
    assert!(
        text(&out.stderr).contains("E-SECRETS-PLACEHOLDER"),
        "decrypted via the default file: {}",
        text(&out.stderr)
    );
    std::fs::remove_file(default.join("keys.txt")).unwrap();
    let out = s.run_with(&["secrets", "check", "env.yaml"], |c| {
        c.env_remove("SOPS_AGE_KEY_FILE");
    });
    assert!(
        text(&out.stderr).contains("identities tried from: none"),
        "{}",
        text(&out.stderr)
    );
    // Recipients for a new file from .sops.yaml creation rules.
    std::fs::remove_file(s.path("secrets.enc.yaml")).unwrap();
    std::fs::write(
        s.path(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {}\n",
            s.recipient
        ),
    )
    .unwrap();
    s.ok(&["secrets", "init", "env.yaml"]);
    assert!(
        std::fs::read_to_string(s.path("secrets.enc.yaml"))
            .unwrap()
            .contains(&s.recipient)
    );
}

/// `sops --decrypt` opens what `govdeploy secrets init`/`set` wrote (and checks its MAC).
#[test]
fn the_sops_tool_reads_what_the_commands_write() {
    let sops = root().join(".tools/sops-venv/bin/sops");
    if !sops.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "sops is missing: run scripts/install-secrets-tools.sh (the .ci/run secrets block)"
        );
        eprintln!("SKIPPED: sops is missing (scripts/install-secrets-tools.sh installs it)");
        return;
    }
    let s = Scratch::new("quickstart");
    s.init();
    s.fill();
    s.ok(&["secrets", "rotate", "env.yaml", "db/password"]);
    let out = Command::new(&sops)
        .args([
            "--disable-version-check",
            "decrypt",
            "--output-type",
            "json",
            "secrets.enc.yaml",
        ])
        .current_dir(s.dir.path())
        .env("SOPS_AGE_KEY_FILE", s.path("key.txt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "sops: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (secret, keys) in s.values() {
        for (key, entry) in keys {
            assert_eq!(json[&secret][&key], entry.value.as_str(), "{secret}/{key}");
        }
    }
}

/// The production example with an encrypted secrets file renders (plaintext is refused for
/// the prod profile, SOPS is not); every placeholder filled in one scripted edit.
#[test]
fn production_renders_with_an_encrypted_file() {
    let s = Scratch::new("quickstart");
    let production = std::fs::read_to_string(root().join("examples/production.yaml")).unwrap();
    std::fs::write(
        s.path("env.yaml"),
        production + "  secrets:\n    file: secrets.enc.yaml\n",
    )
    .unwrap();
    s.init();
    let out = s.run(&["render", "env.yaml", "-o", "out"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("egov-pg-service/axismerchantpwd` is still a placeholder"),
        "{}",
        text(&out.stderr)
    );
    let script = editor(
        s.dir.path(),
        "fill.sh",
        "sed -i -E 's#<set me: ([^ ]+) for [^>]*>#Prod-\\1-Value#' \"$1\"",
    );
    let out = s.run_with(&["secrets", "edit", "env.yaml"], |c| {
        c.env("EDITOR", &script);
    });
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = s.run(&["render", "env.yaml", "-o", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("E-RENDER-PLAINTEXT-SECRETS"));
    let out_dir = s.path("out");
    assert_redacted(&s, &[&out_dir]);
}
