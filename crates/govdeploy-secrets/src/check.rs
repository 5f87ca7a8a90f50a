//! Checks a secrets file against the schema before anything is rendered or applied: every
//! needed key present, none left as a placeholder. Diagnostics name places and components,
//! never values.

use govdeploy_yaml::{Diagnostic, Location};

use crate::file::Values;
use crate::schema::{Need, is_placeholder};

pub const E_MISSING: &str = "E-SECRETS-MISSING";
pub const E_PLACEHOLDER: &str = "E-SECRETS-PLACEHOLDER";
pub const E_EMPTY: &str = "E-SECRETS-EMPTY";

pub fn check(
    file: &std::path::Path,
    values: &Values,
    needs: &[Need],
    env_name: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for need in needs {
        let at = |pos: govdeploy_yaml::Pos| {
            Some(Location {
                file: file.to_path_buf(),
                line: pos.line,
                col: pos.col,
            })
        };
        match values.get(&need.secret).and_then(|keys| keys.get(&need.key)) {
            None => out.push(
                Diagnostic::error(
                    E_MISSING,
                    format!(
                        "{}: secret `{}` is missing; {} read{} it",
                        file.display(),
                        need.id(),
                        need.used_by.join(", "),
                        if need.used_by.len() == 1 { "s" } else { "" }
                    ),
                )
                .hint(format!("add it with `govdeploy secrets set {env_name} {}` (the value is read from standard input)", need.id())),
            ),
            Some(entry) if is_placeholder(&entry.value) => out.push(
                Diagnostic::error(
                    E_PLACEHOLDER,
                    format!("secret `{}` is still a placeholder (read by {})", need.id(), need.used_by.join(", ")),
                )
                .at(at(entry.pos))
                .hint(format!("set the real value with `govdeploy secrets set {env_name} {}` or `secrets edit`", need.id())),
            ),
            Some(entry) if entry.value.trim().is_empty() => out.push(
                Diagnostic::error(
                    E_EMPTY,
                    format!("secret `{}` is empty (read by {})", need.id(), need.used_by.join(", ")),
                )
                .at(at(entry.pos))
                .hint(format!("set it with `govdeploy secrets set {env_name} {}`", need.id())),
            ),
            Some(_) => {}
        }
    }
    out
}
