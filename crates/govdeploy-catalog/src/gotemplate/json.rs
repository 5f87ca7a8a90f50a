//! Helm's `toJson`: Go's `json.Marshal` (sorted keys, HTML-safe escaping).

use super::format::format_float_json;
use super::value::{MAX_VALUE_DEPTH, R, Value, sorted_keys, unsupported};

pub(crate) fn to_json(v: &Value) -> R<String> {
    let mut out = String::new();
    write(&mut out, v, 0)?;
    Ok(out)
}

fn write(out: &mut String, v: &Value, depth: usize) -> R<()> {
    if depth > MAX_VALUE_DEPTH {
        return unsupported(format!(
            "values nested deeper than {MAX_VALUE_DEPTH} levels"
        ));
    }
    match v {
        Value::Nil | Value::NilIface => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                // json.Marshal fails and Helm's toJson swallows the error into "".
                return unsupported("toJson of a non-finite number is not supported");
            }
            out.push_str(&format_float_json(*f));
        }
        Value::Str(s) => push_json_string(out, s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, &Value::from_slot(item), depth + 1)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, k) in sorted_keys(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, k);
                out.push(':');
                let item = m.get(k).map_or(Value::NilIface, Value::from_slot);
                write(out, &item, depth + 1)?;
            }
            out.push('}');
        }
        Value::Root | Value::Chart | Value::Release => v.plain("toJson")?,
    }
    Ok(())
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
