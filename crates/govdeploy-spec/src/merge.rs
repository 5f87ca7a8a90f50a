//! Layering of environment files.
//!
//! # The merge rule
//!
//! An environment file may name base files in `extends`. The layers are applied in order: the
//! bases first (each after its own bases, in the order listed), the including file last, so that
//! the later (more specific) file wins:
//!
//! - mappings merge key by key: a key only in the base is kept, a key only in the later file is
//!   added, a key in both is merged by these same rules;
//! - lists and scalars are replaced whole (a later `modules: [m_pgr]` replaces the base's list,
//!   it is not appended to it), and so is a value whose type differs between the layers;
//! - an explicit `null` (`key: ~`, `key: null` or `key:` with nothing) removes the key inherited
//!   from a base; at any depth a null-valued key counts as absent;
//! - `extends` itself is not merged: it only says where a file's bases are.
//!
//! A file reached twice (two bases sharing a base) is applied once, at its first place.
//!
//! Besides the merged tree, merging records which layer supplied every part of it (an
//! [`Origin`] tree), so that a problem in the merged document points at the file and line that
//! wrote the offending value.

use std::collections::BTreeMap;

use govdeploy_yaml::{Node, Value};

/// Which layer (an index into the list of files) supplied each part of a merged tree.
///
/// A mapping may mix layers, so it keeps an origin per key. Lists and scalars are replaced
/// whole, so everything below them comes from the same layer as they do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The layer that supplied this node (for a merged mapping: the last layer that wrote it).
    pub file: usize,
    /// For a mapping: the origin of each entry (key and value), by key.
    pub entries: BTreeMap<String, Origin>,
}

impl Origin {
    /// The origin of the entry `key` of a mapping, if it has one.
    pub fn entry(&self, key: &str) -> Option<&Origin> {
        self.entries.get(key)
    }
}

/// One file's document, as it takes part in the merge.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Index of the file in the list of files read.
    pub file: usize,
    pub root: Node,
}

/// Merges layers (base first) into one tree and its origins. `None` when there are no layers.
pub fn merge_layers(layers: impl IntoIterator<Item = Layer>) -> Option<(Node, Origin)> {
    let mut merged: Option<(Node, Origin)> = None;
    for layer in layers {
        merged = Some(match merged {
            None => strip_nulls(layer.root, layer.file),
            Some((base, origin)) => merge(base, origin, layer.root, layer.file),
        });
    }
    merged
}

/// Merges `over` (from layer `file`) onto `base` by the rule in the module documentation.
pub fn merge(base: Node, base_origin: Origin, over: Node, file: usize) -> (Node, Origin) {
    match (base.value, over.value) {
        (Value::Map(mut entries), Value::Map(over_entries)) => {
            let mut origins = base_origin.entries;
            for (key, value) in over_entries {
                let existing = entries.iter().position(|(k, _)| k.name == key.name);
                if matches!(value.value, Value::Null) {
                    if let Some(index) = existing {
                        entries.remove(index);
                    }
                    origins.remove(&key.name);
                    continue;
                }
                match existing {
                    Some(index) => {
                        let (_, old) = entries.remove(index);
                        let old_origin = origins.remove(&key.name).unwrap_or_default();
                        let (node, origin) = merge(old, old_origin, value, file);
                        origins.insert(key.name.clone(), origin);
                        entries.insert(index, (key, node));
                    }
                    None => {
                        let (node, origin) = strip_nulls(value, file);
                        origins.insert(key.name.clone(), origin);
                        entries.push((key, node));
                    }
                }
            }
            (
                Node {
                    value: Value::Map(entries),
                    pos: over.pos,
                    block_scalar: false,
                },
                Origin {
                    file,
                    entries: origins,
                },
            )
        }
        (_, value) => strip_nulls(
            Node {
                value,
                pos: over.pos,
                block_scalar: over.block_scalar,
            },
            file,
        ),
    }
}

/// Drops null-valued keys at any depth (a null key counts as absent) and records that the whole
/// tree comes from layer `file`.
pub fn strip_nulls(node: Node, file: usize) -> (Node, Origin) {
    let mut origin = Origin {
        file,
        entries: BTreeMap::new(),
    };
    let value = match node.value {
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .filter(|(_, v)| !matches!(v.value, Value::Null))
                .map(|(k, v)| {
                    let (v, o) = strip_nulls(v, file);
                    origin.entries.insert(k.name.clone(), o);
                    (k, v)
                })
                .collect(),
        ),
        Value::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|item| strip_nulls(item, file).0)
                .collect(),
        ),
        scalar => scalar,
    };
    (Node { value, ..node }, origin)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use govdeploy_yaml::{Pos, parse_single};

    fn layer(file: usize, text: &str) -> Layer {
        Layer {
            file,
            root: parse_single(text).unwrap(),
        }
    }

    fn merged(texts: &[&str]) -> (Node, Origin) {
        merge_layers(texts.iter().enumerate().map(|(i, t)| layer(i, t))).unwrap()
    }

    #[test]
    fn mappings_merge_key_by_key_later_wins() {
        let (node, origin) = merged(&["a: 1\nb: {x: 1, y: 2}\n", "b: {y: 3, z: 4}\nc: 5\n"]);
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": 1, "b": {"x": 1, "y": 3, "z": 4}, "c": 5})
        );
        assert_eq!(origin.entry("a").unwrap().file, 0);
        let b = origin.entry("b").unwrap();
        assert_eq!(b.file, 1);
        assert_eq!(b.entry("x").unwrap().file, 0);
        assert_eq!(b.entry("y").unwrap().file, 1);
        assert_eq!(origin.entry("c").unwrap().file, 1);
        // Positions come from the layer that wrote the value.
        assert_eq!(node.path(&["b", "x"]).unwrap().pos, Pos { line: 2, col: 8 });
        assert_eq!(node.path(&["b", "y"]).unwrap().pos, Pos { line: 1, col: 8 });
    }

    #[test]
    fn lists_and_scalars_are_replaced_whole() {
        let (node, origin) = merged(&["l: [1, 2, 3]\ns: a\nm: {k: 1}\n", "l: [4]\ns: b\nm: [x]\n"]);
        assert_eq!(
            node.to_json(),
            serde_json::json!({"l": [4], "s": "b", "m": ["x"]})
        );
        assert_eq!(origin.entry("l").unwrap().file, 1);
        assert!(origin.entry("m").unwrap().entries.is_empty());
    }

    #[test]
    fn null_removes_inherited_keys_at_any_depth() {
        let (node, _) = merged(&[
            "a: 1\nb: {x: 1, y: 2}\nc: {d: 1}\n",
            "a: ~\nb: {x: null}\nc:\nnew: {k: ~, j: 1}\n",
        ]);
        assert_eq!(
            node.to_json(),
            serde_json::json!({"b": {"y": 2}, "new": {"j": 1}})
        );
    }

    #[test]
    fn nulls_in_a_single_layer_count_as_absent() {
        let (node, _) = merged(&["a: ~\nb: [{x: ~, y: 1}]\n"]);
        assert_eq!(node.to_json(), serde_json::json!({"b": [{"y": 1}]}));
    }

    #[test]
    fn three_layers_apply_in_order() {
        let (node, origin) = merged(&["v: 0\nw: 0\n", "v: 1\n", "w: 2\n"]);
        assert_eq!(node.to_json(), serde_json::json!({"v": 1, "w": 2}));
        assert_eq!(origin.entry("v").unwrap().file, 1);
        assert_eq!(origin.entry("w").unwrap().file, 2);
    }

    #[test]
    fn no_layers_no_tree() {
        assert!(merge_layers(Vec::new()).is_none());
    }
}
