//! `govdeploy rollback ENV [N]` and `apply --rollback-on-failure`: a stored revision applied
//! again through the same engine and health gates, recorded as a new revision.
//!
//! Two things cannot come back from a record. Migrations: a migration Job's name carries the
//! hash of what it runs, so re-applying an older one would run an old migration against a
//! newer schema; rollback applies no Job and keeps the current ones. Secret values: records
//! keep only their hashes, so Secrets are taken from the current secrets file (the output
//! says which differ from the revision's hashes).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use govdeploy_apply::{Cluster, ConnectOptions, Graph, NodeState, Options, Outcome};
use govdeploy_plan::Plan;
use govdeploy_release::redact::redact_secret;
use govdeploy_release::{InventoryItem, LockGuard, ReleaseRecord, ReleaseStatus, ReleaseStore};
use govdeploy_render::{Object, Rendered, RenderedFile};

use crate::cli::OutputFormat;
use crate::commands::apply::{Deploy, parse_duration, progress::Presenter};
use crate::commands::release::lifecycle::{Cancel, ReleaseFlags, ReleaseInput, Session};
use crate::commands::render;
use crate::exit;

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The environment file.
    pub env: PathBuf,
    /// Revision to go back to (default: the last successful one before the newest).
    pub revision: Option<u64>,
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    #[arg(long)]
    pub context: Option<String>,
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub component_timeout: Duration,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub progress_timeout: Duration,
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub grace: Duration,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[arg(long, default_value = "1s", value_parser = parse_duration, hide = true)]
    pub poll_interval: Duration,
    #[command(flatten)]
    pub release: ReleaseFlags,
}

/// The current plan and render: the graph's dependencies and today's Secret values.
#[derive(Debug, Clone)]
pub struct Source {
    pub plan: Plan,
    pub rendered: Rendered,
}

/// A rollback ready to run.
pub struct Target {
    pub graph: Graph,
    pub input: ReleaseInput,
}

fn is_job(api_version: &str, kind: &str) -> bool {
    kind == "Job" && api_version == "batch/v1"
}

/// What a revision gives back.
pub struct Replay {
    /// With their component, in the recorded (apply) order.
    pub objects: Vec<(Option<String>, Object)>,
    /// Migration Jobs not run again.
    pub jobs: Vec<String>,
    /// Secrets whose current values differ from the revision's hashes.
    pub changed_secrets: Vec<String>,
}

/// The recorded objects to apply again, Secrets from the current render; skipped Jobs and
/// Secrets whose values changed since the revision are reported.
pub fn objects_of(
    record: &ReleaseRecord,
    source: &Source,
    keep: impl Fn(Option<&str>) -> bool,
) -> Result<Replay, String> {
    let mut out = Vec::new();
    let mut jobs = Vec::new();
    let mut changed_secrets = Vec::new();
    let mut missing = Vec::new();
    for o in &record.objects {
        if !keep(o.component.as_deref()) {
            continue;
        }
        let reference = match &o.namespace {
            Some(ns) => format!("{}/{ns}/{}", o.kind, o.name),
            None => format!("{}/{}", o.kind, o.name),
        };
        if is_job(&o.api_version, &o.kind) {
            jobs.push(reference);
            continue;
        }
        let object = if o.kind == "Secret" && o.api_version == "v1" {
            let current = source
                .rendered
                .objects()
                .find(|c| c.is_secret() && c.namespace == o.namespace && c.name == o.name);
            match current {
                Some(c) => {
                    let mut hashed = c.body.clone();
                    redact_secret(&mut hashed);
                    if hashed.get("data") != o.body.get("data")
                        || hashed.get("stringData") != o.body.get("stringData")
                    {
                        changed_secrets.push(reference.clone());
                    }
                    c.clone()
                }
                None => {
                    missing.push(reference);
                    continue;
                }
            }
        } else {
            Object {
                api_version: o.api_version.clone(),
                kind: o.kind.clone(),
                namespace: o.namespace.clone(),
                name: o.name.clone(),
                body: o.body.clone(),
            }
        };
        out.push((o.component.clone(), object));
    }
    if !missing.is_empty() {
        return Err(format!(
            "release {} has Secrets the current secrets file no longer renders: {} (records keep only hashes of Secret values; add them back to the secrets file)",
            record.revision,
            missing.join(", ")
        ));
    }
    Ok(Replay {
        objects: out,
        jobs,
        changed_secrets,
    })
}

/// The apply graph of recorded objects: one file per run of the same component, in the
/// recorded (apply) order; dependencies from the current plan.
pub fn graph_of(plan: &Plan, objects: Vec<(Option<String>, Object)>) -> Graph {
    let mut files: Vec<RenderedFile> = Vec::new();
    for (component, object) in objects {
        match files.last_mut() {
            Some(f) if f.component == component => f.objects.push(object),
            _ => files.push(RenderedFile {
                name: format!("{:03}", files.len()),
                component,
                objects: vec![object],
            }),
        }
    }
    let rendered = Rendered {
        files,
        warnings: Vec::new(),
        secrets: Vec::new(),
        extra_images: Vec::new(),
    };
    Graph::build(plan, &rendered)
}

/// The component of an apply-graph node (`None`: namespaces, CRDs, shared objects).
fn component_of_node(node: &str) -> Option<String> {
    match node {
        "namespaces" | "crds" | "shared" => None,
        other => Some(other.trim_end_matches("/migration").to_string()),
    }
}

/// The components a failed run touched (wrote to, or left failing), back to `previous`.
pub fn after_failure(
    source: &Source,
    previous: &ReleaseRecord,
    outcome: &Outcome,
    session: &Session,
) -> Result<Target, String> {
    let touched: BTreeSet<Option<String>> = outcome
        .nodes
        .iter()
        .filter(|n| n.written > 0 || matches!(n.state, NodeState::Failed | NodeState::Abandoned))
        .map(|n| component_of_node(&n.name))
        .collect();
    let Replay {
        objects,
        jobs,
        changed_secrets: changed,
    } = objects_of(previous, source, |c| {
        touched.contains(&c.map(str::to_string))
    })?;
    let names: Vec<String> = touched
        .iter()
        .map(|c| c.clone().unwrap_or_else(|| "(shared objects)".to_string()))
        .collect();
    eprintln!(
        "--rollback-on-failure: rolling back {} to release {} ({} objects)",
        names.join(", "),
        previous.revision,
        objects.len()
    );
    explain(&jobs, &changed);
    let carry: Vec<InventoryItem> = previous
        .inventory
        .iter()
        .filter(|i| !touched.contains(&component_of_node(&i.node)))
        .cloned()
        .collect();
    let input = ReleaseInput {
        rollback_of: Some(previous.revision),
        keep_jobs: true,
        carry,
        ..session.input.clone()
    };
    Ok(Target {
        graph: graph_of(&source.plan, objects),
        input,
    })
}

fn explain(jobs: &[String], changed_secrets: &[String]) {
    if !jobs.is_empty() {
        eprintln!(
            "note: migrations do not run backwards: {} migration Job(s) of that release are not run again, and the database keeps its newest schema",
            jobs.len()
        );
    }
    eprintln!(
        "note: Secret values come from the current secrets file (release records keep only their hashes){}",
        if changed_secrets.is_empty() {
            String::new()
        } else {
            format!(
                "; changed since that release: {}",
                changed_secrets.join(", ")
            )
        }
    );
}

/// Runs a rollback under a lock this process already holds.
pub async fn run_under(
    cluster: &Cluster,
    target: Target,
    job: &Deploy,
    guard: LockGuard,
    observer: &mut dyn Presenter,
    cancel: &Cancel,
) -> bool {
    let objects: Vec<Object> = target
        .graph
        .nodes
        .iter()
        .flat_map(|n| n.objects.iter().cloned())
        .collect();
    let refs: Vec<&Object> = objects.iter().collect();
    let Ok(mut session) = Session::open(
        cluster,
        target.input,
        &job.flags,
        &refs,
        cancel,
        Some(guard),
    )
    .await
    else {
        return false;
    };
    let outcome = govdeploy_apply::execute(
        cluster,
        target.graph,
        job.options.clone(),
        observer.as_observer(),
        cancel.wait(),
    )
    .await;
    observer.summary(&outcome, &job.env);
    session.finish(cluster, &outcome, cancel).await;
    let ok = session.record.status == ReleaseStatus::Succeeded;
    session.close().await;
    ok
}

/// The revision `rollback` goes to by default: the newest successful one older than the
/// newest revision.
pub fn default_target(history: &[govdeploy_release::ReleaseSummary]) -> Option<u64> {
    let newest = history.last()?.revision;
    history
        .iter()
        .rev()
        .find(|s| s.status == ReleaseStatus::Succeeded && s.revision < newest)
        .map(|s| s.revision)
}

pub fn run(args: RollbackArgs) -> anyhow::Result<i32> {
    let (planned, mut rendered) = match render::plan_and_render(&args.env) {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let input = crate::commands::release::prepare(&planned, &mut rendered, &args.env);
    let source = Source {
        plan: planned.plan.clone(),
        rendered,
    };
    crate::commands::release::runtime()?.block_on(async {
        let client = match crate::commands::release::connect(args.kubeconfig.as_deref(), args.context.as_deref()).await {
            Ok(c) => c,
            Err(code) => return Ok(code),
        };
        let store = ReleaseStore::new(client, &input.namespace, &input.environment);
        let history = match store.history().await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(exit::FAILURE);
            }
        };
        let Some(revision) = args.revision.or_else(|| default_target(&history)) else {
            eprintln!(
                "error: environment {} has no earlier successful release to roll back to; `govdeploy history {}` lists its releases",
                input.environment,
                args.env.display()
            );
            return Ok(exit::FAILURE);
        };
        let record = match store.load(revision).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(exit::FAILURE);
            }
        };
        if record.status != ReleaseStatus::Succeeded {
            eprintln!(
                "warning: release {revision} did not succeed ({}); rolling back to it anyway",
                record.status.as_str()
            );
        }
        let Replay {
            objects,
            jobs,
            changed_secrets: changed,
        } = match objects_of(&record, &source, |_| true) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(exit::FAILURE);
            }
        };
        eprintln!(
            "rolling back {} to release {revision} (applied {} by {}): {} objects, through the same health gates",
            input.environment,
            record.provenance.started_at,
            record.provenance.by,
            objects.len()
        );
        explain(&jobs, &changed);
        let graph = graph_of(&source.plan, objects);
        let options = Options {
            timeout: (!args.timeout.is_zero()).then_some(args.timeout),
            component_timeout: (!args.component_timeout.is_zero())
                .then_some(args.component_timeout),
            progress_timeout: (!args.progress_timeout.is_zero()).then_some(args.progress_timeout),
            grace: args.grace,
            poll_interval: args.poll_interval.max(Duration::from_millis(10)),
            environment: input.environment.clone(),
            ..Options::default()
        };
        let job = Deploy {
            graph,
            options,
            connect: ConnectOptions {
                kubeconfig: args.kubeconfig.clone(),
                context: args.context.clone(),
                ..ConnectOptions::default()
            },
            output: args.output,
            env: args.env.clone(),
            input: ReleaseInput {
                rollback_of: Some(revision),
                keep_jobs: true,
                ..input
            },
            flags: args.release.clone(),
            adopt: false,
            fallback: None,
        };
        crate::commands::apply::deploy(job).await
    })
}
