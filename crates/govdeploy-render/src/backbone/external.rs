//! The Service standing for a store run outside the cluster: an `ExternalName` Service when
//! the store has a DNS name, a selector-less Service with one EndpointSlice when it is an IP
//! address. Clients still connect to the external address itself (it is in `egov-config`);
//! the Service keeps the in-cluster name and the inventory the same either way.

use std::collections::BTreeMap;
use std::net::IpAddr;

use govdeploy_plan::{External, PlannedComponent};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::context::Ctx;
use crate::labels::{self, Labels};
use crate::object::Object;

/// Label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label telling the EndpointSlice controllers the slice is not theirs.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";

/// The Service (and EndpointSlice when the address is an IP) standing for an external store,
/// so in-cluster names and inventories stay the same whichever way the store is provided.
/// Nothing when the component is not external, or its host is neither an IP address nor a
/// DNS name (validation reports such hosts).
pub fn external_service(ctx: &Ctx, name: &str, planned: &PlannedComponent) -> Vec<Object> {
    let Some(external) = &planned.external else {
        return Vec::new();
    };
    objects(
        name,
        &planned.namespace,
        labels::component(ctx, name),
        &port_name(ctx, name),
        external,
    )
}

/// The catalogue's name for the client port (the port the store `provides`, else the first),
/// so the Service port is named as it would be in-cluster.
fn port_name(ctx: &Ctx, name: &str) -> String {
    let Some(component) = ctx.component(name) else {
        return "tcp".into();
    };
    let client_port = component.provides.as_ref().map(|p| p.port);
    component
        .ports
        .iter()
        .find(|p| Some(p.port) == client_port)
        .or_else(|| component.ports.first())
        .map_or_else(|| "tcp".into(), |p| p.name.clone())
}

pub(super) fn objects(
    name: &str,
    namespace: &str,
    labels: Labels,
    port_name: &str,
    external: &External,
) -> Vec<Object> {
    let host = external
        .host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = i32::from(external.port);
    if let Ok(ip) = host.parse::<IpAddr>() {
        let service = Service {
            metadata: labels::meta(name, Some(namespace), labels.clone(), BTreeMap::new()),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                // No selector: the EndpointSlice below is the only backend.
                selector: None,
                ports: Some(vec![ServicePort {
                    name: Some(port_name.to_string()),
                    port,
                    target_port: Some(IntOrString::Int(port)),
                    protocol: Some("TCP".into()),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        let slice_name = format!("{name}-external");
        let mut slice_labels = labels;
        slice_labels.insert(SERVICE_NAME_LABEL.into(), name.to_string());
        slice_labels.insert(MANAGED_BY_LABEL.into(), "govdeploy".into());
        let slice = EndpointSlice {
            metadata: labels::meta(&slice_name, Some(namespace), slice_labels, BTreeMap::new()),
            address_type: if ip.is_ipv4() { "IPv4" } else { "IPv6" }.into(),
            endpoints: vec![Endpoint {
                addresses: vec![ip.to_string()],
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    serving: Some(true),
                    terminating: Some(false),
                }),
                ..Endpoint::default()
            }],
            ports: Some(vec![EndpointPort {
                name: Some(port_name.to_string()),
                port: Some(port),
                protocol: Some("TCP".into()),
                app_protocol: None,
            }]),
        };
        return vec![
            Object::from_typed(&service, Some(namespace), name),
            Object::from_typed(&slice, Some(namespace), &slice_name),
        ];
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if !is_dns_subdomain(&host) {
        return Vec::new();
    }
    let service = Service {
        metadata: labels::meta(name, Some(namespace), labels, BTreeMap::new()),
        spec: Some(ServiceSpec {
            type_: Some("ExternalName".into()),
            external_name: Some(host),
            // Informational for ExternalName (DNS answers with a CNAME; clients use their own
            // port), kept so the Service shows where the store listens.
            ports: Some(vec![ServicePort {
                name: Some(port_name.to_string()),
                port,
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    vec![Object::from_typed(&service, Some(namespace), name)]
}

/// RFC 1123 subdomain, as Kubernetes validates `externalName`: at most 253 characters of
/// dot-separated labels of 1-63 lowercase alphanumerics or `-`, not starting or ending
/// with `-`.
fn is_dns_subdomain(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns_subdomain("db.example.org"));
        assert!(is_dns_subdomain("mydb.c1x2.ap-south-1.rds.amazonaws.com"));
        assert!(!is_dns_subdomain("<db_host>"));
        assert!(!is_dns_subdomain("-bad.example.org"));
        assert!(!is_dns_subdomain("a..b"));
        assert!(!is_dns_subdomain(""));
    }

    #[test]
    fn ipv6_endpoint_slice() {
        let ext = External {
            host: "[fd00::10]".into(),
            port: 5432,
            database: None,
        };
        let objects = objects("postgres", "backbone", Labels::new(), "postgres", &ext);
        assert_eq!(objects.len(), 2);
        let slice = &objects[1].body;
        assert_eq!(slice["addressType"], "IPv6");
        assert_eq!(slice["endpoints"][0]["addresses"][0], "fd00::10");
        assert_eq!(slice["metadata"]["labels"][SERVICE_NAME_LABEL], "postgres");
    }

    #[test]
    fn placeholder_host_renders_nothing() {
        let ext = External {
            host: "<db_host>".into(),
            port: 5432,
            database: None,
        };
        assert!(objects("postgres", "backbone", Labels::new(), "postgres", &ext).is_empty());
    }
}
