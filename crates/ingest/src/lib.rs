//! Live telemetry decoding: Prometheus exposition text, remote-write payloads, and sample admission.
