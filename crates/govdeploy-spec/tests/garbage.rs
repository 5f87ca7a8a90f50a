//! No input makes loading panic: it always ends in a result, and a failure always says why.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;

use govdeploy_spec::load;

/// Loads `bytes` as an environment file; a failure must carry at least one error, and its
/// report must render.
fn survives(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    match load(&path) {
        Ok((_, warnings)) => {
            let _ = warnings.to_string();
        }
        Err(diags) => {
            assert!(diags.has_errors(), "{name}: an Err without errors: {diags}");
            let text = diags.to_string();
            assert!(text.contains("error["), "{name}: {text}");
            // Validation catches everything the typed model rejects.
            assert!(
                !text.contains(govdeploy_spec::codes::DESERIALIZE),
                "{name}: {text}"
            );
        }
    }
}

/// A small deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn garbage_inputs_are_reported_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let deep_block: String = (0..200)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect::<String>()
        + &" ".repeat(200)
        + "v: 1\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("blank", b"\n\n   \n".to_vec()),
        ("comment", b"# nothing here\n".to_vec()),
        ("null", b"~\n".to_vec()),
        ("list", b"- apiVersion: govdeploy.io/v1\n- kind: Environment\n".to_vec()),
        ("scalar", b"hello\n".to_vec()),
        ("number", b"42\n".to_vec()),
        ("binary", (0u8..=255).cycle().take(4096).collect()),
        ("nul", b"apiVersion: \0\0\0\nkind: Environment\n".to_vec()),
        ("latin1", b"apiVersion: caf\xe9\n".to_vec()),
        ("open-brace", b"{".to_vec()),
        ("tabs", b"spec:\n\t- a\n".to_vec()),
        ("two-docs", b"a: 1\n---\nb: 2\n".to_vec()),
        ("unknown-alias", b"a: *nope\n".to_vec()),
        ("complex-key", b"? [a, b]\n: c\n".to_vec()),
        ("deep-flow-lists", ("[".repeat(100_000) + &"]".repeat(100_000)).into_bytes()),
        ("deep-flow-maps", "{a: ".repeat(10_000).into_bytes()),
        ("deep-block", deep_block.into_bytes()),
        ("deep-but-legal", b"spec: {components: {a: {env: {B: [[[[[[[[[[[[]]]]]]]]]]]]}}}}\n".to_vec()),
        ("huge-numbers", b"apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: x}\nspec: {release: r, modules: [], domain: x.org, cluster: {nodes: [{count: 99999999999999999999, cpu: 1e999999, memory: -1}]}, backbone: {redis: {port: -5}}, components: {a: {replicas: 1.5, memory: .inf, heap: .nan}}}\n".to_vec()),
        ("wrong-everything", b"apiVersion: 1\nkind: [x]\nmetadata: x\nspec: 3\nextends: []\n".to_vec()),
        ("extends-garbage", b"extends: [~, 1, [a], {b: c}, \"\"]\n".to_vec()),
        ("extends-directory", b"extends: [.]\n".to_vec()),
        ("digit-env-directory", b"apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: x}\nspec: {release: r, modules: [], domain: x.org, digitEnvFile: .}\n".to_vec()),
        ("digit-env-self", b"apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: x}\nspec: {release: r, modules: [], domain: x.org, digitEnvFile: digit-env-self}\n".to_vec()),
        ("anchors", b"a: &a [1, 2]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n".to_vec()),
        ("merge-key", b"base: &b {x: 1}\nspec:\n  <<: *b\n  <<: *b\n".to_vec()),
        ("keys-of-all-kinds", b"1: a\ntrue: b\n~: c\n1.5: d\n".to_vec()),
        ("runtime-garbage", b"apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: x}\nspec: {release: r, modules: [], domain: x.org, configSources: {mdms-data: {git: ~, image: ~}, configs: {git: {repo: [1], revision: {a: b}, knownHosts: \"\\0\\n\\xff host ssh-rsa ====\"}, image: 5}, other: [x]}, network: {egress: {a: [{to: 1, ports: [1e9, -1, .nan]}], b: x, c: [~]}}, secrets: [a], sharedConfig: {1: 2, true: [x], \"\": y}}\n".to_vec()),
        ("runtime-types", b"apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: x}\nspec: {release: r, modules: [], domain: x.org, configSources: [], network: [], secrets: ~, sharedConfig: x}\n".to_vec()),
    ];
    for (name, bytes) in &cases {
        survives(d, name, bytes);
    }
}

#[test]
fn a_deeply_nested_file_is_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..100).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    let path = dir.path().join("deep.yaml");
    std::fs::write(&path, text).unwrap();
    let diags = load(&path).unwrap_err();
    assert_eq!(diags.0.len(), 1, "{diags}");
    assert_eq!(diags.0[0].code, govdeploy_spec::codes::TOO_DEEP);
}

#[test]
fn every_prefix_and_mutation_of_real_files_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut rng = Lcg(7);
    for name in [
        "valid.yaml",
        "mistakes.yaml",
        "layered/overlay.yaml",
        "runtime/base.yaml",
    ] {
        let original = std::fs::read(fixtures.join(name)).unwrap();
        for end in 0..=original.len() {
            survives(dir.path(), "prefix.yaml", &original[..end]);
        }
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % bytes.len();
                let byte = b" :-[]{}#&*!|>'\"%@`,?\n\tax0<~"[(rng.next() as usize) % 27];
                bytes[at] = byte;
            }
            survives(dir.path(), "mutated.yaml", &bytes);
        }
    }
}
