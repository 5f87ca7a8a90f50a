use serde_json::Value;

use super::*;
use crate::backbone::testkit::{Fixture, environment};

fn fixture() -> Fixture {
    Fixture::new(&environment("authn-authz", "    {}"))
}

fn find<'a>(objects: &'a [Object], kind: &str) -> &'a Object {
    objects.iter().find(|o| o.kind == kind).unwrap_or_else(|| {
        panic!(
            "no {kind} among {:?}",
            objects.iter().map(Object::reference).collect::<Vec<_>>()
        )
    })
}

fn strings_of(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn ingress_nginx_objects() {
    let fixture = fixture();
    let ctx = Ctx::new(fixture.input());
    let planned = ctx.planned(INGRESS_NGINX).expect("ingress-nginx planned");
    let (objects, _) =
        infra(&ctx, INGRESS_NGINX, planned).expect("ingress-nginx is infrastructure");
    let namespace = planned.namespace.as_str();

    let class = find(&objects, "IngressClass");
    assert_eq!(class.name, "nginx");
    assert_eq!(class.namespace, None);
    assert_eq!(class.body["spec"]["controller"], "k8s.io/ingress-nginx");

    let cluster_role = find(&objects, "ClusterRole");
    assert_eq!(cluster_role.namespace, None);
    let binding = find(&objects, "ClusterRoleBinding");
    assert_eq!(binding.body["roleRef"]["kind"], "ClusterRole");
    assert_eq!(binding.body["roleRef"]["name"], cluster_role.name.as_str());
    assert_eq!(binding.body["subjects"][0]["kind"], "ServiceAccount");
    assert_eq!(binding.body["subjects"][0]["name"], INGRESS_NGINX);
    assert_eq!(binding.body["subjects"][0]["namespace"], namespace);

    let role = find(&objects, "Role");
    assert_eq!(role.namespace.as_deref(), Some(namespace));
    let role_binding = find(&objects, "RoleBinding");
    assert_eq!(role_binding.body["roleRef"]["kind"], "Role");
    assert_eq!(role_binding.body["subjects"][0]["namespace"], namespace);
    let lease_update = role.body["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| {
            strings_of(&r["verbs"]).contains(&"update".to_string())
                && strings_of(&r["resources"]) == ["leases"]
        })
        .expect("lease update rule");
    assert_eq!(
        strings_of(&lease_update["resourceNames"]),
        ["ingress-nginx-leader"]
    );

    let config = find(&objects, "ConfigMap");
    assert_eq!(config.name, INGRESS_CONFIG_MAP);
    assert_eq!(config.body["data"]["allow-snippet-annotations"], "false");

    let service = find(&objects, "Service");
    assert_eq!(service.name, "ingress-nginx-controller");
    assert_eq!(service.namespace.as_deref(), Some(namespace));
    assert_eq!(service.body["spec"]["type"], "LoadBalancer");
    assert_eq!(
        service.body["spec"]["selector"]["app.kubernetes.io/name"],
        INGRESS_NGINX
    );
    let ports = service.body["spec"]["ports"].as_array().expect("ports");
    let pairs: Vec<(i64, i64)> = ports
        .iter()
        .map(|p| {
            (
                p["port"].as_i64().unwrap_or(0),
                p["targetPort"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(pairs, [(80, 8080), (443, 8443)]);
    for object in &objects {
        assert_eq!(
            object.body["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "govdeploy"
        );
    }
}

#[test]
fn rbac_has_no_wildcards() {
    let fixture = fixture();
    let ctx = Ctx::new(fixture.input());
    let planned = ctx.planned(INGRESS_NGINX).expect("ingress-nginx planned");
    let (objects, _) =
        infra(&ctx, INGRESS_NGINX, planned).expect("ingress-nginx is infrastructure");
    let mut rules = 0;
    for object in objects
        .iter()
        .filter(|o| o.kind == "Role" || o.kind == "ClusterRole")
    {
        for rule in object.body["rules"].as_array().expect("rules") {
            rules += 1;
            for field in ["verbs", "resources", "apiGroups", "resourceNames"] {
                let values = strings_of(&rule[field]);
                assert!(
                    !values.iter().any(|v| v.contains('*')),
                    "{}: {field} {values:?}",
                    object.reference()
                );
            }
            assert!(!strings_of(&rule["verbs"]).is_empty());
            assert!(!strings_of(&rule["resources"]).is_empty());
            assert!(rule.get("nonResourceURLs").is_none());
            // Read access to Secrets never includes writes.
            if strings_of(&rule["resources"]).contains(&"secrets".to_string()) {
                for verb in strings_of(&rule["verbs"]) {
                    assert!(
                        ["get", "list", "watch"].contains(&verb.as_str()),
                        "{verb} on secrets"
                    );
                }
            }
        }
    }
    assert_eq!(rules, cluster_rules().len() + namespace_rules().len());
}

#[test]
fn ingress_nginx_pod_settings() {
    let fixture = fixture();
    let ctx = Ctx::new(fixture.input());
    let planned = ctx.planned(INGRESS_NGINX).expect("ingress-nginx planned");
    let (_, extras) = infra(&ctx, INGRESS_NGINX, planned).expect("ingress-nginx is infrastructure");
    assert!(extras.needs_api_token);
    assert_eq!(extras.run_as_user, Some(101));
    let args = extras.args.clone().expect("args");
    assert_eq!(args[0], "/nginx-ingress-controller");
    for expected in [
        "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller",
        "--election-id=ingress-nginx-leader",
        "--controller-class=k8s.io/ingress-nginx",
        "--ingress-class=nginx",
        "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller",
        "--http-port=8080",
        "--https-port=8443",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "{expected} missing from {args:?}"
        );
    }
    let names: Vec<&str> = extras.env.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.starts_with(&["POD_NAME", "POD_NAMESPACE"]),
        "{names:?}"
    );
    assert_eq!(
        extras.env[1]
            .value_from
            .as_ref()
            .and_then(|v| v.field_ref.as_ref())
            .map(|f| f.field_path.as_str()),
        Some("metadata.namespace")
    );
    assert_eq!(extras.add_capabilities, ["NET_BIND_SERVICE"]);
    assert!(extras.writable_root.is_some());
    let init = extras
        .init_containers
        .first()
        .expect("prepare-tmp init container");
    assert_eq!(init.image, planned.image);
    assert_eq!(
        init.volume_mounts.as_ref().map(|m| m[0].name.as_str()),
        Some("tmp")
    );
    let security = init.security_context.as_ref().expect("security context");
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.read_only_root_filesystem, Some(true));
}

#[test]
fn other_components_are_not_infrastructure() {
    let fixture = fixture();
    let ctx = Ctx::new(fixture.input());
    for name in ["cert-manager", "redis"] {
        let planned = ctx.planned(name).expect("planned");
        assert!(infra(&ctx, name, planned).is_none(), "{name}");
    }
}
