//! The parse tree (Go's `parse.Node` kinds, reduced to the supported subset).

use super::Span;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    /// `{{ pipeline }}`: prints the value unless the pipeline declares variables.
    Action {
        span: Span,
        pipe: Pipeline,
    },
    If(Control),
    With(Control),
    Range(Control),
    /// `{{ template "name" pipeline }}`.
    Template {
        span: Span,
        name: String,
        pipe: Option<Pipeline>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Control {
    /// The `{{if ...}}` (or `{{else if ...}}`) action.
    pub span: Span,
    pub pipe: Pipeline,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipeline {
    /// Declared or assigned variables (with `$`).
    pub decl: Vec<String>,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    /// The first argument is the function (or the operand when it is not a function).
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Number(Number),
    /// Decoded string literal.
    Str(String),
    /// `.a.b` (names without dots).
    Field(Vec<String>),
    /// `$x.a.b`: the variable (with `$`) and the fields.
    Variable(String, Vec<String>),
    /// A function name.
    Ident(String),
    /// `( pipeline )`.
    Pipe(Box<Pipeline>),
    /// `(pipeline).a.b`.
    Chain(Box<Arg>, Vec<String>),
}

impl Arg {
    /// How the argument reads in an error message (Go's `Node.String`).
    pub(crate) fn describe(&self) -> String {
        match self {
            Arg::Dot => ".".to_string(),
            Arg::Nil => "nil".to_string(),
            Arg::Bool(b) => b.to_string(),
            Arg::Number(n) => n.text.clone(),
            Arg::Str(s) => format!("{s:?}"),
            Arg::Field(f) => f.iter().map(|f| format!(".{f}")).collect(),
            Arg::Variable(v, f) => {
                let mut s = v.clone();
                for f in f {
                    s.push('.');
                    s.push_str(f);
                }
                s
            }
            Arg::Ident(i) => i.clone(),
            Arg::Pipe(_) => "(...)".to_string(),
            Arg::Chain(base, f) => {
                let mut s = base.describe();
                for f in f {
                    s.push('.');
                    s.push_str(f);
                }
                s
            }
        }
    }
}

/// A number literal with the interpretations Go's parser derives from its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Number {
    pub text: String,
    /// Set when the value is an integer that fits in int64 (also for `1.0`, `1e3`).
    pub int: Option<i64>,
    /// Set for every number that is not an overflowing integer.
    pub float: Option<f64>,
    /// A character constant (`'a'`).
    pub is_char: bool,
    /// An integer above int64 range (Go: "overflows int" when used).
    pub uint_only: bool,
}
