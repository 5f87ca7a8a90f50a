use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::node::{Key, Node, Pos, Value};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    #[error("{pos}: invalid YAML: {message}")]
    Syntax { pos: Pos, message: String },
    #[error("{pos}: duplicate key `{key}` (first defined at {first})")]
    DuplicateKey { pos: Pos, first: Pos, key: String },
    #[error("{pos}: unknown alias `*{anchor}`")]
    UnknownAlias { pos: Pos, anchor: usize },
    #[error("{pos}: mapping key must be a scalar")]
    ComplexKey { pos: Pos },
    #[error("expected exactly one YAML document, found {count}")]
    DocumentCount { count: usize },
}

impl YamlError {
    /// The problem without its position, for reports that print the position themselves.
    pub fn description(&self) -> String {
        let text = self.to_string();
        match self.pos() {
            Some(pos) => text
                .strip_prefix(&format!("{pos}: "))
                .unwrap_or(&text)
                .to_string(),
            None => text,
        }
    }

    pub fn pos(&self) -> Option<Pos> {
        match self {
            YamlError::Syntax { pos, .. }
            | YamlError::DuplicateKey { pos, .. }
            | YamlError::UnknownAlias { pos, .. }
            | YamlError::ComplexKey { pos } => Some(*pos),
            YamlError::DocumentCount { .. } => None,
        }
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
    },
}

/// Parses every document of a YAML stream. Empty documents become `Null` nodes.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    parse_documents_with(text, &mut None)
}

/// Parses a single-document stream the way Helm reads values files: a duplicated key does not
/// fail, the last value wins. The duplicates found are returned so callers can report them.
pub fn parse_single_lenient(text: &str) -> Result<(Node, Vec<YamlError>), YamlError> {
    let mut duplicates = Some(Vec::new());
    let mut docs = parse_documents_with(text, &mut duplicates)?;
    let node = match docs.len() {
        0 => Node {
            value: Value::Null,
            pos: Pos { line: 1, col: 1 },
            block_scalar: false,
        },
        1 => docs.remove(0),
        count => return Err(YamlError::DocumentCount { count }),
    };
    Ok((node, duplicates.unwrap_or_default()))
}

/// `duplicates`: `None` makes a duplicate key an error; `Some` collects them and keeps the last.
fn parse_documents_with(
    text: &str,
    duplicates: &mut Option<Vec<YamlError>>,
) -> Result<Vec<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut current_doc: Option<Node> = None;
    let mut in_doc = false;

    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| YamlError::Syntax {
            pos: Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
            },
            message: e.info().to_string(),
        })?;
        let pos = pos_of(&span);
        let completed: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                in_doc = true;
                current_doc = None;
                None
            }
            Event::DocumentEnd => {
                if in_doc {
                    docs.push(current_doc.take().unwrap_or(Node {
                        value: Value::Null,
                        pos,
                        block_scalar: false,
                    }));
                }
                in_doc = false;
                None
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or(YamlError::UnknownAlias { pos, anchor: id })?;
                Some((Node { pos, ..node }, 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = resolve_scalar(&text, style, tag.as_deref().map(|t| t.suffix.as_str()));
                let block_scalar = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                Some((
                    Node {
                        value,
                        pos,
                        block_scalar,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => Some((
                    Node {
                        value: Value::Seq(items),
                        pos,
                        block_scalar: false,
                    },
                    anchor,
                )),
                _ => {
                    return Err(YamlError::Syntax {
                        pos,
                        message: "unbalanced sequence".into(),
                    });
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => Some((
                    Node {
                        value: Value::Map(merge_keys(entries)),
                        pos,
                        block_scalar: false,
                    },
                    anchor,
                )),
                _ => {
                    return Err(YamlError::Syntax {
                        pos,
                        message: "unbalanced mapping".into(),
                    });
                }
            },
        };

        if let Some((node, anchor)) = completed {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            attach(&mut stack, &mut current_doc, node, duplicates)?;
        }
    }
    Ok(docs)
}

fn attach(
    stack: &mut [Frame],
    current_doc: &mut Option<Node>,
    node: Node,
    duplicates: &mut Option<Vec<YamlError>>,
) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => *current_doc = Some(node),
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map {
            entries,
            pending_key,
            ..
        }) => match pending_key.take() {
            None => {
                let name = match &node.value {
                    Value::String(s) => s.clone(),
                    Value::Null => "null".to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        return Err(YamlError::ComplexKey { pos: node.pos });
                    }
                    _ => node.scalar_text().unwrap_or_default(),
                };
                if let Some(index) = entries
                    .iter()
                    .position(|(k, _)| k.name == name && k.name != "<<")
                {
                    let error = YamlError::DuplicateKey {
                        pos: node.pos,
                        first: entries[index].0.pos,
                        key: name.clone(),
                    };
                    match duplicates {
                        Some(found) => {
                            found.push(error);
                            entries.remove(index);
                        }
                        None => return Err(error),
                    }
                }
                *pending_key = Some(Key {
                    name,
                    pos: node.pos,
                });
            }
            Some(key) => entries.push((key, node)),
        },
    }
    Ok(())
}

/// Applies YAML merge keys (`<<: *anchor`): explicit keys win over merged ones.
fn merge_keys(entries: Vec<(Key, Node)>) -> Vec<(Key, Node)> {
    if !entries.iter().any(|(k, _)| k.name == "<<") {
        return entries;
    }
    let mut out: Vec<(Key, Node)> = Vec::new();
    let mut merged: Vec<(Key, Node)> = Vec::new();
    for (key, node) in entries {
        if key.name == "<<" {
            let sources: Vec<Node> = match node.value {
                Value::Seq(items) => items,
                _ => vec![node],
            };
            for source in sources {
                for (k, v) in source.entries() {
                    if !merged.iter().any(|(m, _)| m.name == k.name) {
                        merged.push((k.clone(), v.clone()));
                    }
                }
            }
        } else {
            out.push((key, node));
        }
    }
    for (k, v) in merged {
        if !out.iter().any(|(o, _)| o.name == k.name) {
            out.push((k, v));
        }
    }
    out
}

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    if let Some(tag) = tag {
        match tag {
            "str" => return Value::String(text.to_string()),
            "int" => {
                if let Ok(i) = text.trim().parse() {
                    return Value::Int(i);
                }
            }
            "float" => {
                if let Ok(f) = text.trim().parse() {
                    return Value::Float(f);
                }
            }
            "bool" => {
                if let Some(b) = parse_bool(text) {
                    return Value::Bool(b);
                }
            }
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = parse_bool(text) {
        return Value::Bool(b);
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if let Some(f) = parse_float(text) {
        return Value::Float(f);
    }
    Value::String(text.to_string())
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() {
        return None;
    }
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(sign * value)
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = text.trim_start_matches(['-', '+']);
    let looks_numeric = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric {
        text.parse().ok()
    } else {
        None
    }
}

/// Parses a stream that must hold exactly one document (an empty stream is `Null`).
pub fn parse_single(text: &str) -> Result<Node, YamlError> {
    let mut docs = parse_documents(text)?;
    match docs.len() {
        0 => Ok(Node {
            value: Value::Null,
            pos: Pos { line: 1, col: 1 },
            block_scalar: false,
        }),
        1 => Ok(docs.remove(0)),
        count => Err(YamlError::DocumentCount { count }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_types() {
        let doc = parse_single("a: 1\nb:\n  c: \"8080\"\n  d: [x, yes]\ne: |\n  line\n").unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Int(1));
        let c = doc.path(&["b", "c"]).unwrap();
        assert_eq!(c.value, Value::String("8080".into()));
        assert_eq!(c.pos, Pos { line: 3, col: 6 });
        assert_eq!(
            doc.path(&["b", "d"]).unwrap().items()[1].value,
            Value::Bool(true)
        );
        let e = doc.get("e").unwrap();
        assert!(e.block_scalar);
        assert_eq!(e.content_pos().line, 6);
        let f = parse_single("f: >-\n\n  x\n").unwrap();
        assert_eq!(f.get("f").unwrap().content_pos().line, 2);
        assert_eq!(
            doc.locate_key(&["b".into()], "d"),
            Some(Pos { line: 4, col: 3 })
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_single("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(matches!(err, YamlError::DuplicateKey { ref key, .. } if key == "a"));
        assert_eq!(err.pos(), Some(Pos { line: 3, col: 1 }));
    }

    #[test]
    fn lenient_parse_keeps_the_last_duplicate() {
        let (doc, dups) = parse_single_lenient("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Int(3));
        assert_eq!(doc.entries().len(), 2);
        assert_eq!(dups.len(), 1);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_single("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(matches!(err, YamlError::Syntax { .. }), "{err}");
        assert!(err.pos().is_some());
    }

    #[test]
    fn anchors_and_merge_keys() {
        let doc = parse_single("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n").unwrap();
        let other = doc.get("other").unwrap();
        assert_eq!(other.get("x").unwrap().value, Value::Int(1));
        assert_eq!(other.get("y").unwrap().value, Value::Int(3));
    }

    #[test]
    fn multiple_documents() {
        let docs = parse_documents("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert!(matches!(
            parse_single("a: 1\n---\nb: 2\n"),
            Err(YamlError::DocumentCount { count: 2 })
        ));
    }

    #[test]
    fn numbers_and_strings() {
        let doc = parse_single("a: 1.5\nb: 1.16.0\nc: -3\nd: 0x1f\ne: v1\nf: ~\n").unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Float(1.5));
        assert_eq!(doc.get("b").unwrap().value, Value::String("1.16.0".into()));
        assert_eq!(doc.get("c").unwrap().value, Value::Int(-3));
        assert_eq!(doc.get("d").unwrap().value, Value::Int(31));
        assert_eq!(doc.get("e").unwrap().value, Value::String("v1".into()));
        assert_eq!(doc.get("f").unwrap().value, Value::Null);
    }
}
