//! Builds the parse tree from lexed segments, following Go's `text/template/parse/parse.go`
//! (pipelines, declarations, control structures, variable scoping checks).

use super::ast::{Arg, Command, Control, Node, Number, Pipeline};
use super::funcs::{self, FnStatus};
use super::lexer::{self, Keyword, Segment, Tok};
use super::{Span, TemplateError, TemplateErrorKind};

/// Deepest nesting of control structures and parentheses accepted (keeps recursion bounded).
pub(crate) const MAX_NESTING: usize = 100;

pub(crate) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let segments = lexer::lex(src)?;
    let mut parser = Parser {
        src,
        segments: segments.into_iter(),
        vars: vec!["$".to_string()],
        depth: 0,
    };
    let (list, term) = parser.item_list()?;
    match term {
        Term::Eof => Ok(list),
        Term::End(span) => Err(parser.syntax(span, "unexpected {{end}}")),
        Term::Else(span, _) => Err(parser.syntax(span, "unexpected {{else}}")),
    }
}

/// What ended an item list.
enum Term {
    Eof,
    End(Span),
    /// `{{else ...}}` with the tokens after `else`.
    Else(Span, Cursor),
}

struct Cursor {
    toks: Vec<Tok>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(Tok::Space)) {
            self.pos += 1;
        }
    }

    fn peek_non_space(&mut self) -> Option<&Tok> {
        self.skip_spaces();
        self.peek()
    }

    fn next_non_space(&mut self) -> Option<Tok> {
        self.skip_spaces();
        self.next()
    }
}

/// Where a pipeline ends: at the closing delimiter (end of the action's tokens) or at `)`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PipeEnd {
    Delim,
    Paren,
}

struct Parser<'s> {
    src: &'s str,
    segments: std::vec::IntoIter<Segment>,
    /// Variables in scope (Go checks uses at parse time).
    vars: Vec<String>,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, span: Span, kind: TemplateErrorKind, msg: impl Into<String>) -> TemplateError {
        TemplateError::at(self.src, span, kind, msg)
    }

    fn syntax(&self, span: Span, msg: impl Into<String>) -> TemplateError {
        self.err(span, TemplateErrorKind::Syntax, msg)
    }

    fn unsupported(&self, span: Span, msg: impl Into<String>) -> TemplateError {
        self.err(span, TemplateErrorKind::Unsupported, msg)
    }

    fn enter(&mut self, span: Span) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.unsupported(
                span,
                format!("nesting deeper than {MAX_NESTING} levels is not supported"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn item_list(&mut self) -> Result<(Vec<Node>, Term), TemplateError> {
        let mut list = Vec::new();
        while let Some(segment) = self.segments.next() {
            let (span, toks) = match segment {
                Segment::Text(t) => {
                    list.push(Node::Text(t));
                    continue;
                }
                Segment::Action { span, toks } => (span, toks),
            };
            let mut cur = Cursor { toks, pos: 0 };
            let keyword = match cur.peek_non_space() {
                Some(Tok::Kw(k)) => Some(*k),
                _ => None,
            };
            match keyword {
                Some(Keyword::End) => {
                    cur.next_non_space();
                    self.expect_end(span, &mut cur, "end")?;
                    return Ok((list, Term::End(span)));
                }
                Some(Keyword::Else) => {
                    cur.next_non_space();
                    return Ok((list, Term::Else(span, cur)));
                }
                Some(Keyword::If) => {
                    cur.next_non_space();
                    list.push(Node::If(self.control(span, cur, Keyword::If)?));
                }
                Some(Keyword::With) => {
                    cur.next_non_space();
                    list.push(Node::With(self.control(span, cur, Keyword::With)?));
                }
                Some(Keyword::Range) => {
                    cur.next_non_space();
                    list.push(Node::Range(self.control(span, cur, Keyword::Range)?));
                }
                Some(Keyword::Template) => {
                    cur.next_non_space();
                    list.push(self.template_control(span, cur)?);
                }
                Some(
                    k @ (Keyword::Define | Keyword::Block | Keyword::Break | Keyword::Continue),
                ) => {
                    return Err(
                        self.unsupported(span, format!("{{{{{}}}}} is not supported", k.name()))
                    );
                }
                None => {
                    let pipe = self.pipeline(span, &mut cur, "command", PipeEnd::Delim)?;
                    list.push(Node::Action { span, pipe });
                }
            }
        }
        Ok((list, Term::Eof))
    }

    fn expect_end(&self, span: Span, cur: &mut Cursor, context: &str) -> Result<(), TemplateError> {
        match cur.next_non_space() {
            None => Ok(()),
            Some(t) => Err(self.syntax(span, format!("unexpected {} in {context}", t.describe()))),
        }
    }

    /// `if`, `with` or `range` after the keyword: pipeline, body, optional else, end.
    fn control(
        &mut self,
        span: Span,
        mut cur: Cursor,
        kind: Keyword,
    ) -> Result<Control, TemplateError> {
        self.enter(span)?;
        let mark = self.vars.len();
        let result = self.control_inner(span, &mut cur, kind);
        self.vars.truncate(mark);
        self.leave();
        result
    }

    fn control_inner(
        &mut self,
        span: Span,
        cur: &mut Cursor,
        kind: Keyword,
    ) -> Result<Control, TemplateError> {
        let pipe = self.pipeline(span, cur, kind.name(), PipeEnd::Delim)?;
        let unclosed = |p: &Self| {
            p.syntax(
                span,
                format!(
                    "unexpected EOF: {{{{{}}}}} has no matching {{{{end}}}}",
                    kind.name()
                ),
            )
        };
        let (list, term) = self.item_list()?;
        let else_list = match term {
            Term::Eof => return Err(unclosed(self)),
            Term::End(_) => None,
            Term::Else(else_span, mut else_cur) => {
                let chained = match else_cur.peek_non_space() {
                    Some(Tok::Kw(k @ (Keyword::If | Keyword::With))) => Some(*k),
                    _ => None,
                };
                match chained {
                    Some(k) if k == kind => {
                        else_cur.next_non_space();
                        let inner = self.control(else_span, else_cur, k)?;
                        Some(vec![if k == Keyword::If {
                            Node::If(inner)
                        } else {
                            Node::With(inner)
                        }])
                    }
                    Some(k) => {
                        return Err(self.syntax(
                            else_span,
                            format!(
                                "{{{{else {}}}}} is not allowed in {{{{{}}}}}",
                                k.name(),
                                kind.name()
                            ),
                        ));
                    }
                    None => {
                        self.expect_end(else_span, &mut else_cur, "else")?;
                        let (else_list, term) = self.item_list()?;
                        match term {
                            Term::End(_) => Some(else_list),
                            Term::Eof => return Err(unclosed(self)),
                            Term::Else(s, _) => {
                                return Err(self.syntax(s, "expected {{end}}; found {{else}}"));
                            }
                        }
                    }
                }
            }
        };
        Ok(Control {
            span,
            pipe,
            list,
            else_list,
        })
    }

    fn template_control(&mut self, span: Span, mut cur: Cursor) -> Result<Node, TemplateError> {
        let name = match cur.next_non_space() {
            Some(Tok::Str(s, _)) => s,
            Some(t) => {
                return Err(self.syntax(
                    span,
                    format!("unexpected {} in template clause", t.describe()),
                ));
            }
            None => return Err(self.syntax(span, "missing template name in template clause")),
        };
        let pipe = if cur.peek_non_space().is_none() {
            None
        } else {
            Some(self.pipeline(span, &mut cur, "template clause", PipeEnd::Delim)?)
        };
        Ok(Node::Template { span, name, pipe })
    }

    fn pipeline(
        &mut self,
        span: Span,
        cur: &mut Cursor,
        context: &str,
        end: PipeEnd,
    ) -> Result<Pipeline, TemplateError> {
        let mut pipe = Pipeline {
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        // Declarations or assignments.
        while let Some(Tok::Variable(name)) = cur.peek_non_space().cloned() {
            let save = cur.pos;
            cur.next_non_space();
            match cur.peek_non_space() {
                Some(Tok::Assign | Tok::Declare) => {
                    pipe.is_assign = matches!(cur.next_non_space(), Some(Tok::Assign));
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    break;
                }
                Some(Tok::Comma) => {
                    cur.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        match cur.peek_non_space() {
                            Some(Tok::Variable(_) | Tok::RParen) | None => continue,
                            Some(_) => {
                                return Err(
                                    self.syntax(span, "range can only initialize variables")
                                );
                            }
                        }
                    }
                    return Err(self.syntax(span, format!("too many declarations in {context}")));
                }
                _ => {
                    cur.pos = save;
                    break;
                }
            }
        }
        loop {
            cur.skip_spaces();
            match cur.peek() {
                None if end == PipeEnd::Delim => break,
                Some(Tok::RParen) if end == PipeEnd::Paren => break,
                None => return Err(self.syntax(span, "unclosed left paren")),
                Some(
                    Tok::Bool(_)
                    | Tok::Char(..)
                    | Tok::Dot
                    | Tok::Field(_)
                    | Tok::Ident(_)
                    | Tok::Number(_)
                    | Tok::Nil
                    | Tok::Str(..)
                    | Tok::Variable(_)
                    | Tok::LParen,
                ) => {
                    let cmd = self.command(span, cur)?;
                    pipe.cmds.push(cmd);
                }
                Some(t) => {
                    return Err(
                        self.syntax(span, format!("unexpected {} in {context}", t.describe()))
                    );
                }
            }
        }
        if pipe.cmds.is_empty() {
            return Err(self.syntax(span, format!("missing value for {context}")));
        }
        for (i, cmd) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                cmd.args.first(),
                Some(Arg::Bool(_) | Arg::Dot | Arg::Nil | Arg::Number(_) | Arg::Str(_))
            ) {
                return Err(self.syntax(
                    span,
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        Ok(pipe)
    }

    fn command(&mut self, span: Span, cur: &mut Cursor) -> Result<Command, TemplateError> {
        let mut args = Vec::new();
        loop {
            cur.skip_spaces();
            if let Some(arg) = self.operand(span, cur)? {
                args.push(arg);
            }
            match cur.peek() {
                Some(Tok::Space) => {
                    cur.next();
                    continue;
                }
                None | Some(Tok::RParen) => {}
                Some(Tok::Pipe) => {
                    cur.next();
                }
                Some(t) => {
                    return Err(
                        self.syntax(span, format!("unexpected {} in operand", t.describe()))
                    );
                }
            }
            break;
        }
        if args.is_empty() {
            return Err(self.syntax(span, "empty command"));
        }
        Ok(Command { args })
    }

    fn operand(&mut self, span: Span, cur: &mut Cursor) -> Result<Option<Arg>, TemplateError> {
        let Some(term) = self.term(span, cur)? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        while let Some(Tok::Field(f)) = cur.peek() {
            fields.push(f.clone());
            cur.next();
        }
        if fields.is_empty() {
            return Ok(Some(term));
        }
        Ok(Some(match term {
            Arg::Field(mut base) => {
                base.extend(fields);
                Arg::Field(base)
            }
            Arg::Variable(v, mut base) => {
                base.extend(fields);
                Arg::Variable(v, base)
            }
            Arg::Bool(_) | Arg::Str(_) | Arg::Number(_) | Arg::Nil | Arg::Dot => {
                return Err(self.syntax(
                    span,
                    format!("unexpected . after term {:?}", term.describe()),
                ));
            }
            other => Arg::Chain(Box::new(other), fields),
        }))
    }

    fn term(&mut self, span: Span, cur: &mut Cursor) -> Result<Option<Arg>, TemplateError> {
        cur.skip_spaces();
        let Some(tok) = cur.peek().cloned() else {
            return Ok(None);
        };
        let arg = match tok {
            Tok::Ident(name) => match funcs::status(&name) {
                FnStatus::Supported => Arg::Ident(name),
                FnStatus::Unsupported => {
                    return Err(
                        self.unsupported(span, format!("function {name:?} is not supported"))
                    );
                }
                FnStatus::Unknown => {
                    return Err(self.syntax(span, format!("function {name:?} not defined")));
                }
            },
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Variable(v) => {
                if !self.vars.contains(&v) {
                    return Err(self.syntax(span, format!("undefined variable {v:?}")));
                }
                Arg::Variable(v, Vec::new())
            }
            Tok::Field(f) => Arg::Field(vec![f]),
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Number(text) => Arg::Number(self.number(span, &text)?),
            Tok::Char(v, text) => Arg::Number(Number {
                text,
                int: Some(v),
                float: Some(v as f64),
                is_char: true,
                uint_only: false,
            }),
            Tok::Str(s, _) => Arg::Str(s),
            Tok::LParen => {
                cur.next();
                self.enter(span)?;
                let pipe = self.pipeline(span, cur, "parenthesized pipeline", PipeEnd::Paren);
                self.leave();
                let pipe = pipe?;
                return match cur.next() {
                    Some(Tok::RParen) => Ok(Some(Arg::Pipe(Box::new(pipe)))),
                    _ => Err(self.syntax(span, "unclosed left paren")),
                };
            }
            _ => return Ok(None),
        };
        cur.next();
        Ok(Some(arg))
    }

    /// Go's `newNumber`.
    fn number(&self, span: Span, text: &str) -> Result<Number, TemplateError> {
        if text.contains('_') {
            return Err(self.unsupported(
                span,
                format!("number {text:?} with underscores is not supported"),
            ));
        }
        if text.ends_with('i') {
            return Err(
                self.unsupported(span, format!("imaginary number {text:?} is not supported"))
            );
        }
        let mut n = Number {
            text: text.to_string(),
            int: None,
            float: None,
            is_char: false,
            uint_only: false,
        };
        if let Some(i) = parse_go_int(text) {
            n.int = Some(i);
            n.float = Some(i as f64);
            return Ok(n);
        }
        if let Some(u) = parse_go_uint(text) {
            n.uint_only = true;
            n.float = Some(u as f64);
            return Ok(n);
        }
        let lower = text.to_ascii_lowercase();
        let hex = ["0x", "-0x", "+0x"].iter().any(|p| lower.starts_with(p));
        if hex && lower.contains('p') {
            return Err(
                self.unsupported(span, format!("hexadecimal float {text:?} is not supported"))
            );
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => {
                if !text.contains(['.', 'e', 'E']) {
                    return Err(self.syntax(span, format!("integer overflow: {text:?}")));
                }
                n.float = Some(f);
                if f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f) {
                    n.int = Some(f as i64);
                }
                Ok(n)
            }
            _ => Err(self.syntax(span, format!("illegal number syntax: {text:?}"))),
        }
    }
}

/// 2^63, the bound of int64 as a float.
pub(crate) const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Splits an optional sign and a base prefix as Go's `ParseInt(s, 0, 64)` does.
fn split_go_int(text: &str) -> Option<(bool, u32, &str)> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some((neg, radix, digits))
}

pub(crate) fn parse_go_int(text: &str) -> Option<i64> {
    let (neg, radix, digits) = split_go_int(text)?;
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude == 1u64 << 63 {
            Some(i64::MIN)
        } else {
            i64::try_from(magnitude).ok().map(|v| -v)
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn parse_go_uint(text: &str) -> Option<u64> {
    let (neg, radix, digits) = split_go_int(text)?;
    if neg || text.starts_with('+') {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}
