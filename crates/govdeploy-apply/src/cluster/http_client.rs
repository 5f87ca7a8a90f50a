//! Requests to the API server with retries. kube's own retry layer is switched off so that
//! every retry is counted, honours `Retry-After`, and covers dropped connections as well as
//! 429/5xx answers; the statistics feed the run's report and the benchmark's requests per
//! object.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, StatusCode};
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::discovery::Discovery;
use crate::error::ApplyError;

/// Which kubeconfig and context to use; unset fields follow kubectl (`KUBECONFIG`, then
/// `~/.kube/config`, the current context).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub retry: RetryPolicy,
}

/// Exponential backoff for retryable failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1` (attempt counts from 1); a server's `Retry-After`
    /// wins when it is longer, capped by `max_delay`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let backoff = self
            .initial
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        match retry_after {
            Some(after) => after.min(self.max_delay).max(backoff),
            None => backoff,
        }
    }
}

/// Counters of one run.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
    retry_reasons: Mutex<BTreeMap<String, u64>>,
}

/// What the run asked of the API server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStats {
    /// Every HTTP request sent, retries included.
    pub requests: u64,
    /// Apply patches sent (first attempts only).
    pub writes: u64,
    pub retries: u64,
    /// Retries by cause (`HTTP 503`, `HTTP 429`, `connection`).
    pub retry_reasons: BTreeMap<String, u64>,
}

/// A connected cluster. Cheap to clone: clones share the connection, counters and discovery.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    retry: RetryPolicy,
    counters: Arc<Counters>,
    pub(crate) discovery: Arc<Discovery>,
    /// `server` of the kubeconfig cluster, for messages.
    pub server: String,
}

/// A response with its body read.
pub struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl Cluster {
    pub async fn connect(options: &ConnectOptions) -> Result<Cluster, ApplyError> {
        let kubeconfig = match &options.kubeconfig {
            Some(path) => Kubeconfig::read_from(path)
                .map_err(|e| ApplyError::Kubeconfig(format!("{}: {e}", path.display())))?,
            None => Kubeconfig::read().map_err(|e| {
                ApplyError::Kubeconfig(format!(
                    "{e} (set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config)"
                ))
            })?,
        };
        let kube_options = KubeConfigOptions {
            context: options.context.clone(),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
            .await
            .map_err(|e| ApplyError::Kubeconfig(e.to_string()))?;
        config.default_retry = false;
        let server = config.cluster_url.to_string();
        let client =
            kube::Client::try_from(config).map_err(|e| ApplyError::Connect(e.to_string()))?;
        Ok(Cluster {
            client,
            retry: options.retry,
            counters: Arc::new(Counters::default()),
            discovery: Arc::new(Discovery::default()),
            server,
        })
    }

    /// The underlying kube client, for typed calls (Secrets, Leases) that share this
    /// connection.
    pub fn kube_client(&self) -> &kube::Client {
        &self.client
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    pub fn stats(&self) -> RequestStats {
        let c = &self.counters;
        RequestStats {
            requests: c.requests.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            retry_reasons: c
                .retry_reasons
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
        }
    }

    fn count_retry(&self, reason: String) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.counters.retry_reasons.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }

    /// Sends a request, retrying connection failures, 429 and 5xx with backoff. Every other
    /// answer (success or not) is returned as is.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Reply, ApplyError> {
        if method == Method::PATCH {
            self.counters.writes.fetch_add(1, Ordering::Relaxed);
        }
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(path_and_query)
                .header(http::header::ACCEPT, "application/json");
            let payload = match &body {
                Some((content_type, bytes)) => {
                    builder = builder.header(http::header::CONTENT_TYPE, *content_type);
                    bytes.clone()
                }
                None => Vec::new(),
            };
            let request = builder
                .body(Body::from(payload))
                .map_err(|e| ApplyError::Request {
                    method: method.to_string(),
                    path: path.to_string(),
                    message: e.to_string(),
                })?;
            let (retry_reason, retry_after, last_message) = match self.client.send(request).await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    match response.into_body().collect_bytes().await {
                        Ok(bytes) => {
                            let retryable =
                                status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                            if !retryable {
                                return Ok(Reply {
                                    status,
                                    body: bytes.to_vec(),
                                });
                            }
                            (
                                format!("HTTP {}", status.as_u16()),
                                retry_after,
                                format!("HTTP {status}"),
                            )
                        }
                        Err(e) => ("connection".to_string(), None, e.to_string()),
                    }
                }
                Err(e) => ("connection".to_string(), None, e.to_string()),
            };
            if attempt >= self.retry.max_attempts {
                return Err(ApplyError::RetriesExhausted {
                    method: method.to_string(),
                    path: path.to_string(),
                    attempts: attempt,
                    message: last_message,
                });
            }
            self.count_retry(retry_reason);
            tokio::time::sleep(self.retry.delay(attempt, retry_after)).await;
        }
    }

    /// Opens a streaming GET (a watch) without retries: the caller relists and re-watches
    /// on failure. Counted as one request.
    pub(crate) async fn open_stream(
        &self,
        path_and_query: &str,
    ) -> Result<http::Response<Body>, ApplyError> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        let request = Request::builder()
            .method(Method::GET)
            .uri(path_and_query)
            .header(http::header::ACCEPT, "application/json")
            .body(Body::from(Vec::new()))
            .map_err(|e| ApplyError::Request {
                method: "GET".into(),
                path: path.to_string(),
                message: e.to_string(),
            })?;
        self.client
            .send(request)
            .await
            .map_err(|e| ApplyError::Request {
                method: "GET".into(),
                path: path.to_string(),
                message: e.to_string(),
            })
    }

    /// The object, or `None` when it does not exist.
    pub async fn get(&self, path: &str) -> Result<Option<Value>, ApplyError> {
        let reply = self.send(Method::GET, path, None).await?;
        match reply.status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(reply.json()),
            _ => Err(api_error("GET", path, &reply)),
        }
    }

    /// Items of a collection; a collection in a namespace that does not exist yet is empty.
    pub async fn list(&self, path: &str, query: &str) -> Result<Vec<Value>, ApplyError> {
        let url = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        let reply = self.send(Method::GET, &url, None).await?;
        match reply.status {
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            s if s.is_success() => Ok(reply
                .json()
                .and_then(|v| v.get("items").and_then(Value::as_array).cloned())
                .unwrap_or_default()),
            _ => Err(api_error("GET", path, &reply)),
        }
    }

    /// Plain text (pod logs).
    pub async fn text(&self, path_and_query: &str) -> Result<String, ApplyError> {
        let reply = self.send(Method::GET, path_and_query, None).await?;
        if reply.status.is_success() {
            Ok(String::from_utf8_lossy(&reply.body).into_owned())
        } else {
            let path = path_and_query.split('?').next().unwrap_or(path_and_query);
            Err(api_error("GET", path, &reply))
        }
    }

    /// Server-side apply of one object (field manager `govdeploy`, strict validation).
    pub async fn apply(&self, path: &str, body: &Value, force: bool) -> Result<Reply, ApplyError> {
        let mut url = format!("{path}?fieldManager=govdeploy&fieldValidation=Strict");
        if force {
            url.push_str("&force=true");
        }
        let bytes = serde_json::to_vec(body).map_err(|e| ApplyError::Request {
            method: "PATCH".into(),
            path: path.to_string(),
            message: e.to_string(),
        })?;
        self.send(
            Method::PATCH,
            &url,
            Some(("application/apply-patch+yaml", bytes)),
        )
        .await
    }
}

/// An error answer as a typed error, with the server's reason and message.
pub(crate) fn api_error(method: &str, path: &str, reply: &Reply) -> ApplyError {
    api_error_of(
        method,
        path,
        reply.status.as_u16(),
        &reply.json().unwrap_or(Value::Null),
    )
}

/// The same from a status code and a parsed `Status` body.
pub(crate) fn api_error_of(method: &str, path: &str, status: u16, body: &Value) -> ApplyError {
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    ApplyError::Api {
        method: method.to_string(),
        path: path.to_string(),
        status,
        reason: field("reason").unwrap_or_else(|| {
            StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Unknown")
                .to_string()
        }),
        message: field("message").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 8,
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        assert_eq!(p.delay(1, None), Duration::from_millis(100));
        assert_eq!(p.delay(2, None), Duration::from_millis(200));
        assert_eq!(p.delay(3, None), Duration::from_millis(400));
        assert_eq!(p.delay(10, None), Duration::from_secs(2));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(2)
        );
    }
}
