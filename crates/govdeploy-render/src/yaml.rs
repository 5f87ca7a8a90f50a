//! A small, deterministic YAML emitter for JSON-shaped values.
//!
//! Kubernetes objects are JSON documents; YAML is only their presentation. Emitting it here
//! rather than through a general serializer keeps the output byte-stable across crate
//! upgrades and makes the quoting rule one readable function: a string is written plain only
//! when YAML 1.1 and 1.2 readers both read it back as the same string, otherwise it is
//! double-quoted with JSON escapes (which YAML accepts verbatim). Multi-line strings are
//! written as literal blocks when that is lossless.

use serde_json::Value;

/// One YAML document (without the `---` separator), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            write_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (key, value) in map {
        indent(out, level);
        write_key(out, key);
        write_after_key(out, value, level);
    }
}

/// Writes what follows `key:` (or `- ` for sequence items that are not mappings).
fn write_after_key(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(inner) if !inner.is_empty() => {
            out.push_str(":\n");
            write_map(out, inner, level + 1);
        }
        // Sequences under a key are not indented further: the common Kubernetes style.
        Value::Array(items) if !items.is_empty() => {
            out.push_str(":\n");
            write_seq(out, items, level);
        }
        scalar => {
            out.push_str(": ");
            write_scalar(out, scalar, level + 1);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first key shares the dash's line; the rest align under it.
                let mut first = true;
                for (key, value) in map {
                    if !first {
                        indent(out, level + 1);
                    }
                    first = false;
                    write_key(out, key);
                    write_after_key(out, value, level + 1);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, level + 1);
            }
            scalar => {
                write_scalar(out, scalar, level + 1);
                out.push('\n');
            }
        }
    }
}

fn write_key(out: &mut String, key: &str) {
    if is_plain_safe(key) {
        out.push_str(key);
    } else {
        write_quoted(out, key);
    }
}

fn write_scalar(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s, level),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn write_string(out: &mut String, s: &str, level: usize) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if literal_block_safe(s) {
        // `|` keeps one final newline, `|-` none; text ending in several newlines is quoted.
        out.push_str(if s.ends_with('\n') { "|" } else { "|-" });
        for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(out, level);
                out.push_str(line);
            }
        }
    } else {
        write_quoted(out, s);
    }
}

fn write_quoted(out: &mut String, s: &str) {
    // JSON string syntax is a subset of YAML's double-quoted style.
    out.push_str(&Value::String(s.to_string()).to_string());
}

/// Multi-line text a literal block reproduces exactly: printable, no tabs or trailing spaces
/// that a reader might strip, first line not indented (the indentation indicator would be
/// needed), and at most one trailing newline.
fn literal_block_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.ends_with("\n\n")
        && !s.starts_with([' ', '\n'])
        && s.chars()
            .all(|c| c == '\n' || (!c.is_control() && c != '\u{feff}'))
        && s.split('\n').all(|line| !line.ends_with(' '))
}

/// Strings that read back as the same string when written without quotes.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@` ".contains(first) {
        return false;
    }
    if s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}'))
    {
        return false;
    }
    if s.contains(['{', '}', '[', ']', ',']) {
        // Flow indicators are plain-safe in block context, but quoting them is clearer and
        // keeps every reader out of doubt.
        return false;
    }
    !is_reserved_word(s) && !looks_like_number(s) && !looks_like_timestamp(s)
}

/// Words some YAML reader turns into a boolean or null (1.1 included: `yes`, `on`, `y`).
fn is_reserved_word(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | "=" | "<<"
    )
}

/// Anything a reader might take for a number: integers (with `_`, sign, base prefixes),
/// floats, `.inf`, `.nan`, and YAML 1.1 sexagesimals like `1:20`.
fn looks_like_number(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | ".nan") {
        return true;
    }
    if let Some(rest) = lower
        .strip_prefix("0x")
        .or_else(|| lower.strip_prefix("0o"))
        .or_else(|| lower.strip_prefix("0b"))
    {
        return !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    let starts_numeric = t.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    starts_numeric
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | 'e' | 'E' | '+' | '-' | ':'))
}

/// `2001-12-14`-like values a YAML 1.1 reader turns into timestamps.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: &Value) {
        let text = to_yaml(value);
        let node = govdeploy_yaml::parse_single(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(&node.to_json(), value, "{text}");
    }

    #[test]
    fn kubernetes_shapes_read_back_identically() {
        round_trip(&json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "egov-user", "labels": {"app.kubernetes.io/name": "egov-user"}, "annotations": {}},
            "spec": {
                "replicas": 2,
                "template": {"spec": {"containers": [{
                    "name": "egov-user",
                    "args": ["--one-time", "-c", "sleep 10"],
                    "env": [
                        {"name": "SERVER_PORT", "value": "8080"},
                        {"name": "FLAG", "value": "true"},
                        {"name": "EMPTY", "value": ""},
                        {"name": "NULLISH", "value": "null"},
                        {"name": "YES", "value": "yes"},
                        {"name": "OCTAL", "value": "0755"},
                        {"name": "HEX", "value": "0x1F"},
                        {"name": "FLOAT", "value": "1e3"},
                        {"name": "TIME", "value": "1:20"},
                        {"name": "DATE", "value": "2024-01-16"},
                        {"name": "URL", "value": "http://egov-user.egov:8080/"},
                        {"name": "COLON", "value": "a: b"},
                        {"name": "HASH", "value": "a #b"},
                        {"name": "STAR", "value": "*/5 * * * *"},
                        {"name": "DASH", "value": "-Xmx256m -Xms256m"},
                        {"name": "DASHNUM", "value": "-5"},
                        {"name": "QUOTE", "value": "it's \"quoted\""},
                        {"name": "UNICODE", "value": "ಕನ್ನಡ"},
                        {"name": "TAB", "value": "a\tb"},
                        {"name": "LIST", "value": "[a, b]"},
                    ],
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 10001},
                    "emptyList": [],
                    "emptyMap": {},
                }]}},
            },
        }));
    }

    #[test]
    fn multi_line_text_uses_literal_blocks_when_lossless() {
        let value = json!({"data": {
            "routes.properties": "a=1\nb=2\n",
            "no-final-newline": "a\nb",
            "blank-lines": "a\n\nb\n",
            "trailing-space": "a \nb\n",
            "two-final-newlines": "a\n\n",
            "indented-first": "  a\nb\n",
        }});
        round_trip(&value);
        let text = to_yaml(&value);
        assert!(
            text.contains("routes.properties: |\n    a=1\n    b=2\n"),
            "{text}"
        );
        assert!(
            text.contains("no-final-newline: |-\n    a\n    b\n"),
            "{text}"
        );
        assert!(text.contains("trailing-space: \"a \\nb\\n\""), "{text}");
    }

    #[test]
    fn nested_sequences_and_scalars_at_the_top() {
        round_trip(&json!([[1, 2], ["x", {"k": [true, null]}], 3.5]));
        round_trip(&json!("just text"));
        round_trip(&json!({"": "empty key", "key with: colon": 1, "- dash": 2}));
    }

    #[test]
    fn output_is_stable() {
        let value = json!({"b": 1, "a": [{"x": "1", "y": 2}]});
        assert_eq!(to_yaml(&value), "b: 1\na:\n- x: \"1\"\n  \"y\": 2\n");
    }
}
