//! A minimal OpenAPI v3 index: the paths and query parameters kubectl looks for before it
//! sends `fieldValidation` (server-side field validation support). Schemas are not served.

use crate::resources::ResourceType;
use serde_json::{Map, Value, json};

/// `/openapi/v3` (the index) or `/openapi/v3/apis/<group>/<version>`; None for the rest.
pub fn document(registry: &[ResourceType], rest: &[&str]) -> Option<Value> {
    match rest {
        ["v3"] => {
            let mut paths = Map::new();
            let mut gvs: Vec<String> = Vec::new();
            for r in registry {
                let gv = if r.group.is_empty() {
                    format!("api/{}", r.version)
                } else {
                    format!("apis/{}/{}", r.group, r.version)
                };
                if !gvs.contains(&gv) {
                    gvs.push(gv);
                }
            }
            for gv in gvs {
                paths.insert(
                    gv.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash=0")}),
                );
            }
            Some(json!({"paths": paths}))
        }
        ["v3", "api", version] => Some(group_version(registry, "", version)),
        ["v3", "apis", group, version] => Some(group_version(registry, group, version)),
        _ => None,
    }
}

fn group_version(registry: &[ResourceType], group: &str, version: &str) -> Value {
    let params = json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
    ]);
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    let mut paths = Map::new();
    for r in registry
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let gvk = json!([{"group": r.group, "version": r.version, "kind": r.kind}]);
        let op = |action: &str| json!({"parameters": params, "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk[0], "responses": {"200": {"description": "OK"}}});
        let collection = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        paths.insert(
            collection.clone(),
            json!({"post": op("post"), "get": op("list")}),
        );
        paths.insert(format!("{collection}/{{name}}"), json!({"patch": op("patch"), "put": op("put"), "get": op("get"), "delete": op("delete")}));
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": paths, "components": {"schemas": {}}})
}
