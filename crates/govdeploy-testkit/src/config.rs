//! What a simulation does: time scale, pod behaviours matched by labels or image, faults.

use std::time::Duration;

/// Configuration of a simulated API server.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Simulated seconds per real second: 100.0 runs a 60 s readiness time in 0.6 s.
    pub time_scale: f64,
    /// Simulated time a pod takes to become ready (or a Job pod to finish) when no rule matches.
    pub default_ready_after: Duration,
    /// Pod behaviours; the first matching rule wins.
    pub behaviours: Vec<BehaviourRule>,
    pub faults: FaultConfig,
    /// Seed of the generator behind uids, generated names and fault injection.
    pub seed: u64,
    /// Simulated worker nodes (`sim-node-0`...), which DaemonSets run on.
    pub nodes: u32,
    /// Real time between controller passes.
    pub tick: Duration,
    /// Watch events kept for resuming watches; older resourceVersions answer 410 Gone.
    pub watch_history: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            time_scale: 1.0,
            default_ready_after: Duration::from_secs(2),
            behaviours: Vec::new(),
            faults: FaultConfig::default(),
            seed: 1,
            nodes: 3,
            tick: Duration::from_millis(10),
            watch_history: 20_000,
        }
    }
}

impl SimConfig {
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    pub fn default_ready_after(mut self, after: Duration) -> Self {
        self.default_ready_after = after;
        self
    }

    pub fn behaviour(mut self, rule: BehaviourRule) -> Self {
        self.behaviours.push(rule);
        self
    }

    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Which pods a behaviour applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// Pods whose labels match this label selector (`app=web,tier in (api)`).
    Labels(String),
    /// Pods with a container (or init container) whose image contains this substring; only
    /// those containers misbehave.
    Image(String),
    /// Every pod.
    Any,
}

/// How matching pods behave (simulated durations, scaled by `time_scale`).
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Running and ready after `after` (Job pods: succeed after `after`).
    Ready { after: Duration },
    /// ErrImagePull, then ImagePullBackOff, with "Failed to pull image" Warning events.
    ImagePullBackOff,
    /// Runs `run_for`, exits with `exit_code`, restarts with the kubelet's back-off (10 s
    /// doubling to 300 s); restartCount grows; the log lines are the container's output.
    CrashLoopBackOff { exit_code: i32, run_for: Duration },
    /// Like a crash loop, terminated with reason OOMKilled and exit code 137.
    OomKilled { run_for: Duration },
    /// Waiting with reason CreateContainerConfigError (e.g. `secret "db" not found`).
    CreateContainerConfigError { message: String },
    /// Pending, PodScheduled=False reason Unschedulable, FailedScheduling event.
    FailedScheduling { message: String },
    /// Job pods fail after `after` with `exit_code` (the Job retries up to backoffLimit);
    /// other pods crash-loop.
    JobFailure { exit_code: i32, after: Duration },
    /// Running, never ready (failing readiness probe, Unhealthy events).
    NeverReady,
}

/// A behaviour for the pods a matcher selects, optionally in one namespace, with log lines.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviourRule {
    pub matcher: Matcher,
    pub namespace: Option<String>,
    pub behaviour: Behaviour,
    /// Lines the container writes (every run); empty gives a default line per behaviour.
    pub logs: Vec<String>,
}

impl BehaviourRule {
    pub fn new(matcher: Matcher, behaviour: Behaviour) -> Self {
        BehaviourRule {
            matcher,
            namespace: None,
            behaviour,
            logs: Vec::new(),
        }
    }

    pub fn labels(selector: &str, behaviour: Behaviour) -> Self {
        Self::new(Matcher::Labels(selector.to_string()), behaviour)
    }

    pub fn image(substring: &str, behaviour: Behaviour) -> Self {
        Self::new(Matcher::Image(substring.to_string()), behaviour)
    }

    pub fn in_namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    pub fn logs<I: IntoIterator<Item = S>, S: Into<String>>(mut self, lines: I) -> Self {
        self.logs = lines.into_iter().map(Into::into).collect();
        self
    }
}

/// Injected failures: each API request gets one with probability `rate`, the kind drawn
/// uniformly from `kinds` (Conflict only for writes).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultConfig {
    pub rate: f64,
    pub kinds: Vec<FaultKind>,
    /// Leave discovery (/api, /apis, /version, /openapi) alone.
    pub spare_discovery: bool,
}

impl FaultConfig {
    /// 500, 503, 429 (Retry-After 1) and dropped connections at `rate`.
    pub fn mixed(rate: f64) -> Self {
        FaultConfig {
            rate,
            kinds: vec![
                FaultKind::InternalError,
                FaultKind::ServiceUnavailable,
                FaultKind::TooManyRequests {
                    retry_after_secs: 1,
                },
                FaultKind::DropConnection,
            ],
            spare_discovery: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// 500 InternalError.
    InternalError,
    /// 503 ServiceUnavailable with Retry-After 1.
    ServiceUnavailable,
    /// 429 TooManyRequests with Retry-After.
    TooManyRequests { retry_after_secs: u64 },
    /// 409 Conflict ("the object has been modified") on writes.
    Conflict,
    /// The connection is closed without an answer.
    DropConnection,
    /// The answer is delayed by this real duration.
    Latency(Duration),
}

impl FaultKind {
    /// The counter name in `Stats::faults`.
    pub fn label(&self) -> &'static str {
        match self {
            FaultKind::InternalError => "500",
            FaultKind::ServiceUnavailable => "503",
            FaultKind::TooManyRequests { .. } => "429",
            FaultKind::Conflict => "409",
            FaultKind::DropConnection => "drop",
            FaultKind::Latency(_) => "latency",
        }
    }
}
