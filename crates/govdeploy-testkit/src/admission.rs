//! What the API server does to every write before storing it: system metadata, defaults for the
//! common kinds, and the validation rules clients trip over (names, selectors, immutable fields).

use crate::resources::ResourceType;
use crate::ssa;
use crate::state::State;
use crate::status::ApiError;
use base64::Engine;
use serde_json::{Map, Value, json};

/// Prepares `new` (the object to store, replacing `old` if present) for storage.
/// `status_write` is true for writes through the status subresource.
pub fn admit(
    state: &mut State,
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    status_write: bool,
) -> Result<(), ApiError> {
    if !new.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was not a JSON object",
        ));
    }
    new["apiVersion"] = json!(rt.api_version());
    new["kind"] = json!(rt.kind);
    if !new["metadata"].is_object() {
        new["metadata"] = json!({});
    }
    if let Some(meta) = new["metadata"].as_object_mut() {
        meta.retain(|_, v| !v.is_null());
    }
    if new["metadata"]["name"].as_str().is_none_or(str::is_empty)
        && let Some(prefix) = new["metadata"]["generateName"].as_str().map(str::to_string)
        && old.is_none()
    {
        let name = format!("{prefix}{}", state.rng.suffix());
        new["metadata"]["name"] = json!(name);
    }
    let name = new["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match old {
        None => {
            let uid = state.fresh_uid();
            new["metadata"]["uid"] = json!(uid);
            new["metadata"]["creationTimestamp"] = json!(state.now_string());
            if rt.has_generation {
                new["metadata"]["generation"] = json!(1);
            } else if let Some(m) = new["metadata"].as_object_mut() {
                m.remove("generation");
            }
        }
        Some(old) => {
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ] {
                match old["metadata"].get(k) {
                    Some(v) => new["metadata"][k] = v.clone(),
                    None => {
                        if let Some(m) = new["metadata"].as_object_mut() {
                            m.remove(k);
                        }
                    }
                }
            }
            if rt.has_status {
                if status_write {
                    let status = new.get("status").cloned();
                    let mut kept = old.clone();
                    kept["metadata"] = new["metadata"].clone();
                    match status {
                        Some(s) => kept["status"] = s,
                        None => {
                            if let Some(m) = kept.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                    *new = kept;
                } else {
                    match old.get("status") {
                        Some(s) => new["status"] = s.clone(),
                        None => {
                            if let Some(m) = new.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
            }
            if rt.has_generation {
                let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
                let bumped = if ssa::spec_changed(old, new) {
                    generation + 1
                } else {
                    generation
                };
                new["metadata"]["generation"] = json!(bumped);
            }
        }
    }
    if rt.namespaced {
        if new["metadata"]["namespace"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            new["metadata"]["namespace"] = json!("default");
        }
    } else if let Some(m) = new["metadata"].as_object_mut() {
        m.remove("namespace");
    }
    if old.is_none()
        && rt.has_status
        && !status_write
        && rt.group != "apiextensions.k8s.io"
        && rt.kind != "Node"
        && let Some(m) = new.as_object_mut()
    {
        m.remove("status");
    }
    apply_defaults(state, rt, old, new);
    let mut causes = Vec::new();
    validate(rt, old, new, &name, &mut causes);
    if !causes.is_empty() {
        return Err(ApiError::invalid(&rt.qualified_kind(), &name, &causes));
    }
    Ok(())
}

fn set_default(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut()
        && m.get(key).is_none_or(Value::is_null)
    {
        m.insert(key.to_string(), value);
    }
}

fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "securityContext", json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(containers) = spec[list].as_array_mut() {
            for c in containers {
                set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
                set_default(c, "terminationMessagePolicy", json!("File"));
                let image = c["image"].as_str().unwrap_or_default();
                let last = image.rsplit('/').next().unwrap_or_default();
                let tagged =
                    last.contains(':') && !last.ends_with(":latest") || image.contains('@');
                set_default(
                    c,
                    "imagePullPolicy",
                    json!(if tagged { "IfNotPresent" } else { "Always" }),
                );
                set_default(c, "resources", json!({}));
                if let Some(ports) = c["ports"].as_array_mut() {
                    for p in ports {
                        set_default(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}

fn default_template(obj: &mut Value) {
    if obj["spec"]["template"]["spec"].is_object() {
        default_pod_spec(&mut obj["spec"]["template"]["spec"]);
    }
}

fn apply_defaults(state: &mut State, rt: &ResourceType, old: Option<&Value>, obj: &mut Value) {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Pod") => {
            default_pod_spec(&mut obj["spec"]);
            set_default(&mut obj["spec"], "serviceAccountName", json!("default"));
        }
        ("apps", "Deployment") => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            set_default(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
            default_template(obj);
        }
        ("apps", "ReplicaSet") => {
            set_default(&mut obj["spec"], "replicas", json!(1));
            default_template(obj);
        }
        ("apps", "StatefulSet") => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            set_default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            default_template(obj);
        }
        ("apps", "DaemonSet") => {
            let spec = &mut obj["spec"];
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
            );
            default_template(obj);
        }
        ("batch", "Job") => {
            let spec = &mut obj["spec"];
            set_default(spec, "backoffLimit", json!(6));
            set_default(spec, "completions", json!(1));
            set_default(spec, "parallelism", json!(1));
            set_default(spec, "completionMode", json!("NonIndexed"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
            let manual = spec["manualSelector"].as_bool().unwrap_or(false);
            if !manual && obj["spec"]["selector"].is_null() && old.is_none() {
                let uid = obj["metadata"]["uid"].clone();
                let name = obj["metadata"]["name"].clone();
                obj["spec"]["selector"] =
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
                let labels = &mut obj["spec"]["template"]["metadata"]["labels"];
                if !labels.is_object() {
                    *labels = json!({});
                }
                for (k, v) in [
                    ("batch.kubernetes.io/controller-uid", uid.clone()),
                    ("batch.kubernetes.io/job-name", name.clone()),
                    ("controller-uid", uid),
                    ("job-name", name),
                ] {
                    labels[k] = v;
                }
            }
            default_template(obj);
        }
        ("batch", "CronJob") => {
            let spec = &mut obj["spec"];
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            if obj["spec"]["jobTemplate"]["spec"]["template"]["spec"].is_object() {
                default_pod_spec(&mut obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
            }
        }
        ("", "Service") => {
            let spec = &mut obj["spec"];
            if !spec.is_object() {
                *spec = json!({});
            }
            set_default(spec, "type", json!("ClusterIP"));
            set_default(spec, "sessionAffinity", json!("None"));
            set_default(spec, "internalTrafficPolicy", json!("Cluster"));
            if spec["type"] != "ExternalName" {
                let ip = match old.and_then(|o| o["spec"]["clusterIP"].as_str()) {
                    Some(ip) => ip.to_string(),
                    None => match spec["clusterIP"].as_str() {
                        Some(ip) if !ip.is_empty() => ip.to_string(),
                        _ => {
                            let n = state.next_cluster_ip;
                            state.next_cluster_ip += 1;
                            format!("10.96.{}.{}", n / 250, n % 250 + 1)
                        }
                    },
                };
                spec["clusterIP"] = json!(ip);
                spec["clusterIPs"] = json!([ip]);
                set_default(spec, "ipFamilies", json!(["IPv4"]));
                set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
            }
            if let Some(ports) = spec["ports"].as_array_mut() {
                for p in ports {
                    set_default(p, "protocol", json!("TCP"));
                    let port = p["port"].clone();
                    set_default(p, "targetPort", port);
                }
            }
            if obj.get("status").is_none() {
                obj["status"] = json!({"loadBalancer": {}});
            }
        }
        ("", "Namespace") => {
            let name = obj["metadata"]["name"].clone();
            if !obj["metadata"]["labels"].is_object() {
                obj["metadata"]["labels"] = json!({});
            }
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
            set_default(obj, "spec", json!({"finalizers": ["kubernetes"]}));
            if obj["status"]["phase"].is_null() {
                obj["status"] = json!({"phase": "Active"});
            }
        }
        ("", "Secret") => {
            set_default(obj, "type", json!("Opaque"));
            if let Some(Value::Object(string_data)) =
                obj.as_object_mut().and_then(|m| m.remove("stringData"))
            {
                if !obj["data"].is_object() {
                    obj["data"] = json!({});
                }
                for (k, v) in string_data {
                    let text = v.as_str().unwrap_or_default().to_string();
                    obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            let spec = &mut obj["spec"];
            set_default(spec, "volumeMode", json!("Filesystem"));
            set_default(spec, "storageClassName", json!("standard"));
            if obj["status"]["phase"].is_null() {
                obj["status"] = json!({"phase": "Pending"});
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            let names = obj["spec"]["names"].clone();
            obj["status"] = json!({
                "acceptedNames": names,
                "storedVersions": obj["spec"]["versions"].as_array().map(|vs| vs.iter().filter(|v| v["storage"] == true).map(|v| v["name"].clone()).collect::<Vec<_>>()).unwrap_or_default(),
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": state.now_string()},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": state.now_string()},
                ]
            });
        }
        _ => {}
    }
}

const SUBDOMAIN_HELP: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_HELP: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_dns_subdomain(s: &str, allow_dots: bool) -> bool {
    let max = if allow_dots { 253 } else { 63 };
    !s.is_empty()
        && s.len() <= max
        && s.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (allow_dots && c == '.')
        })
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

type Causes = Vec<(String, String, String)>;

fn cause(causes: &mut Causes, reason: &str, field: &str, message: String) {
    causes.push((reason.to_string(), field.to_string(), message));
}

fn validate(rt: &ResourceType, old: Option<&Value>, obj: &Value, name: &str, causes: &mut Causes) {
    if name.is_empty() {
        cause(
            causes,
            "FieldValueRequired",
            "metadata.name",
            "Required value: name or generateName is required".into(),
        );
    } else {
        let label_only = matches!(rt.kind.as_str(), "Namespace" | "Service");
        let allow_dots = !label_only && rt.kind != "Event";
        if rt.kind != "Event" && !is_dns_subdomain(name, allow_dots) {
            let help = if label_only {
                LABEL_HELP
            } else {
                SUBDOMAIN_HELP
            };
            cause(
                causes,
                "FieldValueInvalid",
                "metadata.name",
                format!("Invalid value: \"{name}\": {help}"),
            );
        }
    }
    let workload = matches!((rt.group.as_str(), rt.kind.as_str()), ("apps", _) if rt.kind != "ControllerRevision");
    if workload {
        let selector = &obj["spec"]["selector"];
        if selector.is_null() {
            cause(
                causes,
                "FieldValueRequired",
                "spec.selector",
                "Required value".into(),
            );
        } else {
            let labels = &obj["spec"]["template"]["metadata"]["labels"];
            if !crate::selectors::LabelSelector::from_object(selector).matches(labels) {
                cause(
                    causes,
                    "FieldValueInvalid",
                    "spec.template.metadata.labels",
                    format!("Invalid value: {labels}: `selector` does not match template `labels`"),
                );
            }
        }
        if let Some(old) = old
            && old["spec"]["selector"] != obj["spec"]["selector"]
        {
            cause(
                causes,
                "FieldValueInvalid",
                "spec.selector",
                format!(
                    "Invalid value: {}: field is immutable",
                    obj["spec"]["selector"]
                ),
            );
        }
        if rt.kind == "StatefulSet"
            && let Some(old) = old
        {
            let allowed = [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
                "revisionHistoryLimit",
            ];
            let strip = |v: &Value| -> Map<String, Value> {
                v["spec"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| !allowed.contains(&k.as_str()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            if strip(old) != strip(obj) {
                cause(causes, "FieldValueForbidden", "spec", "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden".into());
            }
        }
    }
    let pod_spec = match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Pod") => Some(("spec", &obj["spec"])),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch", "Job") => {
            Some(("spec.template.spec", &obj["spec"]["template"]["spec"]))
        }
        ("batch", "CronJob") => Some((
            "spec.jobTemplate.spec.template.spec",
            &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        )),
        _ => None,
    };
    if let Some((path, spec)) = pod_spec {
        match spec["containers"].as_array() {
            Some(cs) if !cs.is_empty() => {
                for (i, c) in cs.iter().enumerate() {
                    if c["name"].as_str().is_none_or(str::is_empty) {
                        cause(
                            causes,
                            "FieldValueRequired",
                            &format!("{path}.containers[{i}].name"),
                            "Required value".into(),
                        );
                    }
                    if c["image"].as_str().is_none_or(str::is_empty) {
                        cause(
                            causes,
                            "FieldValueRequired",
                            &format!("{path}.containers[{i}].image"),
                            "Required value".into(),
                        );
                    }
                }
            }
            _ => cause(
                causes,
                "FieldValueRequired",
                &format!("{path}.containers"),
                "Required value".into(),
            ),
        }
        if matches!(rt.kind.as_str(), "Job" | "CronJob")
            && !matches!(spec["restartPolicy"].as_str(), Some("Never" | "OnFailure"))
        {
            cause(
                causes,
                "FieldValueRequired",
                &format!("{path}.restartPolicy"),
                "Required value: valid values: \"OnFailure\", \"Never\"".into(),
            );
        }
    }
    if rt.kind == "Job"
        && let Some(old) = old
        && old["spec"]["template"] != obj["spec"]["template"]
    {
        cause(
            causes,
            "FieldValueInvalid",
            "spec.template",
            "Invalid value: the pod template: field is immutable".into(),
        );
    }
    if matches!(rt.kind.as_str(), "ConfigMap" | "Secret")
        && let Some(old) = old
        && old["immutable"] == true
        && (old["data"] != obj["data"] || old["binaryData"] != obj["binaryData"])
    {
        cause(
            causes,
            "FieldValueForbidden",
            "data",
            "Forbidden: field is immutable when `immutable` is set".into(),
        );
    }
    if rt.kind == "Service"
        && let Some(old) = old
        && old["spec"]["clusterIP"] != obj["spec"]["clusterIP"]
    {
        cause(
            causes,
            "FieldValueInvalid",
            "spec.clusterIP",
            format!(
                "Invalid value: {}: field is immutable",
                obj["spec"]["clusterIP"]
            ),
        );
    }
}
