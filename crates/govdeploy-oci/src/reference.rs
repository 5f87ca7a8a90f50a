//! Image references: `[host[:port]/]path[:tag][@sha256:...]`, with Docker Hub short names
//! expanded the way `docker pull` does (`redis` is `docker.io/library/redis`).

use std::fmt;

use crate::digest::Digest;
use crate::error::{OciError, Result};

pub const DOCKER_HUB: &str = govdeploy_plan::images::DOCKER_HUB;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageReference {
    /// Registry host as written (`docker.io` for Docker Hub), with any port.
    pub registry: String,
    /// Repository path inside the registry (`library/redis`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl ImageReference {
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |reason: &str| OciError::InvalidReference {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(Digest::parse(digest)?)),
            None => (text, None),
        };
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(colon) => {
                let at = last_slash + colon;
                (&name[..at], Some(name[at + 1..].to_string()))
            }
            None => (name, None),
        };
        // One Docker Hub rule for render's mirror rewriting and for copying images.
        let (registry, repository) = govdeploy_plan::images::host_and_path(name);
        if repository.is_empty() || !repository.split('/').all(valid_path_component) {
            return Err(invalid(
                "repository path components must be lowercase letters and digits joined by `.`, `_`, `__` or dashes",
            ));
        }
        if let Some(tag) = &tag
            && (tag.is_empty()
                || tag.len() > 128
                || !tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                || tag.starts_with(['.', '-']))
        {
            return Err(invalid("a tag is 1-128 letters, digits, `_`, `.` or `-`"));
        }
        Ok(ImageReference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest when pinned, else the tag (`latest` when none).
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The distribution grammar for one path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    if bytes.is_empty() || !is_alnum(bytes[0]) || !is_alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if is_alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_docker_hub_names() {
        let r = ImageReference::parse("redis:7").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/redis")
        );
        assert_eq!(r.tag.as_deref(), Some("7"));
        let r = ImageReference::parse("egovio/egov-user").unwrap();
        assert_eq!(r.to_string(), "docker.io/egovio/egov-user");
        assert_eq!(r.manifest_reference(), "latest");
    }

    #[test]
    fn keeps_ports_and_digests() {
        let d = Digest::of(b"x");
        let r = ImageReference::parse(&format!("127.0.0.1:5000/a/b:1@{d}")).unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.manifest_reference(), d.to_string());
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b:1@{d}"));
    }

    #[test]
    fn rejects_invalid_paths_and_tags() {
        assert!(ImageReference::parse("m/127.0.0.1:5000/a:1").is_err());
        assert!(ImageReference::parse("m.io/Upper/a:1").is_err());
        assert!(ImageReference::parse("m.io/a:-x").is_err());
        assert!(ImageReference::parse("m.io/a_b__c-d--e.f:1").is_ok());
    }
}
