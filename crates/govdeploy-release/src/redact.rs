//! Secret values out, hashes in: the only form in which a secret reaches a record or a diff.

use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Replaces every value of a Secret's `data` and `stringData` with `sha256:<hex>` of the
/// value as written (base64 text for `data`), and drops the last-applied annotation, which
/// would carry the values again.
pub fn redact_secret(body: &mut Value) {
    for field in ["data", "stringData"] {
        if let Some(map) = body.get_mut(field).and_then(Value::as_object_mut) {
            for value in map.values_mut() {
                let text = value.as_str().unwrap_or_default();
                *value = Value::String(format!("sha256:{}", sha256_hex(text.as_bytes())));
            }
        }
    }
    if let Some(annotations) = body
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hashes_are_stable_and_values_gone() {
        let mut s = json!({"data": {"a": "c2VjcmV0"}, "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"a\":\"c2VjcmV0\"}}"}}});
        redact_secret(&mut s);
        assert_eq!(
            s["data"]["a"],
            format!("sha256:{}", sha256_hex(b"c2VjcmV0"))
        );
        assert!(!s.to_string().contains("c2VjcmV0"));
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
