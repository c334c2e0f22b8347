//! Actuators: set a workload's desired state (replicas, resources) through dry-run, webhook, exec or a local process pool.
