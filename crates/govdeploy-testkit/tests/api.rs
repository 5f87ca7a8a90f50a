//! REST semantics: status codes and Status bodies, discovery forms, patches, deletes, dry
//! runs, validation, Leases, Secrets, CRDs, events.k8s.io, watch resumption.

mod common;

use common::{apply, get, request};
use govdeploy_testkit::{ObjectRef, SimConfig, SimServer};
use serde_json::json;

fn cm(name: &str, data: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": data})
}

#[test]
fn discovery_forms() {
    let sim = SimServer::start(SimConfig::default()).expect("start");
    let url = sim.url();
    let version = get(url, "/version").json();
    assert_eq!(version["major"], "1");
    assert_eq!(version["minor"], "33");
    let core = get(url, "/api/v1").json();
    let names: Vec<&str> = core["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for want in [
        "namespaces",
        "configmaps",
        "secrets",
        "services",
        "serviceaccounts",
        "pods",
        "pods/log",
        "pods/status",
        "events",
        "persistentvolumeclaims",
        "persistentvolumes",
        "limitranges",
        "resourcequotas",
    ] {
        assert!(names.contains(&want), "{want} missing from /api/v1");
    }
    let ns = core["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "namespaces")
        .expect("namespaces");
    assert_eq!(ns["namespaced"], false);
    let groups = get(url, "/apis").json();
    assert_eq!(groups["kind"], "APIGroupList");
    let leases = get(url, "/apis/coordination.k8s.io/v1").json();
    assert_eq!(leases["resources"][0]["name"], "leases");
    assert_eq!(leases["resources"][0]["namespaced"], true);

    let accept =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let agg = request(url, "GET", "/apis", &[("Accept", accept)], "").expect("request");
    assert_eq!(
        agg.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    let agg = agg.json();
    assert_eq!(agg["kind"], "APIGroupDiscoveryList");
    let apps = agg["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|g| g["metadata"]["name"] == "apps")
        .expect("apps");
    let deploy = apps["versions"][0]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["resource"] == "deployments")
        .expect("deployments");
    assert_eq!(deploy["scope"], "Namespaced");
    assert_eq!(deploy["responseKind"]["kind"], "Deployment");
    assert!(
        deploy["subresources"]
            .as_array()
            .expect("subresources")
            .iter()
            .any(|s| s["subresource"] == "status")
    );
    let core_agg = request(url, "GET", "/api", &[("Accept", accept)], "")
        .expect("request")
        .json();
    assert_eq!(core_agg["items"][0]["metadata"]["name"], "");
}

#[test]
fn status_codes_and_bodies() {
    let sim = SimServer::start(SimConfig::default()).expect("start");
    let url = sim.url();
    let missing = get(url, "/api/v1/namespaces/default/configmaps/nope");
    assert_eq!(missing.status, 404);
    let body = missing.json();
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "NotFound");
    assert_eq!(body["message"], "configmaps \"nope\" not found");
    assert_eq!(body["details"]["name"], "nope");

    let create = |b: &serde_json::Value| {
        request(
            url,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[("Content-Type", "application/json")],
            &b.to_string(),
        )
        .expect("request")
    };
    assert_eq!(create(&cm("a", json!({"k": "v"}))).status, 201);
    let dup = create(&cm("a", json!({"k": "v"})));
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json()["reason"], "AlreadyExists");
    let unnamed = create(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}));
    assert_eq!(unnamed.status, 422);
    let body = unnamed.json();
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(body["details"]["causes"][0]["field"], "metadata.name");
    let bad_name = create(&cm("Bad_Name", json!({})));
    assert_eq!(bad_name.status, 422);
    assert!(
        bad_name.json()["message"]
            .as_str()
            .expect("message")
            .contains("RFC 1123")
    );

    let wrong_ns = apply(
        url,
        "/api/v1/namespaces/nowhere/configmaps/x",
        "t",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    );
    assert_eq!(wrong_ns.status, 404);
    assert_eq!(
        wrong_ns.json()["message"],
        "namespaces \"nowhere\" not found"
    );

    let no_manager = request(
        url,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/a",
        &[("Content-Type", "application/apply-patch+yaml")],
        "{}",
    )
    .expect("request");
    assert_eq!(no_manager.status, 422);
    assert!(
        no_manager.json()["message"]
            .as_str()
            .expect("message")
            .contains("fieldManager: Required value")
    );

    let not_allowed = request(
        url,
        "POST",
        "/api/v1/namespaces/default/configmaps/a",
        &[("Content-Type", "application/json")],
        "{}",
    )
    .expect("request");
    assert_eq!(not_allowed.status, 405);
    assert_eq!(not_allowed.json()["reason"], "MethodNotAllowed");

    // Deployment selector must match the template labels.
    let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": {"labels": {"app": "y"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    let r = apply(
        url,
        "/apis/apps/v1/namespaces/default/deployments/d",
        "t",
        &bad,
    );
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .expect("message")
            .contains("`selector` does not match template `labels`")
    );

    // Optimistic concurrency on update.
    let live = get(url, "/api/v1/namespaces/default/configmaps/a").json();
    let mut stale = live.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let r = request(
        url,
        "PUT",
        "/api/v1/namespaces/default/configmaps/a",
        &[("Content-Type", "application/json")],
        &stale.to_string(),
    )
    .expect("request");
    assert_eq!(r.status, 409);
    assert!(
        r.json()["message"]
            .as_str()
            .expect("message")
            .contains("the object has been modified")
    );
    let mut fresh = live;
    fresh["data"]["k"] = json!("w");
    let r = request(
        url,
        "PUT",
        "/api/v1/namespaces/default/configmaps/a",
        &[("Content-Type", "application/json")],
        &fresh.to_string(),
    )
    .expect("request");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["k"], "w");
}

#[test]
fn apply_semantics() {
    let sim = SimServer::start(SimConfig::default()).expect("start");
    let url = sim.url();
    let path = "/api/v1/namespaces/default/configmaps/c";
    let first = apply(
        url,
        path,
        "govdeploy",
        &cm("c", json!({"a": "1", "b": "2"})),
    );
    assert_eq!(first.status, 201);
    let first = first.json();
    let uid = first["metadata"]["uid"].clone();
    assert!(first["metadata"]["creationTimestamp"].is_string());
    let mf = &first["metadata"]["managedFields"][0];
    assert_eq!(mf["manager"], "govdeploy");
    assert_eq!(mf["operation"], "Apply");
    assert_eq!(mf["fieldsType"], "FieldsV1");
    assert_eq!(
        mf["fieldsV1"],
        json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})
    );

    // Omitting b removes it; a YAML body works as well as JSON.
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: default\ndata:\n  a: \"1\"\n";
    let second = request(
        url,
        "PATCH",
        &format!("{path}?fieldManager=govdeploy"),
        &[("Content-Type", "application/apply-patch+yaml")],
        yaml,
    )
    .expect("request")
    .json();
    assert_eq!(second["data"], json!({"a": "1"}));
    assert_eq!(second["metadata"]["uid"], uid);

    // Two managers: conflict body, then force.
    let conflict = apply(url, path, "other", &cm("c", json!({"a": "9"})));
    assert_eq!(conflict.status, 409);
    let body = conflict.json();
    assert_eq!(body["reason"], "Conflict");
    assert_eq!(
        body["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"govdeploy\" using v1", "field": ".data.a"}])
    );
    let forced = apply(
        url,
        &format!("{path}?force=true"),
        "other",
        &cm("c", json!({"a": "9"})),
    );
    assert_eq!(forced.status, 200);
    let forced = forced.json();
    let entries = forced["metadata"]["managedFields"].as_array().expect("mf");
    let mine = entries
        .iter()
        .find(|m| m["manager"] == "govdeploy")
        .expect("govdeploy still co-owns the data map");
    assert_eq!(
        mine["fieldsV1"],
        json!({"f:data": {}}),
        "the forced field moved to the other manager"
    );
    let theirs = entries
        .iter()
        .find(|m| m["manager"] == "other")
        .expect("other");
    assert_eq!(theirs["fieldsV1"], json!({"f:data": {".": {}, "f:a": {}}}));

    // Dry run: the answer shows the change, the store keeps the old value.
    let dry = apply(
        url,
        &format!("{path}?dryRun=All&force=true"),
        "govdeploy",
        &cm("c", json!({"a": "dry"})),
    );
    assert_eq!(dry.json()["data"]["a"], "dry");
    assert_eq!(get(url, path).json()["data"]["a"], "9");
    let c = ObjectRef::new("v1", "ConfigMap", Some("default"), "c");
    assert_eq!(
        sim.stats().writes_to(&c),
        3,
        "create, update, forced update; no-ops and dry runs are not writes"
    );

    // Field validation: Strict refuses, Warn warns and drops, Ignore drops.
    let unknown = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "u", "namespace": "default"}, "data": {"x": "1"}, "bogus": true});
    let strict = apply(
        url,
        "/api/v1/namespaces/default/configmaps/u?fieldValidation=Strict",
        "govdeploy",
        &unknown,
    );
    assert_eq!(strict.status, 400);
    assert_eq!(
        strict.json()["message"],
        ".bogus: field not declared in schema"
    );
    let warn = apply(
        url,
        "/api/v1/namespaces/default/configmaps/u?fieldValidation=Warn",
        "govdeploy",
        &unknown,
    );
    assert_eq!(warn.status, 201);
    assert_eq!(
        warn.header("warning"),
        Some("299 - \".bogus: field not declared in schema\"")
    );
    assert!(warn.json().get("bogus").is_none());

    // Generation: spec changes bump it, metadata changes do not.
    let dep = |replicas: i64, label: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default", "labels": {"v": label}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}})
    };
    let dpath = "/apis/apps/v1/namespaces/default/deployments/d";
    assert_eq!(
        apply(url, dpath, "govdeploy", &dep(1, "a")).json()["metadata"]["generation"],
        1
    );
    assert_eq!(
        apply(url, dpath, "govdeploy", &dep(1, "b")).json()["metadata"]["generation"],
        1
    );
    assert_eq!(
        apply(url, dpath, "govdeploy", &dep(2, "b")).json()["metadata"]["generation"],
        2
    );
    let before = get(url, dpath).json()["metadata"]["resourceVersion"].clone();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let noop = apply(url, dpath, "govdeploy", &dep(2, "b")).json();
    assert_eq!(noop["metadata"]["generation"], 2);
    let _ = before;
    assert_eq!(
        noop["metadata"]["resourceVersion"],
        get(url, dpath).json()["metadata"]["resourceVersion"]
    );
}

#[test]
fn patches_deletes_leases_secrets() {
    let sim = SimServer::start(SimConfig::default()).expect("start");
    let url = sim.url();
    apply(
        url,
        "/api/v1/namespaces/default/configmaps/p",
        "govdeploy",
        &cm("p", json!({"a": "1", "b": "2"})),
    );
    let merge = request(
        url,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/p",
        &[("Content-Type", "application/merge-patch+json")],
        r#"{"data":{"a":null,"c":"3"}}"#,
    )
    .expect("request");
    assert_eq!(merge.json()["data"], json!({"b": "2", "c": "3"}));
    let jp = request(
        url,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/p",
        &[("Content-Type", "application/json-patch+json")],
        r#"[{"op":"replace","path":"/data/b","value":"x"}]"#,
    )
    .expect("request");
    assert_eq!(jp.json()["data"]["b"], "x");
    let managers: Vec<String> = jp.json()["metadata"]["managedFields"]
        .as_array()
        .expect("mf")
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["manager"].as_str().unwrap_or_default(),
                m["operation"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        managers.contains(&"unknown/Update".to_string())
            || managers.iter().any(|m| m.ends_with("/Update")),
        "{managers:?}"
    );

    // Secrets: stringData is stored as base64 data.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"}, "stringData": {"password": "hunter2"}});
    let s = apply(
        url,
        "/api/v1/namespaces/default/secrets/s",
        "govdeploy",
        &secret,
    )
    .json();
    assert_eq!(s["data"]["password"], "aHVudGVyMg==");
    assert_eq!(s["type"], "Opaque");
    assert!(s.get("stringData").is_none());

    // Leases: create, renew with the current resourceVersion, stale renewals conflict.
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "env-lock", "namespace": "default"},
        "spec": {"holderIdentity": "run-1", "leaseDurationSeconds": 30, "acquireTime": "2026-01-01T00:00:00.000000Z", "renewTime": "2026-01-01T00:00:00.000000Z"}});
    let created = request(
        url,
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        &[("Content-Type", "application/json")],
        &lease.to_string(),
    )
    .expect("request");
    assert_eq!(created.status, 201);
    let mut renewed = created.json();
    renewed["spec"]["renewTime"] = json!("2026-01-01T00:00:10.000000Z");
    let r = request(
        url,
        "PUT",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases/env-lock",
        &[("Content-Type", "application/json")],
        &renewed.to_string(),
    )
    .expect("request");
    assert_eq!(r.status, 200);
    let r = request(
        url,
        "PUT",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases/env-lock",
        &[("Content-Type", "application/json")],
        &renewed.to_string(),
    )
    .expect("request");
    assert_eq!(
        r.status, 409,
        "the second PUT carries a stale resourceVersion"
    );

    // Delete: dry run keeps the object; finalizers defer removal until they are cleared.
    let d = request(
        url,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/p?dryRun=All",
        &[],
        "",
    )
    .expect("request");
    assert_eq!(d.status, 200);
    assert_eq!(
        get(url, "/api/v1/namespaces/default/configmaps/p").status,
        200
    );
    let fin = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f", "namespace": "default", "finalizers": ["govdeploy.io/keep"]}});
    apply(
        url,
        "/api/v1/namespaces/default/configmaps/f",
        "govdeploy",
        &fin,
    );
    let d = request(
        url,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/f",
        &[],
        "",
    )
    .expect("request")
    .json();
    assert!(d["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        get(url, "/api/v1/namespaces/default/configmaps/f").status,
        200
    );
    request(
        url,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/f",
        &[("Content-Type", "application/merge-patch+json")],
        r#"{"metadata":{"finalizers":null}}"#,
    )
    .expect("request");
    assert!(sim.wait_until(std::time::Duration::from_secs(5), |s| {
        s.get(&ObjectRef::new("v1", "ConfigMap", Some("default"), "f"))
            .is_none()
    }));

    // Delete collection by label.
    for n in ["l1", "l2"] {
        let mut o = cm(n, json!({}));
        o["metadata"]["labels"] = json!({"set": "x"});
        apply(
            url,
            &format!("/api/v1/namespaces/default/configmaps/{n}"),
            "govdeploy",
            &o,
        );
    }
    let r = request(
        url,
        "DELETE",
        "/api/v1/namespaces/default/configmaps?labelSelector=set%3Dx",
        &[],
        "",
    )
    .expect("request");
    assert_eq!(r.status, 200);
    assert_eq!(
        get(
            url,
            "/api/v1/namespaces/default/configmaps?labelSelector=set%3Dx"
        )
        .json()["items"]
            .as_array()
            .expect("items")
            .len(),
        0
    );
}

#[test]
fn crds_extend_discovery_and_events_have_two_views() {
    let sim = SimServer::start(SimConfig::default()).expect("start");
    let url = sim.url();
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "backups.govdeploy.io"},
        "spec": {"group": "govdeploy.io", "scope": "Namespaced", "names": {"kind": "Backup", "plural": "backups", "singular": "backup", "listKind": "BackupList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}, "subresources": {"status": {}}}]}});
    let r = apply(
        url,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/backups.govdeploy.io",
        "govdeploy",
        &crd,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let established = r.json()["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established);
    let list = get(url, "/apis/govdeploy.io/v1").json();
    assert_eq!(list["resources"][0]["kind"], "Backup");
    let b = apply(
        url,
        "/apis/govdeploy.io/v1/namespaces/default/backups/nightly",
        "govdeploy",
        &json!({"apiVersion": "govdeploy.io/v1", "kind": "Backup", "metadata": {"name": "nightly"}, "spec": {"schedule": "@daily"}}),
    );
    assert_eq!(b.status, 201);
    assert_eq!(b.json()["metadata"]["generation"], 1);

    // An event written through core/v1 is readable through events.k8s.io/v1, and the reverse.
    let ev = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Failed", "message": "boom", "type": "Warning", "count": 1});
    assert_eq!(
        request(
            url,
            "POST",
            "/api/v1/namespaces/default/events",
            &[("Content-Type", "application/json")],
            &ev.to_string()
        )
        .expect("request")
        .status,
        201
    );
    let v1 = get(url, "/apis/events.k8s.io/v1/namespaces/default/events/e1").json();
    assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
    assert_eq!(v1["regarding"]["name"], "p");
    assert_eq!(v1["note"], "boom");
    let filtered = get(url, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp%2Cinvolvedobject.kind%21%3DNode").json();
    assert_eq!(filtered["items"].as_array().expect("items").len(), 1);
    let cross = get(url, "/api/v1/events?fieldSelector=reason%3DFailed").json();
    assert_eq!(cross["items"].as_array().expect("items").len(), 1);
}

#[test]
fn watch_resumes_from_a_resource_version() {
    let sim = SimServer::start(SimConfig::default()).expect("start");
    let url = sim.url();
    let created = apply(
        url,
        "/api/v1/namespaces/default/configmaps/w",
        "govdeploy",
        &cm("w", json!({"a": "1"})),
    )
    .json();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    apply(
        url,
        "/api/v1/namespaces/default/configmaps/w",
        "govdeploy",
        &cm("w", json!({"a": "2"})),
    );
    request(
        url,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/w",
        &[],
        "",
    )
    .expect("delete");
    let w = get(
        url,
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1"
        ),
    );
    let events: Vec<serde_json::Value> = w
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["MODIFIED", "DELETED"]);
    assert_eq!(events[0]["object"]["data"]["a"], "2");
    // From scratch (no resourceVersion): the current objects come first as ADDED.
    apply(
        url,
        "/api/v1/namespaces/default/configmaps/x",
        "govdeploy",
        &cm("x", json!({})),
    );
    let w = get(
        url,
        "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dx",
    );
    let first: serde_json::Value =
        serde_json::from_str(w.body.lines().next().expect("an event")).expect("json");
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["metadata"]["name"], "x");
}
