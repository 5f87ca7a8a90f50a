//! Namespace-level objects: the Namespace (enforcing the restricted Pod Security Standard),
//! a LimitRange for anything that arrives without requests, and a ResourceQuota sized from
//! the plan with headroom for rolling updates and migration Jobs.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::context::Ctx;
use crate::labels;
use crate::object::Object;
use govdeploy_spec::quantity::{format_bytes, format_millicores};

const MI: u64 = 1024 * 1024;
const GI: u64 = 1024 * MI;

pub fn namespace(ctx: &Ctx, name: &str) -> Object {
    let mut l = labels::environment(ctx);
    for mode in ["enforce", "audit", "warn"] {
        l.insert(
            format!("pod-security.kubernetes.io/{mode}"),
            "restricted".into(),
        );
    }
    let ns = Namespace {
        metadata: labels::meta(name, None, l, Default::default()),
        ..Namespace::default()
    };
    Object::from_typed(&ns, None, name)
}

/// Defaults for containers that arrive without requests (a debugging pod, a third-party
/// Job): small, with memory request = limit and no CPU limit, like everything else here.
pub fn limit_range(ctx: &Ctx, namespace: &str) -> Object {
    let largest = ctx
        .components_in(namespace)
        .map(|(_, c)| c.memory_bytes)
        .max()
        .unwrap_or(0)
        .max(GI);
    let memory = Quantity("256Mi".into());
    let lr = LimitRange {
        metadata: labels::meta(
            "defaults",
            Some(namespace),
            labels::environment(ctx),
            Default::default(),
        ),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default: Some(BTreeMap::from([("memory".to_string(), memory.clone())])),
                default_request: Some(BTreeMap::from([
                    ("cpu".to_string(), Quantity("50m".into())),
                    ("memory".to_string(), memory),
                ])),
                max: Some(BTreeMap::from([(
                    "memory".to_string(),
                    Quantity(format_bytes(largest)),
                )])),
                ..LimitRangeItem::default()
            }],
        }),
    };
    Object::from_typed(&lr, Some(namespace), "defaults")
}

/// Requests of the namespace's pods plus half again (a rolling update surges one pod per
/// workload; migration Jobs and debugging need room), rounded up.
pub fn resource_quota(ctx: &Ctx, namespace: &str, jobs: u64) -> Object {
    let mut pods = 0u64;
    let mut cpu = 0u64;
    let mut memory = 0u64;
    let mut storage = 0u64;
    let mut claims = 0u64;
    for (_, c) in ctx.components_in(namespace) {
        let replicas = u64::from(c.autoscale.map_or(c.replicas, |a| a.max));
        pods += replicas;
        cpu += c.cpu_millicores * replicas;
        memory += c.memory_bytes * replicas;
        if let Some(s) = c.storage_bytes {
            storage += s * replicas;
            claims += replicas;
        }
    }
    // Migration Jobs: 100m / 256Mi each, all may run at once on a first install.
    cpu += jobs * 100;
    memory += jobs * 256 * MI;
    pods += jobs;
    let headroom = |v: u64| v + v.div_ceil(2);
    let round_up = |v: u64, unit: u64| v.div_ceil(unit) * unit;
    let mut hard = BTreeMap::from([
        (
            "pods".to_string(),
            Quantity(headroom(pods).max(10).to_string()),
        ),
        (
            "requests.cpu".to_string(),
            Quantity(format_millicores(round_up(headroom(cpu).max(1000), 500))),
        ),
        (
            "requests.memory".to_string(),
            Quantity(format_bytes(round_up(headroom(memory).max(2 * GI), GI))),
        ),
        (
            "limits.memory".to_string(),
            Quantity(format_bytes(round_up(headroom(memory).max(2 * GI), GI))),
        ),
    ]);
    if claims > 0 {
        hard.insert(
            "persistentvolumeclaims".into(),
            Quantity(headroom(claims).to_string()),
        );
        hard.insert(
            "requests.storage".into(),
            Quantity(format_bytes(round_up(headroom(storage), GI))),
        );
    }
    let rq = ResourceQuota {
        metadata: labels::meta(
            "capacity",
            Some(namespace),
            labels::environment(ctx),
            Default::default(),
        ),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            ..ResourceQuotaSpec::default()
        }),
        status: None,
    };
    Object::from_typed(&rq, Some(namespace), "capacity")
}
