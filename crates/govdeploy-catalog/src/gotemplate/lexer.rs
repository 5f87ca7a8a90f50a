//! Splits a template into text and actions and tokenises each action, following Go's
//! `text/template/parse/lex.go` (trim markers, comments, numbers, quoting rules).

use super::{Span, TemplateError, TemplateErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    If,
    Else,
    End,
    Range,
    With,
    Template,
    Define,
    Block,
    Break,
    Continue,
}

impl Keyword {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Keyword::If => "if",
            Keyword::Else => "else",
            Keyword::End => "end",
            Keyword::Range => "range",
            Keyword::With => "with",
            Keyword::Template => "template",
            Keyword::Define => "define",
            Keyword::Block => "block",
            Keyword::Break => "break",
            Keyword::Continue => "continue",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Space,
    Dot,
    /// `.name` (without the dot).
    Field(String),
    /// `$` or `$name` (with the dollar).
    Variable(String),
    Ident(String),
    Kw(Keyword),
    Bool(bool),
    Nil,
    /// Number text as written.
    Number(String),
    /// A character constant: its code point and its text.
    Char(i64, String),
    /// A string literal: decoded value and source text.
    Str(String, String),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    Other(char),
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Space => "space".to_string(),
            Tok::Dot => "`.`".to_string(),
            Tok::Field(f) => format!("field `.{f}`"),
            Tok::Variable(v) => format!("variable `{v}`"),
            Tok::Ident(i) => format!("identifier `{i}`"),
            Tok::Kw(k) => format!("keyword `{}`", k.name()),
            Tok::Bool(b) => format!("`{b}`"),
            Tok::Nil => "`nil`".to_string(),
            Tok::Number(n) => format!("number `{n}`"),
            Tok::Char(_, t) => format!("character constant `{t}`"),
            Tok::Str(_, t) => format!("string {t}"),
            Tok::LParen => "`(`".to_string(),
            Tok::RParen => "`)`".to_string(),
            Tok::Pipe => "`|`".to_string(),
            Tok::Declare => "`:=`".to_string(),
            Tok::Assign => "`=`".to_string(),
            Tok::Comma => "`,`".to_string(),
            Tok::Other(c) => format!("`{c}`"),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Segment {
    Text(String),
    Action { span: Span, toks: Vec<Tok> },
}

/// Go's `isSpace` inside actions and for trimming: space, tab, CR, LF.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

/// Right delimiter at the start of `s`: `Some(length)` for `}}` (2) or ` -}}` (4).
fn at_right_delim(s: &str) -> Option<(usize, bool)> {
    let b = s.as_bytes();
    if b.len() >= 4 && is_space(b[0] as char) && b[1] == b'-' && &b[2..4] == b"}}" {
        return Some((4, true));
    }
    if s.starts_with("}}") {
        return Some((2, false));
    }
    None
}

/// Splits `src` into text and tokenised actions. Comments vanish; trim markers are applied to
/// the neighbouring text.
pub(crate) fn lex(src: &str) -> Result<Vec<Segment>, TemplateError> {
    let mut segments = Vec::new();
    let mut pos = 0usize;
    let mut trim_leading = false;
    loop {
        let found = src[pos..].find("{{").map(|i| pos + i);
        let text_end = found.unwrap_or(src.len());
        let mut text = &src[pos..text_end];
        if trim_leading {
            text = text.trim_start_matches(is_space);
        }
        if let Some(open) = found
            && has_left_trim_marker(&src[open + 2..])
        {
            text = text.trim_end_matches(is_space);
        }
        if !text.is_empty() {
            segments.push(Segment::Text(text.to_string()));
        }
        let Some(open) = found else { break };
        let action = lex_action(src, open)?;
        if let Some(toks) = action.toks {
            segments.push(Segment::Action {
                span: Span {
                    start: open,
                    end: action.end,
                },
                toks,
            });
        }
        pos = action.end;
        trim_leading = action.trim_right;
    }
    Ok(segments)
}

struct LexedAction {
    /// `None` for a comment.
    toks: Option<Vec<Tok>>,
    /// Byte offset just after the closing delimiter.
    end: usize,
    trim_right: bool,
}

/// End of the line containing `from` (for quoting an unterminated action).
fn line_end(src: &str, from: usize) -> usize {
    src[from..].find('\n').map_or(src.len(), |i| from + i)
}

fn lex_action(src: &str, open: usize) -> Result<LexedAction, TemplateError> {
    let mut p = open + 2;
    if has_left_trim_marker(&src[p..]) {
        p += 2;
    }
    let err_here = |kind: TemplateErrorKind, msg: String, end: usize| {
        TemplateError::at(src, Span { start: open, end }, kind, msg)
    };
    if src[p..].starts_with("/*") {
        let body = p + 2;
        let Some(close) = src[body..].find("*/") else {
            return Err(err_here(
                TemplateErrorKind::Syntax,
                "unclosed comment".to_string(),
                line_end(src, open),
            ));
        };
        let after = body + close + 2;
        return match at_right_delim(&src[after..]) {
            Some((len, trim)) => Ok(LexedAction {
                toks: None,
                end: after + len,
                trim_right: trim,
            }),
            None => Err(err_here(
                TemplateErrorKind::Syntax,
                "comment ends before closing delimiter".to_string(),
                after,
            )),
        };
    }
    let mut toks = Vec::new();
    let mut paren_depth = 0usize;
    loop {
        let rest = &src[p..];
        if let Some((len, trim)) = at_right_delim(rest) {
            if paren_depth == 0 {
                return Ok(LexedAction {
                    toks: Some(toks),
                    end: p + len,
                    trim_right: trim,
                });
            }
            return Err(err_here(
                TemplateErrorKind::Syntax,
                "unclosed left paren".to_string(),
                p + len,
            ));
        }
        let Some(c) = rest.chars().next() else {
            return Err(err_here(
                TemplateErrorKind::Syntax,
                "unclosed action".to_string(),
                line_end(src, open),
            ));
        };
        let syntax = |msg: String, end: usize| err_here(TemplateErrorKind::Syntax, msg, end);
        match c {
            c if is_space(c) => {
                let n = rest.chars().take_while(|c| is_space(*c)).count();
                let q = p + n; // spaces are single bytes
                // A trim-marked closing delimiter owns the last space.
                if at_right_delim(&src[q - 1..]).is_some_and(|(_, trim)| trim) {
                    if n > 1 {
                        toks.push(Tok::Space);
                    }
                    p = q - 1;
                } else {
                    toks.push(Tok::Space);
                    p = q;
                }
            }
            '=' => {
                toks.push(Tok::Assign);
                p += 1;
            }
            ':' => {
                if rest[1..].starts_with('=') {
                    toks.push(Tok::Declare);
                    p += 2;
                } else {
                    return Err(syntax("expected :=".to_string(), p + 1));
                }
            }
            '|' => {
                toks.push(Tok::Pipe);
                p += 1;
            }
            '"' => {
                let (tok, next) = lex_quote(src, open, p)?;
                toks.push(tok);
                p = next;
            }
            '`' => {
                let Some(close) = rest[1..].find('`') else {
                    return Err(syntax(
                        "unterminated raw quoted string".to_string(),
                        line_end(src, p),
                    ));
                };
                let raw = &rest[1..1 + close];
                let value: String = raw.chars().filter(|c| *c != '\r').collect();
                toks.push(Tok::Str(value, rest[..close + 2].to_string()));
                p += close + 2;
            }
            '\'' => {
                let (tok, next) = lex_char(src, open, p)?;
                toks.push(tok);
                p = next;
            }
            '$' => {
                let (name, next) = lex_name(src, open, p + 1)?;
                toks.push(Tok::Variable(format!("${name}")));
                p = next;
            }
            '.' if !rest[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                if at_terminator(&src[p + 1..]) {
                    toks.push(Tok::Dot);
                    p += 1;
                } else {
                    let (name, next) = lex_name(src, open, p + 1)?;
                    toks.push(Tok::Field(name));
                    p = next;
                }
            }
            '.' | '+' | '-' | '0'..='9' => {
                let (tok, next) = lex_number(src, open, p)?;
                toks.push(tok);
                p = next;
            }
            c if is_alnum(c) => {
                let len: usize = rest
                    .chars()
                    .take_while(|c| is_alnum(*c))
                    .map(char::len_utf8)
                    .sum();
                let word = &rest[..len];
                let next = p + len;
                if !at_terminator(&src[next..]) {
                    return Err(bad_character(src, open, next));
                }
                toks.push(match word {
                    "if" => Tok::Kw(Keyword::If),
                    "else" => Tok::Kw(Keyword::Else),
                    "end" => Tok::Kw(Keyword::End),
                    "range" => Tok::Kw(Keyword::Range),
                    "with" => Tok::Kw(Keyword::With),
                    "template" => Tok::Kw(Keyword::Template),
                    "define" => Tok::Kw(Keyword::Define),
                    "block" => Tok::Kw(Keyword::Block),
                    "break" => Tok::Kw(Keyword::Break),
                    "continue" => Tok::Kw(Keyword::Continue),
                    "nil" => Tok::Nil,
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    _ => Tok::Ident(word.to_string()),
                });
                p = next;
            }
            '(' => {
                paren_depth += 1;
                toks.push(Tok::LParen);
                p += 1;
            }
            ')' => {
                if paren_depth == 0 {
                    return Err(syntax("unexpected right paren".to_string(), p + 1));
                }
                paren_depth -= 1;
                toks.push(Tok::RParen);
                p += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                p += 1;
            }
            c if c.is_ascii() && !c.is_ascii_control() => {
                toks.push(Tok::Other(c));
                p += 1;
            }
            c => {
                return Err(syntax(
                    format!("unrecognized character in action: U+{:04X}", c as u32),
                    p + c.len_utf8(),
                ));
            }
        }
    }
}

fn bad_character(src: &str, open: usize, at: usize) -> TemplateError {
    let msg = match src[at..].chars().next() {
        Some(c) => format!("bad character U+{:04X} {c:?}", c as u32),
        None => "bad character at end of input".to_string(),
    };
    TemplateError::at(
        src,
        Span {
            start: open,
            end: line_end(src, at),
        },
        TemplateErrorKind::Syntax,
        msg,
    )
}

/// Go's `atTerminator`: what may follow an identifier, field or variable.
fn at_terminator(s: &str) -> bool {
    match s.chars().next() {
        None => true,
        Some(c) if is_space(c) => true,
        Some('.' | ',' | '|' | ':' | ')' | '(') => true,
        Some(_) => s.starts_with("}}"),
    }
}

/// Alphanumeric run starting at `from`, which must end at a terminator.
fn lex_name(src: &str, open: usize, from: usize) -> Result<(String, usize), TemplateError> {
    let rest = &src[from..];
    if at_terminator(rest) {
        return Ok((String::new(), from));
    }
    let len: usize = rest
        .chars()
        .take_while(|c| is_alnum(*c))
        .map(char::len_utf8)
        .sum();
    let next = from + len;
    if !at_terminator(&src[next..]) {
        return Err(bad_character(src, open, next));
    }
    Ok((rest[..len].to_string(), next))
}

fn lex_quote(src: &str, open: usize, start: usize) -> Result<(Tok, usize), TemplateError> {
    let mut iter = src[start + 1..].char_indices();
    let close = loop {
        match iter.next() {
            Some((_, '\\')) => match iter.next() {
                Some((_, c)) if c != '\n' => {}
                _ => {
                    return Err(TemplateError::at(
                        src,
                        Span {
                            start: open,
                            end: line_end(src, start),
                        },
                        TemplateErrorKind::Syntax,
                        "unterminated quoted string",
                    ));
                }
            },
            Some((i, '"')) => break start + 1 + i,
            Some((_, '\n')) | None => {
                return Err(TemplateError::at(
                    src,
                    Span {
                        start: open,
                        end: line_end(src, start),
                    },
                    TemplateErrorKind::Syntax,
                    "unterminated quoted string",
                ));
            }
            Some(_) => {}
        }
    };
    let text = &src[start..=close];
    let value = unquote(&src[start + 1..close], '"').map_err(|(kind, msg)| {
        TemplateError::at(
            src,
            Span {
                start: open,
                end: line_end(src, close),
            },
            kind,
            format!("{msg} in string {text}"),
        )
    })?;
    Ok((Tok::Str(value, text.to_string()), close + 1))
}

fn lex_char(src: &str, open: usize, start: usize) -> Result<(Tok, usize), TemplateError> {
    let err = |msg: String| {
        TemplateError::at(
            src,
            Span {
                start: open,
                end: line_end(src, start),
            },
            TemplateErrorKind::Syntax,
            msg,
        )
    };
    let mut iter = src[start + 1..].char_indices();
    let close = loop {
        match iter.next() {
            Some((_, '\\')) => match iter.next() {
                Some((_, c)) if c != '\n' => {}
                _ => return Err(err("unterminated character constant".to_string())),
            },
            Some((i, '\'')) => break start + 1 + i,
            Some((_, '\n')) | None => {
                return Err(err("unterminated character constant".to_string()));
            }
            Some(_) => {}
        }
    };
    let text = &src[start..=close];
    let body = &src[start + 1..close];
    let mut chars = body.chars().peekable();
    let value = match chars.next() {
        None => return Err(err(format!("malformed character constant: {text}"))),
        Some('\\') => {
            let v =
                decode_escape(&mut chars, '\'').map_err(|(_, m)| err(format!("{m} in {text}")))?;
            match v {
                Decoded::Char(c) => c as i64,
                Decoded::Byte(b) => i64::from(b),
            }
        }
        Some(c) => c as i64,
    };
    if chars.next().is_some() {
        return Err(err(format!("malformed character constant: {text}")));
    }
    Ok((Tok::Char(value, text.to_string()), close + 1))
}

fn lex_number(src: &str, open: usize, start: usize) -> Result<(Tok, usize), TemplateError> {
    let bad = |end: usize| {
        TemplateError::at(
            src,
            Span {
                start: open,
                end: line_end(src, end),
            },
            TemplateErrorKind::Syntax,
            format!("bad number syntax: {:?}", &src[start..end]),
        )
    };
    let (ok, end) = scan_number(src, start);
    if !ok {
        return Err(bad(end));
    }
    if src[end..].starts_with(['+', '-']) {
        // Go reads `1+2i` as a complex constant; anything else here is malformed.
        let (ok2, end2) = scan_number(src, end);
        if ok2 && src[..end2].ends_with('i') {
            return Err(TemplateError::at(
                src,
                Span {
                    start: open,
                    end: line_end(src, end2),
                },
                TemplateErrorKind::Unsupported,
                format!("complex number {:?} is not supported", &src[start..end2]),
            ));
        }
        return Err(bad(end2));
    }
    Ok((Tok::Number(src[start..end].to_string()), end))
}

/// Go's `scanNumber`: returns whether the number is well terminated and where it ends.
fn scan_number(src: &str, start: usize) -> (bool, usize) {
    let b = src.as_bytes();
    let mut p = start;
    let accept = |p: &mut usize, set: &[u8]| -> bool {
        if *p < b.len() && set.contains(&b[*p]) {
            *p += 1;
            true
        } else {
            false
        }
    };
    let accept_run = |p: &mut usize, set: &[u8]| {
        while *p < b.len() && set.contains(&b[*p]) {
            *p += 1;
        }
    };
    accept(&mut p, b"+-");
    let mut digits: &[u8] = b"0123456789_";
    if accept(&mut p, b"0") {
        if accept(&mut p, b"xX") {
            digits = b"0123456789abcdefABCDEF_";
        } else if accept(&mut p, b"oO") {
            digits = b"01234567_";
        } else if accept(&mut p, b"bB") {
            digits = b"01_";
        }
    }
    accept_run(&mut p, digits);
    if accept(&mut p, b".") {
        accept_run(&mut p, digits);
    }
    if digits.len() == 11 && accept(&mut p, b"eE") {
        accept(&mut p, b"+-");
        accept_run(&mut p, b"0123456789_");
    }
    if digits.len() == 23 && accept(&mut p, b"pP") {
        accept(&mut p, b"+-");
        accept_run(&mut p, b"0123456789_");
    }
    accept(&mut p, b"i");
    if let Some(c) = src[p..].chars().next()
        && is_alnum(c)
    {
        return (false, p + c.len_utf8());
    }
    (true, p)
}

pub(crate) enum Decoded {
    Char(char),
    Byte(u8),
}

type EscapeError = (TemplateErrorKind, String);

/// Decodes one escape sequence after the backslash (Go's `strconv.UnquoteChar`).
fn decode_escape(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    quote: char,
) -> Result<Decoded, EscapeError> {
    let syntax = |m: &str| (TemplateErrorKind::Syntax, m.to_string());
    let Some(c) = chars.next() else {
        return Err(syntax("invalid escape"));
    };
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' if c == quote => Some(c),
        _ => None,
    };
    if let Some(s) = simple {
        return Ok(Decoded::Char(s));
    }
    let mut take_digits = |n: usize, radix: u32| -> Result<u32, EscapeError> {
        let mut v: u32 = 0;
        for _ in 0..n {
            let d = chars
                .next()
                .and_then(|c| c.to_digit(radix))
                .ok_or_else(|| syntax("invalid escape"))?;
            v = v * radix + d;
        }
        Ok(v)
    };
    match c {
        'x' => {
            let v = take_digits(2, 16)?;
            Ok(Decoded::Byte(v as u8))
        }
        'u' | 'U' => {
            let n = if c == 'u' { 4 } else { 8 };
            let v = take_digits(n, 16)?;
            char::from_u32(v)
                .map(Decoded::Char)
                .ok_or_else(|| syntax("invalid Unicode code point in escape"))
        }
        '0'..='7' => {
            let rest = take_digits(2, 8)?;
            let v = (c as u32 - '0' as u32) * 64 + rest;
            if v > 255 {
                return Err(syntax("octal escape value > 255"));
            }
            Ok(Decoded::Byte(v as u8))
        }
        _ => Err(syntax("invalid escape")),
    }
}

/// Go's `strconv.Unquote` for the body of a double-quoted string.
fn unquote(body: &str, quote: char) -> Result<String, EscapeError> {
    let mut bytes: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match decode_escape(&mut chars, quote)? {
                Decoded::Char(ch) => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                Decoded::Byte(b) => bytes.push(b),
            }
        } else if c == quote {
            return Err((TemplateErrorKind::Syntax, "unescaped quote".to_string()));
        } else {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    String::from_utf8(bytes).map_err(|_| {
        (
            TemplateErrorKind::Unsupported,
            "byte escapes that do not form valid UTF-8 are not supported".to_string(),
        )
    })
}
