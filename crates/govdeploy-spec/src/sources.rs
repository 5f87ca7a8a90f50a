//! Where each value of the merged environment came from, and how to name a place in it.

use std::path::{Path, PathBuf};

use govdeploy_yaml::{Location, Node, Pos, Value};

use crate::merge::Origin;

/// Where each value of the (merged) environment came from.
///
/// It keeps the merged located tree (every node with the line:col it had in its own file), the
/// [`Origin`] tree saying which file supplied each part, and the list of files. A lookup walks
/// the tree and the origins side by side, so a value inherited from a base file is reported in
/// the base file, and a value overridden in the environment file in that file.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    tree: Option<Node>,
    origin: Origin,
    files: Vec<PathBuf>,
}

/// What a lookup reached: the deepest node on the path and the file it came from.
struct Reached<'a> {
    node: &'a Node,
    file: usize,
    /// Whether the whole path exists.
    complete: bool,
}

impl SourceMap {
    /// A source map over a merged tree, its origins and the files they index.
    pub fn new(tree: Node, origin: Origin, files: Vec<PathBuf>) -> Self {
        SourceMap {
            tree: Some(tree),
            origin,
            files,
        }
    }

    /// Location of the value at a path of keys/indices (`["spec", "modules", "0"]`), or of the
    /// deepest existing ancestor. For merged layers, the file that supplied the value.
    pub fn locate(&self, path: &[&str]) -> Option<Location> {
        let reached = self.reach(path)?;
        self.location(reached.file, reached.node.pos)
    }

    /// Location of the key `key` in the mapping at `path` (for unknown-key reports).
    pub fn locate_key(&self, path: &[&str], key: &str) -> Option<Location> {
        let reached = self.reach(path)?;
        if !reached.complete {
            return None;
        }
        let (k, _) = reached.node.entries().iter().find(|(k, _)| k.name == key)?;
        let origin = self.origin_at(path)?;
        let file = origin.entry(key).map_or(origin.file, |o| o.file);
        self.location(file, k.pos)
    }

    /// Location of the key under which the value at `path` is written (`spec:` for `["spec"]`),
    /// falling back to the value itself for list items and the document root.
    pub fn locate_entry(&self, path: &[&str]) -> Option<Location> {
        match path.split_last() {
            Some((last, parent)) => self.locate_key(parent, last).or_else(|| self.locate(path)),
            None => self.locate(path),
        }
    }

    /// The file that supplied the value at `path` (or its deepest existing ancestor).
    pub fn source_file(&self, path: &[&str]) -> Option<&Path> {
        let reached = self.reach(path)?;
        self.files.get(reached.file).map(PathBuf::as_path)
    }

    /// The files the merged tree was built from, in merge order (bases first).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The merged located tree, if any.
    pub fn tree(&self) -> Option<&Node> {
        self.tree.as_ref()
    }

    fn location(&self, file: usize, pos: Pos) -> Option<Location> {
        Some(Location {
            file: self.files.get(file)?.clone(),
            line: pos.line,
            col: pos.col,
        })
    }

    fn reach(&self, path: &[&str]) -> Option<Reached<'_>> {
        let mut node = self.tree.as_ref()?;
        let mut origin = Some(&self.origin);
        let mut file = self.origin.file;
        for segment in path {
            let next = match &node.value {
                Value::Map(entries) => {
                    let found = entries
                        .iter()
                        .find(|(k, _)| k.name == *segment)
                        .map(|(_, v)| v);
                    origin = origin.and_then(|o| o.entry(segment));
                    found
                }
                Value::Seq(items) => {
                    // Everything inside a list comes from the list's file.
                    origin = None;
                    segment.parse::<usize>().ok().and_then(|i| items.get(i))
                }
                _ => None,
            };
            match next {
                Some(n) => {
                    node = n;
                    if let Some(o) = origin {
                        file = o.file;
                    }
                }
                None => {
                    return Some(Reached {
                        node,
                        file,
                        complete: false,
                    });
                }
            }
        }
        Some(Reached {
            node,
            file,
            complete: true,
        })
    }

    /// The origin of the mapping at `path`, or of the nearest ancestor that has one.
    fn origin_at(&self, path: &[&str]) -> Option<&Origin> {
        let mut node = self.tree.as_ref()?;
        let mut origin = &self.origin;
        for segment in path {
            match &node.value {
                Value::Map(entries) => {
                    node = entries
                        .iter()
                        .find(|(k, _)| k.name == *segment)
                        .map(|(_, v)| v)?;
                    match origin.entry(segment) {
                        Some(o) => origin = o,
                        None => return Some(origin),
                    }
                }
                Value::Seq(items) => {
                    // Inside a list, the list's origin holds for everything below.
                    items.get(segment.parse::<usize>().ok()?)?;
                    return Some(origin);
                }
                _ => return None,
            }
        }
        Some(origin)
    }
}

/// Names a place for people: `spec.cluster.nodes[0].cpu`; the document root is `the file`.
pub fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for segment in path {
        if !out.is_empty() && segment.parse::<usize>().is_ok() {
            out.push('[');
            out.push_str(segment);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    if out.is_empty() {
        "the top level".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::merge::{Layer, merge_layers};
    use govdeploy_yaml::parse_single;

    fn map() -> SourceMap {
        let layers = vec![
            Layer {
                file: 0,
                root: parse_single("spec:\n  a: 1\n  list:\n    - x: 1\n").unwrap(),
            },
            Layer {
                file: 1,
                root: parse_single("kind: K\nspec:\n  b: 2\n").unwrap(),
            },
        ];
        let (tree, origin) = merge_layers(layers).unwrap();
        SourceMap::new(tree, origin, vec!["base.yaml".into(), "env.yaml".into()])
    }

    fn at(file: &str, line: usize, col: usize) -> Option<Location> {
        Some(Location {
            file: file.into(),
            line,
            col,
        })
    }

    #[test]
    fn values_are_located_in_the_file_that_wrote_them() {
        let m = map();
        assert_eq!(m.locate(&["spec", "a"]), at("base.yaml", 2, 6));
        assert_eq!(m.locate(&["spec", "b"]), at("env.yaml", 3, 6));
        assert_eq!(
            m.locate(&["spec", "list", "0", "x"]),
            at("base.yaml", 4, 10)
        );
        assert_eq!(
            m.locate_key(&["spec", "list", "0"], "x"),
            at("base.yaml", 4, 7)
        );
        assert_eq!(m.locate_key(&["spec"], "a"), at("base.yaml", 2, 3));
        assert_eq!(m.locate_key(&[], "spec"), at("env.yaml", 2, 1));
        assert_eq!(m.locate_entry(&["spec", "b"]), at("env.yaml", 3, 3));
        assert_eq!(m.source_file(&["spec", "a"]), Some(Path::new("base.yaml")));
    }

    #[test]
    fn missing_paths_fall_back_to_the_deepest_ancestor() {
        let m = map();
        assert_eq!(m.locate(&["spec", "nope", "deeper"]), m.locate(&["spec"]));
        assert_eq!(m.locate_key(&["spec"], "nope"), None);
        assert_eq!(SourceMap::default().locate(&["spec"]), None);
    }

    #[test]
    fn paths_read_like_yaml() {
        let p = |s: &[&str]| display_path(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            p(&["spec", "cluster", "nodes", "0", "cpu"]),
            "spec.cluster.nodes[0].cpu"
        );
        assert_eq!(p(&[]), "the top level");
    }
}
