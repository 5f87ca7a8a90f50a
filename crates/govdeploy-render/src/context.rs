//! What every object builder needs to know about the environment, computed once from the
//! plan, the catalogue and the environment file.

use std::collections::BTreeMap;
use std::fmt;

use govdeploy_catalog::{Backing, Catalog, Component, Tier};
use govdeploy_plan::{BackboneMode, Plan, PlannedComponent};
use govdeploy_spec::{Environment, Profile};
use govdeploy_yaml::Diagnostic;

/// Secret values by Secret name, then key. `Debug` prints key names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(pub BTreeMap<String, BTreeMap<String, String>>);

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: BTreeMap<&String, Vec<&String>> = self
            .0
            .iter()
            .map(|(name, kv)| (name, kv.keys().collect()))
            .collect();
        f.debug_tuple("SecretValues").field(&keys).finish()
    }
}

impl SecretValues {
    pub fn get(&self, name: &str, key: &str) -> Option<&str> {
        self.0.get(name)?.get(key).map(String::as_str)
    }
}

/// Everything `render` reads.
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    pub plan: &'a Plan,
    pub catalog: &'a Catalog,
    pub environment: &'a Environment,
    /// Values from the secrets file, when one is configured and readable.
    pub secrets: Option<&'a SecretValues>,
    /// Whether the secrets file is a plaintext development file (refused for uat and prod).
    pub plaintext_secrets: bool,
}

/// Where clients reach a backing store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreAddress {
    pub host: String,
    pub port: u16,
    /// The in-cluster component providing it; `None` when the store is external.
    pub provider: Option<String>,
    pub database: Option<String>,
}

pub(crate) struct Ctx<'a> {
    pub input: RenderInput<'a>,
    pub plan: &'a Plan,
    pub catalog: &'a Catalog,
    pub env: &'a Environment,
    pub profile: Profile,
    /// `egov-service-host` data: canonical component name -> base URL, for deployed
    /// components that serve HTTP.
    pub service_hosts: BTreeMap<String, String>,
    pub stores: BTreeMap<Backing, StoreAddress>,
    /// The gateway component (DIGIT's zuul), when the plan has one.
    pub gateway: Option<String>,
    /// The ingress controller component, when the plan deploys one.
    pub ingress_controller: Option<String>,
    /// Spring Boot generation of the release line (`3.2`), used when a component has none.
    pub release_spring_boot: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
    /// Components without HTTP health endpoints, reported once at the end.
    pub probe_gaps: Vec<String>,
    /// (config kind, repository, branch) -> components reading it from an unpinned branch.
    pub unpinned_config: BTreeMap<(String, String, String), Vec<String>>,
}

impl<'a> Ctx<'a> {
    pub fn new(input: RenderInput<'a>) -> Ctx<'a> {
        let plan = input.plan;
        let catalog = input.catalog;
        let mut service_hosts = BTreeMap::new();
        for (name, planned) in &plan.components {
            if planned.external.is_some() {
                continue;
            }
            if let Some(port) = catalog.components.get(name).and_then(|c| c.ports.first()) {
                service_hosts.insert(
                    name.clone(),
                    format!("http://{name}.{}:{}/", planned.namespace, port.port),
                );
            }
        }
        let mut stores = BTreeMap::new();
        for (store_name, use_) in &plan.backbone {
            let Some(store) = Backing::ALL.into_iter().find(|b| b.as_str() == store_name) else {
                continue;
            };
            let address = match (&use_.mode, &use_.external, &use_.provider) {
                (BackboneMode::External, Some(ext), _) => StoreAddress {
                    host: ext.host.clone(),
                    port: ext.port,
                    provider: None,
                    database: ext.database.clone(),
                },
                (_, _, Some(provider)) => {
                    let namespace = plan
                        .components
                        .get(provider)
                        .map(|c| c.namespace.clone())
                        .unwrap_or_default();
                    let port = catalog
                        .components
                        .get(provider)
                        .and_then(|c| c.provides.as_ref().map(|p| p.port))
                        .unwrap_or(0);
                    StoreAddress {
                        host: format!("{provider}.{namespace}"),
                        port,
                        provider: Some(provider.clone()),
                        database: None,
                    }
                }
                _ => continue,
            };
            stores.insert(store, address);
        }
        let gateway = plan
            .components
            .iter()
            .find(|(_, c)| c.tier == Tier::Gateway)
            .map(|(n, _)| n.clone());
        let ingress_controller = plan
            .components
            .keys()
            .find(|n| n.as_str() == "ingress-nginx")
            .cloned();
        let release_spring_boot = catalog
            .releases
            .get(&plan.release)
            .and_then(|r| r.spring_boot.clone());
        Ctx {
            input,
            plan,
            catalog,
            env: input.environment,
            profile: input.environment.spec.profile,
            service_hosts,
            stores,
            gateway,
            ingress_controller,
            release_spring_boot,
            diagnostics: Vec::new(),
            probe_gaps: Vec::new(),
            unpinned_config: BTreeMap::new(),
        }
    }

    pub fn env_name(&self) -> &str {
        &self.env.metadata.name
    }

    /// The catalogue entry of a planned component (plan names are canonical).
    pub fn component(&self, name: &str) -> Option<&'a Component> {
        self.catalog.components.get(name)
    }

    pub fn planned(&self, name: &str) -> Option<&'a PlannedComponent> {
        self.plan.components.get(name)
    }

    /// Whether a Spring Boot component can read secrets from mounted files (configtree needs
    /// Spring Boot 2.4 or newer).
    pub fn reads_secret_files(&self, component: &Component) -> bool {
        let version = component
            .spring_boot
            .as_deref()
            .or(self.release_spring_boot.as_deref())
            .unwrap_or("1.5");
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        (major, minor) >= (2, 4)
    }

    /// Components the plan deploys in `namespace`, by name.
    pub fn components_in(
        &self,
        namespace: &str,
    ) -> impl Iterator<Item = (&'a String, &'a PlannedComponent)> {
        let ns = namespace.to_string();
        self.plan
            .components
            .iter()
            .filter(move |(_, c)| c.namespace == ns && c.external.is_none())
    }

    /// Namespaces that receive objects, sorted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .plan
            .components
            .values()
            .filter(|c| c.external.is_none())
            .map(|c| c.namespace.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Records a diagnostic; errors make `render` fail once everything has been checked.
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}
