use std::fmt;

/// A position in a source text: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A mapping key with its own position (the place to point at for an unknown key).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

/// A YAML node with the position of its first character.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// True for block scalars (`|`, `>`). The parser places their `pos` at the first
    /// non-blank content line.
    pub block_scalar: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    /// Entries in document order. Keys are unique: duplicates are a parse error.
    Map(Vec<(Key, Node)>),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar as text the way a template engine would print it (`8080`, `true`, `1.5`).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::String(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn kind_name(&self) -> &'static str {
        self.value.kind_name()
    }

    /// Position of the first line of a scalar's text, counting leading blank lines of block
    /// scalars, so that line `n` of the string is at `content_pos().line + n`.
    pub fn content_pos(&self) -> Pos {
        if self.block_scalar {
            let leading_blank = match &self.value {
                Value::String(s) => s.bytes().take_while(|b| *b == b'\n').count(),
                _ => 0,
            };
            Pos {
                line: self.pos.line.saturating_sub(leading_blank).max(1),
                col: self.pos.col,
            }
        } else {
            self.pos
        }
    }

    /// Converts to JSON, dropping positions. Mapping order is preserved.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Finds the node at a JSON-pointer-like path of keys and indices, returning the deepest
    /// node reached (so a missing key still points at its parent).
    pub fn locate(&self, path: &[String]) -> Pos {
        let mut node = self;
        for segment in path {
            let next = match &node.value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| &k.name == segment)
                    .map(|(_, v)| v),
                Value::Seq(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.pos
    }

    /// Position of the key `name` inside the mapping at `path` (for unknown-key reports).
    pub fn locate_key(&self, path: &[String], name: &str) -> Option<Pos> {
        let mut node = self;
        for segment in path {
            node = match &node.value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| &k.name == segment)
                    .map(|(_, v)| v)?,
                Value::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        node.entries()
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k.pos)
    }
}

impl Value {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
}
