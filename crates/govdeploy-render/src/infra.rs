//! Cluster infrastructure components the plan may include: the ingress-nginx controller (its
//! RBAC, IngressClass, configuration and LoadBalancer Service) and cert-manager.
//!
//! ingress-nginx follows the upstream v1.9.5 static manifest (`deploy/static/provider/cloud`)
//! with these differences: no admission webhook (so no certificate Jobs and no
//! ValidatingWebhookConfiguration: invalid Ingresses are caught when nginx reloads instead of
//! at admission), `allowPrivilegeEscalation: false` with nginx listening on unprivileged
//! ports 8080/8443 (the Service maps 80/443 to them), snippets disabled, and the pod
//! hardening of `pod.rs`, except the read-only root filesystem (waived: see
//! [`INGRESS_WRITABLE_ROOT`]).
//!
//! cert-manager is not rendered here: it needs its CustomResourceDefinitions, webhook and
//! cainjector, which belong to its upstream release manifest, installed separately.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use govdeploy_plan::PlannedComponent;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvVar, EnvVarSource, ObjectFieldSelector, Service, ServicePort,
    ServiceSpec,
};
use k8s_openapi::api::networking::v1::{IngressClass, IngressClassSpec};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::context::Ctx;
use crate::labels;
use crate::object::Object;
use crate::pod::{self, PodExtras};
use crate::routing::INGRESS_CLASS;

/// The ingress controller component.
pub const INGRESS_NGINX: &str = "ingress-nginx";
/// `spec.controller` of the IngressClass, and the controller's `--controller-class`.
pub const INGRESS_CONTROLLER_CLASS: &str = "k8s.io/ingress-nginx";
/// The LoadBalancer Service in front of the controller (upstream's name; the controller
/// publishes its address into Ingress status from it).
pub const INGRESS_SERVICE: &str = "ingress-nginx-controller";
/// The controller's ConfigMap (upstream's name).
pub const INGRESS_CONFIG_MAP: &str = "ingress-nginx-controller";
/// Leader-election Lease name (`--election-id`).
pub const INGRESS_ELECTION_ID: &str = "ingress-nginx-leader";
/// Ports nginx listens on inside the pod: unprivileged, so no capability is needed to bind.
pub const INGRESS_HTTP_PORT: u16 = 8080;
pub const INGRESS_HTTPS_PORT: u16 = 8443;
/// ingress-nginx's `www-data` user.
pub const INGRESS_UID: i64 = 101;
/// Why the controller's root filesystem stays writable (the waiver annotation's text).
pub const INGRESS_WRITABLE_ROOT: &str = "ingress-nginx writes its generated nginx.conf and Lua configuration into /etc/nginx, \
     beside the templates and Lua code the image ships there, and certificates into /etc/ingress-controller; \
     upstream does not support a read-only root filesystem (kubernetes/ingress-nginx#9504)";

/// Extra objects and pod settings for an infrastructure component; `None` when the
/// component is not infrastructure govdeploy knows.
pub fn infra(
    ctx: &Ctx,
    name: &str,
    planned: &PlannedComponent,
) -> Option<(Vec<Object>, PodExtras)> {
    match name {
        INGRESS_NGINX => Some(ingress_nginx(ctx, name, planned)),
        // Needs its CRDs, webhook and cainjector from its own release manifest.
        _ => None,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn rule(api_group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![api_group.to_string()]),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        resource_names: None,
        non_resource_urls: None,
    }
}

fn field_env(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: field_path.to_string(),
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// Cluster-wide rules of the upstream v1.9.5 ClusterRole `ingress-nginx`: read what Ingresses
/// refer to in every namespace, update Ingress status, record events.
pub fn cluster_rules() -> Vec<PolicyRule> {
    vec![
        rule(
            "",
            &[
                "configmaps",
                "endpoints",
                "nodes",
                "pods",
                "secrets",
                "namespaces",
            ],
            &["list", "watch"],
        ),
        rule("coordination.k8s.io", &["leases"], &["list", "watch"]),
        rule("", &["nodes"], &["get"]),
        rule("", &["services"], &["get", "list", "watch"]),
        rule(
            "networking.k8s.io",
            &["ingresses"],
            &["get", "list", "watch"],
        ),
        rule("", &["events"], &["create", "patch"]),
        rule("networking.k8s.io", &["ingresses/status"], &["update"]),
        rule(
            "networking.k8s.io",
            &["ingressclasses"],
            &["get", "list", "watch"],
        ),
        rule(
            "discovery.k8s.io",
            &["endpointslices"],
            &["list", "watch", "get"],
        ),
    ]
}

/// Rules of the upstream v1.9.5 Role `ingress-nginx` in the controller's namespace, including
/// leader election on its own Lease only.
pub fn namespace_rules() -> Vec<PolicyRule> {
    vec![
        rule("", &["namespaces"], &["get"]),
        rule(
            "",
            &["configmaps", "pods", "secrets", "endpoints"],
            &["get", "list", "watch"],
        ),
        rule("", &["services"], &["get", "list", "watch"]),
        rule(
            "networking.k8s.io",
            &["ingresses"],
            &["get", "list", "watch"],
        ),
        rule("networking.k8s.io", &["ingresses/status"], &["update"]),
        rule(
            "networking.k8s.io",
            &["ingressclasses"],
            &["get", "list", "watch"],
        ),
        PolicyRule {
            resource_names: Some(vec![INGRESS_ELECTION_ID.to_string()]),
            ..rule("coordination.k8s.io", &["leases"], &["get", "update"])
        },
        rule("coordination.k8s.io", &["leases"], &["create"]),
        rule("", &["events"], &["create", "patch"]),
        rule(
            "discovery.k8s.io",
            &["endpointslices"],
            &["list", "watch", "get"],
        ),
    ]
}

/// Controller configuration (the ConfigMap named by `--configmap`).
pub fn ingress_config() -> BTreeMap<String, String> {
    BTreeMap::from([
        // Snippet annotations let anyone who can write an Ingress inject nginx configuration
        // (CVE-2021-25742); upstream's default since v1.9.
        ("allow-snippet-annotations".to_string(), "false".to_string()),
        // No nginx version in error pages and Server headers.
        ("server-tokens".to_string(), "false".to_string()),
        ("ssl-protocols".to_string(), "TLSv1.2 TLSv1.3".to_string()),
        // DIGIT's filestore takes uploads through the gateway; DIGIT-DevOps sets 8m on it.
        ("proxy-body-size".to_string(), "8m".to_string()),
    ])
}

fn ingress_nginx(ctx: &Ctx, name: &str, planned: &PlannedComponent) -> (Vec<Object>, PodExtras) {
    let namespace = planned.namespace.as_str();
    let component_labels = labels::component(ctx, name);
    let meta = |object_name: &str, ns: Option<&str>| {
        labels::meta(object_name, ns, component_labels.clone(), BTreeMap::new())
    };
    // The controller terminates TLS with the certificate Secrets Ingresses name, in any
    // namespace: upstream's roles grant exactly this, and resource names are not known here.
    let reads_secrets = |object_name: &str, ns: Option<&str>| {
        labels::meta(
            object_name,
            ns,
            component_labels.clone(),
            BTreeMap::from([(
                format!("{}rbac-secrets", labels::WAIVE_PREFIX),
                "the controller reads the TLS Secrets that Ingresses name, in any namespace (upstream v1.9.5 grants the same)".to_string(),
            )]),
        )
    };
    let subjects = Some(vec![Subject {
        api_group: None,
        kind: "ServiceAccount".into(),
        name: name.to_string(),
        namespace: Some(namespace.to_string()),
    }]);

    let class = IngressClass {
        metadata: meta(INGRESS_CLASS, None),
        spec: Some(IngressClassSpec {
            controller: Some(INGRESS_CONTROLLER_CLASS.into()),
            parameters: None,
        }),
    };
    let cluster_role = ClusterRole {
        metadata: reads_secrets(name, None),
        rules: Some(cluster_rules()),
        aggregation_rule: None,
    };
    let cluster_binding = ClusterRoleBinding {
        metadata: meta(name, None),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: name.to_string(),
        },
        subjects: subjects.clone(),
    };
    let role = Role {
        metadata: reads_secrets(name, Some(namespace)),
        rules: Some(namespace_rules()),
    };
    let binding = RoleBinding {
        metadata: meta(name, Some(namespace)),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: name.to_string(),
        },
        subjects,
    };
    let config = ConfigMap {
        metadata: meta(INGRESS_CONFIG_MAP, Some(namespace)),
        data: Some(ingress_config()),
        ..ConfigMap::default()
    };
    let service_port = |port_name: &str, port: i32, target: u16| ServicePort {
        name: Some(port_name.to_string()),
        port,
        // By number: right whatever the catalogue declares as container ports.
        target_port: Some(IntOrString::Int(i32::from(target))),
        protocol: Some("TCP".into()),
        app_protocol: Some(port_name.to_string()),
        ..ServicePort::default()
    };
    let service = Service {
        metadata: meta(INGRESS_SERVICE, Some(namespace)),
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            // Keeps the client's source address (for logs and rate limits); the load
            // balancer sends traffic only to nodes running a controller pod.
            external_traffic_policy: Some("Local".into()),
            selector: Some(labels::selector(ctx, name)),
            ports: Some(vec![
                service_port("http", 80, INGRESS_HTTP_PORT),
                service_port("https", 443, INGRESS_HTTPS_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    let objects = vec![
        Object::from_typed(&class, None, INGRESS_CLASS),
        Object::from_typed(&cluster_role, None, name),
        Object::from_typed(&cluster_binding, None, name),
        Object::from_typed(&role, Some(namespace), name),
        Object::from_typed(&binding, Some(namespace), name),
        Object::from_typed(&config, Some(namespace), INGRESS_CONFIG_MAP),
        Object::from_typed(&service, Some(namespace), INGRESS_SERVICE),
    ];

    let args = vec![
        "/nginx-ingress-controller".to_string(),
        format!("--publish-service=$(POD_NAMESPACE)/{INGRESS_SERVICE}"),
        format!("--election-id={INGRESS_ELECTION_ID}"),
        format!("--controller-class={INGRESS_CONTROLLER_CLASS}"),
        format!("--ingress-class={INGRESS_CLASS}"),
        format!("--configmap=$(POD_NAMESPACE)/{INGRESS_CONFIG_MAP}"),
        format!("--http-port={INGRESS_HTTP_PORT}"),
        format!("--https-port={INGRESS_HTTPS_PORT}"),
    ];
    let mut init_containers = Vec::new();
    if let Some(image) = &planned.image {
        init_containers.push(prepare_tmp(image, planned));
    }
    let extras = PodExtras {
        init_containers,
        run_as_user: Some(INGRESS_UID),
        args: Some(args),
        env: vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
            // Upstream's allocator for nginx (set in its manifests).
            EnvVar {
                name: "LD_PRELOAD".into(),
                value: Some("/usr/local/lib/libmimalloc.so".into()),
                value_from: None,
            },
        ],
        // Upstream's grace: nginx finishes in-flight requests after SIGTERM.
        termination_grace_seconds: Some(300),
        // Not for binding (nginx listens on 8080/8443, and with no privilege escalation the
        // capability is never gained): the image's binaries carry the file capability
        // cap_net_bind_service=+ep, and the kernel refuses to execute such a binary when the
        // capability is missing from the bounding set ("operation not permitted",
        // kubernetes/ingress-nginx#10002).
        add_capabilities: vec!["NET_BIND_SERVICE".into()],
        writable_root: Some(INGRESS_WRITABLE_ROOT.into()),
        // It watches Ingresses, Services, EndpointSlices and Secrets.
        needs_api_token: true,
        annotations: BTreeMap::from([(
            format!("{}service-account-token", labels::WAIVE_PREFIX),
            "the controller watches Ingresses, Services, EndpointSlices and Secrets through the API".to_string(),
        )]),
        ..PodExtras::default()
    };
    (objects, extras)
}

/// The image ships `/tmp/nginx` (pid file, temporary files, nginx's config test); the pod's
/// `/tmp` is an emptyDir that hides it, so create it there before the controller starts.
fn prepare_tmp(image: &str, planned: &PlannedComponent) -> Container {
    Container {
        name: "prepare-tmp".into(),
        image: Some(image.to_string()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(strings(&["sh", "-c", "mkdir -p /tmp/nginx"])),
        resources: Some(pod::resources(planned)),
        security_context: Some(pod::container_security(INGRESS_UID, &[], true)),
        volume_mounts: Some(vec![pod::mount("tmp", "/tmp", false)]),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    }
}
