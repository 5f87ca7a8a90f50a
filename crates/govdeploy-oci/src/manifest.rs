//! What the copier needs from a manifest: its kind and the descriptors it points at. The raw
//! bytes are what gets copied and pushed; this view is only read, never re-serialised (that
//! would change the digest).

use serde::Deserialize;

use crate::digest::Digest;
use crate::error::{OciError, Result};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Every manifest type the copier handles. Distribution 2.8 serves an OCI index only when the
/// Accept header names it, so all four are always sent.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// `os/arch[/variant]`.
    pub fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// Whether `wanted` (`os/arch` or `os/arch/variant`) selects this platform.
    pub fn matches(&self, wanted: &str) -> bool {
        let mut parts = wanted.split('/');
        let os = parts.next().unwrap_or_default();
        let arch = parts.next().unwrap_or_default();
        let variant = parts.next();
        self.os == os
            && self.architecture == arch
            && variant.is_none_or(|v| self.variant.as_deref() == Some(v))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

impl Descriptor {
    pub fn digest(&self) -> Result<Digest> {
        Digest::parse(&self.digest)
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

/// A manifest's place in the tree.
#[derive(Debug, Clone)]
pub enum ManifestKind {
    /// An index or Docker manifest list: child manifests.
    Index { manifests: Vec<Descriptor> },
    /// An image manifest: the config blob and layer blobs.
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

/// A manifest as fetched: raw bytes, their digest, and the media type to push it with.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub bytes: bytes::Bytes,
    pub digest: Digest,
    pub media_type: String,
    pub kind: ManifestKind,
}

impl Manifest {
    /// Reads `bytes`; `header_type` is the Content-Type a registry sent (used when the
    /// manifest does not name its own media type). `what` names it in errors.
    pub fn parse(bytes: bytes::Bytes, header_type: Option<&str>, what: &str) -> Result<Self> {
        let bad = |message: String| OciError::Manifest {
            what: what.to_string(),
            message,
        };
        let raw: Raw = serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let header_type = header_type
            .map(|h| h.split(';').next().unwrap_or(h).trim().to_string())
            .filter(|h| !h.is_empty() && h != "application/json" && h != "text/plain");
        let kind = match (raw.manifests, raw.config, raw.layers) {
            (Some(manifests), None, None) => ManifestKind::Index { manifests },
            (None, Some(config), layers) => ManifestKind::Image {
                config,
                layers: layers.unwrap_or_default(),
            },
            _ => {
                return Err(bad(
                    "neither an index (`manifests`) nor an image manifest (`config`, `layers`); Docker schema 1 manifests are not supported".into(),
                ));
            }
        };
        let media_type = raw.media_type.or(header_type).unwrap_or_else(|| {
            match kind {
                ManifestKind::Index { .. } => OCI_INDEX,
                ManifestKind::Image { .. } => OCI_MANIFEST,
            }
            .to_string()
        });
        let digest = Digest::of(&bytes);
        Ok(Manifest {
            bytes,
            digest,
            media_type,
            kind,
        })
    }

    /// Blobs an image manifest points at (config first), empty for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match &self.kind {
            ManifestKind::Index { .. } => Vec::new(),
            ManifestKind::Image { config, layers } => {
                std::iter::once(config).chain(layers.iter()).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_index_and_image() {
        let d = Digest::of(b"x");
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#
        );
        let m = Manifest::parse(index.clone().into(), None, "t").unwrap();
        assert_eq!(m.media_type, OCI_INDEX);
        assert_eq!(m.digest, Digest::of(index.as_bytes()));
        let ManifestKind::Index { manifests } = &m.kind else {
            panic!("index expected")
        };
        let p = manifests[0].platform.as_ref().unwrap();
        assert!(
            p.matches("linux/arm64") && p.matches("linux/arm64/v8") && !p.matches("linux/amd64")
        );
        let image = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{d}","size":1}},"layers":[{{"digest":"{d}","size":1}}]}}"#
        );
        let m = Manifest::parse(image.into(), Some(DOCKER_MANIFEST), "t").unwrap();
        assert_eq!(m.media_type, DOCKER_MANIFEST);
        assert_eq!(m.blobs().len(), 2);
    }

    #[test]
    fn rejects_schema1_and_garbage() {
        assert!(Manifest::parse(r#"{"schemaVersion":1,"fsLayers":[]}"#.into(), None, "t").is_err());
        assert!(Manifest::parse("nope".into(), None, "t").is_err());
    }
}
