//! Rendering a kustomize directory as `kubectl apply -k` would: its resources (recursively) and its
//! generated ConfigMaps (before kustomize's name-hash suffix).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::schemas::Kustomization;
use super::strict::{documents, strict, typed, Doc, Object};

/// What `kubectl apply -k DIR` would apply: the resources' documents and the generated ConfigMaps
/// (by namespace and name, before kustomize's hash suffix), with the files every kustomization read.
#[derive(Debug, Default)]
pub struct Rendered {
    pub docs: Vec<Doc>,
    pub config_maps: BTreeMap<(String, String), BTreeMap<String, String>>,
    pub files: BTreeSet<PathBuf>,
}

pub fn kustomization(dir: &Path) -> Kustomization {
    let file = dir.join("kustomization.yaml");
    let docs = documents(&file);
    assert_eq!(docs.len(), 1, "{}", file.display());
    strict(&docs[0]).unwrap_or_else(|e| panic!("{e}"))
}

pub fn render(dir: &Path) -> Rendered {
    let k = kustomization(dir);
    assert_eq!(k.kind, "Kustomization");
    let mut out = Rendered::default();
    out.files.insert(dir.join("kustomization.yaml"));
    for r in &k.resources {
        let path = dir.join(r);
        if path.is_dir() {
            let inner = render(&path);
            out.docs.extend(inner.docs);
            out.files.extend(inner.files);
            for (key, data) in inner.config_maps {
                assert!(
                    out.config_maps.insert(key.clone(), data).is_none(),
                    "{key:?} twice"
                );
            }
        } else {
            assert!(path.is_file(), "{}: resource {r} missing", dir.display());
            out.docs.extend(documents(&path));
            out.files.insert(path);
        }
    }
    for g in &k.config_map_generator {
        let key = (g.namespace.clone().unwrap_or_default(), g.name.clone());
        let mut data = BTreeMap::new();
        for f in &g.files {
            let path = dir.join(f);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: generator file {f}: {e}", dir.display()));
            let name = Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            data.insert(name, text);
            out.files.insert(path);
        }
        match g.behavior.as_deref().unwrap_or("create") {
            "create" => assert!(
                out.config_maps.insert(key.clone(), data).is_none(),
                "{}: ConfigMap {key:?} generated twice",
                dir.display()
            ),
            "replace" => assert!(
                out.config_maps.insert(key.clone(), data).is_some(),
                "{}: replaces ConfigMap {key:?}, which the resources do not generate",
                dir.display()
            ),
            "merge" => out
                .config_maps
                .get_mut(&key)
                .unwrap_or_else(|| panic!("{}: merges into missing {key:?}", dir.display()))
                .extend(data),
            other => panic!("{}: unknown generator behavior {other:?}", dir.display()),
        }
    }
    out
}

/// The typed objects of a rendering, checked unique by (apiVersion, kind, namespace, name).
pub fn objects(r: &Rendered) -> Vec<(Doc, Object)> {
    let mut seen = BTreeSet::new();
    r.docs
        .iter()
        .map(|d| {
            let key = (
                d.value["apiVersion"].to_string(),
                d.value["kind"].to_string(),
                d.value["metadata"]["namespace"].to_string(),
                d.value["metadata"]["name"].to_string(),
            );
            assert!(seen.insert(key.clone()), "{} twice: {key:?}", d.at());
            (d.clone(), typed(d).unwrap_or_else(|e| panic!("{e}")))
        })
        .collect()
}

/// Every file under `dir`, canonical.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.canonicalize().unwrap());
        }
    }
    out
}
