//! The image lockfile: every image an environment pulls, where it comes from, what the cluster
//! pulls instead (mirror applied) and, once resolved, the manifest digest. Pretty JSON with a
//! fixed key order and images sorted by source, so the same inputs give the same bytes.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{OciError, Result};
use crate::reference::ImageReference;

pub const API_VERSION: &str = "govdeploy.io/v1";
pub const KIND: &str = "ImageLock";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lockfile {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `spec.registry.mirror` of the environment, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    pub images: Vec<LockedImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockedImage {
    /// Where the image is copied from (`docker.io/egovio/egov-user:v1.2.4`).
    pub source: String,
    /// What the rendered objects pull (under the mirror when one is set).
    pub reference: String,
    /// The manifest (or index) digest, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Components that use the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
}

impl Lockfile {
    pub fn new(
        environment: Option<String>,
        mirror: Option<String>,
        mut images: Vec<LockedImage>,
    ) -> Self {
        images.sort();
        images.dedup_by(|a, b| a.source == b.source && a.reference == b.reference);
        Lockfile {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            environment,
            mirror,
            images,
        }
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parses and checks a lockfile: every problem at once, each naming its entry.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let err = |message: String| OciError::Lockfile {
            path: path.to_path_buf(),
            message,
        };
        let lock: Lockfile = serde_json::from_str(text).map_err(|e| {
            err(format!(
                "{}:{}: {e}; expected the JSON `govdeploy images --lock` writes",
                e.line(),
                e.column()
            ))
        })?;
        let mut problems = Vec::new();
        if lock.api_version != API_VERSION || lock.kind != KIND {
            problems.push(format!(
                "apiVersion/kind must be {API_VERSION}/{KIND}, found {}/{}",
                lock.api_version, lock.kind
            ));
        }
        for (i, image) in lock.images.iter().enumerate() {
            if let Err(e) = ImageReference::parse(&image.source) {
                problems.push(format!("images[{i}].source: {e}"));
            }
            if let Some(d) = &image.digest
                && let Err(e) = Digest::parse(d)
            {
                problems.push(format!("images[{i}].digest: {e}"));
            }
        }
        if problems.is_empty() {
            Ok(lock)
        } else {
            Err(err(problems.join("; ")))
        }
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| OciError::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Writes atomically (temporary file in the same directory, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, self.to_json().as_bytes())
    }
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".govdeploy-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| OciError::io(dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| OciError::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| OciError::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(source: &str) -> LockedImage {
        LockedImage {
            source: source.into(),
            reference: format!("m/{source}"),
            digest: None,
            components: vec!["c".into()],
        }
    }

    #[test]
    fn round_trips_sorted_and_deterministic() {
        let a = Lockfile::new(
            Some("e".into()),
            None,
            vec![image("docker.io/b/x:1"), image("docker.io/a/x:1")],
        );
        let b = Lockfile::new(
            Some("e".into()),
            None,
            vec![image("docker.io/a/x:1"), image("docker.io/b/x:1")],
        );
        assert_eq!(a.to_json(), b.to_json());
        assert_eq!(a.images[0].source, "docker.io/a/x:1");
        assert_eq!(Lockfile::parse(&a.to_json(), Path::new("l")).unwrap(), a);
    }

    #[test]
    fn reports_every_bad_entry() {
        let text = r#"{"apiVersion":"govdeploy.io/v1","kind":"ImageLock","images":[
            {"source":"a/B:1","reference":"x"},{"source":"a/b:1","reference":"x","digest":"sha256:zz"}]}"#;
        let err = Lockfile::parse(text, Path::new("l.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("images[0].source") && err.contains("images[1].digest"),
            "{err}"
        );
        let err = Lockfile::parse("{", Path::new("l.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("l.json") && err.contains("1:1"), "{err}");
    }
}
