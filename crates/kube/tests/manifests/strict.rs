//! Strict decoding of manifests: each YAML document into its API type, encoded again, every field of
//! the original accounted for (k8s-openapi's types drop fields they do not know).

use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, Service, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use prescale_kube::PredictiveScaler;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schemas::{Kustomization, ScaledObject};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn deploy_dir() -> PathBuf {
    repo().join("deploy")
}

/// The image the manifests name: the Dockerfile's tag for this version.
pub fn image() -> String {
    format!("ghcr.io/prescale/prescale:{}", env!("CARGO_PKG_VERSION"))
}

/// One YAML document and where it came from.
#[derive(Debug, Clone)]
pub struct Doc {
    pub file: PathBuf,
    pub index: usize,
    pub value: Value,
}

impl Doc {
    pub fn at(&self) -> String {
        let file = self
            .file
            .strip_prefix(repo())
            .unwrap_or(&self.file)
            .display();
        format!(
            "{file} document {} ({} {})",
            self.index + 1,
            self.value["kind"].as_str().unwrap_or("?"),
            self.value["metadata"]["name"].as_str().unwrap_or("?")
        )
    }
}

/// The non-empty YAML documents of `file`.
pub fn documents(file: &Path) -> Vec<Doc> {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    serde_yaml::Deserializer::from_str(&text)
        .enumerate()
        .map(|(index, d)| Doc {
            file: file.to_path_buf(),
            index,
            value: Value::deserialize(d)
                .unwrap_or_else(|e| panic!("{} document {}: {e}", file.display(), index + 1)),
        })
        .filter(|d| !d.value.is_null())
        .collect()
}

/// Every field of `original` must be in `typed` with the same value; each one that is not is
/// described in `out` with its path. Fields only in `typed` (defaults) are fine; a null in the
/// original counts as absent.
pub fn covers(original: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (original, typed) {
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                let p = format!("{path}.{k}");
                match t.get(k) {
                    _ if v.is_null() => {}
                    None => out.push(format!("{p}: not a field of the API type")),
                    Some(tv) => covers(v, tv, &p, out),
                }
            }
        }
        (Value::Array(o), Value::Array(t)) if o.len() == t.len() => {
            for (i, (v, tv)) in o.iter().zip(t).enumerate() {
                covers(v, tv, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} reads back as {b}")),
    }
}

/// `doc` decoded into `T`, every one of its fields accounted for.
pub fn strict<T: DeserializeOwned + Serialize>(doc: &Doc) -> Result<T, String> {
    let typed: T = serde_json::from_value(doc.value.clone())
        .map_err(|e| format!("{}: does not decode: {e}", doc.at()))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("{}: {e}", doc.at()))?;
    let mut problems = Vec::new();
    covers(&doc.value, &back, "", &mut problems);
    if problems.is_empty() {
        Ok(typed)
    } else {
        Err(format!("{}: {}", doc.at(), problems.join("; ")))
    }
}

/// A document decoded into its type (for some kinds the decoding is the whole check).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, dead_code)]
pub enum Object {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    PersistentVolumeClaim(PersistentVolumeClaim),
    Deployment(Deployment),
    Service(Service),
    ClusterRole(ClusterRole),
    ClusterRoleBinding(ClusterRoleBinding),
    Role(Role),
    RoleBinding(RoleBinding),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    CustomResourceDefinition(CustomResourceDefinition),
    PredictiveScaler(PredictiveScaler),
    ScaledObject(ScaledObject),
    Kustomization(Kustomization),
}

/// Decodes `doc` strictly by its `apiVersion` and `kind`.
pub fn typed(doc: &Doc) -> Result<Object, String> {
    let api = doc.value["apiVersion"].as_str().unwrap_or("");
    let kind = doc.value["kind"].as_str().unwrap_or("");
    Ok(match (api, kind) {
        ("v1", "Namespace") => Object::Namespace(strict(doc)?),
        ("v1", "ServiceAccount") => Object::ServiceAccount(strict(doc)?),
        ("v1", "ConfigMap") => Object::ConfigMap(strict(doc)?),
        ("v1", "PersistentVolumeClaim") => Object::PersistentVolumeClaim(strict(doc)?),
        ("v1", "Service") => Object::Service(strict(doc)?),
        ("apps/v1", "Deployment") => Object::Deployment(strict(doc)?),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => Object::ClusterRole(strict(doc)?),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            Object::ClusterRoleBinding(strict(doc)?)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => Object::Role(strict(doc)?),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => Object::RoleBinding(strict(doc)?),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            Object::HorizontalPodAutoscaler(strict(doc)?)
        }
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
            Object::CustomResourceDefinition(strict(doc)?)
        }
        ("prescale.io/v1alpha1", "PredictiveScaler") => Object::PredictiveScaler(strict(doc)?),
        ("keda.sh/v1alpha1", "ScaledObject") => Object::ScaledObject(strict(doc)?),
        ("kustomize.config.k8s.io/v1beta1", "Kustomization") => Object::Kustomization(strict(doc)?),
        _ => {
            return Err(format!(
                "{}: {api:?} {kind:?} is not a kind this test knows; add its typed check",
                doc.at()
            ))
        }
    })
}

/// Every `.yaml`/`.yml` file under `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    out.sort();
    out
}
