//! Image references the renderer adds itself (config delivery, the ingress controller's
//! helpers), rewritten to the registry mirror like the plan's own images.

use crate::context::Ctx;

/// The reference the cluster pulls: unchanged, or under `spec.registry.mirror`.
pub fn relocate(ctx: &Ctx, reference: &str) -> String {
    match ctx
        .env
        .spec
        .registry
        .as_ref()
        .and_then(|r| r.mirror.as_deref())
    {
        Some(mirror) => govdeploy_plan::images::mirror_reference(mirror, reference),
        None => reference.to_string(),
    }
}
