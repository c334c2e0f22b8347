//! The fake's `prescale.io/v1alpha1` `predictivescalers`: list (cluster-wide and per namespace), get one,
//! and merge-patch the `status` subresource; plus the fixture calls tests use to add, change and delete them.
//!
//! As on a real API server for a custom resource with a status subresource: a status patch changes only
//! `.status` (anything else in the body is ignored) and moves the resourceVersion but not the generation;
//! a spec change moves both. Custom resources do not support strategic merge, so a status patch must be
//! `application/merge-patch+json` (`application/json-patch+json` is not implemented here): anything else
//! answers 415.

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

use super::{merge, ok, status, FakeApi, Inner, Key};

const PLURAL: &str = "predictivescalers";
const API_VERSION: &str = "prescale.io/v1alpha1";

fn key(ns: &str, name: &str) -> Key {
    (PLURAL.into(), ns.into(), name.into())
}

fn not_found(name: &str) -> Response {
    status(
        404,
        "NotFound",
        format!("predictivescalers.prescale.io \"{name}\" not found"),
        Some(json!({ "name": name, "group": "prescale.io", "kind": PLURAL })),
    )
}

impl FakeApi {
    /// Adds (or replaces) scaler `ns/name` with `spec` as given (not validated: tests may add broken ones).
    pub fn add_scaler(&self, ns: &str, name: &str, spec: Value) {
        let mut g = self.inner.lock().unwrap();
        let rv = g.next_rv();
        let obj = json!({
            "apiVersion": API_VERSION, "kind": "PredictiveScaler",
            "metadata": {
                "name": name, "namespace": ns, "uid": format!("uid-psc-{ns}-{name}"),
                "resourceVersion": rv, "generation": 1,
                "creationTimestamp": "2024-01-01T00:00:00Z"
            },
            "spec": spec
        });
        g.objects.insert(key(ns, name), obj);
    }

    /// Replaces the spec of scaler `ns/name` (generation + 1); `false` when there is no such scaler.
    pub fn set_scaler_spec(&self, ns: &str, name: &str, spec: Value) -> bool {
        let mut g = self.inner.lock().unwrap();
        let rv = g.next_rv();
        let Some(obj) = g.objects.get_mut(&key(ns, name)) else {
            return false;
        };
        let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        obj["spec"] = spec;
        obj["metadata"]["generation"] = json!(generation);
        obj["metadata"]["resourceVersion"] = json!(rv);
        true
    }

    /// Deletes scaler `ns/name`; `false` when there was none.
    pub fn remove_scaler(&self, ns: &str, name: &str) -> bool {
        let mut g = self.inner.lock().unwrap();
        let removed = g.objects.remove(&key(ns, name)).is_some();
        if removed {
            g.next_rv();
        }
        removed
    }

    /// The whole stored scaler object.
    pub fn scaler(&self, ns: &str, name: &str) -> Option<Value> {
        self.object(PLURAL, ns, name)
    }
}

/// Answers the request when its path is a `predictivescalers` path; `None` otherwise.
pub(super) fn route(
    g: &mut Inner,
    method: &Method,
    segs: &[&str],
    content_type: Option<&str>,
    body: &[u8],
) -> Option<Response> {
    let (ns, name, sub) = match segs {
        ["apis", "prescale.io", "v1alpha1", PLURAL] => (None, None, None),
        ["apis", "prescale.io", "v1alpha1", "namespaces", ns, PLURAL] => (Some(*ns), None, None),
        ["apis", "prescale.io", "v1alpha1", "namespaces", ns, PLURAL, name] => {
            (Some(*ns), Some(*name), None)
        }
        ["apis", "prescale.io", "v1alpha1", "namespaces", ns, PLURAL, name, sub] => {
            (Some(*ns), Some(*name), Some(*sub))
        }
        _ => return None,
    };
    let Some(name) = name else {
        if method != Method::GET {
            return Some(status(
                405,
                "MethodNotAllowed",
                format!("{method} is not supported on this collection by this fake"),
                None,
            ));
        }
        let items: Vec<Value> = g
            .objects
            .iter()
            .filter(|((p, n, _), _)| p == PLURAL && ns.is_none_or(|ns| n == ns))
            .map(|(_, o)| o.clone())
            .collect();
        return Some(ok(&json!({
            "apiVersion": API_VERSION, "kind": "PredictiveScalerList",
            "metadata": { "resourceVersion": g.resource_version.to_string() },
            "items": items
        })));
    };
    let ns = ns.unwrap_or_default();
    if sub.is_some_and(|s| s != "status") {
        return Some(status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            Some(json!({})),
        ));
    }
    let k = key(ns, name);
    let Some(current) = g.objects.get(&k).cloned() else {
        return Some(not_found(name));
    };
    Some(match (method.clone(), sub) {
        (Method::GET, _) => ok(&current),
        (Method::PATCH, Some("status")) => {
            let media = content_type.map(|c| c.split(';').next().unwrap_or("").trim());
            if media != Some("application/merge-patch+json") {
                return Some(status(
                    415,
                    "UnsupportedMediaType",
                    format!("the body of the request was in an unknown format ({media:?}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
                    None,
                ));
            }
            let Ok(patch) = serde_json::from_slice::<Value>(body) else {
                return Some(status(
                    400,
                    "BadRequest",
                    "the request body is not valid JSON".into(),
                    None,
                ));
            };
            let mut next = current.clone();
            if let Some(s) = patch.get("status") {
                if s.is_null() {
                    if let Some(o) = next.as_object_mut() {
                        o.remove("status");
                    }
                } else {
                    if !next["status"].is_object() {
                        next["status"] = json!({});
                    }
                    merge(&mut next["status"], s, false, "status");
                }
            }
            if next != current {
                let rv = g.next_rv();
                next["metadata"]["resourceVersion"] = json!(rv);
                g.objects.insert(k, next.clone());
            }
            ok(&next)
        }
        (m, _) => status(
            405,
            "MethodNotAllowed",
            format!("{m} is not supported on predictivescalers by this fake"),
            None,
        ),
    })
}
