//! placeholder, replaced by the telemetry stage.
