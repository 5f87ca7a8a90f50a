//! `govdeploy diff ENV`: what an apply would change, as a unified YAML diff of the live
//! objects against the server's dry-run of the rendered ones, grouped by module and
//! component. Exit code 0 when nothing would change, 2 when something would, 1 on errors.
//! Secret values are masked unless `--show-secrets`.

use std::path::PathBuf;

use clap::Args;
use govdeploy_release::resolver::Resolver;

use crate::commands::render;
use crate::exit;

/// Exit code of `diff` when something would change.
const CHANGES: i32 = 2;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The environment file.
    pub env: PathBuf,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Show Secret values instead of `***`.
    #[arg(long)]
    pub show_secrets: bool,
}

pub fn diff(args: DiffArgs) -> anyhow::Result<i32> {
    let (_, rendered) = match render::plan_and_render(&args.env) {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = match govdeploy_release::client::connect(
            args.kubeconfig.as_deref(),
            args.context.as_deref(),
        )
        .await
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(exit::FAILURE);
            }
        };
        let resolver = Resolver::new(client);
        let objects: Vec<_> = rendered.objects().collect();
        let (diff, errors) =
            govdeploy_release::diff::diff_objects(&resolver, &objects, args.show_secrets).await;
        print!("{}", diff.render());
        for e in &errors {
            eprintln!("error: {e}");
        }
        Ok(if !errors.is_empty() {
            exit::FAILURE
        } else if diff.has_changes() {
            CHANGES
        } else {
            exit::OK
        })
    })
}
