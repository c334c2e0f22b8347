//! The fake's `autoscaling/v2` `horizontalpodautoscalers`: list (per namespace and cluster-wide) and get
//! one, read-only as prescale uses them; plus fixture calls to add HPAs (plain, or made by KEDA for a
//! ScaledObject, with KEDA's label and name) and delete them.

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

use super::{ok, status, FakeApi, Inner, Key};

const PLURAL: &str = "horizontalpodautoscalers";
const API_VERSION: &str = "autoscaling/v2";

fn key(ns: &str, name: &str) -> Key {
    (PLURAL.into(), ns.into(), name.into())
}

impl FakeApi {
    /// Adds HPA `ns/name` scaling `kind`/`target` (an `apps/v1` object) on 80 % CPU, 1–10 replicas.
    pub fn add_hpa(&self, ns: &str, name: &str, kind: &str, target: &str) {
        self.insert_hpa(ns, name, kind, target, json!({}));
    }

    /// Adds the HPA KEDA makes for ScaledObject `ns/scaled_object` (named `keda-hpa-{scaled_object}`,
    /// labelled `scaledobject.keda.sh/name`), scaling `kind`/`target`; returns the HPA's name.
    pub fn add_keda_hpa(&self, ns: &str, scaled_object: &str, kind: &str, target: &str) -> String {
        let name = format!("keda-hpa-{scaled_object}");
        self.insert_hpa(
            ns,
            &name,
            kind,
            target,
            json!({ "scaledobject.keda.sh/name": scaled_object, "app.kubernetes.io/managed-by": "keda-operator" }),
        );
        name
    }

    fn insert_hpa(&self, ns: &str, name: &str, kind: &str, target: &str, labels: Value) {
        let mut g = self.inner.lock().unwrap();
        let rv = g.next_rv();
        let obj = json!({
            "apiVersion": API_VERSION, "kind": "HorizontalPodAutoscaler",
            "metadata": {
                "name": name, "namespace": ns, "uid": format!("uid-hpa-{ns}-{name}"),
                "resourceVersion": rv, "labels": labels,
                "creationTimestamp": "2024-01-01T00:00:00Z"
            },
            "spec": {
                "scaleTargetRef": { "apiVersion": "apps/v1", "kind": kind, "name": target },
                "minReplicas": 1, "maxReplicas": 10,
                "metrics": [{ "type": "Resource", "resource": { "name": "cpu",
                    "target": { "type": "Utilization", "averageUtilization": 80 } } }]
            },
            "status": { "currentReplicas": 1, "desiredReplicas": 1 }
        });
        g.objects.insert(key(ns, name), obj);
    }

    /// Deletes HPA `ns/name`; `false` when there was none.
    pub fn remove_hpa(&self, ns: &str, name: &str) -> bool {
        let mut g = self.inner.lock().unwrap();
        let removed = g.objects.remove(&key(ns, name)).is_some();
        if removed {
            g.next_rv();
        }
        removed
    }

    /// How many HPA list requests the fake has answered (or failed) since the log was last cleared.
    pub fn hpa_lists(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(&format!("/{PLURAL}")))
            .count()
    }
}

/// Answers the request when its path is a `horizontalpodautoscalers` path; `None` otherwise.
pub(super) fn route(g: &mut Inner, method: &Method, segs: &[&str]) -> Option<Response> {
    let (ns, name) = match segs {
        ["apis", "autoscaling", "v2", PLURAL] => (None, None),
        ["apis", "autoscaling", "v2", "namespaces", ns, PLURAL] => (Some(*ns), None),
        ["apis", "autoscaling", "v2", "namespaces", ns, PLURAL, name] => (Some(*ns), Some(*name)),
        _ => return None,
    };
    if method != Method::GET {
        return Some(status(
            405,
            "MethodNotAllowed",
            format!("{method} on horizontalpodautoscalers is not supported by this fake"),
            None,
        ));
    }
    let Some(name) = name else {
        let items: Vec<Value> = g
            .objects
            .iter()
            .filter(|((p, n, _), _)| p == PLURAL && ns.is_none_or(|ns| n == ns))
            .map(|(_, o)| o.clone())
            .collect();
        return Some(ok(&json!({
            "apiVersion": API_VERSION, "kind": "HorizontalPodAutoscalerList",
            "metadata": { "resourceVersion": g.resource_version.to_string() },
            "items": items
        })));
    };
    let ns = ns.unwrap_or_default();
    Some(match g.objects.get(&key(ns, name)) {
        Some(o) => ok(o),
        None => status(
            404,
            "NotFound",
            format!("horizontalpodautoscalers.autoscaling \"{name}\" not found"),
            Some(json!({ "name": name, "group": "autoscaling", "kind": PLURAL })),
        ),
    })
}
