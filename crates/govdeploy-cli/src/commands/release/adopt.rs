//! Existing objects govdeploy did not create: refused unless `--adopt`, and then taken over.
//!
//! An installation deployed with `kubectl apply` or DIGIT's old deployer has objects with
//! client-side-apply history (`kubectl.kubernetes.io/last-applied-configuration`, managedFields
//! of `kubectl-client-side-apply` or other `Update` managers). Without `--adopt` the run stops
//! before writing anything and lists them: taking fields from another manager silently is how
//! two tools end up fighting over one object. With `--adopt` each is applied once with force,
//! which moves ownership of exactly the fields govdeploy sets to it, and is printed. Objects
//! that belong to another govdeploy environment or another ApplySet are always refused.

use govdeploy_apply::Cluster;
use govdeploy_release::applyset::PART_OF_LABEL;
use govdeploy_release::labels;
use govdeploy_release::resolver::{Resolver, split_api_version};
use govdeploy_render::Object;
use kube::api::{Patch, PatchParams};
use serde_json::Value;

use crate::commands::release::lifecycle::{Session, retrying};

/// How a live object stands to this release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Absent,
    Ours,
    /// Belongs to another release: never taken over.
    OtherRelease(String),
    /// Made by another tool; its managers.
    Foreign(Vec<String>),
}

pub fn standing(live: Option<&Value>, environment: &str, applyset_id: &str) -> Standing {
    let Some(live) = live else {
        return Standing::Absent;
    };
    let meta = &live["metadata"];
    let label = |name: &str| meta["labels"][name].as_str();
    if let Some(set) = label(PART_OF_LABEL)
        && set != applyset_id
    {
        return Standing::OtherRelease(format!("it is part of ApplySet {set}"));
    }
    if let Some(env) = label(labels::ENVIRONMENT)
        && env != environment
    {
        return Standing::OtherRelease(format!("it belongs to govdeploy environment {env}"));
    }
    if label(labels::MANAGED_BY) == Some(labels::MANAGER) && label(labels::ENVIRONMENT).is_some() {
        return Standing::Ours;
    }
    if let Some(other) = label(labels::MANAGED_BY)
        && other != labels::MANAGER
        && other != "kubectl"
    {
        return Standing::OtherRelease(format!("it is managed by {other}"));
    }
    let mut managers: Vec<String> = meta["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let name = m["manager"].as_str()?;
            (name != labels::MANAGER)
                .then(|| format!("{name} ({})", m["operation"].as_str().unwrap_or("?")))
        })
        .collect();
    if meta["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string() {
        managers.push("kubectl last-applied-configuration".to_string());
    }
    managers.sort();
    managers.dedup();
    Standing::Foreign(managers)
}

/// Checks every object before the first write; adopts foreign ones with `--adopt`.
/// `Err`: why the run must stop (printed by the caller, nothing written).
pub async fn take_over(
    cluster: &Cluster,
    session: &Session,
    objects: &[&Object],
    adopt: bool,
) -> Result<Vec<String>, String> {
    let resolver = Resolver::new(cluster.kube_client().clone());
    let mut foreign: Vec<(&Object, Vec<String>)> = Vec::new();
    let mut refused = Vec::new();
    for object in objects {
        let live = retrying(|| {
            govdeploy_release::diff::live(
                &resolver,
                &object.api_version,
                &object.kind,
                object.namespace.as_deref(),
                &object.name,
            )
        })
        .await
        .map_err(|e| e.to_string())?;
        match standing(
            live.as_ref(),
            &session.input.environment,
            &session.applyset.id,
        ) {
            Standing::Absent | Standing::Ours => {}
            Standing::OtherRelease(why) => refused.push(format!("{}: {why}", object.reference())),
            Standing::Foreign(managers) => foreign.push((object, managers)),
        }
    }
    if !refused.is_empty() {
        return Err(format!(
            "{} object(s) of this environment are owned by another release and are not taken over (not even with --adopt): {}; rename them in this environment or remove them from the other release",
            refused.len(),
            refused.join("; ")
        ));
    }
    if foreign.is_empty() {
        return Ok(Vec::new());
    }
    if !adopt {
        let list: Vec<String> = foreign
            .iter()
            .map(|(o, m)| format!("{} (managed by {})", o.reference(), m.join(", ")))
            .collect();
        return Err(format!(
            "{} existing object(s) were not created by govdeploy and would be taken over: {}; nothing was written. Pass --adopt to take them over (field ownership moves to govdeploy), or delete them",
            foreign.len(),
            list.join("; ")
        ));
    }
    let mut adopted = Vec::new();
    for (object, managers) in foreign {
        let (group, version) = split_api_version(&object.api_version);
        let api = resolver
            .api(group, version, &object.kind, object.namespace.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        api.patch(
            &object.name,
            &PatchParams::apply(labels::MANAGER).force(),
            &Patch::Apply(&object.body),
        )
        .await
        .map_err(|e| format!("adopting {}: {e}", object.reference()))?;
        eprintln!(
            "adopted {} (was managed by {})",
            object.reference(),
            managers.join(", ")
        );
        adopted.push(object.reference());
    }
    Ok(adopted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn standing_of_live_objects() {
        let id = "applyset-x-v1";
        assert_eq!(standing(None, "prod", id), Standing::Absent);
        let ours = json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "govdeploy", "govdeploy.io/environment": "prod"}}});
        assert_eq!(standing(Some(&ours), "prod", id), Standing::Ours);
        assert!(matches!(
            standing(Some(&ours), "staging", id),
            Standing::OtherRelease(_)
        ));
        let other_set = json!({"metadata": {"labels": {PART_OF_LABEL: "applyset-y-v1"}}});
        assert!(matches!(
            standing(Some(&other_set), "prod", id),
            Standing::OtherRelease(_)
        ));
        let kubectl = json!({"metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}]}});
        assert_eq!(
            standing(Some(&kubectl), "prod", id),
            Standing::Foreign(vec![
                "kubectl last-applied-configuration".to_string(),
                "kubectl-client-side-apply (Update)".to_string()
            ])
        );
    }
}
