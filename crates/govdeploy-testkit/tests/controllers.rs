//! Simulated controllers and pod behaviours, observed through the REST API.

mod common;

use common::{apply, get};
use govdeploy_testkit::{Behaviour, BehaviourRule, ObjectRef, SimConfig, SimHandle, SimServer};
use serde_json::{Value, json};
use std::time::Duration;

fn deployment(name: &str, image: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": image}]}}}})
}

fn pods_of(sim: &SimHandle, app: &str) -> Vec<Value> {
    sim.list("v1", "Pod", Some("default"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

fn wait(sim: &SimHandle, what: &str, check: impl FnMut(&SimHandle) -> bool) {
    assert!(
        sim.wait_until(Duration::from_secs(10), check),
        "timed out waiting for {what}"
    );
}

fn deploy(sim: &SimHandle, name: &str, image: &str, replicas: i64) {
    let r = apply(
        sim.url(),
        &format!("/apis/apps/v1/namespaces/default/deployments/{name}"),
        "govdeploy",
        &deployment(name, image, replicas),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
}

fn waiting_reason(pod: &Value) -> Option<String> {
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn deployment_rollouts_are_counted_and_pods_are_owned() {
    let sim = SimServer::start(
        SimConfig::default()
            .time_scale(100.0)
            .default_ready_after(Duration::from_secs(10)),
    )
    .expect("start");
    deploy(&sim, "api", "api:1", 3);
    let api = ObjectRef::new("apps/v1", "Deployment", Some("default"), "api");
    let available = |s: &SimHandle| {
        let d = s.get(&api).unwrap_or_default();
        d["status"]["observedGeneration"] == d["metadata"]["generation"]
            && d["status"]["availableReplicas"] == d["spec"]["replicas"]
            && d["status"]["updatedReplicas"] == d["spec"]["replicas"]
            && d["status"]["replicas"] == d["spec"]["replicas"]
    };
    wait(&sim, "first rollout", available);
    let d = sim.get(&api).expect("deployment");
    let conds = d["status"]["conditions"].as_array().expect("conditions");
    assert!(conds.iter().any(|c| c["type"] == "Available"
        && c["status"] == "True"
        && c["reason"] == "MinimumReplicasAvailable"));
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "NewReplicaSetAvailable")
    );
    let pods = pods_of(&sim, "api");
    assert_eq!(pods.len(), 3);
    let rs_name = pods[0]["metadata"]["ownerReferences"][0]["name"]
        .as_str()
        .expect("owner")
        .to_string();
    assert_eq!(
        pods[0]["metadata"]["ownerReferences"][0]["kind"],
        "ReplicaSet"
    );
    assert!(rs_name.starts_with("api-"));
    assert!(pods.iter().all(|p| {
        p["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with(&format!("{rs_name}-")))
    }));
    assert_eq!(sim.stats().rollouts_of(&api), 1);

    // Re-applying the same spec rolls nothing; a new image rolls once, old pods go.
    deploy(&sim, "api", "api:1", 3);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(sim.stats().rollouts_of(&api), 1);
    assert_eq!(sim.stats().writes_to(&api), 1);
    deploy(&sim, "api", "api:2", 3);
    wait(&sim, "second rollout", |s| {
        available(s)
            && pods_of(s, "api")
                .iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "api:2")
            && pods_of(s, "api").len() == 3
    });
    assert_eq!(sim.stats().rollouts_of(&api), 2);
    let sets = sim.list("apps/v1", "ReplicaSet", Some("default"));
    assert_eq!(sets.len(), 2);
    assert!(
        sets.iter().any(|rs| rs["spec"]["replicas"] == 0),
        "the old ReplicaSet is scaled to zero"
    );
}

#[test]
fn pod_failure_behaviours() {
    let sim = SimServer::start(
        SimConfig::default()
            .time_scale(200.0)
            .behaviour(BehaviourRule::image(
                "oom",
                Behaviour::OomKilled {
                    run_for: Duration::from_secs(5),
                },
            ))
            .behaviour(BehaviourRule::image(
                "nocfg",
                Behaviour::CreateContainerConfigError {
                    message: "secret \"db-credentials\" not found".into(),
                },
            ))
            .behaviour(BehaviourRule::labels(
                "app=huge",
                Behaviour::FailedScheduling {
                    message: "0/3 nodes are available: 3 Insufficient memory.".into(),
                },
            ))
            .behaviour(BehaviourRule::labels("app=idle", Behaviour::NeverReady)),
    )
    .expect("start");
    deploy(&sim, "oomer", "registry/oom:1", 1);
    deploy(&sim, "cfg", "registry/nocfg:1", 1);
    deploy(&sim, "huge", "registry/big:1", 1);
    deploy(&sim, "idle", "registry/idle:1", 1);

    wait(&sim, "OOMKilled", |s| {
        pods_of(s, "oomer").first().is_some_and(|p| {
            let c = &p["status"]["containerStatuses"][0];
            c["lastState"]["terminated"]["reason"] == "OOMKilled"
                && c["lastState"]["terminated"]["exitCode"] == 137
                && c["restartCount"].as_u64().unwrap_or(0) >= 1
        })
    });
    wait(&sim, "CreateContainerConfigError", |s| {
        pods_of(s, "cfg")
            .first()
            .is_some_and(|p| waiting_reason(p).as_deref() == Some("CreateContainerConfigError"))
    });
    let cfg = pods_of(&sim, "cfg").remove(0);
    assert_eq!(
        cfg["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "secret \"db-credentials\" not found"
    );
    assert_eq!(cfg["status"]["phase"], "Pending");

    wait(&sim, "FailedScheduling", |s| {
        pods_of(s, "huge")
            .first()
            .is_some_and(|p| p["status"]["conditions"][0]["reason"] == "Unschedulable")
    });
    let huge = pods_of(&sim, "huge").remove(0);
    assert_eq!(huge["status"]["phase"], "Pending");
    assert_eq!(huge["status"]["conditions"][0]["type"], "PodScheduled");
    assert_eq!(huge["status"]["conditions"][0]["status"], "False");
    let name = huge["metadata"]["name"].as_str().expect("name");
    let events = sim.events_for(&ObjectRef::new("v1", "Pod", Some("default"), name));
    assert!(events.iter().any(|e| e["reason"] == "FailedScheduling"
        && e["type"] == "Warning"
        && e["source"]["component"] == "default-scheduler"));

    wait(&sim, "running but never ready", |s| {
        pods_of(s, "idle")
            .first()
            .is_some_and(|p| p["status"]["phase"] == "Running")
    });
    std::thread::sleep(Duration::from_millis(100));
    let idle = pods_of(&sim, "idle").remove(0);
    assert_eq!(idle["status"]["containerStatuses"][0]["ready"], false);
    let d = sim
        .get(&ObjectRef::new(
            "apps/v1",
            "Deployment",
            Some("default"),
            "idle",
        ))
        .expect("deployment");
    assert!(d["status"]["availableReplicas"].is_null());

    // Behaviours can change at run time: pods created afterwards follow the new rule.
    sim.add_behaviour(BehaviourRule::labels(
        "app=late",
        Behaviour::ImagePullBackOff,
    ));
    deploy(&sim, "late", "registry/late:1", 1);
    wait(&sim, "ImagePullBackOff", |s| {
        pods_of(s, "late")
            .first()
            .is_some_and(|p| waiting_reason(p).as_deref() == Some("ImagePullBackOff"))
    });
}

#[test]
fn jobs_succeed_or_fail_with_logs() {
    let sim = SimServer::start(
        SimConfig::default().time_scale(200.0).behaviour(
            BehaviourRule::image(
                "flyway-bad",
                Behaviour::JobFailure {
                    exit_code: 1,
                    after: Duration::from_secs(5),
                },
            )
            .logs([
                "Flyway Community Edition 10",
                "ERROR: Migration V3__add_index.sql failed",
            ]),
        ),
    )
    .expect("start");
    let job = |name: &str, image: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
            "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": image}]}}}})
    };
    for (name, image) in [("good", "flyway:10"), ("bad", "flyway-bad:10")] {
        let r = apply(
            sim.url(),
            &format!("/apis/batch/v1/namespaces/default/jobs/{name}"),
            "govdeploy",
            &job(name, image),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let cond = |s: &SimHandle, name: &str, t: &str| {
        s.get(&ObjectRef::new("batch/v1", "Job", Some("default"), name))
            .is_some_and(|j| {
                j["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["type"] == t && c["status"] == "True"))
            })
    };
    wait(&sim, "job complete", |s| cond(s, "good", "Complete"));
    wait(&sim, "job failed", |s| cond(s, "bad", "Failed"));
    let bad = sim
        .get(&ObjectRef::new("batch/v1", "Job", Some("default"), "bad"))
        .expect("job");
    let failed = bad["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Failed")
        .expect("Failed")
        .clone();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(
        bad["status"]["failed"], 3,
        "backoffLimit 2 means three attempts"
    );
    let good = sim
        .get(&ObjectRef::new("batch/v1", "Job", Some("default"), "good"))
        .expect("job");
    assert_eq!(good["status"]["succeeded"], 1);

    let pod = sim
        .list("v1", "Pod", Some("default"))
        .into_iter()
        .find(|p| p["metadata"]["labels"]["job-name"] == "bad" && p["status"]["phase"] == "Failed")
        .expect("a failed pod");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        1
    );
    let name = pod["metadata"]["name"].as_str().expect("name");
    let logs = get(
        sim.url(),
        &format!("/api/v1/namespaces/default/pods/{name}/log?container=migrate"),
    );
    assert_eq!(logs.status, 200);
    assert_eq!(
        logs.body,
        "Flyway Community Edition 10\nERROR: Migration V3__add_index.sql failed\n"
    );
    let tail = get(
        sim.url(),
        &format!("/api/v1/namespaces/default/pods/{name}/log?tailLines=1"),
    );
    assert_eq!(tail.body, "ERROR: Migration V3__add_index.sql failed\n");
    let prev = get(
        sim.url(),
        &format!("/api/v1/namespaces/default/pods/{name}/log?previous=true"),
    );
    assert_eq!(prev.status, 400);
    assert!(
        prev.json()["message"]
            .as_str()
            .expect("message")
            .contains("previous terminated container \"migrate\"")
    );
    // Deleting the Job removes its pods.
    common::request(
        sim.url(),
        "DELETE",
        "/apis/batch/v1/namespaces/default/jobs/bad",
        &[],
        "",
    )
    .expect("delete");
    wait(&sim, "job pods collected", |s| {
        s.list("v1", "Pod", Some("default"))
            .iter()
            .all(|p| p["metadata"]["labels"]["job-name"] != "bad")
    });
}

#[test]
fn statefulsets_daemonsets_claims_namespaces_services() {
    let sim = SimServer::start(
        SimConfig::default()
            .time_scale(200.0)
            .default_ready_after(Duration::from_secs(4)),
    )
    .expect("start");
    let url = sim.url();
    let sts = |image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "pg", "namespace": "default"},
            "spec": {"replicas": 2, "serviceName": "pg", "selector": {"matchLabels": {"app": "pg"}},
                "template": {"metadata": {"labels": {"app": "pg"}}, "spec": {"containers": [{"name": "pg", "image": image}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    };
    assert_eq!(
        apply(
            url,
            "/apis/apps/v1/namespaces/default/statefulsets/pg",
            "govdeploy",
            &sts("postgres:15")
        )
        .status,
        201
    );
    let pg = ObjectRef::new("apps/v1", "StatefulSet", Some("default"), "pg");
    let settled = |s: &SimHandle| {
        s.get(&pg).is_some_and(|o| {
            o["status"]["readyReplicas"] == 2
                && o["status"]["currentRevision"] == o["status"]["updateRevision"]
                && o["status"]["observedGeneration"] == o["metadata"]["generation"]
        })
    };
    wait(&sim, "statefulset ready", settled);
    let first_revision = sim.get(&pg).expect("sts")["status"]["updateRevision"].clone();
    for claim in ["data-pg-0", "data-pg-1"] {
        let pvc = sim
            .get(&ObjectRef::new(
                "v1",
                "PersistentVolumeClaim",
                Some("default"),
                claim,
            ))
            .expect("claim");
        assert_eq!(pvc["status"]["phase"], "Bound");
        assert_eq!(pvc["status"]["capacity"]["storage"], "1Gi");
    }
    assert!(
        sim.get(&ObjectRef::new("v1", "Pod", Some("default"), "pg-1"))
            .is_some()
    );
    assert_eq!(
        apply(
            url,
            "/apis/apps/v1/namespaces/default/statefulsets/pg",
            "govdeploy",
            &sts("postgres:16")
        )
        .status,
        200
    );
    wait(&sim, "statefulset updated", |s| {
        settled(s)
            && s.get(&pg)
                .is_some_and(|o| o["status"]["updateRevision"] != first_revision)
    });
    assert_eq!(sim.stats().rollouts_of(&pg), 2);
    assert!(
        sim.list("v1", "Pod", Some("default"))
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "pg")
            .all(|p| p["spec"]["containers"][0]["image"] == "postgres:16")
    );

    // DaemonSet: one pod per simulated node.
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}});
    apply(
        url,
        "/apis/apps/v1/namespaces/default/daemonsets/agent",
        "govdeploy",
        &ds,
    );
    let agent = ObjectRef::new("apps/v1", "DaemonSet", Some("default"), "agent");
    wait(&sim, "daemonset ready", |s| {
        s.get(&agent).is_some_and(|o| {
            o["status"]["numberReady"] == 3 && o["status"]["desiredNumberScheduled"] == 3
        })
    });

    // A WaitForFirstConsumer claim stays Pending until a pod uses it.
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "late", "namespace": "default"},
        "spec": {"storageClassName": "local-wait", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}});
    apply(
        url,
        "/api/v1/namespaces/default/persistentvolumeclaims/late",
        "govdeploy",
        &pvc,
    );
    let late = ObjectRef::new("v1", "PersistentVolumeClaim", Some("default"), "late");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(sim.get(&late).expect("claim")["status"]["phase"], "Pending");
    assert!(
        sim.events_for(&late)
            .iter()
            .any(|e| e["reason"] == "WaitForFirstConsumer")
    );
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1"}], "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "late"}}]}});
    apply(
        url,
        "/api/v1/namespaces/default/pods/user",
        "govdeploy",
        &pod,
    );
    wait(&sim, "claim bound", |s| {
        s.get(&late)
            .is_some_and(|c| c["status"]["phase"] == "Bound")
    });

    // Namespaces are Active; a Service gets a cluster IP; deleting a namespace removes its content.
    apply(
        url,
        "/api/v1/namespaces/shop",
        "govdeploy",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
    );
    let ns = ObjectRef::new("v1", "Namespace", None, "shop");
    assert_eq!(sim.get(&ns).expect("ns")["status"]["phase"], "Active");
    let svc = apply(url, "/api/v1/namespaces/shop/services/web", "govdeploy", &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})).json();
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.96."))
    );
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
    let d = common::request(url, "DELETE", "/api/v1/namespaces/shop", &[], "")
        .expect("delete")
        .json();
    assert_eq!(d["status"]["phase"], "Terminating");
    wait(&sim, "namespace gone", |s| s.get(&ns).is_none());
    assert!(
        sim.get(&ObjectRef::new("v1", "Service", Some("shop"), "web"))
            .is_none()
    );
}
