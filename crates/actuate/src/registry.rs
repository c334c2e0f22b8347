//! Actuators by their `type` tag: the built-in ones and any a binary registers (Kubernetes),
//! checked and built the same way.

use crate::{ActuateError, Actuator, ActuatorConfig, ConfigProblem};
use prescale_core::WorkloadId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One kind of actuator: checks a config of its `type` beyond what serde and
/// [`ActuatorConfig::validate_at`] check, and builds the actuator for a workload.
pub trait ActuatorKind: Send + Sync {
    /// The `type` tag it serves (as [`ActuatorConfig::type_name`] spells it).
    fn type_name(&self) -> &'static str;

    /// Problems of `config` that only this kind can see (paths under `prefix`); none by default.
    fn check(&self, config: &ActuatorConfig, prefix: &str) -> Result<(), Vec<ConfigProblem>> {
        let _ = (config, prefix);
        Ok(())
    }

    /// The actuator of `workload`; `config` is of this kind's type and already checked.
    fn build(
        &self,
        workload: &WorkloadId,
        config: &ActuatorConfig,
    ) -> Result<Box<dyn Actuator>, ActuateError>;
}

/// This crate's own actuators (dry-run, webhook, exec, process-pool).
struct Builtin(&'static str);

impl ActuatorKind for Builtin {
    fn type_name(&self) -> &'static str {
        self.0
    }

    fn build(
        &self,
        _workload: &WorkloadId,
        config: &ActuatorConfig,
    ) -> Result<Box<dyn Actuator>, ActuateError> {
        config.build()
    }
}

/// The kinds a binary can build, looked up by `type`.
#[derive(Clone)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Arc<dyn ActuatorKind>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds.keys()).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    /// dry-run, webhook, exec and process-pool.
    pub fn builtin() -> Registry {
        let mut r = Registry {
            kinds: BTreeMap::new(),
        };
        for name in ["dry-run", "webhook", "exec", "process-pool"] {
            r.register(Arc::new(Builtin(name)));
        }
        r
    }

    /// Adds `kind`, replacing one registered for the same type.
    pub fn register(&mut self, kind: Arc<dyn ActuatorKind>) -> &mut Self {
        self.kinds.insert(kind.type_name(), kind);
        self
    }

    /// The registered types, sorted.
    pub fn types(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
    }

    /// Every problem of `config` (paths under `prefix`): an unregistered type, the common checks,
    /// then its kind's own.
    pub fn check(&self, config: &ActuatorConfig, prefix: &str) -> Result<(), Vec<ConfigProblem>> {
        let name = config.type_name();
        let Some(kind) = self.kinds.get(name) else {
            let path = if prefix.is_empty() {
                "type".to_string()
            } else {
                format!("{prefix}.type")
            };
            return Err(vec![ConfigProblem {
                path,
                message: format!(
                    "no {name:?} actuator is registered in this program (registered: {})",
                    self.types().join(", ")
                ),
            }]);
        };
        config.validate_at(prefix)?;
        kind.check(config, prefix)
    }

    /// Checks `config` and builds the actuator of `workload` with its kind.
    pub fn build(
        &self,
        workload: &WorkloadId,
        config: &ActuatorConfig,
    ) -> Result<Box<dyn Actuator>, ActuateError> {
        self.check(config, "").map_err(ActuateError::Config)?;
        self.kinds[config.type_name()].build(workload, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActuationRequest, Applied, DesiredState, KubernetesTarget};

    /// A stand-in kind that records what it built, to test the lookup (not an actuator of its own).
    struct Counting(std::sync::Mutex<Vec<String>>);

    struct Nothing;
    impl Actuator for Nothing {
        fn apply(&mut self, _req: &ActuationRequest) -> Result<Applied, ActuateError> {
            Err(ActuateError::InvalidRequest("test kind".into()))
        }
        fn current(&mut self, _w: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
            Ok(None)
        }
        fn name(&self) -> &str {
            "nothing"
        }
    }

    impl ActuatorKind for Counting {
        fn type_name(&self) -> &'static str {
            "kubernetes"
        }
        fn check(&self, config: &ActuatorConfig, prefix: &str) -> Result<(), Vec<ConfigProblem>> {
            match config {
                ActuatorConfig::Kubernetes(k) if k.kind == "Deployment" => Ok(()),
                _ => Err(vec![ConfigProblem {
                    path: format!("{prefix}.kind"),
                    message: "not a Deployment".into(),
                }]),
            }
        }
        fn build(
            &self,
            workload: &WorkloadId,
            _config: &ActuatorConfig,
        ) -> Result<Box<dyn Actuator>, ActuateError> {
            self.0.lock().unwrap().push(workload.to_string());
            Ok(Box::new(Nothing))
        }
    }

    fn kube(kind: &str) -> ActuatorConfig {
        ActuatorConfig::Kubernetes(KubernetesTarget {
            kind: kind.into(),
            name: "api".into(),
            namespace: "shop".into(),
            container: None,
        })
    }

    #[test]
    fn an_unregistered_type_is_refused_by_name() {
        let r = Registry::builtin();
        let problems = r
            .check(&kube("Deployment"), "workload[0].actuator")
            .unwrap_err();
        assert_eq!(problems[0].path, "workload[0].actuator.type");
        assert!(
            problems[0].message.contains("\"kubernetes\""),
            "{problems:?}"
        );
        assert!(problems[0]
            .message
            .contains("dry-run, exec, process-pool, webhook"));
        assert!(matches!(
            r.build(&WorkloadId::new("w").unwrap(), &kube("Deployment")),
            Err(ActuateError::Config(_))
        ));
    }

    #[test]
    fn a_registered_kind_checks_and_builds_like_a_builtin() {
        let mut r = Registry::builtin();
        let counting = Arc::new(Counting(Default::default()));
        r.register(counting.clone());
        assert_eq!(
            r.types(),
            ["dry-run", "exec", "kubernetes", "process-pool", "webhook"]
        );
        let w = WorkloadId::new("shop/api").unwrap();
        assert_eq!(r.build(&w, &kube("Deployment")).unwrap().name(), "nothing");
        assert_eq!(*counting.0.lock().unwrap(), ["shop/api"]);
        let problems = r.check(&kube("CronJob"), "a").unwrap_err();
        assert_eq!(problems[0].path, "a.kind");
        // The common checks run before the kind's own.
        let mut empty = kube("Deployment");
        if let ActuatorConfig::Kubernetes(k) = &mut empty {
            k.name = " ".into();
        }
        assert_eq!(r.check(&empty, "a").unwrap_err()[0].path, "a.name");
        // Built-ins go through the same lookup.
        let dry = ActuatorConfig::DryRun(crate::DryRunConfig { capacity: 3 });
        assert_eq!(r.build(&w, &dry).unwrap().name(), "dry-run");
    }
}
