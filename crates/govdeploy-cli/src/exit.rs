//! Exit codes, kept distinct so scripts can tell input problems from failures.

/// Success.
pub const OK: i32 = 0;
/// Something failed that is not the user's input (I/O, internal).
pub const FAILURE: i32 = 1;
/// The inputs are invalid: nothing was done. Fix what the diagnostics say and re-run.
pub const INVALID_INPUT: i32 = 2;
