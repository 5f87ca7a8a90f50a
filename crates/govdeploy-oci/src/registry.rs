//! One registry endpoint: TLS and plain-HTTP rules, authentication, retries, and the
//! distribution API calls the copier uses (manifests, blobs, uploads).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};

use crate::auth::{Challenge, Credentials, TokenAnswer, parse_challenge};
use crate::digest::Digest;
use crate::error::{OciError, Result};
use crate::manifest::{ACCEPT, Manifest};
use crate::retry::RetryPolicy;
use crate::stats::Stats;

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    pub credentials: Option<Credentials>,
    /// Extra trusted CA certificates (PEM), on top of the built-in web roots.
    pub ca_certificates: Vec<Vec<u8>>,
    /// Allow `http://` to hosts that are not loopback.
    pub allow_insecure: bool,
    pub retry: RetryPolicy,
}

/// A registry's API root: `http://` for loopback hosts unless written `https://`, `https://`
/// otherwise (plain HTTP elsewhere only when allowed).
pub fn base_url(registry: &str, allow_insecure: bool) -> Result<(String, String)> {
    let (explicit, host) = if let Some(h) = registry.strip_prefix("https://") {
        (Some("https"), h)
    } else if let Some(h) = registry.strip_prefix("http://") {
        (Some("http"), h)
    } else {
        (None, registry)
    };
    let host = host.trim_end_matches('/').to_string();
    let api_host = if host == crate::reference::DOCKER_HUB {
        "registry-1.docker.io".to_string()
    } else {
        host.clone()
    };
    let loopback = is_loopback(&host);
    let scheme = match explicit {
        Some(s) => s,
        None if loopback => "http",
        None => "https",
    };
    if scheme == "http" && !loopback && !allow_insecure {
        return Err(OciError::PlainHttpRefused { host });
    }
    Ok((host, format!("{scheme}://{api_host}")))
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A request that can be sent again as is (the body is shared bytes).
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: String,
    pub scope: &'a [String],
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Option<Bytes>,
}

impl Call<'_> {
    fn what(&self) -> (String, String) {
        (self.method.to_string(), redact_url(&self.url))
    }
}

/// Upload URLs carry opaque state; errors show the path only.
fn redact_url(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

#[derive(Default)]
struct AuthState {
    challenge: Option<Challenge>,
    tokens: HashMap<String, String>,
}

pub struct Registry {
    /// The host as image references name it (`docker.io`, `127.0.0.1:5000`).
    pub host: String,
    base: String,
    http: reqwest::Client,
    credentials: Option<Credentials>,
    auth: tokio::sync::Mutex<AuthState>,
    pub(crate) retry: RetryPolicy,
    pub stats: Arc<Stats>,
}

/// What a blob upload session looks like after a POST.
pub enum UploadStart {
    /// Cross-repository mount succeeded: nothing to send.
    Mounted,
    /// An upload session at this URL.
    Session(String),
}

impl Registry {
    pub fn new(registry: &str, options: &RegistryOptions, stats: Arc<Stats>) -> Result<Self> {
        let (host, base) = base_url(registry, options.allow_insecure)?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .user_agent(concat!("govdeploy/", env!("CARGO_PKG_VERSION")));
        for pem in &options.ca_certificates {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| OciError::Tls(format!("CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| OciError::Tls(format!("HTTP client: {e}")))?;
        Ok(Registry {
            host,
            base,
            http,
            credentials: options.credentials.clone(),
            auth: tokio::sync::Mutex::new(AuthState::default()),
            retry: options.retry,
            stats,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Upload `Location` headers may be relative to the registry root.
    pub(crate) fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base)
        }
    }

    async fn authorization(&self, scope: &[String]) -> Option<String> {
        let state = self.auth.lock().await;
        match &state.challenge {
            Some(Challenge::Basic) => self.credentials.as_ref().map(Credentials::basic_header),
            Some(Challenge::Bearer { .. }) => state
                .tokens
                .get(&scope.join(" "))
                .map(|t| format!("Bearer {t}")),
            None => None,
        }
    }

    async fn authenticate(&self, challenge: Challenge, scope: &[String]) -> Result<()> {
        let mut state = self.auth.lock().await;
        if let Challenge::Bearer { realm, service } = &challenge {
            let mut request = self.http.get(realm);
            if let Some(service) = service {
                request = request.query(&[("service", service)]);
            }
            for s in scope {
                request = request.query(&[("scope", s)]);
            }
            if let Some(c) = &self.credentials {
                request = request.header(header::AUTHORIZATION, c.basic_header());
            }
            let auth_error = |message: String| OciError::Auth {
                registry: self.host.clone(),
                message,
            };
            let response = request
                .send()
                .await
                .map_err(|e| auth_error(format!("token endpoint {}: {e}", redact_url(realm))))?;
            if !response.status().is_success() {
                return Err(auth_error(format!(
                    "token endpoint {} answered {}",
                    redact_url(realm),
                    response.status()
                )));
            }
            let answer: TokenAnswer = response
                .json()
                .await
                .map_err(|e| auth_error(format!("token endpoint answer: {e}")))?;
            let token = answer
                .token
                .or(answer.access_token)
                .ok_or_else(|| auth_error("token endpoint gave no token".into()))?;
            state.tokens.insert(scope.join(" "), token);
        } else if self.credentials.is_none() {
            return Err(OciError::Auth {
                registry: self.host.clone(),
                message: "the registry asks for a user name and password; none were given".into(),
            });
        }
        state.challenge = Some(challenge);
        Ok(())
    }

    /// Sends once (authenticating when challenged): for requests that must not be repeated
    /// blindly, such as `PATCH` bodies a registry appends.
    pub(crate) async fn send_once(&self, call: &Call<'_>) -> Result<Response> {
        let mut tried_auth = false;
        loop {
            let mut request = self.http.request(call.method.clone(), &call.url);
            for (name, value) in &call.headers {
                request = request.header(name, value);
            }
            if let Some(auth) = self.authorization(call.scope).await {
                request = request.header(header::AUTHORIZATION, auth);
            }
            if let Some(body) = &call.body {
                self.stats.add_sent(body.len() as u64);
                request = request.body(body.clone());
            }
            let response = request.send().await.map_err(|source| {
                let (method, url) = call.what();
                OciError::Http {
                    method,
                    url,
                    source: source.without_url(),
                }
            })?;
            if response.status() != StatusCode::UNAUTHORIZED || tried_auth {
                if response.status() == StatusCode::UNAUTHORIZED {
                    return Err(OciError::Auth {
                        registry: self.host.clone(),
                        message: format!(
                            "{} {}: credentials refused (HTTP 401)",
                            call.method,
                            redact_url(&call.url)
                        ),
                    });
                }
                return Ok(response);
            }
            let challenge = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_challenge)
                .ok_or_else(|| OciError::Auth {
                    registry: self.host.clone(),
                    message: "HTTP 401 without a usable WWW-Authenticate challenge".into(),
                })?;
            self.authenticate(challenge, call.scope).await?;
            tried_auth = true;
        }
    }

    /// Sends with retries on transient failures; any other status is the caller's to judge.
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Response> {
        let mut attempt = 1;
        loop {
            let outcome = self.send_once(call).await;
            let retry_after = match &outcome {
                Ok(r) if is_transient_status(r.status()) => Some(retry_after(r.headers())),
                Err(e) if e.is_transient() => Some(None),
                _ => None,
            };
            match retry_after {
                Some(wait) if attempt < self.retry.attempts => {
                    self.stats.add_retry();
                    tokio::time::sleep(self.retry.delay(attempt, wait)).await;
                    attempt += 1;
                }
                _ => return outcome,
            }
        }
    }

    /// An error for an unexpected answer, with the registry's own error text.
    pub(crate) async fn unexpected(
        call_method: &Method,
        url: &str,
        response: Response,
    ) -> OciError {
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let message: String = text.trim().chars().take(300).collect();
        OciError::Status {
            method: call_method.to_string(),
            url: redact_url(url),
            status,
            message,
        }
    }

    /// `HEAD` a manifest: its digest when present.
    pub async fn head_manifest(&self, repository: &str, reference: &str) -> Result<Option<Digest>> {
        let scope = [pull_scope(repository)];
        let call = Call {
            method: Method::HEAD,
            url: self.url(&format!("/v2/{repository}/manifests/{reference}")),
            scope: &scope,
            headers: vec![(header::ACCEPT, ACCEPT.to_string())],
            body: None,
        };
        let response = self.send(&call).await?;
        match response.status() {
            StatusCode::OK => Ok(response
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| Digest::parse(v).ok())),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(Self::unexpected(&call.method, &call.url, response).await),
        }
    }

    /// `GET` a manifest as raw bytes; verified against the digest asked for, or the one the
    /// registry announces.
    pub async fn get_manifest(&self, repository: &str, reference: &str) -> Result<Manifest> {
        let scope = [pull_scope(repository)];
        let call = Call {
            method: Method::GET,
            url: self.url(&format!("/v2/{repository}/manifests/{reference}")),
            scope: &scope,
            headers: vec![(header::ACCEPT, ACCEPT.to_string())],
            body: None,
        };
        let response = self.send(&call).await?;
        if response.status() != StatusCode::OK {
            return Err(Self::unexpected(&call.method, &call.url, response).await);
        }
        let content_type = header_str(response.headers(), header::CONTENT_TYPE);
        let announced = header_str(response.headers(), "docker-content-digest");
        let bytes = response.bytes().await.map_err(|source| OciError::Http {
            method: "GET".into(),
            url: call.url.clone(),
            source: source.without_url(),
        })?;
        self.stats.add_received(bytes.len() as u64);
        let what = format!("{}/{repository}@{reference}", self.host);
        let manifest = Manifest::parse(bytes, content_type.as_deref(), &what)?;
        if let Ok(expected) = Digest::parse(reference) {
            expected.verify(&manifest.digest, &what)?;
        } else if let Some(expected) = announced.and_then(|d| Digest::parse(&d).ok()) {
            expected.verify(&manifest.digest, &what)?;
        }
        Ok(manifest)
    }

    /// `PUT` a manifest (raw bytes) under a tag or its digest.
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &Manifest,
    ) -> Result<()> {
        let scope = [push_scope(repository)];
        let call = Call {
            method: Method::PUT,
            url: self.url(&format!("/v2/{repository}/manifests/{reference}")),
            scope: &scope,
            headers: vec![(header::CONTENT_TYPE, manifest.media_type.clone())],
            body: Some(manifest.bytes.clone()),
        };
        let response = self.send(&call).await?;
        if !response.status().is_success() {
            return Err(Self::unexpected(&call.method, &call.url, response).await);
        }
        if let Some(stored) = header_str(response.headers(), "docker-content-digest")
            .and_then(|d| Digest::parse(&d).ok())
        {
            manifest.digest.verify(
                &stored,
                format!("manifest {}/{repository}:{reference} as stored", self.host),
            )?;
        }
        Ok(())
    }

    /// `HEAD` a blob: its size when the repository has it.
    pub async fn head_blob(&self, repository: &str, digest: &Digest) -> Result<Option<u64>> {
        let scope = [pull_scope(repository)];
        let call = Call {
            method: Method::HEAD,
            url: self.url(&format!("/v2/{repository}/blobs/{digest}")),
            scope: &scope,
            headers: Vec::new(),
            body: None,
        };
        let response = self.send(&call).await?;
        match response.status() {
            StatusCode::OK => Ok(Some(
                header_str(response.headers(), header::CONTENT_LENGTH)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(Self::unexpected(&call.method, &call.url, response).await),
        }
    }

    /// `GET` a blob from byte `offset` on; the caller streams the body.
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<Response> {
        let scope = [pull_scope(repository)];
        let mut headers = Vec::new();
        if offset > 0 {
            headers.push((header::RANGE, format!("bytes={offset}-")));
        }
        let call = Call {
            method: Method::GET,
            url: self.url(&format!("/v2/{repository}/blobs/{digest}")),
            scope: &scope,
            headers,
            body: None,
        };
        let response = self.send(&call).await?;
        match response.status() {
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => Ok(response),
            _ => Err(Self::unexpected(&call.method, &call.url, response).await),
        }
    }

    /// Starts an upload, first trying a cross-repository mount from `mount_from`.
    pub async fn start_upload(
        &self,
        repository: &str,
        digest: &Digest,
        mount_from: Option<&str>,
    ) -> Result<UploadStart> {
        let mut scope = vec![push_scope(repository)];
        let mut url = self.url(&format!("/v2/{repository}/blobs/uploads/"));
        if let Some(from) = mount_from {
            scope.push(pull_scope(from));
            url.push_str(&format!("?mount={digest}&from={from}"));
        }
        let call = Call {
            method: Method::POST,
            url,
            scope: &scope,
            headers: vec![(header::CONTENT_LENGTH, "0".into())],
            body: None,
        };
        let response = self.send(&call).await?;
        match response.status() {
            StatusCode::CREATED if mount_from.is_some() => Ok(UploadStart::Mounted),
            StatusCode::ACCEPTED => Ok(UploadStart::Session(self.location(&call, &response)?)),
            _ => Err(Self::unexpected(&call.method, &call.url, response).await),
        }
    }

    pub(crate) fn location(&self, call: &Call<'_>, response: &Response) -> Result<String> {
        header_str(response.headers(), header::LOCATION)
            .map(|l| self.absolute(&l))
            .ok_or_else(|| OciError::Status {
                method: call.method.to_string(),
                url: redact_url(&call.url),
                status: response.status().as_u16(),
                message: "no Location header in the answer".into(),
            })
    }

    /// `GET` an upload session: how many bytes the registry holds, and the URL to go on with.
    /// `None` when the session is gone.
    pub async fn upload_status(
        &self,
        repository: &str,
        location: &str,
    ) -> Result<Option<(u64, String)>> {
        let scope = [push_scope(repository)];
        let call = Call {
            method: Method::GET,
            url: location.to_string(),
            scope: &scope,
            headers: Vec::new(),
            body: None,
        };
        let response = self.send(&call).await?;
        match response.status() {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                let stored = header_str(response.headers(), header::RANGE)
                    .as_deref()
                    .map_or(0, stored_bytes);
                let next = header_str(response.headers(), header::LOCATION)
                    .map_or_else(|| location.to_string(), |l| self.absolute(&l));
                Ok(Some((stored, next)))
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(Self::unexpected(&call.method, &call.url, response).await),
        }
    }

    /// Abandons an upload session (best effort).
    pub async fn cancel_upload(&self, repository: &str, location: &str) {
        let scope = [push_scope(repository)];
        let call = Call {
            method: Method::DELETE,
            url: location.to_string(),
            scope: &scope,
            headers: Vec::new(),
            body: None,
        };
        let _ = self.send_once(&call).await;
    }

    /// Tags of a repository (`/tags/list`), for copying a whole repository.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let scope = [pull_scope(repository)];
        let call = Call {
            method: Method::GET,
            url: self.url(&format!("/v2/{repository}/tags/list")),
            scope: &scope,
            headers: Vec::new(),
            body: None,
        };
        let response = self.send(&call).await?;
        if response.status() != StatusCode::OK {
            return Err(Self::unexpected(&call.method, &call.url, response).await);
        }
        let tags: Tags = response.json().await.map_err(|source| OciError::Http {
            method: "GET".into(),
            url: call.url.clone(),
            source: source.without_url(),
        })?;
        let mut tags = tags.tags.unwrap_or_default();
        tags.sort();
        Ok(tags)
    }
}

/// Bytes an upload holds, from its `Range: 0-<last>` header. Distribution answers `0-0` both
/// for an empty session and for one holding a single byte; it is read as empty (a wrong guess
/// is caught by the digest check when the upload completes, and the blob is sent again).
pub(crate) fn stored_bytes(range: &str) -> u64 {
    let range = range.trim().trim_start_matches("bytes=");
    match range.split_once('-') {
        Some((_, end)) => match end.parse::<u64>() {
            Ok(0) | Err(_) => 0,
            Ok(last) => last + 1,
        },
        None => 0,
    }
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_string)
}

fn is_transient_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_str(headers, header::RETRY_AFTER)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

pub(crate) fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

pub(crate) fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_or_when_allowed() {
        assert_eq!(
            base_url("127.0.0.1:5000", false).unwrap().1,
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            base_url("localhost:1", false).unwrap().1,
            "http://localhost:1"
        );
        assert_eq!(base_url("[::1]:1", false).unwrap().1, "http://[::1]:1");
        assert_eq!(
            base_url("https://127.0.0.1:5000", false).unwrap().1,
            "https://127.0.0.1:5000"
        );
        assert_eq!(
            base_url("registry.example", false).unwrap().1,
            "https://registry.example"
        );
        assert_eq!(
            base_url("docker.io", false).unwrap().1,
            "https://registry-1.docker.io"
        );
        assert!(matches!(
            base_url("http://registry.example", false),
            Err(OciError::PlainHttpRefused { .. })
        ));
        assert!(base_url("http://registry.example", true).is_ok());
    }

    #[test]
    fn reads_upload_ranges() {
        assert_eq!(stored_bytes("0-0"), 0);
        assert_eq!(stored_bytes("0-1023"), 1024);
        assert_eq!(stored_bytes("bytes=0-9"), 10);
        assert_eq!(stored_bytes("junk"), 0);
    }

    #[test]
    fn upload_state_never_reaches_errors() {
        assert_eq!(
            redact_url("http://h/v2/a/blobs/uploads/u?_state=secret"),
            "http://h/v2/a/blobs/uploads/u"
        );
    }
}
