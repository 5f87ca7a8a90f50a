//! Labels and annotations every object carries: the recommended `app.kubernetes.io/*` set,
//! govdeploy's own (module, component, tier, environment), and the checklist's business and
//! security labels.

use std::collections::BTreeMap;

use govdeploy_catalog::Tier;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::context::Ctx;

pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const ENVIRONMENT: &str = "govdeploy.io/environment";
pub const COMPONENT: &str = "govdeploy.io/component";
pub const MODULE: &str = "govdeploy.io/module";
pub const TIER: &str = "govdeploy.io/tier";
/// Business labels: who answers for it.
pub const OWNER: &str = "govdeploy.io/owner";
/// Security labels: how sensitive its data is, and who can reach it.
pub const DATA_CLASSIFICATION: &str = "govdeploy.io/data-classification";
pub const EXPOSURE: &str = "govdeploy.io/exposure";
/// Pod-template annotations that trigger a rollout exactly when their input changes.
pub const CONFIG_HASH: &str = "govdeploy.io/config-hash";
pub const SECRET_HASH: &str = "govdeploy.io/secret-hash";
pub const ROUTES_HASH: &str = "govdeploy.io/routes-hash";
/// Prefix of waiver annotations: `govdeploy.io/waive.<rule>: <reason>`.
pub const WAIVE_PREFIX: &str = "govdeploy.io/waive.";

pub type Labels = BTreeMap<String, String>;

/// The labels a workload selects its pods by: stable for the life of the component (never
/// the version), unique per environment.
pub fn selector(ctx: &Ctx, component: &str) -> Labels {
    Labels::from([
        (NAME.to_string(), component.to_string()),
        (INSTANCE.to_string(), ctx.env_name().to_string()),
    ])
}

/// Labels of the objects of one component.
pub fn component(ctx: &Ctx, name: &str) -> Labels {
    let mut labels = environment(ctx);
    labels.extend(selector(ctx, name));
    labels.insert(COMPONENT.into(), name.to_string());
    if let Some(planned) = ctx.planned(name) {
        labels.insert(TIER.into(), planned.tier.as_str().to_string());
        labels.insert(
            "app.kubernetes.io/component".into(),
            planned.tier.as_str().to_string(),
        );
        if let Some(module) = &planned.module {
            labels.insert(MODULE.into(), label_value(module));
        }
        if let Some(tag) = &planned.tag
            && tag != "<unset>"
        {
            labels.insert("app.kubernetes.io/version".into(), label_value(tag));
        }
        let (classification, exposure) = security(ctx, name, planned.tier);
        labels.insert(DATA_CLASSIFICATION.into(), classification.into());
        labels.insert(EXPOSURE.into(), exposure.into());
    }
    labels
}

/// Labels of a component's pods: the component's, without the module. Which module brought
/// a shared component in changes as modules are added, and a pod-template label change is a
/// rollout: the pods of an unchanged component must not restart for it.
pub fn pod(ctx: &Ctx, name: &str) -> Labels {
    let mut labels = component(ctx, name);
    labels.remove(MODULE);
    labels
}

/// Labels of environment-wide objects (namespaces, shared configuration).
pub fn environment(ctx: &Ctx) -> Labels {
    let owner = ctx
        .env
        .metadata
        .labels
        .get("owner")
        .cloned()
        .unwrap_or_else(|| ctx.env_name().to_string());
    Labels::from([
        (MANAGED_BY.to_string(), "govdeploy".to_string()),
        (
            "app.kubernetes.io/part-of".to_string(),
            label_value(&ctx.plan.product.to_ascii_lowercase()),
        ),
        (ENVIRONMENT.to_string(), ctx.env_name().to_string()),
        (OWNER.to_string(), label_value(&owner)),
    ])
}

/// Data classification and exposure: stores hold citizens' records (`confidential`),
/// services process them (`internal`), front ends serve static code (`public`).
fn security(ctx: &Ctx, name: &str, tier: Tier) -> (&'static str, &'static str) {
    let exposure = if ctx.component(name).is_some_and(|c| c.ingress)
        || Some(name) == ctx.gateway.as_deref()
        || Some(name) == ctx.ingress_controller.as_deref()
    {
        "public"
    } else if ctx.component(name).is_some_and(|c| c.gateway_routed) {
        "gateway"
    } else {
        "internal"
    };
    let classification = match tier {
        Tier::Backbone => "confidential",
        Tier::Frontend | Tier::Infra => "public",
        _ => "internal",
    };
    (classification, exposure)
}

/// Object metadata with labels and optional annotations.
pub fn meta(
    name: &str,
    namespace: Option<&str>,
    labels: Labels,
    annotations: Labels,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    }
}

/// A valid label value: at most 63 characters of `[A-Za-z0-9._-]`, starting and ending
/// alphanumeric. Anything else is replaced by `-` and trimmed.
pub fn label_value(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("v2.9.0-4d15c1a7a0-34"), "v2.9.0-4d15c1a7a0-34");
        assert_eq!(label_value("Urban Team/ops"), "Urban-Team-ops");
        assert_eq!(label_value("-x-"), "x");
        assert_eq!(label_value(&"a".repeat(80)).len(), 63);
    }
}
