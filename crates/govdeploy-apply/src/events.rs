//! What a run reports while it goes: one event per state change, for the live table, the
//! plain log lines and the NDJSON stream alike. Events never carry object bodies.

use serde::{Deserialize, Serialize};

use crate::report::FailureReport;

/// How an object was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Configured,
    /// Live object carries the hash of the same applied configuration: not written.
    Unchanged,
}

/// A node as the run starts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub name: String,
    pub needs: Vec<String>,
    pub level: usize,
    pub objects: usize,
    pub expected_seconds: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(
    tag = "event",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum EventKind {
    /// The graph, once, first.
    Plan {
        environment: String,
        server: String,
        nodes: Vec<NodeInfo>,
        barrier_levels: bool,
    },
    /// All needs healthy: its objects are being applied.
    NodeStarted {
        node: String,
    },
    ObjectApplied {
        node: String,
        /// `Kind/namespace/name`.
        object: String,
        action: Action,
    },
    /// Applied; waiting for health. Sent again whenever what it waits for changes.
    NodeWaiting {
        node: String,
        message: String,
    },
    /// A failure seen but not yet past the grace period.
    NodeFailing {
        node: String,
        reason: String,
        message: String,
    },
    NodeReady {
        node: String,
        seconds: f64,
    },
    NodeFailed {
        node: String,
        reason: String,
        message: String,
        report: Box<FailureReport>,
    },
    /// Not started, and why (a need failed, the run stopped).
    NodeSkipped {
        node: String,
        because: String,
    },
    /// A request was retried.
    Retry {
        reason: String,
        total: u64,
    },
    Interrupted,
    Finished {
        ok: bool,
        ready: usize,
        failed: usize,
        skipped: usize,
        written: usize,
        unchanged: usize,
        requests: u64,
        retries: u64,
        seconds: f64,
    },
}

/// An event with the seconds since the run started.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub elapsed: f64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Receives events (the CLI renders them).
pub trait Observer: Send {
    fn event(&mut self, event: &Event);
}

/// Discards events.
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _event: &Event) {}
}
