//! One renderer per output format. All are deterministic: findings come sorted by file, object
//! and line, and nothing depends on the clock or the machine.

pub mod json;
pub mod sarif;
pub mod text;
