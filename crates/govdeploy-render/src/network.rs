//! NetworkPolicies derived from the dependency graph. Every namespace denies all traffic by
//! default; each component may then receive traffic only from the components that need it
//! (callers, the gateway for routed services, the ingress controller for published ones) and
//! may reach only DNS, what it needs, and egress the environment file declares.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use govdeploy_catalog::Backing;
use govdeploy_plan::EdgeKind;
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::context::Ctx;
use crate::labels;
use crate::object::Object;

const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// Who a component talks to, as computed from the plan.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Components allowed to connect to it.
    pub from: BTreeSet<String>,
    /// Components it may connect to.
    pub to: BTreeSet<String>,
    /// Components whose migration Job connects to it (the database).
    pub from_migrations: BTreeSet<String>,
    /// (description, optional CIDR, ports) outside the cluster.
    pub external: Vec<(String, Option<String>, Vec<u16>)>,
}

/// The reach of every deployed component.
pub fn reach(
    ctx: &Ctx,
    has_git_config: &BTreeSet<String>,
    migrations: &BTreeSet<String>,
) -> BTreeMap<String, Reach> {
    let deployed: BTreeSet<&String> = ctx
        .plan
        .components
        .iter()
        .filter(|(_, c)| c.external.is_none())
        .map(|(n, _)| n)
        .collect();
    let mut out: BTreeMap<String, Reach> = deployed
        .iter()
        .map(|n| ((*n).clone(), Reach::default()))
        .collect();
    for edge in &ctx.plan.edges {
        let traffic = edge.kinds.iter().any(|k| {
            matches!(
                k,
                EdgeKind::Calls | EdgeKind::Backing | EdgeKind::GatewayRoute
            )
        });
        if !traffic || edge.from == edge.to {
            continue;
        }
        if deployed.contains(&edge.to) && deployed.contains(&edge.from) {
            if let Some(r) = out.get_mut(&edge.to) {
                r.from.insert(edge.from.clone());
            }
            if let Some(r) = out.get_mut(&edge.from) {
                r.to.insert(edge.to.clone());
            }
        }
    }
    // External stores: the pods that use them may leave the cluster on the store's port.
    for (store, address) in &ctx.stores {
        if address.provider.is_some() {
            continue;
        }
        let cidr = address.host.parse::<IpAddr>().ok().map(|ip| match ip {
            IpAddr::V4(_) => format!("{ip}/32"),
            IpAddr::V6(_) => format!("{ip}/128"),
        });
        if let Some(use_) = ctx.plan.backbone.get(store.as_str()) {
            for user in &use_.used_by {
                if let Some(r) = out.get_mut(user) {
                    r.external.push((
                        format!("external {}", store.as_str()),
                        cidr.clone(),
                        vec![address.port],
                    ));
                }
            }
        }
    }
    if let Some(provider) = ctx
        .stores
        .get(&Backing::Postgres)
        .and_then(|a| a.provider.clone())
        && let Some(r) = out.get_mut(&provider)
    {
        r.from_migrations = migrations.clone();
    }
    if let Some(controller) = ctx.ingress_controller.clone() {
        let published: Vec<String> = deployed
            .iter()
            .filter(|n| {
                ctx.gateway.as_deref() == Some(n.as_str())
                    || ctx.component(n).is_some_and(|c| c.ingress)
            })
            .map(|n| (*n).clone())
            .collect();
        if let Some(r) = out.get_mut(&controller) {
            r.to.extend(published);
            // It watches Ingresses, Services and EndpointSlices: the API server's address
            // differs per cluster, so only its ports are pinned.
            r.external
                .push(("Kubernetes API server".into(), None, vec![443, 6443]));
        }
    }
    for name in has_git_config {
        if let Some(r) = out.get_mut(name) {
            r.external
                .push(("git config source".into(), None, vec![22, 443]));
        }
    }
    for (key, rules) in &ctx.env.spec.network.egress {
        let name = ctx.catalog.component(key).map_or(key.as_str(), |(n, _)| n);
        if let Some(r) = out.get_mut(name) {
            for rule in rules {
                r.external.push((
                    "declared in spec.network.egress".into(),
                    Some(rule.to.clone()),
                    rule.ports.clone(),
                ));
            }
        }
    }
    out
}

fn peer(ctx: &Ctx, component: &str) -> Option<NetworkPolicyPeer> {
    let namespace = &ctx.planned(component)?.namespace;
    Some(NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                NAMESPACE_NAME.to_string(),
                namespace.clone(),
            )])),
            match_expressions: None,
        }),
        pod_selector: Some(LabelSelector {
            match_labels: Some(labels::selector(ctx, component)),
            match_expressions: None,
        }),
        ip_block: None,
    })
}

fn migration_peer(ctx: &Ctx, component: &str) -> Option<NetworkPolicyPeer> {
    let mut p = peer(ctx, component)?;
    p.pod_selector = Some(LabelSelector {
        match_labels: Some(crate::migration::selector(ctx, component)),
        match_expressions: None,
    });
    Some(p)
}

fn tcp_ports(ports: impl IntoIterator<Item = u16>) -> Vec<NetworkPolicyPort> {
    ports
        .into_iter()
        .map(|p| NetworkPolicyPort {
            port: Some(IntOrString::Int(i32::from(p))),
            protocol: Some("TCP".into()),
            end_port: None,
        })
        .collect()
}

fn ports_of(ctx: &Ctx, component: &str) -> Vec<u16> {
    ctx.component(component)
        .map(|c| c.ports.iter().map(|p| p.port).collect())
        .unwrap_or_default()
}

/// Ports clients use: a store's client port only (Kafka's controller port and
/// Elasticsearch's transport port are for members), every port otherwise.
fn client_ports(ctx: &Ctx, component: &str) -> Vec<u16> {
    match ctx.component(component).and_then(|c| c.provides.as_ref()) {
        Some(provides) => vec![provides.port],
        None => ports_of(ctx, component),
    }
}

fn is_clustered(ctx: &Ctx, component: &str) -> bool {
    ctx.component(component)
        .is_some_and(|c| c.workload == govdeploy_catalog::WorkloadKind::StatefulSet)
}

/// The allow policy of one component.
pub fn component_policy(ctx: &Ctx, name: &str, reach: &Reach, public: bool) -> Option<Object> {
    let planned = ctx.planned(name)?;
    let namespace = planned.namespace.as_str();
    let own_ports = ports_of(ctx, name);
    let mut ingress = Vec::new();
    if !own_ports.is_empty() {
        let mut from: Vec<NetworkPolicyPeer> =
            reach.from.iter().filter_map(|c| peer(ctx, c)).collect();
        from.extend(
            reach
                .from_migrations
                .iter()
                .filter_map(|c| migration_peer(ctx, c)),
        );
        let is_controller = ctx.ingress_controller.as_deref() == Some(name);
        if public && !is_controller {
            from.push(ingress_controller_peer(ctx));
        }
        if is_controller {
            // The edge of the cluster: traffic arrives from anywhere, on its ports only.
            ingress.push(NetworkPolicyIngressRule {
                from: None,
                ports: Some(tcp_ports(own_ports.iter().copied())),
            });
        }
        if !from.is_empty() {
            ingress.push(NetworkPolicyIngressRule {
                from: Some(from),
                ports: Some(tcp_ports(client_ports(ctx, name))),
            });
        }
        if is_clustered(ctx, name)
            && let Some(p) = peer(ctx, name)
        {
            ingress.push(NetworkPolicyIngressRule {
                from: Some(vec![p]),
                ports: Some(tcp_ports(own_ports.iter().copied())),
            });
        }
    }
    let mut egress = Vec::new();
    for target in &reach.to {
        let ports = client_ports(ctx, target);
        if let (Some(p), false) = (peer(ctx, target), ports.is_empty()) {
            egress.push(NetworkPolicyEgressRule {
                to: Some(vec![p]),
                ports: Some(tcp_ports(ports)),
            });
        }
    }
    if is_clustered(ctx, name)
        && !own_ports.is_empty()
        && let Some(p) = peer(ctx, name)
    {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![p]),
            ports: Some(tcp_ports(own_ports.iter().copied())),
        });
    }
    for (_, cidr, ports) in &reach.external {
        egress.push(NetworkPolicyEgressRule {
            to: cidr.as_ref().map(|c| {
                vec![NetworkPolicyPeer {
                    ip_block: Some(IPBlock {
                        cidr: c.clone(),
                        except: None,
                    }),
                    ..NetworkPolicyPeer::default()
                }]
            }),
            ports: Some(tcp_ports(ports.iter().copied())),
        });
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "govdeploy.io/allowed-from".to_string(),
        describe(
            reach
                .from
                .iter()
                .chain(public.then_some(&"ingress controller".to_string())),
        ),
    );
    annotations.insert(
        "govdeploy.io/allowed-to".to_string(),
        describe(reach.to.iter()),
    );
    let policy = NetworkPolicy {
        metadata: labels::meta(
            name,
            Some(namespace),
            labels::component(ctx, name),
            annotations,
        ),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(labels::selector(ctx, name)),
                match_expressions: None,
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    };
    Some(Object::from_typed(&policy, Some(namespace), name))
}

fn describe<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let list: Vec<&str> = names.map(String::as_str).collect();
    if list.is_empty() {
        "nothing".into()
    } else {
        list.join(", ")
    }
}

/// The policy of a component's migration Job: it may reach the database only.
pub fn migration_policy(ctx: &Ctx, component: &str) -> Option<Object> {
    let planned = ctx.planned(component)?;
    let namespace = planned.namespace.as_str();
    let pg = ctx.stores.get(&Backing::Postgres)?;
    let rule = match &pg.provider {
        Some(provider) => NetworkPolicyEgressRule {
            to: Some(vec![peer(ctx, provider)?]),
            ports: Some(tcp_ports([pg.port])),
        },
        None => NetworkPolicyEgressRule {
            to: None,
            ports: Some(tcp_ports([pg.port])),
        },
    };
    let name = crate::migration::pod_name(component);
    let policy = NetworkPolicy {
        metadata: labels::meta(
            &name,
            Some(namespace),
            labels::component(ctx, component),
            Default::default(),
        ),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(crate::migration::selector(ctx, component)),
                match_expressions: None,
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![]),
            egress: Some(vec![rule]),
        }),
    };
    Some(Object::from_typed(&policy, Some(namespace), &name))
}

/// The ingress controller's pods, wherever the plan puts them (or the conventional
/// `ingress-nginx` namespace when the controller is managed outside this environment).
fn ingress_controller_peer(ctx: &Ctx) -> NetworkPolicyPeer {
    match ctx.ingress_controller.as_deref().and_then(|c| peer(ctx, c)) {
        Some(p) => p,
        None => NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    NAMESPACE_NAME.to_string(),
                    "ingress-nginx".to_string(),
                )])),
                match_expressions: None,
            }),
            ..NetworkPolicyPeer::default()
        },
    }
}

/// Namespace baseline: deny everything, then let every pod resolve names.
pub fn namespace_policies(ctx: &Ctx, namespace: &str) -> Vec<Object> {
    let all_pods = Some(LabelSelector::default());
    let deny = NetworkPolicy {
        metadata: labels::meta(
            "default-deny",
            Some(namespace),
            labels::environment(ctx),
            Default::default(),
        ),
        spec: Some(NetworkPolicySpec {
            pod_selector: all_pods.clone(),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: None,
            egress: None,
        }),
    };
    let dns_ports = vec![
        NetworkPolicyPort {
            port: Some(IntOrString::Int(53)),
            protocol: Some("UDP".into()),
            end_port: None,
        },
        NetworkPolicyPort {
            port: Some(IntOrString::Int(53)),
            protocol: Some("TCP".into()),
            end_port: None,
        },
    ];
    let dns = NetworkPolicy {
        metadata: labels::meta(
            "allow-dns",
            Some(namespace),
            labels::environment(ctx),
            Default::default(),
        ),
        spec: Some(NetworkPolicySpec {
            pod_selector: all_pods,
            policy_types: Some(vec!["Egress".into()]),
            ingress: None,
            egress: Some(vec![NetworkPolicyEgressRule {
                to: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(LabelSelector {
                        match_labels: Some(BTreeMap::from([(
                            NAMESPACE_NAME.to_string(),
                            "kube-system".to_string(),
                        )])),
                        match_expressions: None,
                    }),
                    pod_selector: Some(LabelSelector {
                        match_labels: Some(BTreeMap::from([(
                            "k8s-app".to_string(),
                            "kube-dns".to_string(),
                        )])),
                        match_expressions: None,
                    }),
                    ip_block: None,
                }]),
                ports: Some(dns_ports),
            }]),
        }),
    };
    vec![
        Object::from_typed(&deny, Some(namespace), "default-deny"),
        Object::from_typed(&dns, Some(namespace), "allow-dns"),
    ]
}
