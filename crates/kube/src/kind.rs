//! `type = "kubernetes"` registered with prescale-actuate's `Registry` like any other actuator:
//! the target checked against the Kubernetes kinds, and a `KubeActuator` built per workload.

use prescale_actuate::{
    ActuateError, Actuator, ActuatorConfig, ActuatorKind, ConfigProblem, KubernetesTarget,
};
use prescale_core::WorkloadId;

use crate::error::KubeError;
use crate::options::KubeOptions;
use crate::sync_actuator::{to_actuate_error, KubeActuator};
use crate::target::{KubeTarget, WorkloadKind};

impl TryFrom<&KubernetesTarget> for KubeTarget {
    type Error = KubeError;

    fn try_from(t: &KubernetesTarget) -> Result<Self, KubeError> {
        Ok(KubeTarget {
            kind: t.kind.parse::<WorkloadKind>()?,
            namespace: t.namespace.clone(),
            name: t.name.clone(),
            container: t.container.clone(),
        })
    }
}

impl From<&KubeTarget> for KubernetesTarget {
    fn from(t: &KubeTarget) -> Self {
        KubernetesTarget {
            kind: t.kind.to_string(),
            namespace: t.namespace.clone(),
            name: t.name.clone(),
            container: t.container.clone(),
        }
    }
}

/// How the Kubernetes actuators connect: the API server (`None`: in-cluster, else `$KUBECONFIG`)
/// and the actuator options.
#[derive(Debug, Clone, Default)]
pub struct KubeKind {
    pub api_server: Option<String>,
    pub options: KubeOptions,
}

impl KubeKind {
    /// The target of a `kubernetes` config; `None` for another type.
    pub fn target(config: &ActuatorConfig) -> Option<Result<KubeTarget, KubeError>> {
        match config {
            ActuatorConfig::Kubernetes(t) => Some(KubeTarget::try_from(t)),
            _ => None,
        }
    }
}

impl ActuatorKind for KubeKind {
    fn type_name(&self) -> &'static str {
        "kubernetes"
    }

    fn check(&self, config: &ActuatorConfig, prefix: &str) -> Result<(), Vec<ConfigProblem>> {
        match KubeKind::target(config) {
            Some(Err(KubeError::InvalidTarget { why, .. })) => Err(vec![ConfigProblem {
                path: format!("{prefix}.kind"),
                message: why,
            }]),
            Some(Err(e)) => Err(vec![ConfigProblem {
                path: prefix.to_string(),
                message: e.to_string(),
            }]),
            Some(Ok(_)) => Ok(()),
            None => Err(vec![ConfigProblem {
                path: format!("{prefix}.type"),
                message: format!("{:?} is not kubernetes", config.type_name()),
            }]),
        }
    }

    fn build(
        &self,
        workload: &WorkloadId,
        config: &ActuatorConfig,
    ) -> Result<Box<dyn Actuator>, ActuateError> {
        let target = match KubeKind::target(config) {
            Some(Ok(t)) => t,
            Some(Err(e)) => return Err(to_actuate_error(config.type_name().to_string(), e)),
            None => {
                return Err(ActuateError::InvalidRequest(format!(
                    "{:?} is not kubernetes",
                    config.type_name()
                )))
            }
        };
        let mut k = match &self.api_server {
            Some(url) => {
                let uri = url.parse().map_err(|e| {
                    ActuateError::InvalidRequest(format!("kubernetes.api_server {url:?}: {e}"))
                })?;
                KubeActuator::new(kube::Config::new(uri), self.options.clone())
            }
            None => KubeActuator::infer(self.options.clone()),
        }
        .map_err(|e| to_actuate_error(target.to_string(), e))?;
        k.register(workload.clone(), target);
        Ok(Box::new(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_actuate::Registry;
    use std::sync::Arc;

    fn config(kind: &str) -> ActuatorConfig {
        ActuatorConfig::Kubernetes(KubernetesTarget {
            kind: kind.into(),
            name: "web".into(),
            namespace: "shop".into(),
            container: Some("app".into()),
        })
    }

    #[test]
    fn targets_convert_both_ways() {
        let t = KubeTarget::deployment("shop", "web").with_container("app");
        let c = KubernetesTarget::from(&t);
        assert_eq!(KubeTarget::try_from(&c).unwrap(), t);
        assert_eq!(
            KubeTarget::try_from(&KubernetesTarget {
                kind: "sts".into(),
                ..c
            })
            .unwrap()
            .kind,
            WorkloadKind::StatefulSet
        );
    }

    #[test]
    fn registered_kind_checks_the_workload_kind() {
        let mut r = Registry::builtin();
        r.register(Arc::new(KubeKind::default()));
        assert!(r
            .check(&config("Deployment"), "workload[0].actuator")
            .is_ok());
        let problems = r
            .check(&config("CronJob"), "workload[0].actuator")
            .unwrap_err();
        assert_eq!(problems[0].path, "workload[0].actuator.kind");
        assert!(problems[0].message.contains("Deployment or StatefulSet"));
    }
}
