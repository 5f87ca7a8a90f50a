//! Rules on one pod template: probes, shutdown, resources, security context, images, env and
//! the ConfigMaps/Secrets it reads, volumes, service account, labels.

use govdeploy_yaml::{Node, Value};

use super::Ctx;
use super::wiring::Reference;
use crate::rules;
use crate::workload::{Container, Workload, boolean, cpu_millis, int, string_map};

pub fn check(ctx: &mut Ctx<'_>) {
    let index = ctx.index;
    for w in &index.workloads {
        pod_level(ctx, w);
        labels(ctx, w);
        let mut any_resources = false;
        for c in w.containers() {
            if c.get(&["resources", "requests"]).is_some()
                || c.get(&["resources", "limits"]).is_some()
            {
                any_resources = true;
            }
            security(ctx, w, c);
            image(ctx, w, c);
            resources(ctx, w, c);
            env(ctx, w, c);
            if !c.init && w.long_running() {
                probes(ctx, w, c);
                shutdown(ctx, w, c);
            }
        }
        if !any_resources {
            ctx.hit(
                &rules::QOS_BEST_EFFORT,
                w.object,
                Some(w.spec),
                "no container sets requests or limits, so the pod is BestEffort and is evicted first: set memory request = limit and a CPU request on every container (Guaranteed or Burstable QoS)",
            );
        }
    }
}

fn pod_level(ctx: &mut Ctx<'_>, w: &Workload<'_>) {
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if let Some(node) = w.spec.get(field)
            && boolean(node) == Some(true)
        {
            ctx.hit(
                &rules::SEC_HOST_NAMESPACES,
                w.object,
                Some(node),
                format!("`{field}: true` shares the node's namespace with the pod: remove it"),
            );
        }
    }
    for volume in w.spec.get("volumes").map(Node::items).unwrap_or(&[]) {
        let name = volume.get("name").and_then(Node::as_str).unwrap_or("?");
        if let Some(host) = volume.get("hostPath") {
            ctx.hit(
                &rules::STATE_HOSTPATH,
                w.object,
                Some(host),
                format!("volume `{name}` is a hostPath: the pod then depends on one node's disk and can reach the host; use a PersistentVolumeClaim, an emptyDir or a ConfigMap"),
            );
        }
        if let Some(claim) = volume.get("persistentVolumeClaim")
            && matches!(
                w.kind,
                "Deployment" | "ReplicaSet" | "ReplicationController"
            )
        {
            ctx.hit(
                &rules::STATE_LOCAL,
                w.object,
                Some(claim),
                format!("volume `{name}` mounts a PersistentVolumeClaim into a {}: keep state in a StatefulSet or an external store so replicas stay interchangeable", w.kind),
            );
        }
        references_in_volume(ctx, w, volume);
    }
    for secret in w
        .spec
        .get("imagePullSecrets")
        .map(Node::items)
        .unwrap_or(&[])
    {
        if let Some(name) = secret.get("name").and_then(Node::as_str) {
            let r = Reference {
                kind: "Secret",
                namespace: w.namespace,
                name,
                key: None,
                optional: false,
            };
            super::wiring::reference(ctx, w.object, r, secret, "imagePullSecrets");
        }
    }
    service_account(ctx, w);
    let pod_seccomp = w
        .spec
        .path(&["securityContext", "seccompProfile", "type"])
        .and_then(Node::as_str);
    let confined = |t: Option<&str>| matches!(t, Some("RuntimeDefault" | "Localhost"));
    if !confined(pod_seccomp) {
        let all_confined = w.containers().all(|c| {
            confined(
                c.get(&["securityContext", "seccompProfile", "type"])
                    .and_then(Node::as_str),
            )
        });
        if !all_confined {
            ctx.hit(
                &rules::SEC_SECCOMP,
                w.object,
                Some(w.spec),
                "no seccomp profile: set `securityContext.seccompProfile.type: RuntimeDefault` on the pod",
            );
        }
    }
    if w.long_running()
        && let Some(grace) = w.spec.get("terminationGracePeriodSeconds").and_then(int)
    {
        let longest_sleep = w
            .containers()
            .filter(|c| !c.init)
            .filter_map(|c| prestop_sleep(c.node))
            .max();
        if let Some(sleep) = longest_sleep
            && grace <= sleep
        {
            ctx.hit(
                &rules::SHUTDOWN_GRACE,
                w.object,
                w.spec.get("terminationGracePeriodSeconds"),
                format!("terminationGracePeriodSeconds is {grace} but the preStop hook sleeps {sleep} s: the process is killed before it can drain; raise the grace period above the sleep plus the shutdown time"),
            );
        }
    }
}

fn prestop_sleep(container: &Node) -> Option<i64> {
    let pre = container.path(&["lifecycle", "preStop"])?;
    if let Some(seconds) = pre.path(&["sleep", "seconds"]).and_then(int) {
        return Some(seconds);
    }
    // `sleep N` in an exec command.
    pre.path(&["exec", "command"])?
        .items()
        .iter()
        .filter_map(Node::scalar_text)
        .flat_map(|t| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .skip_while(|t| t != "sleep")
        .nth(1)
        .and_then(|n| n.trim_end_matches(';').parse().ok())
}

fn service_account(ctx: &mut Ctx<'_>, w: &Workload<'_>) {
    let account = w
        .spec
        .get("serviceAccountName")
        .or_else(|| w.spec.get("serviceAccount"))
        .and_then(Node::as_str)
        .unwrap_or("default");
    let pod_setting = w.spec.get("automountServiceAccountToken").and_then(boolean);
    let account_setting = ctx
        .index
        .find("ServiceAccount", w.namespace, account)
        .and_then(|sa| sa.root.get("automountServiceAccountToken"))
        .and_then(boolean);
    let mounted = pod_setting.or(account_setting).unwrap_or(true);
    if !mounted {
        return;
    }
    let at = w.spec.get("automountServiceAccountToken").or(Some(w.spec));
    if account == "default" {
        ctx.hit(
            &rules::SA_DEFAULT_TOKEN,
            w.object,
            at,
            "the pod runs as the namespace's `default` service account with its API token mounted: set `automountServiceAccountToken: false`, and give a pod that calls the API its own ServiceAccount",
        );
    } else {
        ctx.hit(
            &rules::SA_TOKEN,
            w.object,
            at,
            format!("the pod mounts the API token of service account `{account}`: set `automountServiceAccountToken: false` unless it calls the Kubernetes API (then waive with `govdeploy.io/waive.service-account-token: <reason>`)"),
        );
    }
}

fn labels(ctx: &mut Ctx<'_>, w: &Workload<'_>) {
    let object = &ctx.index.objects[w.object];
    let meta = object.root.get("metadata");
    let present = string_map(meta.and_then(|m| m.get("labels")));
    let groups = [
        (
            &rules::LABEL_TECHNICAL,
            &ctx.config.technical_labels,
            "technical",
        ),
        (
            &rules::LABEL_BUSINESS,
            &ctx.config.business_labels,
            "business",
        ),
        (
            &rules::LABEL_SECURITY,
            &ctx.config.security_labels,
            "security",
        ),
    ];
    let mut hits = Vec::new();
    for (rule, required, group) in groups {
        let missing: Vec<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|l| !present.contains_key(l))
            .collect();
        if !missing.is_empty() {
            hits.push((
                rule,
                format!(
                    "missing {group} label(s) {}: add them to metadata.labels",
                    missing.join(", ")
                ),
            ));
        }
    }
    for (rule, message) in hits {
        ctx.hit(rule, w.object, meta, message);
    }
}

fn security(ctx: &mut Ctx<'_>, w: &Workload<'_>, c: Container<'_>) {
    let sc = c.get(&["securityContext"]);
    let field = |name: &str| sc.and_then(|s| s.get(name));
    let who = c.label();
    if let Some(node) = field("privileged")
        && boolean(node) == Some(true)
    {
        ctx.hit(
            &rules::SEC_PRIVILEGED,
            w.object,
            Some(node),
            format!("{who} is privileged (full access to the node): remove `privileged: true`"),
        );
    }
    if field("readOnlyRootFilesystem").and_then(boolean) != Some(true) {
        ctx.hit(
            &rules::SEC_READ_ONLY_ROOT,
            w.object,
            field("readOnlyRootFilesystem").or(sc).or(Some(c.node)),
            format!("{who}: set `securityContext.readOnlyRootFilesystem: true` and mount an emptyDir where the process writes"),
        );
    }
    let pod_sc = w.spec.get("securityContext");
    let setting = |name: &str| field(name).or_else(|| pod_sc.and_then(|p| p.get(name)));
    let run_as_user = setting("runAsUser").and_then(int);
    let non_root = setting("runAsNonRoot").and_then(boolean);
    if run_as_user == Some(0) || (non_root != Some(true) && run_as_user.is_none_or(|u| u == 0)) {
        ctx.hit(
            &rules::SEC_NON_ROOT,
            w.object,
            setting("runAsUser").or(sc).or(Some(c.node)),
            format!("{who} may run as root: set `runAsNonRoot: true` and a non-zero `runAsUser`"),
        );
    }
    let caps = sc.and_then(|s| s.get("capabilities"));
    let drop_all = caps
        .and_then(|cp| cp.get("drop"))
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .any(|d| d.as_str().is_some_and(|s| s.eq_ignore_ascii_case("ALL")));
    if !drop_all {
        ctx.hit(
            &rules::SEC_CAPS_DROP,
            w.object,
            caps.or(sc).or(Some(c.node)),
            format!("{who}: set `securityContext.capabilities.drop: [ALL]`"),
        );
    }
    for added in caps
        .and_then(|cp| cp.get("add"))
        .map(Node::items)
        .unwrap_or(&[])
    {
        let name = added.scalar_text().unwrap_or_default();
        let bare = name.trim_start_matches("CAP_");
        if !bare.eq_ignore_ascii_case("NET_BIND_SERVICE") {
            ctx.hit(&rules::SEC_CAPS_ADD, w.object, Some(added), format!("{who} adds capability {name}: remove it (only NET_BIND_SERVICE is allowed, as in the restricted Pod Security Standard)"));
        }
    }
    if field("allowPrivilegeEscalation").and_then(boolean) != Some(false) {
        ctx.hit(
            &rules::SEC_ESCALATION,
            w.object,
            field("allowPrivilegeEscalation").or(sc).or(Some(c.node)),
            format!("{who}: set `securityContext.allowPrivilegeEscalation: false`"),
        );
    }
}

/// Splits an image reference into (registry, tag, digest).
fn image_parts(image: &str) -> (Option<&str>, Option<&str>, bool) {
    let (name, digest) = match image.split_once('@') {
        Some((n, _)) => (n, true),
        None => (image, false),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.split_once(':').map(|(_, t)| t);
    let registry = name.split_once('/').and_then(|(first, _)| {
        (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
    });
    (registry, tag, digest)
}

fn image(ctx: &mut Ctx<'_>, w: &Workload<'_>, c: Container<'_>) {
    let who = c.label();
    let Some(node) = c.get(&["image"]) else {
        return;
    };
    let image = node.as_str().unwrap_or_default();
    let (registry, tag, digest) = image_parts(image);
    let floating = !digest && tag.is_none_or(|t| t == "latest");
    if floating {
        ctx.hit(&rules::IMAGE_TAG, w.object, Some(node), format!("{who} uses `{image}`, which can change under the same name: pin a version tag (or a digest)"));
    }
    match c.get(&["imagePullPolicy"]) {
        Some(policy) if policy.as_str() != Some("IfNotPresent") => ctx.hit(
            &rules::IMAGE_PULL_POLICY,
            w.object,
            Some(policy),
            format!("{who} has `imagePullPolicy: {}`: use IfNotPresent so restarts do not depend on the registry (and work air-gapped)", policy.scalar_text().unwrap_or_default()),
        ),
        None if floating => ctx.hit(&rules::IMAGE_PULL_POLICY, w.object, Some(node), format!("{who}: with no tag or `latest` the pull policy defaults to Always: pin the tag and set `imagePullPolicy: IfNotPresent`")),
        _ => {}
    }
    if registry.is_none() {
        ctx.hit(&rules::IMAGE_IMPLICIT_REGISTRY, w.object, Some(node), format!("{who} uses `{image}` with no registry host, so it is pulled from Docker Hub: name the registry (or your mirror) explicitly"));
    }
    let allowed = &ctx.config.allowed_registries;
    if !allowed.is_empty() {
        let from_allowed = allowed.iter().any(|a| {
            let a = a.trim_end_matches('/');
            image
                .strip_prefix(a)
                .is_some_and(|rest| rest.starts_with('/'))
        });
        if !from_allowed {
            ctx.hit(&rules::IMAGE_REGISTRY, w.object, Some(node), format!("{who} uses `{image}`, which is not from an allowed registry ({}): mirror it there and rewrite the reference", allowed.join(", ")));
        }
    }
}

fn resources(ctx: &mut Ctx<'_>, w: &Workload<'_>, c: Container<'_>) {
    let who = c.label();
    let res = c.get(&["resources"]);
    let requests = res.and_then(|r| r.get("requests"));
    let limits = res.and_then(|r| r.get("limits"));
    let at = res.or(Some(c.node));
    let mem_req = requests.and_then(|r| r.get("memory"));
    let mem_lim = limits.and_then(|r| r.get("memory"));
    if mem_req.is_none() {
        ctx.hit(
            &rules::RES_MEM_REQUEST,
            w.object,
            at,
            format!(
                "{who} has no memory request: set `resources.requests.memory` (equal to the limit)"
            ),
        );
    }
    if mem_lim.is_none() {
        ctx.hit(&rules::RES_MEM_LIMIT, w.object, at, format!("{who} has no memory limit: set `resources.limits.memory` (and size the heap under it)"));
    }
    if let (Some(req), Some(lim)) = (mem_req, mem_lim)
        && req.scalar_text() != lim.scalar_text()
    {
        ctx.hit(&rules::RES_MEM_EQUAL, w.object, Some(req), format!("{who} requests {} of memory but may use {}: set the request equal to the limit so the node never overcommits memory", req.scalar_text().unwrap_or_default(), lim.scalar_text().unwrap_or_default()));
    }
    match requests.and_then(|r| r.get("cpu")) {
        None => ctx.hit(&rules::RES_CPU_REQUEST, w.object, at, format!("{who} has no CPU request: set `resources.requests.cpu` so the scheduler reserves CPU for it")),
        Some(cpu) => {
            if cpu_millis(cpu).is_some_and(|m| m > 1000.0) {
                ctx.hit(&rules::RES_CPU_LARGE, w.object, Some(cpu), format!("{who} requests {} CPU: request at most one CPU and scale out with replicas", cpu.scalar_text().unwrap_or_default()));
            }
        }
    }
    if let Some(cpu) = limits.and_then(|l| l.get("cpu")) {
        ctx.hit(&rules::RES_CPU_LIMIT, w.object, Some(cpu), format!("{who} has a CPU limit ({}): CPU limits throttle start-up and garbage collection; remove it, or waive with `govdeploy.io/waive.cpu-limit: <reason>`", cpu.scalar_text().unwrap_or_default()));
    }
}

const CREDENTIAL_SUFFIXES: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PWD",
    "SECRET",
    "_TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "SECRET_KEY",
    "CREDENTIALS",
];

fn env(ctx: &mut Ctx<'_>, w: &Workload<'_>, c: Container<'_>) {
    let who = c.label();
    let entries = c.get(&["env"]).map(Node::items).unwrap_or(&[]);
    let mut literal = 0;
    for entry in entries {
        let name = entry.get("name").and_then(Node::as_str).unwrap_or("?");
        if let Some(value) = entry.get("value") {
            literal += 1;
            let upper = name.to_ascii_uppercase();
            let text = value.scalar_text().unwrap_or_default();
            if CREDENTIAL_SUFFIXES.iter().any(|s| upper.ends_with(s))
                && !text.is_empty()
                && !text.starts_with("$(")
            {
                ctx.hit(&rules::SECRET_LITERAL, w.object, Some(value), format!("{who} sets `{name}` to a literal value (not shown): put it in a Secret and mount it as a file"));
            }
        }
        let from = entry.get("valueFrom");
        if let Some(r) = from.and_then(|f| f.get("secretKeyRef")) {
            ctx.hit(&rules::SECRET_ENV, w.object, Some(r), format!("{who} reads Secret `{}` into env var `{name}`: mount the Secret as files instead (env vars leak into logs, crash dumps and child processes)", r.get("name").and_then(Node::as_str).unwrap_or("?")));
            key_reference(ctx, w, r, "Secret", &format!("env var `{name}` of {who}"));
        }
        if let Some(r) = from.and_then(|f| f.get("configMapKeyRef")) {
            key_reference(
                ctx,
                w,
                r,
                "ConfigMap",
                &format!("env var `{name}` of {who}"),
            );
        }
    }
    if literal > ctx.config.max_literal_env {
        ctx.hit(&rules::CONFIG_LITERAL_ENV, w.object, c.get(&["env"]), format!("{who} has {literal} literal env values (more than {}): move them into a ConfigMap and use envFrom", ctx.config.max_literal_env));
    }
    for source in c.get(&["envFrom"]).map(Node::items).unwrap_or(&[]) {
        if let Some(r) = source.get("secretRef") {
            ctx.hit(
                &rules::SECRET_ENV,
                w.object,
                Some(r),
                format!(
                    "{who} loads Secret `{}` as env vars (envFrom): mount it as files instead",
                    r.get("name").and_then(Node::as_str).unwrap_or("?")
                ),
            );
            object_reference(ctx, w, r, "name", "Secret", &format!("envFrom of {who}"));
        }
        if let Some(r) = source.get("configMapRef") {
            object_reference(ctx, w, r, "name", "ConfigMap", &format!("envFrom of {who}"));
        }
    }
}

fn optional(node: &Node) -> bool {
    node.get("optional").and_then(boolean) == Some(true)
}

fn key_reference(ctx: &mut Ctx<'_>, w: &Workload<'_>, r: &Node, kind: &str, what: &str) {
    if let Some(name) = r.get("name").and_then(Node::as_str) {
        let key = r.get("key").and_then(Node::as_str);
        let reference = Reference {
            kind,
            namespace: w.namespace,
            name,
            key,
            optional: optional(r),
        };
        super::wiring::reference(ctx, w.object, reference, r, what);
    }
}

fn object_reference(
    ctx: &mut Ctx<'_>,
    w: &Workload<'_>,
    r: &Node,
    field: &str,
    kind: &str,
    what: &str,
) {
    if let Some(name) = r.get(field).and_then(Node::as_str) {
        let keys: Vec<&str> = r
            .get("items")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|i| i.get("key").and_then(Node::as_str))
            .collect();
        if keys.is_empty() {
            let reference = Reference {
                kind,
                namespace: w.namespace,
                name,
                key: None,
                optional: optional(r),
            };
            super::wiring::reference(ctx, w.object, reference, r, what);
        }
        for key in keys {
            let reference = Reference {
                kind,
                namespace: w.namespace,
                name,
                key: Some(key),
                optional: optional(r),
            };
            super::wiring::reference(ctx, w.object, reference, r, what);
        }
    }
}

fn references_in_volume(ctx: &mut Ctx<'_>, w: &Workload<'_>, volume: &Node) {
    let what = format!(
        "volume `{}`",
        volume.get("name").and_then(Node::as_str).unwrap_or("?")
    );
    if let Some(cm) = volume.get("configMap") {
        object_reference(ctx, w, cm, "name", "ConfigMap", &what);
    }
    if let Some(secret) = volume.get("secret") {
        object_reference(ctx, w, secret, "secretName", "Secret", &what);
    }
    for source in volume
        .path(&["projected", "sources"])
        .map(Node::items)
        .unwrap_or(&[])
    {
        if let Some(cm) = source.get("configMap") {
            object_reference(ctx, w, cm, "name", "ConfigMap", &what);
        }
        if let Some(secret) = source.get("secret") {
            object_reference(ctx, w, secret, "name", "Secret", &what);
        }
    }
}

fn probes(ctx: &mut Ctx<'_>, w: &Workload<'_>, c: Container<'_>) {
    let who = c.label();
    let readiness = c.get(&["readinessProbe"]);
    let liveness = c.get(&["livenessProbe"]);
    if readiness.is_none() {
        ctx.hit(&rules::PROBE_READINESS, w.object, Some(c.node), format!("{who} has no readiness probe: traffic reaches it before it can answer; add `readinessProbe` on its health endpoint"));
    }
    match (liveness, readiness) {
        (None, _) => ctx.hit(&rules::PROBE_LIVENESS, w.object, Some(c.node), format!("{who} has no liveness probe: a hung process is never restarted; add `livenessProbe`, slower than the readiness probe")),
        (Some(l), Some(r)) if l.to_json() == r.to_json() => ctx.hit(&rules::PROBE_SAME, w.object, Some(l), format!("{who}: the liveness probe equals the readiness probe, so a slow moment restarts the pod instead of taking it out of rotation; give liveness a longer period and more failures")),
        _ => {}
    }
    let ports = c.ports();
    for (kind, probe) in [
        ("readiness", readiness),
        ("liveness", liveness),
        ("startup", c.get(&["startupProbe"])),
    ] {
        let Some(probe) = probe else { continue };
        let port = ["httpGet", "tcpSocket", "grpc"]
            .iter()
            .find_map(|h| probe.path(&[h, "port"]));
        let Some(port) = port else { continue };
        match &port.value {
            Value::String(name) if name.parse::<i64>().is_err() => {
                if !ports.iter().any(|(n, _)| *n == Some(name.as_str())) {
                    ctx.hit(&rules::PROBE_NAMED_PORT, w.object, Some(port), format!("the {kind} probe of {who} uses port `{name}`, which the container does not declare: the probe can never succeed; name a declared port"));
                }
            }
            _ => {
                if let Some(number) = int(port)
                    && !ports.iter().any(|(_, p)| *p == Some(number))
                {
                    ctx.hit(&rules::PROBE_NUMERIC_PORT, w.object, Some(port), format!("the {kind} probe of {who} uses port {number}, which is not in its `ports`: declare it (with a name) so the probe and the port stay in step"));
                }
            }
        }
    }
}

fn shutdown(ctx: &mut Ctx<'_>, w: &Workload<'_>, c: Container<'_>) {
    if c.ports().is_empty() || c.get(&["lifecycle", "preStop"]).is_some() {
        return;
    }
    ctx.hit(&rules::SHUTDOWN_PRESTOP, w.object, Some(c.node), format!("{} serves traffic but has no preStop hook: endpoints are removed while it still gets requests; add `lifecycle.preStop.sleep.seconds: 10`", c.label()));
}

#[cfg(test)]
mod tests {
    use super::image_parts;

    #[test]
    fn image_references() {
        assert_eq!(image_parts("nginx"), (None, None, false));
        assert_eq!(image_parts("egovio/user:v1"), (None, Some("v1"), false));
        assert_eq!(
            image_parts("r.example:5000/a/b:1.2"),
            (Some("r.example:5000"), Some("1.2"), false)
        );
        assert_eq!(
            image_parts("localhost/x@sha256:ab"),
            (Some("localhost"), None, true)
        );
    }
}
