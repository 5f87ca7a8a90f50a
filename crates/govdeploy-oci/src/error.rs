//! The one error type of the crate. Messages say what failed and where (registry, repository,
//! digest, file); they never carry credentials or tokens.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("invalid digest `{0}`: expected sha256:<64 lowercase hex digits>")]
    InvalidDigest(String),
    #[error(
        "{what}: digest mismatch: expected {expected}, got {actual} (corrupt or tampered content)"
    )]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{what}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("{method} {url}: HTTP {status}: {message}")]
    Status {
        method: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("{method} {url}: {source}")]
    Http {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "refusing plain HTTP to `{host}`: only loopback hosts may use http:// unless insecure registries are allowed explicitly"
    )]
    PlainHttpRefused { host: String },
    #[error("authentication to {registry} failed: {message}")]
    Auth { registry: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle {path}: {message}")]
    Bundle { path: PathBuf, message: String },
    #[error("lockfile {path}: {message}")]
    Lockfile { path: PathBuf, message: String },
    #[error("manifest {what}: {message}")]
    Manifest { what: String, message: String },
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("{what}: gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        what: String,
        attempts: u32,
        last: Box<OciError>,
    },
}

impl OciError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OciError::Io {
            path: path.into(),
            source,
        }
    }

    /// The message with every underlying cause (`error sending request: ... certificate`).
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        text
    }

    /// Whether trying again later can help: connection problems, 5xx and 429; not a
    /// certificate that will be just as untrusted next time.
    pub fn is_transient(&self) -> bool {
        match self {
            OciError::Http { source, .. } => {
                let network = source.is_connect()
                    || source.is_timeout()
                    || source.is_request()
                    || source.is_body()
                    || source.is_decode();
                network && !self.chain().to_lowercase().contains("certificate")
            }
            OciError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}

pub type Result<T, E = OciError> = std::result::Result<T, E>;
