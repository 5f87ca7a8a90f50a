//! `govdeploy audit PATH...`: the deployment checklist over any Kubernetes manifests (files,
//! directories, `-` for standard input), and `govdeploy audit --rules`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use govdeploy_audit::{Config, Date, Profile, RULES, Severity, Source};

use crate::commands::report;
use crate::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Manifest files or directories (searched recursively for *.yaml, *.yml, *.json); `-` reads
    /// standard input.
    #[arg(required_unless_present = "rules")]
    pub paths: Vec<PathBuf>,
    /// Built-in profile: production (the checklist) or development (relaxed). A config file's
    /// `extends` names it too.
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<Profile>,
    /// Config file extending the profile (rules on/off/severity, allowed registries and domains).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(short, long, value_enum, default_value_t = AuditFormat::Text)]
    pub output: AuditFormat,
    /// Exit 1 when an unwaived finding is at or above this severity.
    #[arg(long, value_parser = parse_severity, default_value = "high")]
    pub fail_on: Severity,
    /// List every rule (id, severity, checklist item) and exit.
    #[arg(long)]
    pub rules: bool,
    /// The date waiver expiry is judged against (default: today, UTC).
    #[arg(long, hide = true, value_parser = parse_date)]
    pub today: Option<Date>,
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn parse_date(s: &str) -> Result<Date, String> {
    s.parse()
}

pub fn run(args: AuditArgs) -> anyhow::Result<i32> {
    if args.rules {
        print_rules(args.output)?;
        return Ok(exit::OK);
    }
    let config = match &args.config {
        None => Config::profile(args.profile.unwrap_or(Profile::Production)),
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!(
                        "error: cannot read the audit config {}: {e}",
                        path.display()
                    );
                    return Ok(exit::INVALID_INPUT);
                }
            };
            match Config::from_yaml(&text, &path.display().to_string(), args.profile) {
                Ok(c) => c,
                Err(e) => {
                    report(&govdeploy_yaml::Diagnostics(e.problems));
                    return Ok(exit::INVALID_INPUT);
                }
            }
        }
    };
    let (sources, unreadable) = read_inputs(&args.paths);
    let today = args.today.unwrap_or_else(today);
    let report = govdeploy_audit::audit(&sources, &config, today);
    let mut stdout = std::io::stdout().lock();
    match args.output {
        AuditFormat::Text => {
            stdout.write_all(govdeploy_audit::text::render(&report, args.fail_on).as_bytes())?
        }
        AuditFormat::Json => {
            serde_json::to_writer_pretty(
                &mut stdout,
                &govdeploy_audit::json::render(&report, args.fail_on),
            )?;
            writeln!(stdout)?;
        }
        AuditFormat::Sarif => {
            serde_json::to_writer_pretty(
                &mut stdout,
                &govdeploy_audit::sarif::render(&report, env!("CARGO_PKG_VERSION")),
            )?;
            writeln!(stdout)?;
        }
    }
    stdout.flush()?;
    for problem in &unreadable {
        eprintln!("error[E-AUDIT-INPUT]: {problem}");
    }
    if args.output != AuditFormat::Text {
        for e in &report.errors {
            eprintln!(
                "{}:{}:{}: error[E-AUDIT-INPUT]: {}",
                e.file, e.line, e.col, e.message
            );
        }
    }
    Ok(if !unreadable.is_empty() || !report.errors.is_empty() {
        exit::INVALID_INPUT
    } else if report.failing(args.fail_on) > 0 {
        1
    } else {
        exit::OK
    })
}

fn today() -> Date {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Date::from_days_since_epoch(i64::try_from(seconds / 86_400).unwrap_or(0))
}

fn print_rules(format: AuditFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        AuditFormat::Text => {
            writeln!(
                out,
                "{:<15} {:<9} {:<26} what it finds [checklist item]",
                "rule", "severity", "waiver topic"
            )?;
            for r in RULES {
                writeln!(
                    out,
                    "{:<15} {:<9} {:<26} {} [{}]",
                    r.id,
                    r.severity.as_str(),
                    r.topic,
                    r.title,
                    r.item
                )?;
            }
        }
        AuditFormat::Json | AuditFormat::Sarif => {
            serde_json::to_writer_pretty(&mut out, RULES)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

fn manifest_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Reads every input; a path that cannot be read is reported and the rest still audited.
fn read_inputs(paths: &[PathBuf]) -> (Vec<Source>, Vec<String>) {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path == Path::new("-") {
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => sources.push(Source {
                    path: "-".into(),
                    text,
                }),
                Err(e) => problems.push(format!("cannot read standard input: {e}")),
            }
            continue;
        }
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files, &mut problems);
            files.sort();
            for file in files {
                read_file(&file, &mut sources, &mut problems);
            }
        } else {
            read_file(path, &mut sources, &mut problems);
        }
    }
    (sources, problems)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(format!("cannot read directory {}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, files, problems);
        } else if manifest_file(&path) {
            files.push(path);
        }
    }
}

fn read_file(path: &Path, sources: &mut Vec<Source>, problems: &mut Vec<String>) {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => sources.push(Source {
                path: path.display().to_string(),
                text,
            }),
            Err(_) => problems.push(format!("{} is not UTF-8 text", path.display())),
        },
        Err(e) => problems.push(format!("cannot read {}: {e}", path.display())),
    }
}
