use std::time::Duration;

use govdeploy_testkit::{SimConfig, SimServer};
use serde_json::json;

use super::*;
use crate::cluster::ConnectOptions;

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

async fn connect(sim: &govdeploy_testkit::SimHandle, dir: &std::path::Path) -> Cluster {
    let kubeconfig = dir.join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "sim").unwrap();
    Cluster::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig),
        ..ConnectOptions::default()
    })
    .await
    .unwrap()
}

fn configmap(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": "default"}, "data": {"k": value}})
}

/// Waits (bounded) until `check` holds for the cache, waking on its change notifications.
async fn until(watches: &Watches, mut check: impl FnMut(&Watches) -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check(watches) {
        if tokio::time::timeout_at(deadline, watches.changed())
            .await
            .is_err()
        {
            return check(watches);
        }
    }
    true
}

fn value_of(watches: &Watches, name: &str) -> Option<String> {
    watches
        .item(CONFIGMAPS, Some("default"), name)
        .flatten()
        .and_then(|o| {
            o.pointer("/data/k")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

#[tokio::test]
async fn the_cache_follows_adds_changes_and_deletes_with_one_list_and_one_watch() {
    let dir = std::env::temp_dir().join(format!("govdeploy-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sim = SimServer::start(SimConfig::default()).unwrap();
    let cluster = connect(&sim, &dir).await;
    cluster
        .apply(
            &format!("{CONFIGMAPS}/before"),
            &configmap("before", "1"),
            false,
        )
        .await
        .unwrap();
    let watches = Watches::new(&cluster, Duration::from_secs(60));
    assert!(
        watches
            .item(CONFIGMAPS, Some("default"), "before")
            .is_none()
    );
    watches.ensure(CONFIGMAPS);
    watches.ensure(CONFIGMAPS);
    assert!(until(&watches, |w| value_of(w, "before").as_deref() == Some("1")).await);

    cluster
        .apply(
            &format!("{CONFIGMAPS}/after"),
            &configmap("after", "2"),
            false,
        )
        .await
        .unwrap();
    cluster
        .apply(
            &format!("{CONFIGMAPS}/before"),
            &configmap("before", "3"),
            false,
        )
        .await
        .unwrap();
    assert!(
        until(&watches, |w| value_of(w, "after").as_deref() == Some("2")
            && value_of(w, "before").as_deref() == Some("3"))
        .await
    );
    cluster
        .send(Method::DELETE, &format!("{CONFIGMAPS}/after"), None)
        .await
        .unwrap();
    assert!(
        until(&watches, |w| w.item(CONFIGMAPS, Some("default"), "after")
            == Some(None))
        .await
    );

    let stats = watches.stats();
    assert_eq!(
        (stats.lists, stats.watches, stats.polled),
        (1, 1, 0),
        "{stats:?}"
    );
    assert!(stats.events >= 3, "{stats:?}");
    drop(watches);
    sim.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_compacted_resource_version_is_expired_and_relisted() {
    let dir = std::env::temp_dir().join(format!("govdeploy-watch-gone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = SimConfig {
        watch_history: 5,
        ..SimConfig::default()
    };
    let sim = SimServer::start(config).unwrap();
    let cluster = connect(&sim, &dir).await;
    let inner = Inner::default();
    let first = list(&cluster, CONFIGMAPS, &inner).await.unwrap();
    for i in 0..10 {
        let name = format!("cm-{i}");
        cluster
            .apply(
                &format!("{CONFIGMAPS}/{name}"),
                &configmap(&name, "x"),
                false,
            )
            .await
            .unwrap();
    }
    assert!(matches!(
        watch_once(&cluster, CONFIGMAPS, &first, &inner).await,
        Ended::Expired
    ));
    // What `keep` does next: a relist holds everything.
    list(&cluster, CONFIGMAPS, &inner).await.unwrap();
    assert_eq!(inner.collections()[CONFIGMAPS].items.len(), 10);
    sim.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
