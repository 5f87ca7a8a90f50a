//! `govdeploy apply ENV`: deploys the rendered environment to a cluster in dependency order,
//! gated on health, and explains failures. Progress: a live table on a terminal, timestamped
//! lines otherwise, NDJSON events with `-o json`.

pub(crate) mod progress;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use govdeploy_apply::{ConnectOptions, Graph, Options};
use govdeploy_yaml::Diagnostics;

use crate::cli::OutputFormat;
use crate::commands::release::lifecycle::{Cancel, ReleaseFlags, ReleaseInput, Session};
use crate::commands::release::{adopt, rollback};
use crate::commands::{render, report};
use crate::exit;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The environment file.
    pub env: PathBuf,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Nodes writing at the same time (nodes waiting for health do not count).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Timeout of the whole run (`30m`, `90s`, `0` for none).
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Timeout of one component, from its first write to healthy.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub component_timeout: Duration,
    /// Fail a component when nothing it waits for changes for this long.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub progress_timeout: Duration,
    /// How long a pod-level failure (CrashLoopBackOff, ImagePullBackOff...) must persist
    /// before it fails the component.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub grace: Duration,
    /// Keep deploying what does not depend on a failure, then report everything.
    #[arg(long)]
    pub continue_on_error: bool,
    /// Take over fields other field managers own (server-side apply force).
    #[arg(long)]
    pub force_conflicts: bool,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Wave mode, for comparison: each level waits for every node of the levels before it.
    #[arg(long)]
    pub barrier_levels: bool,
    /// How often waiting objects are polled.
    #[arg(long, default_value = "1s", value_parser = parse_duration, hide = true)]
    pub poll_interval: Duration,
    /// Take over existing objects applied with `kubectl apply` or the old deployer (moving
    /// their field ownership to govdeploy); objects of another release are still refused.
    #[arg(long)]
    pub adopt: bool,
    /// When the deploy fails, roll the components it touched back to the last successful
    /// release (recorded as a new revision).
    #[arg(long)]
    pub rollback_on_failure: bool,
    #[command(flatten)]
    pub release: ReleaseFlags,
}

/// `500ms`, `30s`, `5m`, `1h`, `1m30s`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite())
            .then(|| Duration::from_secs_f64(secs))
            .ok_or_else(|| format!("`{text}` is not a duration"));
    }
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    let mut parsed_any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            "ms"
        } else {
            match c {
                'h' => "h",
                'm' => "m",
                's' => "s",
                _ => {
                    return Err(format!(
                        "`{text}` is not a duration (use 500ms, 30s, 5m, 1h)"
                    ));
                }
            }
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (use 500ms, 30s, 5m, 1h)"))?;
        number.clear();
        let seconds = match unit {
            "h" => value * 3600.0,
            "m" => value * 60.0,
            "s" => value,
            _ => value / 1000.0,
        };
        total += Duration::from_secs_f64(seconds);
        parsed_any = true;
    }
    if !number.is_empty() || !parsed_any {
        return Err(format!(
            "`{text}` is not a duration (use 500ms, 30s, 5m, 1h)"
        ));
    }
    Ok(total)
}

fn limit(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

pub fn run(args: ApplyArgs) -> anyhow::Result<i32> {
    let (planned, mut rendered) = match render::plan_and_render(&args.env) {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let mut warnings = planned.warnings.clone();
    warnings.extend(Diagnostics(rendered.warnings.clone()));
    if args.output == OutputFormat::Text {
        report(&warnings);
    }
    let input = crate::commands::release::prepare(&planned, &mut rendered, &args.env);
    let graph = Graph::build(&planned.plan, &rendered);
    let options = Options {
        concurrency: args.concurrency.max(1),
        timeout: limit(args.timeout),
        component_timeout: limit(args.component_timeout),
        progress_timeout: limit(args.progress_timeout),
        grace: args.grace,
        continue_on_error: args.continue_on_error,
        force_conflicts: args.force_conflicts,
        barrier_levels: args.barrier_levels,
        poll_interval: args.poll_interval.max(Duration::from_millis(10)),
        environment: planned.plan.environment.clone(),
    };
    let connect = ConnectOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        ..ConnectOptions::default()
    };
    let fallback = args.rollback_on_failure.then(|| rollback::Source {
        plan: planned.plan.clone(),
        rendered: rendered.clone(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(deploy(Deploy {
        graph,
        options,
        connect,
        output: args.output,
        env: args.env.clone(),
        input,
        flags: args.release.clone(),
        adopt: args.adopt,
        fallback,
    }))
}

/// One release to deploy: the graph, the engine's options and what the record needs.
pub(crate) struct Deploy {
    pub graph: Graph,
    pub options: Options,
    pub connect: ConnectOptions,
    pub output: OutputFormat,
    pub env: PathBuf,
    pub input: ReleaseInput,
    pub flags: ReleaseFlags,
    pub adopt: bool,
    /// Set with `--rollback-on-failure`.
    pub fallback: Option<rollback::Source>,
}

pub(crate) async fn deploy(mut job: Deploy) -> anyhow::Result<i32> {
    let cluster = match govdeploy_apply::Cluster::connect(&job.connect).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::FAILURE);
        }
    };
    let mut observer: Box<dyn progress::Presenter> = match job.output {
        OutputFormat::Json => Box::new(progress::Ndjson::new()),
        OutputFormat::Text if std::io::stdout().is_terminal() => Box::new(progress::Table::new()),
        OutputFormat::Text => Box::new(progress::Lines::new()),
    };
    // From here Ctrl-C stops the run cleanly (the lock is released, the record written).
    let cancel = Cancel::install();
    let objects: Vec<govdeploy_render::Object> = job
        .graph
        .nodes
        .iter()
        .flat_map(|n| n.objects.iter().cloned())
        .collect();
    let refs: Vec<&govdeploy_render::Object> = objects.iter().collect();
    let mut session = match Session::open(
        &cluster,
        job.input.clone(),
        &job.flags,
        &refs,
        &cancel,
        None,
    )
    .await
    {
        Ok(s) => s,
        Err(_) => return Ok(exit::FAILURE),
    };
    match adopt::take_over(&cluster, &session, &refs, job.adopt).await {
        Ok(adopted) => session.record.adopted = adopted,
        Err(refused) => {
            session.abandon(&refused).await;
            return Ok(exit::FAILURE);
        }
    }
    let outcome = govdeploy_apply::execute(
        &cluster,
        std::mem::take(&mut job.graph),
        job.options.clone(),
        observer.as_observer(),
        cancel.wait(),
    )
    .await;
    observer.summary(&outcome, &job.env);
    session.finish(&cluster, &outcome, &cancel).await;
    let succeeded = session.record.status == govdeploy_release::ReleaseStatus::Succeeded;
    let failed_run = !outcome.ok && !outcome.interrupted && !cancel.is_set();
    match (&job.fallback, &session.baseline.last_successful) {
        (Some(source), Some(previous)) if failed_run => {
            let previous = previous.clone();
            let plan = rollback::after_failure(source, &previous, &outcome, &session);
            let guard = session.into_guard();
            match plan {
                Ok(target) => {
                    rollback::run_under(&cluster, target, &job, guard, observer.as_mut(), &cancel)
                        .await;
                }
                Err(e) => {
                    eprintln!("error: cannot roll back: {e}");
                    crate::commands::release::lifecycle::release_lock(guard).await;
                }
            }
        }
        (Some(_), None) if failed_run => {
            eprintln!(
                "no successful release to roll back to; the cluster is left as the failed run left it"
            );
            session.close().await;
        }
        _ => session.close().await,
    }
    Ok(if outcome.ok && succeeded {
        exit::OK
    } else {
        exit::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_the_usual_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("5m3").is_err());
    }
}
