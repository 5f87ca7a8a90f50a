//! One module per subcommand; `run` dispatches and turns results into exit codes.

pub(crate) mod apply;
pub(crate) mod catalog;
mod environment;
pub(crate) mod release;
mod render;
mod schema;

use govdeploy_yaml::Diagnostics;

use crate::cli::{CatalogCommand, Cli, Command};
use crate::exit;

pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Plan { env, output } => environment::plan(&env, output),
        Command::Graph { env, format } => environment::graph(&env, format),
        Command::Images { env, output } => environment::images(&env, output),
        Command::Render {
            env,
            output,
            include_secrets,
        } => render::run(&env, &output, include_secrets),
        Command::Apply(args) => apply::run(args),
        Command::Diff(args) => release::diff(args),
        Command::Schema => schema::run(),
        Command::Catalog(CatalogCommand::ImportDigit {
            checkout,
            output,
            name,
            env_file,
            commit,
            source,
        }) => catalog::import_digit(&checkout, &output, name, env_file, commit, source),
        Command::Catalog(CatalogCommand::Show { catalog }) => catalog::show(&catalog),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            exit::FAILURE
        }
    }
}

/// Prints diagnostics to stderr in compiler style.
pub fn report(diagnostics: &Diagnostics) {
    if !diagnostics.is_empty() {
        eprintln!("{}", diagnostics.clone().sorted());
    }
}
