//! Presenting a run: NDJSON events, timestamped lines, or a live table on a terminal; then the
//! summary with every failure's report.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use govdeploy_apply::events::NodeInfo;
use govdeploy_apply::report::FailureReport;
use govdeploy_apply::{Event, EventKind, NodeState, Observer, Outcome};

/// An observer that also prints the end of the run.
pub trait Presenter: Observer {
    fn as_observer(&mut self) -> &mut dyn Observer;
    fn summary(&mut self, outcome: &Outcome, env: &Path);
}

/// `-o json`: one JSON object per line on stdout, then the outcome.
pub struct Ndjson {
    out: std::io::Stdout,
}

impl Ndjson {
    pub fn new() -> Self {
        Ndjson {
            out: std::io::stdout(),
        }
    }
}

impl Observer for Ndjson {
    fn event(&mut self, event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            let mut out = self.out.lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

impl Presenter for Ndjson {
    fn as_observer(&mut self) -> &mut dyn Observer {
        self
    }

    fn summary(&mut self, outcome: &Outcome, _env: &Path) {
        let value = serde_json::json!({"event": "outcome", "outcome": outcome});
        let mut out = self.out.lock();
        let _ = writeln!(out, "{value}");
    }
}

/// What the text presenters know about each node.
#[derive(Default)]
struct Board {
    nodes: Vec<NodeInfo>,
    state: BTreeMap<String, String>,
    waiting: BTreeMap<String, String>,
    started: BTreeMap<String, f64>,
    ready: usize,
    failed: usize,
    retries: u64,
    elapsed: f64,
}

impl Board {
    fn update(&mut self, event: &Event) {
        self.elapsed = event.elapsed;
        match &event.kind {
            EventKind::Plan { nodes, .. } => {
                self.nodes = nodes.clone();
                for n in nodes {
                    self.state.insert(n.name.clone(), "pending".into());
                }
            }
            EventKind::NodeStarted { node } => {
                self.state.insert(node.clone(), "applying".into());
                self.started.insert(node.clone(), event.elapsed);
            }
            EventKind::NodeWaiting { node, message } => {
                self.state.insert(node.clone(), "waiting".into());
                self.waiting.insert(node.clone(), message.clone());
            }
            EventKind::NodeFailing { node, reason, .. } => {
                self.state
                    .insert(node.clone(), format!("failing ({reason})"));
            }
            EventKind::NodeReady { node, .. } => {
                self.state.insert(node.clone(), "ready".into());
                self.ready += 1;
            }
            EventKind::NodeFailed { node, .. } => {
                self.state.insert(node.clone(), "failed".into());
                self.failed += 1;
            }
            EventKind::NodeSkipped { node, .. } => {
                self.state.insert(node.clone(), "skipped".into());
            }
            EventKind::Retry { total, .. } => self.retries = *total,
            _ => {}
        }
    }

    fn state_of(&self, node: &str) -> &str {
        self.state.get(node).map_or("pending", String::as_str)
    }

    /// The live table: counts, then running nodes with what they wait for, then pending
    /// nodes with the needs they are blocked on.
    fn table(&self, rows: usize) -> String {
        let mut lines = vec![format!(
            "{:>7.1}s  ready {}/{}  failed {}  retries {}",
            self.elapsed,
            self.ready,
            self.nodes.len(),
            self.failed,
            self.retries
        )];
        for n in &self.nodes {
            let state = self.state_of(&n.name);
            if state == "applying" || state == "waiting" || state.starts_with("failing") {
                let since = self.started.get(&n.name).map_or(0.0, |s| self.elapsed - s);
                let what = self.waiting.get(&n.name).map_or("", String::as_str);
                lines.push(format!(
                    "  {:<18} {:<32} {:>6.1}s  {}",
                    state.to_uppercase(),
                    n.name,
                    since,
                    truncate(what, 90)
                ));
            }
        }
        for n in &self.nodes {
            if self.state_of(&n.name) != "pending" {
                continue;
            }
            let blocked: Vec<&str> = n
                .needs
                .iter()
                .filter(|d| self.state_of(d) != "ready")
                .map(String::as_str)
                .collect();
            lines.push(format!(
                "  {:<18} {:<32}          on {}",
                "BLOCKED",
                n.name,
                truncate(&blocked.join(", "), 80)
            ));
        }
        if lines.len() > rows {
            let hidden = lines.len() - rows + 1;
            lines.truncate(rows - 1);
            lines.push(format!("  ... {hidden} more"));
        }
        lines.join("\n")
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// One plain line per event (not a terminal).
fn line(event: &Event) -> Option<String> {
    let at = format!("[{:>8.3}s]", event.elapsed);
    let text = match &event.kind {
        EventKind::Plan {
            environment,
            server,
            nodes,
            barrier_levels,
        } => format!(
            "applying {environment} to {server}: {} nodes, {} objects{}",
            nodes.len(),
            nodes.iter().map(|n| n.objects).sum::<usize>(),
            if *barrier_levels {
                " (level by level, barrier between levels)"
            } else {
                ""
            }
        ),
        EventKind::NodeStarted { node } => format!("start    {node}"),
        EventKind::ObjectApplied { .. } => return None,
        EventKind::NodeWaiting { node, message } => format!("wait     {node}: {message}"),
        EventKind::NodeFailing {
            node,
            reason,
            message,
        } => format!("failing  {node}: {reason}: {message} (within the grace period)"),
        EventKind::NodeReady { node, seconds } => format!("ready    {node} ({seconds:.1}s)"),
        EventKind::NodeFailed {
            node,
            reason,
            message,
            ..
        } => format!("FAILED   {node}: {reason}: {message}"),
        EventKind::NodeSkipped { node, because } => format!("skip     {node}: {because}"),
        EventKind::Retry { reason, total } => format!("retry    {reason} ({total} so far)"),
        EventKind::Interrupted => {
            "interrupted: finishing the writes in flight, starting nothing new".into()
        }
        EventKind::Finished { .. } => return None,
    };
    Some(format!("{at} {text}"))
}

/// Timestamped lines on stdout.
pub struct Lines {
    board: Board,
}

impl Lines {
    pub fn new() -> Self {
        Lines {
            board: Board::default(),
        }
    }
}

impl Observer for Lines {
    fn event(&mut self, event: &Event) {
        self.board.update(event);
        if let Some(l) = line(event) {
            // A closed pipe (`| head`) must not abort the deploy.
            let _ = writeln!(std::io::stdout(), "{l}");
        }
    }
}

impl Presenter for Lines {
    fn as_observer(&mut self) -> &mut dyn Observer {
        self
    }

    fn summary(&mut self, outcome: &Outcome, env: &Path) {
        let _ = write!(std::io::stdout(), "{}", summary_text(outcome, env));
    }
}

/// The live table on a terminal; finished nodes and failures scroll above it.
pub struct Table {
    board: Board,
    bar: indicatif::ProgressBar,
}

impl Table {
    pub fn new() -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        Table {
            board: Board::default(),
            bar,
        }
    }
}

impl Observer for Table {
    fn event(&mut self, event: &Event) {
        self.board.update(event);
        match &event.kind {
            EventKind::NodeReady { .. }
            | EventKind::NodeFailed { .. }
            | EventKind::NodeSkipped { .. }
            | EventKind::Plan { .. }
            | EventKind::Interrupted => {
                if let Some(l) = line(event) {
                    self.bar.println(l);
                }
            }
            _ => {}
        }
        let rows = console_rows().saturating_sub(2).max(5);
        self.bar.set_message(self.board.table(rows));
    }
}

fn console_rows() -> usize {
    std::env::var("LINES")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(24)
}

impl Presenter for Table {
    fn as_observer(&mut self) -> &mut dyn Observer {
        self
    }

    fn summary(&mut self, outcome: &Outcome, env: &Path) {
        self.bar.finish_and_clear();
        let _ = write!(std::io::stdout(), "{}", summary_text(outcome, env));
    }
}

fn report_text(report: &FailureReport, skipped_because: &[String]) -> String {
    let mut out = format!(
        "\n✗ {} failed: {}: {}\n",
        report.node, report.reason, report.message
    );
    let bad_conditions: Vec<_> = report
        .conditions
        .iter()
        .filter(|c| {
            !((c.type_ == "Progressing"
                || c.type_ == "Available"
                || c.type_ == "Ready"
                || c.type_ == "Complete")
                && c.status == "True")
        })
        .collect();
    if !bad_conditions.is_empty() {
        out.push_str("  conditions:\n");
        for c in bad_conditions {
            out.push_str(&format!(
                "    {} {}={} {}: {}\n",
                c.object, c.type_, c.status, c.reason, c.message
            ));
        }
    }
    if !report.containers.is_empty() {
        out.push_str("  containers:\n");
        for c in &report.containers {
            let kind = if c.init { "init " } else { "" };
            out.push_str(&format!(
                "    {} {kind}{}: {} (restarts {}){}\n",
                c.pod,
                c.container,
                c.state,
                c.restarts,
                c.last_terminated
                    .as_ref()
                    .map(|t| format!(", last {t}"))
                    .unwrap_or_default()
            ));
        }
    }
    if !report.events.is_empty() {
        out.push_str("  warning events:\n");
        for e in &report.events {
            out.push_str(&format!(
                "    {} {} (x{}): {}\n",
                e.object, e.reason, e.count, e.message
            ));
        }
    }
    for log in &report.logs {
        out.push_str(&format!(
            "  last log lines of {}/{}{}:\n",
            log.pod,
            log.container,
            if log.previous {
                " (previous container)"
            } else {
                ""
            }
        ));
        for l in &log.lines {
            out.push_str(&format!("    | {l}\n"));
        }
    }
    if let Some(hint) = &report.hint {
        out.push_str(&format!("  help: {hint}\n"));
    }
    if !skipped_because.is_empty() {
        out.push_str(&format!(
            "  not started because of it: {}\n",
            skipped_because.join(", ")
        ));
    }
    out
}

/// The end of a text run: failures with their reports, then one line of totals.
pub fn summary_text(outcome: &Outcome, env: &Path) -> String {
    let mut out = String::new();
    for report in &outcome.failures {
        let because = format!("needs {}, which failed", report.node);
        let skipped: Vec<String> = outcome
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::Skipped && n.message.as_deref() == Some(&because))
            .map(|n| n.name.clone())
            .collect();
        out.push_str(&report_text(report, &skipped));
    }
    let count = |s: NodeState| outcome.nodes.iter().filter(|n| n.state == s).count();
    let written: usize = outcome.nodes.iter().map(|n| n.written).sum();
    let unchanged: usize = outcome.nodes.iter().map(|n| n.unchanged).sum();
    if outcome.interrupted || outcome.stopped.is_some() {
        let applied: Vec<&str> = outcome
            .nodes
            .iter()
            .filter(|n| n.started.is_some())
            .map(|n| n.name.as_str())
            .collect();
        let left: Vec<&str> = outcome
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::Abandoned)
            .map(|n| n.name.as_str())
            .collect();
        out.push_str(&format!(
            "\n{}: applied {} node(s): {}\n",
            outcome.stopped.as_deref().unwrap_or("stopped"),
            applied.len(),
            truncate(&applied.join(", "), 400)
        ));
        if !left.is_empty() {
            out.push_str(&format!(
                "  written but not yet healthy (left rolling out): {}\n",
                left.join(", ")
            ));
        }
    }
    let per_object = if outcome.objects > 0 {
        outcome.stats.requests as f64 / outcome.objects as f64
    } else {
        0.0
    };
    let retries = if outcome.stats.retries == 0 {
        "no retries".to_string()
    } else {
        format!(
            "{} retries ({})",
            outcome.stats.retries,
            outcome
                .stats
                .retry_reasons
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    out.push_str(&format!(
        "\n{} {} in {:.1}s: {} ready, {} failed, {} skipped, {} abandoned; {} objects written, {} unchanged; {} requests ({:.1} per object), {}\n",
        if outcome.ok { "applied" } else { "FAILED" },
        env.display(),
        outcome.seconds,
        count(NodeState::Ready),
        count(NodeState::Failed),
        count(NodeState::Skipped),
        count(NodeState::Abandoned),
        written,
        unchanged,
        outcome.stats.requests,
        per_object,
        retries
    ));
    out
}
