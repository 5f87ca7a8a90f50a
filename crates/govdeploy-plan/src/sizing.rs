//! Sizing: replicas, memory (request = limit), JVM heap, CPU request and storage of every
//! component for the environment's profile.
//!
//! Precedence, highest first:
//!
//! | value    | order                                                                          |
//! |----------|--------------------------------------------------------------------------------|
//! | memory   | `spec.components.X.memory` > DIGIT env file `memory_limits` > [`STORE_RULES`] > catalogue |
//! | heap     | `spec.components.X.heap` > DIGIT env file `heap` (only with DIGIT's memory, and only below it) > [`STORE_RULES`] (only with the rule's memory) > floor(70% of memory) in whole MiB (50% for Elasticsearch) |
//! | CPU      | `spec.components.X.cpu` > catalogue; capped at [`CPU_REQUEST_CAP_MILLICORES`]; never a limit |
//! | replicas | `spec.components.X.replicas` > DIGIT env file `replicas` > [`STORE_RULES`] > [`PROFILE_RULES`] |
//! | storage  | [`STORE_RULES`] > catalogue `resources.storage`                                 |
//!
//! Memory is the one knob: the heap follows it unless set explicitly, because a separate heap
//! and limit that disagree is the tuning problem DIGIT operators fight today (DESIGN.md §1, §3).

use govdeploy_catalog::{Backing, Component, Tier, WorkloadKind};
use govdeploy_spec::{LoadedEnvironment, Profile, Quantity};
use govdeploy_yaml::{Diagnostic, Diagnostics, Location};

use crate::codes;
use crate::model::{Autoscale, SizingSources};
use crate::resolve::Resolution;

/// CPU requests above this are capped (with a warning): one core is the most a DIGIT service
/// can use at start, and larger requests only strand capacity (requests, never limits:
/// DESIGN.md §1 checklist).
pub const CPU_REQUEST_CAP_MILLICORES: u64 = 1000;

/// Share of the memory limit given to the JVM heap (DESIGN.md §3: about 70%, leaving room for
/// metaspace, thread stacks and direct buffers).
pub const HEAP_PERCENT: u64 = 70;

/// Migration allowance added to a component's ready time when it has a Flyway migration.
pub const MIGRATION_ALLOWANCE_SECONDS: u32 = 20;

const MIB: u64 = 1 << 20;

/// Replica rule for stateless components (Deployments that are not backbone stores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaRule {
    /// Exactly one replica.
    One,
    /// The catalogue's default.
    CatalogueDefault,
    /// The catalogue's default, but at least this many.
    AtLeast(u32),
}

/// How a profile scales stateless components.
#[derive(Debug, Clone, Copy)]
pub struct ProfileRule {
    pub profile: Profile,
    pub stateless: ReplicaRule,
    /// Record an autoscaling range min = replicas, max = 2 x replicas (for an HPA).
    pub autoscale: bool,
    /// Upper bound on a service's catalogue memory (not backbone, not overridden), in MiB.
    pub service_memory_cap_mib: Option<u64>,
    /// Upper bound on a service's catalogue CPU request (not backbone, not overridden).
    pub service_cpu_cap_millicores: Option<u64>,
    pub why: &'static str,
}

/// Profile rules for stateless components. Stateful components that are not in
/// [`STORE_RULES`] keep the catalogue default (at least one), except in quickstart (one).
pub const PROFILE_RULES: &[ProfileRule] = &[
    ProfileRule {
        profile: Profile::Quickstart,
        stateless: ReplicaRule::One,
        autoscale: false,
        service_memory_cap_mib: Some(384),
        service_cpu_cap_millicores: Some(50),
        why: "quickstart is one 16 GiB machine (DESIGN.md §3): one replica of everything, no HA; \
              services get at most 384Mi (heap -Xmx268m, just above DIGIT's usual -Xmx256m) and \
              a 50m CPU request so a PGR install fits with the backbone",
    },
    ProfileRule {
        profile: Profile::Dev,
        service_memory_cap_mib: None,
        service_cpu_cap_millicores: None,
        stateless: ReplicaRule::CatalogueDefault,
        autoscale: false,
        why: "dev runs the chart defaults (3 workers of 4 vCPU / 16 GB, DESIGN.md §3)",
    },
    ProfileRule {
        profile: Profile::Uat,
        service_memory_cap_mib: None,
        service_cpu_cap_millicores: None,
        stateless: ReplicaRule::AtLeast(1),
        autoscale: false,
        why: "uat mirrors prod's topology on 4 workers but not its redundancy (DESIGN.md §3)",
    },
    ProfileRule {
        profile: Profile::Prod,
        service_memory_cap_mib: None,
        service_cpu_cap_millicores: None,
        stateless: ReplicaRule::AtLeast(2),
        autoscale: true,
        why: "prod needs at least two replicas spread across nodes and an HPA range \
              (production checklist, DESIGN.md §1; 5-6 workers, §3)",
    },
];

/// A backbone store whose size depends on the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreRole {
    Kafka,
    ElasticsearchData,
    ElasticsearchMaster,
    Postgres,
    Redis,
}

impl StoreRole {
    pub fn is_elasticsearch(self) -> bool {
        matches!(
            self,
            StoreRole::ElasticsearchData | StoreRole::ElasticsearchMaster
        )
    }

    /// The store a component plays: by what it `provides`, or for Elasticsearch master nodes
    /// (which provide nothing themselves) by name or alias.
    pub fn of(name: &str, component: &Component) -> Option<StoreRole> {
        if let Some(p) = &component.provides {
            return match p.store {
                Backing::Kafka => Some(StoreRole::Kafka),
                Backing::Elasticsearch => Some(StoreRole::ElasticsearchData),
                Backing::Postgres => Some(StoreRole::Postgres),
                Backing::Redis => Some(StoreRole::Redis),
                Backing::ObjectStore => None,
            };
        }
        const MASTER_NAMES: [&str; 2] = ["elasticsearch-master", "es-master"];
        let named = |n: &str| MASTER_NAMES.contains(&n);
        (named(name) || component.aliases.iter().any(|a| named(a)))
            .then_some(StoreRole::ElasticsearchMaster)
    }
}

/// Size of a backbone store under a profile. `None` fields keep the catalogue value.
#[derive(Debug, Clone, Copy)]
pub struct StoreRule {
    pub profile: Profile,
    pub role: StoreRole,
    pub replicas: Option<u32>,
    pub memory: Option<&'static str>,
    pub heap: Option<&'static str>,
    pub storage: Option<&'static str>,
    pub why: &'static str,
}

const fn rule(
    profile: Profile,
    role: StoreRole,
    replicas: u32,
    memory: Option<&'static str>,
    heap: Option<&'static str>,
    storage: Option<&'static str>,
    why: &'static str,
) -> StoreRule {
    StoreRule {
        profile,
        role,
        replicas: Some(replicas),
        memory,
        heap,
        storage,
        why,
    }
}

use Profile::{Dev, Prod, Quickstart, Uat};
use StoreRole::{ElasticsearchData, ElasticsearchMaster, Kafka, Postgres, Redis};

const QS: &str =
    "quickstart fits everything on one 16 GiB machine (DESIGN.md §3): single small instances";
const DEV: &str = "dev: one instance of each store at the catalogue's size";
const UAT_HA: &str = "uat exercises the prod quorum (3 brokers / 3 ES nodes) at catalogue sizes";
const UAT_ONE: &str = "uat: one instance at the catalogue's size";

const PROD_KAFKA: &str = "Kafka KRaft quorum: 3 brokers, heap 1g, 8Gi disks (DESIGN.md §3)";
const PROD_ES_DATA: &str = "ES data: 3 x (2Gi, heap 1g, 25Gi disk) (DESIGN.md §3)";
const PROD_ES_MASTER: &str = "ES master: 3 x 896Mi for a quorum (DESIGN.md §3)";
const PROD_POSTGRES: &str =
    "in-cluster Postgres is one primary with 2Gi; use a managed database (external) for HA";
const PROD_REDIS: &str = "Redis is a cache: one instance";

/// Backbone sizes per profile (DESIGN.md §3 sizing facts: ES data 3 x (2Gi, heap 1g, 25Gi
/// disk), ES master 3 x 896Mi, Kafka KRaft 3 x heap 1g with 8Gi disks; quickstart = one
/// 16 GiB machine).
#[rustfmt::skip]
pub const STORE_RULES: &[StoreRule] = &[
    //   profile     role                 n  memory          heap         storage       why
    rule(Quickstart, Kafka,               1, Some("1Gi"),    None,        None,         QS),
    rule(Quickstart, ElasticsearchData,   1, Some("1536Mi"), None,        None,         QS),
    rule(Quickstart, ElasticsearchMaster, 1, Some("512Mi"),  None,        None,         QS),
    rule(Quickstart, Postgres,            1, Some("1Gi"),    None,        None,         QS),
    rule(Quickstart, Redis,               1, Some("256Mi"),  None,        None,         QS),
    rule(Dev,        Kafka,               1, None,           None,        None,         DEV),
    rule(Dev,        ElasticsearchData,   1, None,           None,        None,         DEV),
    rule(Dev,        ElasticsearchMaster, 1, None,           None,        None,         DEV),
    rule(Dev,        Postgres,            1, None,           None,        None,         DEV),
    rule(Dev,        Redis,               1, None,           None,        None,         DEV),
    rule(Uat,        Kafka,               3, None,           None,        None,         UAT_HA),
    rule(Uat,        ElasticsearchData,   3, None,           None,        None,         UAT_HA),
    rule(Uat,        ElasticsearchMaster, 3, None,           None,        None,         UAT_HA),
    rule(Uat,        Postgres,            1, None,           None,        None,         UAT_ONE),
    rule(Uat,        Redis,               1, None,           None,        None,         UAT_ONE),
    rule(Prod,       Kafka,               3, Some("2Gi"),    Some("1Gi"), Some("8Gi"),  PROD_KAFKA),
    rule(Prod,       ElasticsearchData,   3, Some("2Gi"),    Some("1Gi"), Some("25Gi"), PROD_ES_DATA),
    rule(Prod,       ElasticsearchMaster, 3, Some("896Mi"),  None,        None,         PROD_ES_MASTER),
    rule(Prod,       Postgres,            1, Some("2Gi"),    None,        None,         PROD_POSTGRES),
    rule(Prod,       Redis,               1, None,           None,        None,         PROD_REDIS),
];

/// The store rule for a profile and role.
pub fn store_rule(profile: Profile, role: StoreRole) -> Option<&'static StoreRule> {
    STORE_RULES
        .iter()
        .find(|r| r.profile == profile && r.role == role)
}

/// The stateless rule of a profile.
pub fn profile_rule(profile: Profile) -> &'static ProfileRule {
    PROFILE_RULES
        .iter()
        .find(|r| r.profile == profile)
        .unwrap_or(&PROFILE_RULES[1])
}

/// The sized values of one component.
#[derive(Debug, Clone)]
pub(crate) struct Sized {
    pub replicas: u32,
    pub autoscale: Option<Autoscale>,
    pub memory_bytes: u64,
    pub cpu_millicores: u64,
    /// Whole MiB.
    pub heap_bytes: Option<u64>,
    pub storage_bytes: Option<u64>,
    pub sources: SizingSources,
}

/// `-Xmx<N>m` for a heap in bytes.
pub fn xmx(heap_bytes: u64) -> String {
    format!("-Xmx{}m", heap_bytes / MIB)
}

/// Elasticsearch keeps half its memory off the heap for Lucene's file cache (Elastic's sizing
/// advice: heap at most 50% of memory).
pub const ELASTICSEARCH_HEAP_PERCENT: u64 = 50;

/// floor(50% of memory) in whole MiB, for Elasticsearch nodes.
pub fn elasticsearch_heap_bytes(memory_bytes: u64) -> u64 {
    let heap = u128::from(memory_bytes) * u128::from(ELASTICSEARCH_HEAP_PERCENT) / 100;
    u64::try_from(heap).unwrap_or(u64::MAX) / MIB * MIB
}

/// floor(70% of memory), rounded down to whole MiB.
pub fn derived_heap_bytes(memory_bytes: u64) -> u64 {
    let heap = u128::from(memory_bytes) * u128::from(HEAP_PERCENT) / 100;
    let heap = u64::try_from(heap).unwrap_or(u64::MAX);
    heap / MIB * MIB
}

fn parse_bytes(
    q: &Quantity,
    what: String,
    at: Option<Location>,
    diags: &mut Diagnostics,
) -> Option<u64> {
    match q.bytes() {
        Ok(b) => Some(b),
        Err(e) => {
            diags.push(
                Diagnostic::error(codes::BAD_QUANTITY, format!("{what}: {e}"))
                    .at(at)
                    .hint("use a Kubernetes quantity such as 512Mi or 2Gi"),
            );
            None
        }
    }
}

fn parse_millicores(
    q: &Quantity,
    what: String,
    at: Option<Location>,
    diags: &mut Diagnostics,
) -> Option<u64> {
    match q.millicores() {
        Ok(b) => Some(b),
        Err(e) => {
            diags.push(
                Diagnostic::error(codes::BAD_QUANTITY, format!("{what}: {e}"))
                    .at(at)
                    .hint("use a Kubernetes quantity such as 250m or 1"),
            );
            None
        }
    }
}

/// Sizes one resolved component. `None` when a value could not be determined (an error was
/// pushed).
pub(crate) fn size(
    name: &str,
    res: &Resolution<'_>,
    loaded: &LoadedEnvironment,
    diags: &mut Diagnostics,
) -> Option<Sized> {
    let r = res.components.get(name)?;
    let def = r.def;
    let profile = loaded.env.spec.profile;
    let sources = &loaded.sources;
    let ov = res.overrides.get(name);
    let ov_spec = ov.map(|o| o.spec);
    let ov_at =
        |field: &str| ov.and_then(|o| sources.locate(&["spec", "components", &o.key, field]));
    let digit = res.digit.get(name).copied();

    if r.external.is_some() {
        if let Some(o) = ov
            && (o.spec.memory.is_some()
                || o.spec.cpu.is_some()
                || o.spec.replicas.is_some()
                || o.spec.heap.is_some())
        {
            diags.push(
                Diagnostic::warning(
                    codes::OVERRIDE_IGNORED,
                    format!("spec.components.{} sizes an external store: ignored", o.key),
                )
                .at(sources.locate_key(&["spec", "components"], &o.key))
                .hint("an external store runs no pods; size it at the provider"),
            );
        }
        return Some(Sized {
            replicas: 0,
            autoscale: None,
            memory_bytes: 0,
            cpu_millicores: 0,
            heap_bytes: None,
            storage_bytes: None,
            sources: SizingSources {
                replicas: "external".into(),
                memory: "external".into(),
                cpu: "external".into(),
                heap: None,
            },
        });
    }

    let store_rule = StoreRole::of(name, def).and_then(|role| store_rule(profile, role));
    let mut ok = true;

    // Memory.
    let (memory_bytes, memory_from) = if let Some(q) = ov_spec.and_then(|o| o.memory.as_ref()) {
        (
            parse_bytes(q, format!("memory of `{name}`"), ov_at("memory"), diags),
            "override",
        )
    } else if let Some(q) = digit.and_then(|d| d.memory.as_ref()) {
        (
            parse_bytes(
                q,
                format!("memory_limits of `{name}` in the DIGIT env file"),
                digit.and_then(|d| d.location.clone()),
                diags,
            ),
            "digit-env",
        )
    } else if let Some(m) = store_rule.and_then(|r| r.memory) {
        (
            parse_bytes(
                &Quantity(m.to_string()),
                format!("profile memory of `{name}`"),
                None,
                diags,
            ),
            "profile",
        )
    } else {
        (
            parse_bytes(
                &Quantity(def.resources.memory.clone()),
                format!("catalogue memory of `{name}`"),
                None,
                diags,
            ),
            "catalogue",
        )
    };
    let memory_bytes = memory_bytes.unwrap_or_else(|| {
        ok = false;
        0
    });
    let is_service = store_rule.is_none() && !matches!(def.tier, Tier::Backbone | Tier::Infra);
    let rule = profile_rule(profile);
    let (memory_bytes, memory_from) = match rule.service_memory_cap_mib {
        Some(cap) if is_service && memory_from == "catalogue" && memory_bytes > cap * MIB => {
            (cap * MIB, "profile")
        }
        _ => (memory_bytes, memory_from),
    };

    // CPU: a request on every component, capped, never a limit.
    let (cpu, cpu_from, cpu_at) = if let Some(q) = ov_spec.and_then(|o| o.cpu.as_ref()) {
        (
            parse_millicores(q, format!("cpu of `{name}`"), ov_at("cpu"), diags),
            "override",
            ov_at("cpu"),
        )
    } else {
        (
            parse_millicores(
                &Quantity(def.resources.cpu.clone()),
                format!("catalogue cpu of `{name}`"),
                None,
                diags,
            ),
            "catalogue",
            None,
        )
    };
    let (cpu, cpu_from) = match (cpu, rule.service_cpu_cap_millicores) {
        (Some(c), Some(cap)) if is_service && cpu_from == "catalogue" && c > cap => {
            (Some(cap), "profile")
        }
        _ => (cpu, cpu_from),
    };
    let (cpu_millicores, cpu_from) = match cpu {
        Some(c) if c > CPU_REQUEST_CAP_MILLICORES => {
            diags.push(
                Diagnostic::warning(
                    codes::CPU_CAPPED,
                    format!(
                        "CPU request {} of `{name}` ({cpu_from}) capped at {}",
                        govdeploy_spec::quantity::format_millicores(c),
                        govdeploy_spec::quantity::format_millicores(CPU_REQUEST_CAP_MILLICORES)
                    ),
                )
                .at(cpu_at)
                .hint("requests above one core strand node capacity; CPU is never limited, so the pod can still burst"),
            );
            (CPU_REQUEST_CAP_MILLICORES, "capped")
        }
        Some(c) => (c, cpu_from),
        None => {
            ok = false;
            (0, cpu_from)
        }
    };

    // Heap.
    let jvm = def.runtime.is_jvm() || store_rule.is_some_and(|r| r.heap.is_some());
    let mut heap_bytes = None;
    let mut heap_from = None;
    if !jvm {
        if let Some(o) = ov
            && o.spec.heap.is_some()
        {
            diags.push(
                Diagnostic::warning(
                    codes::OVERRIDE_IGNORED,
                    format!(
                        "spec.components.{}.heap is ignored: `{name}` is not a JVM",
                        o.key
                    ),
                )
                .at(ov_at("heap"))
                .hint("heap applies to java and java-spring runtimes only; size memory instead"),
            );
        }
    } else {
        let (explicit, from, at) = if let Some(q) = ov_spec.and_then(|o| o.heap.as_ref()) {
            (
                parse_bytes(q, format!("heap of `{name}`"), ov_at("heap"), diags).map(Some),
                "override",
                ov_at("heap"),
            )
        } else if let Some(q) = digit
            .and_then(|d| d.heap.as_ref())
            // A DIGIT heap was chosen for DIGIT's memory (the chart's or the env file's); once
            // the memory comes from this environment or the profile, the heap follows it.
            .filter(|_| matches!(memory_from, "digit-env" | "catalogue"))
        {
            let at = digit.and_then(|d| d.location.clone());
            (
                parse_bytes(
                    q,
                    format!("heap of `{name}` in the DIGIT env file"),
                    at.clone(),
                    diags,
                )
                .map(Some),
                "digit-env",
                at,
            )
        } else if let (Some(h), "profile") = (store_rule.and_then(|r| r.heap), memory_from) {
            (
                parse_bytes(
                    &Quantity(h.to_string()),
                    format!("profile heap of `{name}`"),
                    None,
                    diags,
                )
                .map(Some),
                "profile",
                None,
            )
        } else {
            (Some(None), "derived", None)
        };
        // A DIGIT env file is third-party input: a heap that does not fit its limit (DIGIT's
        // demo file gives zuul -Xmx704m under a 512Mi limit) is the very disagreement the
        // one-knob rule removes, so it is replaced by the derived heap with a warning.
        let (explicit, from, at) = match explicit {
            Some(Some(h)) if ok && from == "digit-env" && h >= memory_bytes => {
                diags.push(
                    Diagnostic::warning(
                        codes::DIGIT_HEAP_IGNORED,
                        format!(
                            "the DIGIT env file gives `{name}` heap {} under a memory limit of {}: the JVM would be killed for memory; using the derived heap {}",
                            govdeploy_spec::quantity::format_bytes(h),
                            govdeploy_spec::quantity::format_bytes(memory_bytes),
                            xmx(derived_heap_bytes(memory_bytes))
                        ),
                    )
                    .at(at)
                    .hint(format!("set spec.components.{name}.memory to size it; the heap follows at {HEAP_PERCENT}%")),
                );
                (Some(None), "derived", None)
            }
            other => (other, from, at),
        };
        match explicit {
            None => ok = false,
            Some(Some(h)) if ok && h >= memory_bytes => {
                diags.push(
                    Diagnostic::error(
                        codes::HEAP_TOO_LARGE,
                        format!(
                            "heap {} of `{name}` ({from}) is not below its memory limit {}",
                            govdeploy_spec::quantity::format_bytes(h),
                            govdeploy_spec::quantity::format_bytes(memory_bytes)
                        ),
                    )
                    .at(at)
                    .hint(format!(
                        "leave heap out to derive it ({HEAP_PERCENT}% of memory: {}), or raise memory",
                        xmx(derived_heap_bytes(memory_bytes))
                    )),
                );
                ok = false;
            }
            Some(h) => {
                let h = h.map(|h| h / MIB * MIB).unwrap_or_else(|| {
                    if StoreRole::of(name, def).is_some_and(StoreRole::is_elasticsearch) {
                        elasticsearch_heap_bytes(memory_bytes)
                    } else {
                        derived_heap_bytes(memory_bytes)
                    }
                });
                if h == 0 && ok {
                    diags.push(
                        Diagnostic::error(
                            codes::HEAP_TOO_SMALL,
                            format!(
                                "`{name}` would get a heap under 1Mi (memory {}, heap from {from})",
                                govdeploy_spec::quantity::format_bytes(memory_bytes)
                            ),
                        )
                        .at(at.or_else(|| ov_at("memory")))
                        .hint("give the JVM more memory (512Mi is typical for a DIGIT service)"),
                    );
                    ok = false;
                }
                heap_bytes = Some(h);
                heap_from = Some(from.to_string());
            }
        }
    }

    // Replicas.
    let rule = profile_rule(profile);
    let stateless =
        def.workload == WorkloadKind::Deployment && def.provides.is_none() && store_rule.is_none();
    let (replicas, replicas_from) = if let Some(n) = ov_spec.and_then(|o| o.replicas) {
        (n, "override")
    } else if let Some(n) = digit.and_then(|d| d.replicas) {
        (n, "digit-env")
    } else if let Some(n) = store_rule.and_then(|r| r.replicas) {
        (n, "profile")
    } else if stateless {
        let n = match rule.stateless {
            ReplicaRule::One => 1,
            ReplicaRule::CatalogueDefault => def.replicas,
            ReplicaRule::AtLeast(min) => def.replicas.max(min),
        };
        (
            n,
            if n == def.replicas {
                "catalogue"
            } else {
                "profile"
            },
        )
    } else if profile == Profile::Quickstart {
        (1, "profile")
    } else {
        (def.replicas.max(1), "catalogue")
    };
    // Cluster infrastructure (ingress controller, cert-manager) scales by its own rules.
    let autoscale =
        (rule.autoscale && stateless && def.tier != Tier::Infra && replicas > 0).then(|| {
            Autoscale {
                min: replicas,
                max: replicas.saturating_mul(2),
            }
        });

    // Storage per replica.
    let storage_bytes = match (store_rule.and_then(|r| r.storage), &def.resources.storage) {
        (Some(s), _) => parse_bytes(
            &Quantity(s.to_string()),
            format!("profile storage of `{name}`"),
            None,
            diags,
        ),
        (None, Some(s)) => parse_bytes(
            &Quantity(s.clone()),
            format!("catalogue storage of `{name}`"),
            None,
            diags,
        ),
        (None, None) => None,
    };

    ok.then_some(Sized {
        replicas,
        autoscale,
        memory_bytes,
        cpu_millicores,
        heap_bytes,
        storage_bytes,
        sources: SizingSources {
            replicas: replicas_from.into(),
            memory: memory_from.into(),
            cpu: cpu_from.into(),
            heap: heap_from,
        },
    })
}
