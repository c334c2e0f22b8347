//! Every manifest under `deploy/` against the Kubernetes API types, unknown fields refused; and the
//! kustomize overlays rendered (resources and generated ConfigMaps, as `kubectl apply -k` would) and
//! checked for what must hold together: names that refer to each other, ports, probes, security
//! context, RBAC for every call the actuator makes, the KEDA example's address, the image.
//!
//! Strictness: k8s-openapi's types ignore fields they do not know, so each document is decoded into
//! its typed object, encoded again, and every field of the original must come back with its value
//! (a misspelt or misplaced field is dropped by the decode and reported with its path). Kinds that
//! k8s-openapi does not have — the kustomize `Kustomization` and KEDA's `ScaledObject` — are decoded
//! into mirrors of their schemas (`manifests/schemas.rs`) of their schemas with `deny_unknown_fields`; the `PredictiveScaler` into
//! prescale's own type. A kind the test does not know fails it. No API server is involved.

#[path = "manifests/render.rs"]
mod render;
#[path = "manifests/schemas.rs"]
mod schemas;
#[path = "manifests/strict.rs"]
mod strict;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Probe, Service};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use prescale_kube::PredictiveScaler;

use render::{objects, render, walk};
use strict::{deploy_dir, documents, image, repo, typed, yaml_files, Doc, Object};

#[test]
fn every_manifest_decodes_into_its_api_type_with_no_unknown_field() {
    let files = yaml_files(&deploy_dir());
    assert!(files.len() >= 10, "{files:?}");
    let mut problems = Vec::new();
    let mut kinds = BTreeSet::new();
    for file in &files {
        let docs = documents(file);
        if docs.is_empty() {
            problems.push(format!("{}: no document", file.display()));
        }
        for doc in docs {
            match typed(&doc) {
                Ok(_) => {
                    kinds.insert(doc.value["kind"].as_str().unwrap_or("").to_string());
                }
                Err(e) => problems.push(e),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for want in [
        "Namespace",
        "ServiceAccount",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "ClusterRole",
        "Role",
        "CustomResourceDefinition",
        "PredictiveScaler",
        "ScaledObject",
        "Kustomization",
    ] {
        assert!(kinds.contains(want), "no {want} under deploy/: {kinds:?}");
    }
}

/// The checker itself refuses what it must: a misspelt field, a field in the wrong place, a value of
/// the wrong type, a wrong kind, an unknown kind.
#[test]
fn the_strict_check_refuses_unknown_and_misplaced_fields() {
    let doc = |yaml: &str| Doc {
        file: PathBuf::from("inline.yaml"),
        index: 0,
        value: serde_yaml::from_str(yaml).unwrap(),
    };
    let base = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: i}]\n";
    assert!(typed(&doc(base)).is_ok());
    for (bad, want) in [
        (
            base.replace("containers:", "containerz:"),
            ".spec.template.spec.containerz: not a field",
        ),
        (
            base.replace(
                "[{name: c, image: i}]",
                "[{name: c, image: i, readyProbe: {}}]",
            ),
            ".spec.template.spec.containers[0].readyProbe",
        ),
        (
            base.replace(
                "selector:",
                "replicas: 1\n  seccompProfile: {type: RuntimeDefault}\n  selector:",
            ),
            ".spec.seccompProfile: not a field",
        ),
        (base.replace("name: x", "name: 7"), "does not decode"),
        (
            base.replace("kind: Deployment", "kind: Deploymen"),
            "not a kind",
        ),
        (
            base.replace("apiVersion: apps/v1", "apiVersion: apps/v1beta1"),
            "not a kind",
        ),
    ] {
        let e = typed(&doc(&bad))
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{bad}"));
        assert!(e.contains(want), "{want:?} missing from {e}");
    }
    let so = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: web}\n  triggers: [{type: external, metadata: {a: b}}]\n";
    assert!(typed(&doc(so)).is_ok());
    let e = typed(&doc(&so.replace("scaleTargetRef", "scaleTargetReference"))).unwrap_err();
    assert!(e.contains("scaleTargetReference"), "{e}");
    let k =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n";
    assert!(typed(&doc(k)).is_ok());
    assert!(typed(&doc(&k.replace("resources", "resource"))).is_err());
}

fn overlays() -> Vec<(&'static str, PathBuf)> {
    let dir = deploy_dir().join("kustomize/overlays");
    vec![
        ("cluster-wide", dir.join("cluster-wide")),
        ("namespaced", dir.join("namespaced")),
    ]
}

/// Whether `rules` grant `verb` on `group`/`resource`.
fn grants(rules: &[PolicyRule], group: &str, resource: &str, verb: &str) -> bool {
    rules.iter().any(|r| {
        let has = |list: &Option<Vec<String>>, v: &str| {
            list.as_ref()
                .is_some_and(|l| l.iter().any(|x| x == v || x == "*"))
        };
        has(&r.api_groups, group)
            && has(&r.resources, resource)
            && r.verbs.iter().any(|v| v == verb)
    })
}

/// Every call prescale makes: the actuator (scale, template patch, in-place resize, the HPA guard)
/// and the PredictiveScaler source (list, status patch).
const NEEDED: &[(&str, &str, &str)] = &[
    ("apps", "deployments/scale", "get"),
    ("apps", "deployments/scale", "patch"),
    ("apps", "statefulsets/scale", "get"),
    ("apps", "statefulsets/scale", "patch"),
    ("apps", "deployments", "get"),
    ("apps", "deployments", "patch"),
    ("apps", "statefulsets", "get"),
    ("apps", "statefulsets", "patch"),
    ("", "pods", "list"),
    ("", "pods/resize", "patch"),
    ("autoscaling", "horizontalpodautoscalers", "list"),
    ("prescale.io", "predictivescalers", "list"),
    ("prescale.io", "predictivescalers/status", "patch"),
];

fn probe_path_port(p: &Option<Probe>) -> Option<(String, IntOrString)> {
    let get = p.as_ref()?.http_get.as_ref()?;
    Some((get.path.clone().unwrap_or_default(), get.port.clone()))
}

fn port_named(c: &Container, port: &IntOrString) -> bool {
    c.ports.iter().flatten().any(|p| match port {
        IntOrString::String(name) => p.name.as_deref() == Some(name.as_str()),
        IntOrString::Int(n) => p.container_port == *n,
    })
}

/// The value of `key = "..."` in `[section]` of a TOML text (a plain scan: the daemon's own test
/// validates these files with its config reader).
fn toml_string(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            current = line.trim_matches(|c| c == '[' || c == ']').to_string();
        } else if current == section {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    None
}

#[test]
fn the_overlays_render_to_a_consistent_installation() {
    let mut used = BTreeSet::new();
    for (name, dir) in overlays() {
        let r = render(&dir);
        used.extend(r.files.iter().cloned());
        let objs = objects(&r);
        let find = |kind: &'static str| objs.iter().filter(move |(d, _)| d.value["kind"] == kind);

        // The Deployment: one, the image of the Dockerfile, hardened, probed, its references whole.
        let deployments: Vec<&Deployment> = find("Deployment")
            .map(|(_, o)| match o {
                Object::Deployment(d) => d,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(deployments.len(), 1, "{name}");
        let dep = deployments[0];
        let ns = dep.metadata.namespace.clone().expect("namespaced");
        let spec = dep.spec.as_ref().unwrap();
        assert_eq!(spec.replicas, Some(1), "{name}: one actuating copy");
        assert_eq!(
            spec.strategy.as_ref().and_then(|s| s.type_.as_deref()),
            Some("Recreate"),
            "{name}"
        );
        let pod_labels = spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .clone()
            .unwrap();
        for (k, v) in spec.selector.match_labels.as_ref().unwrap() {
            assert_eq!(pod_labels.get(k), Some(v), "{name}: selector {k}");
        }
        let pod = spec.template.spec.as_ref().unwrap();
        let sa = pod.service_account_name.clone().expect("a service account");
        assert!(
            find("ServiceAccount").any(|(d, _)| d.value["metadata"]["name"] == sa.as_str()
                && d.value["metadata"]["namespace"] == ns.as_str()),
            "{name}: ServiceAccount {ns}/{sa} missing"
        );
        let psc = pod.security_context.as_ref().expect("pod securityContext");
        assert_eq!(psc.run_as_non_root, Some(true), "{name}");
        assert_eq!(
            psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
            Some("RuntimeDefault"),
            "{name}: seccompProfile"
        );
        assert_eq!(pod.containers.len(), 1, "{name}");
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some(image().as_str()), "{name}");
        let csc = c
            .security_context
            .as_ref()
            .expect("container securityContext");
        assert_eq!(csc.allow_privilege_escalation, Some(false), "{name}");
        assert_eq!(csc.read_only_root_filesystem, Some(true), "{name}");
        assert_eq!(
            csc.capabilities.as_ref().and_then(|c| c.drop.clone()),
            Some(vec!["ALL".to_string()]),
            "{name}"
        );
        let (startup, startup_port) = probe_path_port(&c.startup_probe).expect("startupProbe");
        let (ready, ready_port) = probe_path_port(&c.readiness_probe).expect("readinessProbe");
        let (live, live_port) = probe_path_port(&c.liveness_probe).expect("livenessProbe");
        assert_eq!(
            (startup.as_str(), ready.as_str(), live.as_str()),
            ("/healthz", "/readyz", "/healthz"),
            "{name}: startup and liveness on /healthz, readiness on /readyz"
        );
        for port in [&startup_port, &ready_port, &live_port] {
            assert!(
                port_named(c, port),
                "{name}: probe port {port:?} not on the container"
            );
        }
        // Volumes: the generated config, the write-token Secret (made by hand), the store's PVC.
        let volumes: BTreeMap<String, _> = pod
            .volumes
            .iter()
            .flatten()
            .map(|v| (v.name.clone(), v))
            .collect();
        let mounts: BTreeMap<String, String> = c
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| (m.name.clone(), m.mount_path.clone()))
            .collect();
        for m in mounts.keys() {
            assert!(volumes.contains_key(m), "{name}: mount {m} has no volume");
        }
        let mut config_text = None;
        let mut data_mount = None;
        let mut secret_mount = None;
        for (vname, v) in &volumes {
            let mount = mounts
                .get(vname)
                .unwrap_or_else(|| panic!("{name}: volume {vname} unmounted"));
            if let Some(cm) = &v.config_map {
                let data = r
                    .config_maps
                    .get(&(ns.clone(), cm.name.clone()))
                    .unwrap_or_else(|| panic!("{name}: ConfigMap {ns}/{} not generated", cm.name));
                let arg = c
                    .args
                    .iter()
                    .flatten()
                    .skip_while(|a| *a != "--config")
                    .nth(1);
                let key = arg
                    .and_then(|a| a.strip_prefix(&format!("{mount}/")))
                    .unwrap_or_else(|| panic!("{name}: --config {arg:?} not under {mount}"));
                config_text = Some(
                    data.get(key)
                        .unwrap_or_else(|| panic!("{name}: no {key}"))
                        .clone(),
                );
            } else if let Some(pvc) = &v.persistent_volume_claim {
                assert!(
                    find("PersistentVolumeClaim").any(|(d, _)| d.value["metadata"]["name"]
                        == pvc.claim_name.as_str()
                        && d.value["metadata"]["namespace"] == ns.as_str()),
                    "{name}: PVC {ns}/{} missing",
                    pvc.claim_name
                );
                data_mount = Some(mount.clone());
            } else if let Some(s) = &v.secret {
                assert_eq!(
                    s.secret_name.as_deref(),
                    Some("prescale-write-auth"),
                    "{name}"
                );
                secret_mount = Some(mount.clone());
            } else {
                assert!(
                    v.empty_dir.is_some(),
                    "{name}: volume {vname} of an unexpected kind"
                );
            }
        }
        let config = config_text.expect("the config is mounted from a generated ConfigMap");
        let data_mount = data_mount.expect("the store is on a PersistentVolumeClaim");
        let secret_mount = secret_mount.expect("the write token is mounted");
        let db = toml_string(&config, "", "db").expect("db");
        assert!(
            db.starts_with(&format!("{data_mount}/")),
            "{name}: db {db} off the PVC"
        );
        let token = toml_string(&config, "remote_write.auth", "bearer_token_file").unwrap();
        assert!(
            token.starts_with(&format!("{secret_mount}/")),
            "{name}: {token}"
        );

        // The Service: selects the pod, its ports are the container's, KEDA's is the config's.
        let services: Vec<&Service> = find("Service")
            .map(|(_, o)| match o {
                Object::Service(s) => s,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(services.len(), 1, "{name}");
        let svc = services[0];
        let sspec = svc.spec.as_ref().unwrap();
        for (k, v) in sspec.selector.as_ref().unwrap() {
            assert_eq!(pod_labels.get(k), Some(v), "{name}: Service selector {k}");
        }
        let mut svc_ports = BTreeMap::new();
        for p in sspec.ports.iter().flatten() {
            let target = p.target_port.clone().unwrap_or(IntOrString::Int(p.port));
            assert!(
                port_named(c, &target),
                "{name}: Service port {p:?} not on the container"
            );
            svc_ports.insert(p.name.clone().unwrap_or_default(), p.port);
        }
        let http = toml_string(&config, "", "listen").unwrap();
        assert_eq!(http, format!("0.0.0.0:{}", svc_ports["http"]), "{name}");
        let keda = toml_string(&config, "keda", "listen").expect("[keda] listen");
        assert_eq!(keda, format!("0.0.0.0:{}", svc_ports["keda"]), "{name}");
        assert!(
            toml_string(&config, "source.promql", "query").is_some(),
            "{name}: a live telemetry source"
        );

        // RBAC: everything the daemon calls, bound to its ServiceAccount; the namespaced overlay
        // without any cluster-wide grant.
        let subject_is_sa = |subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>| {
            subjects.iter().flatten().any(|s| {
                s.kind == "ServiceAccount"
                    && s.name == sa
                    && s.namespace.as_deref() == Some(ns.as_str())
            })
        };
        let mut granted = Vec::new();
        for (d, o) in &objs {
            match o {
                Object::ClusterRole(role) => {
                    assert_eq!(name, "cluster-wide", "{}: a ClusterRole", d.at());
                    let bound = objs.iter().any(|(_, b)| {
                        matches!(b, Object::ClusterRoleBinding(b)
                        if b.role_ref.kind == "ClusterRole"
                            && Some(&b.role_ref.name) == role.metadata.name.as_ref()
                            && subject_is_sa(&b.subjects))
                    });
                    assert!(bound, "{}: not bound to {ns}/{sa}", d.at());
                    granted.push(("*".to_string(), role.rules.clone().unwrap_or_default()));
                }
                Object::Role(role) => {
                    let role_ns = role.metadata.namespace.clone().expect("a Role's namespace");
                    let bound = objs.iter().any(|(_, b)| {
                        matches!(b, Object::RoleBinding(b)
                        if b.role_ref.kind == "Role"
                            && Some(&b.role_ref.name) == role.metadata.name.as_ref()
                            && b.metadata.namespace.as_ref() == Some(&role_ns)
                            && subject_is_sa(&b.subjects))
                    });
                    assert!(bound, "{}: not bound to {ns}/{sa}", d.at());
                    granted.push((role_ns, role.rules.clone().unwrap_or_default()));
                }
                Object::ClusterRoleBinding(_) => {
                    assert_eq!(name, "cluster-wide", "{}", d.at())
                }
                _ => {}
            }
        }
        assert!(!granted.is_empty(), "{name}: no RBAC");
        for (scope, rules) in &granted {
            for (group, resource, verb) in NEEDED {
                assert!(
                    grants(rules, group, resource, verb),
                    "{name} ({scope}): must grant {verb} on {resource}.{group}"
                );
            }
            // Writes are patches of the objects prescale scales and of scaler status, nothing else.
            for rule in rules {
                for verb in &rule.verbs {
                    let write = !matches!(verb.as_str(), "get" | "list" | "watch");
                    let ok = [
                        "deployments",
                        "statefulsets",
                        "deployments/scale",
                        "statefulsets/scale",
                        "pods/resize",
                        "predictivescalers/status",
                    ];
                    assert!(
                        !write
                            || (verb == "patch"
                                && rule
                                    .resources
                                    .iter()
                                    .flatten()
                                    .all(|r| ok.contains(&r.as_str()))),
                        "{name} ({scope}): {verb} on {:?} is more than prescale needs",
                        rule.resources
                    );
                }
            }
        }
        let scaler_ns = toml_string(&config, "kubernetes", "scaler_namespace");
        match name {
            "cluster-wide" => {
                assert!(granted.iter().any(|(s, _)| s == "*"));
                assert_eq!(scaler_ns, None, "every namespace's scalers");
            }
            _ => {
                assert!(
                    granted.iter().all(|(s, _)| s != "*"),
                    "namespaced: no ClusterRole"
                );
                let scopes: Vec<&String> = granted.iter().map(|(s, _)| s).collect();
                let scaler_ns = scaler_ns.expect("namespaced: scaler_namespace set");
                assert!(
                    scopes.contains(&&scaler_ns),
                    "namespaced: scalers read from {scaler_ns}, Roles in {scopes:?}"
                );
            }
        }
    }
    // Every file under deploy/kustomize is part of an overlay.
    let kustomize = deploy_dir().join("kustomize");
    let all: BTreeSet<PathBuf> = walk(&kustomize).into_iter().collect();
    let used: BTreeSet<PathBuf> = used
        .into_iter()
        .map(|p| p.canonicalize().unwrap())
        .collect();
    let unused: Vec<_> = all.iter().filter(|p| !used.contains(*p)).collect();
    assert!(unused.is_empty(), "not part of any overlay: {unused:?}");
}

#[test]
fn the_keda_example_reaches_the_daemons_scaler_and_scales_the_example_target() {
    let docs = documents(&deploy_dir().join("keda/scaledobject.yaml"));
    assert_eq!(docs.len(), 1);
    let Object::ScaledObject(so) = typed(&docs[0]).unwrap() else {
        panic!("not a ScaledObject");
    };
    // The address is the base's Service, port `keda`.
    let base = render(&deploy_dir().join("kustomize/base"));
    let svc = base
        .docs
        .iter()
        .find(|d| d.value["kind"] == "Service")
        .expect("the Service");
    let Object::Service(svc) = typed(svc).unwrap() else {
        unreachable!()
    };
    let keda_port = svc
        .spec
        .unwrap()
        .ports
        .unwrap()
        .into_iter()
        .find(|p| p.name.as_deref() == Some("keda"))
        .expect("a keda port")
        .port;
    let address = format!(
        "{}.{}.svc:{keda_port}",
        svc.metadata.name.unwrap(),
        svc.metadata.namespace.unwrap()
    );
    assert_eq!(so.spec.triggers.len(), 1);
    let t = &so.spec.triggers[0];
    assert_eq!(t.type_, "external");
    assert_eq!(t.metadata["scalerAddress"], address);
    // The metadata prescale's scaler reads (crates/keda/src/query.rs): a workload, a metric, a
    // positive targetSize, a known quantile.
    let target_size: f64 = t.metadata["targetSize"].parse().unwrap();
    assert!(target_size > 0.0);
    assert!(["point", "upper"].contains(&t.metadata["quantile"].as_str()));
    // It scales the example PredictiveScaler's target, whose workload and metric it asks for.
    let scaler: PredictiveScaler = serde_yaml::from_str(
        &std::fs::read_to_string(deploy_dir().join("example-predictivescaler.yaml")).unwrap(),
    )
    .unwrap();
    let ns = scaler.metadata.namespace.clone().unwrap();
    assert_eq!(so.metadata.namespace.as_deref(), Some(ns.as_str()));
    assert_eq!(so.spec.scale_target_ref.name, scaler.spec.target_ref.name);
    assert_eq!(
        so.spec.scale_target_ref.kind.as_deref(),
        Some(scaler.spec.target_ref.kind.to_string().as_str())
    );
    assert_eq!(
        t.metadata["workload"],
        prescale_kube::workload_id(&ns, &scaler.spec)
            .unwrap()
            .to_string()
    );
    assert_eq!(t.metadata["metric"], scaler.spec.metrics[0].name);
    // KEDA acts there: the example scaler stays forecast-only (else prescale refuses: KEDA's HPA).
    assert_eq!(scaler.spec.mode, prescale_kube::ScalerMode::ForecastOnly);
}

#[test]
fn the_dockerfile_builds_the_image_the_manifests_name() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).expect("a Dockerfile");
    assert!(
        dockerfile.contains(&image()),
        "the Dockerfile names its image {}",
        image()
    );
    assert!(
        dockerfile.contains("--bin prescale"),
        "builds the prescale binary"
    );
    assert!(
        dockerfile.contains("USER 65532"),
        "runs as the manifests' user"
    );
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect("a .dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target"), "{ignore}");
}
