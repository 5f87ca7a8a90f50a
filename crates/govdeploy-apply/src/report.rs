//! The failure report of a node: what the objects say (conditions), what their pods say
//! (container states, init containers too), what the cluster said (recent Warning events)
//! and what the program said (the last log lines, of the previous container when it crash
//! loops). The shaping is pure; `collect` fetches what it needs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::Cluster;
use crate::health::pod_problems;

/// How many log lines and events a report keeps.
pub const LOG_LINES: usize = 20;
pub const MAX_EVENTS: usize = 10;
const MAX_PODS_WITH_LOGS: usize = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureReport {
    pub node: String,
    pub reason: String,
    pub message: String,
    pub conditions: Vec<ConditionLine>,
    pub containers: Vec<ContainerLine>,
    pub events: Vec<EventLine>,
    pub logs: Vec<LogExcerpt>,
    /// What to do about it, when the reason says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionLine {
    pub object: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerLine {
    pub pod: String,
    pub container: String,
    pub init: bool,
    /// `waiting: CrashLoopBackOff`, `running`, `terminated: Error (exit 1)`.
    pub state: String,
    pub restarts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_terminated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventLine {
    pub object: String,
    pub reason: String,
    pub message: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogExcerpt {
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub lines: Vec<String>,
}

fn s<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `Kind/name` of an object.
fn short_ref(v: &Value) -> String {
    format!("{}/{}", s(v, "/kind"), s(v, "/metadata/name"))
}

/// The conditions of live objects that are not in their good state.
pub fn conditions(live: &[Value]) -> Vec<ConditionLine> {
    live.iter()
        .flat_map(|obj| {
            let object = short_ref(obj);
            obj.pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(move |c| ConditionLine {
                    object: object.clone(),
                    type_: s(c, "/type").to_string(),
                    status: s(c, "/status").to_string(),
                    reason: s(c, "/reason").to_string(),
                    message: s(c, "/message").to_string(),
                })
        })
        .collect()
}

fn state_text(state: &Value) -> String {
    if let Some(w) = state.get("waiting") {
        return format!("waiting: {}", s(w, "/reason"));
    }
    if let Some(t) = state.get("terminated") {
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        return format!("terminated: {} (exit {code})", s(t, "/reason"));
    }
    if state.get("running").is_some() {
        return "running".into();
    }
    "unknown".into()
}

/// Container states of pods, init containers first.
pub fn containers(pods: &[Value]) -> Vec<ContainerLine> {
    let mut out = Vec::new();
    for pod in pods {
        let name = s(pod, "/metadata/name");
        for (field, init) in [
            ("initContainerStatuses", true),
            ("containerStatuses", false),
        ] {
            for c in pod
                .pointer(&format!("/status/{field}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(ContainerLine {
                    pod: name.to_string(),
                    container: s(c, "/name").to_string(),
                    init,
                    state: c.get("state").map(state_text).unwrap_or_default(),
                    restarts: c.get("restartCount").and_then(Value::as_i64).unwrap_or(0),
                    last_terminated: c
                        .pointer("/lastState/terminated")
                        .map(|t| state_text(&serde_json::json!({"terminated": t}))),
                });
            }
        }
    }
    out
}

/// Warning events about the given objects (by name), most recent last, at most
/// [`MAX_EVENTS`].
pub fn warning_events(events: &[Value], names: &[String]) -> Vec<EventLine> {
    let mut matching: Vec<&Value> = events
        .iter()
        .filter(|e| s(e, "/type") == "Warning")
        .filter(|e| names.iter().any(|n| n == s(e, "/involvedObject/name")))
        .collect();
    let time = |e: &Value| {
        [
            "/lastTimestamp",
            "/eventTime",
            "/firstTimestamp",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .map(|p| s(e, p))
        .find(|t| !t.is_empty())
        .unwrap_or("")
        .to_string()
    };
    matching.sort_by_key(|e| time(e));
    let skip = matching.len().saturating_sub(MAX_EVENTS);
    matching
        .into_iter()
        .skip(skip)
        .map(|e| EventLine {
            object: format!(
                "{}/{}",
                s(e, "/involvedObject/kind"),
                s(e, "/involvedObject/name")
            ),
            reason: s(e, "/reason").to_string(),
            message: s(e, "/message").to_string(),
            count: e.get("count").and_then(Value::as_i64).unwrap_or(1),
        })
        .collect()
}

/// The last `n` lines of a log.
pub fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(n);
    lines[skip..].iter().map(|l| l.to_string()).collect()
}

/// A hint for well-known reasons.
pub fn hint(reason: &str) -> Option<String> {
    let text = match reason {
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => {
            "check the image name and tag (govdeploy images ENV), that the registry mirror holds it, and pull credentials"
        }
        "CrashLoopBackOff" | "Error" => {
            "the program exits: read the log lines above (previous container)"
        }
        "OOMKilled" => "raise spec.components.<name>.memory (the heap follows it)",
        "CreateContainerConfigError" => {
            "a ConfigMap or Secret key the pod reads is missing: check the secrets file"
        }
        "FailedScheduling" => {
            "no node fits the pod: see govdeploy plan's capacity verdict, add nodes or lower requests"
        }
        "BackoffLimitExceeded" | "JobAttemptFailed" => {
            "the Job's pod exited with an error: read the log lines above"
        }
        "Conflict" => {
            "another field manager owns these fields; re-run with --force-conflicts to take them over"
        }
        _ => return None,
    };
    Some(text.to_string())
}

/// Pods whose labels include every label of `selector`.
pub fn selected<'p>(
    pods: &'p [Value],
    selector: &serde_json::Map<String, Value>,
) -> Vec<&'p Value> {
    if selector.is_empty() {
        return Vec::new();
    }
    pods.iter()
        .filter(|p| {
            let labels = p.pointer("/metadata/labels").and_then(Value::as_object);
            labels.is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
        })
        .collect()
}

/// Containers that exited non-zero and stay terminated (a Job's failed attempt): their own
/// log is the one to read.
pub fn failed_containers(pod: &Value) -> Vec<String> {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|field| pod.pointer(&format!("/status/{field}"))?.as_array())
        .flatten()
        .filter(|c| {
            c.pointer("/state/terminated/exitCode")
                .and_then(Value::as_i64)
                .is_some_and(|code| code != 0)
        })
        .map(|c| s(c, "/name").to_string())
        .collect()
}

/// Fetches events and logs and assembles the report of a failed node.
pub(crate) async fn collect(
    cluster: &Cluster,
    node: &str,
    reason: &str,
    message: &str,
    namespace: Option<&str>,
    live: &[Value],
    pods: &[Value],
) -> FailureReport {
    let mut report = FailureReport {
        node: node.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        conditions: conditions(live),
        containers: containers(pods),
        hint: hint(reason),
        ..FailureReport::default()
    };
    let Some(namespace) = namespace else {
        return report;
    };
    let mut names: Vec<String> = live
        .iter()
        .map(|o| s(o, "/metadata/name").to_string())
        .collect();
    names.extend(pods.iter().map(|p| s(p, "/metadata/name").to_string()));
    if let Ok(events) = cluster
        .list(&format!("/api/v1/namespaces/{namespace}/events"), "")
        .await
    {
        report.events = warning_events(&events, &names);
    }
    let mut with_problems: Vec<(&Value, String, bool)> = Vec::new();
    for pod in pods {
        for problem in pod_problems(pod) {
            if let Some(container) = problem.container {
                let previous = problem.restarts > 0;
                with_problems.push((pod, container, previous));
            }
        }
        with_problems.extend(
            failed_containers(pod)
                .into_iter()
                .map(|container| (pod, container, false)),
        );
    }
    with_problems.dedup_by(|a, b| std::ptr::eq(a.0, b.0) && a.1 == b.1);
    for (pod, container, previous) in with_problems.into_iter().take(MAX_PODS_WITH_LOGS) {
        let pod_name = s(pod, "/metadata/name");
        let base = format!("/api/v1/namespaces/{namespace}/pods/{pod_name}/log");
        let query = format!("container={container}&tailLines={LOG_LINES}");
        let mut text = None;
        let mut used_previous = false;
        if previous && let Ok(t) = cluster.text(&format!("{base}?{query}&previous=true")).await {
            text = Some(t);
            used_previous = true;
        }
        if text.is_none()
            && let Ok(t) = cluster.text(&format!("{base}?{query}")).await
        {
            text = Some(t);
        }
        if let Some(t) = text {
            report.logs.push(LogExcerpt {
                pod: pod_name.to_string(),
                container,
                previous: used_previous,
                lines: tail(&t, LOG_LINES),
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn warning_events_for_the_workload_and_its_pods_only() {
        let events = vec![
            json!({"type": "Warning", "reason": "Failed", "message": "Failed to pull image",
                   "involvedObject": {"kind": "Pod", "name": "egov-user-1"}, "count": 3,
                   "lastTimestamp": "2026-12-01T10:00:02Z"}),
            json!({"type": "Normal", "reason": "Pulling", "message": "Pulling image",
                   "involvedObject": {"kind": "Pod", "name": "egov-user-1"}}),
            json!({"type": "Warning", "reason": "BackOff", "message": "other",
                   "involvedObject": {"kind": "Pod", "name": "pgr-services-1"}}),
            json!({"type": "Warning", "reason": "FailedCreate", "message": "quota",
                   "involvedObject": {"kind": "ReplicaSet", "name": "egov-user"},
                   "lastTimestamp": "2026-12-01T10:00:01Z"}),
        ];
        let lines = warning_events(&events, &["egov-user".into(), "egov-user-1".into()]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].reason, "FailedCreate");
        assert_eq!(lines[1].object, "Pod/egov-user-1");
        assert_eq!(lines[1].count, 3);
    }

    #[test]
    fn container_lines_show_init_containers_and_last_termination() {
        let pod = json!({"metadata": {"name": "p"}, "status": {
            "initContainerStatuses": [{"name": "git-sync", "restartCount": 0,
                "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}],
            "containerStatuses": [{"name": "app", "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]}});
        let lines = containers(&[pod]);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].init);
        assert_eq!(lines[0].state, "terminated: Completed (exit 0)");
        assert_eq!(lines[1].state, "waiting: CrashLoopBackOff");
        assert_eq!(
            lines[1].last_terminated.as_deref(),
            Some("terminated: Error (exit 1)")
        );
    }

    #[test]
    fn tail_keeps_the_last_lines_and_selectors_match_subsets() {
        assert_eq!(tail("a\nb\nc\n", 2), vec!["b", "c"]);
        assert_eq!(tail("a", 5), vec!["a"]);
        let pods = vec![
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "x", "pod-template-hash": "1"}}}),
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "y"}}}),
        ];
        let sel = json!({"app.kubernetes.io/name": "x"});
        let sel = sel.as_object().cloned().unwrap_or_default();
        assert_eq!(selected(&pods, &sel).len(), 1);
        assert!(selected(&pods, &serde_json::Map::new()).is_empty());
    }
}
