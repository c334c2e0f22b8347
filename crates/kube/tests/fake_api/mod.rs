//! An in-process FAKE Kubernetes API server for tests — not a real API server (none can run here).
//!
//! It speaks the real HTTP surface the actuator uses: `GET`/`PATCH /apis/apps/v1/namespaces/{ns}/
//! {deployments|statefulsets}/{name}[/scale]` (the scale subresource is an `autoscaling/v1` `Scale`),
//! `GET /api/v1/namespaces/{ns}/pods[?labelSelector=]`, `GET /api/v1/namespaces/{ns}/pods/{name}` and
//! `PATCH …/pods/{name}/resize`. PATCH bodies are checked against their `Content-Type`
//! (`application/merge-patch+json`, `application/strategic-merge-patch+json`, `application/apply-patch+yaml`
//! with a required `fieldManager`; anything else, JSON Patch included, answers 415). A `resourceVersion` in
//! a patch is a precondition (409 Conflict when stale); every effective change increments the
//! resourceVersion (and `metadata.generation` when the spec changed), no-op patches do not. Errors are
//! `metav1.Status` bodies (400, 404, 409, 415, 422 and injected 429/5xx). Strategic merge is implemented
//! for the name-keyed lists the actuator touches (`containers`, `initContainers`, `env`, `volumes`).
//! `prescale.io/v1alpha1` `predictivescalers` (list, get, status merge-patch) live in `scalers.rs`,
//! `autoscaling/v2` `horizontalpodautoscalers` (list, get) in `hpas.rs`.

#![allow(dead_code)]

mod hpas;
mod scalers;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    pub body: String,
}

type Key = (String, String, String); // (resource plural, namespace, name)

#[derive(Default)]
struct Inner {
    objects: BTreeMap<Key, Value>,
    resource_version: u64,
    /// Status codes to answer to the next requests, in order (any verb).
    faults: VecDeque<u16>,
    /// Number of upcoming PATCHes preceded by a simulated concurrent write (→ 409 on a preconditioned patch).
    concurrent_writes: usize,
    log: Vec<Recorded>,
}

impl Inner {
    fn next_rv(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }
}

type Shared = Arc<Mutex<Inner>>;

/// Handle to a running fake API server.
pub struct FakeApi {
    pub addr: SocketAddr,
    inner: Shared,
}

/// A container for fixtures: `(name, cpu request, memory request, cpu limit)`.
pub struct C<'a>(
    pub &'a str,
    pub Option<&'a str>,
    pub Option<&'a str>,
    pub Option<&'a str>,
);

fn container_json(c: &C<'_>) -> Value {
    let mut requests = Map::new();
    if let Some(cpu) = c.1 {
        requests.insert("cpu".into(), json!(cpu));
    }
    if let Some(mem) = c.2 {
        requests.insert("memory".into(), json!(mem));
    }
    let mut resources = json!({ "requests": requests });
    if let Some(limit) = c.3 {
        resources["limits"] = json!({ "cpu": limit });
    }
    json!({ "name": c.0, "image": "registry.example/app:1", "resources": resources })
}

impl FakeApi {
    /// Starts the server on 127.0.0.1:0 in a background thread with its own runtime.
    pub fn start() -> FakeApi {
        let inner: Shared = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        FakeApi { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube config pointing at the fake, with no authentication.
    pub fn config(&self) -> kube::Config {
        kube::Config::new(self.url().parse().unwrap())
    }

    fn insert(
        &self,
        plural: &str,
        kind: &str,
        ns: &str,
        name: &str,
        replicas: i64,
        containers: &[C<'_>],
    ) {
        let mut g = self.inner.lock().unwrap();
        let rv = g.next_rv();
        let obj = json!({
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {
                "name": name, "namespace": ns, "uid": format!("uid-{plural}-{ns}-{name}"),
                "resourceVersion": rv, "generation": 1, "labels": { "app": name }
            },
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": { "app": name } },
                "template": {
                    "metadata": { "labels": { "app": name } },
                    "spec": { "containers": containers.iter().map(container_json).collect::<Vec<_>>() }
                }
            },
            "status": { "replicas": replicas, "observedGeneration": 1 }
        });
        g.objects
            .insert((plural.into(), ns.into(), name.into()), obj);
    }

    pub fn add_deployment(&self, ns: &str, name: &str, replicas: i64, containers: &[C<'_>]) {
        self.insert("deployments", "Deployment", ns, name, replicas, containers);
    }

    pub fn add_statefulset(&self, ns: &str, name: &str, replicas: i64, containers: &[C<'_>]) {
        self.insert(
            "statefulsets",
            "StatefulSet",
            ns,
            name,
            replicas,
            containers,
        );
    }

    pub fn add_pod(&self, ns: &str, name: &str, app: &str, containers: &[C<'_>]) {
        let mut g = self.inner.lock().unwrap();
        let rv = g.next_rv();
        let obj = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": name, "namespace": ns, "resourceVersion": rv, "labels": { "app": app } },
            "spec": { "containers": containers.iter().map(container_json).collect::<Vec<_>>() },
            "status": { "phase": "Running" }
        });
        g.objects
            .insert(("pods".into(), ns.into(), name.into()), obj);
    }

    /// Sets `status.containerStatuses` of pod `ns/name` to one entry for `container`: its
    /// `restartCount` and, with `reason`, a `lastState.terminated` with that reason, finished at
    /// `finished_at` (RFC 3339).
    pub fn set_container_status(
        &self,
        ns: &str,
        name: &str,
        container: &str,
        restart_count: i64,
        reason: Option<(&str, &str)>,
    ) {
        let mut g = self.inner.lock().unwrap();
        let rv = g.next_rv();
        let pod = g
            .objects
            .get_mut(&("pods".to_string(), ns.to_string(), name.to_string()))
            .expect("no such pod");
        let last = reason.map_or(json!({}), |(reason, finished_at)| {
            json!({ "terminated": { "exitCode": 137, "reason": reason, "finishedAt": finished_at } })
        });
        pod["metadata"]["resourceVersion"] = json!(rv);
        pod["status"]["containerStatuses"] = json!([{
            "name": container, "ready": true, "restartCount": restart_count, "image": "app:1",
            "imageID": "", "lastState": last, "state": { "running": {} }
        }]);
    }

    pub fn object(&self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let g = self.inner.lock().unwrap();
        g.objects
            .get(&(plural.into(), ns.into(), name.into()))
            .cloned()
    }

    pub fn replicas(&self, plural: &str, ns: &str, name: &str) -> Option<i64> {
        self.object(plural, ns, name)?["spec"]["replicas"].as_i64()
    }

    /// The next `n` requests (any verb) answer `code` with a matching Status body.
    pub fn fail_next(&self, n: usize, code: u16) {
        let mut g = self.inner.lock().unwrap();
        g.faults.extend(std::iter::repeat_n(code, n));
    }

    /// Before each of the next `n` PATCHes, another writer changes the object (its resourceVersion moves).
    pub fn concurrent_write_before_next_patches(&self, n: usize) {
        self.inner.lock().unwrap().concurrent_writes = n;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().log.clone()
    }

    pub fn patches(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PATCH")
            .collect()
    }

    pub fn clear_log(&self) {
        self.inner.lock().unwrap().log.clear();
    }
}

fn status(code: u16, reason: &str, message: String, details: Option<Value>) -> Response {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    });
    if let Some(d) = details {
        body["details"] = d;
    }
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: &Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn injected(code: u16) -> Response {
    let (reason, message) = match code {
        409 => ("Conflict", "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again"),
        429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
        403 => ("Forbidden", "forbidden: injected"),
        503 => ("ServiceUnavailable", "the server is currently unable to handle the request"),
        504 => ("Timeout", "the server was unable to return a response in the time allotted"),
        _ => ("InternalError", "an error on the server (\"injected\") has prevented the request from succeeding"),
    };
    status(code, reason, message.to_string(), None)
}

fn group_of(plural: &str) -> &'static str {
    if plural == "pods" {
        ""
    } else {
        "apps"
    }
}

fn qualified(plural: &str) -> String {
    match group_of(plural) {
        "" => plural.to_string(),
        g => format!("{plural}.{g}"),
    }
}

fn not_found(plural: &str, name: &str) -> Response {
    status(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", qualified(plural)),
        Some(json!({ "name": name, "group": group_of(plural), "kind": plural })),
    )
}

/// RFC 7386 JSON merge patch, or a strategic merge when `strategic` (name-keyed lists merge by name).
fn merge(target: &mut Value, patch: &Value, strategic: bool, key: &str) {
    const NAME_KEYED: [&str; 4] = ["containers", "initContainers", "env", "volumes"];
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    let slot = t.entry(k.clone()).or_insert(Value::Null);
                    if !slot.is_object() && !slot.is_array() {
                        *slot = if v.is_object() {
                            json!({})
                        } else {
                            Value::Null
                        };
                    }
                    merge(slot, v, strategic, k);
                }
            }
        }
        (Value::Array(t), Value::Array(p)) if strategic && NAME_KEYED.contains(&key) => {
            for item in p {
                let name = item.get("name").cloned();
                match t
                    .iter_mut()
                    .find(|x| name.is_some() && x.get("name") == name.as_ref())
                {
                    Some(existing) => merge(existing, item, strategic, ""),
                    None => t.push(item.clone()),
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn strip_precondition(patch: &mut Value) -> Option<String> {
    let meta = patch.get_mut("metadata")?.as_object_mut()?;
    let rv = meta.remove("resourceVersion")?.as_str().map(String::from);
    if meta.is_empty() {
        patch.as_object_mut()?.remove("metadata");
    }
    rv
}

fn cpu_of(q: &Value) -> Option<f64> {
    prescale_kube::quantity::parse_quantity("cpu", q.as_str()?).ok()
}

/// The validation the actuator can trip: replicas ≥ 0, and requests ≤ limits per container.
fn validate(kind: &str, name: &str, obj: &Value, spec_path: &str) -> Option<Response> {
    let invalid = |field: String, value: String, why: &str| {
        Some(status(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {field}: Invalid value: {value}: {why}"),
            Some(
                json!({ "name": name, "kind": kind, "causes": [{ "reason": "FieldValueInvalid", "field": field }] }),
            ),
        ))
    };
    if let Some(r) = obj["spec"].get("replicas") {
        if r.as_i64().is_none_or(|r| r < 0) {
            return invalid(
                "spec.replicas".into(),
                r.to_string(),
                "must be greater than or equal to 0",
            );
        }
    }
    let containers = obj
        .pointer(spec_path)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, c) in containers.iter().enumerate() {
        let req = c.pointer("/resources/requests/cpu").and_then(cpu_of);
        let lim = c.pointer("/resources/limits/cpu").and_then(cpu_of);
        if let (Some(req), Some(lim)) = (req, lim) {
            if req > lim {
                let field = format!(
                    "{}[{i}].resources.requests",
                    spec_path.trim_start_matches('/').replace('/', ".")
                );
                return invalid(
                    field,
                    format!(
                        "\"{}\"",
                        c["resources"]["requests"]["cpu"].as_str().unwrap_or("")
                    ),
                    &format!(
                        "must be less than or equal to cpu limit of {}",
                        c["resources"]["limits"]["cpu"].as_str().unwrap_or("")
                    ),
                );
            }
        }
    }
    None
}

fn scale_of(obj: &Value) -> Value {
    let name = obj["metadata"]["name"].clone();
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {
            "name": name, "namespace": obj["metadata"]["namespace"], "uid": obj["metadata"]["uid"],
            "resourceVersion": obj["metadata"]["resourceVersion"]
        },
        "spec": { "replicas": obj["spec"]["replicas"] },
        "status": { "replicas": obj["status"]["replicas"], "selector": selector }
    })
}

enum PatchKind {
    Merge,
    Strategic,
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let query = uri.query().unwrap_or("").to_string();
    let mut g = state.lock().unwrap();
    g.log.push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: query.clone(),
        content_type: content_type.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    if let Some(code) = g.faults.pop_front() {
        return injected(code);
    }
    let segs: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    if let Some(r) = scalers::route(&mut g, &method, &segs, content_type.as_deref(), &body) {
        return r;
    }
    if let Some(r) = hpas::route(&mut g, &method, &segs) {
        return r;
    }
    let (plural, ns, name, sub) = match segs.as_slice() {
        ["apis", "apps", "v1", "namespaces", ns, plural @ ("deployments" | "statefulsets"), name] => {
            (*plural, *ns, Some(*name), None)
        }
        ["apis", "apps", "v1", "namespaces", ns, plural @ ("deployments" | "statefulsets"), name, "scale"] => {
            (*plural, *ns, Some(*name), Some("scale"))
        }
        ["api", "v1", "namespaces", ns, "pods"] => ("pods", *ns, None, None),
        ["api", "v1", "namespaces", ns, "pods", name] => ("pods", *ns, Some(*name), None),
        ["api", "v1", "namespaces", ns, "pods", name, "resize"] => {
            ("pods", *ns, Some(*name), Some("resize"))
        }
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource".into(),
                Some(json!({})),
            )
        }
    };
    let Some(name) = name else {
        // Pod list with an optional `labelSelector=k=v,k2=v2`.
        if method != Method::GET {
            return status(
                405,
                "MethodNotAllowed",
                format!("{method} is not supported on this collection"),
                None,
            );
        }
        let selector: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| kv.strip_prefix("labelSelector="))
            .flat_map(|s| {
                let decoded = s.replace("%3D", "=").replace("%2C", ",");
                decoded
                    .split(',')
                    .filter_map(|p| {
                        p.split_once('=')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let items: Vec<Value> = g
            .objects
            .iter()
            .filter(|((p, n, _), o)| {
                p == "pods"
                    && n == ns
                    && selector
                        .iter()
                        .all(|(k, v)| o["metadata"]["labels"][k].as_str() == Some(v))
            })
            .map(|(_, o)| o.clone())
            .collect();
        let rv = g.resource_version.to_string();
        return ok(
            &json!({ "apiVersion": "v1", "kind": "PodList", "metadata": { "resourceVersion": rv }, "items": items }),
        );
    };
    let key: Key = (plural.into(), ns.into(), name.into());
    if !g.objects.contains_key(&key) {
        return not_found(plural, name);
    }
    match method {
        Method::GET => {
            let obj = &g.objects[&key];
            ok(&if sub == Some("scale") {
                scale_of(obj)
            } else {
                obj.clone()
            })
        }
        Method::PATCH => {
            let kind = match content_type.as_deref().map(|c| c.split(';').next().unwrap_or("").trim()) {
                Some("application/merge-patch+json") => PatchKind::Merge,
                Some("application/strategic-merge-patch+json") => PatchKind::Strategic,
                Some("application/apply-patch+yaml") => {
                    if !query.contains("fieldManager=") {
                        return status(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into(), None);
                    }
                    PatchKind::Merge
                }
                other => {
                    return status(
                        415,
                        "UnsupportedMediaType",
                        format!("the body of the request was in an unknown format ({other:?}) - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"),
                        None,
                    )
                }
            };
            let Ok(mut patch) = serde_json::from_slice::<Value>(&body) else {
                return status(
                    400,
                    "BadRequest",
                    "the request body is not valid JSON".into(),
                    None,
                );
            };
            if g.concurrent_writes > 0 {
                g.concurrent_writes -= 1;
                let rv = g.next_rv();
                if let Some(o) = g.objects.get_mut(&key) {
                    o["metadata"]["resourceVersion"] = json!(rv);
                }
            }
            let precondition = strip_precondition(&mut patch);
            let current = g.objects[&key].clone();
            if let Some(rv) = precondition {
                if current["metadata"]["resourceVersion"].as_str() != Some(rv.as_str()) {
                    return status(
                        409,
                        "Conflict",
                        format!("Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", qualified(plural)),
                        Some(json!({ "name": name, "group": group_of(plural), "kind": plural })),
                    );
                }
            }
            let strategic = matches!(kind, PatchKind::Strategic);
            let mut next = current.clone();
            let kind_name = current["kind"].as_str().unwrap_or("").to_string();
            match sub {
                Some("scale") => {
                    let mut scale = scale_of(&current);
                    merge(&mut scale, &patch, strategic, "");
                    if let Some(r) = validate("Scale.autoscaling", name, &scale, "/none") {
                        return r;
                    }
                    next["spec"]["replicas"] = scale["spec"]["replicas"].clone();
                }
                Some("resize") => {
                    let allowed = patch
                        .as_object()
                        .is_some_and(|o| o.keys().all(|k| k == "spec"))
                        && patch["spec"]
                            .as_object()
                            .is_some_and(|o| o.keys().all(|k| k == "containers"));
                    if !allowed {
                        return status(422, "Invalid", format!("Pod \"{name}\" is invalid: spec: Forbidden: only cpu and memory resources are mutable via resize"), None);
                    }
                    merge(&mut next, &patch, strategic, "");
                    if let Some(r) = validate("Pod", name, &next, "/spec/containers") {
                        return r;
                    }
                }
                _ => {
                    merge(&mut next, &patch, strategic, "");
                    let path = if plural == "pods" {
                        "/spec/containers"
                    } else {
                        "/spec/template/spec/containers"
                    };
                    if let Some(r) = validate(
                        &format!("{kind_name}.{}", group_of(plural)),
                        name,
                        &next,
                        path,
                    ) {
                        return r;
                    }
                }
            }
            if next != current {
                let rv = g.next_rv();
                next["metadata"]["resourceVersion"] = json!(rv);
                if next["spec"] != current["spec"] {
                    let generation = current["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                    next["metadata"]["generation"] = json!(generation);
                }
                g.objects.insert(key, next.clone());
            }
            ok(&if sub == Some("scale") {
                scale_of(&next)
            } else {
                next
            })
        }
        _ => status(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported by this fake"),
            None,
        ),
    }
}
