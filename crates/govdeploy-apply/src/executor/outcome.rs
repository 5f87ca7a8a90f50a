//! What a run leaves behind, as data a release record can store: every node's outcome and
//! timings, and the inventory of applied objects with their uids.

use serde::{Deserialize, Serialize};

use crate::cluster::RequestStats;
use crate::events::Action;
use crate::report::FailureReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeState {
    /// Waiting for its needs.
    Pending,
    Writing,
    /// Written; waiting for health.
    Waiting,
    Ready,
    Failed,
    /// Never started.
    Skipped,
    /// Written, but the run stopped before it was healthy.
    Abandoned,
}

impl NodeState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            NodeState::Ready | NodeState::Failed | NodeState::Skipped | NodeState::Abandoned
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeOutcome {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    pub state: NodeState,
    /// Seconds from the start of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<f64>,
    pub written: usize,
    pub unchanged: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One object the run applied (or found unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryEntry {
    pub group: String,
    pub version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// Known when the object was written in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    pub node: String,
    pub action: Action,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Every node healthy.
    pub ok: bool,
    pub interrupted: bool,
    /// Why the run stopped early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub nodes: Vec<NodeOutcome>,
    pub inventory: Vec<InventoryEntry>,
    pub failures: Vec<FailureReport>,
    pub stats: RequestStats,
    /// Objects in the graph.
    pub objects: usize,
    pub seconds: f64,
}
