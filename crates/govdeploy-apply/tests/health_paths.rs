//! Health paths the rendered examples never produce, end to end through the engine's public
//! API against the simulated API server: a CRD gating its custom resources (discovery learns
//! the new kind), a PVC of a `WaitForFirstConsumer` class, a DaemonSet rollout, and a
//! field-manager conflict (reported with the fields and the other manager; taken over with
//! `force_conflicts`).

use std::time::Duration;

use govdeploy_apply::graph::NodeKind;
use govdeploy_apply::{
    Cluster, ConnectOptions, Event, Graph, Node, NodeState, Observer, Options, Outcome, execute,
};
use govdeploy_render::Object;
use govdeploy_testkit::{ObjectRef, SimConfig, SimHandle, SimServer};
use http::Method;
use serde_json::{Value, json};

/// Events of a run, as their JSON form.
#[derive(Default)]
struct Recorder(Vec<Value>);

impl Observer for Recorder {
    fn event(&mut self, event: &Event) {
        self.0
            .push(serde_json::to_value(event).unwrap_or(Value::Null));
    }
}

impl Recorder {
    /// Elapsed seconds of the first `kind` event of `node`.
    fn at(&self, kind: &str, node: &str) -> f64 {
        self.0
            .iter()
            .find(|e| e["event"] == kind && e["node"] == node)
            .and_then(|e| e["elapsed"].as_f64())
            .unwrap_or_else(|| panic!("no {kind} event for {node}: {:#?}", self.0))
    }
}

struct Sim {
    handle: SimHandle,
    dir: tempfile::TempDir,
}

impl Sim {
    fn start() -> Sim {
        let handle = SimServer::start(
            SimConfig::default()
                .time_scale(10.0)
                .default_ready_after(Duration::from_secs(3)),
        )
        .expect("simulator starts");
        let dir = tempfile::tempdir().expect("tempdir");
        handle
            .write_kubeconfig(&dir.path().join("kubeconfig"), "sim")
            .expect("kubeconfig");
        Sim { handle, dir }
    }

    async fn cluster(&self) -> Cluster {
        Cluster::connect(&ConnectOptions {
            kubeconfig: Some(self.dir.path().join("kubeconfig")),
            ..ConnectOptions::default()
        })
        .await
        .expect("connects")
    }
}

fn object(body: Value) -> Object {
    let field = |p: &str| body.pointer(p).and_then(Value::as_str).map(str::to_string);
    Object {
        api_version: field("/apiVersion").expect("apiVersion"),
        kind: field("/kind").expect("kind"),
        namespace: field("/metadata/namespace"),
        name: field("/metadata/name").expect("name"),
        body,
    }
}

/// A graph from `(name, kind, needs, objects)`, levels computed.
fn graph(nodes: Vec<(&str, NodeKind, Vec<usize>, Vec<Value>)>) -> Graph {
    let mut graph = Graph::default();
    for (id, (name, kind, needs, objects)) in nodes.into_iter().enumerate() {
        let level = needs
            .iter()
            .map(|&n: &usize| graph.nodes[n].level + 1)
            .max()
            .unwrap_or(0);
        graph.nodes.push(Node {
            id,
            name: name.to_string(),
            kind,
            component: matches!(kind, NodeKind::Component).then(|| name.to_string()),
            objects: objects.into_iter().map(object).collect(),
            needs,
            level,
            expected_seconds: 0,
        });
    }
    graph
}

fn namespace() -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
}

fn options() -> Options {
    Options {
        poll_interval: Duration::from_millis(100),
        grace: Duration::from_secs(2),
        timeout: Some(Duration::from_secs(60)),
        ..Options::default()
    }
}

async fn run(cluster: &Cluster, graph: Graph, options: Options) -> (Outcome, Recorder) {
    let mut recorder = Recorder::default();
    let outcome = execute(
        cluster,
        graph,
        options,
        &mut recorder,
        std::future::pending(),
    )
    .await;
    (outcome, recorder)
}

fn state(outcome: &Outcome, node: &str) -> NodeState {
    outcome
        .nodes
        .iter()
        .find(|n| n.name == node)
        .map(|n| n.state)
        .unwrap_or_else(|| panic!("no node {node}"))
}

fn deployment(name: &str, replicas: u32, volume_claim: Option<&str>) -> Value {
    let mut d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "demo"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}
            }
        }
    });
    if let Some(claim) = volume_claim {
        d["spec"]["template"]["spec"]["volumes"] =
            json!([{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]);
        d["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
            json!([{"name": "data", "mountPath": "/data"}]);
    }
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_gates_its_custom_resources_and_discovery_learns_the_kind() {
    let sim = Sim::start();
    let cluster = sim.cluster().await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    });
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "demo"}, "spec": {"size": 3}});
    let (outcome, events) = run(
        &cluster,
        graph(vec![
            (
                "namespaces",
                NodeKind::Namespaces,
                vec![],
                vec![namespace()],
            ),
            ("crds", NodeKind::Crds, vec![0], vec![crd]),
            ("widgets", NodeKind::Component, vec![1], vec![widget]),
        ]),
        options(),
    )
    .await;
    assert!(outcome.ok, "{outcome:#?}");
    // The custom resource was written only after its CRD was Established.
    assert!(events.at("node-started", "widgets") >= events.at("node-ready", "crds"));
    let crd_live = sim
        .handle
        .get(&ObjectRef::new(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "widgets.example.com",
        ))
        .expect("CRD stored");
    assert!(
        crd_live["status"]["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True"),
        "{crd_live:#}"
    );
    let stored = sim
        .handle
        .get(&ObjectRef::new(
            "example.com/v1",
            "Widget",
            Some("demo"),
            "w1",
        ))
        .expect("the custom resource is stored");
    assert_eq!(stored["spec"]["size"], 3);
    assert!(
        outcome
            .inventory
            .iter()
            .any(|e| e.kind == "Widget" && e.group == "example.com" && e.uid.is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_for_first_consumer_claim_lets_its_consumer_start_then_binds() {
    let sim = Sim::start();
    let cluster = sim.cluster().await;
    let claim = |name: &str, class: &str| {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}})
    };
    let (outcome, events) = run(
        &cluster,
        graph(vec![
            (
                "namespaces",
                NodeKind::Namespaces,
                vec![],
                vec![namespace()],
            ),
            (
                "data",
                NodeKind::Component,
                vec![0],
                vec![claim("late", "local-wait"), claim("now", "standard")],
            ),
            (
                "consumer",
                NodeKind::Component,
                vec![1],
                vec![deployment("consumer", 1, Some("late"))],
            ),
        ]),
        options(),
    )
    .await;
    assert!(outcome.ok, "{outcome:#?}");
    let data_ready = events.at("node-ready", "data");
    assert!(events.at("node-started", "consumer") >= data_ready);
    // `data` was healthy while `late` was still Pending: nothing consumed it yet.
    let waits: Vec<&Value> = events
        .0
        .iter()
        .filter(|e| e["event"] == "node-waiting" && e["node"] == "data")
        .collect();
    assert!(
        waits
            .iter()
            .all(|e| !e["message"].as_str().unwrap_or("").contains("late")),
        "a WaitForFirstConsumer claim is not waited for: {waits:#?}"
    );
    let pvc = |name: &str| {
        sim.handle
            .get(&ObjectRef::new(
                "v1",
                "PersistentVolumeClaim",
                Some("demo"),
                name,
            ))
            .expect("claim stored")
    };
    assert_eq!(pvc("now")["status"]["phase"], "Bound");
    // The consumer's pod exists now, so the claim binds.
    assert!(
        sim.handle.wait_until(Duration::from_secs(10), |_| {
            pvc("late")["status"]["phase"] == "Bound"
        }),
        "{:#}",
        pvc("late")
    );
    let wffc_events = sim.handle.events_for(&ObjectRef::new(
        "v1",
        "PersistentVolumeClaim",
        Some("demo"),
        "late",
    ));
    assert!(
        wffc_events
            .iter()
            .any(|e| e["reason"] == "WaitForFirstConsumer"),
        "{wffc_events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemonset_is_ready_when_every_node_runs_the_new_pod() {
    let sim = Sim::start();
    let cluster = sim.cluster().await;
    let ds = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "demo"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [{"name": "agent", "image": "fluent-bit:3"}]}}
        }
    });
    let (outcome, events) = run(
        &cluster,
        graph(vec![
            (
                "namespaces",
                NodeKind::Namespaces,
                vec![],
                vec![namespace()],
            ),
            ("agent", NodeKind::Component, vec![0], vec![ds]),
        ]),
        options(),
    )
    .await;
    assert!(outcome.ok, "{outcome:#?}");
    // Pods are ready after 3 simulated seconds = 0.3 s at 10x: not healthy on acceptance.
    let took = events.at("node-ready", "agent") - events.at("node-started", "agent");
    assert!(took >= 0.25, "ready after {took}s");
    assert!(
        events
            .0
            .iter()
            .any(|e| e["event"] == "node-waiting" && e["node"] == "agent"),
        "the rollout was waited for"
    );
    let live = sim
        .handle
        .get(&ObjectRef::new(
            "apps/v1",
            "DaemonSet",
            Some("demo"),
            "agent",
        ))
        .expect("stored");
    let status = &live["status"];
    assert_eq!(status["desiredNumberScheduled"], 3, "{live:#}");
    assert_eq!(status["numberAvailable"], 3, "{live:#}");
    assert_eq!(status["updatedNumberScheduled"], 3, "{live:#}");
    let pods = sim.handle.list("v1", "Pod", Some("demo"));
    assert_eq!(pods.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_owned_by_another_manager_fails_with_the_fields_and_force_takes_it_over() {
    let sim = Sim::start();
    let cluster = sim.cluster().await;
    let ns = cluster
        .apply("/api/v1/namespaces/demo", &namespace(), false)
        .await
        .expect("namespace");
    assert!(ns.status.is_success());
    // Someone scaled the Deployment with their own field manager.
    let path = "/apis/apps/v1/namespaces/demo/deployments/web";
    let theirs = serde_json::to_vec(&deployment("web", 5, None)).expect("json");
    let reply = cluster
        .send(
            Method::PATCH,
            &format!("{path}?fieldManager=kubectl-edit"),
            Some(("application/apply-patch+yaml", theirs)),
        )
        .await
        .expect("their apply");
    assert!(reply.status.is_success());
    let ours = || {
        graph(vec![
            (
                "namespaces",
                NodeKind::Namespaces,
                vec![],
                vec![namespace()],
            ),
            (
                "web",
                NodeKind::Component,
                vec![0],
                vec![deployment("web", 2, None)],
            ),
        ])
    };

    let (outcome, _) = run(&cluster, ours(), options()).await;
    assert!(!outcome.ok);
    assert_eq!(state(&outcome, "web"), NodeState::Failed);
    let report = outcome
        .failures
        .iter()
        .find(|f| f.node == "web")
        .expect("a report for web");
    assert_eq!(report.reason, "Conflict", "{report:#?}");
    assert!(
        report.message.contains(".spec.replicas") && report.message.contains("kubectl-edit"),
        "{}",
        report.message
    );
    assert!(
        report
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("--force-conflicts")),
        "{report:#?}"
    );
    let web = ObjectRef::new("apps/v1", "Deployment", Some("demo"), "web");
    assert_eq!(sim.handle.get(&web).expect("stored")["spec"]["replicas"], 5);

    let (outcome, _) = run(
        &cluster,
        ours(),
        Options {
            force_conflicts: true,
            ..options()
        },
    )
    .await;
    assert!(outcome.ok, "{outcome:#?}");
    let live = sim.handle.get(&web).expect("stored");
    assert_eq!(live["spec"]["replicas"], 2);
    let replicas_owner: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter(|m| m.pointer("/fieldsV1/f:spec/f:replicas").is_some())
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(replicas_owner, ["govdeploy"], "{live:#}");
}
