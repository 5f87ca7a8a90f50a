//! Which resource serves a kind: per group/version `APIResourceList`s, fetched on first use
//! and cached; a kind missing from a cached list is looked up again once (a CRD applied in
//! this run becomes servable after it is Established).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use super::Cluster;
use crate::error::ApplyError;

/// A REST resource: where objects of one kind live.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Discovery {
    /// apiVersion -> kind -> resource.
    cache: Mutex<BTreeMap<String, BTreeMap<String, Resource>>>,
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Parses an `APIResourceList`, skipping subresources (`deployments/status`).
pub(crate) fn parse_resource_list(api_version: &str, list: &Value) -> BTreeMap<String, Resource> {
    let (group, version) = split_api_version(api_version);
    list.get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let plural = r.get("name")?.as_str()?;
            if plural.contains('/') {
                return None;
            }
            let kind = r.get("kind")?.as_str()?.to_string();
            Some((
                kind.clone(),
                Resource {
                    group: group.to_string(),
                    version: version.to_string(),
                    kind,
                    plural: plural.to_string(),
                    namespaced: r.get("namespaced").and_then(Value::as_bool).unwrap_or(true),
                },
            ))
        })
        .collect()
}

impl Cluster {
    /// The resource serving `kind` in `api_version`.
    pub async fn resource(&self, api_version: &str, kind: &str) -> Result<Resource, ApplyError> {
        if let Some(found) = self.cached(api_version, kind) {
            return Ok(found);
        }
        self.refresh(api_version).await?;
        self.cached(api_version, kind)
            .ok_or_else(|| ApplyError::UnknownKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            })
    }

    fn cached(&self, api_version: &str, kind: &str) -> Option<Resource> {
        let cache = self.discovery.cache.lock().ok()?;
        cache.get(api_version)?.get(kind).cloned()
    }

    /// Fetches the resource list of one group/version again.
    pub async fn refresh(&self, api_version: &str) -> Result<(), ApplyError> {
        let path = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let list = self.get(&path).await?.unwrap_or(Value::Null);
        let parsed = parse_resource_list(api_version, &list);
        if let Ok(mut cache) = self.discovery.cache.lock() {
            cache.insert(api_version.to_string(), parsed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resource_lists_map_kinds_to_plurals_and_scope() {
        let list = json!({"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
            {"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment", "verbs": ["get", "patch"]},
            {"name": "deployments/status", "namespaced": true, "kind": "Deployment"},
            {"name": "controllerrevisions", "namespaced": true, "kind": "ControllerRevision"}
        ]});
        let parsed = parse_resource_list("apps/v1", &list);
        assert_eq!(parsed.len(), 2);
        let d = &parsed["Deployment"];
        assert_eq!((d.group.as_str(), d.version.as_str()), ("apps", "v1"));
        assert_eq!(d.plural, "deployments");
        let core = parse_resource_list(
            "v1",
            &json!({"resources": [{"name": "namespaces", "namespaced": false, "kind": "Namespace"}]}),
        );
        assert_eq!(core["Namespace"].group, "");
        assert!(!core["Namespace"].namespaced);
    }
}
