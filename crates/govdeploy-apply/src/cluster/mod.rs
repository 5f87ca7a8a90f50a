//! The cluster connection: kubeconfig resolution as kubectl does it, raw requests with
//! counted retries, and API discovery.

mod discovery;
mod http_client;
mod paths;
mod watch;

pub use discovery::Resource;
pub(crate) use http_client::api_error_of;
pub use http_client::{Cluster, ConnectOptions, RequestStats, RetryPolicy};
pub use paths::{collection_path, object_path};
pub use watch::{WatchStats, Watches};
