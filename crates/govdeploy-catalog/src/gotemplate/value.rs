//! Runtime values, modelled on what Helm hands to Go templates: values are
//! `map[string]interface{}` trees decoded from JSON (numbers are float64), template literals are
//! Go `int`/`float64`/`string`/`bool`.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde_json::{Map, Value as Json};

use super::TemplateErrorKind;

/// Deepest value nesting printed or serialised (keeps recursion bounded).
pub(crate) const MAX_VALUE_DEPTH: usize = 256;

static EMPTY_MAP: LazyLock<Map<String, Json>> = LazyLock::new(Map::new);

#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    /// Go's invalid `reflect.Value`: an untyped nil (a dug-out missing value).
    Nil,
    /// A nil held in an `interface{}` slot: a missing key, a JSON null, a nil list element.
    /// Field access on it is an error, unlike on [`Value::Nil`].
    NilIface,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    List(&'a [Json]),
    Map(&'a Map<String, Json>),
    /// The top-level object (`$`): `.Values`, `.Chart`, `.Release`.
    Root,
    /// `.Chart` (`*chart.Metadata` in Helm).
    Chart,
    /// `.Release` (a map in Helm).
    Release,
}

/// An evaluation failure before it is tied to an action.
#[derive(Debug, Clone)]
pub(crate) struct Fail {
    pub kind: TemplateErrorKind,
    pub message: String,
}

pub(crate) type R<T> = Result<T, Fail>;

pub(crate) fn eval_err<T>(message: impl Into<String>) -> R<T> {
    Err(Fail {
        kind: TemplateErrorKind::Evaluation,
        message: message.into(),
    })
}

pub(crate) fn unsupported<T>(message: impl Into<String>) -> R<T> {
    Err(Fail {
        kind: TemplateErrorKind::Unsupported,
        message: message.into(),
    })
}

impl<'a> Value<'a> {
    /// The value stored in a map entry or list element.
    pub(crate) fn from_slot(j: &'a Json) -> Value<'a> {
        match j {
            Json::Null => Value::NilIface,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Value::Str(Cow::Borrowed(s)),
            Json::Array(a) => Value::List(a),
            Json::Object(m) => Value::Map(m),
        }
    }

    /// `.Values`: Helm's values are always a map; anything else is read as an empty one.
    pub(crate) fn values_root(j: &'a Json) -> Value<'a> {
        match j {
            Json::Object(m) => Value::Map(m),
            Json::Null => Value::Map(&EMPTY_MAP),
            other => Value::from_slot(other),
        }
    }

    pub(crate) fn str(s: impl Into<Cow<'a, str>>) -> Value<'a> {
        Value::Str(s.into())
    }

    /// What a pipeline stage hands on: an interface holding nil becomes an untyped nil.
    pub(crate) fn dig(self) -> Value<'a> {
        match self {
            Value::NilIface => Value::Nil,
            other => other,
        }
    }

    pub(crate) fn is_nil(&self) -> bool {
        matches!(self, Value::Nil | Value::NilIface)
    }

    /// Go's `isTrue`.
    pub(crate) fn truth(&self) -> bool {
        match self {
            Value::Nil | Value::NilIface => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Root | Value::Chart | Value::Release => true,
        }
    }

    /// sprig's `empty`.
    pub(crate) fn is_empty(&self) -> bool {
        !self.truth()
    }

    /// Go type name, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::NilIface => "interface {}",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) | Value::Release => "map[string]interface {}",
            Value::Root => "chartutil.Values",
            Value::Chart => "*chart.Metadata",
        }
    }

    /// Refuses the objects Helm builds from Go structs and context data this module does not
    /// model as plain data.
    pub(crate) fn plain(&self, what: &str) -> R<()> {
        match self {
            Value::Root => unsupported(format!("{what} of the root context is not supported")),
            Value::Chart => unsupported(format!("{what} of .Chart is not supported")),
            Value::Release => unsupported(format!("{what} of .Release is not supported")),
            _ => Ok(()),
        }
    }
}

/// Sorted keys of a JSON object (Go iterates and prints maps in key order).
pub(crate) fn sorted_keys(m: &Map<String, Json>) -> Vec<&String> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    keys
}
