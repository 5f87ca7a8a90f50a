//! A simulated Kubernetes API server for tests (development only, never shipped).
//!
//! It owns an in-memory object store behind the Kubernetes REST API on 127.0.0.1 (plain HTTP,
//! random port): discovery (legacy and aggregated), get/list/watch with label and field
//! selectors, server-side apply with `managedFields` and conflicts, create/update/patch/delete,
//! the status subresource, Events and pod logs; simulated controllers that roll out
//! Deployments, StatefulSets, DaemonSets and Jobs on a scaled clock, or fail them the way real
//! clusters do; and fault injection. It never talks to a real cluster and never persists
//! anything. Where it simplifies the real API is listed in `docs/testkit.md`.
//!
//! Dependencies: hyper 1 (the server; the lowest layer that lets a connection be dropped
//! without an answer, which fault injection needs), tokio, serde_json (objects are stored as
//! JSON), serde-saphyr (apply bodies may be YAML), k8s-openapi (typed structs, used only to
//! detect unknown fields by a decode/encode round trip).
//!
//! ```no_run
//! use govdeploy_testkit::{Behaviour, BehaviourRule, SimConfig, SimServer, ObjectRef};
//! use std::time::Duration;
//!
//! let sim = SimServer::start(
//!     SimConfig::default()
//!         .time_scale(100.0) // 100 simulated seconds per real second
//!         .default_ready_after(Duration::from_secs(30))
//!         .behaviour(BehaviourRule::image("broken:1", Behaviour::ImagePullBackOff)),
//! )
//! .unwrap();
//! sim.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"), "sim").unwrap();
//! // ... run kubectl or a kube::Client against sim.url() ...
//! let web = ObjectRef::new("apps/v1", "Deployment", Some("default"), "web");
//! println!("{:?} writes, {} rollouts", sim.stats().writes_to(&web), sim.stats().rollouts_of(&web));
//! ```

mod admission;
mod config;
mod controllers;
mod discovery;
mod events;
mod fieldset;
mod handle;
mod openapi;
mod patch;
mod resources;
mod selectors;
mod server;
mod ssa;
mod state;
mod stats;
mod status;
mod table;
mod util;
mod validate;

pub use config::{Behaviour, BehaviourRule, FaultConfig, FaultKind, Matcher, SimConfig};
pub use handle::{SimError, SimHandle, SimServer};
pub use stats::{ObjectRef, Stats};
