//! Content digests (`sha256:<hex>`), the only algorithm registries and OCI layouts require.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::error::{OciError, Result};

/// A validated `sha256:<64 lowercase hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    pub fn parse(text: &str) -> Result<Self> {
        let hex = text
            .strip_prefix("sha256:")
            .ok_or_else(|| OciError::InvalidDigest(text.to_string()))?;
        if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Digest(text.to_string()))
        } else {
            Err(OciError::InvalidDigest(text.to_string()))
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let mut hasher = Hasher::default();
        hasher.update(bytes);
        hasher.finish()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, as used in `blobs/sha256/<hex>`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// Fails with [`OciError::DigestMismatch`] unless `actual` equals this digest.
    pub fn verify(&self, actual: &Digest, what: impl Into<String>) -> Result<()> {
        if self == actual {
            Ok(())
        } else {
            Err(OciError::DigestMismatch {
                what: what.into(),
                expected: self.0.clone(),
                actual: actual.0.clone(),
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Incremental SHA-256 over streamed content.
#[derive(Default, Clone)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> Digest {
        Digest(format!("sha256:{:x}", self.0.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_content() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn rejects_malformed_digests() {
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(
            Digest::parse("md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                .is_err()
        );
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(Digest::of(b"x").as_str()).is_ok());
    }

    #[test]
    fn verify_reports_both_digests() {
        let err = Digest::of(b"a")
            .verify(&Digest::of(b"b"), "blob x")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("blob x") && text.contains(Digest::of(b"a").as_str()));
    }
}
