//! Pod-level reasons a workload will not become ready by waiting: the container cannot be
//! pulled, created or kept running, or the pod cannot be placed.

use serde::Serialize;
use serde_json::Value;

/// Waiting reasons that mean the container will not start by itself.
const WAITING_FAILURES: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Restarts after which a running, unready container that exited non-zero counts as crash
/// looping.
const CRASH_LOOP_RESTARTS: i64 = 2;

/// Reasons kubelet alternates between for the same problem count as one for the grace period
/// (`ErrImagePull` and `ImagePullBackOff` take turns on every back-off).
pub fn reason_family(reason: &str) -> &str {
    match reason {
        "ErrImagePull" | "ImagePullBackOff" => "ImagePullBackOff",
        "CreateContainerConfigError" | "CreateContainerError" => "CreateContainerError",
        "CrashLoopBackOff" | "OOMKilled" | "Error" => "CrashLoopBackOff",
        other => other,
    }
}

/// One reason a pod is not progressing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodProblem {
    pub pod: String,
    /// Absent for scheduling problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub init_container: bool,
    /// `CrashLoopBackOff`, `ImagePullBackOff`, `OOMKilled`, `FailedScheduling`...
    pub reason: String,
    pub message: String,
    pub restarts: i64,
}

impl PodProblem {
    /// One line for reports: `pod/x container y: ImagePullBackOff (message)`.
    pub fn describe(&self) -> String {
        let mut out = format!("pod {}", self.pod);
        if let Some(c) = &self.container {
            let kind = if self.init_container {
                "init container"
            } else {
                "container"
            };
            out.push_str(&format!(" {kind} {c}"));
        }
        out.push_str(&format!(": {}", self.reason));
        if self.restarts > 0 {
            out.push_str(&format!(" after {} restart(s)", self.restarts));
        }
        if !self.message.is_empty() {
            out.push_str(&format!(" ({})", self.message));
        }
        out
    }
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer)?.as_str()
}

/// Problems of one pod, worst first: container problems (init containers first, in the order
/// they run), then scheduling.
pub fn pod_problems(pod: &Value) -> Vec<PodProblem> {
    let name = str_at(pod, "/metadata/name").unwrap_or("?").to_string();
    let mut problems = Vec::new();
    for (field, init) in [
        ("initContainerStatuses", true),
        ("containerStatuses", false),
    ] {
        let statuses = pod
            .pointer(&format!("/status/{field}"))
            .and_then(Value::as_array);
        for status in statuses.into_iter().flatten() {
            if let Some(problem) = container_problem(&name, status, init) {
                problems.push(problem);
            }
        }
    }
    let unschedulable = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| {
            c.get("type").and_then(Value::as_str) == Some("PodScheduled")
                && c.get("status").and_then(Value::as_str) == Some("False")
                && c.get("reason").and_then(Value::as_str) == Some("Unschedulable")
        });
    if let Some(c) = unschedulable {
        problems.push(PodProblem {
            pod: name,
            container: None,
            init_container: false,
            reason: "FailedScheduling".into(),
            message: c
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no node fits the pod")
                .to_string(),
            restarts: 0,
        });
    }
    problems
}

fn container_problem(pod: &str, status: &Value, init: bool) -> Option<PodProblem> {
    let container = str_at(status, "/name").map(str::to_string);
    let restarts = status
        .get("restartCount")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let make = |reason: &str, message: &str| PodProblem {
        pod: pod.to_string(),
        container: container.clone(),
        init_container: init,
        reason: reason.to_string(),
        message: message.to_string(),
        restarts,
    };
    // OOMKilled shows as the last termination while the container waits to restart.
    for pointer in ["/state/terminated", "/lastState/terminated"] {
        if str_at(status, &format!("{pointer}/reason")) == Some("OOMKilled") {
            return Some(make(
                "OOMKilled",
                "the container exceeded its memory limit; raise spec.components.<name>.memory",
            ));
        }
    }
    if let Some(reason) = str_at(status, "/state/waiting/reason")
        && WAITING_FAILURES.contains(&reason)
    {
        let message = str_at(status, "/state/waiting/message").unwrap_or("");
        return Some(make(reason, message));
    }
    // Between crash-loop back-offs the container runs for a moment: a container that keeps
    // restarting after non-zero exits is crash looping even while it runs.
    let last_exit = status
        .pointer("/lastState/terminated/exitCode")
        .and_then(Value::as_i64);
    let ready = status
        .get("ready")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if status.pointer("/state/running").is_some()
        && !ready
        && restarts >= CRASH_LOOP_RESTARTS
        && last_exit.is_some_and(|code| code != 0)
    {
        let code = last_exit.unwrap_or(0);
        return Some(make(
            "CrashLoopBackOff",
            &format!("restarting after exit code {code}"),
        ));
    }
    // An init container that exits non-zero keeps the pod from ever starting.
    if init
        && let Some(code) = status
            .pointer("/state/terminated/exitCode")
            .and_then(Value::as_i64)
        && code != 0
    {
        let reason = str_at(status, "/state/terminated/reason").unwrap_or("Error");
        return Some(make(reason, &format!("exited with code {code}")));
    }
    None
}
