//! REST paths of objects and collections.

use super::Resource;

/// `/api/v1/namespaces/ns/configmaps` or `/apis/apps/v1/deployments` (cluster-wide when the
/// namespace is absent or the resource is cluster-scoped).
pub fn collection_path(resource: &Resource, namespace: Option<&str>) -> String {
    let base = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    match namespace {
        Some(ns) if resource.namespaced => {
            format!("{base}/namespaces/{ns}/{}", resource.plural)
        }
        _ => format!("{base}/{}", resource.plural),
    }
}

pub fn object_path(resource: &Resource, namespace: Option<&str>, name: &str) -> String {
    format!("{}/{name}", collection_path(resource, namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(group: &str, plural: &str, namespaced: bool) -> Resource {
        Resource {
            group: group.into(),
            version: "v1".into(),
            kind: "X".into(),
            plural: plural.into(),
            namespaced,
        }
    }

    #[test]
    fn core_group_and_named_groups() {
        assert_eq!(
            object_path(&res("", "configmaps", true), Some("egov"), "egov-config"),
            "/api/v1/namespaces/egov/configmaps/egov-config"
        );
        assert_eq!(
            collection_path(&res("apps", "deployments", true), Some("egov")),
            "/apis/apps/v1/namespaces/egov/deployments"
        );
        assert_eq!(
            object_path(&res("", "namespaces", false), Some("ignored"), "egov"),
            "/api/v1/namespaces/egov"
        );
    }
}
