//! Checks the schema cannot express: the document's identity (`apiVersion`, `kind`), leftover
//! `<placeholders>`, names and domains, heap versus memory, duplicates, external backing
//! stores without a host, config sources ([`crate::config_source`]) and egress ranges
//! ([`crate::network`]).
//!
//! They run on the merged located tree even when it has schema errors, so they read it
//! defensively: a value of the wrong type is skipped here (the schema walk reports it).

use std::collections::BTreeMap;

use govdeploy_yaml::{Diagnostic, Node, Pos, Value};

use crate::codes;
use crate::model::{API_VERSION, BackingStore, KIND};
use crate::quantity::{Quantity, format_bytes};
use crate::sources::{SourceMap, display_path};

/// Runs every check on the merged tree.
pub fn check(tree: &Node, sources: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    identity(tree, sources, &mut out);
    placeholder_values(tree, sources, &mut Vec::new(), &mut out);
    metadata_name(tree, sources, &mut out);
    domain(tree, sources, &mut out);
    heap_below_memory(tree, sources, &mut out);
    duplicate_modules(tree, sources, &mut out);
    duplicate_node_pools(tree, sources, &mut out);
    backbone_hosts(tree, sources, &mut out);
    crate::config_source::check(tree, sources, &mut out);
    crate::network::check(tree, sources, &mut out);
    out
}

/// The `<placeholders>` in a text (`<db_host>` in `jdbc:postgresql://<db_host>:5432/x`): a
/// name of letters, digits, `_`, `-` and `.`, starting with a letter or `_`, between `<` and `>`.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(offset) = text.get(start..).and_then(|rest| rest.find('<')) {
        let open = start + offset;
        let name_start = open + 1;
        let mut end = name_start;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'_' | b'-' | b'.'))
        {
            end += 1;
        }
        let first_ok = bytes
            .get(name_start)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
        if first_ok
            && end > name_start
            && bytes.get(end) == Some(&b'>')
            && let Some(p) = text.get(open..=end)
        {
            found.push(p);
            start = end + 1;
        } else {
            start = name_start;
        }
    }
    found
}

/// "replace <a> with the real value" / "replace <a>, <b> with the real values".
pub fn placeholder_hint(found: &[&str]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for p in found {
        if !unique.contains(p) {
            unique.push(p);
        }
    }
    if unique.len() == 1 {
        format!("replace {} with the real value", unique.join(""))
    } else {
        format!("replace {} with the real values", unique.join(", "))
    }
}

fn strs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

fn identity(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    for (key, expected, code) in [
        ("apiVersion", API_VERSION, codes::API_VERSION),
        ("kind", KIND, codes::KIND),
    ] {
        let Some(found) = tree.get(key).and_then(Node::as_str) else {
            continue;
        };
        if found == expected || !placeholders(found).is_empty() {
            continue;
        }
        out.push(
            Diagnostic::error(
                code,
                format!("`{key}` must be `{expected}`, found `{found}`"),
            )
            .at(sources.locate(&[key]))
            .hint(format!(
                "write `{key}: {expected}` (this is not a govdeploy environment file otherwise)"
            )),
        );
    }
}

/// Every string value (and mapping key) still holding a `<placeholder>`.
fn placeholder_values(
    node: &Node,
    sources: &SourceMap,
    path: &mut Vec<String>,
    out: &mut Vec<Diagnostic>,
) {
    match &node.value {
        Value::String(s) => {
            let found = placeholders(s);
            if !found.is_empty() {
                out.push(
                    Diagnostic::error(
                        codes::PLACEHOLDER,
                        format!(
                            "`{}` still holds the placeholder {}",
                            display_path(path),
                            found.join(", ")
                        ),
                    )
                    .at(sources.locate(&strs(path)))
                    .hint(placeholder_hint(&found)),
                );
            }
        }
        Value::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(index.to_string());
                placeholder_values(item, sources, path, out);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                let found = placeholders(&key.name);
                if !found.is_empty() {
                    let place = if path.is_empty() {
                        "at the top level".to_string()
                    } else {
                        format!("in `{}`", display_path(path))
                    };
                    out.push(
                        Diagnostic::error(
                            codes::PLACEHOLDER,
                            format!("the key `{}` {place} is a placeholder", key.name),
                        )
                        .at(sources.locate_key(&strs(path), &key.name))
                        .hint(placeholder_hint(&found)),
                    );
                }
                path.push(key.name.clone());
                placeholder_values(value, sources, path, out);
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
    }
}

/// A string value at `path` that is not a placeholder (those are reported already).
fn plain_str<'a>(tree: &'a Node, path: &[&str]) -> Option<&'a str> {
    tree.path(path)
        .and_then(Node::as_str)
        .filter(|s| placeholders(s).is_empty())
}

/// A DNS-1123 label: 1 to 63 lowercase letters, digits and `-`, starting and ending with a
/// letter or digit.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS name: dot-separated DNS-1123 labels, at most 253 characters.
pub fn is_dns_name(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// The closest DNS label to a text (`My_Env` -> `my-env`), if any.
fn as_dns_label(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(63).collect();
    let trimmed = trimmed.trim_end_matches('-').to_string();
    is_dns_label(&trimmed).then_some(trimmed)
}

fn metadata_name(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let path = ["metadata", "name"];
    let Some(name) = plain_str(tree, &path) else {
        return;
    };
    if is_dns_label(name) {
        return;
    }
    let mut hint =
        "use 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
            .to_string();
    if let Some(fixed) = as_dns_label(name) {
        hint.push_str(&format!(", e.g. `{fixed}`"));
    }
    out.push(
        Diagnostic::error(
            codes::NAME,
            format!("`metadata.name`: `{name}` is not a valid name (a DNS label)"),
        )
        .at(sources.locate(&path))
        .hint(hint),
    );
}

fn domain(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let path = ["spec", "domain"];
    let Some(domain) = plain_str(tree, &path) else {
        return;
    };
    if is_dns_name(domain) {
        return;
    }
    // Strip what people paste along with a host name: a scheme, a path, a port, a final dot.
    let host = domain.split_once("://").map_or(domain, |(_, rest)| rest);
    let host = host.split(['/', '?', '#']).next().unwrap_or(host);
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let hint = if host != domain && is_dns_name(&host) {
        format!("write only the host name: `domain: {host}`")
    } else {
        "write a DNS name: dot-separated labels of lowercase letters, digits and '-', e.g. `digit.example.org`"
            .to_string()
    };
    out.push(
        Diagnostic::error(
            codes::DOMAIN,
            format!("`spec.domain`: `{domain}` is not a DNS name"),
        )
        .at(sources.locate(&path))
        .hint(hint),
    );
}

/// A quantity written at `node`, if it is one.
fn quantity_bytes(node: Option<&Node>) -> Option<u64> {
    let node = node?;
    let text = node.scalar_text()?;
    if !placeholders(&text).is_empty() {
        return None;
    }
    Quantity(text).bytes().ok()
}

fn heap_below_memory(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let Some(components) = tree.path(&["spec", "components"]) else {
        return;
    };
    for (name, component) in components.entries() {
        let (Some(heap), Some(memory)) = (
            quantity_bytes(component.get("heap")),
            quantity_bytes(component.get("memory")),
        ) else {
            continue;
        };
        if heap < memory {
            continue;
        }
        let suggested = format_bytes((memory / 10 * 7) >> 20 << 20);
        let heap_text = component
            .get("heap")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        let memory_text = component
            .get("memory")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        out.push(
            Diagnostic::error(
                codes::HEAP,
                format!(
                    "`spec.components.{}.heap` ({heap_text}) must be below its `memory` ({memory_text})",
                    name.name
                ),
            )
            .at(sources.locate(&["spec", "components", &name.name, "heap"]))
            .hint(format!(
                "the JVM needs memory beyond its heap (metaspace, threads, buffers): the heap is derived \
                 from `memory` (about 70% of it) when `heap` is omitted; remove `heap`, or set it to \
                 {suggested} or less"
            )),
        );
    }
}

fn duplicate_modules(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let Some(modules) = tree.path(&["spec", "modules"]) else {
        return;
    };
    let mut first: BTreeMap<&str, Pos> = BTreeMap::new();
    for (index, item) in modules.items().iter().enumerate() {
        let Some(name) = item.as_str() else {
            continue;
        };
        match first.get(name) {
            Some(pos) => out.push(
                Diagnostic::error(
                    codes::DUPLICATE,
                    format!("module `{name}` is listed twice in `spec.modules`"),
                )
                .at(sources.locate(&["spec", "modules", &index.to_string()]))
                .hint(format!(
                    "remove this entry (first listed at line {}, column {})",
                    pos.line, pos.col
                )),
            ),
            None => {
                first.insert(name, item.pos);
            }
        }
    }
}

fn duplicate_node_pools(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let Some(nodes) = tree.path(&["spec", "cluster", "nodes"]) else {
        return;
    };
    let mut first: BTreeMap<String, Pos> = BTreeMap::new();
    for (index, pool) in nodes.items().iter().enumerate() {
        if !matches!(pool.value, Value::Map(_)) {
            continue;
        }
        let index = index.to_string();
        let (name, path, defaulted) = match pool.get("name") {
            Some(n) => match n.as_str() {
                Some(s) => (
                    s.to_string(),
                    vec!["spec", "cluster", "nodes", &index, "name"],
                    false,
                ),
                None => continue,
            },
            None => (
                "workers".to_string(),
                vec!["spec", "cluster", "nodes", &index],
                true,
            ),
        };
        let pos = pool.get("name").map_or(pool.pos, |n| n.pos);
        match first.get(&name) {
            Some(at) => {
                let mut hint = format!(
                    "give each node pool its own `name` (`{name}` is first used at line {}, column {})",
                    at.line, at.col
                );
                if defaulted {
                    hint.push_str("; a pool without `name` is called `workers`");
                }
                out.push(
                    Diagnostic::error(
                        codes::DUPLICATE,
                        format!("node pool name `{name}` is used twice"),
                    )
                    .at(sources.locate(&path))
                    .hint(hint),
                );
            }
            None => {
                first.insert(name, pos);
            }
        }
    }
}

fn backbone_hosts(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let Some(backbone) = tree.path(&["spec", "backbone"]) else {
        return;
    };
    const STORES: [BackingStore; 5] = [
        BackingStore::Postgres,
        BackingStore::Kafka,
        BackingStore::Elasticsearch,
        BackingStore::Redis,
        BackingStore::ObjectStore,
    ];
    for (key, store) in backbone.entries() {
        if !STORES.iter().any(|s| s.as_str() == key.name) || !matches!(store.value, Value::Map(_)) {
            continue;
        }
        let name = key.name.as_str();
        let mode = match store.get("mode") {
            None => "in-cluster",
            Some(m) => match m.as_str() {
                Some(s) => s,
                None => continue,
            },
        };
        let host_given = store
            .get("host")
            .is_some_and(|h| h.as_str().is_none_or(|s| !s.trim().is_empty()));
        match mode {
            "external" if !host_given => {
                let at = sources
                    .locate(&["spec", "backbone", name, "mode"])
                    .or_else(|| sources.locate(&["spec", "backbone", name]));
                out.push(
                    Diagnostic::error(
                        codes::EXTERNAL_HOST,
                        format!("`spec.backbone.{name}` is external but has no `host`"),
                    )
                    .at(at)
                    .hint(format!(
                        "add `host:` with the {name} server's DNS name or IP (and `port:` if it is not the \
                         default), or set `mode: in-cluster` to run {name} in the cluster"
                    )),
                );
            }
            "in-cluster" => {
                for field in ["host", "port"] {
                    if store.get(field).is_some() {
                        out.push(
                            Diagnostic::warning(
                                codes::BACKBONE_IGNORED,
                                format!("`spec.backbone.{name}.{field}` is ignored: {name} runs in the cluster"),
                            )
                            .at(sources.locate_key(&["spec", "backbone", name], field))
                            .hint(format!("remove `{field}`, or set `mode: external` to use an external {name}")),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::test_support::{single_file, summary};
    use govdeploy_yaml::Severity;

    fn run(text: &str) -> Vec<Diagnostic> {
        let (tree, sources) = single_file(text);
        check(&tree, &sources)
    }

    #[test]
    fn finds_placeholders() {
        assert_eq!(
            placeholders("jdbc:postgresql://<db_host>:5432/<dbname>"),
            ["<db_host>", "<dbname>"]
        );
        assert_eq!(placeholders("<domain_name>"), ["<domain_name>"]);
        assert!(placeholders("a < b > c").is_empty());
        assert!(placeholders("<<").is_empty());
        assert!(placeholders("<>").is_empty());
        assert!(placeholders("<1>").is_empty());
        assert!(placeholders("x<é>").is_empty());
        assert_eq!(placeholders("<<a>>"), ["<a>"]);
        assert_eq!(
            placeholder_hint(&["<db_host>"]),
            "replace <db_host> with the real value"
        );
        assert_eq!(
            placeholder_hint(&["<a>", "<b>", "<a>"]),
            "replace <a>, <b> with the real values"
        );
    }

    #[test]
    fn placeholders_in_values_and_keys() {
        let diags =
            run("spec:\n  domain: <domain_name>\n  list: [ok, \"x<y>\"]\n  <component>: {}\n");
        assert_eq!(
            summary(&diags),
            [
                "2:11 E-SPEC-PLACEHOLDER",
                "3:14 E-SPEC-PLACEHOLDER",
                "4:3 E-SPEC-PLACEHOLDER"
            ]
        );
        assert_eq!(
            diags[0].hint.as_deref(),
            Some("replace <domain_name> with the real value")
        );
        assert_eq!(
            diags[0].message,
            "`spec.domain` still holds the placeholder <domain_name>"
        );
    }

    #[test]
    fn identity() {
        let diags = run("apiVersion: govdeploy.io/v2\nkind: Environmnet\n");
        assert_eq!(
            summary(&diags),
            ["1:13 E-SPEC-API-VERSION", "2:7 E-SPEC-KIND"]
        );
        assert!(run("apiVersion: govdeploy.io/v1\nkind: Environment\n").is_empty());
    }

    #[test]
    fn names_and_domains() {
        assert!(
            is_dns_label("quickstart")
                && is_dns_label("a-1")
                && !is_dns_label("-a")
                && !is_dns_label("A")
        );
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_dns_name("digit.example.org") && is_dns_name("localhost"));
        assert!(
            !is_dns_name("digit..org") && !is_dns_name("digit.org.") && !is_dns_name("Digit.org")
        );
        let diags = run("metadata:\n  name: My_Env\nspec:\n  domain: https://digit.example.org/\n");
        assert_eq!(summary(&diags), ["2:9 E-SPEC-NAME", "4:11 E-SPEC-DOMAIN"]);
        assert!(diags[0].hint.as_deref().unwrap().ends_with("e.g. `my-env`"));
        assert_eq!(
            diags[1].hint.as_deref(),
            Some("write only the host name: `domain: digit.example.org`")
        );
        assert!(run("metadata: {name: ok}\nspec: {domain: a.b}\n").is_empty());
    }

    #[test]
    fn heap_must_be_below_memory() {
        let diags = run(
            "spec:\n  components:\n    a: {memory: 1Gi, heap: 1Gi}\n    b: {memory: 1Gi, heap: 700Mi}\n    c: {heap: 2Gi}\n    d: {memory: 512Mi, heap: 5l2}\n",
        );
        assert_eq!(summary(&diags), ["3:28 E-SPEC-HEAP"]);
        let hint = diags[0].hint.as_deref().unwrap();
        assert!(
            hint.contains("about 70%") && hint.contains("716Mi"),
            "{hint}"
        );
    }

    #[test]
    fn duplicates() {
        let diags = run(
            "spec:\n  modules: [m_pgr, m_tl, m_pgr]\n  cluster:\n    nodes:\n      - {cpu: 4, memory: 16Gi}\n      - {name: big, cpu: 4, memory: 16Gi}\n      - {cpu: 4, memory: 16Gi}\n      - {name: big, cpu: 4, memory: 16Gi}\n",
        );
        assert_eq!(
            summary(&diags),
            [
                "2:26 E-SPEC-DUPLICATE",
                "7:9 E-SPEC-DUPLICATE",
                "8:16 E-SPEC-DUPLICATE"
            ]
        );
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("line 2, column 13")
        );
        assert!(
            diags[1]
                .hint
                .as_deref()
                .unwrap()
                .contains("called `workers`")
        );
    }

    #[test]
    fn backbone_hosts() {
        let diags = run(
            "spec:\n  backbone:\n    postgres: {mode: external}\n    kafka: {host: k, port: 9092}\n    redis: {mode: external, host: r}\n    elasticsearch: {mode: external, host: \"\"}\n",
        );
        assert_eq!(
            summary(&diags),
            [
                "3:22 E-SPEC-EXTERNAL-HOST",
                "4:13 W-SPEC-BACKBONE-IGNORED",
                "4:22 W-SPEC-BACKBONE-IGNORED",
                "6:27 E-SPEC-EXTERNAL-HOST"
            ]
        );
        assert_eq!(diags[1].severity, Severity::Warning);
    }
}
