//! The Kubernetes actuator: replicas via the scale subresource, CPU/memory via pod-template patches, the PredictiveScaler resource.
