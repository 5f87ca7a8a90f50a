//! One module per subcommand; `run` dispatches and turns results into exit codes.

pub(crate) mod airgap;
pub(crate) mod apply;
pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod catalog;
mod environment;
pub(crate) mod release;
mod render;
mod schema;
pub(crate) mod secrets;

use govdeploy_yaml::Diagnostics;

use crate::cli::{CatalogCommand, Cli, Command};
use crate::exit;

pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Plan { env, output } => environment::plan(&env, output),
        Command::Graph { env, format } => environment::graph(&env, format),
        Command::Images { env, output, lock } if lock.lock.is_none() && !lock.resolve => {
            environment::images(&env, output)
        }
        Command::Images { env, output, lock } => airgap::images(&env, output, &lock),
        Command::Bundle(args) => airgap::bundle(&args),
        Command::Mirror(args) => airgap::mirror(&args),
        Command::Render {
            env,
            output,
            include_secrets,
        } => render::run(&env, &output, include_secrets),
        Command::Apply(args) => apply::run(args),
        Command::Diff(args) => release::diff(args),
        Command::History(args) => release::history(args),
        Command::Status(args) => release::status(args),
        Command::Get(args) => release::get(args),
        Command::Rollback(args) => release::rollback::run(args),
        Command::Unlock(args) => release::unlock(args),
        Command::Schema => schema::run(),
        Command::Audit(args) => audit::run(args),
        Command::Catalog(CatalogCommand::ImportDigit {
            checkout,
            output,
            name,
            env_file,
            commit,
            source,
        }) => catalog::import_digit(&checkout, &output, name, env_file, commit, source),
        Command::Catalog(CatalogCommand::Show { catalog }) => catalog::show(&catalog),
        Command::Secrets(args) => secrets::run(args),
        Command::Backup(args) => backup::run(*args),
        Command::Restore(args) => backup::restore(*args),
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
