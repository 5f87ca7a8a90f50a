//! Environment secrets: reads and writes secrets files in the SOPS format (YAML store, age
//! recipients) so that they can be committed encrypted and opened with the sops tool too;
//! decrypts in memory only and verifies the MAC; derives which secrets an environment needs
//! and which govdeploy can generate; checks a file against that before rendering; converts
//! DIGIT-DevOps secrets files.
//!
//! It never prints, logs or puts a value into an error: errors name files, key paths and
//! recipients. It never talks to a cluster and never renders Kubernetes objects (the
//! renderer turns values into Secrets); the CLI does prompting, editors and presentation.
//!
//! Dependencies: `age` (the reference Rust implementation of the age format, the same format
//! sops' age key source writes), `aes-gcm` (RustCrypto; its generic nonce size is needed
//! because sops uses 32-byte GCM nonces), `sha2` for the MAC, `rand` (OS generator) for data
//! keys, IVs and generated values, `zeroize` so cleartext is wiped when dropped, `tempfile`
//! for private atomic writes.

pub mod check;
pub mod cipher;
pub mod digit;
pub mod emit;
mod error;
pub mod file;
pub mod keys;
pub mod schema;
pub mod sops;
pub mod tree;

pub use error::SecretsError;
pub use file::{Entry, SecretsFile, Storage, Values, set_value, write_private};
pub use keys::{Identities, KeySources};
pub use schema::{Need, SecretRead, Source};
pub use tree::{Scalar, TreeNode, TreeValue};
