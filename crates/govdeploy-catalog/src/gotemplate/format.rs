//! Go's `fmt` as templates see it: `%v` printing (numbers, `map[k:v]`, `[a b]`), `%q` quoting,
//! `fmt.Sprint`/`Sprintln`/`Sprintf` (verbs `%s %d %v %q %%`), and Go's float formatting.

use super::value::{MAX_VALUE_DEPTH, R, Value, sorted_keys, unsupported};

/// Shortest decimal digits of a finite non-zero `|f|` and the decimal point position, so that
/// `|f| = 0.d1d2d3... × 10^dp` (Go's `decimalSlice` after shortest conversion).
fn shortest_digits(f: f64) -> (Vec<u8>, i32) {
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    (digits, exp + 1)
}

/// Go's `fmtF`: `prec` digits after the point.
fn fmt_f(out: &mut String, digits: &[u8], dp: i32, prec: i32) {
    let nd = digits.len() as i32;
    if dp > 0 {
        let m = nd.min(dp);
        out.extend(digits[..m as usize].iter().map(|b| *b as char));
        for _ in m..dp {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = dp + i - 1;
            out.push(if (0..nd).contains(&j) {
                digits[j as usize] as char
            } else {
                '0'
            });
        }
    }
}

/// Go's `fmtE` with `prec` digits after the point; the exponent has at least two digits.
fn fmt_e(out: &mut String, digits: &[u8], dp: i32, prec: i32) {
    out.push(digits.first().map_or('0', |b| *b as char));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digits.get(i as usize).map_or('0', |b| *b as char));
        }
    }
    out.push('e');
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which is also what `%v` prints for a float64:
/// `%e` form when the exponent is < -4 or >= 6 (`1e+06`, `1.5e-07`), `%f` form otherwise.
pub(crate) fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if f == 0.0 {
        out.push('0');
        return out;
    }
    let (digits, dp) = shortest_digits(f);
    let nd = digits.len() as i32;
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        fmt_e(&mut out, &digits, dp, nd - 1);
    } else {
        fmt_f(&mut out, &digits, dp, (nd - dp).max(0));
    }
    out
}

/// How Go's `encoding/json` writes a float64 (`'f'` form unless tiny or huge).
pub(crate) fn format_float_json(f: f64) -> String {
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if f == 0.0 || !f.is_finite() {
        out.push('0');
        return out;
    }
    let (digits, dp) = shortest_digits(f);
    let nd = digits.len() as i32;
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        fmt_e(&mut out, &digits, dp, nd - 1);
        // Go cleans up e-09 to e-9.
        let n = out.len();
        if n >= 4 && out.ends_with(|c: char| c.is_ascii_digit()) && out[..n - 1].ends_with("e-0") {
            out.remove(n - 2);
        }
    } else {
        fmt_f(&mut out, &digits, dp, (nd - dp).max(0));
    }
    out
}

/// Go's `strconv.IsPrint`, approximated without Unicode tables: control, format, separator,
/// private-use and non-character code points are not printable (unassigned code points are
/// treated as printable).
pub(crate) fn is_go_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() {
        return false;
    }
    let u = c as u32;
    if (u & 0xfffe) == 0xfffe || (0xfdd0..=0xfdef).contains(&u) {
        return false;
    }
    !matches!(c,
        '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}'
        | '\u{205f}' | '\u{3000}'
        | '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{890}'
        | '\u{891}' | '\u{8e2}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}'
        | '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..='\u{ffffd}' | '\u{100000}'..='\u{10fffd}')
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_go_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.Quote` (what `%q` and sprig's `quote` produce).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune` (what `%q` prints for an integer).
fn go_quote_rune(r: i64) -> String {
    let c = u32::try_from(r)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}');
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

/// `%v` of a value (what an action prints, apart from nil).
pub(crate) fn format_v(v: &Value) -> R<String> {
    let mut out = String::new();
    fmt_arg(&mut out, v, 'v', 0)?;
    Ok(out)
}

fn bad_verb(out: &mut String, v: &Value, verb: char) -> R<()> {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if v.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(v.type_name());
        out.push('=');
        fmt_arg(out, v, 'v', 0)?;
    }
    out.push(')');
    Ok(())
}

/// Go's `printArg`/`printValue` for the verbs `v s d q`.
fn fmt_arg(out: &mut String, v: &Value, verb: char, depth: usize) -> R<()> {
    if depth > MAX_VALUE_DEPTH {
        return unsupported(format!(
            "values nested deeper than {MAX_VALUE_DEPTH} levels"
        ));
    }
    match v {
        Value::Nil | Value::NilIface => {
            if depth > 0 || verb == 'v' {
                out.push_str("<nil>");
                Ok(())
            } else {
                bad_verb(out, v, verb)
            }
        }
        Value::Bool(b) => match verb {
            'v' => {
                out.push_str(if *b { "true" } else { "false" });
                Ok(())
            }
            _ => bad_verb(out, v, verb),
        },
        Value::Int(i) => match verb {
            'v' | 'd' => {
                out.push_str(&i.to_string());
                Ok(())
            }
            'q' => {
                out.push_str(&go_quote_rune(*i));
                Ok(())
            }
            _ => bad_verb(out, v, verb),
        },
        Value::Float(f) => match verb {
            'v' => {
                out.push_str(&format_float_g(*f));
                Ok(())
            }
            _ => bad_verb(out, v, verb),
        },
        Value::Str(s) => match verb {
            'v' | 's' => {
                out.push_str(s);
                Ok(())
            }
            'q' => {
                out.push_str(&go_quote(s));
                Ok(())
            }
            _ => bad_verb(out, v, verb),
        },
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_arg(out, &Value::from_slot(item), verb, depth + 1)?;
            }
            out.push(']');
            Ok(())
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, k) in sorted_keys(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_arg(out, &Value::str(k.as_str()), verb, depth + 1)?;
                out.push(':');
                let item = m.get(k).map_or(Value::NilIface, Value::from_slot);
                fmt_arg(out, &item, verb, depth + 1)?;
            }
            out.push(']');
            Ok(())
        }
        Value::Root | Value::Chart | Value::Release => {
            v.plain("printing")?;
            Ok(())
        }
    }
}

/// `fmt.Sprint`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> R<String> {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        fmt_arg(&mut out, a, 'v', 0)?;
        prev_string = is_string;
    }
    Ok(out)
}

/// `fmt.Sprintln`: spaces between all operands and a final newline.
pub(crate) fn sprintln(args: &[Value]) -> R<String> {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        fmt_arg(&mut out, a, 'v', 0)?;
    }
    out.push('\n');
    Ok(out)
}

/// `fmt.Sprintf` restricted to the verbs `%s %d %v %q %%` without flags, width or precision.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> R<String> {
    let mut out = String::new();
    let mut next_arg = 0usize;
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        match verb {
            '%' => out.push('%'),
            's' | 'd' | 'v' | 'q' => match args.get(next_arg) {
                Some(a) => {
                    fmt_arg(&mut out, a, verb, 0)?;
                    next_arg += 1;
                }
                None => {
                    out.push_str("%!");
                    out.push(verb);
                    out.push_str("(MISSING)");
                }
            },
            '#' | '0' | '+' | '-' | ' ' | '1'..='9' | '.' | '*' | '[' => {
                return unsupported(format!(
                    "printf flags, width, precision and argument indexes are not supported (in {format:?})"
                ));
            }
            other => {
                return unsupported(format!("printf verb %{other} is not supported"));
            }
        }
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next_arg..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if a.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(a.type_name());
                out.push('=');
                fmt_arg(&mut out, a, 'v', 0)?;
            }
        }
        out.push(')');
    }
    Ok(out)
}
