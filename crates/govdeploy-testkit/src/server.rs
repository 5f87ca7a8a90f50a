//! The HTTP front: routing of Kubernetes REST paths, request decoding, fault injection, watch
//! streams, and the answers (objects, lists, Tables, Status bodies).

use crate::admission;
use crate::config::FaultKind;
use crate::controllers::{self, LogRequest};
use crate::discovery;
use crate::events;
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::ssa;
use crate::state::{ObjKey, State};
use crate::stats::ObjectRef;
use crate::status::{self, ApiError};
use crate::table;
use crate::util;
use crate::validate;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// Shared between connections, the controller loop and the handle.
pub struct Shared {
    pub state: Mutex<State>,
    pub changes: watch::Receiver<u64>,
    pub shutdown: watch::Receiver<bool>,
    pub address: String,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The error that makes hyper close the connection without an answer.
#[derive(Debug)]
pub struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn json_response(code: u16, body: &Value, warnings: &[String]) -> Response<Body> {
    json_response_typed(code, body, warnings, "application/json")
}

fn json_response_typed(
    code: u16,
    body: &Value,
    warnings: &[String],
    content_type: &str,
) -> Response<Body> {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("Content-Type", content_type)
        .header("Cache-Control", "no-cache, private");
    for w in warnings {
        b = b.header("Warning", format!("299 - {}", Value::String(w.clone())));
    }
    let text = serde_json::to_vec(body).unwrap_or_default();
    b.body(full(text))
        .unwrap_or_else(|_| Response::new(full("")))
}

fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(e.code, &e.body(), &[]);
    if let Some(secs) = e.retry_after
        && let Ok(v) = secs.to_string().parse()
    {
        r.headers_mut().insert("Retry-After", v);
    }
    r
}

fn text_response(code: u16, text: String) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
        .header("Content-Type", "text/plain")
        .body(full(text))
        .unwrap_or_else(|_| Response::new(full("")))
}

/// Query parameters of one request.
#[derive(Debug, Default)]
struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1" | "True"))
    }
    fn dry_run(&self) -> bool {
        self.0.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }
}

/// Where a resource request points.
#[derive(Debug, Clone)]
struct Target {
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

impl Target {
    /// The stored group: events.k8s.io events are a view of core events.
    fn key(&self, name: &str) -> ObjKey {
        let mut key = ObjKey::new(
            &self.rt,
            self.namespace.as_deref().unwrap_or_default(),
            name,
        );
        if self.rt.group == "events.k8s.io" {
            key.group = String::new();
        }
        key
    }
    fn stored_group(&self) -> &str {
        if self.rt.group == "events.k8s.io" {
            ""
        } else {
            &self.rt.group
        }
    }
    fn resource_label(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}/{s}", self.rt.qualified_plural()),
            None => self.rt.qualified_plural(),
        }
    }
}

fn parse_target(state: &State, segments: &[&str]) -> Result<Option<Target>, ApiError> {
    let (group, version, rest) = match segments {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Ok(None),
    };
    if rest.is_empty() {
        return Ok(None);
    }
    let find = |plural: &str| state.resource(group, version, plural);
    let (namespace, plural, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] if find(plural).is_some_and(|r| r.namespaced) => {
            (Some(ns.to_string()), *plural, tail)
        }
        [plural, tail @ ..] => (None, *plural, tail),
        [] => return Ok(None),
    };
    let rt = find(plural).ok_or_else(|| {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    })?;
    let (name, sub) = match tail {
        [] => (None, None),
        [name] => (Some(name.to_string()), None),
        [name, sub] => (Some(name.to_string()), Some(sub.to_string())),
        _ => {
            return Err(ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        }
    };
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    if let Some(s) = &sub
        && !rt.subresources().iter().any(|(n, _, _)| n == s)
    {
        return Err(ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    Ok(Some(Target {
        rt,
        namespace,
        name,
        sub,
    }))
}

fn verb_of(method: &Method, target: &Target, query: &Query, content_type: &str) -> &'static str {
    match *method {
        Method::GET if target.name.is_none() && query.flag("watch") => "watch",
        Method::GET if target.name.is_none() => "list",
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH if content_type.starts_with("application/apply-patch") => "apply",
        Method::PATCH => "patch",
        Method::DELETE if target.name.is_none() => "deletecollection",
        Method::DELETE => "delete",
        _ => "other",
    }
}

/// Picks the fault for this request, if any.
fn roll_fault(shared: &Shared, is_discovery: bool, is_write: bool) -> Option<FaultKind> {
    let mut st = shared.lock();
    let faults = st.config.faults.clone();
    if faults.rate <= 0.0 || faults.kinds.is_empty() || (is_discovery && faults.spare_discovery) {
        return None;
    }
    if st.fault_rng.next_f64() >= faults.rate {
        return None;
    }
    let eligible: Vec<&FaultKind> = faults
        .kinds
        .iter()
        .filter(|k| is_write || !matches!(k, FaultKind::Conflict))
        .collect();
    if eligible.is_empty() {
        return None;
    }
    let pick = (st.fault_rng.next_u64() % eligible.len() as u64) as usize;
    let kind = eligible[pick].clone();
    *st.stats.faults.entry(kind.label().to_string()).or_default() += 1;
    Some(kind)
}

pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = Query(util::parse_query(req.uri().query().unwrap_or_default()));
    let headers = req.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let accept = header("accept");
    let content_type = header("content-type");
    let user_agent = header("user-agent");

    if path.starts_with("/_sim/") {
        return Ok(sim_endpoint(&shared, &path));
    }
    let is_discovery = path == "/version"
        || path == "/api"
        || path == "/apis"
        || path.starts_with("/openapi")
        || path.split('/').filter(|s| !s.is_empty()).count() <= 3 && !path.contains("/namespaces");
    let is_write = !matches!(method, Method::GET | Method::HEAD);
    if let Some(fault) = roll_fault(&shared, is_discovery, is_write) {
        match fault {
            FaultKind::DropConnection => return Err(DropConnection),
            FaultKind::Latency(d) => tokio::time::sleep(d).await,
            FaultKind::InternalError => {
                return Ok(error_response(&ApiError::new(
                    500,
                    "InternalError",
                    "Internal error occurred: injected fault",
                )));
            }
            FaultKind::ServiceUnavailable => {
                let mut e = ApiError::new(
                    503,
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request",
                );
                e.retry_after = Some(1);
                return Ok(error_response(&e));
            }
            FaultKind::TooManyRequests { retry_after_secs } => {
                let mut e = ApiError::new(
                    429,
                    "TooManyRequests",
                    "the server has received too many requests and has asked us to try again later",
                );
                e.retry_after = Some(retry_after_secs);
                return Ok(error_response(&e));
            }
            FaultKind::Conflict => {
                let seg: Vec<&str> = path.split('/').collect();
                let name = seg.last().copied().unwrap_or_default();
                return Ok(error_response(&ApiError::conflict_modified(
                    "objects", name,
                )));
            }
        }
    }

    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(DropConnection),
    };
    Ok(route(
        &shared,
        &method,
        &path,
        &query,
        &accept,
        &content_type,
        &user_agent,
        &body,
    )
    .await)
}

fn sim_endpoint(shared: &Shared, path: &str) -> Response<Body> {
    let st = shared.lock();
    match path {
        "/_sim/stats" => json_response(200, &st.stats.to_json(), &[]),
        "/_sim/objects" => {
            let items: Vec<Value> = st.objects.values().cloned().collect();
            json_response(200, &json!({"items": items}), &[])
        }
        _ => error_response(&ApiError::not_found("simulator endpoints", path)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &Query,
    accept: &str,
    content_type: &str,
    user_agent: &str,
    body: &Bytes,
) -> Response<Body> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let count =
        |st: &mut State, what: &str| *st.stats.requests.entry(what.to_string()).or_default() += 1;
    match segments.as_slice() {
        ["version"] => {
            count(&mut shared.lock(), "get discovery");
            return json_response(200, &discovery::version(), &[]);
        }
        ["healthz" | "livez" | "readyz"] => return text_response(200, "ok".into()),
        ["openapi", ..] => {
            count(&mut shared.lock(), "get openapi");
            let st = shared.lock();
            return match crate::openapi::document(&st.registry, &segments[1..]) {
                Some(doc) => json_response(200, &doc, &[]),
                None => error_response(&ApiError::new(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                )),
            };
        }
        ["api"] | ["apis"] => {
            let mut st = shared.lock();
            count(&mut st, "get discovery");
            let core = segments[0] == "api";
            for (want, version) in [
                (discovery::AGGREGATED_V2, "apidiscovery.k8s.io/v2"),
                (discovery::AGGREGATED_V2BETA1, "apidiscovery.k8s.io/v2beta1"),
            ] {
                if accept_offers(accept, want) {
                    return json_response_typed(
                        200,
                        &discovery::aggregated(&st.registry, core, version),
                        &[],
                        want,
                    );
                }
            }
            let doc = if core {
                discovery::api_versions(&shared.address)
            } else {
                discovery::api_group_list(&st.registry)
            };
            return json_response(200, &doc, &[]);
        }
        ["api", version] | ["apis", _, version]
            if segments.len() == 2 && segments[0] == "api" || segments.len() == 3 =>
        {
            let mut st = shared.lock();
            count(&mut st, "get discovery");
            let group = if segments[0] == "api" {
                ""
            } else {
                segments[1]
            };
            return match discovery::resource_list(&st.registry, group, version) {
                Some(doc) => json_response(200, &doc, &[]),
                None => error_response(&ApiError::new(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                )),
            };
        }
        ["apis", group] => {
            let mut st = shared.lock();
            count(&mut st, "get discovery");
            return match discovery::api_group(&st.registry, group) {
                Some(doc) => json_response(200, &doc, &[]),
                None => error_response(&ApiError::new(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                )),
            };
        }
        _ => {}
    }
    let target = {
        let st = shared.lock();
        parse_target(&st, &segments)
    };
    let target = match target {
        Ok(Some(t)) => t,
        Ok(None) => {
            return error_response(&ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        }
        Err(e) => return error_response(&e),
    };
    let verb = verb_of(method, &target, query, content_type);
    if matches!(verb, "create" | "update") && content_type.contains("protobuf") {
        return error_response(&ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (the simulator does not decode protobuf)",
        ));
    }
    count(
        &mut shared.lock(),
        &format!("{verb} {}", target.resource_label()),
    );
    let manager = query
        .get("fieldManager")
        .map(str::to_string)
        .unwrap_or_else(|| {
            user_agent
                .split('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .to_string()
        });
    let result = match verb {
        "watch" => return watch(shared.clone(), target, query).await,
        "list" => list(shared, &target, query, accept),
        "get" => get(shared, &target, query, accept),
        "create" => create(shared, &target, query, body, &manager),
        "update" => update(shared, &target, query, body, &manager),
        "apply" => apply(shared, &target, query, body),
        "patch" => patch(shared, &target, query, body, content_type, &manager),
        "delete" => delete(shared, &target, query, body),
        "deletecollection" => delete_collection(shared, &target, query),
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    };
    match result {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

fn accept_offers(accept: &str, want: &str) -> bool {
    accept.split(',').any(|part| {
        let norm: String = part.chars().filter(|c| !c.is_whitespace()).collect();
        norm.split(";q=").next() == Some(want)
    })
}

fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

fn namespace_ready(st: &State, t: &Target) -> Result<(), ApiError> {
    if !t.rt.namespaced {
        return Ok(());
    }
    let ns = t.namespace.as_deref().unwrap_or("default");
    match st.get(&ObjKey::core("namespaces", "", ns)) {
        None => Err(ApiError::not_found("namespaces", ns)),
        Some(n) if n["metadata"]["deletionTimestamp"].is_string() => Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                t.rt.qualified_plural(),
                t.name.as_deref().unwrap_or_default()
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// How the object looks through the requested group/version.
fn present(t: &Target, obj: &Value) -> Value {
    if t.rt.group == "events.k8s.io" {
        return events::to_events_v1(obj);
    }
    let mut o = obj.clone();
    o["apiVersion"] = json!(t.rt.api_version());
    o
}

fn selectors(query: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

fn matching(st: &State, t: &Target, labels: &LabelSelector, fields: &FieldSelector) -> Vec<Value> {
    st.list(t.stored_group(), &t.rt.plural, t.namespace.as_deref())
        .map(|(_, o)| present(t, o))
        .filter(|o| labels.matches(&o["metadata"]["labels"]) && fields.matches(o))
        .collect()
}

fn list(
    shared: &Shared,
    t: &Target,
    query: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let (labels, fields) = selectors(query)?;
    let st = shared.lock();
    let items = matching(&st, t, &labels, &fields);
    let rv = st.rv.to_string();
    if wants_table(accept) {
        return Ok(json_response(
            200,
            &table::table(
                &t.rt.kind,
                &items,
                &rv,
                query.get("includeObject").unwrap_or("Metadata"),
            ),
            &[],
        ));
    }
    let list = json!({
        "kind": format!("{}List", t.rt.kind),
        "apiVersion": t.rt.api_version(),
        "metadata": {"resourceVersion": rv},
        "items": items,
    });
    Ok(json_response(200, &list, &[]))
}

fn get(
    shared: &Shared,
    t: &Target,
    query: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let name = t.name.clone().unwrap_or_default();
    let st = shared.lock();
    let obj = st
        .get(&t.key(&name))
        .ok_or_else(|| ApiError::not_found(&t.rt.qualified_plural(), &name))?;
    if t.sub.as_deref() == Some("log") {
        let req = LogRequest {
            container: query.get("container").map(str::to_string),
            previous: query.flag("previous"),
            tail_lines: query.get("tailLines").and_then(|n| n.parse().ok()),
            timestamps: query.flag("timestamps"),
        };
        return match controllers::pod_logs(&st, &t.key(&name), obj, &req) {
            Ok(text) => Ok(text_response(200, text)),
            Err(msg) => Err(ApiError::bad_request(msg)),
        };
    }
    if t.sub.as_deref() == Some("scale") {
        return Ok(json_response(200, &scale_of(obj), &[]));
    }
    let obj = present(t, obj);
    if wants_table(accept) {
        let rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        return Ok(json_response(
            200,
            &table::table(
                &t.rt.kind,
                &[obj],
                &rv,
                query.get("includeObject").unwrap_or("Metadata"),
            ),
            &[],
        ));
    }
    Ok(json_response(200, &obj, &[]))
}

fn scale_of(obj: &Value) -> Value {
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"], "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"], "creationTimestamp": obj["metadata"]["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"]},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": ""},
    })
}

fn parse_body(body: &Bytes, allow_yaml: bool) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            if allow_yaml {
                let text = std::str::from_utf8(body)
                    .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
                serde_saphyr::from_str::<Value>(text)
                    .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
            } else {
                Err(ApiError::bad_request(format!(
                    "the request body is not valid JSON: {json_err}"
                )))
            }
        }
    }
}

/// Applies `fieldValidation` to an incoming object: errors (Strict), warnings (Warn), or
/// silently pruned unknown fields (Ignore).
fn check_fields(
    t: &Target,
    query: &Query,
    obj: &mut Value,
    apply: bool,
) -> Result<Vec<String>, ApiError> {
    let directive = query.get("fieldValidation").unwrap_or("Warn");
    if !matches!(directive, "Strict" | "Warn" | "Ignore") {
        return Err(ApiError::bad_request(format!(
            "fieldValidation parameter unsupported: {directive}, valid values are: Ignore, Warn, Strict"
        )));
    }
    let check = validate::check(&t.rt.group, &t.rt.kind, obj);
    if let Some(e) = check.type_error {
        let msg = if apply {
            format!(
                "failed to create typed patch object ({}, Kind={}): {e}",
                t.rt.api_version(),
                t.rt.kind
            )
        } else {
            format!(
                "{} in version \"{}\" cannot be handled as a {}: {e}",
                t.rt.kind, t.rt.version, t.rt.kind
            )
        };
        return Err(ApiError::bad_request(msg));
    }
    if check.unknown.is_empty() {
        return Ok(Vec::new());
    }
    let messages: Vec<String> = if apply {
        check
            .unknown
            .iter()
            .map(|p| format!(".{p}: field not declared in schema"))
            .collect()
    } else {
        check
            .unknown
            .iter()
            .map(|p| format!("unknown field \"{p}\""))
            .collect()
    };
    match directive {
        "Strict" => {
            let msg = if apply {
                messages.join(", ")
            } else {
                format!(
                    "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                    t.rt.kind,
                    t.rt.version,
                    t.rt.kind,
                    messages.join(", ")
                )
            };
            Err(ApiError::bad_request(msg))
        }
        "Warn" => {
            validate::prune(obj, &check.unknown);
            Ok(messages)
        }
        _ => {
            validate::prune(obj, &check.unknown);
            Ok(Vec::new())
        }
    }
}

fn check_identity(t: &Target, obj: &Value, url_name: Option<&str>) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was not a JSON object",
        ));
    }
    if let Some(kind) = obj["kind"].as_str()
        && kind != t.rt.kind
        && !(t.rt.group == "events.k8s.io" && kind == "Event")
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the object ({kind}) does not match the resource of the request ({})",
            t.rt.kind
        )));
    }
    if let (Some(url), Some(body)) = (url_name, obj["metadata"]["name"].as_str())
        && url != body
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body}) does not match the name on the URL ({url})"
        )));
    }
    if let (Some(url_ns), Some(body_ns)) = (
        t.namespace.as_deref(),
        obj["metadata"]["namespace"].as_str(),
    ) && url_ns != body_ns
        && t.rt.namespaced
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// Stores a client write and counts it.
fn commit(st: &mut State, t: &Target, key: ObjKey, obj: Value) -> Value {
    let stored = st.put(key, obj);
    *st.stats
        .writes
        .entry(ObjectRef::of(&stored).key())
        .or_default() += 1;
    if t.rt.kind == "CustomResourceDefinition" {
        st.refresh_registry();
    }
    stored
}

fn into_storage(t: &Target, obj: Value) -> Value {
    if t.rt.group == "events.k8s.io" {
        events::from_events_v1(&obj)
    } else {
        obj
    }
}

fn storage_rt(st: &State, t: &Target) -> ResourceType {
    if t.rt.group == "events.k8s.io" {
        st.resource("", "v1", "events")
            .unwrap_or_else(|| t.rt.clone())
    } else {
        t.rt.clone()
    }
}

fn create(
    shared: &Shared,
    t: &Target,
    query: &Query,
    body: &Bytes,
    manager: &str,
) -> Result<Response<Body>, ApiError> {
    if t.name.is_some() {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let mut obj = parse_body(body, false)?;
    check_identity(t, &obj, None)?;
    let warnings = check_fields(t, query, &mut obj, false)?;
    let mut obj = into_storage(t, obj);
    if let Some(ns) = &t.namespace {
        obj["metadata"]["namespace"] = json!(ns);
    }
    let mut st = shared.lock();
    namespace_ready(&st, t)?;
    let rt = storage_rt(&st, t);
    admission::admit(&mut st, &rt, None, &mut obj, false)?;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let key = t.key(&name);
    if st.get(&key).is_some() {
        return Err(ApiError::already_exists(&t.rt.qualified_plural(), &name));
    }
    let now = st.now_string();
    ssa::record_update(None, &mut obj, manager, &t.rt.api_version(), &now);
    if query.dry_run() {
        st.stats.dry_runs += 1;
        return Ok(json_response(201, &present(t, &obj), &warnings));
    }
    let stored = commit(&mut st, t, key, obj);
    Ok(json_response(201, &present(t, &stored), &warnings))
}

#[allow(clippy::too_many_arguments)]
fn finish_write(
    st: &mut State,
    t: &Target,
    query: &Query,
    key: ObjKey,
    live: &Value,
    new: Value,
    warnings: &[String],
    created: bool,
) -> Response<Body> {
    let code = if created { 201 } else { 200 };
    if !created && ssa::without_times(&new) == ssa::without_times(live) {
        return json_response(200, &present(t, live), warnings);
    }
    if query.dry_run() {
        st.stats.dry_runs += 1;
        return json_response(code, &present(t, &new), warnings);
    }
    let stored = commit(st, t, key, new);
    json_response(code, &present(t, &stored), warnings)
}

fn update(
    shared: &Shared,
    t: &Target,
    query: &Query,
    body: &Bytes,
    manager: &str,
) -> Result<Response<Body>, ApiError> {
    let name = t.name.clone().ok_or_else(|| {
        ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )
    })?;
    if t.sub.as_deref().is_some_and(|s| s != "status") {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let mut obj = parse_body(body, false)?;
    check_identity(t, &obj, Some(&name))?;
    let warnings = check_fields(t, query, &mut obj, false)?;
    let mut obj = into_storage(t, obj);
    let mut st = shared.lock();
    let key = t.key(&name);
    let live = st
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&t.rt.qualified_plural(), &name))?;
    if let Some(rv) = obj["metadata"]["resourceVersion"].as_str()
        && !rv.is_empty()
        && Some(rv) != live["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict_modified(&t.rt.qualified_plural(), &name));
    }
    obj["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
    if let Some(ns) = &t.namespace {
        obj["metadata"]["namespace"] = json!(ns);
    }
    obj["metadata"]["name"] = json!(name);
    let status_write = t.sub.as_deref() == Some("status");
    if !status_write {
        obj["metadata"]["managedFields"] = live["metadata"]["managedFields"].clone();
    }
    let rt = storage_rt(&st, t);
    admission::admit(&mut st, &rt, Some(&live), &mut obj, status_write)?;
    if !status_write {
        let now = st.now_string();
        ssa::record_update(Some(&live), &mut obj, manager, &t.rt.api_version(), &now);
    }
    Ok(finish_write(
        &mut st, t, query, key, &live, obj, &warnings, false,
    ))
}

fn apply(
    shared: &Shared,
    t: &Target,
    query: &Query,
    body: &Bytes,
) -> Result<Response<Body>, ApiError> {
    let name = t.name.clone().ok_or_else(|| {
        ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )
    })?;
    let manager = query
        .get("fieldManager")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(
                "PatchOptions.meta.k8s.io",
                "",
                &[(
                    "FieldValueRequired".into(),
                    "fieldManager".into(),
                    "Required value: is required for apply patch".into(),
                )],
            )
        })?;
    let mut obj = parse_body(body, true)?;
    check_identity(t, &obj, Some(&name))?;
    if obj["apiVersion"].as_str().is_none_or(str::is_empty)
        || obj["kind"].as_str().is_none_or(str::is_empty)
    {
        return Err(ApiError::bad_request(
            "invalid object type: apiVersion and kind must be set in an applied configuration",
        ));
    }
    let warnings = check_fields(t, query, &mut obj, true)?;
    let obj = into_storage(t, obj);
    let force = query.flag("force");
    let mut st = shared.lock();
    let key = t.key(&name);
    let live = st.get(&key).cloned();
    if live.is_none() {
        namespace_ready(&st, t)?;
    }
    let now = st.now_string();
    let status_write = t.sub.as_deref() == Some("status");
    let mut applied = obj;
    applied["metadata"]["name"] = json!(name);
    if let Some(ns) = &t.namespace {
        applied["metadata"]["namespace"] = json!(ns);
    }
    let mut result = match ssa::apply(
        live.as_ref(),
        &applied,
        manager,
        &t.rt.api_version(),
        force,
        &now,
    ) {
        Ok(r) => r,
        Err(conflicts) => {
            return Err(ssa::conflict_error(
                &conflicts,
                &t.rt.qualified_plural(),
                &name,
            ));
        }
    };
    result["metadata"]["name"] = json!(name);
    if let Some(ns) = &t.namespace {
        result["metadata"]["namespace"] = json!(ns);
    }
    if status_write {
        result["status"] = applied["status"].clone();
    }
    let rt = storage_rt(&st, t);
    admission::admit(&mut st, &rt, live.as_ref(), &mut result, status_write)?;
    match live {
        Some(live) => Ok(finish_write(
            &mut st, t, query, key, &live, result, &warnings, false,
        )),
        None => Ok(finish_write(
            &mut st,
            t,
            query,
            key,
            &Value::Null,
            result,
            &warnings,
            true,
        )),
    }
}

fn patch(
    shared: &Shared,
    t: &Target,
    query: &Query,
    body: &Bytes,
    content_type: &str,
    manager: &str,
) -> Result<Response<Body>, ApiError> {
    let name = t.name.clone().ok_or_else(|| {
        ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )
    })?;
    let patch_body = parse_body(body, false)?;
    let st = shared.lock();
    let key = t.key(&name);
    let live = st
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&t.rt.qualified_plural(), &name))?;
    let mut obj = present(t, &live);
    let ct = content_type.split(';').next().unwrap_or_default().trim();
    match ct {
        "application/merge-patch+json" => crate::patch::merge_patch(&mut obj, &patch_body),
        "application/strategic-merge-patch+json" => {
            if !t.rt.group.is_empty()
                && !matches!(
                    t.rt.group.as_str(),
                    "apps"
                        | "batch"
                        | "networking.k8s.io"
                        | "policy"
                        | "autoscaling"
                        | "rbac.authorization.k8s.io"
                        | "coordination.k8s.io"
                        | "storage.k8s.io"
                        | "events.k8s.io"
                )
            {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                ));
            }
            crate::patch::strategic_merge_patch(&mut obj, &patch_body, "")
        }
        "application/json-patch+json" => crate::patch::json_patch(&mut obj, &patch_body)
            .map_err(|e| ApiError::new(422, "Invalid", e))?,
        other => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, got {other:?}"
                ),
            ));
        }
    }
    if let Some(rv) = patch_body["metadata"]["resourceVersion"].as_str()
        && Some(rv) != live["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict_modified(&t.rt.qualified_plural(), &name));
    }
    drop(st);
    let warnings = check_fields(t, query, &mut obj, false)?;
    let mut st = shared.lock();
    let mut obj = into_storage(t, obj);
    let status_write = t.sub.as_deref() == Some("status");
    let rt = storage_rt(&st, t);
    admission::admit(&mut st, &rt, Some(&live), &mut obj, status_write)?;
    if !status_write {
        let now = st.now_string();
        ssa::record_update(Some(&live), &mut obj, manager, &t.rt.api_version(), &now);
    }
    Ok(finish_write(
        &mut st, t, query, key, &live, obj, &warnings, false,
    ))
}

fn delete(
    shared: &Shared,
    t: &Target,
    query: &Query,
    body: &Bytes,
) -> Result<Response<Body>, ApiError> {
    let name = t.name.clone().unwrap_or_default();
    let options: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let policy = query
        .get("propagationPolicy")
        .map(str::to_string)
        .or_else(|| options["propagationPolicy"].as_str().map(str::to_string))
        .unwrap_or_else(|| "Background".to_string());
    let dry_run = query.dry_run()
        || options["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == "All"));
    let mut st = shared.lock();
    let key = t.key(&name);
    let live = st
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&t.rt.qualified_plural(), &name))?;
    if dry_run {
        st.stats.dry_runs += 1;
        return Ok(json_response(200, &present(t, &live), &[]));
    }
    let deleted = delete_object(&mut st, &key, &live, &policy);
    *st.stats
        .writes
        .entry(ObjectRef::of(&live).key())
        .or_default() += 1;
    if t.rt.kind == "CustomResourceDefinition" {
        st.refresh_registry();
    }
    Ok(json_response(200, &present(t, &deleted), &[]))
}

/// Deletes one object with a propagation policy; finalizers and namespaces defer the removal.
fn delete_object(st: &mut State, key: &ObjKey, live: &Value, policy: &str) -> Value {
    let uid = live["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match policy {
        "Orphan" => {
            let dependents: Vec<(ObjKey, Value)> = st
                .objects
                .iter()
                .filter(|(_, o)| controllers_owned_by(o, &uid))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (k, mut o) in dependents {
                if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"] != uid.as_str());
                }
                st.put(k, o);
            }
        }
        "Foreground" => {
            let dependents: Vec<(ObjKey, Value)> = st
                .objects
                .iter()
                .filter(|(_, o)| controllers_owned_by(o, &uid))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (k, o) in dependents {
                delete_object(st, &k, &o, "Foreground");
            }
        }
        _ => {}
    }
    let has_finalizers = live["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if key.plural == "namespaces" && key.group.is_empty() || has_finalizers {
        let mut marked = live.clone();
        if !marked["metadata"]["deletionTimestamp"].is_string() {
            marked["metadata"]["deletionTimestamp"] = json!(st.now_string());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if key.plural == "namespaces" {
                marked["status"]["phase"] = json!("Terminating");
            }
            return st.put(key.clone(), marked);
        }
        return marked;
    }
    st.remove(key).unwrap_or_else(|| live.clone())
}

fn controllers_owned_by(o: &Value, uid: &str) -> bool {
    o["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
}

fn delete_collection(
    shared: &Shared,
    t: &Target,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (labels, fields) = selectors(query)?;
    let mut st = shared.lock();
    let victims: Vec<(ObjKey, Value)> = st
        .list(t.stored_group(), &t.rt.plural, t.namespace.as_deref())
        .filter(|(_, o)| labels.matches(&o["metadata"]["labels"]) && fields.matches(o))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !query.dry_run() {
        let policy = query
            .get("propagationPolicy")
            .unwrap_or("Background")
            .to_string();
        for (k, o) in &victims {
            delete_object(&mut st, k, o, &policy);
            *st.stats.writes.entry(ObjectRef::of(o).key()).or_default() += 1;
        }
    }
    Ok(json_response(
        200,
        &status::success(json!({"kind": t.rt.plural, "group": t.rt.group})),
        &[],
    ))
}

/// A watch stream: newline-delimited `{"type": ..., "object": ...}` events.
async fn watch(shared: Arc<Shared>, t: Target, query: &Query) -> Response<Body> {
    let (labels, fields) = match selectors(query) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    let since: Option<u64> = query
        .get("resourceVersion")
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok());
    let send_initial = query.flag("sendInitialEvents") || since.is_none_or(|rv| rv == 0);
    let bookmarks = query.flag("allowWatchBookmarks");
    let timeout = Duration::from_secs(
        query
            .get("timeoutSeconds")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1800)
            .min(3600),
    );
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(256);

    let (initial, mut cursor, gone) = {
        let st = shared.lock();
        let gone = since.is_some_and(|rv| rv != 0 && rv < st.compacted_rv);
        let initial = if send_initial {
            matching(&st, &t, &labels, &fields)
        } else {
            Vec::new()
        };
        (
            initial,
            if send_initial {
                st.rv
            } else {
                since.unwrap_or(st.rv)
            },
            gone,
        )
    };
    let line = |kind: &str, object: &Value| -> Bytes {
        let mut text =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        text.push(b'\n');
        Bytes::from(text)
    };
    let mut changes = shared.changes.clone();
    let mut shutdown = shared.shutdown.clone();
    let api_version = t.rt.api_version();
    let kind = t.rt.kind.clone();
    let send_initial_end = query.flag("sendInitialEvents");
    tokio::spawn(async move {
        if gone {
            let status = ApiError::new(410, "Expired", "too old resource version").body();
            let _ = tx.send(Ok(Frame::data(line("ERROR", &status)))).await;
            return;
        }
        for obj in &initial {
            if tx.send(Ok(Frame::data(line("ADDED", obj)))).await.is_err() {
                return;
            }
        }
        if send_initial_end {
            let mark = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": cursor.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
            if tx
                .send(Ok(Frame::data(line("BOOKMARK", &mark))))
                .await
                .is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let batch: Vec<Bytes> = {
                let st = shared.lock();
                // The history is in resourceVersion order: start after the cursor instead of
                // scanning all of it on every change.
                let first = st.history.partition_point(|r| r.rv <= cursor);
                let records: Vec<Bytes> = st
                    .history
                    .range(first..)
                    .filter(|r| {
                        r.key.group == t.stored_group()
                            && r.key.plural == t.rt.plural
                            && t.namespace
                                .as_deref()
                                .is_none_or(|ns| r.key.namespace == ns)
                    })
                    .filter_map(|r| {
                        let obj = present(&t, &r.object);
                        (labels.matches(&obj["metadata"]["labels"]) && fields.matches(&obj))
                            .then(|| line(r.event.as_str(), &obj))
                    })
                    .collect();
                cursor = st.rv;
                records
            };
            for b in batch {
                if tx.send(Ok(Frame::data(b))).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep_until(deadline) => return,
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)), if bookmarks => {
                    let mark = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": cursor.to_string()}});
                    if tx.send(Ok(Frame::data(line("BOOKMARK", &mark)))).await.is_err() {
                        return;
                    }
                }
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .header("Transfer-Encoding", "chunked")
        .body(StreamBody::new(stream).boxed_unsync())
        .unwrap_or_else(|_| Response::new(full("")))
}
