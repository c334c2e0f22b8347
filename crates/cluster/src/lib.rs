//! placeholder, replaced by the cluster stage.
