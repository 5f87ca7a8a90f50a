//! `govdeploy render`, driven through the binary: determinism, schema validity for the
//! Kubernetes versions we support (checked by `kubernetes-validate`, an independent
//! validator), safe output, and secrets that never reach standard output or logs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn govdeploy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govdeploy"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn render_to(env: &str, dir: &Path) -> Output {
    let out = govdeploy(&["render", env, "-o", dir.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    out
}

/// Every file of a rendered directory, sorted by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("output dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("file"),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every object of a rendered directory as JSON (kustomization.yaml excluded).
fn objects(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, bytes) in files(dir) {
        if name == "kustomization.yaml" {
            continue;
        }
        let docs = govdeploy_yaml::parse_documents(&text(&bytes)).expect("rendered YAML parses");
        out.extend(docs.iter().map(|d| d.to_json()));
    }
    out
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} rendered"))
}

#[test]
fn rendering_is_byte_identical_across_runs() {
    for env in ["examples/quickstart.yaml", "examples/production.yaml"] {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        render_to(env, &a.path().join("out"));
        render_to(env, &b.path().join("out"));
        let first = files(&a.path().join("out"));
        assert!(first.len() > 10, "{env}: {} files", first.len());
        assert_eq!(first, files(&b.path().join("out")), "{env}");
        let streamed = govdeploy(&["render", env, "-o", "-"]);
        let again = govdeploy(&["render", env, "-o", "-"]);
        assert_eq!(streamed.stdout, again.stdout, "{env}: stream");
    }
}

/// `kubernetes-validate` from the tools venv (`scripts/install-tools.sh`).
fn kubernetes_validate() -> PathBuf {
    let bin = std::env::var_os("GOVDEPLOY_TOOLS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/venv/bin"));
    let path = bin.join("kubernetes-validate");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-tools.sh (scripts/test does it)",
        path.display()
    );
    path
}

#[test]
fn rendered_objects_pass_strict_schema_validation_for_1_30_and_1_33() {
    let validator = kubernetes_validate();
    // The examples, and every module of DIGIT v2.8 (CronJobs, front ends, every runtime).
    for env in [
        "examples/quickstart.yaml",
        "examples/production.yaml",
        "bench/envs/digit-v2.8-all.yaml",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out_dir = dir.path().join("out");
        render_to(env, &out_dir);
        let yaml_files: Vec<PathBuf> = files(&out_dir)
            .into_iter()
            .filter(|(n, _)| n != "kustomization.yaml")
            .map(|(n, _)| out_dir.join(n))
            .collect();
        let out = Command::new(&validator)
            .args(["--strict", "-k", "1.30.0", "-k", "1.33.0"])
            .args(&yaml_files)
            .output()
            .expect("kubernetes-validate runs");
        let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{env}:\n{report}");
        // It only warns about kinds it has no schema for; every kind we render has one.
        assert!(!report.contains("WARN"), "{env}:\n{report}");
        assert!(!report.contains("ERROR"), "{env}:\n{report}");
    }
}

#[test]
fn every_workload_meets_the_checklist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    render_to("examples/production.yaml", &out_dir);
    let objects = objects(&out_dir);
    let mut checked = 0;
    for o in &objects {
        let kind = o["kind"].as_str().unwrap_or_default();
        let spec = match kind {
            "Deployment" | "StatefulSet" => &o["spec"]["template"]["spec"],
            _ => continue,
        };
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        checked += 1;
        let pod_labels = &o["spec"]["template"]["metadata"]["labels"];
        for label in [
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/part-of",
            "govdeploy.io/component",
            "govdeploy.io/tier",
            "govdeploy.io/owner",
            "govdeploy.io/data-classification",
            "govdeploy.io/exposure",
        ] {
            assert!(pod_labels[label].is_string(), "{name}: no {label}");
        }
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(
            spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        assert!(
            spec["terminationGracePeriodSeconds"].as_i64().unwrap_or(0) >= 30,
            "{name}"
        );
        assert!(spec["topologySpreadConstraints"].is_array(), "{name}");
        let containers = spec["containers"].as_array().expect("containers");
        for c in containers {
            let sc = &c["securityContext"];
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{name}");
            assert_eq!(c["imagePullPolicy"], "IfNotPresent", "{name}");
            let image = c["image"].as_str().unwrap_or_default();
            assert!(
                image.starts_with("registry.state.gov.example:5000/"),
                "{name}: {image} not from the mirror"
            );
            assert!(
                !image.ends_with(":latest") && image.contains(':'),
                "{name}: {image}"
            );
            let res = &c["resources"];
            assert_eq!(res["requests"]["memory"], res["limits"]["memory"], "{name}");
            assert!(res["limits"]["cpu"].is_null(), "{name}: CPU limit");
            assert!(res["requests"]["cpu"].is_string(), "{name}: CPU request");
            assert!(c["lifecycle"]["preStop"].is_object(), "{name}: preStop");
            if c["ports"].is_array() {
                assert_ne!(
                    c["readinessProbe"], c["livenessProbe"],
                    "{name}: identical probes"
                );
                assert!(
                    c["readinessProbe"].is_object() && c["startupProbe"].is_object(),
                    "{name}"
                );
            }
            let names: Vec<&str> = c["env"]
                .as_array()
                .map(|e| e.iter().filter_map(|v| v["name"].as_str()).collect())
                .unwrap_or_default();
            let unique: BTreeSet<&&str> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "{name}: duplicate env names");
            // Plain values live in the component's ConfigMap; only references and
            // `$(VAR)` expansions stay in the pod spec.
            for e in c["env"].as_array().into_iter().flatten() {
                if let Some(v) = e["value"].as_str() {
                    assert!(v.contains("$("), "{name}: literal env {}", e["name"]);
                }
            }
        }
        let replicas = o["spec"]["replicas"].as_i64();
        let hpa = objects
            .iter()
            .any(|x| x["kind"] == "HorizontalPodAutoscaler" && x["metadata"]["name"] == name);
        if hpa {
            assert!(replicas.is_none(), "{name}: replicas fixed beside an HPA");
        }
        if replicas.unwrap_or(2) > 1 {
            let pdb = objects
                .iter()
                .any(|x| x["kind"] == "PodDisruptionBudget" && x["metadata"]["name"] == name);
            assert!(pdb, "{name}: several replicas and no PodDisruptionBudget");
        }
        let sa = find(
            &objects,
            "ServiceAccount",
            spec["serviceAccountName"].as_str().unwrap_or_default(),
        );
        assert_eq!(
            sa["automountServiceAccountToken"],
            name == "ingress-nginx",
            "{name}"
        );
    }
    assert!(checked > 40, "{checked} workloads");
    // Every host + path is published once.
    let mut published = BTreeSet::new();
    for ing in objects.iter().filter(|o| o["kind"] == "Ingress") {
        for rule in ing["spec"]["rules"].as_array().into_iter().flatten() {
            for path in rule["http"]["paths"].as_array().into_iter().flatten() {
                let key = (rule["host"].to_string(), path["path"].to_string());
                assert!(published.insert(key.clone()), "{key:?} published twice");
            }
        }
    }
    assert!(published.len() > 20, "{} routes", published.len());
    // No ConfigMap holds what looks like a credential.
    for cm in objects.iter().filter(|o| o["kind"] == "ConfigMap") {
        for key in cm["data"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.to_ascii_uppercase())
        {
            let credential = [
                "_PASSWORD",
                "_SECRET",
                "_SECRETKEY",
                "_SECRET_KEY",
                "_TOKEN",
            ]
            .iter()
            .any(|s| key.ends_with(s));
            assert!(!credential, "{}: {key}", cm["metadata"]["name"]);
        }
    }
    // Every namespace that runs pods denies by default and has quotas.
    for ns in objects.iter().filter(|o| o["kind"] == "Namespace") {
        let ns = ns["metadata"]["name"].as_str().unwrap_or_default();
        for (kind, name) in [
            ("NetworkPolicy", "default-deny"),
            ("LimitRange", "defaults"),
            ("ResourceQuota", "capacity"),
        ] {
            assert!(
                objects.iter().any(|o| o["kind"] == kind
                    && o["metadata"]["name"] == name
                    && o["metadata"]["namespace"] == ns),
                "{ns}: no {kind}/{name}"
            );
        }
    }
}

/// The policies of one municipal service are exactly its dependency graph: this is what the
/// closing note of the render issue shows.
#[test]
fn network_policies_follow_the_dependency_graph() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    render_to("examples/quickstart.yaml", &out_dir);
    let objects = objects(&out_dir);
    let policy = find(&objects, "NetworkPolicy", "pgr-services");
    let peers = |rules: &Value, side: &str| -> BTreeSet<String> {
        rules
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r[side].as_array().cloned().unwrap_or_default())
            .filter_map(|p| {
                p["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect()
    };
    let from = peers(&policy["spec"]["ingress"], "from");
    let to = peers(&policy["spec"]["egress"], "to");
    assert_eq!(
        from,
        BTreeSet::from(["zuul".to_string()]),
        "only the gateway calls pgr-services"
    );
    let expected_to: BTreeSet<String> = [
        "egov-common-masters",
        "egov-filestore",
        "egov-idgen",
        "egov-localization",
        "egov-location",
        "egov-mdms-service",
        "egov-searcher",
        "egov-user",
        "egov-workflow-v2",
        "kafka",
        "postgres",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(to, expected_to);
    // Kafka is reached on its client port only, not the controller port.
    let kafka_rule = policy["spec"]["egress"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "kafka")
        .expect("kafka rule");
    assert_eq!(kafka_rule["ports"].as_array().map(Vec::len), Some(1));
    assert_eq!(kafka_rule["ports"][0]["port"], 9092);
    // The database lets in every service that uses it and their migration Jobs, nobody else.
    let pg = find(&objects, "NetworkPolicy", "postgres");
    let pg_from = peers(&pg["spec"]["ingress"], "from");
    assert!(
        pg_from.contains("pgr-services") && pg_from.contains("pgr-services-migration"),
        "{pg_from:?}"
    );
    assert!(
        !pg_from.contains("zuul-migration") && !pg_from.contains("digit-ui"),
        "{pg_from:?}"
    );
}

#[test]
fn a_directory_govdeploy_did_not_write_is_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let precious = dir.path().join("notes.txt");
    std::fs::write(&precious, "keep me").expect("write");
    let out = govdeploy(&[
        "render",
        "examples/quickstart.yaml",
        "-o",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("was not written by govdeploy render"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&precious).expect("still there"),
        "keep me"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "nothing added"
    );
    // A previous rendering is replaced as a whole: files of removed components disappear.
    let out_dir = dir.path().join("rendered");
    render_to("examples/quickstart.yaml", &out_dir);
    std::fs::write(out_dir.join("999-stale.yaml"), "stale").expect("write");
    render_to("examples/quickstart.yaml", &out_dir);
    assert!(!out_dir.join("999-stale.yaml").exists());
}

const KNOWN_SECRET: &str = "s3cr3t-Value-That-Must-Not-Leak";

fn environment_with_secrets(dir: &Path, profile: &str) -> PathBuf {
    let secrets = format!(
        "db:\n  username: egov\n  password: {KNOWN_SECRET}-db\n  flyway-username: egov\n  flyway-password: {KNOWN_SECRET}-flyway\n\
         egov-enc-service:\n  master.password: {KNOWN_SECRET}-enc\n  master.salt: {KNOWN_SECRET}-salt\n  master.initialvector: {KNOWN_SECRET}-iv\n\
         egov-filestore: {{awskey: {KNOWN_SECRET}-aws, awssecretkey: {KNOWN_SECRET}-aws2}}\n\
         egov-location: {{gmapskey: {KNOWN_SECRET}-gmaps}}\n\
         egov-notification-mail: {{mailsenderusername: m, mailsenderpassword: {KNOWN_SECRET}-mail}}\n\
         egov-notification-sms: {{username: s, password: {KNOWN_SECRET}-sms}}\n\
         elasticsearch-master-credentials: {{username: elastic, password: {KNOWN_SECRET}-es}}\n"
    );
    std::fs::write(dir.join("secrets.dev.yaml"), secrets).expect("secrets");
    let quickstart =
        std::fs::read_to_string(root().join("examples/quickstart.yaml")).expect("example");
    let env = quickstart.replace("profile: quickstart", &format!("profile: {profile}"))
        + "  secrets:\n    file: secrets.dev.yaml\n";
    let path = dir.join("env.yaml");
    std::fs::write(&path, env).expect("env");
    path
}

#[test]
fn secret_values_reach_secret_objects_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = environment_with_secrets(dir.path(), "quickstart");
    let env = env.to_str().expect("utf-8");
    let out_dir = dir.path().join("out");
    let rendered = govdeploy(&["render", env, "-o", out_dir.to_str().expect("utf-8")]);
    let streamed = govdeploy(&["render", env, "-o", "-"]);
    let plan = govdeploy(&["plan", env, "-o", "json"]);
    for out in [&rendered, &streamed, &plan] {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains(KNOWN_SECRET),
            "a secret value reached stdout/stderr"
        );
        let encoded = base64(format!("{KNOWN_SECRET}-db").as_bytes());
        assert!(
            !all.contains(&encoded),
            "an encoded secret value reached stdout/stderr"
        );
    }
    assert!(text(&streamed.stderr).contains("Secret object(s) not streamed"));
    // The values are in the Secret objects, in an owner-only file, and nowhere else.
    let objects = objects(&out_dir);
    let db = objects
        .iter()
        .find(|o| {
            o["kind"] == "Secret"
                && o["metadata"]["name"] == "db"
                && o["metadata"]["namespace"] == "egov"
        })
        .expect("db Secret");
    assert_eq!(
        db["data"]["password"],
        base64(format!("{KNOWN_SECRET}-db").as_bytes())
    );
    for (name, bytes) in files(&out_dir) {
        let body = text(&bytes);
        let has_secret = body.contains("\nkind: Secret\n");
        assert!(!body.contains(KNOWN_SECRET), "{name} has a plain value");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out_dir.join(&name))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777;
            if has_secret {
                assert_eq!(mode, 0o600, "{name}");
            }
        }
        let _ = has_secret;
    }
    // Pods roll when a secret they read changes, and only those pods.
    let before = objects.clone();
    let secrets_path = dir.path().join("secrets.dev.yaml");
    let changed = std::fs::read_to_string(&secrets_path)
        .expect("secrets")
        .replace(&format!("{KNOWN_SECRET}-sms"), "rotated-sms-value");
    std::fs::write(&secrets_path, changed).expect("write");
    render_to(env, &out_dir);
    let after = self::objects(&out_dir);
    let hash = |objs: &[Value], name: &str| {
        find(objs, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]["govdeploy.io/secret-hash"].clone()
    };
    assert_ne!(
        hash(&before, "egov-notification-sms"),
        hash(&after, "egov-notification-sms")
    );
    assert_eq!(hash(&before, "egov-user"), hash(&after, "egov-user"));
}

#[test]
fn plaintext_secrets_are_refused_for_production_profiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = environment_with_secrets(dir.path(), "prod");
    let out = govdeploy(&["render", env.to_str().expect("utf-8"), "-o", "-"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("E-RENDER-PLAINTEXT-SECRETS"));
    assert!(out.stdout.is_empty(), "nothing rendered");
    assert!(!text(&out.stderr).contains(KNOWN_SECRET));
}

#[test]
fn unpinned_config_is_an_error_in_production() {
    let dir = tempfile::tempdir().expect("tempdir");
    let production =
        std::fs::read_to_string(root().join("examples/production.yaml")).expect("example");
    let cut = production
        .find("  configSources:")
        .expect("example pins its config");
    let env = dir.path().join("prod.yaml");
    std::fs::write(&env, &production[..cut]).expect("write");
    let out_dir = dir.path().join("out");
    let out = govdeploy(&[
        "render",
        env.to_str().expect("utf-8"),
        "-o",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("E-RENDER-CONFIG-SOURCE"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out_dir.exists(), "no half-written output");
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pod_annotation(objects: &[Value], kind: &str, name: &str, key: &str) -> Value {
    find(objects, kind, name)["spec"]["template"]["metadata"]["annotations"][key].clone()
}

/// Pods roll exactly when what they read changes: a shared-config key read by some services
/// changes their config hash only; adding a routed service changes the gateway's route hash.
#[test]
fn rollouts_follow_content_changes_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let quickstart =
        std::fs::read_to_string(root().join("examples/quickstart.yaml")).expect("example");
    let base = dir.path().join("base.yaml");
    std::fs::write(&base, &quickstart).expect("write");
    let changed = dir.path().join("changed.yaml");
    std::fs::write(
        &changed,
        format!("{quickstart}  sharedConfig:\n    egov-state-level-tenant-id: pb\n"),
    )
    .expect("write");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    render_to(base.to_str().expect("utf-8"), &a);
    render_to(changed.to_str().expect("utf-8"), &b);
    let (before, after) = (objects(&a), objects(&b));
    let hash = |objs: &[Value], name: &str| {
        pod_annotation(objs, "Deployment", name, "govdeploy.io/config-hash")
    };
    // egov-user reads STATE_LEVEL_TENANT_ID from that key; egov-otp does not read it.
    assert_ne!(hash(&before, "egov-user"), hash(&after, "egov-user"));
    assert_eq!(hash(&before, "egov-otp"), hash(&after, "egov-otp"));
    assert_eq!(
        pod_annotation(&before, "Deployment", "zuul", "govdeploy.io/routes-hash"),
        pod_annotation(&after, "Deployment", "zuul", "govdeploy.io/routes-hash")
    );
    // No timestamps anywhere: the same input renders the same pod templates.
    assert_eq!(
        find(&before, "Deployment", "egov-otp"),
        find(&after, "Deployment", "egov-otp")
    );

    // Another product adds routed services: the gateway's route table and hash change.
    let urban = quickstart.replace("release: quickstart-v2.4", "release: urban-v2.4");
    let one = dir.path().join("one.yaml");
    std::fs::write(&one, &urban).expect("write");
    let more = dir.path().join("more.yaml");
    std::fs::write(
        &more,
        urban.replace("modules: [m_pgr]", "modules: [m_pgr, m_property-tax]"),
    )
    .expect("write");
    let (d, c) = (dir.path().join("d"), dir.path().join("c"));
    for (env, out_dir) in [(&one, &d), (&more, &c)] {
        let out = govdeploy(&[
            "render",
            env.to_str().expect("utf-8"),
            "-o",
            out_dir.to_str().expect("utf-8"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let before = objects(&d);
    let more_objects = objects(&c);
    assert_ne!(
        pod_annotation(&before, "Deployment", "zuul", "govdeploy.io/routes-hash"),
        pod_annotation(
            &more_objects,
            "Deployment",
            "zuul",
            "govdeploy.io/routes-hash"
        )
    );
    let routes = find(&more_objects, "ConfigMap", "zuul-routes")["data"]["routes.properties"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        routes.contains("zuul.routes.property-services.path=/property-services/**"),
        "{routes}"
    );
    let ingress_paths: Vec<String> =
        find(&more_objects, "Ingress", "zuul")["spec"]["rules"][0]["http"]["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["path"].as_str().map(str::to_string))
            .collect();
    assert!(
        ingress_paths.contains(&"/property-services".to_string()),
        "{ingress_paths:?}"
    );
}

#[test]
fn egress_for_a_component_not_in_the_plan_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let quickstart =
        std::fs::read_to_string(root().join("examples/quickstart.yaml")).expect("example");
    let env = dir.path().join("env.yaml");
    std::fs::write(
        &env,
        format!("{quickstart}  network:\n    egress:\n      egov-notifcation-sms: [{{to: 203.0.113.10/32, ports: [443]}}]\n"),
    )
    .expect("write");
    let out = govdeploy(&["render", env.to_str().expect("utf-8"), "-o", "-"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("E-PLAN-UNKNOWN-OVERRIDE")
            && err.contains("did you mean `egov-notification-sms`"),
        "{err}"
    );
    assert!(err.contains("env.yaml:21:7"), "{err}");
}

/// Reviewed renderings of a few quickstart files, so that any change to the output shows up
/// in review. Regenerate with `GOVDEPLOY_UPDATE_GOLDENS=1 scripts/test -p govdeploy-cli --test render`.
#[test]
fn quickstart_rendering_matches_the_reviewed_goldens() {
    let goldens = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render-goldens");
    let update = std::env::var_os("GOVDEPLOY_UPDATE_GOLDENS").is_some();
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    render_to("examples/quickstart.yaml", &out_dir);
    let rendered = files(&out_dir);
    for suffix in [
        "-namespaces.yaml",
        "-shared-config.yaml",
        "-egov-user.yaml",
        "-zuul.yaml",
        "-postgres.yaml",
        "-kafka.yaml",
        "-ingress-nginx.yaml",
        "kustomization.yaml",
    ] {
        let (name, bytes) = rendered
            .iter()
            .find(|(n, _)| n.ends_with(suffix))
            .unwrap_or_else(|| panic!("no file *{suffix}"));
        let golden = goldens.join(suffix.trim_start_matches('-'));
        if update {
            std::fs::create_dir_all(&goldens).expect("golden dir");
            std::fs::write(&golden, bytes).expect("write golden");
            continue;
        }
        let expected =
            std::fs::read(&golden).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        assert!(
            expected == *bytes,
            "{name} differs from {}; review the change and regenerate the goldens",
            golden.display()
        );
    }
}
