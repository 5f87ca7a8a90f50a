//! The document tree of a secrets file: mappings, lists and typed scalar leaves, in document
//! order (the SOPS MAC covers the order), each with its position in the source text.
//! String leaves are zeroed when dropped and never shown by `Debug`.

use std::fmt;

use govdeploy_yaml::{Node, Pos, Value};
use zeroize::Zeroizing;

/// A scalar leaf, typed the way SOPS types encrypted values (`type:str|int|float|bool`).
#[derive(Clone, PartialEq)]
pub enum Scalar {
    Str(Zeroizing<String>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scalar::{}(<redacted>)", self.type_name())
    }
}

impl Scalar {
    pub fn str(value: impl Into<String>) -> Scalar {
        Scalar::Str(Zeroizing::new(value.into()))
    }

    /// The `type:` SOPS records for the value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "str",
            Scalar::Int(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Bool(_) => "bool",
        }
    }

    /// The bytes SOPS encrypts and hashes for the value (Go's `sops.ToBytes`: floats without
    /// trailing zeros or exponent, booleans `True`/`False` as the original Python sops wrote).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match self {
            Scalar::Str(s) => s.as_bytes().to_vec(),
            Scalar::Int(i) => i.to_string().into_bytes(),
            Scalar::Float(x) => format!("{x}").into_bytes(),
            Scalar::Bool(true) => b"True".to_vec(),
            Scalar::Bool(false) => b"False".to_vec(),
        })
    }

    /// The value as text the way it reaches a Kubernetes Secret (`5432`, `true`).
    pub fn text(&self) -> Zeroizing<String> {
        Zeroizing::new(match self {
            Scalar::Str(s) => s.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(x) => format!("{x}"),
            Scalar::Bool(b) => b.to_string(),
        })
    }
}

/// A node with the position of its first character in the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    pub value: TreeValue,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TreeValue {
    Null,
    Scalar(Scalar),
    Seq(Vec<TreeNode>),
    /// Entries in document order.
    Map(Vec<(String, TreeNode)>),
}

impl TreeNode {
    pub fn new(value: TreeValue) -> TreeNode {
        TreeNode {
            value,
            pos: Pos::default(),
        }
    }

    pub fn from_yaml(node: &Node) -> TreeNode {
        let value = match &node.value {
            Value::Null => TreeValue::Null,
            Value::Bool(b) => TreeValue::Scalar(Scalar::Bool(*b)),
            Value::Int(i) => TreeValue::Scalar(Scalar::Int(*i)),
            Value::Float(x) => TreeValue::Scalar(Scalar::Float(*x)),
            Value::String(s) => TreeValue::Scalar(Scalar::str(s.as_str())),
            Value::Seq(items) => TreeValue::Seq(items.iter().map(TreeNode::from_yaml).collect()),
            Value::Map(entries) => TreeValue::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), TreeNode::from_yaml(v)))
                    .collect(),
            ),
        };
        TreeNode {
            value,
            pos: node.pos,
        }
    }

    pub fn entries(&self) -> &[(String, TreeNode)] {
        match &self.value {
            TreeValue::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn get(&self, key: &str) -> Option<&TreeNode> {
        self.entries()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            TreeValue::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Visits every scalar leaf in document order with its key path (list items add no path
    /// component: SOPS does the same). Nulls are skipped, as SOPS skips them.
    pub fn walk_leaves<E>(
        &self,
        path: &mut Vec<String>,
        visit: &mut impl FnMut(&[String], &Scalar) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.value {
            TreeValue::Null => Ok(()),
            TreeValue::Scalar(s) => visit(path, s),
            TreeValue::Seq(items) => items.iter().try_for_each(|i| i.walk_leaves(path, visit)),
            TreeValue::Map(entries) => entries.iter().try_for_each(|(k, v)| {
                path.push(k.clone());
                let result = v.walk_leaves(path, visit);
                path.pop();
                result
            }),
        }
    }

    /// Rebuilds the tree with every scalar leaf replaced (same walk order as
    /// [`TreeNode::walk_leaves`]).
    pub fn map_leaves<E>(
        &self,
        path: &mut Vec<String>,
        f: &mut impl FnMut(&[String], &Scalar) -> Result<TreeValue, E>,
    ) -> Result<TreeNode, E> {
        let value = match &self.value {
            TreeValue::Null => TreeValue::Null,
            TreeValue::Scalar(s) => f(path, s)?,
            TreeValue::Seq(items) => TreeValue::Seq(
                items
                    .iter()
                    .map(|i| i.map_leaves(path, f))
                    .collect::<Result<_, E>>()?,
            ),
            TreeValue::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    path.push(k.clone());
                    let mapped = v.map_leaves(path, f);
                    path.pop();
                    out.push((k.clone(), mapped?));
                }
                TreeValue::Map(out)
            }
        };
        Ok(TreeNode {
            value,
            pos: self.pos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_follow_sops_to_bytes() {
        assert_eq!(&*Scalar::Bool(true).to_bytes(), b"True");
        assert_eq!(&*Scalar::Bool(false).to_bytes(), b"False");
        assert_eq!(&*Scalar::Float(1.5).to_bytes(), b"1.5");
        assert_eq!(&*Scalar::Float(2.0).to_bytes(), b"2");
        assert_eq!(&*Scalar::Int(-7).to_bytes(), b"-7");
    }

    #[test]
    fn debug_hides_values() {
        let text = format!("{:?}", Scalar::str("hunter2-value"));
        assert!(!text.contains("hunter2"), "{text}");
    }
}
