//! Helm's `toYaml`: `sigs.k8s.io/yaml.Marshal` (JSON round trip, then go-yaml v2's emitter:
//! keys in yaml.v2's natural order, 2-space indentation, sequences not indented under their key,
//! YAML 1.1 quoting rules) with the trailing newline trimmed.
//!
//! yaml.v2 folds long scalars at spaces past column 80 and writes some rare forms (complex keys,
//! kept trailing newlines); those cases are refused as unsupported rather than approximated.

use super::format::{format_float_g, format_float_json};
use super::parser::parse_go_int;
use super::value::{MAX_VALUE_DEPTH, R, Value, unsupported};

/// yaml.v2's preferred line width.
const BEST_WIDTH: usize = 80;
/// Longest key yaml.v2 writes as a simple `key:`.
const MAX_SIMPLE_KEY: usize = 128;

/// Data after the JSON round trip.
enum Y {
    Null,
    Bool(bool),
    Int(String),
    Float(f64),
    Str(String),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

pub(crate) fn to_yaml(v: &Value) -> R<String> {
    let y = to_y(v, 0)?;
    let mut out = String::new();
    match &y {
        Y::Map(m) if m.is_empty() => out.push_str("{}\n"),
        Y::Seq(s) if s.is_empty() => out.push_str("[]\n"),
        Y::Map(m) => write_map(&mut out, m, 0, false)?,
        Y::Seq(s) => write_seq(&mut out, s, 0, false)?,
        scalar => {
            let text = write_scalar(
                scalar,
                Place {
                    start_col: 0,
                    block_indent: 2,
                    key: false,
                },
            )?;
            out.push_str(&text);
            out.push('\n');
        }
    }
    // Helm: strings.TrimSuffix(string(data), "\n").
    if out.ends_with('\n') {
        out.pop();
    }
    Ok(out)
}

fn to_y(v: &Value, depth: usize) -> R<Y> {
    if depth > MAX_VALUE_DEPTH {
        return unsupported(format!(
            "values nested deeper than {MAX_VALUE_DEPTH} levels"
        ));
    }
    Ok(match v {
        Value::Nil | Value::NilIface => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Int(i) => Y::Int(i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return unsupported("toYaml of a non-finite number is not supported");
            }
            // json.Marshal writes the number; yaml.v2 reads it back as an int when it can.
            let text = format_float_json(*f);
            if text.contains(['.', 'e', 'E']) {
                Y::Float(*f)
            } else if let Some(i) = parse_go_int(&text) {
                Y::Int(i.to_string())
            } else if let Ok(u) = text.parse::<u64>() {
                Y::Int(u.to_string())
            } else {
                Y::Float(*f)
            }
        }
        Value::Str(s) => Y::Str(s.to_string()),
        Value::List(items) => Y::Seq(
            items
                .iter()
                .map(|i| to_y(&Value::from_slot(i), depth + 1))
                .collect::<R<Vec<_>>>()?,
        ),
        Value::Map(m) => {
            let mut entries = m
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_y(&Value::from_slot(v), depth + 1)?)))
                .collect::<R<Vec<_>>>()?;
            merge_sort(&mut entries);
            Y::Map(entries)
        }
        Value::Root | Value::Chart | Value::Release => {
            v.plain("toYaml")?;
            Y::Null
        }
    })
}

/// Sorts entries with yaml.v2's key order (a merge sort that cannot panic).
fn merge_sort(entries: &mut Vec<(String, Y)>) {
    if entries.len() <= 1 {
        return;
    }
    let mut right = entries.split_off(entries.len() / 2);
    merge_sort(entries);
    merge_sort(&mut right);
    let left = std::mem::take(entries);
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        let take_right = match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => key_less(&b.0, &a.0),
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_right { r.next() } else { l.next() };
        if let Some(e) = next {
            entries.push(e);
        }
    }
}

/// yaml.v2's `keyList.Less` for string keys: letters after other characters, digit runs
/// compared numerically.
fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let is_digit = |c: char| c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric());
    let digit_value = |c: char| i64::from(c as u32).wrapping_sub(i64::from(b'0'));
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && is_digit(ar[j - 1]) {
                if ar[j - 1] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
                j -= 1;
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(digit_value(ar[ai]));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(digit_value(br[bi]));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Mapping entries at `ind`; when `inline`, the first key continues the current line (`- a: 1`).
fn write_map(out: &mut String, m: &[(String, Y)], ind: usize, inline: bool) -> R<()> {
    for (i, (k, v)) in m.iter().enumerate() {
        if !(inline && i == 0) {
            indent(out, ind);
        }
        let key = write_scalar(
            &Y::Str(k.clone()),
            Place {
                start_col: ind,
                block_indent: ind + 2,
                key: true,
            },
        )?;
        out.push_str(&key);
        out.push(':');
        match v {
            Y::Map(c) if c.is_empty() => out.push_str(" {}\n"),
            Y::Seq(c) if c.is_empty() => out.push_str(" []\n"),
            Y::Map(c) => {
                out.push('\n');
                write_map(out, c, ind + 2, false)?;
            }
            Y::Seq(c) => {
                out.push('\n');
                write_seq(out, c, ind, false)?;
            }
            scalar => {
                let text = write_scalar(
                    scalar,
                    Place {
                        start_col: ind + key.chars().count() + 2,
                        block_indent: ind + 2,
                        key: false,
                    },
                )?;
                out.push(' ');
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
    Ok(())
}

fn write_seq(out: &mut String, s: &[Y], ind: usize, inline: bool) -> R<()> {
    for (i, item) in s.iter().enumerate() {
        if !(inline && i == 0) {
            indent(out, ind);
        }
        out.push_str("- ");
        match item {
            Y::Map(c) if c.is_empty() => out.push_str("{}\n"),
            Y::Seq(c) if c.is_empty() => out.push_str("[]\n"),
            Y::Map(c) => write_map(out, c, ind + 2, true)?,
            Y::Seq(c) => write_seq(out, c, ind + 2, true)?,
            scalar => {
                let text = write_scalar(
                    scalar,
                    Place {
                        start_col: ind + 2,
                        block_indent: ind + 2,
                        key: false,
                    },
                )?;
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Place {
    /// Column where the scalar starts (for yaml.v2's folding at column 80).
    start_col: usize,
    /// Indentation of a literal block's lines.
    block_indent: usize,
    /// A mapping key (never folded, never a block).
    key: bool,
}

fn write_scalar(y: &Y, place: Place) -> R<String> {
    match y {
        Y::Null => Ok("null".to_string()),
        Y::Bool(b) => Ok(b.to_string()),
        Y::Int(t) => Ok(t.clone()),
        Y::Float(f) => Ok(match format_float_g(*f).as_str() {
            "+Inf" => ".inf".to_string(),
            "-Inf" => "-.inf".to_string(),
            "NaN" => ".nan".to_string(),
            other => other.to_string(),
        }),
        Y::Str(s) => write_string(s, place),
        Y::Seq(_) | Y::Map(_) => unsupported("toYaml: collection in scalar position"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

fn write_string(s: &str, place: Place) -> R<String> {
    if s.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return unsupported(
            "toYaml of a string with CR, NEL, LS or PS characters is not supported",
        );
    }
    if place.key && s.len() > MAX_SIMPLE_KEY {
        return unsupported("toYaml of a mapping key longer than 128 bytes is not supported");
    }
    let can_use_plain = resolves_to_str(s)? && !is_base60_float(s);
    let requested = if s.contains('\n') {
        Style::Literal
    } else if can_use_plain {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    if place.key && a.multiline {
        return unsupported("toYaml of a multi-line mapping key is not supported");
    }
    let mut style = requested;
    if style == Style::Plain && (!a.block_plain_allowed || (s.is_empty() && place.key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || place.key) {
        style = Style::Double;
    }
    let text = match style {
        Style::Plain => s.to_string(),
        Style::Single => format!("'{}'", s.replace('\'', "''")),
        Style::Double => double_quoted(s),
        Style::Literal => return literal(s, place.block_indent),
    };
    if !place.key && text.contains(' ') && place.start_col + text.chars().count() > BEST_WIDTH {
        return unsupported(
            "toYaml of a string that yaml.v2 would fold at column 80 is not supported",
        );
    }
    Ok(text)
}

fn literal(s: &str, block_indent: usize) -> R<String> {
    if s.starts_with([' ', '\n']) {
        return unsupported(
            "toYaml of a multi-line string starting with a space or newline is not supported",
        );
    }
    let (chomp, body) = match s.strip_suffix('\n') {
        None => ("-", s),
        Some(rest) if rest.is_empty() || rest.ends_with('\n') => {
            return unsupported("toYaml of a string ending in several newlines is not supported");
        }
        Some(rest) => ("", rest),
    };
    let mut out = format!("|{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(&mut out, block_indent);
            out.push_str(line);
        }
    }
    Ok(out)
}

/// libyaml's notion of printable (`is_printable`).
fn yaml_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0a
        || (0x20..=0x7e).contains(&u)
        || (0xa0..=0xd7ff).contains(&u)
        || ((0xe000..=0xfffd).contains(&u) && u != 0xfeff)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, for block context.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_ws = true;
    for i in 0..n {
        let c = chars[i];
        let followed_by_ws = i + 1 >= n || is_blank(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !yaml_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == n - 1;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= i == n - 1;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blank(c) || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if yaml_printable(c) && !is_break(c) && c != '"' && c != '\\' {
            out.push(c);
            continue;
        }
        out.push('\\');
        match c {
            '\0' => out.push('0'),
            '\u{7}' => out.push('a'),
            '\u{8}' => out.push('b'),
            '\t' => out.push('t'),
            '\n' => out.push('n'),
            '\u{b}' => out.push('v'),
            '\u{c}' => out.push('f'),
            '\r' => out.push('r'),
            '\u{1b}' => out.push('e'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '\u{85}' => out.push('N'),
            '\u{a0}' => out.push('_'),
            '\u{2028}' => out.push('L'),
            '\u{2029}' => out.push('P'),
            c if (c as u32) <= 0xff => out.push_str(&format!("x{:02X}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("u{:04X}", c as u32)),
            c => out.push_str(&format!("U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// yaml.v2's `resolve("", s)` yields the string tag (so the string may be written plain).
fn resolves_to_str(s: &str) -> R<bool> {
    let Some(first) = s.bytes().next() else {
        return Ok(false); // "" is null
    };
    const MAP: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "~", "null", "Null", "NULL",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    match first {
        b'+'
        | b'-'
        | b'0'..=b'9'
        | b'y'
        | b'Y'
        | b'n'
        | b'N'
        | b't'
        | b'T'
        | b'f'
        | b'F'
        | b'o'
        | b'O'
        | b'~'
        | b'.' => {}
        _ => return Ok(true),
    }
    if MAP.contains(&s) {
        return Ok(false);
    }
    match first {
        b'.' => {
            if s.contains('_') {
                return unsupported(
                    "toYaml of a string like a float with underscores is not supported",
                );
            }
            Ok(!s.parse::<f64>().is_ok_and(f64::is_finite))
        }
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(s)? {
                return Ok(false);
            }
            let plain = s.replace('_', "");
            if parse_go_int(&plain).is_some() {
                return Ok(false);
            }
            if !plain.starts_with(['+', '-']) && plain.parse::<u64>().is_ok() {
                return Ok(false);
            }
            if is_yaml_style_float(&plain) && plain.parse::<f64>().is_ok_and(f64::is_finite) {
                return Ok(false);
            }
            Ok(true)
        }
        _ => Ok(true),
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let group = &b[start..i];
        let ok = match group {
            [d] => d.is_ascii_digit(),
            [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// yaml.v2's `parseTimestamp` (`YYYY-M-D` dates; date-times are refused as unsupported).
fn is_timestamp(s: &str) -> R<bool> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return Ok(false);
    }
    let rest = &s[5..];
    let take_num = |t: &str| -> Option<(u32, usize)> {
        let n = t.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 2 {
            return None;
        }
        t[..n].parse().ok().map(|v| (v, n))
    };
    let Some((month, m_len)) = take_num(rest) else {
        return Ok(false);
    };
    let after_month = &rest[m_len..];
    let Some(after_dash) = after_month.strip_prefix('-') else {
        return Ok(false);
    };
    let Some((day, d_len)) = take_num(after_dash) else {
        return Ok(false);
    };
    let tail = &after_dash[d_len..];
    if tail.starts_with(['T', 't', ' ']) {
        return unsupported("toYaml of a string that looks like a date-time is not supported");
    }
    if !tail.is_empty() {
        return Ok(false);
    }
    let year: u32 = s[..4].parse().unwrap_or(0);
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Ok(false),
    };
    Ok((1..=days).contains(&day))
}
