//! Release commands: `diff`, `history`, `status`, `get`, `rollback`, `unlock`, and the release
//! side of `apply` (lock, records, prune, ApplySet, adoption) in [`lifecycle`] and [`adopt`].

pub(crate) mod adopt;
pub(crate) mod lifecycle;
pub(crate) mod rollback;
mod views;

use std::path::{Path, PathBuf};

use clap::Args;
use govdeploy_release::applyset::ApplySet;
use govdeploy_release::resolver::Resolver;
use govdeploy_release::{InputRef, InventoryItem, ReleaseStore};
use govdeploy_render::{Object, Rendered};

use crate::commands::release::lifecycle::ReleaseInput;
use crate::commands::render;
use crate::{exit, pipeline};

pub use views::{GetArgs, HistoryArgs, StatusArgs, UnlockArgs, get, history, status, unlock};

/// The runtime every release command runs its cluster calls on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The cluster client, or the failure exit code once the error is printed.
pub(crate) async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Client, i32> {
    govdeploy_release::client::connect(kubeconfig, context)
        .await
        .map_err(|e| {
            eprintln!("error: {e}");
            exit::FAILURE
        })
}

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

/// The namespace of an environment's records, Lease and ApplySet parent: where DIGIT's
/// `egov` namespace goes (renamed by `spec.namespaces`).
pub fn release_namespace(planned: &pipeline::Planned) -> String {
    planned
        .loaded
        .env
        .spec
        .namespaces
        .get("egov")
        .cloned()
        .unwrap_or_else(|| "egov".to_string())
}

/// The release side of a render: every object labelled a member of the environment's
/// ApplySet (so `diff` and `apply` send the same objects), and what the record keeps of the
/// inputs (references and hashes only).
pub fn prepare(planned: &pipeline::Planned, rendered: &mut Rendered, env: &Path) -> ReleaseInput {
    let environment = planned.plan.environment.clone();
    let namespace = release_namespace(planned);
    let set = ApplySet::for_environment(&environment, &namespace);
    set.label_members(rendered.files.iter_mut().flat_map(|f| f.objects.iter_mut()));
    let mut inputs = Vec::new();
    if let Ok(bytes) = std::fs::read(env) {
        inputs.push(InputRef::new(
            "environment",
            &env.display().to_string(),
            &bytes,
        ));
    }
    if let Some(secrets) = planned.loaded.secrets_file()
        && let Ok(bytes) = std::fs::read(&secrets)
    {
        // The file's hash (ciphertext when encrypted), never a value.
        inputs.push(InputRef::new(
            "secrets",
            &secrets.display().to_string(),
            &bytes,
        ));
    }
    let plan = &planned.plan;
    inputs.push(InputRef::new(
        "catalogue",
        &plan.catalog,
        plan.catalog.as_bytes(),
    ));
    let namespace_object = rendered
        .objects()
        .find(|o| o.kind == "Namespace" && o.name == namespace)
        .cloned();
    ReleaseInput {
        environment,
        namespace,
        catalogue_version: plan.catalog.clone(),
        release_version: format!("{} {} ({})", plan.product, plan.version, plan.release),
        inputs,
        values: serde_json::to_value(&planned.loaded.env).unwrap_or_default(),
        namespace_object,
        rollback_of: None,
        keep_jobs: false,
        carry: Vec::new(),
    }
}

pub fn inventory_of(object: &Object) -> InventoryItem {
    let (group, version) = govdeploy_release::resolver::split_api_version(&object.api_version);
    InventoryItem {
        group: group.to_string(),
        version: version.to_string(),
        kind: object.kind.clone(),
        namespace: object.namespace.clone(),
        name: object.name.clone(),
        uid: None,
        node: String::new(),
    }
}

pub fn diff(args: DiffArgs) -> anyhow::Result<i32> {
    let (planned, mut rendered) = match render::plan_and_render(&args.env) {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let input = prepare(&planned, &mut rendered, &args.env);
    runtime()?.block_on(async {
        let client = match connect(args.kubeconfig.as_deref(), args.context.as_deref()).await {
            Ok(c) => c,
            Err(code) => return Ok(code),
        };
        let resolver = Resolver::new(client.clone());
        let objects: Vec<_> = rendered.objects().collect();
        let (mut diff, mut errors) =
            govdeploy_release::diff::diff_objects(&resolver, &objects, args.show_secrets).await;
        // What an apply would prune: earlier releases' objects this render no longer has.
        let store = ReleaseStore::new(client, &input.namespace, &input.environment);
        let new: Vec<InventoryItem> = objects.iter().map(|o| inventory_of(o)).collect();
        match store.baseline().await {
            Ok(baseline) => {
                let set = ApplySet::for_environment(&input.environment, &input.namespace);
                match govdeploy_release::prune::prune_set(
                    &resolver,
                    &baseline.inventory,
                    &new,
                    &input.environment,
                    Some(&set.id),
                    false,
                )
                .await
                {
                    Ok(prune) => {
                        for item in &prune.delete {
                            let live = govdeploy_release::diff::live(
                                &resolver,
                                &item.api_version(),
                                &item.kind,
                                item.namespace.as_deref(),
                                &item.name,
                            )
                            .await
                            .ok()
                            .flatten();
                            let label = |n: &str| {
                                live.as_ref()
                                    .and_then(|l| l["metadata"]["labels"][n].as_str())
                                    .map(str::to_string)
                            };
                            diff.objects.push(govdeploy_release::diff::object_diff(
                                label(govdeploy_release::labels::MODULE).as_deref(),
                                label(govdeploy_release::labels::COMPONENT).as_deref(),
                                &item.reference(),
                                live.as_ref(),
                                None,
                                args.show_secrets,
                            ));
                        }
                        for item in &prune.protected {
                            eprintln!(
                                "note: {} is no longer rendered but is kept (protected kind; apply --prune-protected deletes it)",
                                item.reference()
                            );
                        }
                    }
                    Err(e) => errors.push(e),
                }
            }
            Err(e) => errors.push(e),
        }
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
