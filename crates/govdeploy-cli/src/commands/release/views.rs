//! Read-side release commands (`history`, `status`, `get`) and `unlock`. None of them needs
//! the secrets file: they read the records, the Lease and the live objects only.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use govdeploy_apply::health::{self, Health};
use govdeploy_release::record::group_key;
use govdeploy_release::resolver::Resolver;
use govdeploy_release::{EnvLock, ReleaseError, ReleaseRecord, ReleaseStore, ReleaseSummary};
use serde_json::{Value, json};

use crate::cli::OutputFormat;
use crate::commands::release::release_namespace;
use crate::{exit, pipeline};

#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The environment file.
    pub env: PathBuf,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetWhat {
    /// The rendered objects of the revision (Secret data as SHA-256 hashes).
    Manifests,
    /// The environment and inputs of the revision (secrets as references and hashes).
    Values,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    pub what: GetWhat,
    #[command(flatten)]
    pub target: Target,
    /// Revision (default: the newest).
    #[arg(long)]
    pub revision: Option<u64>,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub target: Target,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

struct Opened {
    environment: String,
    namespace: String,
    client: kube::Client,
}

async fn open(target: &Target) -> Result<Opened, i32> {
    let planned = pipeline::plan_or_exit(&target.env)?;
    let client = super::connect(target.kubeconfig.as_deref(), target.context.as_deref()).await?;
    Ok(Opened {
        environment: planned.plan.environment.clone(),
        namespace: release_namespace(&planned),
        client,
    })
}

fn fail(e: &ReleaseError) -> i32 {
    eprintln!("error: {e}");
    exit::FAILURE
}

/// What changed from one record to the next: `(created, changed, deleted, components)`.
fn changes(
    before: Option<&ReleaseRecord>,
    after: &ReleaseRecord,
) -> (usize, usize, usize, Vec<String>) {
    let key = |o: &govdeploy_release::RecordedObject| {
        (
            o.api_version.clone(),
            o.kind.clone(),
            o.namespace.clone(),
            o.name.clone(),
        )
    };
    let old: BTreeMap<_, _> = before
        .map(|b| b.objects.iter().map(|o| (key(o), o)).collect())
        .unwrap_or_default();
    let new: BTreeMap<_, _> = after.objects.iter().map(|o| (key(o), o)).collect();
    let mut components = BTreeSet::new();
    let (mut created, mut changed, mut deleted) = (0, 0, 0);
    for (k, o) in &new {
        match old.get(k) {
            None => created += 1,
            Some(p) if p.body != o.body => changed += 1,
            Some(_) => continue,
        }
        components.insert(group_key(o.module.as_deref(), o.component.as_deref()).1);
    }
    for (k, o) in &old {
        // A rollback applies no migration Job (they do not run backwards): not a deletion.
        let kept_job = after.rollback_of.is_some() && o.kind == "Job";
        if !new.contains_key(k) && !kept_job {
            deleted += 1;
            components.insert(group_key(o.module.as_deref(), o.component.as_deref()).1);
        }
    }
    (created, changed, deleted, components.into_iter().collect())
}

fn summary_text(
    summary: &ReleaseSummary,
    before: Option<&ReleaseRecord>,
    record: Option<&ReleaseRecord>,
) -> String {
    let Some(record) = record else {
        return "(record unreadable)".to_string();
    };
    let (c, u, d, components) = changes(before, record);
    let mut text = if before.is_none() {
        format!("install: {c} objects")
    } else if c + u + d == 0 {
        "no changes".to_string()
    } else {
        let shown: Vec<&str> = components.iter().take(3).map(String::as_str).collect();
        let more = components.len().saturating_sub(3);
        format!(
            "+{c} ~{u} -{d} in {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    };
    if let Some(r) = summary.rollback_of {
        text = format!("rollback to {r}: {text}");
    }
    if !record.pruned.is_empty() {
        text.push_str(&format!("; pruned {}", record.pruned.len()));
    }
    if let Some(m) = &summary.message {
        text.push_str(&format!("; {m}"));
    }
    text
}

pub fn history(args: HistoryArgs) -> anyhow::Result<i32> {
    super::runtime()?.block_on(async {
        let opened = match open(&args.target).await {
            Ok(o) => o,
            Err(code) => return Ok(code),
        };
        let store = ReleaseStore::new(opened.client, &opened.namespace, &opened.environment);
        let summaries = match store.history().await {
            Ok(h) => h,
            Err(e) => return Ok(fail(&e)),
        };
        let mut records = Vec::new();
        for s in &summaries {
            records.push(store.load(s.revision).await.ok());
        }
        let mut rows = Vec::new();
        let mut json_rows = Vec::new();
        for (i, s) in summaries.iter().enumerate() {
            let before = i
                .checked_sub(1)
                .and_then(|j| records.get(j))
                .and_then(Option::as_ref);
            let record = records.get(i).and_then(Option::as_ref);
            let text = summary_text(s, before, record);
            let (c, u, d, components) = record.map(|r| changes(before, r)).unwrap_or_default();
            json_rows.push(json!({
                "revision": s.revision,
                "status": s.status.as_str(),
                "startedAt": s.started_at,
                "finishedAt": record.and_then(|r| r.provenance.finished_at.clone()),
                "by": s.by,
                "toolVersion": s.tool_version,
                "rollbackOf": s.rollback_of,
                "message": s.message,
                "changes": {"created": c, "changed": u, "deleted": d, "components": components},
                "pruned": record.map_or(0, |r| r.pruned.len()),
                "chunks": s.chunks,
            }));
            rows.push([
                s.revision.to_string(),
                s.status.as_str().to_string(),
                s.started_at.clone(),
                s.by.clone(),
                s.tool_version.clone(),
                text,
            ]);
        }
        if args.output == OutputFormat::Json {
            println!("{}", serde_json::to_string_pretty(&json_rows)?);
            return Ok(exit::OK);
        }
        if rows.is_empty() {
            println!("environment {} has no releases yet", opened.environment);
            return Ok(exit::OK);
        }
        print!(
            "{}",
            table(
                &["REVISION", "STATUS", "STARTED", "BY", "TOOL", "CHANGES"],
                &rows
            )
        );
        Ok(exit::OK)
    })
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn table<const N: usize>(headers: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = headers.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

async fn load(store: &ReleaseStore, revision: Option<u64>) -> Result<ReleaseRecord, ReleaseError> {
    let revision = match revision {
        Some(r) => r,
        None => store
            .history()
            .await?
            .last()
            .map(|s| s.revision)
            .ok_or_else(|| ReleaseError::NoSuchRevision {
                env: store.environment().to_string(),
                revision: 0,
            })?,
    };
    store.load(revision).await
}

pub fn get(args: GetArgs) -> anyhow::Result<i32> {
    super::runtime()?.block_on(async {
        let opened = match open(&args.target).await {
            Ok(o) => o,
            Err(code) => return Ok(code),
        };
        let store = ReleaseStore::new(opened.client, &opened.namespace, &opened.environment);
        let record = match load(&store, args.revision).await {
            Ok(r) => r,
            Err(e) => return Ok(fail(&e)),
        };
        let mut out = std::io::stdout().lock();
        match args.what {
            GetWhat::Manifests => {
                for o in &record.objects {
                    writeln!(out, "---")?;
                    write!(out, "{}", govdeploy_render::yaml::to_yaml(&o.body))?;
                }
            }
            GetWhat::Values => {
                let values = json!({
                    "revision": record.revision,
                    "environment": record.environment,
                    "catalogue": record.catalogue_version,
                    "release": record.release_version,
                    "inputs": record.inputs,
                    "images": record.images,
                    "values": record.values,
                });
                write!(out, "{}", govdeploy_render::yaml::to_yaml(&values))?;
            }
        }
        Ok(exit::OK)
    })
}

pub fn status(args: StatusArgs) -> anyhow::Result<i32> {
    super::runtime()?.block_on(async {
        let opened = match open(&args.target).await {
            Ok(o) => o,
            Err(code) => return Ok(code),
        };
        let resolver = Resolver::new(opened.client.clone());
        let store = ReleaseStore::new(opened.client, &opened.namespace, &opened.environment);
        let record = match load(&store, None).await {
            Ok(r) => r,
            Err(e) => return Ok(fail(&e)),
        };
        // component -> (objects, ready, problems)
        let mut per: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
        for item in &record.inventory {
            let component = item
                .node
                .trim_end_matches("/migration")
                .to_string();
            let entry = per.entry(component).or_default();
            entry.0 += 1;
            let live = match govdeploy_release::diff::live(
                &resolver,
                &item.api_version(),
                &item.kind,
                item.namespace.as_deref(),
                &item.name,
            )
            .await
            {
                Ok(l) => l,
                Err(e) => return Ok(fail(&e)),
            };
            let Some(live) = live else {
                entry.2.push(format!("{} is missing", item.reference()));
                continue;
            };
            if let (Some(recorded), Some(actual)) = (&item.uid, live["metadata"]["uid"].as_str())
                && recorded != actual
            {
                entry.2.push(format!("{} was recreated outside govdeploy", item.reference()));
            }
            match health::evaluate(&item.kind, &live, health::Context::default()) {
                Health::Ready => entry.1 += 1,
                Health::InProgress { message } => {
                    entry.2.push(format!("{}: {message}", item.reference()));
                }
                Health::Failed {
                    reason, message, ..
                } => entry
                    .2
                    .push(format!("{}: {reason}: {message}", item.reference())),
            }
        }
        let healthy = per.values().all(|(_, _, problems)| problems.is_empty());
        if args.output == OutputFormat::Json {
            let components: Vec<Value> = per
                .iter()
                .map(|(c, (n, ready, problems))| {
                    json!({"component": c, "objects": n, "ready": ready, "healthy": problems.is_empty(), "problems": problems})
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "environment": opened.environment,
                    "revision": record.revision,
                    "status": record.status.as_str(),
                    "healthy": healthy,
                    "components": components,
                }))?
            );
        } else {
            println!(
                "environment {}: release {} ({}), {}",
                opened.environment,
                record.revision,
                record.status.as_str(),
                if healthy { "healthy" } else { "NOT healthy" }
            );
            let rows: Vec<[String; 3]> = per
                .iter()
                .map(|(c, (n, ready, problems))| {
                    [
                        c.clone(),
                        format!("{ready}/{n}"),
                        if problems.is_empty() {
                            "healthy".to_string()
                        } else {
                            problems.join("; ")
                        },
                    ]
                })
                .collect();
            print!("{}", table(&["COMPONENT", "READY", "HEALTH"], &rows));
        }
        Ok(if healthy { exit::OK } else { exit::FAILURE })
    })
}

pub fn unlock(args: UnlockArgs) -> anyhow::Result<i32> {
    super::runtime()?.block_on(async {
        let opened = match open(&args.target).await {
            Ok(o) => o,
            Err(code) => return Ok(code),
        };
        let lock = EnvLock::new(opened.client, &opened.namespace, &opened.environment);
        let current = match lock.current().await {
            Ok(c) => c,
            Err(e) => return Ok(fail(&e)),
        };
        let Some(holder) = current.as_ref().and_then(|c| c.holder.clone()) else {
            println!("environment {} is not locked", opened.environment);
            return Ok(exit::OK);
        };
        if !args.yes {
            if !std::io::stdin().is_terminal() {
                eprintln!(
                    "error: environment {} is locked by {holder}; pass --yes to remove the lock without a terminal to confirm on",
                    opened.environment
                );
                return Ok(exit::FAILURE);
            }
            eprint!(
                "environment {} is locked by {holder}. Remove the lock only if that run is dead: a live run stops at its next renewal. Type `yes` to remove it: ",
                opened.environment
            );
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if answer.trim() != "yes" {
                eprintln!("lock kept");
                return Ok(exit::FAILURE);
            }
        }
        match lock.force_unlock().await {
            Ok(_) => {
                println!(
                    "removed the lock of environment {} (held by {holder})",
                    opened.environment
                );
                Ok(exit::OK)
            }
            Err(e) => Ok(fail(&e)),
        }
    })
}
