//! `govdeploy`: plans, renders and deploys digital public platforms (eGov DIGIT first) onto
//! Kubernetes from one environment file.
//!
//! This crate is glue only: argument parsing, choosing an output format, and presenting
//! errors. The work happens in the library crates; only this crate uses `anyhow`.

mod cli;
mod commands;
mod exit;
mod pipeline;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    std::process::exit(commands::run(args));
}
