//! govdeploy-oci owns the air-gap path: an OCI distribution client (manifests, blobs,
//! monolithic, chunked and resumed uploads, cross-repository mounts, basic and bearer-token
//! auth, custom CAs, plain HTTP for loopback only unless allowed), the image lockfile, and the
//! offline bundle (an OCI image layout in a plain tar). It never reads environment files or
//! renders anything (the CLI gives it image lists) and never re-serialises a manifest: raw
//! bytes are copied so digests stay what they were.
//!
//! Dependencies: `reqwest` with rustls (no system OpenSSL in the air gap, extra CA PEMs added
//! per run) on `tokio` for bounded concurrent transfers; `tar` only for its header encoding
//! and for indexing a bundle, since entries are streamed by hand. Manifests are read through a
//! small serde view instead of `oci-spec`'s typed model: only descriptors are needed, Docker
//! schema 2 types must pass too, and the bytes are never rebuilt from a model.

pub mod auth;
pub mod blob;
pub mod copy;
pub mod digest;
pub mod error;
pub mod layout;
pub mod lockfile;
pub mod manifest;
pub mod progress;
pub mod reference;
pub mod registry;
pub mod retry;
pub mod stats;
pub mod upload;

pub use auth::Credentials;
pub use copy::{CopyOptions, CopyReport, ImageCopy, RegistryPool, Source};
pub use digest::Digest;
pub use error::{OciError, Result};
pub use layout::{BundleReader, BundleRef};
pub use lockfile::{LockedImage, Lockfile};
pub use progress::{Progress, Silent};
pub use reference::ImageReference;
pub use registry::{Registry, RegistryOptions};
pub use retry::RetryPolicy;
pub use stats::{Stats, Summary};
