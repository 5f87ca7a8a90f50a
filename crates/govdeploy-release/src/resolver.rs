//! Which API serves a kind: kube's discovery per group/version/kind, cached for the run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};

use crate::error::ReleaseError;

/// `(group, version, kind)`.
type KindKey = (String, String, String);
/// The resource and whether it is namespaced.
type Served = (ApiResource, bool);

pub struct Resolver {
    client: kube::Client,
    cache: Mutex<BTreeMap<KindKey, Served>>,
}

impl Resolver {
    pub fn new(client: kube::Client) -> Resolver {
        Resolver {
            client,
            cache: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The dynamic API of a kind, in `namespace` when the kind is namespaced.
    pub async fn api(
        &self,
        group: &str,
        version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>, ReleaseError> {
        let key = (group.to_string(), version.to_string(), kind.to_string());
        let cached = self.cache.lock().ok().and_then(|c| c.get(&key).cloned());
        let (resource, namespaced) = match cached {
            Some(found) => found,
            None => {
                let gvk = GroupVersionKind::gvk(group, version, kind);
                let (resource, caps): (ApiResource, ApiCapabilities) =
                    kube::discovery::pinned_kind(&self.client, &gvk)
                        .await
                        .map_err(|e| {
                            ReleaseError::api(format!("discovering {kind} in {group}/{version}"), e)
                        })?;
                let namespaced = caps.scope == Scope::Namespaced;
                if let Ok(mut c) = self.cache.lock() {
                    c.insert(key, (resource.clone(), namespaced));
                }
                (resource, namespaced)
            }
        };
        Ok(match namespace {
            Some(ns) if namespaced => Api::namespaced_with(self.client.clone(), ns, &resource),
            _ => Api::all_with(self.client.clone(), &resource),
        })
    }
}

/// `(group, version)` of an `apiVersion`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}
