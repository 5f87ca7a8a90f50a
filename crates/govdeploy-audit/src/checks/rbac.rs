//! Least-privilege RBAC: wildcards, cluster-admin bindings, reading Secrets, exec into pods.

use govdeploy_yaml::Node;

use super::Ctx;
use crate::rules;

fn list(rule: &Node, field: &str) -> Vec<String> {
    rule.get(field)
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::scalar_text)
        .collect()
}

pub fn check(ctx: &mut Ctx<'_>) {
    let index = ctx.index;
    for (i, role) in index
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.kind.as_str(), "Role" | "ClusterRole"))
    {
        for rule in role.root.get("rules").map(Node::items).unwrap_or(&[]) {
            let verbs = list(rule, "verbs");
            let resources = list(rule, "resources");
            let groups = list(rule, "apiGroups");
            let wild: Vec<&str> = [
                ("verbs", &verbs),
                ("resources", &resources),
                ("apiGroups", &groups),
            ]
            .iter()
            .filter(|(_, v)| v.iter().any(|x| x == "*"))
            .map(|(f, _)| *f)
            .collect();
            if !wild.is_empty() {
                ctx.hit(&rules::RBAC_WILDCARD, i, Some(rule), format!("`*` in {}: grants everything now and whatever is added later; list the exact verbs, resources and groups", wild.join(", ")));
            }
            let core = groups.iter().any(|g| g.is_empty() || g == "*");
            let reads = verbs
                .iter()
                .any(|v| matches!(v.as_str(), "get" | "list" | "watch" | "*"));
            if core && reads && resources.iter().any(|r| r == "secrets") {
                ctx.hit(&rules::RBAC_SECRETS, i, Some(rule), "can read Secrets (every credential in scope): restrict with resourceNames, or waive with `govdeploy.io/waive.rbac-secrets: <reason>`");
            }
            let exec = resources
                .iter()
                .any(|r| matches!(r.as_str(), "pods/exec" | "pods/attach" | "pods/*"));
            if core
                && exec
                && verbs
                    .iter()
                    .any(|v| matches!(v.as_str(), "create" | "get" | "*"))
            {
                ctx.hit(&rules::RBAC_EXEC, i, Some(rule), "can exec or attach into pods (a shell in every workload in scope): remove pods/exec and pods/attach");
            }
        }
    }
    for (i, binding) in index
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.kind.as_str(), "RoleBinding" | "ClusterRoleBinding"))
    {
        let role_ref = binding.root.get("roleRef");
        let name = role_ref.and_then(|r| r.get("name")).and_then(Node::as_str);
        let kind = role_ref.and_then(|r| r.get("kind")).and_then(Node::as_str);
        if kind == Some("ClusterRole") && name == Some("cluster-admin") {
            ctx.hit(&rules::RBAC_CLUSTER_ADMIN, i, role_ref, "binds cluster-admin: its subjects can do anything anywhere; bind a role with only the permissions they use");
        }
    }
}
