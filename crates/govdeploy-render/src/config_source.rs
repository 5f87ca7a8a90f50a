//! Runtime configuration (MDMS data, persister/indexer configs) delivered into the pod before
//! the application starts: from a pinned git revision with a pinned host key, or from a
//! bundled config image so an air-gapped site needs no access to GitHub.

use std::collections::BTreeMap;

use govdeploy_catalog::{Component, ConfigKind, ConfigSource};
use govdeploy_spec::{ConfigSourceKind, ConfigSourceSpec, Profile};
use govdeploy_yaml::Diagnostic;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapProjection, Container, EmptyDirVolumeSource, KeyToPath,
    ProjectedVolumeSource, ResourceRequirements, SecretProjection, Volume, VolumeMount,
    VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::codes;
use crate::context::Ctx;
use crate::labels;
use crate::object::Object;
use crate::pod::{container_security, mount};
use crate::secrets::SecretKeyUse;

/// git-sync, the Kubernetes project's tool for exactly this job, in one-shot mode.
pub const GIT_SYNC_IMAGE: &str = "registry.k8s.io/git-sync/git-sync:v4.4.0";
/// git-sync's own non-root user.
const GIT_SYNC_UID: i64 = 65533;
/// ConfigMap with the pinned SSH host keys of config repositories.
pub const KNOWN_HOSTS_CONFIG_MAP: &str = "config-source-known-hosts";
/// Where a bundled config image keeps its files.
pub const BUNDLE_DIR: &str = "/config";

/// Init containers, volumes and mounts that put a component's config in place.
#[derive(Debug, Default)]
pub struct ConfigDelivery {
    pub init_containers: Vec<Container>,
    pub volumes: Vec<Volume>,
    pub mounts: Vec<VolumeMount>,
    pub secret_keys: Vec<SecretKeyUse>,
    /// Inputs of the pod's config hash (repository and revision, or image).
    pub hash_parts: Vec<String>,
    /// Pulls from a git host: needs egress to it.
    pub uses_git: bool,
    /// Known-hosts lines needed in the component's namespace.
    pub known_hosts: Vec<String>,
    /// Images pulled for config delivery.
    pub images: Vec<String>,
}

fn spec_kind(kind: ConfigKind) -> ConfigSourceKind {
    match kind {
        ConfigKind::MdmsData => ConfigSourceKind::MdmsData,
        ConfigKind::Configs => ConfigSourceKind::Configs,
        ConfigKind::Other => ConfigSourceKind::Other,
    }
}

fn kind_key(kind: ConfigKind) -> &'static str {
    spec_kind(kind).as_str()
}

/// The directory name the application expects under the mount path: the repository's name
/// (`/work-dir/egov-mdms-data/...`).
fn link_name(repo: &str) -> String {
    repo.trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("config")
        .to_string()
}

/// A public GitHub SSH address as HTTPS, which needs neither a deploy key nor a host key.
fn https_form(repo: &str) -> String {
    match repo.strip_prefix("git@github.com:") {
        Some(path) => format!("https://github.com/{path}"),
        None => repo.to_string(),
    }
}

fn is_ssh(repo: &str) -> bool {
    repo.starts_with("git@") || repo.starts_with("ssh://")
}

pub fn delivery(ctx: &mut Ctx, name: &str, component: &Component) -> ConfigDelivery {
    let mut out = ConfigDelivery::default();
    let mut volumes_seen = BTreeMap::new();
    for (index, source) in component.config_sources.iter().enumerate() {
        let volume = format!("config-{index}");
        let link = link_name(&source.repo);
        let configured = ctx
            .env
            .spec
            .config_sources
            .get(&spec_kind(source.kind))
            .cloned();
        match configured {
            Some(ConfigSourceSpec::Git(git)) => {
                git_sync(
                    ctx,
                    &mut out,
                    &volume,
                    &git.repo,
                    &git.revision,
                    &link,
                    source,
                    Some(&git.ssh_key_secret),
                );
                if let Some(hosts) = &git.known_hosts {
                    out.known_hosts.push(hosts.clone());
                }
            }
            Some(ConfigSourceSpec::Image(image)) => {
                let image = crate::images::relocate(ctx, &image);
                out.hash_parts.push(format!("image={image}"));
                out.init_containers.push(init_container(
                    &format!("config-{index}"),
                    &image,
                    Some(vec![
                        "sh".into(),
                        "-c".into(),
                        format!("cp -R {BUNDLE_DIR}/. {}/{link}/", source.mount_path),
                    ]),
                    None,
                    vec![mount(&volume, &source.mount_path, false)],
                    crate::pod::DEFAULT_UID,
                ));
                out.images.push(image);
            }
            None => {
                let branch = source.branch.clone().unwrap_or_else(|| "master".into());
                ctx.unpinned_config
                    .entry((
                        kind_key(source.kind).to_string(),
                        source.repo.clone(),
                        branch.clone(),
                    ))
                    .or_default()
                    .push(name.to_string());
                let repo = https_form(&source.repo);
                git_sync(ctx, &mut out, &volume, &repo, &branch, &link, source, None);
            }
        }
        if volumes_seen.insert(volume.clone(), ()).is_none() {
            out.volumes.push(Volume {
                name: volume.clone(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: Some(Quantity("2Gi".into())),
                    medium: None,
                }),
                ..Volume::default()
            });
            out.mounts.push(mount(&volume, &source.mount_path, true));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn git_sync(
    ctx: &Ctx,
    out: &mut ConfigDelivery,
    volume: &str,
    repo: &str,
    revision: &str,
    link: &str,
    source: &ConfigSource,
    ssh_key_secret: Option<&str>,
) {
    let image = crate::images::relocate(ctx, GIT_SYNC_IMAGE);
    let mut args = vec![
        format!("--repo={repo}"),
        format!("--ref={revision}"),
        format!("--root={}/.git-sync", source.mount_path),
        format!("--link={}/{link}", source.mount_path),
        "--one-time".to_string(),
        "--depth=1".to_string(),
    ];
    let mut mounts = vec![
        mount(volume, &source.mount_path, false),
        mount("config-tmp", "/tmp", false),
    ];
    if is_ssh(repo) {
        let secret = ssh_key_secret.unwrap_or("git-sync").to_string();
        args.push("--ssh-key-file=/etc/git-secret/ssh".into());
        args.push("--ssh-known-hosts=true".into());
        args.push("--ssh-known-hosts-file=/etc/git-secret/known_hosts".into());
        mounts.push(mount("git-secret", "/etc/git-secret", true));
        out.secret_keys.push(SecretKeyUse {
            secret: secret.clone(),
            key: "ssh".into(),
        });
        if !out.volumes.iter().any(|v| v.name == "git-secret") {
            out.volumes.push(Volume {
                name: "git-secret".into(),
                projected: Some(ProjectedVolumeSource {
                    default_mode: Some(0o440),
                    sources: Some(vec![
                        VolumeProjection {
                            secret: Some(SecretProjection {
                                name: secret,
                                items: Some(vec![KeyToPath {
                                    key: "ssh".into(),
                                    path: "ssh".into(),
                                    mode: None,
                                }]),
                                optional: None,
                            }),
                            ..VolumeProjection::default()
                        },
                        VolumeProjection {
                            config_map: Some(ConfigMapProjection {
                                name: KNOWN_HOSTS_CONFIG_MAP.into(),
                                items: Some(vec![KeyToPath {
                                    key: "known_hosts".into(),
                                    path: "known_hosts".into(),
                                    mode: None,
                                }]),
                                optional: None,
                            }),
                            ..VolumeProjection::default()
                        },
                    ]),
                }),
                ..Volume::default()
            });
        }
    }
    if !out.volumes.iter().any(|v| v.name == "config-tmp") {
        out.volumes.push(Volume {
            name: "config-tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("256Mi".into())),
                medium: None,
            }),
            ..Volume::default()
        });
    }
    out.hash_parts.push(format!("git={repo}@{revision}"));
    out.uses_git = true;
    let index = out.init_containers.len();
    out.init_containers.push(init_container(
        &format!("config-{index}"),
        &image,
        None,
        Some(args),
        mounts,
        GIT_SYNC_UID,
    ));
    out.images.push(image);
}

fn init_container(
    name: &str,
    image: &str,
    command: Option<Vec<String>>,
    args: Option<Vec<String>>,
    mounts: Vec<VolumeMount>,
    uid: i64,
) -> Container {
    let memory = Quantity("128Mi".into());
    Container {
        name: name.to_string(),
        image: Some(image.to_string()),
        image_pull_policy: Some("IfNotPresent".into()),
        command,
        args,
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), Quantity("50m".into())),
                ("memory".to_string(), memory.clone()),
            ])),
            limits: Some(BTreeMap::from([("memory".to_string(), memory)])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(container_security(uid, &[], true)),
        volume_mounts: Some(mounts),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    }
}

/// The known-hosts ConfigMap of a namespace (host keys are public; pinning them is what
/// matters).
pub fn known_hosts_config_map(ctx: &Ctx, namespace: &str, lines: &[String]) -> Object {
    let mut all: Vec<&str> = lines
        .iter()
        .flat_map(|l| l.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    all.sort();
    all.dedup();
    let cm = ConfigMap {
        metadata: labels::meta(
            KNOWN_HOSTS_CONFIG_MAP,
            Some(namespace),
            labels::environment(ctx),
            Default::default(),
        ),
        data: Some(BTreeMap::from([(
            "known_hosts".to_string(),
            format!("{}\n", all.join("\n")),
        )])),
        ..ConfigMap::default()
    };
    Object::from_typed(&cm, Some(namespace), KNOWN_HOSTS_CONFIG_MAP)
}

impl Ctx<'_> {
    /// One diagnostic per unpinned source, naming every component that reads it: an error for
    /// uat and prod, a warning otherwise.
    pub fn flush_unpinned_config(&mut self) {
        let unpinned = std::mem::take(&mut self.unpinned_config);
        for ((kind, repo, branch), components) in unpinned {
            let message = format!(
                "{kind} config comes from {repo} branch `{branch}`, which is not pinned: read by {}",
                components.join(", ")
            );
            let diagnostic = if matches!(self.profile, Profile::Uat | Profile::Prod) {
                Diagnostic::error(codes::CONFIG_SOURCE_REQUIRED, message)
            } else {
                Diagnostic::warning(
                    codes::UNPINNED_CONFIG,
                    format!("{message}; it changes under you"),
                )
            };
            self.report(diagnostic.hint(format!(
                "set spec.configSources.{kind} to a git revision (a commit) with knownHosts, or to a bundled config image"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_names_and_https_forms() {
        assert_eq!(
            link_name("git@github.com:egovernments/egov-mdms-data"),
            "egov-mdms-data"
        );
        assert_eq!(
            link_name("https://github.com/egovernments/configs.git"),
            "configs"
        );
        assert_eq!(
            https_form("git@github.com:egovernments/configs"),
            "https://github.com/egovernments/configs"
        );
        assert!(is_ssh("git@github.com:a/b") && !is_ssh("https://github.com/a/b"));
    }
}
