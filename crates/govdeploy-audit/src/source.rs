//! Manifests in: texts split into documents, parsed with positions, `List` kinds flattened.
//! A document that does not parse is an [`InputError`] with its place; the others still count.

use govdeploy_yaml::{Node, Value};
use serde::Serialize;

/// One input text and the name to report it by (a path, or `-` for standard input).
#[derive(Debug, Clone)]
pub struct Source {
    pub path: String,
    pub text: String,
}

/// A document that could not be read: the audit goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// A document that parsed but is not a Kubernetes object (no `kind` or `apiVersion`), e.g. a
/// values file lying in an audited directory. Reported, not audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// One Kubernetes object with the place it came from.
#[derive(Debug, Clone)]
pub struct Object {
    pub file: usize,
    /// File line of the document's first line: node lines are relative to the document.
    line_base: usize,
    pub kind: String,
    pub api_version: String,
    pub name: String,
    /// Empty for cluster-scoped kinds; `default` when a namespaced object names none.
    pub namespace: String,
    pub root: Node,
}

impl Object {
    /// File line of a node of this object.
    pub fn line_of(&self, node: &Node) -> usize {
        self.line_base + node.pos.line.saturating_sub(1)
    }

    pub fn line(&self) -> usize {
        self.line_of(&self.root)
    }

    /// `Kind namespace/name` (or `Kind name` when cluster-scoped).
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// What the parser made of the inputs.
#[derive(Debug, Default)]
pub struct Parsed {
    pub files: Vec<String>,
    pub objects: Vec<Object>,
    pub errors: Vec<InputError>,
    pub skipped: Vec<Skipped>,
}

const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "CustomResourceDefinition",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "Node",
    "RuntimeClass",
    "CSIDriver",
];

/// Parses every source into objects. Files are parsed on up to four threads (parsing is most
/// of an audit's time); the result is in input order whatever the threads' timing.
pub fn parse_sources(sources: &[Source]) -> Parsed {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let per_thread = sources.len().div_ceil(threads).max(1);
    let parts: Vec<Parsed> = if threads == 1 || sources.len() < 8 {
        vec![parse_files(sources, 0)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = sources
                .chunks(per_thread)
                .enumerate()
                .map(|(i, chunk)| scope.spawn(move || parse_files(chunk, i * per_thread)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    let mut parsed = Parsed::default();
    for part in parts {
        parsed.files.extend(part.files);
        parsed.objects.extend(part.objects);
        parsed.errors.extend(part.errors);
        parsed.skipped.extend(part.skipped);
    }
    parsed
}

/// Parses a run of sources whose first has file index `first`.
fn parse_files(sources: &[Source], first: usize) -> Parsed {
    let mut parsed = Parsed::default();
    for (offset, source) in sources.iter().enumerate() {
        let file = first + offset;
        parsed.files.push(source.path.clone());
        for (start_line, chunk) in documents(&source.text) {
            match govdeploy_yaml::parse_documents(chunk) {
                Ok(docs) => {
                    for doc in docs {
                        add_document(&mut parsed, file, &source.path, start_line, doc);
                    }
                }
                Err(err) => {
                    let pos = err.pos().unwrap_or_default();
                    parsed.errors.push(InputError {
                        file: source.path.clone(),
                        line: start_line + pos.line.saturating_sub(1),
                        col: pos.col.max(1),
                        message: err.description(),
                    });
                }
            }
        }
    }
    parsed
}

/// Splits a stream at `---` lines, keeping each separator with the document it opens, so that
/// each document parses alone. Yields the 1-based line each piece starts at.
fn documents(text: &str) -> Vec<(usize, &str)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let separator = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        if separator && offset > start {
            pieces.push((start_line, &text[start..offset]));
            start = offset;
            start_line = index + 1;
        }
        offset += line.len();
    }
    if start < text.len() {
        pieces.push((start_line, &text[start..]));
    }
    pieces
}

fn add_document(parsed: &mut Parsed, file: usize, path: &str, line_base: usize, doc: Node) {
    if matches!(doc.value, Value::Null) {
        return;
    }
    let kind = doc.get("kind").and_then(Node::as_str).map(str::to_owned);
    let api_version = doc
        .get("apiVersion")
        .and_then(Node::as_str)
        .map(str::to_owned);
    let (Some(kind), Some(api_version)) = (kind, api_version) else {
        parsed.skipped.push(Skipped {
            file: path.to_owned(),
            line: line_base + doc.pos.line.saturating_sub(1),
            reason: "not a Kubernetes object (no kind or apiVersion)".into(),
        });
        return;
    };
    if kind.ends_with("List") && doc.get("items").is_some() {
        let items = doc
            .get("items")
            .map(|n| n.items().to_vec())
            .unwrap_or_default();
        for item in items {
            add_document(parsed, file, path, line_base, item);
        }
        return;
    }
    let metadata = doc.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Node::scalar_text)
        .unwrap_or_default();
    let namespace = if CLUSTER_SCOPED.contains(&kind.as_str()) {
        String::new()
    } else {
        metadata
            .and_then(|m| m.get("namespace"))
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| "default".into())
    };
    parsed.objects.push(Object {
        file,
        line_base,
        kind,
        api_version,
        name,
        namespace,
        root: doc,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Vec<Source> {
        vec![Source {
            path: "in.yaml".into(),
            text: text.into(),
        }]
    }

    #[test]
    fn a_malformed_document_does_not_hide_the_others() {
        let parsed = parse_sources(&src(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [unclosed\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
        ));
        let names: Vec<_> = parsed.objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].line >= 5, "{:?}", parsed.errors[0]);
        assert_eq!(parsed.objects[1].line(), 7);
        assert_eq!(parsed.objects[1].namespace, "default");
    }

    #[test]
    fn lists_and_json_are_flattened() {
        let parsed = parse_sources(&src(
            "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"x\"}},\n {\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"s\", \"namespace\": \"x\"}}]}\n",
        ));
        assert_eq!(parsed.objects.len(), 2);
        assert_eq!(parsed.objects[0].namespace, "");
        assert_eq!(parsed.objects[1].line(), 3);
    }

    #[test]
    fn threads_keep_the_input_order() {
        let sources: Vec<Source> = (0..50)
            .map(|i| Source {
                path: format!("{i}.yaml"),
                text: format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"),
            })
            .collect();
        let parsed = parse_sources(&sources);
        for (i, object) in parsed.objects.iter().enumerate() {
            assert_eq!(object.name, format!("c{i}"));
            assert_eq!(object.file, i);
            assert_eq!(parsed.files[object.file], format!("{i}.yaml"));
        }
    }

    #[test]
    fn documents_without_kind_are_skipped_not_errors() {
        let parsed = parse_sources(&src("replicas: 3\n"));
        assert!(parsed.objects.is_empty() && parsed.errors.is_empty());
        assert_eq!(parsed.skipped.len(), 1);
    }
}
