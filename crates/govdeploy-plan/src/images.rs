//! Image references: the tag each component runs, its migration image, and the mirror rewrite.
//!
//! Tag precedence: `spec.components.X.tag` > the release's tag (any module listing the
//! component) > the catalogue's `defaultTag`. A component with no tag at all is a warning and
//! its reference is the bare repository (tag shown as `<unset>`).
//!
//! With `spec.registry.mirror`, every reference becomes `<mirror>/<source-host>/<path>`: the
//! source host stays as the first path segment (DESIGN.md §5), so images from different
//! registries cannot collide and the mirror can be filled by copying each reference as is.

/// Shown instead of a tag when none is known.
pub const UNSET_TAG: &str = "<unset>";

/// The registry that short image names (`redis`, `egovio/x`) mean.
pub const DOCKER_HUB: &str = "docker.io";

/// Splits `repo[:tag][@digest]` into the repository and the rest (`:tag`, `@digest`, or both),
/// treating a `:` inside the host part (`host:5000/x`) as a port.
pub fn split_reference(reference: &str) -> (&str, &str) {
    let digest_at = reference.find('@').unwrap_or(reference.len());
    let (name, digest) = reference.split_at(digest_at);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            (&reference[..at], &reference[at..])
        }
        None => (name, digest),
    }
}

/// The registry host and the path of a repository, Docker Hub short names expanded
/// (`redis` -> (`docker.io`, `library/redis`), `egovio/x` -> (`docker.io`, `egovio/x`)).
pub fn host_and_path(repository: &str) -> (String, String) {
    match repository.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            let host = match first {
                "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
                h => h,
            };
            let path = if host == DOCKER_HUB && !rest.contains('/') {
                format!("library/{rest}")
            } else {
                rest.to_string()
            };
            (host.to_string(), path)
        }
        Some(_) => (DOCKER_HUB.to_string(), repository.to_string()),
        None => (DOCKER_HUB.to_string(), format!("library/{repository}")),
    }
}

/// Rewrites a reference to live under a mirror: `<mirror>/<source-host>/<path>[:tag][@digest]`.
///
/// ```
/// use govdeploy_plan::images::mirror_reference;
/// assert_eq!(mirror_reference("mirror", "egovio/x:1"), "mirror/docker.io/egovio/x:1");
/// assert_eq!(mirror_reference("mirror", "quay.io/a/b:2"), "mirror/quay.io/a/b:2");
/// assert_eq!(mirror_reference("mirror", "redis:7"), "mirror/docker.io/library/redis:7");
/// ```
pub fn mirror_reference(mirror: &str, reference: &str) -> String {
    let mirror = mirror
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    if reference
        .strip_prefix(mirror)
        .is_some_and(|rest| rest.starts_with('/'))
    {
        return reference.to_string();
    }
    let (repo, rest) = split_reference(reference);
    let (host, path) = host_and_path(repo);
    let host = host.replace(':', "_");
    format!("{mirror}/{host}/{path}{rest}")
}

/// The source of a reference [`mirror_reference`] produced: `<host>/<path>` back from
/// `<mirror>/<host>/<path>` (`_` before a numeric port turned back into `:`). A reference not
/// under the mirror, or under it without a source host (an image that only ever lived in the
/// mirror), is its own source.
///
/// ```
/// use govdeploy_plan::images::{mirror_reference, source_reference};
/// let m = mirror_reference("m:5000", "localhost:5000/a/b:1");
/// assert_eq!(source_reference(Some("m:5000"), &m), "localhost:5000/a/b:1");
/// assert_eq!(source_reference(Some("m:5000"), "m:5000/state/x:1"), "m:5000/state/x:1");
/// ```
pub fn source_reference(mirror: Option<&str>, reference: &str) -> String {
    let Some(mirror) = mirror else {
        return reference.to_string();
    };
    let mirror = mirror
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let Some(rest) = reference
        .strip_prefix(mirror)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return reference.to_string();
    };
    let Some((first, path)) = rest.split_once('/') else {
        return reference.to_string();
    };
    let host = match first.rsplit_once('_') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{name}:{port}")
        }
        _ => first.to_string(),
    };
    if host.contains('.') || host.contains(':') || host == "localhost" {
        format!("{host}/{path}")
    } else {
        reference.to_string()
    }
}

/// `repo:tag`, or the bare repository when the tag is unset.
pub fn reference(repository: &str, tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("{repository}:{t}"),
        None => repository.to_string(),
    }
}

/// A migration image as written in the catalogue, without any tag it may carry (it always
/// runs with the service's tag).
pub fn migration_repository(image: &str) -> &str {
    split_reference(image).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_rewrites_keep_source_host() {
        assert_eq!(
            mirror_reference("mirror", "egovio/x:1"),
            "mirror/docker.io/egovio/x:1"
        );
        assert_eq!(
            mirror_reference("mirror", "quay.io/a/b:2"),
            "mirror/quay.io/a/b:2"
        );
        assert_eq!(
            mirror_reference("mirror", "redis:7"),
            "mirror/docker.io/library/redis:7"
        );
        assert_eq!(
            mirror_reference("registry.local:5000/", "docker.io/bitnami/kafka:3.6"),
            "registry.local:5000/docker.io/bitnami/kafka:3.6"
        );
        assert_eq!(
            mirror_reference("m", "docker.io/redis:7"),
            "m/docker.io/library/redis:7"
        );
        assert_eq!(
            mirror_reference("m", "localhost:5000/x/y:1"),
            "m/localhost_5000/x/y:1"
        );
        assert_eq!(
            mirror_reference("registry.local:5000", "registry.local:5000/state/data:1"),
            "registry.local:5000/state/data:1"
        );
        assert_eq!(
            mirror_reference("registry.local:5000", "registry.local:50001/state/data:1"),
            "registry.local:5000/registry.local_50001/state/data:1"
        );
        assert_eq!(mirror_reference("m", "egovio/x"), "m/docker.io/egovio/x");
        assert_eq!(
            mirror_reference("m", "ghcr.io/o/i@sha256:abc"),
            "m/ghcr.io/o/i@sha256:abc"
        );
    }

    #[test]
    fn splits_references() {
        assert_eq!(split_reference("host:5000/a/b"), ("host:5000/a/b", ""));
        assert_eq!(split_reference("host:5000/a/b:1"), ("host:5000/a/b", ":1"));
        assert_eq!(split_reference("a@sha256:1"), ("a", "@sha256:1"));
        assert_eq!(split_reference("a:1@sha256:1"), ("a", ":1@sha256:1"));
        assert_eq!(
            migration_repository("egovio/egov-user-db:v1"),
            "egovio/egov-user-db"
        );
    }
}
