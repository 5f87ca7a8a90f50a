//! Routing into the platform: the gateway's route table (generated, so a service deployed
//! after the gateway is routable without anyone restarting it by hand) and the Ingress rules
//! for the gateway's context paths and the front ends.

use std::collections::{BTreeMap, BTreeSet};

use govdeploy_yaml::Diagnostic;
use k8s_openapi::api::core::v1::{ConfigMap, ConfigMapVolumeSource, Volume};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};

use crate::context::Ctx;
use crate::labels;
use crate::object::Object;

pub const INGRESS_CLASS: &str = "nginx";
/// Where DIGIT's gateway reads its route table (`ZUUL_ROUTES_FILEPATH`).
pub const ROUTES_DIR: &str = "/etc/zuul";
pub const ROUTES_FILE: &str = "routes.properties";

/// A context path served through the gateway.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub path: String,
    pub component: String,
    pub url: String,
}

/// Every deployed, gateway-routed component with a context path, sorted by path.
pub fn routes(ctx: &Ctx) -> Vec<Route> {
    let mut out: Vec<Route> = ctx
        .plan
        .components
        .iter()
        .filter(|(_, p)| p.external.is_none())
        .filter_map(|(name, _)| {
            let c = ctx.component(name)?;
            if !c.gateway_routed {
                return None;
            }
            let path = c.context_path.as_ref()?;
            Some(Route {
                path: normalise(path),
                component: name.clone(),
                url: ctx.service_hosts.get(name)?.clone(),
            })
        })
        .collect();
    out.sort();
    out
}

fn normalise(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// The gateway's route table in Spring Cloud Netflix Zuul's properties format.
pub fn routes_properties(routes: &[Route]) -> String {
    let mut text = String::new();
    for r in routes {
        let id = &r.component;
        text.push_str(&format!("zuul.routes.{id}.path={}/**\n", r.path));
        text.push_str(&format!("zuul.routes.{id}.stripPrefix=false\n"));
        text.push_str(&format!("zuul.routes.{id}.url={}\n", r.url));
    }
    text
}

pub fn routes_config_map_name(gateway: &str) -> String {
    format!("{gateway}-routes")
}

pub fn routes_config_map(ctx: &Ctx, gateway: &str, namespace: &str, text: &str) -> Object {
    let name = routes_config_map_name(gateway);
    let cm = ConfigMap {
        metadata: labels::meta(
            &name,
            Some(namespace),
            labels::component(ctx, gateway),
            Default::default(),
        ),
        data: Some(BTreeMap::from([(
            ROUTES_FILE.to_string(),
            text.to_string(),
        )])),
        ..ConfigMap::default()
    };
    Object::from_typed(&cm, Some(namespace), &name)
}

/// The gateway's generated route table: its ConfigMap, mounted where the gateway reads it,
/// and the hash that restarts the gateway exactly when the routes change.
pub fn gateway_routes(
    ctx: &Ctx,
    gateway: &str,
    namespace: &str,
    routes_text: &str,
    extras: &mut crate::pod::PodExtras,
) -> Object {
    extras.volumes.push(Volume {
        name: "routes".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: routes_config_map_name(gateway),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    });
    extras
        .mounts
        .push(crate::pod::mount("routes", ROUTES_DIR, true));
    extras.annotations.insert(
        crate::labels::ROUTES_HASH.into(),
        crate::hash::short_hash([routes_text]),
    );
    routes_config_map(ctx, gateway, namespace, routes_text)
}

fn tls_secret(host: &str) -> String {
    format!("{host}-tls")
}

/// Paths already published, across every Ingress, to report duplicates.
#[derive(Debug, Default)]
pub struct PublishedPaths(BTreeMap<(String, String), String>);

#[allow(
    clippy::too_many_arguments,
    reason = "one call per kind of Ingress, each argument named at the call"
)]
fn ingress(
    ctx: &mut Ctx,
    published: &mut PublishedPaths,
    name: &str,
    namespace: &str,
    host: &str,
    backend_service: &str,
    port: u16,
    paths: &[String],
) -> Option<Object> {
    let mut http_paths = Vec::new();
    for path in paths.iter().collect::<BTreeSet<_>>() {
        if let Some(owner) = published.0.get(&(host.to_string(), path.clone())) {
            ctx.report(Diagnostic::warning(
                "W-RENDER-DUPLICATE-ROUTE",
                format!("{name}: path {path} on {host} is already published by {owner}; left out"),
            ));
            continue;
        }
        published
            .0
            .insert((host.to_string(), path.clone()), name.to_string());
        http_paths.push(HTTPIngressPath {
            path: Some(path.clone()),
            path_type: "Prefix".into(),
            backend: IngressBackend {
                service: Some(IngressServiceBackend {
                    name: backend_service.to_string(),
                    port: Some(ServiceBackendPort {
                        number: Some(i32::from(port)),
                        name: None,
                    }),
                }),
                resource: None,
            },
        });
    }
    if http_paths.is_empty() {
        return None;
    }
    let mut annotations = BTreeMap::new();
    if ctx.plan.components.contains_key("cert-manager") {
        annotations.insert(
            "cert-manager.io/cluster-issuer".to_string(),
            "letsencrypt-prod".to_string(),
        );
    }
    let ing = Ingress {
        metadata: labels::meta(
            name,
            Some(namespace),
            labels::component(ctx, name),
            annotations,
        ),
        spec: Some(IngressSpec {
            ingress_class_name: Some(INGRESS_CLASS.into()),
            rules: Some(vec![IngressRule {
                host: Some(host.to_string()),
                http: Some(HTTPIngressRuleValue { paths: http_paths }),
            }]),
            tls: Some(vec![IngressTLS {
                hosts: Some(vec![host.to_string()]),
                secret_name: Some(tls_secret(host)),
            }]),
            default_backend: None,
        }),
        status: None,
    };
    Some(Object::from_typed(&ing, Some(namespace), name))
}

/// The gateway's Ingress: every routed context path, to the gateway.
pub fn gateway_ingress(
    ctx: &mut Ctx,
    published: &mut PublishedPaths,
    gateway: &str,
    routes: &[Route],
) -> Option<Object> {
    let planned = ctx.planned(gateway)?;
    let port = ctx.component(gateway)?.ports.first()?.port;
    let namespace = planned.namespace.clone();
    let host = ctx.env.spec.domain.clone();
    let paths: Vec<String> = routes.iter().map(|r| r.path.clone()).collect();
    ingress(
        ctx, published, gateway, &namespace, &host, gateway, port, &paths,
    )
}

/// A front end's own Ingress.
pub fn frontend_ingress(
    ctx: &mut Ctx,
    published: &mut PublishedPaths,
    name: &str,
) -> Option<Object> {
    let component = ctx.component(name)?;
    if !component.ingress {
        return None;
    }
    let planned = ctx.planned(name)?;
    let port = component.ports.first()?.port;
    let namespace = planned.namespace.clone();
    let host = component
        .ingress_host
        .clone()
        .unwrap_or_else(|| ctx.env.spec.domain.clone());
    let path = component
        .context_path
        .as_deref()
        .map_or_else(|| "/".to_string(), normalise);
    ingress(ctx, published, name, &namespace, &host, name, port, &[path])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table_format() {
        let text = routes_properties(&[Route {
            path: "/user".into(),
            component: "egov-user".into(),
            url: "http://egov-user.egov:8080/".into(),
        }]);
        assert_eq!(
            text,
            "zuul.routes.egov-user.path=/user/**\nzuul.routes.egov-user.stripPrefix=false\nzuul.routes.egov-user.url=http://egov-user.egov:8080/\n"
        );
        assert_eq!(normalise("user/"), "/user");
    }
}
