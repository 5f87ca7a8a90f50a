//! Release records, the lock, diff and prune against the simulated API server.

use std::time::{Duration, Instant};

use govdeploy_release::diff::{Change, diff_objects};
use govdeploy_release::prune::{self, prune_set};
use govdeploy_release::resolver::Resolver;
use govdeploy_release::{
    Acquired, EnvLock, InventoryItem, LockOptions, Provenance, ReleaseError, ReleaseRecord,
    ReleaseStatus, ReleaseStore,
};
use govdeploy_render::Object;
use govdeploy_testkit::{ObjectRef, SimConfig, SimHandle, SimServer};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

const SECRET_VALUE: &str = "pw-Zq8!known-secret";

async fn start() -> (SimHandle, kube::Client) {
    let sim = SimServer::start(SimConfig::default().time_scale(50.0)).expect("simulator starts");
    let client = govdeploy_release::client::connect_yaml(&sim.kubeconfig_yaml("sim"), None)
        .await
        .expect("client");
    (sim, client)
}

fn provenance() -> Provenance {
    Provenance {
        tool_version: "0.1.0".into(),
        by: "ci@test".into(),
        started_at: "2026-12-01T12:00:00Z".into(),
        finished_at: None,
    }
}

fn object(api_version: &str, kind: &str, name: &str, body: Value) -> Object {
    Object {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: body["metadata"]["namespace"].as_str().map(str::to_string),
        name: name.into(),
        body,
    }
}

fn our_labels(component: &str) -> Value {
    json!({"app.kubernetes.io/managed-by": "govdeploy", "govdeploy.io/environment": "prod",
           "govdeploy.io/module": "core", "govdeploy.io/component": component})
}

/// Noise that compresses badly: base64 of a xorshift stream.
fn incompressible(bytes: usize) -> String {
    use base64::Engine;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let raw: Vec<u8> = (0..bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn secret_object() -> Object {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(SECRET_VALUE);
    object(
        "v1",
        "Secret",
        "db",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default", "labels": our_labels("postgres")},
               "type": "Opaque", "data": {"password": encoded}}),
    )
}

fn assert_no_secret_anywhere(sim: &SimHandle, text: &str) {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(SECRET_VALUE);
    assert!(!text.contains(SECRET_VALUE) && !text.contains(&encoded));
    // the release Secrets themselves (compressed), decoded
    for s in sim.list("v1", "Secret", Some("default")) {
        if s["type"] == "govdeploy.io/release.v1" {
            let dumped = s.to_string();
            assert!(!dumped.contains(SECRET_VALUE) && !dumped.contains(&encoded));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_larger_than_3_mib_compressed_is_chunked_and_verified() {
    let (sim, client) = start().await;
    let store = ReleaseStore::new(client.clone(), "default", "prod");
    let big = object(
        "v1",
        "ConfigMap",
        "large-config",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "large-config", "namespace": "default", "labels": our_labels("egov-mdms")},
               "data": {"blob": incompressible(3 * 1024 * 1024)}}),
    );
    let secret = secret_object();
    let mut record = ReleaseRecord::starting("prod", 1, provenance(), &[&big, &secret]);
    record.status = ReleaseStatus::Succeeded;
    let saved = store.save(&record).await.expect("saved");
    assert!(saved.compressed_bytes > 3 * 1024 * 1024, "{saved:?}");
    assert_eq!(saved.chunks, saved.compressed_bytes.div_ceil(512 * 1024));
    let chunks: Vec<Value> = sim
        .list("v1", "Secret", Some("default"))
        .into_iter()
        .filter(|s| s["type"] == "govdeploy.io/release.v1")
        .collect();
    assert_eq!(chunks.len(), saved.chunks);
    for c in &chunks {
        let size = c["data"]["release"].as_str().map_or(0, str::len);
        assert!(size < 1024 * 1024, "a chunk is {size} bytes of base64");
        assert_eq!(
            c["metadata"]["labels"]["govdeploy.io/release-revision"],
            "1"
        );
    }
    let back = store.load(1).await.expect("loaded");
    assert_eq!(back, record);
    assert_no_secret_anywhere(&sim, &serde_json::to_string(&back).unwrap_or_default());

    // A damaged chunk is found by the checksum.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let patch = json!({"data": {"release": "AAAA"}});
    secrets
        .patch(
            "govdeploy-release.prod.v1.c2",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .expect("patched");
    match store.load(1).await {
        Err(ReleaseError::Corrupt { problem, .. }) => {
            assert!(problem.contains("checksum"), "{problem}")
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    // Rewritten shorter: chunks beyond the new count are removed.
    let small = ReleaseRecord::starting("prod", 1, provenance(), &[&secret]);
    let saved = store.save(&small).await.expect("saved");
    assert_eq!(saved.chunks, 1);
    let left = sim
        .list("v1", "Secret", Some("default"))
        .into_iter()
        .filter(|s| s["type"] == "govdeploy.io/release.v1")
        .count();
    assert_eq!(left, 1);
    assert_eq!(store.load(1).await.expect("loaded"), small);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_keeps_the_newest_revisions_and_the_last_successful_one() {
    let (_sim, client) = start().await;
    let store = ReleaseStore::new(client, "default", "prod").keep(3);
    assert_eq!(store.next_revision().await.expect("next"), 1);
    for revision in 1..=6 {
        let mut r = ReleaseRecord::starting("prod", revision, provenance(), &[]);
        r.status = if revision == 1 {
            ReleaseStatus::Succeeded
        } else {
            ReleaseStatus::Failed
        };
        store.save(&r).await.expect("saved");
    }
    assert_eq!(store.next_revision().await.expect("next"), 7);
    let deleted = store.prune_history().await.expect("pruned");
    assert_eq!(deleted, vec![2, 3]);
    let revisions: Vec<u64> = store
        .history()
        .await
        .expect("history")
        .iter()
        .map(|s| s.revision)
        .collect();
    assert_eq!(revisions, vec![1, 4, 5, 6]);
    assert_eq!(
        store
            .last_successful()
            .await
            .expect("last")
            .map(|s| s.revision),
        Some(1)
    );
    assert!(matches!(
        store.load(2).await,
        Err(ReleaseError::NoSuchRevision { revision: 2, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holder_loses_the_lock_by_expiry_and_its_running_release_is_marked_interrupted() {
    let (sim, client) = start().await;
    let lock = EnvLock::new(client.clone(), "default", "prod");
    let store = ReleaseStore::new(client.clone(), "default", "prod");
    let duration = Duration::from_secs(2);
    let (first, how) = lock
        .acquire(&LockOptions::new("run-a", duration))
        .await
        .expect("first lock");
    assert_eq!(how, Acquired::Fresh);
    store
        .save(&ReleaseRecord::starting("prod", 1, provenance(), &[]))
        .await
        .expect("running record");

    // While run-a renews, run-b is refused, also after more than a lease duration.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    match lock.acquire(&LockOptions::new("run-b", duration)).await {
        Err(ReleaseError::Locked { holder, .. }) => assert_eq!(holder, "run-a"),
        other => panic!("expected Locked, got {:?}", other.map(|(_, h)| h)),
    }
    assert!(first.lost().is_none());
    let lease = sim
        .get(&ObjectRef::new(
            "coordination.k8s.io/v1",
            "Lease",
            Some("default"),
            "govdeploy-lock.prod",
        ))
        .expect("lease stored");
    assert_eq!(lease["spec"]["holderIdentity"], "run-a");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 2);
    assert!(lease["spec"]["renewTime"].is_string());

    // run-a is killed: it stops renewing. run-b waits for the expiry and takes over.
    first.abandon();
    let started = Instant::now();
    let (second, how) = lock
        .acquire(&LockOptions::new("run-b", duration).wait(Duration::from_secs(15)))
        .await
        .expect("taken over");
    assert_eq!(
        how,
        Acquired::TakenOver {
            from: "run-a".into()
        }
    );
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "taken before expiry"
    );
    assert_eq!(store.mark_interrupted().await.expect("marked"), vec![1]);
    let history = store.history().await.expect("history");
    assert_eq!(history[0].status, ReleaseStatus::Interrupted);
    assert!(
        history[0]
            .message
            .as_deref()
            .unwrap_or("")
            .contains("without finishing")
    );

    // A forced unlock: the holder notices at its next renewal.
    let was = lock.force_unlock().await.expect("unlocked").expect("held");
    assert_eq!(was.holder.as_deref(), Some("run-b"));
    let noticed = {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if second.lost().is_some() || Instant::now() > deadline {
                break second.lost();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert!(noticed.is_some());
    assert!(second.check().is_err());

    // A released lock is free at once.
    let (third, how) = lock
        .acquire(&LockOptions::new("run-c", duration))
        .await
        .expect("fresh");
    assert_eq!(how, Acquired::Fresh);
    third.release().await.expect("released");
    let (_fourth, how) = lock
        .acquire(&LockOptions::new("run-d", duration))
        .await
        .expect("after release");
    assert_eq!(how, Acquired::Fresh);
}

async fn apply(client: &kube::Client, o: &Object) -> Value {
    let resolver = Resolver::new(client.clone());
    let (group, version) = govdeploy_release::resolver::split_api_version(&o.api_version);
    let api: Api<DynamicObject> = resolver
        .api(group, version, &o.kind, o.namespace.as_deref())
        .await
        .expect("api");
    let applied = api
        .patch(
            &o.name,
            &PatchParams::apply("govdeploy"),
            &Patch::Apply(&o.body),
        )
        .await
        .expect("applied");
    serde_json::to_value(applied).expect("json")
}

fn config_map(name: &str, data: Value) -> Object {
    object(
        "v1",
        "ConfigMap",
        name,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "labels": our_labels("egov-user")}, "data": data}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_shows_the_exact_change_masks_secrets_and_is_empty_when_nothing_changes() {
    let (sim, client) = start().await;
    let resolver = Resolver::new(client.clone());
    let cm = config_map(
        "egov-user-config",
        json!({"LOG_LEVEL": "info", "PORT": "8080"}),
    );
    apply(&client, &cm).await;
    apply(&client, &secret_object()).await;

    let (diff, errors) = diff_objects(&resolver, &[&cm, &secret_object()], false).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!diff.has_changes(), "{}", diff.render());

    let changed = config_map(
        "egov-user-config",
        json!({"LOG_LEVEL": "debug", "PORT": "8080"}),
    );
    let mut new_secret = secret_object();
    new_secret.body["data"]["password"] = json!("bmV3LXZhbHVl");
    let added = config_map("egov-user-extra", json!({"A": "1"}));
    let (diff, errors) = diff_objects(&resolver, &[&changed, &new_secret, &added], false).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(diff.has_changes());
    let text = diff.render();
    let expected = "\
# module core, component egov-user
--- live/ConfigMap/default/egov-user-config
+++ new/ConfigMap/default/egov-user-config
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  LOG_LEVEL: info
+  LOG_LEVEL: debug
   PORT: \"8080\"
 kind: ConfigMap
 metadata:
--- /dev/null
+++ new/ConfigMap/default/egov-user-extra
@@ -0,0 +1,12 @@
+apiVersion: v1
+data:
+  A: \"1\"
+kind: ConfigMap
+metadata:
+  labels:
+    app.kubernetes.io/managed-by: govdeploy
+    govdeploy.io/component: egov-user
+    govdeploy.io/environment: prod
+    govdeploy.io/module: core
+  name: egov-user-extra
+  namespace: default
# module core, component postgres
--- live/Secret/default/db
+++ new/Secret/default/db
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  password: \"*** (before)\"
+  password: \"*** (after)\"
 kind: Secret
 metadata:
   labels:
1 to create, 2 to change, 0 to delete, 0 unchanged
";
    assert_eq!(text, expected);
    assert_no_secret_anywhere(&sim, &text);
    assert_eq!(
        diff.objects.iter().map(|o| o.change).collect::<Vec<_>>(),
        [Change::Update, Change::Create, Change::Update]
    );
    // The dry-run changed nothing live.
    let live = sim
        .get(&ObjectRef::new(
            "v1",
            "ConfigMap",
            Some("default"),
            "egov-user-config",
        ))
        .expect("live");
    assert_eq!(live["data"]["LOG_LEVEL"], "info");
    assert!(
        sim.get(&ObjectRef::new(
            "v1",
            "ConfigMap",
            Some("default"),
            "egov-user-extra"
        ))
        .is_none()
    );
}

fn inventory_of(live: &Value) -> InventoryItem {
    let api_version = live["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = govdeploy_release::resolver::split_api_version(api_version);
    InventoryItem {
        group: group.into(),
        version: version.into(),
        kind: live["kind"].as_str().unwrap_or_default().into(),
        namespace: live["metadata"]["namespace"].as_str().map(str::to_string),
        name: live["metadata"]["name"].as_str().unwrap_or_default().into(),
        uid: live["metadata"]["uid"].as_str().map(str::to_string),
        node: "egov-user".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_our_removed_objects_in_reverse_order_and_keeps_volumes_and_foreign_objects()
{
    let (sim, client) = start().await;
    let resolver = Resolver::new(client.clone());
    let config = apply(&client, &config_map("egov-user-config", json!({"A": "1"}))).await;
    let kept = apply(&client, &config_map("egov-shared", json!({"B": "2"}))).await;
    let pvc = apply(
        &client,
        &object(
            "v1",
            "PersistentVolumeClaim",
            "egov-user-data",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "egov-user-data", "namespace": "default", "labels": our_labels("egov-user")},
                   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
    )
    .await;
    let service = apply(
        &client,
        &object(
            "v1",
            "Service",
            "egov-user",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "egov-user", "namespace": "default", "labels": our_labels("egov-user")},
                   "spec": {"selector": {"app": "egov-user"}, "ports": [{"port": 8080}]}}),
        ),
    )
    .await;
    let handed_over = apply(
        &client,
        &config_map("egov-user-handed-over", json!({"C": "3"})),
    )
    .await;
    // Someone else took this one over: our labels are gone.
    let cms: Api<DynamicObject> = resolver
        .api("", "v1", "ConfigMap", Some("default"))
        .await
        .expect("api");
    cms.patch(
        "egov-user-handed-over",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "helm"}}})),
    )
    .await
    .expect("relabelled");

    let previous: Vec<InventoryItem> = [&config, &pvc, &handed_over, &service, &kept]
        .iter()
        .map(|v| inventory_of(v))
        .collect();
    let new = vec![inventory_of(&kept)];
    let set = prune_set(&resolver, &previous, &new, "prod", None, false)
        .await
        .expect("prune set");
    let refs = |items: &[InventoryItem]| {
        items
            .iter()
            .map(InventoryItem::reference)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        refs(&set.delete),
        [
            "Service/default/egov-user",
            "ConfigMap/default/egov-user-config"
        ]
    );
    assert_eq!(
        refs(&set.protected),
        ["PersistentVolumeClaim/default/egov-user-data"]
    );
    assert_eq!(set.not_ours.len(), 1);
    assert!(
        set.not_ours[0].1.contains("managed-by"),
        "{}",
        set.not_ours[0].1
    );

    let deleted = prune::execute(&resolver, &set).await.expect("pruned");
    assert_eq!(deleted.len(), 2);
    let get = |kind: &str, name: &str| sim.get(&ObjectRef::new("v1", kind, Some("default"), name));
    assert!(get("Service", "egov-user").is_none());
    assert!(get("ConfigMap", "egov-user-config").is_none());
    assert!(get("PersistentVolumeClaim", "egov-user-data").is_some());
    assert!(get("ConfigMap", "egov-user-handed-over").is_some());
    assert!(get("ConfigMap", "egov-shared").is_some());

    // With prune_protected the volume claim goes too; a recreated object (new uid) never does.
    let recreated = apply(&client, &config_map("egov-user-config", json!({"A": "1"}))).await;
    assert_ne!(recreated["metadata"]["uid"], config["metadata"]["uid"]);
    let set = prune_set(&resolver, &previous, &new, "prod", None, true)
        .await
        .expect("prune set");
    assert_eq!(
        refs(&set.delete),
        ["PersistentVolumeClaim/default/egov-user-data"]
    );
    assert!(
        set.not_ours
            .iter()
            .any(|(i, why)| i.name == "egov-user-config" && why.contains("recreated"))
    );
    assert_eq!(refs(&set.gone), ["Service/default/egov-user"]);
}
