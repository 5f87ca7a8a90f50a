//! `kind: Status` failure bodies with the codes, reasons and messages of the real API server.

use serde_json::{Value, json};

/// An API error as the server answers it: an HTTP code and a `Status` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Box<Value>>,
    /// Seconds for a `Retry-After` header (429 and some 5xx).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    pub fn not_found(qualified_plural: &str, name: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("{qualified_plural} \"{name}\" not found"),
        )
        .with_details(details(name, qualified_plural))
    }

    pub fn already_exists(qualified_plural: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{qualified_plural} \"{name}\" already exists"),
        )
        .with_details(details(name, qualified_plural))
    }

    pub fn conflict_modified(qualified_plural: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {qualified_plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        )
        .with_details(details(name, qualified_plural))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    /// 422 with one `causes[]` entry per problem, in the real server's message format.
    pub fn invalid(qualified_kind: &str, name: &str, causes: &[(String, String, String)]) -> Self {
        let listed: Vec<String> = causes
            .iter()
            .map(|(_, field, msg)| format!("{field}: {msg}"))
            .collect();
        let message = if listed.len() == 1 {
            format!("{qualified_kind} \"{name}\" is invalid: {}", listed[0])
        } else {
            format!(
                "{qualified_kind} \"{name}\" is invalid: [{}]",
                listed.join(", ")
            )
        };
        let (kind, group) = qualified_kind
            .split_once('.')
            .unwrap_or((qualified_kind, ""));
        ApiError::new(422, "Invalid", message).with_details(json!({
            "name": name,
            "group": group,
            "kind": kind,
            "causes": causes.iter().map(|(reason, field, msg)| json!({
                "reason": reason, "message": msg, "field": field
            })).collect::<Vec<_>>(),
        }))
    }

    pub fn body(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            status["details"] = (**d).clone();
        }
        if let Some(secs) = self.retry_after {
            status["details"]["retryAfterSeconds"] = json!(secs);
        }
        status
    }
}

fn details(name: &str, qualified_plural: &str) -> Value {
    let (kind, group) = qualified_plural
        .split_once('.')
        .unwrap_or((qualified_plural, ""));
    json!({"name": name, "group": group, "kind": kind})
}

/// The `Status` a successful delete of a collection or of some resources returns.
pub fn success(details: Value) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}
