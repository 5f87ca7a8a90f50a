//! Content hashes for pod-template annotations: a pod restarts exactly when what it reads
//! changes, never because a deploy ran.

use sha2::{Digest, Sha256};

/// Hex SHA-256 of length-prefixed parts (so `["ab","c"]` and `["a","bc"]` differ), shortened
/// to 16 hex digits: enough to detect change, too short to be an offline-guessing oracle for a
/// single low-entropy secret value.
pub fn short_hash<I, S>(parts: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut hasher = Sha256::new();
    for part in parts {
        let bytes = part.as_ref();
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    }
    let digest = hasher.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited_and_stable() {
        assert_ne!(short_hash(["ab", "c"]), short_hash(["a", "bc"]));
        assert_eq!(short_hash(["x"]), short_hash(["x"]));
        assert_eq!(short_hash(["x"]).len(), 16);
    }
}
