//! Wiring between objects: ConfigMap/Secret references, Service selectors and target ports,
//! Ingress backends and their ports, unique Ingress routes and approved domains.
//!
//! A reference to an object that is not in the input is a finding at the rule's severity:
//! `GD-REF-001` (ConfigMap, medium) and `GD-REF-002` (Secret, low, because Secrets are often
//! provisioned apart from the manifests: sops, external-secrets, a vault). References marked
//! `optional: true` are never findings; a key missing from an object that *is* in the input is
//! `GD-REF-003` (high: the container cannot start).

use std::collections::HashMap;

use govdeploy_yaml::{Node, Value};

use super::Ctx;
use crate::rules;
use crate::selector::Selector;
use crate::workload::int;

pub struct Reference<'a> {
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub key: Option<&'a str>,
    pub optional: bool,
}

pub fn reference(ctx: &mut Ctx<'_>, object: usize, r: Reference<'_>, node: &Node, what: &str) {
    if r.optional {
        return;
    }
    let (kind, name, ns) = (r.kind, r.name, r.namespace);
    match ctx.index.keys(kind, ns, name) {
        None => {
            let rule = if kind == "Secret" {
                &rules::REF_SECRET
            } else {
                &rules::REF_CONFIGMAP
            };
            ctx.hit(
                rule,
                object,
                Some(node),
                format!("{kind} `{name}` is read here but is not in the input: add it, create it before applying, or mark the references `optional: true`"),
            );
        }
        Some(keys) => {
            let unfilled_secret = kind == "Secret" && keys.is_empty();
            if let Some(key) = r.key
                && !unfilled_secret
                && !keys.contains(key)
            {
                ctx.hit(
                    &rules::REF_KEY,
                    object,
                    Some(node),
                    format!("{what} reads key `{key}` of {kind} `{name}`, which has no such key: the container will not start; add the key or fix the reference"),
                );
            }
        }
    }
}

pub fn check(ctx: &mut Ctx<'_>) {
    services(ctx);
    ingresses(ctx);
}

fn services(ctx: &mut Ctx<'_>) {
    let index = ctx.index;
    for (i, svc) in index.of_kind("Service") {
        let Some(selector_node) = svc.root.path(&["spec", "selector"]) else {
            continue;
        };
        let selector = Selector::plain(Some(selector_node));
        if selector.is_empty() {
            continue;
        }
        let selected = index.select(&svc.namespace, &selector);
        if selected.is_empty() {
            ctx.hit(
                &rules::SVC_SELECTOR,
                i,
                Some(selector_node),
                format!("the selector matches no pod template in namespace `{}`: make it equal to the labels of the workload's pod template", svc.namespace),
            );
            continue;
        }
        let declared: Vec<(Option<&str>, Option<i64>)> = selected
            .iter()
            .flat_map(|&w| {
                index.workloads[w]
                    .containers()
                    .filter(|c| !c.init)
                    .flat_map(|c| c.ports())
                    .collect::<Vec<_>>()
            })
            .collect();
        for port in svc
            .root
            .path(&["spec", "ports"])
            .map(Node::items)
            .unwrap_or(&[])
        {
            let target = port.get("targetPort").or_else(|| port.get("port"));
            let Some(target) = target else { continue };
            match &target.value {
                Value::String(name) if name.parse::<i64>().is_err() => {
                    if !declared.iter().any(|(n, _)| *n == Some(name.as_str())) {
                        ctx.hit(
                            &rules::SVC_TARGET_PORT,
                            i,
                            Some(target),
                            format!("targetPort `{name}` is not a named port of the selected pods: name the container port `{name}` or point at a declared one"),
                        );
                    }
                }
                _ => {
                    if let Some(number) = int(target)
                        && !declared.is_empty()
                        && !declared.iter().any(|(_, p)| *p == Some(number))
                    {
                        ctx.hit(
                            &rules::SVC_TARGET_PORT,
                            i,
                            Some(target),
                            format!("targetPort {number} is not a container port of the selected pods: traffic would go nowhere; use a declared port"),
                        );
                    }
                }
            }
        }
    }
}

struct Backend<'a> {
    node: &'a Node,
    service: &'a str,
    port: Option<&'a Node>,
}

fn backend(node: &Node) -> Option<Backend<'_>> {
    if let Some(service) = node.get("service") {
        return Some(Backend {
            node,
            service: service.get("name")?.as_str()?,
            port: service
                .get("port")
                .and_then(|p| p.get("number").or_else(|| p.get("name"))),
        });
    }
    Some(Backend {
        node,
        service: node.get("serviceName")?.as_str()?,
        port: node.get("servicePort"),
    })
}

fn ingresses(ctx: &mut Ctx<'_>) {
    let index = ctx.index;
    let mut routes: HashMap<(String, String), String> = HashMap::new();
    for (i, ing) in index.of_kind("Ingress") {
        let spec = ing.root.get("spec");
        let mut backends = Vec::new();
        if let Some(b) = spec
            .and_then(|s| s.get("defaultBackend").or_else(|| s.get("backend")))
            .and_then(backend)
        {
            backends.push(b);
        }
        for rule in spec
            .and_then(|s| s.get("rules"))
            .map(Node::items)
            .unwrap_or(&[])
        {
            let host_node = rule.get("host");
            let host = host_node.and_then(Node::as_str).unwrap_or("*");
            if let Some(host_node) = host_node {
                domain(ctx, i, host, host_node);
            }
            for path in rule
                .path(&["http", "paths"])
                .map(Node::items)
                .unwrap_or(&[])
            {
                let p = path.get("path").and_then(Node::as_str).unwrap_or("/");
                let key = (host.to_owned(), p.to_owned());
                match routes.get(&key) {
                    Some(first) if *first != ing.display() => ctx.hit(
                        &rules::INGRESS_DUPLICATE,
                        i,
                        Some(path),
                        format!("host `{host}` path `{p}` is already routed by {first}: the controller picks one of them unpredictably; remove one or change the path"),
                    ),
                    Some(_) => ctx.hit(
                        &rules::INGRESS_DUPLICATE,
                        i,
                        Some(path),
                        format!("host `{host}` path `{p}` appears twice in this Ingress: remove one"),
                    ),
                    None => {
                        routes.insert(key, ing.display());
                    }
                }
                if let Some(b) = path.get("backend").and_then(backend) {
                    backends.push(b);
                }
            }
        }
        for b in backends {
            backend_exists(ctx, i, &ing.namespace, &b);
        }
        let cert_manager = ing
            .root
            .path(&["metadata", "annotations"])
            .map(Node::entries)
            .unwrap_or(&[])
            .iter()
            .any(|(k, _)| k.name.starts_with("cert-manager.io/"));
        if !cert_manager {
            for tls in spec
                .and_then(|s| s.get("tls"))
                .map(Node::items)
                .unwrap_or(&[])
            {
                if let Some(name) = tls.get("secretName").and_then(Node::as_str) {
                    let r = Reference {
                        kind: "Secret",
                        namespace: &ing.namespace,
                        name,
                        key: None,
                        optional: false,
                    };
                    reference(ctx, i, r, tls, "the TLS section");
                }
            }
        }
    }
}

fn domain(ctx: &mut Ctx<'_>, object: usize, host: &str, node: &Node) {
    let domains = &ctx.config.ingress_domains;
    if domains.is_empty() {
        return;
    }
    let bare = host.trim_start_matches("*.");
    let approved = domains.iter().any(|d| {
        let d = d.trim_start_matches("*.").trim_start_matches('.');
        bare == d || bare.ends_with(&format!(".{d}"))
    });
    if !approved {
        ctx.hit(
            &rules::INGRESS_DOMAIN,
            object,
            Some(node),
            format!("host `{host}` is not under an approved domain ({}): use one of them or add the domain to `ingressDomains`", domains.join(", ")),
        );
    }
}

fn backend_exists(ctx: &mut Ctx<'_>, object: usize, namespace: &str, b: &Backend<'_>) {
    let Some(svc) = ctx.index.find("Service", namespace, b.service) else {
        ctx.hit(
            &rules::INGRESS_BACKEND,
            object,
            Some(b.node),
            format!("backend Service `{}` is not in namespace `{namespace}`: add the Service or fix the name", b.service),
        );
        return;
    };
    let Some(port) = b.port else { return };
    let ports = svc
        .root
        .path(&["spec", "ports"])
        .map(Node::items)
        .unwrap_or(&[]);
    let found = match &port.value {
        Value::String(name) if name.parse::<i64>().is_err() => ports
            .iter()
            .any(|p| p.get("name").and_then(Node::as_str) == Some(name.as_str())),
        _ => ports.iter().any(|p| {
            p.get("port").and_then(int).is_some() && p.get("port").and_then(int) == int(port)
        }),
    };
    if !found {
        ctx.hit(
            &rules::INGRESS_PORT,
            object,
            Some(port),
            format!(
                "backend port `{}` is not a port of Service `{}`: use one of its ports",
                port.scalar_text().unwrap_or_default(),
                b.service
            ),
        );
    }
}
