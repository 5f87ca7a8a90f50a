//! DIGIT product release manifests (`product-release-charts/<Product>/dependancy_chart-*.yaml`):
//! `modules: [{name, dependencies, services: ["egovio/<svc>:<tag>", ...]}]`.

use std::collections::BTreeMap;
use std::path::Path;

use govdeploy_yaml::Node;

use super::drift::{Drift, DriftKind};
use crate::model::{Component, Module, ModuleKind, Release};

/// One entry of a module's `services` list, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Repository path as written (`egovio/egov-user`, `zuul`, `kafka-v2`).
    pub path: String,
    /// Last path segment (`egov-user`).
    pub name: String,
    pub tag: Option<String>,
}

pub fn parse_entry(text: &str) -> Entry {
    let text = text.trim();
    let last_slash = text.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match text[last_slash..].rfind(':') {
        Some(i) => {
            let split = last_slash + i;
            (
                text[..split].to_string(),
                Some(text[split + 1..].to_string()).filter(|t| !t.is_empty()),
            )
        }
        None => (text.to_string(), None),
    };
    let name = path.rsplit('/').next().unwrap_or(&path).to_string();
    Entry { path, name, tag }
}

/// The release key for a manifest file: `dependancy_chart-digit-v2.8.yaml` -> `digit-v2.8`.
pub fn release_key(file_stem: &str) -> String {
    let stem = file_stem
        .strip_prefix("dependancy_chart-")
        .or_else(|| file_stem.strip_prefix("dependency_chart-"))
        .unwrap_or(file_stem);
    stem.to_ascii_lowercase()
}

/// How a manifest entry maps onto the catalogue.
pub enum Resolution {
    /// The service image of a component.
    Service(String),
    /// The Flyway migration image of a component (`<svc>-db`).
    Migration(String),
    /// A natively modelled component reached through an alias, with a note when the alias
    /// names something the native model replaces (ZooKeeper -> Kafka in KRaft mode).
    Native(String, Option<String>),
}

pub fn resolve_entry(
    entry: &Entry,
    components: &BTreeMap<String, Component>,
) -> Option<Resolution> {
    let image_matches = |repo: &str| {
        if entry.path.contains('/') {
            repo == entry.path || repo.ends_with(&format!("/{}", entry.path))
        } else {
            repo.rsplit('/').next() == Some(entry.name.as_str())
        }
    };
    // A component named like the entry wins over another whose image happens to match.
    if let Some(c) = components.get(&entry.name)
        && c.image
            .as_ref()
            .is_some_and(|i| image_matches(&i.repository))
    {
        return Some(Resolution::Service(entry.name.clone()));
    }
    if let Some((name, _)) = components.iter().find(|(_, c)| {
        c.image
            .as_ref()
            .is_some_and(|i| image_matches(&i.repository))
    }) {
        return Some(Resolution::Service(name.clone()));
    }
    if let Some((name, _)) = components.iter().find(|(_, c)| {
        c.migration
            .as_ref()
            .is_some_and(|m| image_matches(&m.image))
    }) {
        return Some(Resolution::Migration(name.clone()));
    }
    if let Some((name, c)) = components
        .iter()
        .find(|(n, c)| **n == entry.name || c.aliases.contains(&entry.name))
    {
        let note = entry
            .name
            .starts_with("zookeeper")
            .then(|| "ZooKeeper is not deployed: Kafka runs in KRaft mode".to_string());
        let _ = c;
        return Some(Resolution::Native(name.clone(), note));
    }
    None
}

/// Reads one manifest. Invalid files become drift and yield `None`.
pub fn import_manifest(
    path: &Path,
    rel_path: &str,
    product: &str,
    components: &mut BTreeMap<String, Component>,
    drift: &mut Vec<Drift>,
) -> Option<(String, Release)> {
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    let key = release_key(&stem);
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(err) => {
            drift.push(invalid(rel_path, &key, None, format!("cannot read: {err}")));
            return None;
        }
    };
    let root = match govdeploy_yaml::parse_single(&text) {
        Ok(root) => root,
        Err(err) => {
            drift.push(invalid(
                rel_path,
                &key,
                err.pos(),
                format!("{}; release skipped", err.description()),
            ));
            return None;
        }
    };
    let Some(module_nodes) = root.get("modules").filter(|m| !m.items().is_empty()) else {
        drift.push(invalid(
            rel_path,
            &key,
            Some(root.pos),
            "no `modules` list; release skipped".into(),
        ));
        return None;
    };
    let version = root
        .get("version")
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| key.rsplit('-').next().unwrap_or(&key).to_string());

    let mut modules: BTreeMap<String, Module> = BTreeMap::new();
    for module_node in module_nodes.items() {
        let Some(name) = module_node.get("name").and_then(Node::scalar_text) else {
            drift.push(invalid(
                rel_path,
                &key,
                Some(module_node.pos),
                "module without a name; skipped".into(),
            ));
            continue;
        };
        let depends_on: Vec<String> = module_node
            .get("dependencies")
            .map(|d| d.items().iter().filter_map(Node::scalar_text).collect())
            .unwrap_or_default();
        let mut module = Module {
            kind: if name.starts_with("m_") {
                ModuleKind::Product
            } else {
                ModuleKind::Layer
            },
            depends_on,
            components: BTreeMap::new(),
            migration_tags: BTreeMap::new(),
        };
        for service in module_node
            .get("services")
            .map(Node::items)
            .unwrap_or_default()
        {
            let Some(text) = service.scalar_text() else {
                continue;
            };
            let entry = parse_entry(&text);
            let mut resolution = resolve_entry(&entry, components);
            if resolution.is_none() && entry.path.contains('/') {
                let (component_name, component) = manifest_only_component(&entry, &name, rel_path);
                drift.push(Drift::new(DriftKind::ManifestOnly, rel_path.to_string(), entry.path.clone(), format!(
                        "module `{name}` names `{text}` but no chart provides it: modelled as `{component_name}` with default settings (Spring Boot on 8080, 512Mi, no probes{}); review before deploying",
                        if entry.name.ends_with("-db") { ", migration not run: its schema table is unknown" } else { "" }
                    )).at(Some(service.pos)));
                components
                    .entry(component_name.clone())
                    .or_insert(component);
                resolution = Some(Resolution::Service(component_name));
            }
            match resolution {
                Some(Resolution::Service(component)) => {
                    module.components.insert(component, entry.tag);
                }
                Some(Resolution::Migration(component)) => {
                    // The service runs with the migration's tag unless the manifest pins its
                    // own image too; a differing pin keeps the migration tag apart.
                    if let Some(tag) = entry.tag {
                        module.migration_tags.insert(component.clone(), tag.clone());
                        module.components.entry(component).or_insert(Some(tag));
                    }
                }
                Some(Resolution::Native(component, note)) => {
                    if let Some(note) = note {
                        drift.push(Drift::new(DriftKind::ReplacedByNative, rel_path.to_string(), entry.name.clone(), format!("{note} (module `{name}`)")).at(Some(service.pos)));
                    }
                    module.components.entry(component).or_insert(None);
                }
                None => drift.push(Drift::new(DriftKind::EntryWithoutChart, rel_path.to_string(), entry.path.clone(), format!("module `{name}` names `{text}`, but no chart or native component provides it; entry ignored")).at(Some(service.pos))),
            }
        }
        // Drop migration tags equal to the service tag: they carry no information.
        let service_tags = module.components.clone();
        module.migration_tags.retain(|c, tag| {
            service_tags.get(c).cloned().flatten().as_deref() != Some(tag.as_str())
        });
        if modules.contains_key(&name) {
            drift.push(
                Drift::new(
                    DriftKind::DuplicateName,
                    rel_path.to_string(),
                    name.clone(),
                    "module defined twice; the later definition is merged into the first",
                )
                .at(Some(module_node.pos)),
            );
            if let Some(existing) = modules.get_mut(&name) {
                existing.components.extend(module.components);
                existing.migration_tags.extend(module.migration_tags);
                for dep in module.depends_on {
                    if !existing.depends_on.contains(&dep) {
                        existing.depends_on.push(dep);
                    }
                }
            }
            continue;
        }
        modules.insert(name, module);
    }
    let spring_boot = spring_boot_for(&version);
    Some((
        key,
        Release {
            product: product.to_string(),
            version,
            spring_boot: Some(spring_boot.to_string()),
            source: Some(rel_path.to_string()),
            modules,
        },
    ))
}

/// DIGIT 2.9-LTS moved services to Spring Boot 3.2 / Java 17; older lines run Spring Boot
/// 1.5-2.x on Java 8. Unknown older lines are assumed to be the oldest (1.5) so that secrets
/// are never silently moved to files an old service cannot read.
fn spring_boot_for(version: &str) -> &'static str {
    let digits: Vec<u32> = version
        .trim_start_matches(['v', 'V'])
        .split('.')
        .map_while(|p| p.parse().ok())
        .collect();
    match digits.as_slice() {
        [major, minor, ..] if (*major, *minor) >= (2, 9) => "3.2",
        [major, ..] if *major >= 3 => "3.2",
        _ => "1.5",
    }
}

/// A component for a manifest entry that has no chart. A `<svc>-db` entry stands for the
/// service `<svc>`; its migration is left out because the schema table cannot be known.
fn manifest_only_component(entry: &Entry, module: &str, rel_path: &str) -> (String, Component) {
    use crate::model::{Backing, Port, Resources, Runtime, Tier, WorkloadKind};
    let service_path = entry
        .path
        .strip_suffix("-db")
        .unwrap_or(&entry.path)
        .to_string();
    let name = service_path
        .rsplit('/')
        .next()
        .unwrap_or(&service_path)
        .to_string();
    let tier = match module {
        "core" => Tier::Core,
        "frontend" => Tier::Frontend,
        "backbone" => Tier::Backbone,
        m if m.starts_with("m_") => Tier::Municipal,
        _ => Tier::Business,
    };
    let component = Component {
        tier,
        workload: WorkloadKind::Deployment,
        runtime: Runtime::JavaSpring,
        spring_boot: None,
        image: Some(crate::model::Image {
            repository: service_path,
            default_tag: None,
        }),
        namespace: "egov".into(),
        ports: vec![Port {
            name: "http".into(),
            port: 8080,
            protocol: "TCP".into(),
        }],
        context_path: None,
        gateway_routed: false,
        ingress: false,
        ingress_host: None,
        probes: None,
        backing: [Backing::Postgres, Backing::Kafka].into_iter().collect(),
        depends_on: Default::default(),
        migration: None,
        config_sources: Vec::new(),
        env: Vec::new(),
        resources: Resources {
            memory: "512Mi".into(),
            cpu: "100m".into(),
            storage: None,
        },
        replicas: 1,
        ready_seconds: 90,
        provides: None,
        source: Some(rel_path.to_string()),
        aliases: Default::default(),
        manifest_only: true,
        schedule: None,
    };
    (name, component)
}

fn invalid(rel_path: &str, key: &str, pos: Option<govdeploy_yaml::Pos>, message: String) -> Drift {
    Drift::new(DriftKind::InvalidManifest, rel_path, key, message).at(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_into_path_name_tag() {
        assert_eq!(
            parse_entry("egovio/egov-user:v1.2.8-9fde481-19"),
            Entry {
                path: "egovio/egov-user".into(),
                name: "egov-user".into(),
                tag: Some("v1.2.8-9fde481-19".into())
            }
        );
        assert_eq!(
            parse_entry("kafka-v2"),
            Entry {
                path: "kafka-v2".into(),
                name: "kafka-v2".into(),
                tag: None
            }
        );
        assert_eq!(parse_entry("zuul:v1.3.1").tag.as_deref(), Some("v1.3.1"));
        assert_eq!(parse_entry("registry:5000/a/b").tag, None);
    }

    #[test]
    fn release_keys_and_spring_generations() {
        assert_eq!(release_key("dependancy_chart-digit-v2.8"), "digit-v2.8");
        assert_eq!(
            release_key("dependency_chart-digit-core-v2.9"),
            "digit-core-v2.9"
        );
        assert_eq!(spring_boot_for("v2.9"), "3.2");
        assert_eq!(spring_boot_for("v2.8"), "1.5");
        assert_eq!(spring_boot_for("v2.10"), "3.2");
    }
}
