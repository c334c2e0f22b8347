//! The HorizontalPodAutoscaler guard: prescale does not act on an object an HPA (or KEDA, through the HPA it makes) also scales.
//!
//! Two autoscalers writing one object's replicas fight: each undoes the other every few seconds. Before
//! acting, the actuator lists the `autoscaling/v2` HorizontalPodAutoscalers of the target's namespace
//! (`GET /apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers`) and refuses, with
//! [`KubeError::HpaConflict`] naming the HPA and why, when one's `scaleTargetRef` is the same
//! Deployment or StatefulSet. The list is kept per namespace for [`KubeOptions::hpa_cache`] so a
//! tick does not list every time; a failed list is not kept (the next actuation lists again), and it
//! fails the actuation: without the list prescale cannot know it is alone on the object.
//!
//! [`KubeOptions::hpa_cache`]: crate::KubeOptions::hpa_cache

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, ListParams};
use kube::Client;

use crate::error::KubeError;
use crate::target::KubeTarget;

/// The label KEDA puts on the HPA it creates for a ScaledObject (its value: the ScaledObject's name).
pub const KEDA_SCALED_OBJECT_LABEL: &str = "scaledobject.keda.sh/name";

/// What the guard keeps of one HorizontalPodAutoscaler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpaRef {
    pub namespace: String,
    pub name: String,
    /// `scaleTargetRef.apiVersion` (`apps/v1`), when given.
    pub target_api_version: Option<String>,
    /// `scaleTargetRef.kind` (`Deployment`, `StatefulSet`, ...).
    pub target_kind: String,
    /// `scaleTargetRef.name`.
    pub target_name: String,
    /// The KEDA ScaledObject that owns this HPA (label `scaledobject.keda.sh/name`), if any.
    pub keda_scaled_object: Option<String>,
}

impl HpaRef {
    /// Reads what the guard needs from a listed HPA; `None` without a name.
    pub fn from_hpa(namespace: &str, hpa: &HorizontalPodAutoscaler) -> Option<HpaRef> {
        let name = hpa.metadata.name.clone()?;
        let spec = hpa.spec.as_ref()?;
        Some(HpaRef {
            namespace: hpa
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| namespace.to_string()),
            name,
            target_api_version: spec.scale_target_ref.api_version.clone(),
            target_kind: spec.scale_target_ref.kind.clone(),
            target_name: spec.scale_target_ref.name.clone(),
            keda_scaled_object: hpa
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(KEDA_SCALED_OBJECT_LABEL).cloned()),
        })
    }

    /// Whether this HPA scales `target`: same namespace, same kind and name, and an `apps` API
    /// group (or none given).
    pub fn targets(&self, target: &KubeTarget) -> bool {
        let group_ok = self.target_api_version.as_deref().is_none_or(|v| {
            let group = v.split_once('/').map_or("", |(g, _)| g);
            group == "apps"
        });
        self.namespace == target.namespace
            && self.target_name == target.name
            && self.target_kind == target.kind.to_string()
            && group_ok
    }
}

impl fmt::Display for HpaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HorizontalPodAutoscaler {}/{}",
            self.namespace, self.name
        )?;
        if let Some(so) = &self.keda_scaled_object {
            write!(
                f,
                " (made by KEDA for ScaledObject {}/{so})",
                self.namespace
            )?;
        }
        Ok(())
    }
}

/// Why prescale refuses `target`, and what to do about it (the message of [`KubeError::HpaConflict`]).
pub(crate) fn conflict_message(target: &str, hpa: &HpaRef) -> String {
    let advice = if hpa.keda_scaled_object.is_some() {
        "KEDA scales this object: keep the workload forecast-only in prescale (KEDA reads its \
         prediction through the external scaler) or delete the ScaledObject"
    } else {
        "delete the HPA to let prescale scale it, or keep the workload forecast-only in prescale \
         and let an HPA/KEDA ScaledObject scale on prescale's prediction (KEDA external scaler)"
    };
    format!(
        "refused to act on {target}: {hpa} scales it too (scaleTargetRef {}/{}); two autoscalers \
         on one object undo each other's changes, so prescale leaves it alone; {advice}",
        hpa.target_kind, hpa.target_name
    )
}

#[derive(Debug)]
struct Listed {
    at: Instant,
    hpas: Vec<HpaRef>,
}

/// Lists HPAs per namespace, keeps each list for `ttl`, and refuses targets an HPA scales.
///
/// Cheap to clone: clones share the cache.
#[derive(Debug, Clone)]
pub struct HpaGuard {
    ttl: Duration,
    cache: Arc<Mutex<HashMap<String, Listed>>>,
}

impl HpaGuard {
    /// A guard keeping each namespace's list for `ttl` (zero: list before every actuation).
    pub fn new(ttl: Duration) -> Self {
        HpaGuard {
            ttl,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// How long a namespace's list is kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Forgets every kept list (the next check lists again).
    pub fn clear(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The HPAs of `namespace`, from the cache while fresh, else listed (and kept).
    pub async fn hpas(&self, client: &Client, namespace: &str) -> Result<Vec<HpaRef>, KubeError> {
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(l) = cache.get(namespace) {
                if l.at.elapsed() < self.ttl {
                    return Ok(l.hpas.clone());
                }
            }
        }
        let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), namespace);
        let list = api.list(&ListParams::default()).await.map_err(|e| {
            KubeError::from_kube(
                format!(
                    "list HorizontalPodAutoscalers in namespace {namespace} (to make sure none \
                     scales the target; RBAC must allow list on horizontalpodautoscalers.autoscaling)"
                ),
                e,
            )
        })?;
        let hpas: Vec<HpaRef> = list
            .items
            .iter()
            .filter_map(|h| HpaRef::from_hpa(namespace, h))
            .collect();
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                namespace.to_string(),
                Listed {
                    at: Instant::now(),
                    hpas: hpas.clone(),
                },
            );
        Ok(hpas)
    }

    /// The HPA that scales `target`, if one does.
    pub async fn conflict(
        &self,
        client: &Client,
        target: &KubeTarget,
    ) -> Result<Option<HpaRef>, KubeError> {
        Ok(self
            .hpas(client, &target.namespace)
            .await?
            .into_iter()
            .find(|h| h.targets(target)))
    }

    /// `Ok` when no HPA scales `target`; otherwise [`KubeError::HpaConflict`] naming it.
    pub async fn check(&self, client: &Client, target: &KubeTarget) -> Result<(), KubeError> {
        match self.conflict(client, target).await? {
            None => Ok(()),
            Some(hpa) => Err(KubeError::HpaConflict {
                target: format!("{}/{}/{}", target.kind, target.namespace, target.name),
                hpa: Box::new(hpa),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa(kind: &str, name: &str, api_version: Option<&str>) -> HpaRef {
        HpaRef {
            namespace: "shop".into(),
            name: "h".into(),
            target_api_version: api_version.map(String::from),
            target_kind: kind.into(),
            target_name: name.into(),
            keda_scaled_object: None,
        }
    }

    #[test]
    fn matches_kind_name_namespace_and_group() {
        let web = KubeTarget::deployment("shop", "web").with_container("app");
        assert!(hpa("Deployment", "web", Some("apps/v1")).targets(&web));
        assert!(hpa("Deployment", "web", None).targets(&web));
        assert!(!hpa("StatefulSet", "web", Some("apps/v1")).targets(&web));
        assert!(!hpa("Deployment", "api", Some("apps/v1")).targets(&web));
        assert!(!hpa("Deployment", "web", Some("example.com/v1")).targets(&web));
        let elsewhere = KubeTarget::deployment("other", "web");
        assert!(!hpa("Deployment", "web", Some("apps/v1")).targets(&elsewhere));
    }

    #[test]
    fn names_the_keda_scaled_object() {
        let mut h = hpa("Deployment", "web", None);
        assert_eq!(h.to_string(), "HorizontalPodAutoscaler shop/h");
        h.keda_scaled_object = Some("web-so".into());
        assert_eq!(
            h.to_string(),
            "HorizontalPodAutoscaler shop/h (made by KEDA for ScaledObject shop/web-so)"
        );
    }
}
