//! Unit tests against small catalogues built in code.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use govdeploy_catalog::{
    Backing, Catalog, Component, Image, Migration, Module, ModuleKind, Provides, Release,
    Resources, Runtime, Tier, WorkloadKind,
};
use govdeploy_spec::{
    BackboneStore, BackingStore, Cluster, ComponentOverride, DigitServiceOverride, Environment,
    EnvironmentSpec, LoadedEnvironment, Metadata, Network, NodePool, Profile, Quantity, Registry,
    SourceMap,
};
use govdeploy_yaml::Diagnostics;

use crate::*;

const MI: u64 = 1 << 20;
const GI: u64 = 1 << 30;

fn comp(tier: Tier, namespace: &str, repo: &str, memory: &str, cpu: &str, ready: u32) -> Component {
    Component {
        tier,
        workload: WorkloadKind::Deployment,
        runtime: Runtime::JavaSpring,
        spring_boot: None,
        image: Some(Image {
            repository: repo.to_string(),
            default_tag: None,
        }),
        namespace: namespace.to_string(),
        ports: vec![],
        context_path: None,
        gateway_routed: false,
        ingress: false,
        probes: None,
        backing: BTreeSet::new(),
        depends_on: BTreeSet::new(),
        migration: None,
        config_sources: vec![],
        env: vec![],
        resources: Resources {
            memory: memory.to_string(),
            cpu: cpu.to_string(),
            storage: None,
        },
        replicas: 1,
        ready_seconds: ready,
        provides: None,
        source: None,
        aliases: BTreeSet::new(),
        manifest_only: false,
        ingress_host: None,
        schedule: None,
    }
}

#[allow(clippy::too_many_arguments, reason = "test builder")]
fn store(
    repo: &str,
    tag: &str,
    runtime: Runtime,
    memory: &str,
    cpu: &str,
    storage: &str,
    ready: u32,
    provides: Option<(Backing, bool, u16)>,
) -> Component {
    let mut c = comp(Tier::Backbone, "backbone", repo, memory, cpu, ready);
    c.workload = WorkloadKind::StatefulSet;
    c.runtime = runtime;
    if let Some(i) = c.image.as_mut() {
        i.default_tag = Some(tag.to_string());
    }
    c.resources.storage = Some(storage.to_string());
    c.provides = provides.map(|(store, external_allowed, port)| Provides {
        store,
        external_allowed,
        port,
    });
    c
}

fn service(tier: Tier, name: &str, ready: u32) -> Component {
    let mut c = comp(
        tier,
        "egov",
        &format!("egovio/{name}"),
        "512Mi",
        "100m",
        ready,
    );
    c.gateway_routed = true;
    c
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn with_migration(mut c: Component, name: &str) -> Component {
    c.migration = Some(Migration {
        image: format!("egovio/{name}-db"),
        schema_table: format!("{name}_schema"),
    });
    c
}

fn module(kind: ModuleKind, deps: &[&str], components: &[(&str, Option<&str>)]) -> Module {
    Module {
        kind,
        depends_on: deps.iter().map(|s| s.to_string()).collect(),
        components: components
            .iter()
            .map(|(n, t)| (n.to_string(), t.map(str::to_string)))
            .collect(),
        migration_tags: BTreeMap::new(),
    }
}

/// A small DIGIT-like catalogue: backbone stores with `provides`, a gateway, core and
/// business services, a tl-services <-> tl-calculator cycle, a front end, and a service
/// (egov-localization) that no module lists.
fn digit() -> Catalog {
    let mut components = BTreeMap::new();
    components.insert(
        "postgres".into(),
        store(
            "postgres",
            "14.10",
            Runtime::Other,
            "1Gi",
            "500m",
            "10Gi",
            30,
            Some((Backing::Postgres, true, 5432)),
        ),
    );
    let mut kafka = store(
        "docker.io/bitnami/kafka",
        "3.6.1",
        Runtime::Java,
        "1536Mi",
        "500m",
        "8Gi",
        60,
        Some((Backing::Kafka, false, 9092)),
    );
    kafka.aliases = set(["kafka-v2"]);
    components.insert("kafka".into(), kafka);
    let mut es_data = store(
        "docker.elastic.co/elasticsearch/elasticsearch",
        "7.17.15",
        Runtime::Java,
        "2Gi",
        "1",
        "25Gi",
        90,
        Some((Backing::Elasticsearch, true, 9200)),
    );
    es_data.depends_on = set(["elasticsearch-master"]);
    components.insert("elasticsearch-data".into(), es_data);
    components.insert(
        "elasticsearch-master".into(),
        store(
            "docker.elastic.co/elasticsearch/elasticsearch",
            "7.17.15",
            Runtime::Java,
            "896Mi",
            "250m",
            "2Gi",
            60,
            None,
        ),
    );
    let mut redis = store(
        "redis",
        "7.2",
        Runtime::Other,
        "256Mi",
        "100m",
        "1Gi",
        10,
        Some((Backing::Redis, true, 6379)),
    );
    redis.workload = WorkloadKind::Deployment;
    redis.resources.storage = None;
    components.insert("redis".into(), redis);

    let mut zuul = comp(Tier::Gateway, "egov", "egovio/zuul", "512Mi", "250m", 40);
    zuul.depends_on = set(["egov-user"]);
    zuul.ingress = true;
    components.insert("zuul".into(), zuul);

    let mut user = with_migration(service(Tier::Core, "egov-user", 60), "egov-user");
    user.backing = [Backing::Postgres, Backing::Redis].into();
    user.depends_on = set(["egov-mdms-service"]);
    components.insert("egov-user".into(), user);

    let mut mdms = service(Tier::Core, "egov-mdms-service", 30);
    mdms.replicas = 2;
    components.insert("egov-mdms-service".into(), mdms);

    let mut indexer = service(Tier::Core, "egov-indexer", 45);
    indexer.gateway_routed = false;
    indexer.resources.memory = "768Mi".into();
    indexer.resources.cpu = "1200m".into();
    indexer.backing = [Backing::Kafka, Backing::Elasticsearch].into();
    components.insert("egov-indexer".into(), indexer);

    let mut workflow = with_migration(
        service(Tier::Business, "egov-workflow-v2", 50),
        "egov-workflow-v2",
    );
    workflow.backing = [Backing::Postgres, Backing::Kafka].into();
    workflow.depends_on = set(["egov-mdms-service"]);
    components.insert("egov-workflow-v2".into(), workflow);

    let mut loc = service(Tier::Core, "egov-localization", 35);
    loc.backing = [Backing::Postgres].into();
    components.insert("egov-localization".into(), loc);

    let mut pgr = with_migration(service(Tier::Municipal, "pgr-services", 50), "pgr-services");
    pgr.backing = [Backing::Postgres, Backing::Kafka].into();
    pgr.depends_on = set(["egov-workflow-v2", "egov-user", "egov-localization"]);
    components.insert("pgr-services".into(), pgr);

    let mut tl = with_migration(service(Tier::Municipal, "tl-services", 55), "tl-services");
    tl.backing = [Backing::Postgres, Backing::Kafka].into();
    tl.depends_on = set(["tl-calculator", "egov-workflow-v2"]);
    components.insert("tl-services".into(), tl);

    let mut calc = with_migration(
        service(Tier::Municipal, "tl-calculator", 45),
        "tl-calculator",
    );
    calc.backing = [Backing::Postgres].into();
    calc.depends_on = set(["tl-services"]);
    components.insert("tl-calculator".into(), calc);

    let mut ui = comp(
        Tier::Frontend,
        "egov",
        "egovio/digit-ui",
        "256Mi",
        "50m",
        15,
    );
    ui.runtime = Runtime::Nginx;
    ui.ingress = true;
    components.insert("digit-ui".into(), ui);

    let mut modules = BTreeMap::new();
    modules.insert(
        "backbone".into(),
        module(
            ModuleKind::Layer,
            &[],
            &[
                ("postgres", None),
                ("kafka-v2", None),
                ("elasticsearch-data", None),
                ("elasticsearch-master", None),
                ("redis", None),
            ],
        ),
    );
    modules.insert(
        "core".into(),
        module(
            ModuleKind::Layer,
            &["backbone"],
            &[
                ("egov-user", Some("v2.9-aaa")),
                ("egov-mdms-service", Some("v2.9-bbb")),
                ("zuul", Some("v2.9-ccc")),
                ("egov-indexer", Some("v2.9-ddd")),
            ],
        ),
    );
    modules.insert(
        "business".into(),
        module(
            ModuleKind::Layer,
            &["core"],
            &[("egov-workflow-v2", Some("v2.9-eee"))],
        ),
    );
    modules.insert(
        "frontend".into(),
        module(
            ModuleKind::Layer,
            &["core"],
            &[("digit-ui", Some("v2.9-fff"))],
        ),
    );
    modules.insert(
        "m_pgr".into(),
        module(
            ModuleKind::Product,
            &["business", "frontend"],
            &[("pgr-services", Some("v2.9-ggg"))],
        ),
    );
    modules.insert(
        "m_trade-license".into(),
        module(
            ModuleKind::Product,
            &["business"],
            &[
                ("tl-services", Some("v2.9-hhh")),
                ("tl-calculator", Some("v2.9-iii")),
            ],
        ),
    );
    let mut releases = BTreeMap::new();
    releases.insert(
        "digit-v2.9".into(),
        Release {
            product: "DIGIT".into(),
            version: "2.9".into(),
            spring_boot: Some("3.2".into()),
            source: None,
            modules,
        },
    );
    Catalog {
        api_version: "govdeploy.io/v1".into(),
        kind: "Catalog".into(),
        name: "digit".into(),
        provenance: None,
        components,
        releases,
        shared_config: BTreeMap::new(),
    }
}

fn env(modules: &[&str], profile: Profile) -> LoadedEnvironment {
    LoadedEnvironment {
        env: Environment {
            api_version: "govdeploy.io/v1".into(),
            kind: "Environment".into(),
            metadata: Metadata {
                name: "demo".into(),
                labels: BTreeMap::new(),
            },
            extends: vec![],
            spec: EnvironmentSpec {
                catalog: "digit".into(),
                release: "digit-v2.9".into(),
                modules: modules.iter().map(|s| s.to_string()).collect(),
                profile,
                domain: "demo.example.org".into(),
                namespaces: BTreeMap::new(),
                cluster: None,
                backbone: BTreeMap::new(),
                registry: None,
                components: BTreeMap::new(),
                digit_env_file: None,
                config_sources: BTreeMap::new(),
                network: Network::default(),
                secrets: None,
                shared_config: BTreeMap::new(),
            },
        },
        sources: SourceMap::default(),
        files: vec![],
        base_dir: PathBuf::new(),
        digit_overrides: BTreeMap::new(),
    }
}

fn q(s: &str) -> Quantity {
    Quantity(s.to_string())
}

fn ok(loaded: &LoadedEnvironment, catalog: &Catalog) -> (Plan, Diagnostics) {
    match build(loaded, catalog) {
        Ok(p) => p,
        Err(d) => panic!("plan failed:\n{d}"),
    }
}

fn err(loaded: &LoadedEnvironment, catalog: &Catalog) -> Diagnostics {
    match build(loaded, catalog) {
        Ok(_) => panic!("plan unexpectedly succeeded"),
        Err(d) => d,
    }
}

fn codes_of(d: &Diagnostics) -> Vec<&'static str> {
    d.0.iter().map(|d| d.code).collect()
}

fn find<'a>(d: &'a Diagnostics, code: &str) -> &'a govdeploy_yaml::Diagnostic {
    d.0.iter()
        .find(|x| x.code == code)
        .unwrap_or_else(|| panic!("no {code} in:\n{d}"))
}

fn pool(count: u32, cpu: &str, memory: &str) -> NodePool {
    NodePool {
        name: "workers".into(),
        count,
        cpu: q(cpu),
        memory: q(memory),
    }
}

// ---------------------------------------------------------------- resolution

/// A source map over one in-memory environment file called `env.yaml`.
fn sources_of(text: &str) -> SourceMap {
    let root = govdeploy_yaml::parse_single(text).unwrap();
    let (tree, origin) =
        govdeploy_spec::merge::merge_layers([govdeploy_spec::merge::Layer { file: 0, root }])
            .unwrap();
    SourceMap::new(tree, origin, vec!["env.yaml".into()])
}

#[test]
fn check_names_covers_overrides_and_egress_components() {
    let sources = sources_of(
        "spec:\n  release: digit-v2.9\n  modules: [m_pgr]\n  components:\n    egov-usr: {replicas: 2}\n    kafka-v2: {}\n  network:\n    egress:\n      pgr-servics:\n        - {to: 203.0.113.10/32, ports: [443]}\n      egov-user:\n        - {to: 203.0.113.10/32, ports: [443]}\n      sms-gateway-xyz: []\n",
    );
    let d = check_names(&sources, &digit());
    let found: Vec<(String, &str)> =
        d.0.iter()
            .map(|x| {
                let l = x.location.as_ref().unwrap();
                (format!("{}:{}", l.line, l.col), x.code)
            })
            .collect();
    assert_eq!(
        found,
        [
            ("5:5".to_string(), codes::UNKNOWN_OVERRIDE),
            ("9:7".to_string(), codes::UNKNOWN_OVERRIDE),
            ("13:7".to_string(), codes::UNKNOWN_OVERRIDE),
        ],
        "{d}"
    );
    assert_eq!(
        d.0[1].message,
        "spec.network.egress.pgr-servics names a component that is not in catalogue `digit`"
    );
    assert_eq!(d.0[1].hint.as_deref(), Some("did you mean `pgr-services`?"));
    assert_eq!(d.0[0].hint.as_deref(), Some("did you mean `egov-user`?"));
    assert!(
        d.0[2].hint.as_deref().unwrap().contains("govdeploy plan"),
        "{d}"
    );
    // Nothing to check: no error.
    assert!(check_names(&sources_of("spec: {network: {}}\n"), &digit()).is_empty());
    assert!(check_names(&sources_of("kind: x\n"), &digit()).is_empty());
}

#[test]
fn module_closure_records_reasons() {
    let (plan, _) = ok(&env(&["m_pgr"], Profile::Dev), &digit());
    let reasons: BTreeMap<&str, &str> = plan
        .modules
        .iter()
        .map(|(k, m)| (k.as_str(), m.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        BTreeMap::from([
            ("backbone", "required by m_pgr -> business -> core"),
            ("business", "required by m_pgr"),
            ("core", "required by m_pgr -> business"),
            ("frontend", "required by m_pgr"),
            ("m_pgr", "selected"),
        ])
    );
    assert_eq!(plan.modules["m_pgr"].kind, ModuleKind::Product);
    assert_eq!(plan.modules["backbone"].kind, ModuleKind::Layer);
    // Aliases resolve to the canonical name.
    assert!(
        plan.modules["backbone"]
            .components
            .contains(&"kafka".to_string())
    );
    assert!(!plan.components.contains_key("tl-services"));
}

#[test]
fn component_reasons_and_services_outside_the_selection() {
    let (plan, warnings) = ok(&env(&["m_pgr"], Profile::Dev), &digit());
    assert_eq!(plan.components["kafka"].reason, "part of module backbone");
    assert_eq!(plan.components["kafka"].module.as_deref(), Some("backbone"));
    assert_eq!(
        plan.components["pgr-services"].reason,
        "part of module m_pgr"
    );
    // A service called by an included one but deployed by no selected module is not added
    // behind the operator's back: the call is reported instead.
    assert!(!plan.components.contains_key("egov-localization"));
    let w = find(&warnings, codes::MISSING_CALLEE);
    assert!(
        w.message
            .contains("`pgr-services` calls `egov-localization`"),
        "{w}"
    );
    assert!(
        !plan.components["pgr-services"]
            .depends_on
            .contains(&"egov-localization".to_string())
    );
    assert_eq!(plan.warnings, warnings.0);
}

#[test]
fn backing_providers_and_their_dependencies_are_pulled_in() {
    let mut cat = digit();
    let backbone = cat
        .releases
        .get_mut("digit-v2.9")
        .unwrap()
        .modules
        .get_mut("backbone")
        .unwrap();
    backbone.components.clear();
    let (plan, _) = ok(&env(&["m_pgr"], Profile::Dev), &cat);
    assert_eq!(
        plan.components["elasticsearch-data"].reason,
        "backing store elasticsearch for egov-indexer"
    );
    assert_eq!(
        plan.components["elasticsearch-master"].reason,
        "needed by elasticsearch-data"
    );
    assert!(
        plan.components["postgres"]
            .reason
            .starts_with("backing store postgres for ")
    );
    assert_eq!(
        plan.backbone["postgres"].used_by,
        vec!["egov-user", "egov-workflow-v2", "pgr-services"]
    );
    assert_eq!(
        plan.backbone["postgres"].provider.as_deref(),
        Some("postgres")
    );
}

#[test]
fn unknown_release_suggests_the_closest() {
    let mut e = env(&["m_pgr"], Profile::Dev);
    e.env.spec.release = "digit-v2.8".into();
    let d = err(&e, &digit());
    let x = find(&d, codes::UNKNOWN_RELEASE);
    assert!(x.hint.as_deref().unwrap().contains("`digit-v2.9`"), "{x}");
}

#[test]
fn all_input_errors_are_reported_at_once_with_suggestions() {
    let mut e = env(&["m_pgrr", "m_trade-license"], Profile::Dev);
    e.env
        .spec
        .components
        .insert("egov-usr".into(), ComponentOverride::default());
    e.env
        .spec
        .components
        .insert("pgr-services".into(), ComponentOverride::default());
    let d = err(&e, &digit());
    let module = find(&d, codes::UNKNOWN_MODULE);
    let hint = module.hint.as_deref().unwrap();
    assert!(hint.contains("did you mean `m_pgr`?"), "{hint}");
    assert!(
        hint.contains("products in digit-v2.9: m_pgr, m_trade-license"),
        "{hint}"
    );
    let overrides: Vec<_> =
        d.0.iter()
            .filter(|x| x.code == codes::UNKNOWN_OVERRIDE)
            .collect();
    assert_eq!(overrides.len(), 2, "{d}");
    let typo = overrides
        .iter()
        .find(|x| x.message.contains("egov-usr"))
        .unwrap();
    assert!(
        typo.hint
            .as_deref()
            .unwrap()
            .contains("did you mean `egov-user`?"),
        "{typo}"
    );
    // In the catalogue but not in this plan: say which module brings it.
    let absent = overrides
        .iter()
        .find(|x| x.message.contains("pgr-services"))
        .unwrap();
    assert!(
        absent.hint.as_deref().unwrap().contains("m_pgr"),
        "{absent}"
    );
}

#[test]
fn unknown_component_in_a_release_module() {
    let mut cat = digit();
    cat.releases
        .get_mut("digit-v2.9")
        .unwrap()
        .modules
        .get_mut("core")
        .unwrap()
        .components
        .insert("egov-usre".into(), Some("v1".into()));
    let d = err(&env(&["m_pgr"], Profile::Dev), &cat);
    let x = find(&d, codes::UNKNOWN_COMPONENT);
    assert!(
        x.message.contains("egov-usre") && x.message.contains("core"),
        "{x}"
    );
    assert!(x.hint.as_deref().unwrap().contains("`egov-user`"), "{x}");
}

#[test]
fn unknown_module_dependency_and_module_cycles_are_errors() {
    let mut cat = digit();
    let modules = &mut cat.releases.get_mut("digit-v2.9").unwrap().modules;
    modules.get_mut("core").unwrap().depends_on = vec!["backbone".into(), "business".into()];
    modules.get_mut("frontend").unwrap().depends_on = vec!["core".into(), "frontnd-lib".into()];
    let d = err(&env(&["m_pgr"], Profile::Dev), &cat);
    let cycle = find(&d, codes::MODULE_CYCLE);
    assert!(cycle.message.contains("business, core"), "{cycle}");
    let dep = find(&d, codes::UNKNOWN_MODULE_DEP);
    assert!(dep.message.contains("frontnd-lib"), "{dep}");
}

// ---------------------------------------------------------------- graph

#[test]
fn cycle_becomes_one_group_and_levels_follow_needs() {
    let (plan, _) = ok(&env(&["m_trade-license"], Profile::Dev), &digit());
    let group = plan
        .groups
        .iter()
        .find(|g| g.cyclic)
        .expect("a cyclic group");
    assert_eq!(group.label, "{tl-calculator, tl-services}");
    assert_eq!(group.members, vec!["tl-calculator", "tl-services"]);
    assert_eq!(plan.groups.iter().filter(|g| g.cyclic).count(), 1);
    assert_eq!(plan.components["tl-services"].group, group.id);
    assert_eq!(plan.components["tl-calculator"].group, group.id);
    let levels: Vec<Vec<&str>> = plan
        .levels
        .iter()
        .map(|l| l.groups.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        levels,
        vec![
            vec![
                "egov-mdms-service",
                "elasticsearch-master",
                "kafka",
                "postgres",
                "redis"
            ],
            vec!["egov-user", "egov-workflow-v2", "elasticsearch-data"],
            vec!["egov-indexer", "{tl-calculator, tl-services}"],
            vec!["zuul"],
        ]
    );
    // Groups are in (level, label) order and needs point to lower levels.
    for g in &plan.groups {
        for &n in &g.needs {
            assert!(plan.groups[n].level < g.level);
        }
    }
}

#[test]
fn gateway_starts_after_routed_services_and_frontends_after_gateway() {
    let (plan, _) = ok(&env(&["m_pgr", "m_trade-license"], Profile::Dev), &digit());
    let zuul = plan.components["zuul"].level;
    let catalog = digit();
    for (name, c) in &plan.components {
        if catalog.components[name].gateway_routed {
            assert!(
                c.level < zuul,
                "{name} at level {} not before zuul {zuul}",
                c.level
            );
        }
    }
    assert!(plan.components["digit-ui"].level > zuul);
    let edge = plan
        .edges
        .iter()
        .find(|e| e.from == "zuul" && e.to == "pgr-services")
        .unwrap();
    assert_eq!(edge.kinds, vec![EdgeKind::GatewayRoute]);
    let calls = plan
        .edges
        .iter()
        .find(|e| e.from == "zuul" && e.to == "egov-user")
        .unwrap();
    assert_eq!(calls.kinds, vec![EdgeKind::Calls, EdgeKind::GatewayRoute]);
    assert!(
        plan.components["digit-ui"]
            .needs
            .contains(&"zuul".to_string())
    );
}

#[test]
fn critical_path_is_the_longest_chain() {
    let (plan, _) = ok(&env(&["m_trade-license"], Profile::Dev), &digit());
    // kafka 60 -> workflow 50+20 -> {tl} max(55, 45)+20 -> zuul 40
    let cp = &plan.critical_path;
    assert_eq!(cp.total_seconds, 245);
    let chain: Vec<(&str, u32, u32)> = cp
        .steps
        .iter()
        .map(|s| (s.group.as_str(), s.seconds, s.ready_at))
        .collect();
    assert_eq!(
        chain,
        vec![
            ("kafka", 60, 60),
            ("egov-workflow-v2", 70, 130),
            ("{tl-calculator, tl-services}", 75, 205),
            ("zuul", 40, 245),
        ]
    );
}

// ---------------------------------------------------------------- sizing

#[test]
fn heap_is_derived_from_memory() {
    let (plan, _) = ok(&env(&["m_pgr"], Profile::Dev), &digit());
    let user = &plan.components["egov-user"];
    assert_eq!(user.memory, "512Mi");
    assert_eq!(user.heap.as_deref(), Some("-Xmx358m"));
    assert_eq!(user.heap_bytes, Some(358 * MI));
    assert_eq!(user.sources.heap.as_deref(), Some("derived"));
    assert_eq!(
        plan.components["egov-indexer"].heap.as_deref(),
        Some("-Xmx537m")
    );
    // Not a JVM: no heap.
    assert_eq!(plan.components["digit-ui"].heap, None);
    assert_eq!(plan.components["postgres"].heap, None);
}

#[test]
fn memory_and_heap_precedence() {
    let mut e = env(&["m_pgr"], Profile::Dev);
    e.digit_overrides.insert(
        "egov-user".into(),
        DigitServiceOverride {
            replicas: Some(3),
            memory: Some(q("768Mi")),
            heap: Some(q("256Mi")),
            location: None,
        },
    );
    e.digit_overrides.insert(
        "egov-mdms-service".into(),
        DigitServiceOverride {
            memory: Some(q("1Gi")),
            ..Default::default()
        },
    );
    // Sections for services not in the plan are ignored.
    e.digit_overrides
        .insert("tl-services".into(), DigitServiceOverride::default());
    e.env.spec.components.insert(
        "egov-mdms-service".into(),
        ComponentOverride {
            memory: Some(q("640Mi")),
            ..Default::default()
        },
    );
    let (plan, _) = ok(&e, &digit());
    let user = &plan.components["egov-user"];
    assert_eq!(
        (user.memory.as_str(), user.heap.as_deref()),
        ("768Mi", Some("-Xmx256m"))
    );
    assert_eq!(user.replicas, 3);
    assert_eq!(user.sources.memory, "digit-env");
    assert_eq!(user.sources.heap.as_deref(), Some("digit-env"));
    let mdms = &plan.components["egov-mdms-service"];
    assert_eq!(mdms.memory, "640Mi");
    assert_eq!(mdms.heap.as_deref(), Some("-Xmx448m"));
    assert_eq!(mdms.sources.memory, "override");
}

#[test]
fn heap_not_below_memory_is_an_error() {
    let mut e = env(&["m_pgr"], Profile::Dev);
    e.env.spec.components.insert(
        "egov-user".into(),
        ComponentOverride {
            heap: Some(q("512Mi")),
            ..Default::default()
        },
    );
    let d = err(&e, &digit());
    let x = find(&d, codes::HEAP_TOO_LARGE);
    assert!(x.message.contains("egov-user"), "{x}");
    assert!(x.hint.as_deref().unwrap().contains("-Xmx358m"), "{x}");
}

#[test]
fn cpu_is_requested_everywhere_and_capped() {
    let mut e = env(&["m_pgr"], Profile::Dev);
    e.env.spec.components.insert(
        "egov-user".into(),
        ComponentOverride {
            cpu: Some(q("2")),
            ..Default::default()
        },
    );
    let (plan, warnings) = ok(&e, &digit());
    assert_eq!(plan.components["egov-user"].cpu, "1");
    assert_eq!(plan.components["egov-user"].cpu_millicores, 1000);
    assert_eq!(plan.components["egov-user"].sources.cpu, "capped");
    assert_eq!(plan.components["egov-indexer"].cpu_millicores, 1000);
    assert_eq!(plan.components["elasticsearch-data"].cpu_millicores, 1000);
    assert_eq!(plan.components["pgr-services"].cpu, "100m");
    let capped: Vec<_> = warnings
        .0
        .iter()
        .filter(|w| w.code == codes::CPU_CAPPED)
        .collect();
    assert_eq!(capped.len(), 2, "{warnings}");
    assert!(plan.components.values().all(|c| c.cpu_millicores > 0));
}

#[test]
fn profile_replica_rules_and_autoscale() {
    let cat = digit();
    let replicas = |profile: Profile, name: &str| {
        let (plan, _) = ok(&env(&["m_pgr"], profile), &cat);
        let c = plan.components[name].clone();
        (c.replicas, c.autoscale.map(|a| (a.min, a.max)))
    };
    // egov-user: catalogue default 1; egov-mdms-service: catalogue default 2.
    assert_eq!(
        replicas(Profile::Quickstart, "egov-mdms-service"),
        (1, None)
    );
    assert_eq!(replicas(Profile::Dev, "egov-mdms-service"), (2, None));
    assert_eq!(replicas(Profile::Uat, "egov-user"), (1, None));
    assert_eq!(replicas(Profile::Uat, "egov-mdms-service"), (2, None));
    assert_eq!(replicas(Profile::Prod, "egov-user"), (2, Some((2, 4))));
    assert_eq!(
        replicas(Profile::Prod, "egov-mdms-service"),
        (2, Some((2, 4)))
    );
    assert_eq!(replicas(Profile::Prod, "digit-ui"), (2, Some((2, 4))));
    // Stores follow the table, never autoscale.
    assert_eq!(replicas(Profile::Quickstart, "kafka"), (1, None));
    assert_eq!(replicas(Profile::Dev, "kafka"), (1, None));
    assert_eq!(replicas(Profile::Uat, "kafka"), (3, None));
    assert_eq!(replicas(Profile::Uat, "elasticsearch-master"), (3, None));
    assert_eq!(replicas(Profile::Uat, "postgres"), (1, None));
    assert_eq!(replicas(Profile::Prod, "elasticsearch-data"), (3, None));
    assert_eq!(replicas(Profile::Prod, "postgres"), (1, None));
    assert_eq!(replicas(Profile::Prod, "redis"), (1, None));

    // An explicit override wins over the profile, and the range follows it.
    let mut e = env(&["m_pgr"], Profile::Prod);
    e.env.spec.components.insert(
        "egov-user".into(),
        ComponentOverride {
            replicas: Some(3),
            ..Default::default()
        },
    );
    let (plan, _) = ok(&e, &cat);
    assert_eq!(plan.components["egov-user"].replicas, 3);
    assert_eq!(
        plan.components["egov-user"].autoscale,
        Some(Autoscale { min: 3, max: 6 })
    );
}

#[test]
fn backbone_sizes_per_profile() {
    let cat = digit();
    let (qs, _) = ok(&env(&["m_pgr"], Profile::Quickstart), &cat);
    let size = |p: &Plan, n: &str| {
        let c = &p.components[n];
        (
            c.replicas,
            c.memory.clone(),
            c.heap.clone(),
            c.storage.clone(),
        )
    };
    assert_eq!(
        size(&qs, "kafka"),
        (1, "1Gi".into(), Some("-Xmx716m".into()), Some("8Gi".into()))
    );
    assert_eq!(size(&qs, "elasticsearch-data").1, "1536Mi");
    // Elasticsearch: half the memory, the rest for Lucene's file cache.
    assert_eq!(
        size(&qs, "elasticsearch-data").2.as_deref(),
        Some("-Xmx768m")
    );
    assert_eq!(size(&qs, "elasticsearch-master").1, "512Mi");
    assert_eq!(size(&qs, "postgres").1, "1Gi");
    assert_eq!(size(&qs, "redis").1, "256Mi");
    let (dev, _) = ok(&env(&["m_pgr"], Profile::Dev), &cat);
    assert_eq!(size(&dev, "kafka").1, "1536Mi");
    let (prod, _) = ok(&env(&["m_pgr"], Profile::Prod), &cat);
    assert_eq!(
        size(&prod, "kafka"),
        (
            3,
            "2Gi".into(),
            Some("-Xmx1024m".into()),
            Some("8Gi".into())
        )
    );
    assert_eq!(
        size(&prod, "elasticsearch-data"),
        (
            3,
            "2Gi".into(),
            Some("-Xmx1024m".into()),
            Some("25Gi".into())
        )
    );
    assert_eq!(size(&prod, "elasticsearch-master").1, "896Mi");
    assert_eq!(size(&prod, "elasticsearch-master").0, 3);
    assert_eq!(
        size(&prod, "postgres"),
        (1, "2Gi".into(), None, Some("10Gi".into()))
    );
    assert_eq!(prod.components["kafka"].sources.memory, "profile");
}

#[test]
fn totals_sum_requests_per_namespace_and_tier() {
    let (plan, _) = ok(&env(&["m_pgr"], Profile::Dev), &digit());
    let pods: u64 = plan
        .components
        .values()
        .map(|c| u64::from(c.replicas))
        .sum();
    assert_eq!(plan.totals.overall.pods, pods);
    let memory: u64 = plan
        .components
        .values()
        .map(|c| u64::from(c.replicas) * c.memory_bytes)
        .sum();
    assert_eq!(plan.totals.overall.memory_bytes, memory);
    let by_ns: u64 = plan.totals.by_namespace.values().map(|a| a.pods).sum();
    assert_eq!(by_ns, pods);
    let backbone = &plan.totals.by_tier["backbone"];
    assert_eq!(backbone.pods, 5);
    // postgres 10Gi + kafka 8Gi + es data 25Gi + es master 2Gi
    assert_eq!(backbone.storage_bytes, 45 * GI);
    assert_eq!(backbone.storage, "45Gi");
    assert_eq!(plan.totals.by_namespace["backbone"].pods, 5);
}

#[test]
fn namespaces_are_renamed() {
    let mut e = env(&["m_pgr"], Profile::Dev);
    e.env.spec.namespaces.insert("egov".into(), "digit".into());
    let (plan, _) = ok(&e, &digit());
    assert_eq!(plan.components["egov-user"].namespace, "digit");
    assert!(plan.totals.by_namespace.contains_key("digit"));
    assert!(!plan.totals.by_namespace.contains_key("egov"));
}

// ---------------------------------------------------------------- external stores

#[test]
fn external_backbone_runs_no_pods() {
    let mut e = env(&["m_pgr"], Profile::Prod);
    e.env.spec.backbone.insert(
        BackingStore::Postgres,
        BackboneStore {
            mode: govdeploy_spec::BackboneMode::External,
            host: Some("db.example.org".into()),
            port: None,
            database: Some("egov".into()),
        },
    );
    let (plan, _) = ok(&e, &digit());
    let pg = &plan.components["postgres"];
    assert_eq!(pg.replicas, 0);
    assert_eq!(pg.image, None);
    let ext = pg.external.as_ref().unwrap();
    assert_eq!((ext.host.as_str(), ext.port), ("db.example.org", 5432));
    assert_eq!(plan.backbone["postgres"].mode, BackboneMode::External);
    assert!(!plan.images.iter().any(|i| i.component == "postgres"));
    assert_eq!(plan.totals.by_tier["backbone"].pods, 3 + 3 + 3 + 1);
    // Still a node of the graph, ready at once, so the order shows the need.
    assert_eq!(pg.level, 0);
    assert!(
        plan.components["egov-user"]
            .needs
            .contains(&"postgres".to_string())
    );
    let text = render_text(&plan);
    assert!(text.contains("external db.example.org:5432"), "{text}");
}

#[test]
fn external_store_not_allowed_or_without_host_is_an_error() {
    let mut e = env(&["m_pgr"], Profile::Dev);
    e.env.spec.backbone.insert(
        BackingStore::Kafka,
        BackboneStore {
            mode: govdeploy_spec::BackboneMode::External,
            host: Some("kafka.example.org".into()),
            port: Some(9093),
            database: None,
        },
    );
    e.env.spec.backbone.insert(
        BackingStore::Redis,
        BackboneStore {
            mode: govdeploy_spec::BackboneMode::External,
            host: None,
            port: None,
            database: None,
        },
    );
    let d = err(&e, &digit());
    let x = find(&d, codes::EXTERNAL_NOT_ALLOWED);
    assert!(x.message.contains("kafka"), "{x}");
    assert!(find(&d, codes::EXTERNAL_HOST).message.contains("redis"));
}

// ---------------------------------------------------------------- capacity

/// One component, `replicas` pods of 1Gi / 100m.
fn tiny(replicas: u32, memory: &str) -> Catalog {
    let mut svc = comp(Tier::Core, "egov", "egovio/svc", memory, "100m", 10);
    svc.replicas = replicas;
    let mut modules = BTreeMap::new();
    modules.insert(
        "m_svc".to_string(),
        module(ModuleKind::Product, &[], &[("svc", Some("1.0"))]),
    );
    Catalog {
        api_version: "govdeploy.io/v1".into(),
        kind: "Catalog".into(),
        name: "tiny".into(),
        provenance: None,
        components: BTreeMap::from([("svc".to_string(), svc)]),
        releases: BTreeMap::from([(
            "r1".to_string(),
            Release {
                product: "Tiny".into(),
                version: "1".into(),
                spring_boot: None,
                source: None,
                modules,
            },
        )]),
        shared_config: BTreeMap::new(),
    }
}

fn tiny_env(pools: Vec<NodePool>) -> LoadedEnvironment {
    let mut e = env(&["m_svc"], Profile::Dev);
    e.env.spec.release = "r1".into();
    e.env.spec.cluster = Some(Cluster { nodes: pools });
    e
}

#[test]
fn capacity_unknown_without_cluster() {
    let (plan, _) = ok(&env(&["m_pgr"], Profile::Dev), &digit());
    assert!(matches!(plan.capacity, Capacity::Unknown { .. }));
}

#[test]
fn capacity_fits_with_usage_per_node() {
    // 16Gi node: reserve 5% = 819.2Mi; CPU 8000m - 100m.
    let (plan, _) = ok(&tiny_env(vec![pool(1, "8", "16Gi")]), &tiny(4, "1Gi"));
    let Capacity::Fits { nodes } = &plan.capacity else {
        panic!("{:?}", plan.capacity)
    };
    assert_eq!(nodes.len(), 1);
    let n = &nodes[0];
    assert_eq!(n.name, "workers-1");
    assert_eq!(n.allocatable_cpu_millicores, 7900);
    // 16384Mi - 819.2Mi, rounded down to whole MiB.
    assert_eq!(n.allocatable_memory_bytes, 15564 * MI);
    assert_eq!(n.used_memory_bytes, 4 * GI);
    assert_eq!(n.cpu_percent, 5); // 400 / 7900
    assert_eq!(n.memory_percent, 26); // 4096 / 15564
    assert_eq!(n.pods, vec!["svc/0", "svc/1", "svc/2", "svc/3"]);
}

#[test]
fn replicas_spread_across_nodes_when_they_can() {
    let (plan, _) = ok(&tiny_env(vec![pool(3, "4", "16Gi")]), &tiny(3, "1Gi"));
    let Capacity::Fits { nodes } = &plan.capacity else {
        panic!("{:?}", plan.capacity)
    };
    assert!(nodes.iter().all(|n| n.pods.len() == 1), "{nodes:?}");
}

#[test]
fn capacity_does_not_fit_reports_missing_and_extra_nodes() {
    // 2Gi node: reserve 256Mi (5% is less), allocatable 1792Mi: one 1Gi pod per node.
    let (plan, warnings) = ok(&tiny_env(vec![pool(1, "1", "2Gi")]), &tiny(4, "1Gi"));
    let Capacity::DoesNotFit {
        unplaced,
        missing_cpu_millicores,
        missing_memory_bytes,
        oversized,
        extra_nodes,
        nodes,
    } = &plan.capacity
    else {
        panic!("{:?}", plan.capacity)
    };
    assert_eq!(nodes[0].allocatable_memory_bytes, 1792 * MI);
    assert_eq!(unplaced.len(), 3);
    assert_eq!(*missing_cpu_millicores, 300);
    assert_eq!(*missing_memory_bytes, 3 * GI);
    assert!(oversized.is_empty());
    assert_eq!(
        extra_nodes,
        &Some(ExtraNodes {
            pool: "workers".into(),
            count: 3
        })
    );
    assert!(
        find(&warnings, codes::DOES_NOT_FIT)
            .message
            .contains("3 pod(s)")
    );
    let text = render_text(&plan);
    assert!(text.contains("DOES NOT FIT"), "{text}");
    assert!(text.contains("missing cpu 300m, memory 3Gi"), "{text}");
    assert!(
        text.contains("add 3 more node(s) of pool workers"),
        "{text}"
    );
}

#[test]
fn extra_node_count_is_minimal_for_a_real_plan() {
    let cat = digit();
    let with = |count: u32| {
        let mut e = env(&["m_pgr", "m_trade-license"], Profile::Prod);
        e.env.spec.cluster = Some(Cluster {
            nodes: vec![pool(count, "4", "16Gi")],
        });
        ok(&e, &cat).0.capacity
    };
    let Capacity::DoesNotFit {
        extra_nodes: Some(extra),
        ..
    } = with(1)
    else {
        panic!("one node should not fit a prod plan")
    };
    assert!(matches!(with(1 + extra.count), Capacity::Fits { .. }));
    assert!(matches!(with(extra.count), Capacity::DoesNotFit { .. }));
}

#[test]
fn a_pod_larger_than_any_node_is_flagged() {
    let (plan, warnings) = ok(&tiny_env(vec![pool(2, "1", "1Gi")]), &tiny(1, "1Gi"));
    let Capacity::DoesNotFit {
        oversized,
        extra_nodes,
        ..
    } = &plan.capacity
    else {
        panic!("{:?}", plan.capacity)
    };
    assert_eq!(oversized.len(), 1);
    assert_eq!(oversized[0].component, "svc");
    assert_eq!(extra_nodes, &None);
    assert!(
        find(&warnings, codes::POD_TOO_LARGE)
            .message
            .contains("svc")
    );
}

// ---------------------------------------------------------------- images

#[test]
fn images_carry_release_tags_and_migrations() {
    let (plan, _) = ok(&env(&["m_pgr"], Profile::Dev), &digit());
    let user = &plan.components["egov-user"];
    assert_eq!(user.image.as_deref(), Some("egovio/egov-user:v2.9-aaa"));
    assert_eq!(
        user.migration_image.as_deref(),
        Some("egovio/egov-user-db:v2.9-aaa")
    );
    assert_eq!(
        plan.components["kafka"].image.as_deref(),
        Some("docker.io/bitnami/kafka:3.6.1")
    );
    let list = image_list(&plan);
    let mut sorted = list.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(list, sorted);
    // Both ES components share one image: listed once.
    assert_eq!(
        list.iter()
            .filter(|i| i.starts_with("docker.elastic.co/"))
            .count(),
        1
    );
    let kinds: BTreeSet<ImageKind> = plan.images.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [
            ImageKind::Service,
            ImageKind::Migration,
            ImageKind::Backbone
        ]
        .into()
    );
}

#[test]
fn tag_override_wins() {
    let mut e = env(&["m_pgr"], Profile::Dev);
    e.env.spec.components.insert(
        "egov-user".into(),
        ComponentOverride {
            tag: Some("hotfix-1".into()),
            ..Default::default()
        },
    );
    let (plan, _) = ok(&e, &digit());
    assert_eq!(
        plan.components["egov-user"].image.as_deref(),
        Some("egovio/egov-user:hotfix-1")
    );
    assert_eq!(
        plan.components["egov-user"].migration_image.as_deref(),
        Some("egovio/egov-user-db:hotfix-1")
    );
}

#[test]
fn release_can_pin_a_migration_tag_apart() {
    let mut cat = digit();
    cat.releases
        .get_mut("digit-v2.9")
        .unwrap()
        .modules
        .get_mut("core")
        .unwrap()
        .migration_tags
        .insert("egov-user".into(), "v2.9-db1".into());
    let (plan, _) = ok(&env(&["m_pgr"], Profile::Dev), &cat);
    let user = &plan.components["egov-user"];
    assert_eq!(user.image.as_deref(), Some("egovio/egov-user:v2.9-aaa"));
    assert_eq!(
        user.migration_image.as_deref(),
        Some("egovio/egov-user-db:v2.9-db1")
    );
    let migration = plan
        .images
        .iter()
        .find(|i| i.kind == ImageKind::Migration && i.component == "egov-user")
        .unwrap();
    assert_eq!(migration.tag, "v2.9-db1");
}

#[test]
fn mirror_rewrites_every_reference() {
    let mut e = env(&["m_pgr"], Profile::Dev);
    e.env.spec.registry = Some(Registry {
        mirror: Some("registry.local:5000".into()),
        pull_secret: None,
    });
    let (plan, _) = ok(&e, &digit());
    assert!(
        image_list(&plan)
            .iter()
            .all(|i| i.starts_with("registry.local:5000/"))
    );
    assert_eq!(
        plan.components["egov-user"].image.as_deref(),
        Some("registry.local:5000/docker.io/egovio/egov-user:v2.9-aaa")
    );
    assert_eq!(
        plan.components["redis"].image.as_deref(),
        Some("registry.local:5000/docker.io/library/redis:7.2")
    );
    assert_eq!(
        plan.components["elasticsearch-data"].image.as_deref(),
        Some("registry.local:5000/docker.elastic.co/elasticsearch/elasticsearch:7.17.15")
    );
    let user = plan
        .images
        .iter()
        .find(|i| i.component == "egov-user" && i.kind == ImageKind::Service)
        .unwrap();
    assert_eq!(user.source, "egovio/egov-user:v2.9-aaa");
    assert_eq!(
        images::mirror_reference("mirror", "egovio/x:1"),
        "mirror/docker.io/egovio/x:1"
    );
    assert_eq!(
        images::mirror_reference("mirror", "quay.io/a/b:2"),
        "mirror/quay.io/a/b:2"
    );
    assert_eq!(
        images::mirror_reference("mirror", "redis:7"),
        "mirror/docker.io/library/redis:7"
    );
}

// ---------------------------------------------------------------- outputs

#[test]
fn same_inputs_give_identical_json() {
    let cat = digit();
    let a = to_json(&ok(&env(&["m_pgr", "m_trade-license"], Profile::Prod), &cat).0);
    let b = to_json(&ok(&env(&["m_pgr", "m_trade-license"], Profile::Prod), &cat).0);
    assert_eq!(a, b);
    // Selection order does not matter either.
    let c = to_json(&ok(&env(&["m_trade-license", "m_pgr"], Profile::Prod), &cat).0);
    assert_eq!(a, c);
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "environment",
            "catalog",
            "release",
            "product",
            "version",
            "profile",
            "domain",
            "modules",
            "backbone",
            "components",
            "edges",
            "groups",
            "levels",
            "criticalPath",
            "totals",
            "capacity",
            "images",
            "warnings"
        ]
    );
    assert_eq!(v["profile"], "prod");
    assert_eq!(v["capacity"]["verdict"], "unknown");
    assert_eq!(v["components"]["egov-user"]["heap"], "-Xmx358m");
}

#[test]
fn text_summary_shows_the_plan() {
    let mut e = env(&["m_pgr", "m_trade-license"], Profile::Dev);
    e.env.spec.cluster = Some(Cluster {
        nodes: vec![pool(4, "4", "16Gi")],
    });
    let (plan, _) = ok(&e, &digit());
    let text = render_text(&plan);
    for needle in [
        "Plan for environment demo",
        "release:  digit-v2.9 (DIGIT 2.9)",
        "profile:  dev",
        "m_pgr",
        "required by m_pgr -> business",
        "{tl-calculator, tl-services}",
        // digit-ui (15 s) waits for zuul, so the path grows by it.
        "Critical path: 260 s",
        "kafka (60 s) -> egov-workflow-v2 (70 s) -> {tl-calculator, tl-services} (75 s) -> zuul (40 s) -> digit-ui (15 s)",
        "tier business       1 pod(s), cpu 100m, memory 512Mi, storage 0\n",
        "Totals:",
        "Capacity: fits on 4 node(s)",
        "workers-1",
        "Images:",
        "warning[W-PLAN-MISSING-CALLEE]",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains('\u{1b}'));
    assert!(text.lines().all(|l| l == l.trim_end()));
    assert_eq!(text, render_text(&plan));
}

#[test]
fn dot_and_mermaid_show_groups_and_edges() {
    let (plan, _) = ok(&env(&["m_trade-license"], Profile::Dev), &digit());
    let dot = to_dot(&plan);
    assert!(dot.starts_with("digraph \"demo\" {"));
    assert!(dot.contains("subgraph \"cluster_"));
    assert!(dot.contains("label=\"{tl-calculator, tl-services}\""));
    assert!(dot.contains("\"tl-services\" -> \"tl-calculator\";"));
    assert!(dot.contains("\"zuul\" -> \"tl-services\" [style=dashed];"));
    assert!(dot.trim_end().ends_with('}'));
    let mermaid = to_mermaid(&plan);
    assert!(mermaid.starts_with("flowchart RL\n"));
    assert!(mermaid.contains("[\"{tl-calculator, tl-services}\"]"));
    assert!(mermaid.contains("\"tl-services\""));
    assert!(mermaid.contains(" -.-> "));
    assert_eq!(to_dot(&plan), dot);
}

#[test]
fn no_gateway_is_a_warning() {
    let mut cat = digit();
    cat.releases
        .get_mut("digit-v2.9")
        .unwrap()
        .modules
        .get_mut("core")
        .unwrap()
        .components
        .remove("zuul");
    let (plan, warnings) = ok(&env(&["m_trade-license"], Profile::Dev), &cat);
    assert!(!plan.components.contains_key("zuul"));
    assert!(codes_of(&warnings).contains(&codes::NO_GATEWAY));
}

#[test]
fn absurd_replica_counts_stay_bounded() {
    let mut e = tiny_env(vec![pool(3, "4", "16Gi")]);
    e.env.spec.components.insert(
        "svc".into(),
        ComponentOverride {
            replicas: Some(u32::MAX),
            ..Default::default()
        },
    );
    let (plan, _) = ok(&e, &tiny(1, "1Gi"));
    assert_eq!(plan.totals.overall.pods, u64::from(u32::MAX));
    assert!(
        matches!(plan.capacity, Capacity::Unknown { .. }),
        "{:?}",
        plan.capacity
    );
    assert_eq!(plan.components["svc"].autoscale, None);
}

#[test]
fn malformed_quantities_are_errors_not_panics() {
    let mut cat = tiny(1, "lots");
    cat.components.get_mut("svc").unwrap().resources.cpu = "x".into();
    let mut e = tiny_env(vec![NodePool {
        name: "workers".into(),
        count: 1,
        cpu: q("4 cores"),
        memory: q("16Gi"),
    }]);
    e.env.spec.components.insert(
        "svc".into(),
        ComponentOverride {
            heap: Some(q("big")),
            ..Default::default()
        },
    );
    let d = err(&e, &cat);
    let bad = d.0.iter().filter(|x| x.code == codes::BAD_QUANTITY).count();
    assert_eq!(bad, 4, "{d}");
}
