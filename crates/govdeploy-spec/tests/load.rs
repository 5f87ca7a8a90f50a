//! Loading real files end to end: fixtures under `tests/fixtures/`.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};

use govdeploy_spec::{
    BackboneMode, BackingStore, ConfigSourceKind, ConfigSourceSpec, Profile, Quantity, codes, load,
};
use govdeploy_yaml::{Diagnostics, Location, Severity};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn q(s: &str) -> Quantity {
    Quantity(s.to_string())
}

/// `file-name:line:col CODE` for each diagnostic, in order.
fn summary(diags: &Diagnostics) -> Vec<String> {
    diags
        .0
        .iter()
        .map(|d| match &d.location {
            Some(l) => format!(
                "{}:{}:{} {}",
                l.file.file_name().unwrap().to_string_lossy(),
                l.line,
                l.col,
                d.code
            ),
            None => format!("- {}", d.code),
        })
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_valid_file_loads() {
    let path = fixture("valid.yaml");
    let (loaded, warnings) = load(&path).unwrap_or_else(|d| panic!("{d}"));
    assert!(warnings.is_empty(), "{warnings}");
    let env = &loaded.env;
    assert_eq!(env.metadata.name, "quickstart");
    assert_eq!(env.spec.profile, Profile::Quickstart);
    assert_eq!(env.spec.modules, ["m_pgr"]);
    let nodes = &env.spec.cluster.as_ref().unwrap().nodes;
    assert_eq!(
        (nodes[0].count, &nodes[0].cpu, &nodes[0].memory),
        (1, &q("4"), &q("16Gi"))
    );
    let postgres = &env.spec.backbone[&BackingStore::Postgres];
    assert_eq!(postgres.mode, BackboneMode::External);
    assert_eq!(postgres.port, Some(5432));
    let user = &env.spec.components["egov-user"];
    assert_eq!((user.replicas, &user.memory), (Some(2), &Some(q("1Gi"))));
    assert_eq!(user.env["LOG_LEVEL"], "debug");
    assert_eq!(loaded.files, std::slice::from_ref(&path));
    assert_eq!(loaded.base_dir, fixture(""));
    assert!(loaded.digit_overrides.is_empty());
    assert_eq!(
        loaded
            .sources
            .locate(&["spec", "components", "egov-user", "memory"]),
        Some(Location {
            file: path.clone(),
            line: 22,
            col: 38
        })
    );
    assert_eq!(
        loaded
            .sources
            .locate_key(&["spec", "components"], "egov-user"),
        Some(Location {
            file: path,
            line: 22,
            col: 5
        })
    );
}

#[test]
fn layers_merge_and_remember_their_files() {
    let overlay = fixture("layered/overlay.yaml");
    let base = fixture("layered/base.yaml");
    let (loaded, warnings) = load(&overlay).unwrap_or_else(|d| panic!("{d}"));
    assert!(warnings.is_empty(), "{warnings}");
    assert_eq!(loaded.files, [base.clone(), overlay.clone()]);
    let env = &loaded.env;
    assert_eq!(env.extends, ["base.yaml"]);
    // Scalars from the overlay win; mappings merge key by key.
    assert_eq!(env.metadata.name, "uat");
    assert_eq!(env.metadata.labels["state"], "pb");
    assert_eq!(env.spec.release, "urban-v2.4");
    assert_eq!(env.spec.profile, Profile::Uat);
    // Lists are replaced whole.
    assert_eq!(env.spec.modules, ["m_pgr"]);
    let postgres = &env.spec.backbone[&BackingStore::Postgres];
    assert_eq!(postgres.host.as_deref(), Some("db.uat.example.org"));
    assert_eq!(
        (postgres.mode, postgres.port),
        (BackboneMode::External, Some(5432))
    );
    // `null` removes what the base set.
    assert!(!env.spec.backbone.contains_key(&BackingStore::Kafka));
    assert!(!env.spec.components.contains_key("egov-indexer"));
    let user = &env.spec.components["egov-user"];
    assert_eq!((user.replicas, &user.memory), (Some(3), &Some(q("1Gi"))));
    assert_eq!(user.env.keys().collect::<Vec<_>>(), ["LOG_LEVEL"]);

    let at = |file: &Path, line, col| {
        Some(Location {
            file: file.to_path_buf(),
            line,
            col,
        })
    };
    let s = &loaded.sources;
    assert_eq!(s.locate(&["spec", "release"]), at(&base, 8, 12));
    assert_eq!(
        s.locate(&["spec", "backbone", "postgres", "host"]),
        at(&overlay, 9, 22)
    );
    assert_eq!(
        s.locate(&["spec", "backbone", "postgres", "port"]),
        at(&base, 15, 65)
    );
    assert_eq!(
        s.locate(&["spec", "components", "egov-user", "replicas"]),
        at(&overlay, 13, 17)
    );
    assert_eq!(
        s.locate(&["spec", "components", "egov-user", "memory"]),
        at(&base, 18, 38)
    );
    assert_eq!(
        s.locate(&["spec", "cluster", "nodes", "0", "memory"]),
        at(&base, 13, 51)
    );
    assert_eq!(s.locate_key(&["metadata"], "labels"), at(&base, 6, 3));
    assert_eq!(s.locate_key(&[], "extends"), at(&overlay, 1, 1));
    assert_eq!(s.source_file(&["spec", "domain"]), Some(overlay.as_path()));
}

#[test]
fn every_mistake_is_reported_at_once_with_its_place() {
    let path = fixture("mistakes.yaml");
    let diags = load(&path).unwrap_err();
    assert_eq!(
        summary(&diags),
        [
            "mistakes.yaml:8:12 E-SPEC-ENUM",
            "mistakes.yaml:9:11 E-SPEC-PLACEHOLDER",
            "mistakes.yaml:12:13 E-SPEC-EXTERNAL-HOST",
            "mistakes.yaml:16:7 E-SPEC-UNKNOWN-KEY",
            "mistakes.yaml:17:15 E-SPEC-QUANTITY",
        ],
        "{diags}"
    );
    let hints: Vec<&str> = diags.0.iter().map(|d| d.hint.as_deref().unwrap()).collect();
    assert_eq!(
        hints[0],
        "did you mean `prod`? allowed values: quickstart, dev, uat, prod"
    );
    assert_eq!(hints[1], "replace <domain_name> with the real value");
    assert!(hints[2].contains("add `host:`"), "{}", hints[2]);
    assert!(
        hints[3].starts_with("did you mean `replicas`?"),
        "{}",
        hints[3]
    );
    assert!(hints[4].contains("512Mi"), "{}", hints[4]);
    let text = diags.to_string();
    assert!(
        text.contains(&format!(
            "{}:16:7: error[E-SPEC-UNKNOWN-KEY]: unknown key `replicsa` in `spec.components.egov-user`\n  help: did you mean `replicas`?",
            path.display()
        )),
        "{text}"
    );
    assert!(text.ends_with("5 error(s), 0 warning(s)"), "{text}");
}

#[test]
fn problems_in_a_base_file_point_into_the_base() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "base.yaml",
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: base}\nspec:\n  release: r\n  modules: []\n  domain: x.org\n  components:\n    a: {memroy: 1Gi}\n",
    );
    std::fs::create_dir(dir.path().join("envs")).unwrap();
    let env = write(
        &dir.path().join("envs"),
        "prod.yaml",
        "extends: [../base.yaml]\nspec:\n  profile: prd\n  components:\n    a: {cpu: lots}\n",
    );
    let diags = load(&env).unwrap_err();
    assert_eq!(
        summary(&diags),
        [
            "base.yaml:9:9 E-SPEC-UNKNOWN-KEY",
            "prod.yaml:3:12 E-SPEC-ENUM",
            "prod.yaml:5:14 E-SPEC-QUANTITY"
        ],
        "{diags}"
    );
    // The base is named as the user would write it, not with `envs/../`.
    assert_eq!(
        diags.0[0].location.as_ref().unwrap().file,
        dir.path().join("base.yaml")
    );
}

#[test]
fn extends_cycles_and_missing_bases_are_located_at_the_entry() {
    let diags = load(&fixture("cycle/a.yaml")).unwrap_err();
    assert_eq!(
        summary(&diags),
        ["b.yaml:2:5 E-SPEC-EXTENDS-CYCLE"],
        "{diags}"
    );
    assert!(
        diags.0[0].message.contains("a.yaml` -> `"),
        "{}",
        diags.0[0].message
    );

    let diags = load(&fixture("missing-base.yaml")).unwrap_err();
    assert_eq!(
        summary(&diags),
        ["missing-base.yaml:4:5 E-SPEC-EXTENDS"],
        "{diags}"
    );
    assert!(diags.0[0].message.contains("does-not-exist.yaml"));

    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "self.yaml", "extends: [self.yaml]\n");
    let diags = load(&env).unwrap_err();
    assert_eq!(
        summary(&diags),
        ["self.yaml:1:11 E-SPEC-EXTENDS-CYCLE"],
        "{diags}"
    );
    let env = write(dir.path(), "bad.yaml", "extends: base.yaml\n");
    assert_eq!(
        summary(&load(&env).unwrap_err()),
        ["bad.yaml:1:10 E-SPEC-TYPE"]
    );
}

#[test]
fn a_base_shared_twice_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "common.yaml",
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: c}\nspec: {release: r0, modules: [], domain: x.org}\n",
    );
    write(d, "b.yaml", "extends: [common.yaml]\nspec: {release: rb}\n");
    write(
        d,
        "c.yaml",
        "extends: [common.yaml]\nspec: {domain: c.org}\n",
    );
    let env = write(d, "env.yaml", "extends: [b.yaml, c.yaml]\n");
    let (loaded, _) = load(&env).unwrap_or_else(|d| panic!("{d}"));
    // Re-applying common.yaml after b.yaml would have reset the release to r0.
    assert_eq!(loaded.env.spec.release, "rb");
    assert_eq!(loaded.env.spec.domain, "c.org");
    let names: Vec<_> = loaded
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["common.yaml", "b.yaml", "c.yaml", "env.yaml"]);
}

#[test]
fn yaml_and_io_errors() {
    let diags = load(&fixture("duplicate-key.yaml")).unwrap_err();
    assert_eq!(
        summary(&diags),
        ["duplicate-key.yaml:5:3 E-SPEC-DUPLICATE"],
        "{diags}"
    );
    assert!(
        diags.0[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("line 4, column 3")
    );

    let missing = fixture("nope.yaml");
    let diags = load(&missing).unwrap_err();
    assert_eq!(summary(&diags), ["- E-SPEC-IO"]);
    assert!(
        diags.0[0].message.contains("nope.yaml"),
        "{}",
        diags.0[0].message
    );

    let dir = tempfile::tempdir().unwrap();
    let env = write(
        dir.path(),
        "syntax.yaml",
        "apiVersion: govdeploy.io/v1\nspec: [1, 2\nkind: x\n",
    );
    let diags = load(&env).unwrap_err();
    assert_eq!(diags.0.len(), 1, "{diags}");
    assert_eq!(diags.0[0].code, codes::YAML);
    assert!(diags.0[0].location.is_some());
}

#[test]
fn digit_env_file_overrides_and_warnings() {
    let path = fixture("digit/env.yaml");
    let (loaded, warnings) = load(&path).unwrap_or_else(|d| panic!("{d}"));
    let demo = fixture("digit/environments/demo.yaml");
    assert_eq!(loaded.files, [path, demo.clone()]);
    let o = &loaded.digit_overrides;
    assert_eq!(
        o.keys().collect::<Vec<_>>(),
        ["egov-indexer", "egov-user", "nginx-ingress"]
    );
    let user = &o["egov-user"];
    assert_eq!(
        (user.replicas, &user.memory, &user.heap),
        (Some(2), &Some(q("512Mi")), &Some(q("256Mi")))
    );
    assert_eq!(
        user.location,
        Some(Location {
            file: demo,
            line: 5,
            col: 1
        })
    );
    let indexer = &o["egov-indexer"];
    assert_eq!(
        (indexer.replicas, &indexer.memory, &indexer.heap),
        (None, &None, &Some(q("512Mi")))
    );
    assert_eq!(o["nginx-ingress"].replicas, Some(1));
    // Placeholders in `global`, `cluster-configs` and fields govdeploy does not read are ignored.
    assert_eq!(
        summary(&warnings),
        [
            "demo.yaml:11:18 W-SPEC-DIGIT-PLACEHOLDER",
            "demo.yaml:12:13 W-SPEC-DIGIT-VALUE"
        ],
        "{warnings}"
    );
    assert!(warnings.0.iter().all(|d| d.severity == Severity::Warning));
}

#[test]
fn a_missing_digit_env_file_is_an_error_at_its_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("digit/env.yaml")).unwrap();
    let env = write(dir.path(), "env.yaml", &text);
    let diags = load(&env).unwrap_err();
    assert_eq!(
        summary(&diags),
        ["env.yaml:9:17 E-SPEC-DIGIT-ENV"],
        "{diags}"
    );
}

#[test]
fn reads_the_egov_demo_environment_file() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/corpus/digit-devops/deploy-as-code/helm/environments/egov-demo.yaml",
    );
    if !demo.exists() {
        println!("note: {} is missing; skipping", demo.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = write(
        dir.path(),
        "env.yaml",
        &format!(
            "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {{name: demo}}\nspec:\n  release: digit-v2.8\n  modules: [m_pgr]\n  domain: demo.example.org\n  digitEnvFile: {}\n",
            demo.display()
        ),
    );
    let (loaded, warnings) = load(&env).unwrap_or_else(|d| panic!("{d}"));
    let o = &loaded.digit_overrides;
    let indexer = &o["egov-indexer"];
    assert_eq!(
        (&indexer.memory, &indexer.heap),
        (&Some(q("768Mi")), &Some(q("512Mi")))
    );
    let user = &o["egov-user"];
    assert_eq!(
        (&user.memory, &user.heap),
        (&Some(q("512Mi")), &Some(q("256Mi")))
    );
    assert_eq!(
        user.location.as_ref().map(|l| (l.line, l.col)),
        Some((228, 1))
    );
    assert_eq!(o["zuul"].heap, Some(q("704Mi")));
    assert_eq!(o["egov-mdms-service"].replicas, Some(1));
    assert!(!o.contains_key("global") && !o.contains_key("cluster-configs"));
    // The demo file's placeholders are all in places govdeploy does not read.
    assert!(warnings.is_empty(), "{warnings}");
}

#[test]
fn the_schema_is_exported() {
    let schema: serde_json::Value = serde_json::from_str(&govdeploy_spec::json_schema()).unwrap();
    assert_eq!(schema["$defs"]["Quantity"]["pattern"], Quantity::PATTERN);
    assert_eq!(
        schema["$defs"]["Profile"]["oneOf"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn codes_are_unique_and_well_formed() {
    let mut seen = std::collections::BTreeSet::new();
    for code in codes::ALL {
        assert!(seen.insert(code), "{code} twice");
        assert!(
            code.starts_with("E-SPEC-") || code.starts_with("W-SPEC-"),
            "{code}"
        );
    }
}

#[test]
fn runtime_keys_layer_like_the_rest() {
    let uat = fixture("runtime/envs/uat.yaml");
    let base = fixture("runtime/base.yaml");
    let (loaded, warnings) = load(&uat).unwrap_or_else(|d| panic!("{d}"));
    assert!(warnings.is_empty(), "{warnings}");
    assert_eq!(loaded.files, [base.clone(), uat.clone()]);
    let spec = &loaded.env.spec;

    // Mappings merge key by key: only the revision and the key Secret move in UAT.
    let mdms = spec.config_sources[&ConfigSourceKind::MdmsData]
        .git()
        .unwrap();
    assert_eq!(mdms.repo, "git@github.com:egovernments/egov-mdms-data.git");
    assert_eq!(mdms.revision, "89abcdef0123456789abcdef0123456789abcdef");
    assert_eq!(mdms.ssh_key_secret, "mdms-deploy-key");
    assert!(
        mdms.known_hosts
            .as_deref()
            .unwrap()
            .starts_with("github.com ssh-ed25519 AAAA")
    );
    // `git: null` removes the inherited source, so the image is the only one.
    assert_eq!(
        spec.config_sources[&ConfigSourceKind::Configs],
        ConfigSourceSpec::Image("registry.local:5000/egov/configs:v2.4.1".into())
    );
    assert!(!spec.config_sources.contains_key(&ConfigSourceKind::Other));

    // Egress: components merge, each component's list is replaced whole.
    let egress = &spec.network.egress;
    assert_eq!(
        egress.keys().collect::<Vec<_>>(),
        ["egov-notification-sms", "pgr-services"]
    );
    assert_eq!(egress["pgr-services"].len(), 1);
    assert_eq!(egress["pgr-services"][0].to, "2001:db8::/32");
    assert!(egress["pgr-services"][0].cidr().unwrap().is_ipv6());
    assert_eq!(egress["egov-notification-sms"][0].ports, [443, 8443]);

    // Shared config: merged, overridden, and a key removed with `~`.
    assert_eq!(
        spec.shared_config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [("mobile-number-length", "10"), ("timezone", "Asia/Kolkata")]
    );

    // The secrets file is inherited: it is relative to the base file's directory.
    assert_eq!(spec.secrets.as_ref().unwrap().file, "secrets/dev.yaml");
    assert_eq!(
        loaded.secrets_file(),
        Some(fixture("runtime/secrets/dev.yaml"))
    );

    let at = |file: &Path, line, col| {
        Some(Location {
            file: file.to_path_buf(),
            line,
            col,
        })
    };
    let s = &loaded.sources;
    let mdms_path = ["spec", "configSources", "mdms-data", "git"];
    assert_eq!(
        s.locate(&[&mdms_path[..], &["repo"]].concat()),
        at(&base, 14, 15)
    );
    assert_eq!(
        s.locate(&[&mdms_path[..], &["revision"]].concat()),
        at(&uat, 8, 23)
    );
    assert_eq!(
        s.locate(&[
            "spec",
            "network",
            "egress",
            "egov-notification-sms",
            "0",
            "to"
        ]),
        at(&base, 25, 16)
    );
    assert_eq!(
        s.locate(&["spec", "network", "egress", "pgr-services", "0", "to"]),
        at(&uat, 15, 16)
    );
    assert_eq!(
        s.locate_key(&["spec", "sharedConfig"], "timezone"),
        at(&uat, 17, 5)
    );
    assert_eq!(
        s.source_file(&["spec", "secrets", "file"]),
        Some(base.as_path())
    );

    // The typed environment serialises back without the keys that are empty.
    let json = serde_json::to_value(&loaded.env).unwrap();
    assert_eq!(
        json["spec"]["configSources"]["configs"],
        serde_json::json!({"image": "registry.local:5000/egov/configs:v2.4.1"})
    );
}

#[test]
fn the_secrets_file_is_relative_to_the_file_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "base.yaml",
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: b}\nspec: {release: r, modules: [], domain: x.org, secrets: {file: secrets/base.yaml}}\n",
    );
    std::fs::create_dir(d.join("envs")).unwrap();
    let inherits = write(&d.join("envs"), "dev.yaml", "extends: [../base.yaml]\n");
    let (loaded, _) = load(&inherits).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.secrets_file(), Some(d.join("secrets/base.yaml")));

    let own = write(
        &d.join("envs"),
        "prod.yaml",
        "extends: [../base.yaml]\nspec:\n  secrets: {file: ../secrets/prod.yaml}\n",
    );
    let (loaded, _) = load(&own).unwrap_or_else(|e| panic!("{e}"));
    let path = loaded.secrets_file().unwrap();
    assert!(path.is_absolute(), "{}", path.display());
    assert_eq!(path, d.join("secrets/prod.yaml"));

    let absolute = write(
        &d.join("envs"),
        "abs.yaml",
        "extends: [../base.yaml]\nspec:\n  secrets: {file: /etc/govdeploy/secrets.yaml}\n",
    );
    let (loaded, _) = load(&absolute).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        loaded.secrets_file(),
        Some(PathBuf::from("/etc/govdeploy/secrets.yaml"))
    );

    let none = write(
        d,
        "none.yaml",
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: b}\nspec: {release: r, modules: [], domain: x.org}\n",
    );
    assert_eq!(load(&none).unwrap().0.secrets_file(), None);
}

#[test]
fn switching_an_inherited_source_needs_a_null() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "base.yaml",
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: b}\nspec:\n  release: r\n  modules: []\n  domain: x.org\n  configSources:\n    configs:\n      git: {repo: \"https://x.org/c.git\", revision: v1}\n",
    );
    let env = write(
        d,
        "env.yaml",
        "extends: [base.yaml]\nspec:\n  configSources:\n    configs:\n      image: registry.local/egov/configs:v1\n",
    );
    let diags = load(&env).unwrap_err();
    assert_eq!(
        summary(&diags),
        ["env.yaml:5:7 E-SPEC-CONFIG-SOURCE"],
        "{diags}"
    );
    let hint = diags.0[0].hint.as_deref().unwrap();
    assert!(
        hint.contains("`git` comes from") && hint.contains("`git: null`"),
        "{hint}"
    );
}

#[test]
fn runtime_key_mistakes_are_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let env = write(
        dir.path(),
        "env.yaml",
        "apiVersion: govdeploy.io/v1
kind: Environment
metadata: {name: x}
spec:
  release: r
  modules: []
  domain: x.org
  configSources:
    mdms-data:
      git: {repo: \"git@github.com:egovernments/egov-mdms-data.git\", revision: master}
    configs: {image: egovio/configs:latest}
    confgs: {image: egovio/configs:v1}
  network:
    egress:
      pgr-services:
        - {to: 0.0.0.0/0, ports: [443]}
        - {to: 10.0.0.1/8, ports: [0]}
  secrets: {file: \"\"}
  sharedConfig: {\"tenant id\": pb}
",
    );
    let diags = load(&env).unwrap_err();
    assert_eq!(
        summary(&diags),
        [
            "env.yaml:10:19 E-SPEC-KNOWN-HOSTS",
            "env.yaml:10:79 W-SPEC-UNPINNED-REVISION",
            "env.yaml:11:22 E-SPEC-IMAGE",
            "env.yaml:12:5 E-SPEC-UNKNOWN-KEY",
            "env.yaml:16:16 W-SPEC-EGRESS-ANYWHERE",
            "env.yaml:17:16 E-SPEC-CIDR",
            "env.yaml:17:36 E-SPEC-RANGE",
            "env.yaml:18:19 E-SPEC-EMPTY",
            "env.yaml:19:18 E-SPEC-CONFIG-KEY",
        ],
        "{diags}"
    );
    let text = diags.to_string();
    assert!(
        text.contains("help: pin the host key: add `knownHosts:` with the output of `ssh-keyscan -t ed25519 github.com`"),
        "{text}"
    );
    assert!(text.contains("help: did you mean `configs`?"), "{text}");
    assert!(text.ends_with("7 error(s), 2 warning(s)"), "{text}");
}
