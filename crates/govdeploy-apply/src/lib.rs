//! The apply engine: deploys rendered objects to a cluster in dependency order, starting each
//! node as soon as what it needs is healthy, and fails fast with the real reason.
//!
//! It owns the cluster connection (kubeconfig as kubectl resolves it, discovery, server-side
//! apply with field manager `govdeploy` and strict field validation, counted retries), the
//! apply graph built from the plan and the rendered objects, health evaluation per kind, the
//! executor and failure reports. It never renders or decides what to deploy (the plan and
//! render crates do), never prints (it emits events the CLI renders), and never logs an
//! object body: Secret data stays inside the requests that carry it.
//!
//! `kube` is used for its client stack (kubeconfig, auth, TLS, HTTP/2) and not for its typed
//! API or waiters: requests go through [`cluster::Cluster`] so every retry is counted and
//! honours `Retry-After`, and health is evaluated from live JSON with three states (kube's
//! conditions are yes/no).

pub mod cluster;
pub mod error;
pub mod events;
pub mod executor;
pub mod graph;
pub mod health;
pub mod report;

pub use cluster::{Cluster, ConnectOptions, RequestStats, RetryPolicy};
pub use error::ApplyError;
pub use events::{Action, Event, EventKind, Observer};
pub use executor::{InventoryEntry, NodeOutcome, NodeState, Options, Outcome, execute};
pub use graph::{Graph, Node, NodeKind};
