//! Resolution: from the selected modules to the full set of components.
//!
//! Included modules are the selected ones plus the transitive closure of module `dependsOn`.
//! Components are those listed by included modules, plus what they call (catalogue
//! `dependsOn`), plus the provider of every backing store they need, unless the environment
//! points that store at an external service. Every problem is reported at once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use govdeploy_catalog::{Backing, Catalog, Component, Release, Tier};
use govdeploy_spec::{
    BackboneMode as SpecMode, BackboneStore, BackingStore, ComponentOverride, DigitServiceOverride,
    LoadedEnvironment, SourceMap,
};
use govdeploy_yaml::{Diagnostic, Diagnostics, did_you_mean};

use crate::codes;
use crate::model::{BackboneMode, BackboneUse, External, PlannedModule};

/// A component selected for the plan, before sizing.
#[derive(Debug, Clone)]
pub(crate) struct Resolved<'a> {
    pub def: &'a Component,
    /// First included module (by name) listing it.
    pub module: Option<String>,
    pub reason: String,
    /// Tag from the release (any module listing it) or the catalogue default; override not
    /// applied yet.
    pub release_tag: Option<String>,
    /// Migration tag the release pins apart from the service tag (`migrationTags`), if any.
    pub release_migration_tag: Option<String>,
    /// Canonical names of the components it calls.
    pub depends_on: BTreeSet<String>,
    /// Set when the component provides a store the environment sets external.
    pub external: Option<External>,
}

/// An override from `spec.components`, with the key as written (for locations).
#[derive(Debug, Clone)]
pub(crate) struct OverrideRef<'a> {
    pub key: String,
    pub spec: &'a ComponentOverride,
}

/// Output of resolution.
#[derive(Debug)]
pub(crate) struct Resolution<'a> {
    pub release_name: String,
    pub release: &'a Release,
    pub modules: BTreeMap<String, PlannedModule>,
    pub components: BTreeMap<String, Resolved<'a>>,
    pub backbone: BTreeMap<String, BackboneUse>,
    pub overrides: BTreeMap<String, OverrideRef<'a>>,
    pub digit: BTreeMap<String, &'a DigitServiceOverride>,
}

fn spec_store(store: Backing) -> BackingStore {
    match store {
        Backing::Postgres => BackingStore::Postgres,
        Backing::Kafka => BackingStore::Kafka,
        Backing::Elasticsearch => BackingStore::Elasticsearch,
        Backing::Redis => BackingStore::Redis,
        Backing::ObjectStore => BackingStore::ObjectStore,
    }
}

/// Port clients use when neither the environment nor the catalogue names one.
fn default_port(store: Backing) -> u16 {
    match store {
        Backing::Postgres => 5432,
        Backing::Kafka => 9092,
        Backing::Elasticsearch => 9200,
        Backing::Redis => 6379,
        Backing::ObjectStore => 443,
    }
}

fn list(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    names
        .into_iter()
        .map(|n| n.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves modules and components. Errors and warnings go to `diags`; `None` when nothing
/// further can be checked (unknown release).
pub(crate) fn resolve<'a>(
    loaded: &'a LoadedEnvironment,
    catalog: &'a Catalog,
    diags: &mut Diagnostics,
) -> Option<Resolution<'a>> {
    let spec = &loaded.env.spec;
    let sources = &loaded.sources;

    // 1-2. The release and the selected modules.
    let (release_name, release, selected) =
        release_and_modules(&spec.release, &spec.modules, catalog, sources, diags)?;

    // 3. Module closure, breadth first from the selected modules in name order, so each
    //    module's reason is the shortest chain that pulled it in.
    let mut modules: BTreeMap<String, PlannedModule> = BTreeMap::new();
    let mut chains: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut queue: VecDeque<String> = VecDeque::new();
    for name in &selected {
        chains.insert(name.clone(), vec![name.clone()]);
        modules.insert(
            name.clone(),
            planned_module(release, name, "selected".into()),
        );
        queue.push_back(name.clone());
    }
    while let Some(name) = queue.pop_front() {
        let Some(module) = release.modules.get(&name) else {
            continue;
        };
        let chain = chains.get(&name).cloned().unwrap_or_default();
        let deps: BTreeSet<&String> = module.depends_on.iter().collect();
        for dep in deps {
            if !release.modules.contains_key(dep) {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_MODULE_DEP,
                    format!(
                        "module `{name}` of release `{release_name}` depends on unknown module `{dep}`"
                    ),
                );
                d = d.hint(
                    match did_you_mean(dep, release.modules.keys().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`? fix the release in the catalogue"),
                        None => format!(
                            "modules of {release_name}: {}; fix the release in the catalogue",
                            list(release.modules.keys())
                        ),
                    },
                );
                diags.push(d);
                continue;
            }
            if modules.contains_key(dep) {
                continue;
            }
            let reason = format!("required by {}", chain.join(" -> "));
            modules.insert(dep.clone(), planned_module(release, dep, reason));
            let mut dep_chain = chain.clone();
            dep_chain.push(dep.clone());
            chains.insert(dep.clone(), dep_chain);
            queue.push_back(dep.clone());
        }
    }

    // 4. Module cycles among included modules.
    module_cycles(release_name, release, &modules, diags);

    // 5. Which release modules list which component (canonical names), included ones first.
    let mut listed_in_included: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    let mut listed_anywhere: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    for (mname, module) in &release.modules {
        let included = modules.contains_key(mname);
        let mut canonical_names = Vec::new();
        for (cname, tag) in &module.components {
            match catalog.component(cname) {
                Some((canonical, _)) => {
                    canonical_names.push(canonical.to_string());
                    let entry = (mname.clone(), tag.clone());
                    listed_anywhere
                        .entry(canonical.to_string())
                        .or_default()
                        .push(entry.clone());
                    if included {
                        listed_in_included
                            .entry(canonical.to_string())
                            .or_default()
                            .push(entry);
                    }
                }
                None if included => {
                    diags.push(unknown_component(
                        catalog,
                        cname,
                        format!("component `{cname}` of module `{mname}` (release `{release_name}`) is not in catalogue `{}`", catalog.name),
                    ));
                }
                None => {}
            }
        }
        if let Some(pm) = modules.get_mut(mname) {
            canonical_names.sort();
            canonical_names.dedup();
            pm.components = canonical_names;
        }
    }

    // 6. Component closure.
    let external_stores: BTreeMap<Backing, &BackboneStore> = Backing::ALL
        .iter()
        .filter_map(|b| {
            spec.backbone
                .get(&spec_store(*b))
                .filter(|s| s.mode == SpecMode::External)
                .map(|s| (*b, s))
        })
        .collect();
    let mut components: BTreeMap<String, Resolved<'a>> = BTreeMap::new();
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut reported_no_provider: BTreeSet<Backing> = BTreeSet::new();
    let mut used_by: BTreeMap<Backing, BTreeSet<String>> = BTreeMap::new();

    let tag_for = |name: &str, def: &Component, diags: &mut Diagnostics| -> Option<String> {
        let included: Vec<&(String, Option<String>)> = listed_in_included
            .get(name)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let tags: BTreeSet<&String> = included.iter().filter_map(|(_, t)| t.as_ref()).collect();
        if tags.len() > 1 {
            diags.push(
                Diagnostic::warning(
                    codes::TAG_CONFLICT,
                    format!(
                        "component `{name}` is listed with different tags ({}) by modules {}",
                        list(&tags),
                        list(included.iter().map(|(m, _)| m))
                    ),
                )
                .hint("the first module by name wins; pin the tag with spec.components.<name>.tag"),
            );
        }
        included
            .iter()
            .find_map(|(_, t)| t.clone())
            .or_else(|| {
                listed_anywhere
                    .get(name)
                    .and_then(|v| v.iter().find_map(|(_, t)| t.clone()))
            })
            .or_else(|| def.image.as_ref().and_then(|i| i.default_tag.clone()))
    };

    let add = |name: &str,
               def: &'a Component,
               reason: String,
               components: &mut BTreeMap<String, Resolved<'a>>,
               queue: &mut VecDeque<String>,
               diags: &mut Diagnostics| {
        if components.contains_key(name) {
            return;
        }
        let external = def.provides.as_ref().and_then(|p| {
            external_stores.get(&p.store).map(|s| {
                let store = p.store.as_str();
                if !p.external_allowed {
                    diags.push(
                        Diagnostic::error(
                            codes::EXTERNAL_NOT_ALLOWED,
                            format!(
                                "`{store}` cannot be external: catalogue component `{name}` does not allow a managed replacement"
                            ),
                        )
                        .at(sources.locate(&["spec", "backbone", store, "mode"]))
                        .hint(format!("remove spec.backbone.{store} or set `mode: in-cluster`")),
                    );
                }
                external_of(p.store, s, Some(p.port), diags, loaded)
            })
        });
        let module = listed_in_included
            .get(name)
            .and_then(|v| v.first())
            .map(|(m, _)| m.clone());
        let release_tag = tag_for(name, def, diags);
        let release_migration_tag = listed_in_included
            .get(name)
            .into_iter()
            .chain(listed_anywhere.get(name))
            .flatten()
            .find_map(|(m, _)| {
                release
                    .modules
                    .get(m)
                    .and_then(|m| m.migration_tags.get(name).cloned())
            });
        components.insert(
            name.to_string(),
            Resolved {
                def,
                module,
                reason,
                release_tag,
                release_migration_tag,
                depends_on: BTreeSet::new(),
                external,
            },
        );
        queue.push_back(name.to_string());
    };

    for (name, entries) in &listed_in_included {
        let Some(def) = catalog.components.get(name) else {
            continue;
        };
        let mut mods: Vec<&str> = entries.iter().map(|(m, _)| m.as_str()).collect();
        mods.dedup();
        let reason = if mods.len() == 1 {
            format!("part of module {}", mods.join(""))
        } else {
            format!("part of modules {}", mods.join(", "))
        };
        add(name, def, reason, &mut components, &mut queue, diags);
    }

    while let Some(name) = queue.pop_front() {
        let Some(current) = components.get(&name) else {
            continue;
        };
        if current.external.is_some() {
            continue;
        }
        let def = current.def;
        let mut calls = BTreeSet::new();
        for dep in &def.depends_on {
            let Some((canonical, dep_def)) = catalog.component(dep) else {
                diags.push(unknown_component(
                    catalog,
                    dep,
                    format!(
                        "component `{name}` depends on `{dep}`, which is not in catalogue `{}`",
                        catalog.name
                    ),
                ));
                continue;
            };
            if canonical == name {
                continue;
            }
            if components.contains_key(canonical) {
                calls.insert(canonical.to_string());
                continue;
            }
            let modules_listing: Vec<&str> = listed_anywhere
                .get(canonical)
                .map(|v| v.iter().map(|(m, _)| m.as_str()).collect())
                .unwrap_or_default();
            if matches!(dep_def.tier, Tier::Backbone | Tier::Infra) {
                // Stores and infrastructure a component cannot run without come along.
                let mut w = Diagnostic::warning(
                    codes::PULLED_IN,
                    format!(
                        "`{canonical}` is not in any included module but `{name}` needs it: added"
                    ),
                )
                .hint(if modules_listing.is_empty() {
                    "no module of the release lists it; its catalogue default tag is used"
                        .to_string()
                } else {
                    format!(
                        "select a module that includes it ({}) to make this explicit",
                        list(&modules_listing)
                    )
                });
                if modules_listing.is_empty() {
                    // Native stores no release lists (Elasticsearch masters) always come along.
                    w.severity = govdeploy_yaml::Severity::Info;
                    w.code = codes::PULLED_IN_NATIVE;
                }
                diags.push(w);
                calls.insert(canonical.to_string());
                add(
                    canonical,
                    dep_def,
                    format!("needed by {name}"),
                    &mut components,
                    &mut queue,
                    diags,
                );
            } else {
                // A service the release leaves out of the selected modules is not deployed
                // behind the operator's back (DIGIT's quickstart deliberately omits HRMS):
                // the call is reported, and the service-host map will not name it.
                diags.push(
                    Diagnostic::warning(
                        codes::MISSING_CALLEE,
                        format!("`{name}` calls `{canonical}`, which no selected module deploys: those calls will fail"),
                    )
                    .hint(if modules_listing.is_empty() {
                        format!("release `{release_name}` deploys `{canonical}` in none of its modules; use a release that does if {name} needs it")
                    } else {
                        format!("select a module that includes it ({}) if {name} needs it here", list(&modules_listing))
                    }),
                );
            }
        }
        for store in &def.backing {
            used_by.entry(*store).or_default().insert(name.clone());
            let Some(provider) = catalog.provider_of(*store) else {
                if !external_stores.contains_key(store) && reported_no_provider.insert(*store) {
                    diags.push(
                        Diagnostic::error(
                            codes::NO_PROVIDER,
                            format!(
                                "`{name}` needs {}, but catalogue `{}` has no component that provides it",
                                store.as_str(),
                                catalog.name
                            ),
                        )
                        .at(sources.locate(&["spec", "backbone"]))
                        .hint(format!(
                            "point it at a managed service: spec.backbone.{}: {{mode: external, host: ...}}",
                            store.as_str()
                        )),
                    );
                }
                continue;
            };
            let Some(pdef) = catalog.components.get(provider) else {
                continue;
            };
            let reason = if external_stores.contains_key(store) {
                format!("external {} for {name}", store.as_str())
            } else {
                format!("backing store {} for {name}", store.as_str())
            };
            add(provider, pdef, reason, &mut components, &mut queue, diags);
        }
        if let Some(current) = components.get_mut(&name) {
            current.depends_on = calls;
        }
    }

    // 7. Backbone stores in use: needed by a component, or provided by one in the plan.
    for r in components.values() {
        if let Some(p) = &r.def.provides {
            used_by.entry(p.store).or_default();
        }
    }
    let mut backbone = BTreeMap::new();
    for (store, users) in &used_by {
        let provider = catalog.provider_of(*store).map(str::to_string);
        let external = match external_stores.get(store) {
            Some(s) => match provider.as_ref().and_then(|p| components.get(p)) {
                Some(r) => r.external.clone(),
                None => Some(external_of(*store, s, None, diags, loaded)),
            },
            None => None,
        };
        backbone.insert(
            store.as_str().to_string(),
            BackboneUse {
                mode: if external.is_some() {
                    BackboneMode::External
                } else {
                    BackboneMode::InCluster
                },
                provider,
                external,
                used_by: users.iter().cloned().collect(),
            },
        );
    }
    for store in spec.backbone.keys() {
        if !backbone.contains_key(store.as_str()) {
            diags.push(
                Diagnostic::warning(
                    codes::UNUSED_BACKBONE,
                    format!(
                        "spec.backbone.{} is set, but no component in the plan needs {}",
                        store.as_str(),
                        store.as_str()
                    ),
                )
                .at(sources.locate_key(&["spec", "backbone"], store.as_str()))
                .hint("remove it, or select the module that needs it"),
            );
        }
    }

    // 8. Overrides must name components of the plan.
    let mut overrides = BTreeMap::new();
    for (key, ov) in &spec.components {
        match catalog.component(key) {
            Some((canonical, _)) if components.contains_key(canonical) => {
                overrides
                    .entry(canonical.to_string())
                    .or_insert(OverrideRef {
                        key: key.clone(),
                        spec: ov,
                    });
            }
            found => {
                let mut hint = String::new();
                if let Some(s) = did_you_mean(key, components.keys().map(String::as_str)) {
                    hint.push_str(&format!("did you mean `{s}`? "));
                }
                match found {
                    Some((canonical, _)) => {
                        let listing: Vec<&str> = listed_anywhere
                            .get(canonical)
                            .map(|v| v.iter().map(|(m, _)| m.as_str()).collect())
                            .unwrap_or_default();
                        hint.push_str(&if listing.is_empty() {
                            format!("`{canonical}` is in the catalogue but not in this plan")
                        } else {
                            format!(
                                "`{canonical}` is in the catalogue but not in this plan; select a module that includes it: {}",
                                list(&listing)
                            )
                        });
                    }
                    None => hint.push_str("components in this plan are listed by `govdeploy plan`"),
                }
                diags.push(
                    Diagnostic::error(
                        codes::UNKNOWN_OVERRIDE,
                        format!("spec.components.{key} names a component that is not in the plan"),
                    )
                    .at(sources.locate_key(&["spec", "components"], key))
                    .hint(hint),
                );
            }
        }
    }
    for key in loaded.env.spec.network.egress.keys() {
        let in_plan = catalog
            .component(key)
            .is_some_and(|(canonical, _)| components.contains_key(canonical));
        if !in_plan {
            let mut hint = String::new();
            if let Some(s) = did_you_mean(key, components.keys().map(String::as_str)) {
                hint.push_str(&format!("did you mean `{s}`? "));
            }
            hint.push_str("egress can be granted only to components this plan deploys");
            diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_OVERRIDE,
                    format!("spec.network.egress.{key} names a component that is not in the plan"),
                )
                .at(sources.locate_key(&["spec", "network", "egress"], key))
                .hint(hint),
            );
        }
    }
    let mut digit = BTreeMap::new();
    for (key, ov) in &loaded.digit_overrides {
        if let Some((canonical, _)) = catalog.component(key)
            && components.contains_key(canonical)
        {
            digit.entry(canonical.to_string()).or_insert(ov);
        }
    }

    Some(Resolution {
        release_name: release_name.clone(),
        release,
        modules,
        components,
        backbone,
        overrides,
        digit,
    })
}

fn planned_module(release: &Release, name: &str, reason: String) -> PlannedModule {
    let module = release.modules.get(name);
    let mut depends_on: Vec<String> = module.map(|m| m.depends_on.clone()).unwrap_or_default();
    depends_on.sort();
    depends_on.dedup();
    PlannedModule {
        kind: module
            .map(|m| m.kind)
            .unwrap_or(govdeploy_catalog::ModuleKind::Layer),
        reason,
        depends_on,
        components: Vec::new(),
    }
}

fn external_of(
    store: Backing,
    s: &BackboneStore,
    catalogue_port: Option<u16>,
    diags: &mut Diagnostics,
    loaded: &LoadedEnvironment,
) -> External {
    let name = store.as_str();
    let host = match &s.host {
        Some(h) if !h.trim().is_empty() => h.clone(),
        _ => {
            diags.push(
                Diagnostic::error(
                    codes::EXTERNAL_HOST,
                    format!("spec.backbone.{name} is external but has no host"),
                )
                .at(loaded.sources.locate(&["spec", "backbone", name]))
                .hint(format!(
                    "set spec.backbone.{name}.host to the managed service's address"
                )),
            );
            String::new()
        }
    };
    External {
        host,
        port: s
            .port
            .or(catalogue_port)
            .unwrap_or_else(|| default_port(store)),
        database: s.database.clone(),
    }
}

fn unknown_component(catalog: &Catalog, name: &str, message: String) -> Diagnostic {
    let candidates = catalog
        .components
        .iter()
        .flat_map(|(k, c)| std::iter::once(k.as_str()).chain(c.aliases.iter().map(String::as_str)));
    let hint = match did_you_mean(name, candidates) {
        Some(s) => format!("did you mean `{s}`? or add it to the catalogue"),
        None => "add it to the catalogue (components or a component's aliases)".to_string(),
    };
    Diagnostic::error(codes::UNKNOWN_COMPONENT, message).hint(hint)
}

/// Reports every cycle among the included modules' dependencies.
fn module_cycles(
    release_name: &str,
    release: &Release,
    modules: &BTreeMap<String, PlannedModule>,
    diags: &mut Diagnostics,
) {
    let names: Vec<&str> = modules.keys().map(String::as_str).collect();
    let edges = names.iter().flat_map(|name| {
        release
            .modules
            .get(*name)
            .map(|m| m.depends_on.iter().map(move |dep| (*name, dep.as_str())))
            .into_iter()
            .flatten()
    });
    let graph = crate::graph::named_graph(&names, edges);
    let mut cycles: Vec<Vec<&str>> = crate::graph::sorted_sccs(&graph)
        .into_iter()
        .filter(|scc| {
            scc.len() > 1
                || scc.iter().any(|&i| {
                    let node = petgraph::graph::NodeIndex::new(i);
                    graph.contains_edge(node, node)
                })
        })
        .map(|scc| scc.iter().map(|&i| names[i]).collect())
        .collect();
    cycles.sort();
    for members in cycles {
        diags.push(
            Diagnostic::error(
                codes::MODULE_CYCLE,
                format!(
                    "modules of release `{release_name}` depend on each other in a cycle: {}",
                    list(&members)
                ),
            )
            .hint("module dependencies must form a DAG: fix the release in the catalogue"),
        );
    }
}

/// Checks the release and the selected module names against the catalogue. Returns the
/// release and the modules that exist in it; unknown names become diagnostics.
pub(crate) fn release_and_modules<'a>(
    release_key: &str,
    module_names: &[String],
    catalog: &'a Catalog,
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> Option<(&'a String, &'a Release, BTreeSet<String>)> {
    // The release.
    let Some((release_name, release)) = catalog.releases.get_key_value(release_key) else {
        let mut d = Diagnostic::error(
            codes::UNKNOWN_RELEASE,
            format!(
                "release `{}` is not in catalogue `{}`",
                release_key, catalog.name
            ),
        )
        .at(sources.locate(&["spec", "release"]));
        let hint = match did_you_mean(release_key, catalog.releases.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("available releases: {}", list(catalog.releases.keys())),
        };
        d = d.hint(hint);
        diags.push(d);
        return None;
    };

    // Selected modules.
    let products: Vec<&str> = release.products().collect();
    let mut selected = BTreeSet::new();
    for (i, name) in module_names.iter().enumerate() {
        if release.modules.contains_key(name) {
            selected.insert(name.clone());
            continue;
        }
        let index = i.to_string();
        let mut hint = String::new();
        if let Some(s) = did_you_mean(name, release.modules.keys().map(String::as_str)) {
            hint.push_str(&format!("did you mean `{s}`? "));
        }
        hint.push_str(&format!(
            "products in {release_name}: {}",
            if products.is_empty() {
                "(none)".to_string()
            } else {
                list(&products)
            }
        ));
        diags.push(
            Diagnostic::error(
                codes::UNKNOWN_MODULE,
                format!("module `{name}` is not in release `{release_name}`"),
            )
            .at(sources.locate(&["spec", "modules", &index]))
            .hint(hint),
        );
    }

    Some((release_name, release, selected))
}

/// What can be checked of an environment that failed validation: its release, module and
/// component names (`spec.components` overrides and `spec.network.egress` entries) against the
/// catalogue, so one run reports every problem. Reads the raw merged document, since the
/// typed environment could not be built.
pub fn check_names(sources: &SourceMap, catalog: &Catalog) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let Some(spec) = sources.tree().and_then(|t| t.get("spec")) else {
        return diags;
    };
    if let Some(release) = spec.get("release").and_then(|r| r.as_str()) {
        let modules: Vec<String> = spec
            .get("modules")
            .map(|m| {
                m.items()
                    .iter()
                    .map(|i| i.scalar_text().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        let _ = release_and_modules(release, &modules, catalog, sources, &mut diags);
    }
    // Mappings keyed by component name.
    for keys in [&["components"][..], &["network", "egress"][..]] {
        let entries = spec.path(keys).map(|c| c.entries()).unwrap_or_default();
        let mut at = vec!["spec"];
        at.extend_from_slice(keys);
        let place = at.join(".");
        for (key, _) in entries {
            if catalog.component(&key.name).is_some() {
                continue;
            }
            let hint = match did_you_mean(&key.name, catalog.components.keys().map(String::as_str))
            {
                Some(s) => format!("did you mean `{s}`?"),
                None => "`govdeploy plan` lists the components of a valid environment".to_string(),
            };
            diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_OVERRIDE,
                    format!(
                        "{place}.{} names a component that is not in catalogue `{}`",
                        key.name, catalog.name
                    ),
                )
                .at(sources.locate_key(&at, &key.name))
                .hint(hint),
            );
        }
    }
    diags
}
