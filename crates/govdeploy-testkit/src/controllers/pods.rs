//! The kubelet and scheduler of the simulation: a pod's status is a function of its behaviour
//! and of the simulated time since it was created.

use super::{PodSim, condition};
use crate::config::{Behaviour, Matcher};
use crate::selectors::LabelSelector;
use crate::state::{ObjKey, State};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

/// Simulated seconds of the first container start (image pulled, container created).
const START: f64 = 1.0;

fn behaviour_for(state: &State, pod: &Value) -> (Behaviour, Option<String>, Vec<String>) {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let images: Vec<&str> = ["initContainers", "containers"]
        .iter()
        .flat_map(|l| pod["spec"][*l].as_array().into_iter().flatten())
        .filter_map(|c| c["image"].as_str())
        .collect();
    for rule in &state.config.behaviours {
        if rule.namespace.as_deref().is_some_and(|n| n != ns) {
            continue;
        }
        let (hit, filter) = match &rule.matcher {
            Matcher::Any => (true, None),
            Matcher::Labels(sel) => (
                LabelSelector::parse(sel).is_ok_and(|s| s.matches(&pod["metadata"]["labels"])),
                None,
            ),
            Matcher::Image(sub) => (
                images.iter().any(|i| i.contains(sub.as_str())),
                Some(sub.clone()),
            ),
        };
        if hit {
            return (rule.behaviour.clone(), filter, rule.logs.clone());
        }
    }
    (
        Behaviour::Ready {
            after: state.config.default_ready_after,
        },
        None,
        Vec::new(),
    )
}

fn default_logs(b: &Behaviour, name: &str) -> Vec<String> {
    match b {
        Behaviour::Ready { .. } | Behaviour::NeverReady => vec![format!("{name}: started")],
        Behaviour::CrashLoopBackOff { exit_code, .. } => {
            vec![
                format!("{name}: starting"),
                format!("{name}: fatal error, exiting with code {exit_code}"),
            ]
        }
        Behaviour::OomKilled { .. } => vec![
            format!("{name}: starting"),
            format!("{name}: allocating memory"),
        ],
        Behaviour::JobFailure { exit_code, .. } => {
            vec![
                format!("{name}: running"),
                format!("{name}: failed with exit code {exit_code}"),
            ]
        }
        _ => Vec::new(),
    }
}

/// What one container is doing at a moment.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Creating,
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        since: f64,
        ready: bool,
    },
    Terminated {
        exit_code: i32,
        reason: String,
        started: f64,
        finished: f64,
    },
}

#[derive(Debug, Clone)]
struct ContainerView {
    phase: Phase,
    restarts: u64,
    last: Option<(i32, String, f64, f64)>,
    /// The run whose output `logs` shows, and the previous run's, if any.
    current_run: Option<u64>,
}

fn backoff(k: u64) -> f64 {
    (10.0 * 2f64.powi(k.min(10) as i32)).min(300.0)
}

/// Start time of run `k` of a crash-looping container that runs `run` seconds each time.
fn crash_timeline(t: f64, run: f64) -> (u64, bool, f64, f64) {
    // Returns (k, running, start_k, end_k) for the run at or before t.
    let mut k = 0u64;
    let mut start = START;
    loop {
        let end = start + run;
        if t < end {
            return (k, true, start, end);
        }
        let next = end + backoff(k);
        if t < next || k > 10_000 {
            return (k, false, start, end);
        }
        k += 1;
        start = next;
    }
}

#[allow(clippy::too_many_arguments)]
fn container_view(
    b: &Behaviour,
    failing: bool,
    t: f64,
    ready_after: f64,
    to_completion: bool,
    image: &str,
    name: &str,
    pod: &str,
) -> ContainerView {
    let plain = |phase| ContainerView {
        phase,
        restarts: 0,
        last: None,
        current_run: None,
    };
    let healthy = |after: f64| {
        if t < (after * 0.5).clamp(0.0, START) {
            plain(Phase::Creating)
        } else if t < after {
            let mut v = plain(Phase::Running {
                since: (after * 0.5).min(START),
                ready: false,
            });
            v.current_run = Some(0);
            v
        } else if to_completion {
            let mut v = plain(Phase::Terminated {
                exit_code: 0,
                reason: "Completed".into(),
                started: (after * 0.5).min(START),
                finished: after,
            });
            v.current_run = Some(0);
            v
        } else {
            let mut v = plain(Phase::Running {
                since: (after * 0.5).min(START),
                ready: true,
            });
            v.current_run = Some(0);
            v
        }
    };
    if !failing {
        return healthy(ready_after);
    }
    let crash = |run: f64, exit_code: i32, reason: &str| {
        if t < START {
            return plain(Phase::Creating);
        }
        let (k, running, start, end) = crash_timeline(t, run.max(0.001));
        let last_of = |j: u64| -> (i32, String, f64, f64) {
            // Run j's start and end: recompute from the timeline.
            let (_, _, s, e) = crash_timeline(start_of_run(j, run), run.max(0.001));
            (exit_code, reason.to_string(), s, e)
        };
        if running {
            ContainerView {
                phase: Phase::Running {
                    since: start,
                    ready: false,
                },
                restarts: k,
                last: if k > 0 { Some(last_of(k - 1)) } else { None },
                current_run: Some(k),
            }
        } else {
            ContainerView {
                phase: Phase::Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: format!(
                        "back-off {}s restarting failed container={name} pod={pod}",
                        backoff(k) as u64
                    ),
                },
                restarts: k + 1,
                last: Some((exit_code, reason.to_string(), start, end)),
                current_run: Some(k),
            }
        }
    };
    match b {
        Behaviour::Ready { after } => healthy(after.as_secs_f64()),
        Behaviour::NeverReady => {
            if t < START {
                plain(Phase::Creating)
            } else {
                let mut v = plain(Phase::Running {
                    since: START,
                    ready: false,
                });
                v.current_run = Some(0);
                v
            }
        }
        Behaviour::ImagePullBackOff => {
            if t < START {
                plain(Phase::Creating)
            } else if t < START + 5.0 {
                plain(Phase::Waiting {
                    reason: "ErrImagePull".into(),
                    message: pull_error(image),
                })
            } else {
                plain(Phase::Waiting {
                    reason: "ImagePullBackOff".into(),
                    message: format!(
                        "Back-off pulling image \"{image}\": ErrImagePull: {}",
                        pull_error(image)
                    ),
                })
            }
        }
        Behaviour::CreateContainerConfigError { message } => {
            if t < START {
                plain(Phase::Creating)
            } else {
                plain(Phase::Waiting {
                    reason: "CreateContainerConfigError".into(),
                    message: message.clone(),
                })
            }
        }
        Behaviour::FailedScheduling { .. } => plain(Phase::Creating),
        Behaviour::CrashLoopBackOff { exit_code, run_for } => {
            crash(run_for.as_secs_f64(), *exit_code, "Error")
        }
        Behaviour::OomKilled { run_for } => crash(run_for.as_secs_f64(), 137, "OOMKilled"),
        Behaviour::JobFailure { exit_code, after } => {
            if to_completion {
                let a = after.as_secs_f64();
                if t < (a * 0.5).min(START) {
                    plain(Phase::Creating)
                } else if t < a {
                    let mut v = plain(Phase::Running {
                        since: (a * 0.5).min(START),
                        ready: false,
                    });
                    v.current_run = Some(0);
                    v
                } else {
                    let mut v = plain(Phase::Terminated {
                        exit_code: *exit_code,
                        reason: "Error".into(),
                        started: (a * 0.5).min(START),
                        finished: a,
                    });
                    v.current_run = Some(0);
                    v
                }
            } else {
                crash(after.as_secs_f64(), *exit_code, "Error")
            }
        }
    }
}

fn start_of_run(j: u64, run: f64) -> f64 {
    let mut start = START;
    for k in 0..j {
        start += run + backoff(k);
    }
    start
}

fn pull_error(image: &str) -> String {
    format!(
        "failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
    )
}

fn wall(sim: &PodSim, offset: f64, scale: f64) -> String {
    let real = if scale > 0.0 { offset / scale } else { offset };
    crate::util::rfc3339(sim.created_wall + Duration::from_secs_f64(real.max(0.0)))
}

fn state_json(sim: &PodSim, p: &Phase, scale: f64) -> Value {
    match p {
        Phase::Creating => json!({"waiting": {"reason": "ContainerCreating"}}),
        Phase::Waiting { reason, message } => {
            json!({"waiting": {"reason": reason, "message": message}})
        }
        Phase::Running { since, .. } => json!({"running": {"startedAt": wall(sim, *since, scale)}}),
        Phase::Terminated {
            exit_code,
            reason,
            started,
            finished,
        } => json!({"terminated": {
            "exitCode": exit_code, "reason": reason,
            "startedAt": wall(sim, *started, scale), "finishedAt": wall(sim, *finished, scale),
        }}),
    }
}

fn matches_filter(sim: &PodSim, image: &str) -> bool {
    sim.image_filter
        .as_deref()
        .is_none_or(|f| image.contains(f))
}

fn ensure_sim(state: &mut State, key: &ObjKey, pod: &Value) -> PodSim {
    if let Some(s) = state.sim.pods.get(key) {
        return s.clone();
    }
    let (behaviour, image_filter, logs) = behaviour_for(state, pod);
    let owner_kind = pod["metadata"]["ownerReferences"][0]["kind"]
        .as_str()
        .unwrap_or_default();
    let restart = pod["spec"]["restartPolicy"].as_str().unwrap_or("Always");
    state.sim.next_pod_ip += 1;
    let n = state.sim.next_pod_ip;
    let sim = PodSim {
        created_sim: state.sim_now(),
        created_wall: SystemTime::now(),
        behaviour,
        image_filter,
        logs,
        run_to_completion: owner_kind == "Job" || restart != "Always",
        ip: format!("10.244.{}.{}", n / 250, n % 250 + 1),
        emitted: Default::default(),
    };
    state.sim.pods.insert(key.clone(), sim.clone());
    sim
}

#[allow(clippy::too_many_arguments)]
fn emit(
    state: &mut State,
    key: &ObjKey,
    pod: &Value,
    once_key: String,
    etype: &str,
    reason: &str,
    message: String,
    component: &str,
) {
    let fresh = state
        .sim
        .pods
        .get_mut(key)
        .is_some_and(|s| s.emitted.insert(once_key));
    if fresh {
        state.record_event(pod, etype, reason, &message, component);
    }
}

/// Advances every pod's status.
pub fn pods(state: &mut State) {
    let keys: Vec<ObjKey> = state
        .list("", "pods", None)
        .map(|(k, _)| k.clone())
        .collect();
    let scale = state.config.time_scale;
    let default_after = state.config.default_ready_after.as_secs_f64();
    let nodes: Vec<String> = state
        .list("", "nodes", None)
        .map(|(k, _)| k.name.clone())
        .collect();
    for key in keys {
        let Some(mut pod) = state.get(&key).cloned() else {
            continue;
        };
        if pod["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        let sim = ensure_sim(state, &key, &pod);
        let t = state.sim_now() - sim.created_sim;
        let pod_name = key.name.clone();
        let uid = pod["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pod_ref = format!("{pod_name}_{}({uid})", key.namespace);
        let ready_after = match &sim.behaviour {
            Behaviour::Ready { after } => after.as_secs_f64(),
            _ => default_after,
        };

        if let Behaviour::FailedScheduling { message } = &sim.behaviour {
            let cond = condition(
                state,
                &key,
                "PodScheduled",
                "False",
                "Unschedulable",
                message,
                false,
            );
            pod["status"] =
                json!({"phase": "Pending", "qosClass": qos(&pod), "conditions": [cond]});
            emit(
                state,
                &key,
                &pod,
                "FailedScheduling".into(),
                "Warning",
                "FailedScheduling",
                message.clone(),
                "default-scheduler",
            );
            state.update_if_changed(&key, pod);
            continue;
        }

        let node = match pod["spec"]["nodeName"].as_str() {
            Some(n) => n.to_string(),
            None if nodes.is_empty() => "sim-node-0".to_string(),
            None => {
                state.sim.next_node += 1;
                let n = nodes[state.sim.next_node as usize % nodes.len()].clone();
                pod["spec"]["nodeName"] = json!(n);
                n
            }
        };
        emit(
            state,
            &key,
            &pod,
            "Scheduled".into(),
            "Normal",
            "Scheduled",
            format!(
                "Successfully assigned {}/{pod_name} to {node}",
                key.namespace
            ),
            "default-scheduler",
        );

        // Init containers run first; a misbehaving one holds the pod in initialisation.
        let inits: Vec<Value> = pod["spec"]["initContainers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut init_statuses = Vec::new();
        let mut init_blocked = false;
        for c in &inits {
            let image = c["image"].as_str().unwrap_or_default();
            let name = c["name"].as_str().unwrap_or_default();
            let failing = !matches!(sim.behaviour, Behaviour::Ready { .. })
                && sim
                    .image_filter
                    .as_deref()
                    .is_some_and(|f| image.contains(f));
            let view = if init_blocked {
                ContainerView {
                    phase: Phase::Waiting {
                        reason: "PodInitializing".into(),
                        message: String::new(),
                    },
                    restarts: 0,
                    last: None,
                    current_run: None,
                }
            } else {
                container_view(
                    &sim.behaviour,
                    failing,
                    t,
                    (ready_after * 0.25).max(0.0),
                    true,
                    image,
                    name,
                    &pod_ref,
                )
            };
            if !matches!(view.phase, Phase::Terminated { exit_code: 0, .. }) {
                init_blocked = true;
            }
            init_statuses.push(container_status(&sim, c, &view, scale, false));
            container_events(state, &key, &pod, &sim, c, &view);
        }

        let containers: Vec<Value> = pod["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut statuses = Vec::new();
        let mut all_ready = !containers.is_empty();
        let mut all_started = true;
        let mut all_done = true;
        let mut any_failed = false;
        for c in &containers {
            let image = c["image"].as_str().unwrap_or_default();
            let name = c["name"].as_str().unwrap_or_default();
            let failing =
                !matches!(sim.behaviour, Behaviour::Ready { .. }) && matches_filter(&sim, image);
            let view = if init_blocked {
                ContainerView {
                    phase: Phase::Waiting {
                        reason: "PodInitializing".into(),
                        message: String::new(),
                    },
                    restarts: 0,
                    last: None,
                    current_run: None,
                }
            } else {
                container_view(
                    &sim.behaviour,
                    failing,
                    t,
                    ready_after,
                    sim.run_to_completion,
                    image,
                    name,
                    &pod_ref,
                )
            };
            match &view.phase {
                Phase::Running { ready, .. } => {
                    all_ready &= *ready;
                    all_done = false;
                }
                Phase::Terminated { exit_code, .. } => {
                    all_ready = false;
                    any_failed |= *exit_code != 0;
                }
                Phase::Creating | Phase::Waiting { .. } => {
                    all_ready = false;
                    all_done = false;
                    if view.restarts == 0 {
                        all_started = false;
                    }
                }
            }
            statuses.push(container_status(&sim, c, &view, scale, true));
            if !init_blocked {
                container_events(state, &key, &pod, &sim, c, &view);
            }
        }
        if matches!(sim.behaviour, Behaviour::NeverReady) && t >= START {
            emit(
                state,
                &key,
                &pod,
                "Unhealthy".into(),
                "Warning",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
                "kubelet",
            );
        }

        let phase = if sim.run_to_completion && all_done && !containers.is_empty() {
            if any_failed { "Failed" } else { "Succeeded" }
        } else if all_started && !init_blocked {
            "Running"
        } else {
            "Pending"
        };
        let done = matches!(phase, "Succeeded" | "Failed");
        let ready_reason = if done {
            "PodCompleted"
        } else if all_ready {
            ""
        } else {
            "ContainersNotReady"
        };
        let not_ready_msg = if all_ready || done {
            String::new()
        } else {
            let names: Vec<String> = statuses
                .iter()
                .filter(|s| s["ready"] != true)
                .filter_map(|s| s["name"].as_str().map(str::to_string))
                .collect();
            format!("containers with unready status: [{}]", names.join(" "))
        };
        let ready = if all_ready { "True" } else { "False" };
        let conditions = vec![
            condition(
                state,
                &key,
                "PodReadyToStartContainers",
                if t >= START * 0.5 { "True" } else { "False" },
                "",
                "",
                false,
            ),
            condition(
                state,
                &key,
                "Initialized",
                if init_blocked { "False" } else { "True" },
                if init_blocked {
                    "ContainersNotInitialized"
                } else if done {
                    "PodCompleted"
                } else {
                    ""
                },
                if init_blocked {
                    "containers with incomplete status: [init]"
                } else {
                    ""
                },
                false,
            ),
            condition(
                state,
                &key,
                "Ready",
                ready,
                ready_reason,
                &not_ready_msg,
                false,
            ),
            condition(
                state,
                &key,
                "ContainersReady",
                ready,
                ready_reason,
                &not_ready_msg,
                false,
            ),
            condition(state, &key, "PodScheduled", "True", "", "", false),
        ];
        let mut status = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": "192.168.0.10",
            "podIP": sim.ip,
            "podIPs": [{"ip": sim.ip}],
            "startTime": crate::util::rfc3339(sim.created_wall),
            "qosClass": qos(&pod),
            "containerStatuses": statuses,
        });
        if !init_statuses.is_empty() {
            status["initContainerStatuses"] = json!(init_statuses);
        }
        pod["status"] = status;
        state.update_if_changed(&key, pod);
    }
}

fn qos(pod: &Value) -> &'static str {
    let containers = pod["spec"]["containers"].as_array();
    let any_requests = containers.is_some_and(|cs| {
        cs.iter()
            .any(|c| c["resources"]["requests"].is_object() || c["resources"]["limits"].is_object())
    });
    if !any_requests {
        return "BestEffort";
    }
    let guaranteed = containers.is_some_and(|cs| {
        cs.iter().all(|c| {
            let r = &c["resources"];
            ["cpu", "memory"].iter().all(|k| {
                r["limits"][k].is_string()
                    && (r["requests"][k].is_null() || r["requests"][k] == r["limits"][k])
            })
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn container_status(
    sim: &PodSim,
    c: &Value,
    view: &ContainerView,
    scale: f64,
    main: bool,
) -> Value {
    let ready = matches!(view.phase, Phase::Running { ready: true, .. })
        || (!main && matches!(view.phase, Phase::Terminated { exit_code: 0, .. }));
    let started = matches!(view.phase, Phase::Running { .. });
    let mut s = json!({
        "name": c["name"],
        "image": c["image"],
        "imageID": "",
        "ready": ready,
        "restartCount": view.restarts,
        "state": state_json(sim, &view.phase, scale),
        "lastState": {},
    });
    if main {
        s["started"] = json!(started);
    }
    if started || matches!(view.phase, Phase::Terminated { .. }) || view.restarts > 0 {
        s["imageID"] = json!(format!(
            "{}@sha256:{:064x}",
            c["image"].as_str().unwrap_or_default(),
            crate::util::fnv64(c["image"].to_string().as_bytes())
        ));
        s["containerID"] = json!(format!(
            "containerd://{:016x}",
            crate::util::fnv64(format!("{}{}", sim.ip, c["name"]).as_bytes())
        ));
    }
    if let Some((exit_code, reason, started, finished)) = &view.last {
        s["lastState"] = json!({"terminated": {
            "exitCode": exit_code, "reason": reason,
            "startedAt": wall(sim, *started, scale), "finishedAt": wall(sim, *finished, scale),
        }});
    }
    s
}

fn container_events(
    state: &mut State,
    key: &ObjKey,
    pod: &Value,
    sim: &PodSim,
    c: &Value,
    view: &ContainerView,
) {
    let name = c["name"].as_str().unwrap_or_default();
    let image = c["image"].as_str().unwrap_or_default();
    match &view.phase {
        Phase::Waiting { reason, message }
            if reason == "ErrImagePull" || reason == "ImagePullBackOff" =>
        {
            emit(
                state,
                key,
                pod,
                format!("pulling/{name}"),
                "Normal",
                "Pulling",
                format!("Pulling image \"{image}\""),
                "kubelet",
            );
            emit(
                state,
                key,
                pod,
                format!("pullfail/{name}"),
                "Warning",
                "Failed",
                format!("Failed to pull image \"{image}\": {}", pull_error(image)),
                "kubelet",
            );
            emit(
                state,
                key,
                pod,
                format!("errpull/{name}"),
                "Warning",
                "Failed",
                "Error: ErrImagePull".into(),
                "kubelet",
            );
            if reason == "ImagePullBackOff" {
                emit(
                    state,
                    key,
                    pod,
                    format!("backoffpull/{name}"),
                    "Normal",
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                    "kubelet",
                );
                emit(
                    state,
                    key,
                    pod,
                    format!("errbackoff/{name}"),
                    "Warning",
                    "Failed",
                    "Error: ImagePullBackOff".into(),
                    "kubelet",
                );
            }
            let _ = message;
        }
        Phase::Waiting { reason, message } if reason == "CreateContainerConfigError" => {
            emit(
                state,
                key,
                pod,
                format!("config/{name}"),
                "Warning",
                "Failed",
                format!("Error: {message}"),
                "kubelet",
            );
        }
        Phase::Waiting { reason, .. } if reason == "CrashLoopBackOff" => {
            let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
            emit(
                state,
                key,
                pod,
                format!("backoff/{name}/{}", view.restarts),
                "Warning",
                "BackOff",
                format!(
                    "Back-off restarting failed container {name} in pod {}_{}({uid})",
                    key.name, key.namespace
                ),
                "kubelet",
            );
        }
        Phase::Running { .. } | Phase::Terminated { .. } => {
            emit(
                state,
                key,
                pod,
                format!("pulled/{name}"),
                "Normal",
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
                "kubelet",
            );
            emit(
                state,
                key,
                pod,
                format!("created/{name}"),
                "Normal",
                "Created",
                format!("Created container: {name}"),
                "kubelet",
            );
            emit(
                state,
                key,
                pod,
                format!("started/{name}"),
                "Normal",
                "Started",
                format!("Started container {name}"),
                "kubelet",
            );
        }
        _ => {}
    }
    let _ = sim;
}

/// A pods/log request.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    pub container: Option<String>,
    pub previous: bool,
    pub tail_lines: Option<usize>,
    pub timestamps: bool,
}

/// The log text of a pod's container, or the API's 400 message.
pub fn pod_logs(
    state: &State,
    key: &ObjKey,
    pod: &Value,
    req: &LogRequest,
) -> Result<String, String> {
    let all: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .flat_map(|l| pod["spec"][*l].as_array().into_iter().flatten())
        .collect();
    let mains: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let name = match &req.container {
        Some(c) => c.clone(),
        None if mains.len() == 1 => mains[0].to_string(),
        None => {
            return Err(format!(
                "a container name must be specified for pod {}, choose one of: [{}]",
                key.name,
                mains.join(" ")
            ));
        }
    };
    let Some(container) = all.iter().find(|c| c["name"] == name.as_str()) else {
        return Err(format!(
            "container {name} is not valid for pod {}",
            key.name
        ));
    };
    let status = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|l| pod["status"][*l].as_array().into_iter().flatten())
        .find(|s| s["name"] == name.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    let Some(sim) = state.sim.pods.get(key) else {
        return Err(format!(
            "container \"{name}\" in pod \"{}\" is waiting to start: ContainerCreating",
            key.name
        ));
    };
    let restarts = status["restartCount"].as_u64().unwrap_or(0);
    let has_last = status["lastState"]["terminated"].is_object();
    if req.previous {
        if !has_last {
            return Err(format!(
                "previous terminated container \"{name}\" in pod \"{}\" not found",
                key.name
            ));
        }
    } else {
        let started = status["state"]["running"].is_object()
            || status["state"]["terminated"].is_object()
            || restarts > 0;
        if !started {
            let reason = status["state"]["waiting"]["reason"]
                .as_str()
                .unwrap_or("ContainerCreating");
            return Err(format!(
                "container \"{name}\" in pod \"{}\" is waiting to start: {reason}",
                key.name
            ));
        }
    }
    let image = container["image"].as_str().unwrap_or_default();
    let failing = sim
        .image_filter
        .as_deref()
        .is_none_or(|f| image.contains(f))
        && !matches!(sim.behaviour, Behaviour::Ready { .. });
    let lines = if !failing || sim.logs.is_empty() {
        if failing {
            default_logs(&sim.behaviour, &name)
        } else {
            default_logs(&Behaviour::NeverReady, &name)
        }
    } else {
        sim.logs.clone()
    };
    let lines: Vec<String> = match req.tail_lines {
        Some(n) => lines[lines.len().saturating_sub(n)..].to_vec(),
        None => lines,
    };
    let stamp = crate::util::rfc3339(sim.created_wall);
    let mut out = String::new();
    for l in lines {
        if req.timestamps {
            out.push_str(&stamp);
            out.push(' ');
        }
        out.push_str(&l);
        out.push('\n');
    }
    Ok(out)
}
