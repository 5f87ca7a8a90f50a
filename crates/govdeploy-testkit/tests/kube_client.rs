//! The simulator driven by kube-rs 5, as the apply engine drives it.

use futures_util::StreamExt;
use govdeploy_testkit::{Behaviour, BehaviourRule, ObjectRef, SimConfig, SimServer};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, WatchEvent, WatchParams,
};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use serde_json::json;
use std::time::Duration;

fn client(url: &str) -> kube::Client {
    let config = kube::Config::new(url.parse().expect("simulator URL"));
    kube::Client::try_from(config).expect("client")
}

fn deployment(replicas: i32, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]}}
        }
    }))
    .expect("deployment")
}

async fn wait_available(api: &Api<Deployment>, name: &str) -> Deployment {
    for _ in 0..500 {
        let d = api.get(name).await.expect("get");
        let status = d.status.clone().unwrap_or_default();
        let done = status.observed_generation == d.metadata.generation
            && status.available_replicas == d.spec.as_ref().and_then(|s| s.replicas)
            && status.updated_replicas == status.replicas;
        if done {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("deployment {name} never became available");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_apply_list_watch_with_kube() {
    let sim = SimServer::start(SimConfig::default().time_scale(100.0)).expect("start");
    let client = client(sim.url());

    // Aggregated and legacy discovery both resolve the kinds the engine uses, with their scope.
    for discovery in [
        Discovery::new(client.clone())
            .run_aggregated()
            .await
            .expect("aggregated discovery"),
        Discovery::new(client.clone())
            .run()
            .await
            .expect("legacy discovery"),
    ] {
        for group in [
            "apps",
            "batch",
            "networking.k8s.io",
            "policy",
            "autoscaling",
            "rbac.authorization.k8s.io",
            "coordination.k8s.io",
            "events.k8s.io",
            "apiextensions.k8s.io",
        ] {
            assert!(discovery.has_group(group), "group {group} missing");
        }
        let (ar, caps) = discovery
            .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
            .expect("deployments");
        assert_eq!(ar.plural, "deployments");
        assert_eq!(caps.scope, Scope::Namespaced);
        let (_, caps) = discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRole",
            ))
            .expect("clusterroles");
        assert_eq!(caps.scope, Scope::Cluster);
        let (ar, _) = discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                "autoscaling",
                "v2",
                "HorizontalPodAutoscaler",
            ))
            .expect("hpa");
        assert_eq!(ar.plural, "horizontalpodautoscalers");
    }

    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let ssa = PatchParams::apply("govdeploy").validation_strict();
    let first = api
        .patch("web", &ssa, &Patch::Apply(&deployment(2, "nginx:1.27")))
        .await
        .expect("apply");
    assert_eq!(first.metadata.generation, Some(1));
    let managed = first.metadata.managed_fields.clone().unwrap_or_default();
    assert_eq!(managed.len(), 1);
    assert_eq!(managed[0].manager.as_deref(), Some("govdeploy"));
    assert_eq!(managed[0].operation.as_deref(), Some("Apply"));

    // A no-op apply changes neither resourceVersion nor generation, and is not a write. The
    // controller's status updates change resourceVersion as on a real server, so compare with
    // the object once its rollout has settled.
    let mut settled = None;
    for _ in 0..200 {
        let live = api.get("web").await.expect("get");
        let done = live.status.as_ref().and_then(|s| s.available_replicas) == Some(2);
        if done && settled.as_ref() == Some(&live.metadata.resource_version) {
            break;
        }
        settled = done.then_some(live.metadata.resource_version);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let settled = settled.expect("the rollout settles");
    let again = api
        .patch("web", &ssa, &Patch::Apply(&deployment(2, "nginx:1.27")))
        .await
        .expect("re-apply");
    assert_eq!(again.metadata.resource_version, settled);
    assert_eq!(again.metadata.generation, Some(1));
    let web = ObjectRef::new("apps/v1", "Deployment", Some("default"), "web");
    assert_eq!(sim.stats().writes_to(&web), 1);

    let ready = wait_available(&api, "web").await;
    assert_eq!(
        ready.status.as_ref().and_then(|s| s.ready_replicas),
        Some(2)
    );
    let conditions = ready.status.and_then(|s| s.conditions).unwrap_or_default();
    let progressing = conditions
        .iter()
        .find(|c| c.type_ == "Progressing")
        .expect("Progressing");
    assert_eq!(
        progressing.reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );

    // Label selectors on lists.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    assert_eq!(
        pods.list(&ListParams::default().labels("app=web"))
            .await
            .expect("list")
            .items
            .len(),
        2
    );
    assert_eq!(
        pods.list(&ListParams::default().labels("app in (web),tier notin (x)"))
            .await
            .expect("list")
            .items
            .len(),
        2
    );
    assert_eq!(
        api.list(&ListParams::default().labels("tier=back"))
            .await
            .expect("list")
            .items
            .len(),
        0
    );
    assert_eq!(
        api.list(&ListParams::default().labels("tier"))
            .await
            .expect("list")
            .items
            .len(),
        1
    );

    // Watch from the current resourceVersion sees the next change.
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut stream = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .expect("watch")
        .boxed();
    api.patch("web", &ssa, &Patch::Apply(&deployment(3, "nginx:1.27")))
        .await
        .expect("scale");
    let mut saw = None;
    while let Some(ev) = stream.next().await {
        if let Ok(WatchEvent::Modified(d)) = ev {
            saw = d.spec.and_then(|s| s.replicas);
            break;
        }
    }
    assert_eq!(saw, Some(3));
    // Scaling is not a new rollout; a new image is.
    wait_available(&api, "web").await;
    assert_eq!(sim.stats().rollouts_of(&web), 1);
    api.patch("web", &ssa, &Patch::Apply(&deployment(3, "nginx:1.28")))
        .await
        .expect("new image");
    let rolled = wait_available(&api, "web").await;
    assert_eq!(rolled.metadata.generation, Some(3));
    assert_eq!(sim.stats().rollouts_of(&web), 2);

    // Another manager changing an owned field conflicts, with the real Status body.
    let other = PatchParams::apply("kubectl-edit-like");
    let err = api
        .patch("web", &other, &Patch::Apply(&deployment(5, "nginx:1.28")))
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409);
            assert_eq!(status.reason, "Conflict");
            assert!(
                status
                    .message
                    .contains("conflict with \"govdeploy\" using apps/v1: .spec.replicas"),
                "{}",
                status.message
            );
        }
        other => panic!("expected a 409, got {other:?}"),
    }
    let forced = api
        .patch(
            "web",
            &other.clone().force(),
            &Patch::Apply(&deployment(5, "nginx:1.28")),
        )
        .await
        .expect("force");
    assert_eq!(forced.spec.and_then(|s| s.replicas), Some(5));

    // Dry run returns the result without storing it.
    let dry = api
        .patch(
            "web",
            &PatchParams::apply("govdeploy").force().dry_run(),
            &Patch::Apply(&deployment(1, "nginx:1.28")),
        )
        .await
        .expect("dry run");
    assert_eq!(dry.spec.and_then(|s| s.replicas), Some(1));
    assert_eq!(
        api.get("web")
            .await
            .expect("get")
            .spec
            .and_then(|s| s.replicas),
        Some(5)
    );

    // Unknown fields are refused under Strict.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}, "dta": {}});
    let err = cms
        .patch("c", &ssa, &Patch::Apply(&bad))
        .await
        .expect_err("strict");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 400 && s.message.contains(".dta: field not declared in schema")),
        "{err:?}"
    );

    // Deleting the Deployment removes its ReplicaSets and pods (garbage collection).
    api.delete("web", &DeleteParams::background())
        .await
        .expect("delete");
    for _ in 0..200 {
        if pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .expect("list")
            .items
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        pods.list(&ListParams::default().labels("app=web"))
            .await
            .expect("list")
            .items
            .is_empty()
    );
    let err = api.get("web").await.expect_err("gone");
    assert!(matches!(err, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_logs_and_events_with_kube() {
    let sim = SimServer::start(
        SimConfig::default()
            .time_scale(200.0)
            .behaviour(
                BehaviourRule::image(
                    "broken",
                    Behaviour::CrashLoopBackOff {
                        exit_code: 3,
                        run_for: Duration::from_secs(2),
                    },
                )
                .logs(["connecting to db", "FATAL: password authentication failed"]),
            )
            .behaviour(BehaviourRule::image("missing", Behaviour::ImagePullBackOff)),
    )
    .expect("start");
    let client = client(sim.url());
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let ssa = PatchParams::apply("govdeploy");
    api.patch(
        "web",
        &ssa,
        &Patch::Apply(&deployment(1, "registry/broken:1")),
    )
    .await
    .expect("apply");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut restarts = 0;
    let mut pod_name = String::new();
    for _ in 0..500 {
        if let Some(p) = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .expect("list")
            .items
            .into_iter()
            .next()
        {
            let cs = p
                .status
                .and_then(|s| s.container_statuses)
                .unwrap_or_default();
            if let Some(c) = cs.first() {
                restarts = c.restart_count;
                let waiting = c
                    .state
                    .as_ref()
                    .and_then(|s| s.waiting.as_ref())
                    .and_then(|w| w.reason.clone());
                pod_name = p.metadata.name.unwrap_or_default();
                if restarts >= 2 && waiting.as_deref() == Some("CrashLoopBackOff") {
                    let last = c
                        .last_state
                        .as_ref()
                        .and_then(|s| s.terminated.as_ref())
                        .expect("lastState.terminated");
                    assert_eq!(last.exit_code, 3);
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(restarts >= 2, "restartCount grows ({restarts})");
    let logs = pods
        .logs(
            &pod_name,
            &LogParams {
                previous: true,
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .expect("logs");
    assert_eq!(logs, "FATAL: password authentication failed\n");
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let evs = events
        .list(
            &ListParams::default().fields(&format!("involvedObject.name={pod_name},type=Warning")),
        )
        .await
        .expect("events");
    assert!(
        evs.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("BackOff")),
        "{:?}",
        evs.items
    );

    // A bad image: ErrImagePull/ImagePullBackOff and a "Failed to pull image" event.
    api.patch(
        "web",
        &ssa,
        &Patch::Apply(&deployment(1, "registry/missing:1")),
    )
    .await
    .expect("apply");
    let mut seen = false;
    for _ in 0..500 {
        let evs = events
            .list(&ListParams::default().fields("reason=Failed"))
            .await
            .expect("events");
        if evs.items.iter().any(|e| {
            e.message
                .as_deref()
                .is_some_and(|m| m.starts_with("Failed to pull image \"registry/missing:1\""))
        }) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen, "Failed to pull image event");
}
