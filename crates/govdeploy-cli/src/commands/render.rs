//! `govdeploy render ENV -o DIR|-`: the environment's Kubernetes objects as files (written
//! as a whole or not at all) or as one stream.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use govdeploy_render::{RenderInput, SecretValues};
use govdeploy_yaml::{Diagnostic, Diagnostics, Location};

use crate::commands::report;
use crate::{exit, pipeline};

pub fn run(env: &Path, output: &Path, include_secrets: bool) -> anyhow::Result<i32> {
    let planned = match pipeline::plan(env) {
        Ok(p) => p,
        Err(diagnostics) => {
            report(&diagnostics);
            return Ok(if diagnostics.has_errors() {
                exit::INVALID_INPUT
            } else {
                exit::FAILURE
            });
        }
    };
    let secrets = match planned.loaded.secrets_file() {
        Some(path) => match read_secrets(&path) {
            Ok(values) => Some(values),
            Err(diagnostics) => {
                report(&diagnostics);
                return Ok(exit::INVALID_INPUT);
            }
        },
        None => None,
    };
    let input = RenderInput {
        plan: &planned.plan,
        catalog: &planned.catalog,
        environment: &planned.loaded.env,
        secrets: secrets.as_ref(),
        plaintext_secrets: secrets.is_some(),
    };
    let rendered = match govdeploy_render::render(input) {
        Ok(r) => r,
        Err(diagnostics) => {
            let mut all = planned.warnings.clone();
            all.extend(diagnostics);
            report(&all);
            return Ok(exit::INVALID_INPUT);
        }
    };
    let mut warnings = planned.warnings.clone();
    warnings.extend(Diagnostics(rendered.warnings.clone()));
    report(&warnings);

    if output == Path::new("-") {
        let (text, skipped) = govdeploy_render::stream(&rendered, include_secrets);
        std::io::stdout().lock().write_all(text.as_bytes())?;
        if skipped > 0 {
            eprintln!(
                "note: {skipped} Secret object(s) not streamed (values never go to standard output by default); render to a directory or pass --include-secrets"
            );
        }
        return Ok(exit::OK);
    }
    let files = govdeploy_render::file_contents(&rendered);
    let secret_files: Vec<String> = rendered
        .files
        .iter()
        .filter(|f| f.objects.iter().any(|o| o.is_secret()))
        .map(|f| f.name.clone())
        .collect();
    write_dir(output, &files, &secret_files)?;
    let objects = rendered.objects().count();
    eprintln!(
        "rendered {objects} objects in {} files to {}",
        files.len(),
        output.display()
    );
    Ok(exit::OK)
}

/// Reads the plaintext development secrets file: `<secret>: {<key>: <value>}`. Errors name
/// the place, never the content.
pub(crate) fn read_secrets(path: &Path) -> Result<SecretValues, Diagnostics> {
    let file = path.display().to_string();
    let at = |pos: govdeploy_yaml::Pos| {
        Some(Location {
            file: path.to_path_buf(),
            line: pos.line,
            col: pos.col,
        })
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![
            Diagnostic::error(
                "E-RENDER-SECRETS-FILE",
                format!("cannot read the secrets file {file}: {e}"),
            )
            .hint("fix spec.secrets.file or create the file"),
        ])
    })?;
    let node = govdeploy_yaml::parse_single(&text).map_err(|e| {
        let pos = e.pos();
        Diagnostics(vec![
            Diagnostic::error(
                "E-RENDER-SECRETS-FILE",
                "the secrets file is not valid YAML (content not shown)",
            )
            .at(pos.and_then(at))
            .hint("check quoting and indentation at that place"),
        ])
    })?;
    let mut problems = Vec::new();
    let mut values = BTreeMap::new();
    match &node.value {
        govdeploy_yaml::Value::Map(secrets) => {
            for (name, keys) in secrets {
                let name = &name.name;
                let govdeploy_yaml::Value::Map(keys) = &keys.value else {
                    problems.push(
                        Diagnostic::error(
                            "E-RENDER-SECRETS-FILE",
                            format!("secret `{name}` must map keys to values"),
                        )
                        .at(at(keys.pos)),
                    );
                    continue;
                };
                let mut kv = BTreeMap::new();
                for (key, value) in keys {
                    let key = &key.name;
                    match value.scalar_text() {
                        Some(v) => {
                            kv.insert(key.clone(), v);
                        }
                        _ => problems.push(
                            Diagnostic::error(
                                "E-RENDER-SECRETS-FILE",
                                format!("`{name}.{key}` must be a single value"),
                            )
                            .at(at(value.pos)),
                        ),
                    }
                }
                values.insert(name.clone(), kv);
            }
        }
        _ => problems.push(
            Diagnostic::error(
                "E-RENDER-SECRETS-FILE",
                "the secrets file must map Secret names to their keys",
            )
            .at(at(node.pos))
            .hint("write `db: {username: ..., password: ...}`"),
        ),
    }
    if problems.is_empty() {
        Ok(SecretValues(values))
    } else {
        Err(Diagnostics(problems))
    }
}

/// Writes the files into a fresh sibling directory, then swaps it into place: the output
/// directory is either the old rendering or the new one, never a mix. A directory that
/// govdeploy did not write is never replaced.
fn write_dir(
    dir: &Path,
    files: &[(String, String)],
    secret_files: &[String],
) -> anyhow::Result<()> {
    if dir.exists() {
        let ours = dir.join(govdeploy_render::KUSTOMIZATION);
        let empty = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        let rendered_before = std::fs::read_to_string(&ours)
            .map(|t| t.starts_with("# Generated by govdeploy render"))
            .unwrap_or(false);
        if !empty && !rendered_before {
            anyhow::bail!(
                "{} exists and was not written by govdeploy render; choose an empty or new directory",
                dir.display()
            );
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "render".into());
    let staging = parent.join(format!(".{base}.new-{}", std::process::id()));
    let previous = parent.join(format!(".{base}.old-{}", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        std::fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;
        for (name, text) in files {
            let path = staging.join(name);
            let mut f = std::fs::File::create(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            if secret_files.contains(name) {
                restrict(&f)?;
            }
            // No fsync per file: the swap below is what makes the output all-or-nothing for
            // readers, and kubectl and Helm do not sync rendered manifests either.
            f.write_all(text.as_bytes())?;
        }
        if dir.exists() {
            std::fs::rename(dir, &previous)
                .with_context(|| format!("moving {} aside", dir.display()))?;
        }
        if let Err(e) = std::fs::rename(&staging, dir) {
            let _ = std::fs::rename(&previous, dir);
            return Err(e)
                .with_context(|| format!("moving the new rendering to {}", dir.display()));
        }
        let _ = std::fs::remove_dir_all(&previous);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Files holding Secret values are readable by their owner only.
#[cfg(unix)]
fn restrict(file: &std::fs::File) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_file: &std::fs::File) -> anyhow::Result<()> {
    Ok(())
}
