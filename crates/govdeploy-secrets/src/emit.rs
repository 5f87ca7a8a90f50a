//! A small deterministic YAML writer for secrets trees, in the layout the sops tool writes
//! (four-space indentation, lists indented under their key). Scalars are written plain only
//! when reading them back gives the same value; otherwise double-quoted, or as a literal
//! block for multi-line text.

use crate::tree::{Scalar, TreeNode, TreeValue};

const INDENT: usize = 4;

/// Writes a top-level mapping (or any node) as a YAML document.
pub fn document(node: &TreeNode) -> String {
    let mut out = String::new();
    match &node.value {
        TreeValue::Map(entries) => map_entries(&mut out, entries, 0),
        _ => {
            block_value(&mut out, node, 0);
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

pub(crate) fn map_entries(out: &mut String, entries: &[(String, TreeNode)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&key_text(key));
        out.push(':');
        match &value.value {
            TreeValue::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                pad(out, indent + INDENT);
                map_entries(out, inner, indent + INDENT);
            }
            TreeValue::Seq(items) if !items.is_empty() => {
                out.push('\n');
                pad(out, indent + INDENT);
                seq_items(out, items, indent + INDENT);
            }
            _ => {
                out.push(' ');
                inline_value(out, value, indent + INDENT);
            }
        }
    }
}

fn seq_items(out: &mut String, items: &[TreeNode], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str("- ");
        block_value(out, item, indent + 2);
    }
}

/// A value after `- ` or at the top: nested collections continue on the same line.
fn block_value(out: &mut String, node: &TreeNode, indent: usize) {
    match &node.value {
        TreeValue::Map(inner) if !inner.is_empty() => map_entries(out, inner, indent),
        TreeValue::Seq(items) if !items.is_empty() => seq_items(out, items, indent),
        _ => inline_value(out, node, indent),
    }
}

fn inline_value(out: &mut String, node: &TreeNode, indent: usize) {
    match &node.value {
        TreeValue::Null => out.push_str("null\n"),
        TreeValue::Map(_) => out.push_str("{}\n"),
        TreeValue::Seq(_) => out.push_str("[]\n"),
        TreeValue::Scalar(s) => {
            out.push_str(&scalar_text(s, indent));
            out.push('\n');
        }
    }
}

fn reads_back_as_string(text: &str) -> bool {
    matches!(
        govdeploy_yaml::parse_single(text).map(|n| n.value),
        Ok(govdeploy_yaml::Value::String(s)) if s == text
    ) && !text.contains(['\n', '\r', '\t'])
        && text.trim() == text
        && !text.starts_with(['#', '*', '&', '!', '|', '>', '%', '@', '`', '"', '\''])
}

fn quoted(text: &str) -> String {
    serde_json_escape(text)
}

/// JSON string escaping is valid YAML double-quoted style.
fn serde_json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key_text(key: &str) -> String {
    if reads_back_as_string(key) && !key.contains(": ") {
        key.to_string()
    } else {
        quoted(key)
    }
}

/// Multi-line text as a literal block when that is exact: no carriage returns or tabs, no
/// leading blank line or leading spaces on the first line, no trailing spaces.
fn literal_block(text: &str, indent: usize) -> Option<String> {
    if !text.contains('\n')
        || text.contains(['\r', '\t'])
        || text.starts_with([' ', '\n'])
        || text.ends_with("\n\n")
        || text.lines().any(|l| l.ends_with(' '))
    {
        return None;
    }
    let (body, header) = match text.strip_suffix('\n') {
        Some(body) => (body, "|"),
        None => (text, "|-"),
    };
    let mut out = String::from(header);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', indent));
            out.push_str(line);
        }
    }
    Some(out)
}

pub(crate) fn scalar_text(s: &Scalar, indent: usize) -> String {
    match s {
        Scalar::Str(text) => {
            if reads_back_as_string(text) {
                text.to_string()
            } else if let Some(block) = literal_block(text, indent) {
                block
            } else {
                quoted(text)
            }
        }
        Scalar::Int(i) => i.to_string(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Float(x) if x.is_nan() => ".nan".into(),
        Scalar::Float(x) if x.is_infinite() => {
            if *x > 0.0 {
                ".inf".into()
            } else {
                "-.inf".into()
            }
        }
        Scalar::Float(x) => {
            let t = format!("{x}");
            if t.contains(['.', 'e', 'E']) {
                t
            } else {
                format!("{t}.0")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn round_trip(text: &str) {
        let node = TreeNode::from_yaml(&govdeploy_yaml::parse_single(text).unwrap());
        let out = document(&node);
        let again = TreeNode::from_yaml(&govdeploy_yaml::parse_single(&out).unwrap());
        let strip = |n: &TreeNode| {
            n.map_leaves::<()>(&mut vec![], &mut |_, s| Ok(TreeValue::Scalar(s.clone())))
                .unwrap()
        };
        assert_eq!(
            format!("{:?}", strip(&node).value).len(),
            format!("{:?}", strip(&again).value).len()
        );
        assert_eq!(document(&again), out, "{out}");
    }

    #[test]
    fn values_read_back_unchanged() {
        round_trip(
            "a: plain\nb: \"true\"\nc: \"5432\"\nd: 5432\ne: 1.5\nf: true\ng: \"x: y\"\nh: \"#hash\"\n\"on\": x\nk: \"\"\nm: |\n  line one\n  line two\nn: [a, {b: c, d: [e]}]\n",
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        let node = TreeNode::new(TreeValue::Map(vec![
            (
                "a".into(),
                TreeNode::new(TreeValue::Scalar(Scalar::str("yes"))),
            ),
            (
                "b".into(),
                TreeNode::new(TreeValue::Scalar(Scalar::str("007"))),
            ),
            (
                "c".into(),
                TreeNode::new(TreeValue::Scalar(Scalar::str(" padded"))),
            ),
            (
                "d".into(),
                TreeNode::new(TreeValue::Scalar(Scalar::str(
                    "-----BEGIN KEY-----\nabc\n-----END KEY-----\n",
                ))),
            ),
        ]));
        let out = document(&node);
        assert_eq!(
            out,
            "a: \"yes\"\nb: \"007\"\nc: \" padded\"\nd: |\n    -----BEGIN KEY-----\n    abc\n    -----END KEY-----\n"
        );
        let back = govdeploy_yaml::parse_single(&out).unwrap();
        assert_eq!(
            back.get("d").unwrap().as_str().unwrap(),
            "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
        );
    }
}
