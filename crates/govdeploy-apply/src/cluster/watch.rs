//! Watching the collections that waiting objects live in: one list, then one watch stream per
//! collection (`?watch=1&resourceVersion=<the list's>&allowWatchBookmarks=true`), kept as a
//! cache the executor reads without requests. Every change wakes the executor, so a node
//! starts the moment its needs turn healthy instead of at the next poll.
//!
//! A stream that ends (the server's `timeoutSeconds`, a dropped connection) is resumed from the
//! last resourceVersion seen; bookmarks keep that version fresh. 410 Gone (as an HTTP status or
//! an `ERROR` event: the version was compacted away) relists, as does a watch that could not be
//! opened, after a backoff. A collection the server will not watch (any other error answer to
//! the watch request, e.g. 405 or 403) is polled every `poll_interval` instead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Cluster;

/// The server ends a watch after this long; we resume it from the last version seen.
const WATCH_SECONDS: u32 = 290;

#[derive(Debug, Default)]
struct Collection {
    /// Items by `namespace/name`.
    items: BTreeMap<String, Value>,
    synced: bool,
}

/// What the watches did, for tests and diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchStats {
    /// Full lists (the first one per collection, relists, polls).
    pub lists: u64,
    /// Watch requests opened.
    pub watches: u64,
    /// Relists because the version was too old (410 Gone).
    pub expired: u64,
    /// ADDED, MODIFIED and DELETED events received.
    pub events: u64,
    /// Collections polled because the server would not watch them.
    pub polled: u64,
}

#[derive(Default)]
struct Inner {
    collections: Mutex<BTreeMap<String, Collection>>,
    stats: Mutex<WatchStats>,
    changed: Notify,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    fn collections(&self) -> MutexGuard<'_, BTreeMap<String, Collection>> {
        self.collections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn count(&self, f: impl FnOnce(&mut WatchStats)) {
        let mut stats = self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut stats);
    }
}

/// The watched collections of one run. Dropping it stops every watch.
pub struct Watches {
    cluster: Cluster,
    poll_interval: Duration,
    inner: Arc<Inner>,
}

impl Drop for Watches {
    fn drop(&mut self) {
        let tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for task in tasks.iter() {
            task.abort();
        }
    }
}

/// `namespace/name` (an empty namespace for cluster-scoped objects).
fn key_of(object: &Value) -> String {
    let field = |name: &str| {
        object
            .pointer(&format!("/metadata/{name}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    format!("{}/{}", field("namespace"), field("name"))
}

fn resource_version(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// How one watch request ended.
enum Ended {
    /// The stream ended or dropped: resume from this version.
    Resume { version: String, saw_events: bool },
    /// 410 Gone: relist.
    Expired,
    /// Could not open (connection, 429, 5xx): try again from this version after a backoff.
    Failed { version: String },
    /// The server refuses to watch this collection.
    Refused,
}

impl Watches {
    pub fn new(cluster: &Cluster, poll_interval: Duration) -> Watches {
        Watches {
            cluster: cluster.clone(),
            poll_interval,
            inner: Arc::new(Inner::default()),
        }
    }

    /// Starts keeping `path` (a collection path) up to date, unless it already is.
    pub fn ensure(&self, path: &str) {
        {
            let mut collections = self.inner.collections();
            if collections.contains_key(path) {
                return;
            }
            collections.insert(path.to_string(), Collection::default());
        }
        let task = tokio::spawn(keep(
            self.cluster.clone(),
            path.to_string(),
            self.inner.clone(),
            self.poll_interval,
        ));
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(task);
    }

    /// `None` until the collection's first list arrived; then its object of that namespace
    /// and name, if it exists.
    pub fn item(&self, path: &str, namespace: Option<&str>, name: &str) -> Option<Option<Value>> {
        let collections = self.inner.collections();
        let collection = collections.get(path).filter(|c| c.synced)?;
        Some(
            collection
                .items
                .get(&format!("{}/{name}", namespace.unwrap_or("")))
                .cloned(),
        )
    }

    /// Every item of the collection, once its first list arrived.
    pub fn items(&self, path: &str) -> Option<Vec<Value>> {
        let collections = self.inner.collections();
        let collection = collections.get(path).filter(|c| c.synced)?;
        Some(collection.items.values().cloned().collect())
    }

    /// Resolves when something changed in a watched collection since the last call.
    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    pub fn stats(&self) -> WatchStats {
        self.inner
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Keeps one collection's cache: list, watch, resume, relist; or poll.
async fn keep(cluster: Cluster, path: String, inner: Arc<Inner>, poll_interval: Duration) {
    let retry = cluster.retry_policy();
    let mut failures: u32 = 0;
    let mut version: Option<String> = None;
    let mut polling = false;
    loop {
        let from = match version.take() {
            Some(v) => v,
            None => match list(&cluster, &path, &inner).await {
                Some(v) => {
                    failures = 0;
                    v
                }
                None => {
                    failures += 1;
                    tokio::time::sleep(retry.delay(failures, None)).await;
                    continue;
                }
            },
        };
        if polling {
            tokio::time::sleep(poll_interval).await;
            continue;
        }
        inner.count(|s| s.watches += 1);
        match watch_once(&cluster, &path, &from, &inner).await {
            Ended::Resume {
                version: v,
                saw_events,
            } => {
                // A server that ends streams at once must not make this loop spin.
                if saw_events {
                    failures = 0;
                } else {
                    failures += 1;
                    tokio::time::sleep(retry.delay(failures, None)).await;
                }
                version = Some(v);
            }
            Ended::Expired => inner.count(|s| s.expired += 1),
            Ended::Failed { version: v } => {
                failures += 1;
                tokio::time::sleep(retry.delay(failures, None)).await;
                version = Some(v);
            }
            Ended::Refused => {
                polling = true;
                inner.count(|s| s.polled += 1);
                tokio::time::sleep(poll_interval).await;
            }
        }
    }
}

/// Lists the collection into the cache; returns the list's resourceVersion.
async fn list(cluster: &Cluster, path: &str, inner: &Inner) -> Option<String> {
    inner.count(|s| s.lists += 1);
    let reply = cluster.send(Method::GET, path, None).await.ok()?;
    let body = if reply.status == StatusCode::NOT_FOUND {
        // A namespace that does not exist yet holds nothing.
        serde_json::json!({"metadata": {"resourceVersion": "0"}, "items": []})
    } else if reply.status.is_success() {
        reply.json()?
    } else {
        return None;
    };
    let items: BTreeMap<String, Value> = body
        .get("items")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(|o| (key_of(o), o.clone())).collect())
        .unwrap_or_default();
    let version = resource_version(&body).unwrap_or_else(|| "0".to_string());
    {
        let mut collections = inner.collections();
        let entry = collections.entry(path.to_string()).or_default();
        entry.items = items;
        entry.synced = true;
    }
    inner.changed.notify_one();
    Some(version)
}

/// One watch request, read until it ends; events go into the cache as they arrive.
async fn watch_once(cluster: &Cluster, path: &str, from: &str, inner: &Inner) -> Ended {
    let url = format!(
        "{path}?watch=1&resourceVersion={from}&allowWatchBookmarks=true&timeoutSeconds={WATCH_SECONDS}"
    );
    let failed = || Ended::Failed {
        version: from.to_string(),
    };
    let Ok(response) = cluster.open_stream(&url).await else {
        return failed();
    };
    let status = response.status();
    if status == StatusCode::GONE {
        return Ended::Expired;
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return failed();
    }
    if !status.is_success() {
        return Ended::Refused;
    }
    let mut body = response.into_body();
    let mut pending: Vec<u8> = Vec::new();
    let mut version = from.to_string();
    let mut saw_events = false;
    loop {
        let Some(Ok(frame)) = body.frame().await else {
            return Ended::Resume {
                version,
                saw_events,
            };
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let Ok(event) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            saw_events = true;
            let object = event.get("object").cloned().unwrap_or(Value::Null);
            let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
            if kind == "ERROR" {
                return if object.get("code").and_then(Value::as_u64) == Some(410) {
                    Ended::Expired
                } else {
                    Ended::Failed { version }
                };
            }
            if let Some(v) = resource_version(&object) {
                version = v;
            }
            let changed = {
                let mut collections = inner.collections();
                let entry = collections.entry(path.to_string()).or_default();
                match kind {
                    "ADDED" | "MODIFIED" => {
                        entry.items.insert(key_of(&object), object);
                        true
                    }
                    "DELETED" => {
                        entry.items.remove(&key_of(&object));
                        true
                    }
                    _ => false, // BOOKMARK: only the version moves
                }
            };
            if changed {
                inner.count(|s| s.events += 1);
                inner.changed.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests;
