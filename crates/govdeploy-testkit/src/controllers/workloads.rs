//! Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and PVC controllers.

use super::{condition, controller_ref, is_pod_ready, owned_by};
use crate::state::{ObjKey, State};
use crate::stats::ObjectRef;
use crate::util::short_hash;
use serde_json::{Value, json};

fn workloads(state: &State, group: &str, plural: &str) -> Vec<(ObjKey, Value)> {
    state
        .list(group, plural, None)
        .filter(|(_, o)| !o["metadata"]["deletionTimestamp"].is_string())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn owned(state: &State, group: &str, plural: &str, ns: &str, uid: &str) -> Vec<(ObjKey, Value)> {
    state
        .list(group, plural, Some(ns))
        .filter(|(_, o)| owned_by(o, uid))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn replicas(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1).max(0)
}

/// A new pod template seen for a workload: counted as a rollout.
fn note_template(state: &mut State, key: &ObjKey, obj: &Value, hash: &str) {
    if state.sim.templates.get(key).map(String::as_str) != Some(hash) {
        state.sim.templates.insert(key.clone(), hash.to_string());
        state
            .sim
            .rollout_started
            .insert(key.clone(), state.sim_now());
        *state
            .stats
            .rollouts
            .entry(ObjectRef::of(obj).key())
            .or_default() += 1;
    }
}

fn pod_from_template(
    owner: &Value,
    template: &Value,
    name: &str,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut meta = template["metadata"].clone();
    if !meta.is_object() {
        meta = json!({});
    }
    meta["name"] = json!(name);
    meta["namespace"] = owner["metadata"]["namespace"].clone();
    if !meta["labels"].is_object() {
        meta["labels"] = json!({});
    }
    for (k, v) in extra_labels {
        meta["labels"][*k] = json!(v);
    }
    meta["ownerReferences"] = json!([controller_ref(owner)]);
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"].clone()})
}

/// Deployments own one ReplicaSet per pod template; the newest is scaled up, older ones go to
/// zero once the new one is fully ready.
pub fn deployments(state: &mut State) {
    for (key, d) in workloads(state, "apps", "deployments") {
        let uid = d["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let template = d["spec"]["template"].clone();
        let hash = short_hash(&template, 10);
        note_template(state, &key, &d, &hash);
        let sets = owned(state, "apps", "replicasets", &key.namespace, &uid);
        let want = replicas(&d);
        let current = sets
            .iter()
            .find(|(_, rs)| rs["metadata"]["labels"]["pod-template-hash"] == hash.as_str())
            .cloned();
        let new_rs = match current {
            Some(found) => found,
            None => {
                let name = format!("{}-{hash}", key.name);
                let mut labels = template["metadata"]["labels"].clone();
                if !labels.is_object() {
                    labels = json!({});
                }
                labels["pod-template-hash"] = json!(hash);
                let mut rs_template = template.clone();
                rs_template["metadata"]["labels"] = labels.clone();
                let mut selector = d["spec"]["selector"].clone();
                selector["matchLabels"]["pod-template-hash"] = json!(hash);
                let revision = sets.len() + 1;
                let rs = json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {
                        "name": name, "namespace": key.namespace, "labels": labels,
                        "annotations": {"deployment.kubernetes.io/desired-replicas": want.to_string(), "deployment.kubernetes.io/revision": revision.to_string()},
                        "ownerReferences": [controller_ref(&d)],
                    },
                    "spec": {"replicas": want, "selector": selector, "template": rs_template},
                });
                match state.create_as_system(rs) {
                    Ok(created) => {
                        state.record_event(
                            &d,
                            "Normal",
                            "ScalingReplicaSet",
                            &format!("Scaled up replica set {name} from 0 to {want}"),
                            "deployment-controller",
                        );
                        (ObjKey::apps("replicasets", &key.namespace, &name), created)
                    }
                    Err(_) => continue,
                }
            }
        };
        let (new_key, mut new_obj) = new_rs;
        if new_obj["spec"]["replicas"].as_i64() != Some(want) {
            new_obj["spec"]["replicas"] = json!(want);
            state.update_if_changed(&new_key, new_obj.clone());
        }
        let new_ready = new_obj["status"]["readyReplicas"].as_i64().unwrap_or(0);
        if new_ready >= want {
            for (k, mut rs) in owned(state, "apps", "replicasets", &key.namespace, &uid) {
                if k != new_key && rs["spec"]["replicas"].as_i64() != Some(0) {
                    rs["spec"]["replicas"] = json!(0);
                    state.update_if_changed(&k, rs);
                }
            }
        }
    }
}

/// Deployment status from its ReplicaSets (after the pods have progressed).
pub fn deployment_status(state: &mut State) {
    for (key, mut d) in workloads(state, "apps", "deployments") {
        let uid = d["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let hash = short_hash(&d["spec"]["template"], 10);
        // The controller pass runs in steps that release the store between them, so a new
        // template can arrive after the ReplicaSet step: its rollout starts now, not at the
        // previous rollout's start (which would report a progress deadline at once).
        note_template(state, &key, &d, &hash);
        let want = replicas(&d);
        let sets = owned(state, "apps", "replicasets", &key.namespace, &uid);
        let (mut total, mut ready, mut updated) = (0, 0, 0);
        let mut new_name = String::new();
        for (_, rs) in &sets {
            let n = rs["status"]["replicas"].as_i64().unwrap_or(0);
            total += n;
            ready += rs["status"]["readyReplicas"].as_i64().unwrap_or(0);
            if rs["metadata"]["labels"]["pod-template-hash"] == hash.as_str() {
                updated = n;
                new_name = rs["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
            }
        }
        let available = ready;
        let max_unavailable = percent_or_int(
            &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
            want,
            false,
        );
        let available_ok = available >= want - max_unavailable;
        let complete = updated == want && total == want && available >= want;
        let started = state.sim.rollout_started.get(&key).copied().unwrap_or(0.0);
        let deadline = d["spec"]["progressDeadlineSeconds"]
            .as_f64()
            .unwrap_or(600.0);
        let timed_out = !complete && state.sim_now() - started > deadline;
        let available_cond = if available_ok {
            condition(
                state,
                &key,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                true,
            )
        } else {
            condition(
                state,
                &key,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                true,
            )
        };
        let progressing = if complete {
            condition(
                state,
                &key,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{new_name}\" has successfully progressed."),
                true,
            )
        } else if timed_out {
            condition(
                state,
                &key,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{new_name}\" has timed out progressing."),
                true,
            )
        } else {
            condition(
                state,
                &key,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{new_name}\" is progressing."),
                true,
            )
        };
        let mut status = json!({
            "observedGeneration": d["metadata"]["generation"],
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": [available_cond, progressing],
        });
        if want - available > 0 {
            status["unavailableReplicas"] = json!(want - available);
        }
        for k in [
            "readyReplicas",
            "availableReplicas",
            "updatedReplicas",
            "replicas",
        ] {
            if status[k] == 0
                && let Some(m) = status.as_object_mut()
            {
                m.remove(k);
            }
        }
        d["status"] = status;
        state.update_if_changed(&key, d);
    }
}

fn percent_or_int(v: &Value, total: i64, round_up: bool) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(25.0);
            let x = total as f64 * pct / 100.0;
            if round_up {
                x.ceil() as i64
            } else {
                x.floor() as i64
            }
        }
        _ => (total as f64 * 0.25).floor() as i64,
    }
}

/// Pods of a set, not being deleted.
fn live_pods(state: &State, ns: &str, uid: &str) -> Vec<(ObjKey, Value)> {
    owned(state, "", "pods", ns, uid)
        .into_iter()
        .filter(|(_, p)| !p["metadata"]["deletionTimestamp"].is_string())
        .collect()
}

pub fn replicasets(state: &mut State) {
    for (key, mut rs) in workloads(state, "apps", "replicasets") {
        let uid = rs["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let want = replicas(&rs);
        let mut pods = live_pods(state, &key.namespace, &uid);
        let hash = rs["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        while (pods.len() as i64) < want {
            let name = format!("{}-{}", key.name, state.rng.suffix());
            let pod = pod_from_template(
                &rs,
                &rs["spec"]["template"],
                &name,
                &[("pod-template-hash", hash.clone())],
            );
            match state.create_as_system(pod) {
                Ok(p) => pods.push((ObjKey::core("pods", &key.namespace, &name), p)),
                Err(_) => break,
            }
        }
        while (pods.len() as i64) > want {
            if let Some((k, _)) = pods.pop() {
                state.remove(&k);
            }
        }
        let ready = pods.iter().filter(|(_, p)| is_pod_ready(p)).count() as i64;
        let mut status = json!({
            "replicas": pods.len(),
            "fullyLabeledReplicas": pods.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"],
        });
        for k in ["readyReplicas", "availableReplicas", "fullyLabeledReplicas"] {
            if status[k] == 0
                && let Some(m) = status.as_object_mut()
            {
                m.remove(k);
            }
        }
        rs["status"] = status;
        state.update_if_changed(&key, rs);
    }
}

fn pvc_for_claim(sts: &Value, claim: &Value, ordinal: usize) -> Value {
    let claim_name = claim["metadata"]["name"].as_str().unwrap_or("data");
    let sts_name = sts["metadata"]["name"].as_str().unwrap_or_default();
    let mut meta = claim["metadata"].clone();
    meta["name"] = json!(format!("{claim_name}-{sts_name}-{ordinal}"));
    meta["namespace"] = sts["metadata"]["namespace"].clone();
    let mut labels = sts["spec"]["selector"]["matchLabels"].clone();
    if let Some(own) = claim["metadata"]["labels"].as_object() {
        for (k, v) in own {
            labels[k] = v.clone();
        }
    }
    meta["labels"] = labels;
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": claim["spec"].clone()})
}

pub fn statefulsets(state: &mut State) {
    for (key, mut sts) in workloads(state, "apps", "statefulsets") {
        let uid = sts["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let want = replicas(&sts) as usize;
        let hash = short_hash(&sts["spec"]["template"], 10);
        note_template(state, &key, &sts, &hash);
        let revision = format!("{}-{hash}", key.name);
        let parallel = sts["spec"]["podManagementPolicy"] == "Parallel";
        let claims: Vec<Value> = sts["spec"]["volumeClaimTemplates"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let pods = live_pods(state, &key.namespace, &uid);
        let pod_at = |i: usize| {
            pods.iter()
                .find(|(k, _)| k.name == format!("{}-{i}", key.name))
                .map(|(_, p)| p.clone())
        };
        let all_ready = (0..want).all(|i| pod_at(i).is_some_and(|p| is_pod_ready(&p)));
        for i in 0..want {
            match pod_at(i) {
                Some(_) => {}
                None => {
                    let previous_ready =
                        (0..i).all(|j| pod_at(j).is_some_and(|p| is_pod_ready(&p)));
                    if !parallel && !previous_ready {
                        break;
                    }
                    let name = format!("{}-{i}", key.name);
                    let mut template = sts["spec"]["template"].clone();
                    for claim in &claims {
                        let pvc = pvc_for_claim(&sts, claim, i);
                        let pvc_name = pvc["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        if state
                            .get(&ObjKey::core(
                                "persistentvolumeclaims",
                                &key.namespace,
                                &pvc_name,
                            ))
                            .is_none()
                        {
                            let _ = state.create_as_system(pvc);
                        }
                        let vol = json!({"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": pvc_name}});
                        match template["spec"]["volumes"].as_array_mut() {
                            Some(vs) => vs.push(vol),
                            None => template["spec"]["volumes"] = json!([vol]),
                        }
                    }
                    let mut pod = pod_from_template(
                        &sts,
                        &template,
                        &name,
                        &[
                            ("controller-revision-hash", revision.clone()),
                            ("statefulset.kubernetes.io/pod-name", name.clone()),
                            ("apps.kubernetes.io/pod-index", i.to_string()),
                        ],
                    );
                    pod["spec"]["hostname"] = json!(name);
                    if let Some(svc) = sts["spec"]["serviceName"].as_str() {
                        pod["spec"]["subdomain"] = json!(svc);
                    }
                    let _ = state.create_as_system(pod);
                    if !parallel {
                        break;
                    }
                }
            }
        }
        // Scale down from the highest ordinal.
        for (k, _) in &pods {
            let ordinal: usize = k
                .name
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if ordinal >= want {
                state.remove(k);
            }
        }
        // Rolling update: replace the highest-ordinal outdated pod once all are ready.
        let outdated: Vec<(ObjKey, Value)> = pods
            .iter()
            .filter(|(_, p)| {
                p["metadata"]["labels"]["controller-revision-hash"] != revision.as_str()
            })
            .cloned()
            .collect();
        if all_ready
            && sts["spec"]["updateStrategy"]["type"] != "OnDelete"
            && let Some((k, _)) = outdated.iter().max_by_key(|(k, _)| k.name.clone())
        {
            state.remove(k);
        }
        let pods = live_pods(state, &key.namespace, &uid);
        let ready = pods.iter().filter(|(_, p)| is_pod_ready(p)).count();
        let updated = pods
            .iter()
            .filter(|(_, p)| {
                p["metadata"]["labels"]["controller-revision-hash"] == revision.as_str()
            })
            .count();
        let previous_current = sts["status"]["currentRevision"]
            .as_str()
            .unwrap_or(&revision)
            .to_string();
        let current = if updated == want && pods.len() == want {
            revision.clone()
        } else {
            previous_current
        };
        let current_count = pods
            .iter()
            .filter(|(_, p)| {
                p["metadata"]["labels"]["controller-revision-hash"] == current.as_str()
            })
            .count();
        sts["status"] = json!({
            "observedGeneration": sts["metadata"]["generation"],
            "replicas": pods.len(),
            "readyReplicas": ready,
            "currentReplicas": current_count,
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": current,
            "updateRevision": revision,
            "collisionCount": 0,
        });
        if let Some(m) = sts["status"].as_object_mut() {
            m.retain(|k, v| {
                !(matches!(
                    k.as_str(),
                    "readyReplicas" | "currentReplicas" | "updatedReplicas"
                ) && *v == 0)
            });
        }
        state.update_if_changed(&key, sts);
    }
}

pub fn daemonsets(state: &mut State) {
    let nodes: Vec<String> = state
        .list("", "nodes", None)
        .map(|(k, _)| k.name.clone())
        .collect();
    for (key, mut ds) in workloads(state, "apps", "daemonsets") {
        let uid = ds["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let hash = short_hash(&ds["spec"]["template"], 10);
        note_template(state, &key, &ds, &hash);
        let pods = live_pods(state, &key.namespace, &uid);
        let all_ready = pods.len() == nodes.len() && pods.iter().all(|(_, p)| is_pod_ready(p));
        for node in &nodes {
            if !pods
                .iter()
                .any(|(_, p)| p["spec"]["nodeName"] == node.as_str())
            {
                let name = format!("{}-{}", key.name, state.rng.suffix());
                let mut pod = pod_from_template(
                    &ds,
                    &ds["spec"]["template"],
                    &name,
                    &[("controller-revision-hash", hash.clone())],
                );
                pod["spec"]["nodeName"] = json!(node);
                let _ = state.create_as_system(pod);
            }
        }
        if all_ready
            && let Some((k, _)) = pods
                .iter()
                .find(|(_, p)| p["metadata"]["labels"]["controller-revision-hash"] != hash.as_str())
        {
            state.remove(k);
        }
        let pods = live_pods(state, &key.namespace, &uid);
        let ready = pods.iter().filter(|(_, p)| is_pod_ready(p)).count();
        let updated = pods
            .iter()
            .filter(|(_, p)| p["metadata"]["labels"]["controller-revision-hash"] == hash.as_str())
            .count();
        ds["status"] = json!({
            "observedGeneration": ds["metadata"]["generation"],
            "desiredNumberScheduled": nodes.len(),
            "currentNumberScheduled": pods.len(),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": updated,
        });
        if nodes.len() > ready {
            ds["status"]["numberUnavailable"] = json!(nodes.len() - ready);
        }
        state.update_if_changed(&key, ds);
    }
}

pub fn jobs(state: &mut State) {
    for (key, mut job) in workloads(state, "batch", "jobs") {
        let uid = job["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let finished = job["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True"
            })
        });
        if finished || job["spec"]["suspend"] == true {
            continue;
        }
        let completions = job["spec"]["completions"].as_i64().unwrap_or(1);
        let parallelism = job["spec"]["parallelism"].as_i64().unwrap_or(1);
        let backoff_limit = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
        let pods = live_pods(state, &key.namespace, &uid);
        let phase = |p: &Value| {
            p["status"]["phase"]
                .as_str()
                .unwrap_or("Pending")
                .to_string()
        };
        let succeeded = pods.iter().filter(|(_, p)| phase(p) == "Succeeded").count() as i64;
        let failed = pods.iter().filter(|(_, p)| phase(p) == "Failed").count() as i64;
        let active: Vec<&(ObjKey, Value)> = pods
            .iter()
            .filter(|(_, p)| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
            .collect();
        let now = state.now_string();
        if job["status"]["startTime"].is_null() {
            job["status"]["startTime"] = json!(now);
        }
        let mut status = json!({"startTime": job["status"]["startTime"], "uncountedTerminatedPods": {}, "terminating": 0});
        if succeeded >= completions {
            let c1 = condition(
                state,
                &key,
                "SuccessCriteriaMet",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                false,
            );
            let c2 = condition(
                state,
                &key,
                "Complete",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                false,
            );
            for c in [&c1, &c2] {
                let _ = c;
            }
            status["conditions"] = json!([with_probe_time(c1), with_probe_time(c2)]);
            status["completionTime"] = json!(now);
            status["succeeded"] = json!(succeeded);
            status["ready"] = json!(0);
            if failed > 0 {
                status["failed"] = json!(failed);
            }
            state.record_event(
                &job,
                "Normal",
                "Completed",
                "Job completed",
                "job-controller",
            );
        } else if failed > backoff_limit {
            let msg = "Job has reached the specified backoff limit";
            let c1 = condition(
                state,
                &key,
                "FailureTarget",
                "True",
                "BackoffLimitExceeded",
                msg,
                false,
            );
            let c2 = condition(
                state,
                &key,
                "Failed",
                "True",
                "BackoffLimitExceeded",
                msg,
                false,
            );
            status["conditions"] = json!([with_probe_time(c1), with_probe_time(c2)]);
            status["failed"] = json!(failed);
            status["ready"] = json!(0);
            if succeeded > 0 {
                status["succeeded"] = json!(succeeded);
            }
            for (k, _) in &active {
                state.remove(k);
            }
            state.record_event(
                &job,
                "Warning",
                "BackoffLimitExceeded",
                msg,
                "job-controller",
            );
        } else {
            let wanted = parallelism.min(completions - succeeded);
            let mut running = active.len() as i64;
            while running < wanted {
                let name = format!("{}-{}", key.name, state.rng.suffix());
                let job_name = key.name.clone();
                let pod = pod_from_template(
                    &job,
                    &job["spec"]["template"],
                    &name,
                    &[
                        ("batch.kubernetes.io/job-name", job_name.clone()),
                        ("job-name", job_name),
                    ],
                );
                if state.create_as_system(pod).is_err() {
                    break;
                }
                state.record_event(
                    &job,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {name}"),
                    "job-controller",
                );
                running += 1;
            }
            status["active"] = json!(running);
            status["ready"] = json!(active.iter().filter(|(_, p)| is_pod_ready(p)).count());
            if succeeded > 0 {
                status["succeeded"] = json!(succeeded);
            }
            if failed > 0 {
                status["failed"] = json!(failed);
            }
        }
        job["status"] = status;
        state.update_if_changed(&key, job);
    }
}

fn with_probe_time(mut c: Value) -> Value {
    c["lastProbeTime"] = c["lastTransitionTime"].clone();
    c
}

/// Claims bind at once, or wait for a pod that uses them with a WaitForFirstConsumer class.
pub fn pvcs(state: &mut State) {
    let claims: Vec<(ObjKey, Value)> = state
        .list("", "persistentvolumeclaims", None)
        .filter(|(_, c)| c["status"]["phase"] != "Bound")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, mut pvc) in claims {
        let class = pvc["spec"]["storageClassName"]
            .as_str()
            .unwrap_or("standard")
            .to_string();
        let Some(sc) = state
            .get(&ObjKey {
                group: "storage.k8s.io".into(),
                plural: "storageclasses".into(),
                namespace: String::new(),
                name: class.clone(),
            })
            .cloned()
        else {
            state.record_event_once(
                &pvc,
                "Warning",
                "ProvisioningFailed",
                &format!("storageclass.storage.k8s.io \"{class}\" not found"),
                "persistentvolume-controller",
            );
            continue;
        };
        if sc["volumeBindingMode"] == "WaitForFirstConsumer" {
            let used = state.list("", "pods", Some(&key.namespace)).any(|(_, p)| {
                p["spec"]["volumes"].as_array().is_some_and(|vs| {
                    vs.iter()
                        .any(|v| v["persistentVolumeClaim"]["claimName"] == key.name.as_str())
                })
            });
            if !used {
                state.record_event_once(
                    &pvc,
                    "Normal",
                    "WaitForFirstConsumer",
                    "waiting for first consumer to be created before binding",
                    "persistentvolume-controller",
                );
                continue;
            }
        }
        let uid = pvc["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        pvc["spec"]["volumeName"] = json!(format!("pvc-{uid}"));
        pvc["status"] = json!({
            "phase": "Bound",
            "accessModes": pvc["spec"]["accessModes"],
            "capacity": {"storage": pvc["spec"]["resources"]["requests"]["storage"]},
        });
        state.update_if_changed(&key, pvc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;

    fn progressing_reason(state: &State, key: &ObjKey) -> String {
        let d = state.get(key).expect("deployment");
        d["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Progressing")
            .map(|c| c["reason"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    /// A template change that lands between the ReplicaSet step and the status step starts a
    /// new rollout then; it is not measured from the previous rollout's start.
    #[test]
    fn a_template_changed_between_steps_is_not_past_its_progress_deadline() {
        let (notify, _) = tokio::sync::watch::channel(0);
        // One real millisecond is 1,000 simulated seconds.
        let mut state = State::new(SimConfig::default().time_scale(1_000_000.0), notify);
        state
            .create_as_system(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}),
            )
            .expect("namespace");
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "app"},
            "spec": {"replicas": 1, "progressDeadlineSeconds": 600,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
        });
        state.create_as_system(deployment).expect("deployment");
        let key = ObjKey::apps("deployments", "app", "web");
        for step in crate::controllers::STEPS {
            step(&mut state);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        let mut changed = state.get(&key).expect("deployment").clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
        state.update_if_changed(&key, changed);
        deployment_status(&mut state);
        assert_ne!(progressing_reason(&state, &key), "ProgressDeadlineExceeded");
    }
}
