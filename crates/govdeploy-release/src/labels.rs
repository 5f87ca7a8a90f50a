//! Label and annotation names this crate reads or writes. The object labels are the ones
//! `govdeploy-render` puts on every object (kept private there, so repeated here).

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGER: &str = "govdeploy";
pub const ENVIRONMENT: &str = "govdeploy.io/environment";
pub const COMPONENT: &str = "govdeploy.io/component";
pub const MODULE: &str = "govdeploy.io/module";

/// Secret type of release-record chunks.
pub const RELEASE_SECRET_TYPE: &str = "govdeploy.io/release.v1";
pub const RELEASE_ENV: &str = "govdeploy.io/release-environment";
pub const RELEASE_REVISION: &str = "govdeploy.io/release-revision";
pub const RELEASE_CHUNK: &str = "govdeploy.io/release-chunk";
pub const RELEASE_STATUS: &str = "govdeploy.io/release-status";
/// Annotations on chunk 0 (the head).
pub const RELEASE_CHUNKS: &str = "govdeploy.io/release-chunks";
pub const RELEASE_CHECKSUM: &str = "govdeploy.io/release-sha256";
pub const RELEASE_STARTED: &str = "govdeploy.io/release-started-at";
pub const RELEASE_BY: &str = "govdeploy.io/release-by";
pub const RELEASE_TOOL: &str = "govdeploy.io/release-tool-version";
pub const RELEASE_MESSAGE: &str = "govdeploy.io/release-message";
pub const RELEASE_ROLLBACK_OF: &str = "govdeploy.io/release-rollback-of";
