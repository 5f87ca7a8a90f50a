//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "govdeploy",
    version,
    about = "Deploy digital public platforms (eGov DIGIT) onto Kubernetes from one environment file"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve, order, size and capacity-check an environment; no cluster needed.
    Plan {
        /// The environment file.
        env: PathBuf,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Print the component dependency graph of an environment.
    Graph {
        env: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// List every image the environment uses (after registry-mirror rewriting).
    Images {
        env: PathBuf,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        #[command(flatten)]
        lock: crate::commands::airgap::LockArgs,
    },
    /// Write an offline bundle: the images (an OCI image layout), lockfile, checksums,
    /// environment files and catalogue in one tar.
    Bundle(crate::commands::airgap::BundleArgs),
    /// Copy images from a bundle or registry into a (private) registry.
    Mirror(crate::commands::airgap::MirrorArgs),
    /// Render the environment's Kubernetes objects: one file per component plus a
    /// kustomization.yaml, or one stream of documents with `-o -`.
    Render {
        env: PathBuf,
        /// Output directory (created or replaced as a whole), or `-` for standard output.
        #[arg(short, long)]
        output: PathBuf,
        /// With `-o -`, also stream Secret objects (their values reach standard output).
        #[arg(long)]
        include_secrets: bool,
    },
    /// Deploy the environment to a cluster in dependency order, gated on health.
    Apply(crate::commands::apply::ApplyArgs),
    /// Show what an apply would change: live objects against the server's dry-run, as a
    /// unified diff by module and component (exit 0: none, 2: changes, 1: error).
    Diff(crate::commands::release::DiffArgs),
    /// List the environment's releases: revision, status, when, who, tool version, changes.
    History(crate::commands::release::HistoryArgs),
    /// Live health of the objects of the environment's newest release, per component (exit
    /// 1 when unhealthy).
    Status(crate::commands::release::StatusArgs),
    /// Print the manifests or the values (inputs, secrets as hashes) of a release.
    Get(crate::commands::release::GetArgs),
    /// Apply a stored release again (the last successful one before the newest by default),
    /// through the same health gates, recorded as a new revision.
    Rollback(crate::commands::release::rollback::RollbackArgs),
    /// Remove the environment's lock left by a dead run (asks for confirmation).
    Unlock(crate::commands::release::UnlockArgs),
    /// Print the JSON Schema of the environment file (for editor completion).
    Schema,
    /// Audit Kubernetes manifests against the deployment checklist (any manifests, offline).
    Audit(crate::commands::audit::AuditArgs),
    /// Work with catalogues.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Create, edit, set, rotate, check and import the encrypted secrets file (SOPS, age).
    Secrets(crate::commands::secrets::SecretsArgs),
    /// Back up an environment's data (`backup ENV --to STORE`), or verify, drill, list,
    /// prune and schedule backups.
    Backup(Box<crate::commands::backup::BackupArgs>),
    /// Restore an environment's database from a backup (asks for confirmation).
    Restore(Box<crate::commands::backup::RestoreArgs>),
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Import a DIGIT-DevOps checkout into a govdeploy catalogue.
    ImportDigit {
        /// Root of the DIGIT-DevOps checkout (or its `deploy-as-code/helm` directory).
        checkout: PathBuf,
        /// Output directory: receives `<name>.yaml` and `<name>-import-report.yaml`.
        #[arg(short, long)]
        output: PathBuf,
        /// Catalogue name.
        #[arg(long, default_value = "digit")]
        name: String,
        /// A DIGIT environment file whose per-chart sections fill values charts leave unset.
        #[arg(long)]
        env_file: Option<PathBuf>,
        /// Commit of the checkout, recorded as provenance.
        #[arg(long)]
        commit: Option<String>,
        /// Source description recorded as provenance (defaults to the checkout path).
        #[arg(long)]
        source: Option<String>,
    },
    /// List the components, releases and modules of a catalogue.
    Show {
        /// Built-in catalogue name or path to a catalogue file.
        #[arg(default_value = "digit")]
        catalog: String,
    },
}
