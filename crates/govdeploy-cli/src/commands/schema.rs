//! `govdeploy schema`: the environment file's JSON Schema.

use crate::exit;

pub fn run() -> anyhow::Result<i32> {
    println!("{}", govdeploy_spec::json_schema());
    Ok(exit::OK)
}
