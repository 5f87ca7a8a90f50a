//! The rule catalogue: every rule's stable id, default severity, waiver topic and the checklist
//! item it enforces. Ids never change meaning; retired rules are never reused.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}`: use low, medium, high or critical"
            )),
        }
    }
}

/// One rule. `topic` is the short name a waiver annotation may use instead of the id
/// (`govdeploy.io/waive.<topic>`); several rules share a topic when one waiver reason covers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleDef {
    pub id: &'static str,
    pub severity: Severity,
    pub topic: &'static str,
    /// The checklist item of DESIGN.md section 1 this rule enforces.
    pub item: &'static str,
    pub title: &'static str,
}

const fn r(
    id: &'static str,
    severity: Severity,
    topic: &'static str,
    item: &'static str,
    title: &'static str,
) -> RuleDef {
    RuleDef {
        id,
        severity,
        topic,
        item,
        title,
    }
}

use Severity::{Critical, High, Low, Medium};

pub const PROBE_READINESS: RuleDef = r(
    "GD-PROBE-001",
    High,
    "readiness-probe",
    "readiness probe",
    "container has no readiness probe",
);
pub const PROBE_LIVENESS: RuleDef = r(
    "GD-PROBE-002",
    Medium,
    "liveness-probe",
    "liveness probe, different from readiness",
    "container has no liveness probe",
);
pub const PROBE_SAME: RuleDef = r(
    "GD-PROBE-003",
    Medium,
    "liveness-probe",
    "liveness probe, different from readiness",
    "liveness probe is identical to the readiness probe",
);
pub const PROBE_NAMED_PORT: RuleDef = r(
    "GD-PROBE-004",
    High,
    "probe-ports",
    "wiring: probe ports exist",
    "probe names a port the container does not declare",
);
pub const PROBE_NUMERIC_PORT: RuleDef = r(
    "GD-PROBE-005",
    Low,
    "probe-ports",
    "wiring: probe ports exist",
    "probe uses a port number the container does not declare",
);
pub const SHUTDOWN_PRESTOP: RuleDef = r(
    "GD-SHUTDOWN-001",
    Medium,
    "graceful-shutdown",
    "graceful shutdown (preStop, termination grace)",
    "serving container has no preStop hook",
);
pub const SHUTDOWN_GRACE: RuleDef = r(
    "GD-SHUTDOWN-002",
    Medium,
    "graceful-shutdown",
    "graceful shutdown (preStop, termination grace)",
    "termination grace period does not outlast the preStop hook",
);
pub const REPLICAS: RuleDef = r(
    "GD-REPLICA-001",
    Medium,
    "replicas",
    "replicas > 1",
    "workload runs a single replica",
);
pub const SPREAD: RuleDef = r(
    "GD-SPREAD-001",
    Medium,
    "spreading",
    "spreading across nodes",
    "replicas are not spread across nodes",
);
pub const PDB_MISSING: RuleDef = r(
    "GD-PDB-001",
    Medium,
    "pdb",
    "PodDisruptionBudget present and consistent",
    "replicated workload has no PodDisruptionBudget",
);
pub const PDB_ORPHAN: RuleDef = r(
    "GD-PDB-002",
    Medium,
    "pdb",
    "PodDisruptionBudget present and consistent",
    "PodDisruptionBudget selects no workload",
);
pub const PDB_BLOCKS: RuleDef = r(
    "GD-PDB-003",
    High,
    "pdb",
    "PodDisruptionBudget present and consistent",
    "PodDisruptionBudget allows no disruption",
);
pub const RES_MEM_REQUEST: RuleDef = r(
    "GD-RES-001",
    High,
    "memory",
    "memory requests and limits",
    "container has no memory request",
);
pub const RES_MEM_LIMIT: RuleDef = r(
    "GD-RES-002",
    High,
    "memory",
    "memory requests and limits",
    "container has no memory limit",
);
pub const RES_MEM_EQUAL: RuleDef = r(
    "GD-RES-003",
    Low,
    "memory",
    "memory requests and limits",
    "memory request differs from the memory limit",
);
pub const RES_CPU_REQUEST: RuleDef = r(
    "GD-RES-004",
    Medium,
    "cpu-request",
    "CPU request <= 1 CPU",
    "container has no CPU request",
);
pub const RES_CPU_LARGE: RuleDef = r(
    "GD-RES-005",
    Medium,
    "cpu-request",
    "CPU request <= 1 CPU",
    "CPU request above one CPU",
);
pub const RES_CPU_LIMIT: RuleDef = r(
    "GD-RES-006",
    Medium,
    "cpu-limit",
    "no CPU limit unless waived",
    "container sets a CPU limit",
);
pub const QOS_BEST_EFFORT: RuleDef = r(
    "GD-QOS-001",
    High,
    "qos",
    "QoS class",
    "pod is BestEffort (no requests or limits)",
);
pub const NS_LIMITRANGE: RuleDef = r(
    "GD-NS-001",
    Medium,
    "limitrange",
    "LimitRange and ResourceQuota per namespace",
    "namespace runs pods but has no LimitRange",
);
pub const NS_QUOTA: RuleDef = r(
    "GD-NS-002",
    Medium,
    "resourcequota",
    "LimitRange and ResourceQuota per namespace",
    "namespace runs pods but has no ResourceQuota",
);
pub const NS_LIMITRANGE_CPU: RuleDef = r(
    "GD-NS-003",
    Medium,
    "cpu-limit",
    "no CPU limit unless waived",
    "LimitRange gives containers a default CPU limit",
);
pub const LABEL_TECHNICAL: RuleDef = r(
    "GD-LABEL-001",
    Low,
    "labels",
    "technical, business and security labels",
    "technical labels missing",
);
pub const LABEL_BUSINESS: RuleDef = r(
    "GD-LABEL-002",
    Low,
    "labels",
    "technical, business and security labels",
    "business (owner) label missing",
);
pub const LABEL_SECURITY: RuleDef = r(
    "GD-LABEL-003",
    Low,
    "labels",
    "technical, business and security labels",
    "security (data classification) label missing",
);
pub const STATE_HOSTPATH: RuleDef = r(
    "GD-STATE-001",
    High,
    "host-path",
    "no hostPath or local state",
    "pod mounts a hostPath volume",
);
pub const STATE_LOCAL: RuleDef = r(
    "GD-STATE-002",
    Medium,
    "local-state",
    "no hostPath or local state",
    "stateless workload mounts a persistent volume claim",
);
pub const HPA_MISSING: RuleDef = r(
    "GD-HPA-001",
    Low,
    "hpa",
    "HPA for stateless services in production",
    "stateless service has no HorizontalPodAutoscaler",
);
pub const HPA_TARGET: RuleDef = r(
    "GD-HPA-002",
    High,
    "hpa",
    "HPA for stateless services in production",
    "HorizontalPodAutoscaler targets a workload that is not there",
);
pub const HPA_NUMBERS: RuleDef = r(
    "GD-HPA-003",
    Medium,
    "hpa",
    "HPA for stateless services in production",
    "HorizontalPodAutoscaler numbers do not make sense",
);
pub const CONFIG_LITERAL_ENV: RuleDef = r(
    "GD-CONFIG-001",
    Low,
    "config-externalised",
    "config externalised (no large literal env blocks)",
    "large block of literal env values",
);
pub const SECRET_ENV: RuleDef = r(
    "GD-SECRET-001",
    Medium,
    "secrets-as-env",
    "secrets mounted as files, not env vars",
    "secret delivered as an environment variable",
);
pub const SECRET_LITERAL: RuleDef = r(
    "GD-SECRET-002",
    High,
    "literal-credential",
    "secrets mounted as files, not env vars",
    "credential given as a literal env value",
);
pub const SEC_PRIVILEGED: RuleDef = r(
    "GD-SEC-001",
    Critical,
    "privileged",
    "no privileged containers",
    "privileged container",
);
pub const SEC_READ_ONLY_ROOT: RuleDef = r(
    "GD-SEC-002",
    High,
    "read-only-root-filesystem",
    "read-only root filesystem",
    "root filesystem is writable",
);
pub const SEC_NON_ROOT: RuleDef = r(
    "GD-SEC-003",
    High,
    "non-root",
    "non-root",
    "container may run as root",
);
pub const SEC_CAPS_DROP: RuleDef = r(
    "GD-SEC-004",
    High,
    "capabilities",
    "capabilities dropped",
    "capabilities are not all dropped",
);
pub const SEC_CAPS_ADD: RuleDef = r(
    "GD-SEC-005",
    High,
    "capabilities",
    "capabilities dropped",
    "capability added beyond NET_BIND_SERVICE",
);
pub const SEC_ESCALATION: RuleDef = r(
    "GD-SEC-006",
    High,
    "privilege-escalation",
    "no privilege escalation",
    "privilege escalation not disabled",
);
pub const SEC_HOST_NAMESPACES: RuleDef = r(
    "GD-SEC-007",
    Critical,
    "host-namespaces",
    "no privileged containers",
    "pod shares the node's network, PID or IPC namespace",
);
pub const SEC_SECCOMP: RuleDef = r(
    "GD-SEC-008",
    Low,
    "seccomp",
    "no privileged containers",
    "no seccomp profile",
);
pub const NETPOL_DEFAULT_DENY: RuleDef = r(
    "GD-NETPOL-001",
    High,
    "network-policy",
    "NetworkPolicy covering every pod, default-deny per namespace",
    "namespace runs pods without a default-deny NetworkPolicy",
);
pub const NETPOL_UNCOVERED: RuleDef = r(
    "GD-NETPOL-002",
    High,
    "network-policy",
    "NetworkPolicy covering every pod, default-deny per namespace",
    "pods are selected by no NetworkPolicy",
);
pub const SA_DEFAULT_TOKEN: RuleDef = r(
    "GD-SA-001",
    High,
    "service-account-token",
    "no default service-account token",
    "pod runs as the default service account with its token mounted",
);
pub const SA_TOKEN: RuleDef = r(
    "GD-SA-002",
    Medium,
    "service-account-token",
    "no default service-account token",
    "pod mounts a service-account token",
);
pub const RBAC_WILDCARD: RuleDef = r(
    "GD-RBAC-001",
    High,
    "rbac",
    "least-privilege RBAC",
    "role uses a wildcard",
);
pub const RBAC_CLUSTER_ADMIN: RuleDef = r(
    "GD-RBAC-002",
    Critical,
    "rbac",
    "least-privilege RBAC",
    "binding grants cluster-admin",
);
pub const RBAC_SECRETS: RuleDef = r(
    "GD-RBAC-003",
    Medium,
    "rbac-secrets",
    "least-privilege RBAC",
    "role can read Secrets",
);
pub const RBAC_EXEC: RuleDef = r(
    "GD-RBAC-004",
    High,
    "rbac",
    "least-privilege RBAC",
    "role can exec or attach into pods",
);
pub const IMAGE_REGISTRY: RuleDef = r(
    "GD-IMAGE-001",
    High,
    "registry",
    "images from allowed registries",
    "image from a registry that is not allowed",
);
pub const IMAGE_TAG: RuleDef = r(
    "GD-IMAGE-002",
    High,
    "image-tag",
    "no latest or untagged images",
    "image is untagged or uses latest",
);
pub const IMAGE_PULL_POLICY: RuleDef = r(
    "GD-IMAGE-003",
    Medium,
    "image-pull-policy",
    "IfNotPresent pulls",
    "imagePullPolicy is not IfNotPresent",
);
pub const IMAGE_IMPLICIT_REGISTRY: RuleDef = r(
    "GD-IMAGE-004",
    Low,
    "registry",
    "images from allowed registries",
    "image names no registry (Docker Hub implied)",
);
pub const INGRESS_DUPLICATE: RuleDef = r(
    "GD-INGRESS-001",
    High,
    "ingress",
    "unique ingress host+path, approved domains",
    "host and path already routed by another Ingress",
);
pub const INGRESS_DOMAIN: RuleDef = r(
    "GD-INGRESS-002",
    High,
    "ingress-domain",
    "unique ingress host+path, approved domains",
    "Ingress host outside the approved domains",
);
pub const INGRESS_BACKEND: RuleDef = r(
    "GD-INGRESS-003",
    High,
    "wiring",
    "wiring: Ingress backends exist with the right port",
    "Ingress backend Service is not there",
);
pub const INGRESS_PORT: RuleDef = r(
    "GD-INGRESS-004",
    High,
    "wiring",
    "wiring: Ingress backends exist with the right port",
    "Ingress backend port is not a port of the Service",
);
pub const SVC_SELECTOR: RuleDef = r(
    "GD-SVC-001",
    High,
    "wiring",
    "wiring: Service selector matches pods",
    "Service selector matches no pods",
);
pub const SVC_TARGET_PORT: RuleDef = r(
    "GD-SVC-002",
    High,
    "wiring",
    "wiring: Service targetPort exists on its pods",
    "Service targetPort is not a port of its pods",
);
pub const REF_CONFIGMAP: RuleDef = r(
    "GD-REF-001",
    Medium,
    "wiring",
    "wiring: ConfigMap/Secret references exist",
    "referenced ConfigMap is not in the input",
);
pub const REF_SECRET: RuleDef = r(
    "GD-REF-002",
    Low,
    "wiring",
    "wiring: ConfigMap/Secret references exist",
    "referenced Secret is not in the input",
);
pub const REF_KEY: RuleDef = r(
    "GD-REF-003",
    High,
    "wiring",
    "wiring: ConfigMap/Secret references exist",
    "referenced key is not in the ConfigMap or Secret",
);
pub const WAIVER_EXPIRED: RuleDef = r(
    "GD-WAIVE-001",
    Medium,
    "waiver",
    "waivers carry a reason and an expiry",
    "waiver has expired",
);
pub const WAIVER_INVALID: RuleDef = r(
    "GD-WAIVE-002",
    Low,
    "waiver",
    "waivers carry a reason and an expiry",
    "waiver annotation cannot be honoured",
);

/// Every rule, in the order `govdeploy audit --rules` lists them.
pub static RULES: &[RuleDef] = &[
    PROBE_READINESS,
    PROBE_LIVENESS,
    PROBE_SAME,
    PROBE_NAMED_PORT,
    PROBE_NUMERIC_PORT,
    SHUTDOWN_PRESTOP,
    SHUTDOWN_GRACE,
    REPLICAS,
    SPREAD,
    PDB_MISSING,
    PDB_ORPHAN,
    PDB_BLOCKS,
    RES_MEM_REQUEST,
    RES_MEM_LIMIT,
    RES_MEM_EQUAL,
    RES_CPU_REQUEST,
    RES_CPU_LARGE,
    RES_CPU_LIMIT,
    QOS_BEST_EFFORT,
    NS_LIMITRANGE,
    NS_QUOTA,
    NS_LIMITRANGE_CPU,
    LABEL_TECHNICAL,
    LABEL_BUSINESS,
    LABEL_SECURITY,
    STATE_HOSTPATH,
    STATE_LOCAL,
    HPA_MISSING,
    HPA_TARGET,
    HPA_NUMBERS,
    CONFIG_LITERAL_ENV,
    SECRET_ENV,
    SECRET_LITERAL,
    SEC_PRIVILEGED,
    SEC_READ_ONLY_ROOT,
    SEC_NON_ROOT,
    SEC_CAPS_DROP,
    SEC_CAPS_ADD,
    SEC_ESCALATION,
    SEC_HOST_NAMESPACES,
    SEC_SECCOMP,
    NETPOL_DEFAULT_DENY,
    NETPOL_UNCOVERED,
    SA_DEFAULT_TOKEN,
    SA_TOKEN,
    RBAC_WILDCARD,
    RBAC_CLUSTER_ADMIN,
    RBAC_SECRETS,
    RBAC_EXEC,
    IMAGE_REGISTRY,
    IMAGE_TAG,
    IMAGE_PULL_POLICY,
    IMAGE_IMPLICIT_REGISTRY,
    INGRESS_DUPLICATE,
    INGRESS_DOMAIN,
    INGRESS_BACKEND,
    INGRESS_PORT,
    SVC_SELECTOR,
    SVC_TARGET_PORT,
    REF_CONFIGMAP,
    REF_SECRET,
    REF_KEY,
    WAIVER_EXPIRED,
    WAIVER_INVALID,
];

/// The rule with this id (case-insensitive).
pub fn rule(id: &str) -> Option<&'static RuleDef> {
    RULES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for rule in RULES {
            assert!(seen.insert(rule.id), "duplicate id {}", rule.id);
            assert!(rule.id.starts_with("GD-"), "{}", rule.id);
            assert!(!rule.item.is_empty() && !rule.title.is_empty());
        }
    }
}
