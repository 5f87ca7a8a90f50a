//! Rendered objects and the files they are grouped in.

use k8s_openapi::Resource;
use serde::Serialize;
use serde_json::Value;

/// One Kubernetes object, built from a typed `k8s-openapi` value and kept as JSON so every
/// output format (YAML files, a stream, JSON) shows the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    /// Absent for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
    pub body: Value,
}

impl Object {
    /// Serialises a typed object. `k8s-openapi` values always serialise; a failure would be a
    /// bug in that crate, kept as a `Null` body that `render` reports as an error.
    pub fn from_typed<T>(typed: &T, namespace: Option<&str>, name: &str) -> Object
    where
        T: Resource + Serialize,
    {
        Object {
            api_version: T::API_VERSION.to_string(),
            kind: T::KIND.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
            body: serde_json::to_value(typed).unwrap_or(Value::Null),
        }
    }

    /// Secrets carry values that must never reach stdout or logs.
    pub fn is_secret(&self) -> bool {
        self.kind == "Secret" && self.api_version == "v1"
    }

    /// `Kind/namespace/name` (or `Kind/name`), for messages.
    pub fn reference(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// The objects of one output file.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedFile {
    /// File name (`030-egov-user.yaml`); the numeric prefix is the apply order.
    pub name: String,
    /// The component the file belongs to; `None` for namespace-level and shared files.
    pub component: Option<String>,
    pub objects: Vec<Object>,
}

/// A Secret the rendered objects reference, with the keys they read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretUse {
    pub namespace: String,
    pub name: String,
    pub keys: Vec<String>,
    /// Components that read it, sorted.
    pub used_by: Vec<String>,
}
