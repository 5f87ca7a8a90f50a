//! Progress reporting, decoupled from any terminal library: the CLI draws bars, tests count.

/// Receives transfer events from any task.
pub trait Progress: Send + Sync {
    /// Total bytes a transfer expects to move (once known).
    fn total(&self, _bytes: u64) {}
    /// Content bytes moved.
    fn bytes(&self, _n: u64) {}
    /// One thing finished (`blob sha256:.. sent`, `manifest ... pushed`).
    fn item(&self, _message: &str) {}
    /// Something worth a line (a retry, a resume).
    fn note(&self, _message: &str) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
