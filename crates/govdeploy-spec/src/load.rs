//! Loading an environment file: reading, `extends` layering, validation and source positions.
//!
//! The steps: read and parse the file and, recursively, its bases (problems with any of them end
//! the load); merge the layers ([`crate::merge`]); validate the merged tree against the schema
//! ([`crate::validate`]) and run the other checks ([`crate::checks`]); read the DIGIT env file
//! if one is named ([`crate::digit_env`]); then deserialise. Every problem found in a step is
//! reported together, sorted by file, line and column.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use govdeploy_yaml::{
    Diagnostic, Diagnostics, Key, Location, Node, Pos, Value, YamlError, parse_single,
};

use crate::codes;
use crate::digit_env::load_digit_env;
use crate::merge::{Layer, Origin, merge_layers};
use crate::model::Environment;

pub use crate::sources::SourceMap;

/// Per-service overrides honoured from a DIGIT-DevOps environment file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DigitServiceOverride {
    pub replicas: Option<u32>,
    /// `memory_limits` as written (`512Mi`).
    pub memory: Option<crate::Quantity>,
    /// `-Xmx` of `heap` converted to a quantity (`-Xmx256m` -> `256Mi`), if any.
    pub heap: Option<crate::Quantity>,
    /// Where the section's key is, in the DIGIT env file.
    pub location: Option<Location>,
}

#[derive(Debug, Clone)]
pub struct LoadedEnvironment {
    pub env: Environment,
    pub sources: SourceMap,
    /// Every file read: the environment layers in merge order (bases first, the environment
    /// file last), then the DIGIT env file, if any.
    pub files: Vec<PathBuf>,
    /// Directory of the environment file, for resolving relative paths.
    pub base_dir: PathBuf,
    /// Sections of `spec.digitEnvFile`, by chart name.
    pub digit_overrides: BTreeMap<String, DigitServiceOverride>,
}

impl LoadedEnvironment {
    /// The secrets file named by `spec.secrets.file`, resolved like `spec.digitEnvFile`:
    /// relative to the directory of the file that declared it (a base file's own directory
    /// when the value is inherited from a base), and made absolute against the current
    /// directory. `None` when no secrets file is named.
    pub fn secrets_file(&self) -> Option<PathBuf> {
        let declared = self.env.spec.secrets.as_ref()?;
        let path = declared_path(&declared.file, &self.sources, &["spec", "secrets", "file"])
            .unwrap_or_else(|| normalize(&self.base_dir.join(&declared.file)));
        Some(std::path::absolute(&path).map_or(path, |p| normalize(&p)))
    }
}

/// Deepest nesting accepted in an environment file (a real one needs about 6 levels).
pub const MAX_DEPTH: usize = 64;

/// Most `extends` levels followed (a chain this long is a mistake, not a design).
const MAX_EXTENDS_DEPTH: usize = 32;

/// Loads, layers and validates an environment file. On error, every problem found is returned.
/// Warnings (for example placeholders in a DIGIT env file section we ignore) come back in the
/// second element on success.
pub fn load(path: &Path) -> Result<(LoadedEnvironment, Diagnostics), Diagnostics> {
    load_keeping_sources(path).map_err(|invalid| invalid.diagnostics)
}

/// An environment that failed validation. When the files parsed, `sources` still holds the
/// merged document, so later stages can check what they can (release and module names
/// against the catalogue) and every problem is reported in one run.
#[derive(Debug)]
pub struct Invalid {
    pub diagnostics: Diagnostics,
    pub sources: Option<SourceMap>,
    pub base_dir: PathBuf,
}

/// Like [`load`], but an invalid environment keeps its parsed sources when there are any.
pub fn load_keeping_sources(path: &Path) -> Result<(LoadedEnvironment, Diagnostics), Box<Invalid>> {
    let base_dir = parent_dir(path);
    let invalid = |diags: Vec<Diagnostic>, sources: Option<SourceMap>| {
        Box::new(Invalid {
            diagnostics: Diagnostics(diags).sorted(),
            sources,
            base_dir: base_dir.clone(),
        })
    };
    let mut loader = Loader::default();
    let top = loader.load_file(path, None, 0);
    if loader.diags.iter().any(Diagnostic::is_error) {
        return Err(invalid(loader.diags, None));
    }
    let Some(top) = top else {
        return Err(invalid(loader.diags, None));
    };
    let Some((mut tree, mut origin)) = merge_layers(loader.layers) else {
        return Err(invalid(loader.diags, None));
    };
    // `extends` is not merged: the merged document keeps the environment file's own list.
    if let (Some(extends), Value::Map(entries)) = (top.extends, &mut tree.value) {
        origin.entries.insert(
            extends.0.name.clone(),
            Origin {
                file: top.index,
                entries: BTreeMap::new(),
            },
        );
        entries.insert(0, extends);
    }
    let mut files = loader.files;
    let sources = SourceMap::new(tree.clone(), origin, files.clone());

    let mut diags = loader.diags;
    diags.extend(crate::validate::validate(&tree, &sources));
    diags.extend(crate::checks::check(&tree, &sources));

    let mut digit_overrides = BTreeMap::new();
    if let Some(file) = digit_env_path(&tree, &sources) {
        let env = load_digit_env(&file, sources.locate(&["spec", "digitEnvFile"]));
        diags.extend(env.diagnostics);
        if env.read {
            files.push(file);
        }
        digit_overrides = env.overrides;
    }

    if diags.iter().any(Diagnostic::is_error) {
        return Err(invalid(diags, Some(sources)));
    }
    let env: Environment = match serde_json::from_value(tree.to_json()) {
        Ok(env) => env,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    codes::DESERIALIZE,
                    format!("the environment does not fit the model: {e}"),
                )
                .at(sources.locate(&[]))
                .hint("this is a gap in govdeploy's validation; please report it with the file"),
            );
            return Err(invalid(diags, Some(sources)));
        }
    };
    Ok((
        LoadedEnvironment {
            env,
            sources,
            files,
            base_dir,
            digit_overrides,
        },
        Diagnostics(diags).sorted(),
    ))
}

/// The DIGIT env file named by `spec.digitEnvFile`, relative to the file that names it.
fn digit_env_path(tree: &Node, sources: &SourceMap) -> Option<PathBuf> {
    let path = ["spec", "digitEnvFile"];
    let name = tree.path(&path)?.as_str()?;
    if name.trim().is_empty() || !crate::checks::placeholders(name).is_empty() {
        return None;
    }
    declared_path(name, sources, &path)
}

/// A path written at `keys` in the environment, relative to the directory of the file that
/// supplied the value (an absolute path stays as it is).
fn declared_path(name: &str, sources: &SourceMap, keys: &[&str]) -> Option<PathBuf> {
    let declared_in = sources.source_file(keys)?;
    Some(normalize(&parent_dir(declared_in).join(name)))
}

/// What loading one file gave to the file that included it.
struct Loaded {
    /// The file's index in the list of files.
    index: usize,
    /// Its own well-formed `extends` entry.
    extends: Option<(Key, Node)>,
}

#[derive(Default)]
struct Loader {
    /// Display paths of the files merged, in merge order.
    files: Vec<PathBuf>,
    layers: Vec<Layer>,
    diags: Vec<Diagnostic>,
    /// Files fully loaded (canonical paths): a file reached again is not applied twice.
    done: HashSet<PathBuf>,
    /// Files being loaded (canonical paths, with their display paths), for cycle detection.
    stack: Vec<(PathBuf, PathBuf)>,
}

impl Loader {
    /// Loads `path` and its bases, appending layers base first. `included_at` is the `extends`
    /// entry that names the file (`None` for the environment file itself).
    fn load_file(
        &mut self,
        path: &Path,
        included_at: Option<Location>,
        depth: usize,
    ) -> Option<Loaded> {
        let display = normalize(path);
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                let d = match &included_at {
                    None => Diagnostic::error(codes::IO, format!("cannot read `{}`: {e}", display.display()))
                        .hint("check the path of the environment file"),
                    Some(_) => Diagnostic::error(
                        codes::EXTENDS,
                        format!("cannot read base file `{}`: {e}", display.display()),
                    )
                    .hint("`extends` entries are relative to the file that lists them; check the path"),
                };
                self.diags.push(d.at(included_at));
                return None;
            }
        };
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| display.clone());
        if let Some(start) = self.stack.iter().position(|(c, _)| *c == canonical) {
            let chain: Vec<String> = self.stack[start..]
                .iter()
                .map(|(_, d)| format!("`{}`", d.display()))
                .chain([format!("`{}`", display.display())])
                .collect();
            self.diags.push(
                Diagnostic::error(
                    codes::EXTENDS_CYCLE,
                    format!("`extends` goes round in a cycle: {}", chain.join(" -> ")),
                )
                .at(included_at)
                .hint("remove this entry: a file cannot be its own base"),
            );
            return None;
        }
        if self.done.contains(&canonical) {
            return None;
        }
        if depth > MAX_EXTENDS_DEPTH {
            self.diags.push(
                Diagnostic::error(
                    codes::EXTENDS,
                    format!("`extends` chain is deeper than {MAX_EXTENDS_DEPTH} files"),
                )
                .at(included_at)
                .hint("flatten the chain of base files"),
            );
            return None;
        }
        let mut root = match parse_file(&bytes, &display) {
            Ok(root) => root,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        let at = |pos: Pos| {
            Some(Location {
                file: display.clone(),
                line: pos.line,
                col: pos.col,
            })
        };
        if let Some(pos) = too_deep(&root, MAX_DEPTH) {
            self.diags.push(
                Diagnostic::error(
                    codes::TOO_DEEP,
                    format!("the file nests deeper than {MAX_DEPTH} levels"),
                )
                .at(at(pos))
                .hint("an environment file needs only a few levels; check the indentation"),
            );
            return None;
        }
        let Value::Map(entries) = &mut root.value else {
            let (message, hint) = match root.value {
                Value::Null => (
                    format!("`{}` is empty", display.display()),
                    "an environment file starts with `apiVersion: govdeploy.io/v1` and `kind: Environment`, \
                     then `metadata` and `spec`",
                ),
                _ => (
                    format!(
                        "an environment file must be a mapping of keys, found a {}",
                        root.kind_name()
                    ),
                    "write `apiVersion`, `kind`, `metadata` and `spec` as `key: value` lines at the top level",
                ),
            };
            self.diags.push(
                Diagnostic::error(codes::TYPE, message)
                    .at(at(root.pos))
                    .hint(hint),
            );
            return None;
        };
        let extends = entries
            .iter()
            .position(|(k, _)| k.name == "extends")
            .map(|i| entries.remove(i));

        self.stack.push((canonical.clone(), display.clone()));
        let mut well_formed = extends.clone();
        if let Some((_, list)) = &extends {
            match &list.value {
                Value::Seq(items) => {
                    let dir = parent_dir(&display);
                    for item in items {
                        match item.as_str().filter(|s| !s.trim().is_empty()) {
                            Some(base) => {
                                self.load_file(&dir.join(base), at(item.pos), depth + 1);
                            }
                            None => {
                                well_formed = None;
                                self.diags.push(
                                    Diagnostic::error(
                                        codes::TYPE,
                                        format!(
                                            "`extends` entries must be file paths, found a {}",
                                            item.kind_name()
                                        ),
                                    )
                                    .at(at(item.pos))
                                    .hint(
                                        "write `extends: [base.yaml]`, paths relative to this file",
                                    ),
                                );
                            }
                        }
                    }
                }
                Value::Null => well_formed = None,
                _ => {
                    well_formed = None;
                    let hint = match list.as_str() {
                        Some(s) => format!("write a list: `extends: [{s}]`"),
                        None => "write a list of file paths: `extends: [base.yaml]`".to_string(),
                    };
                    self.diags.push(
                        Diagnostic::error(
                            codes::TYPE,
                            format!(
                                "`extends` must be a list of file paths, found a {}",
                                list.kind_name()
                            ),
                        )
                        .at(at(list.pos))
                        .hint(hint),
                    );
                }
            }
        }
        self.stack.pop();
        self.done.insert(canonical);

        let index = self.files.len();
        self.files.push(display);
        self.layers.push(Layer { file: index, root });
        Some(Loaded {
            index,
            extends: well_formed,
        })
    }
}

/// Parses a file's bytes into its located tree, or the diagnostic saying why not.
fn parse_file(bytes: &[u8], file: &Path) -> Result<Node, Diagnostic> {
    let at = |pos: Pos| {
        Some(Location {
            file: file.to_path_buf(),
            line: pos.line,
            col: pos.col,
        })
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let col = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            return Err(Diagnostic::error(codes::YAML, "the file is not UTF-8 text")
                .at(at(Pos { line, col }))
                .hint("save the environment file as UTF-8 YAML"));
        }
    };
    parse_single(text).map_err(|e| yaml_diagnostic(&e, file))
}

/// A YAML parse error as a diagnostic in `file`.
fn yaml_diagnostic(error: &YamlError, file: &Path) -> Diagnostic {
    let at = |pos: Pos| {
        Some(Location {
            file: file.to_path_buf(),
            line: pos.line,
            col: pos.col,
        })
    };
    match error {
        YamlError::DuplicateKey { pos, first, key } => {
            Diagnostic::error(codes::DUPLICATE, format!("duplicate key `{key}`"))
                .at(at(*pos))
                .hint(format!(
                    "`{key}` is first defined at line {}, column {}; keep one of them",
                    first.line, first.col
                ))
        }
        YamlError::Syntax { pos, message } => {
            Diagnostic::error(codes::YAML, format!("invalid YAML: {message}"))
                .at(at(*pos))
                .hint("check the indentation, quotes and brackets around this place")
        }
        YamlError::UnknownAlias { pos, .. } => {
            Diagnostic::error(codes::YAML, "alias to an unknown anchor")
                .at(at(*pos))
                .hint("define the anchor (`&name`) before using it (`*name`)")
        }
        YamlError::ComplexKey { pos } => {
            Diagnostic::error(codes::YAML, "a mapping key must be a plain value")
                .at(at(*pos))
                .hint("use a plain name as the key")
        }
        YamlError::DocumentCount { count } => Diagnostic::error(
            codes::YAML,
            format!("expected one YAML document, found {count}"),
        )
        .at(at(Pos { line: 1, col: 1 }))
        .hint(
            "an environment file is one document: remove the `---` separators, or split the file",
        ),
    }
}

/// The position of the first node nested deeper than `max` levels, found without recursion.
fn too_deep(root: &Node, max: usize) -> Option<Pos> {
    let mut stack: Vec<(&Node, usize)> = vec![(root, 0)];
    while let Some((node, depth)) = stack.pop() {
        if depth > max {
            return Some(node.pos);
        }
        match &node.value {
            Value::Map(entries) => stack.extend(entries.iter().rev().map(|(_, v)| (v, depth + 1))),
            Value::Seq(items) => stack.extend(items.iter().rev().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    None
}

/// The directory a file is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Removes `.` and resolvable `..` components, without touching the file system, so paths in
/// reports read as people wrote them (`envs/../base.yaml` -> `base.yaml`).
fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn normalizes_paths_lexically() {
        assert_eq!(
            normalize(Path::new("a/./b/../c.yaml")),
            PathBuf::from("a/c.yaml")
        );
        assert_eq!(
            normalize(Path::new("../x.yaml")),
            PathBuf::from("../x.yaml")
        );
        assert_eq!(normalize(Path::new("/../x")), PathBuf::from("/x"));
        assert_eq!(normalize(Path::new("./")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("env.yaml")), PathBuf::from("."));
    }

    #[test]
    fn measures_depth_without_recursion() {
        let shallow = parse_single("a: {b: [1, {c: 2}]}\n").unwrap();
        assert_eq!(too_deep(&shallow, 4), None);
        assert_eq!(too_deep(&shallow, 3), Some(Pos { line: 1, col: 16 }));
    }
}
