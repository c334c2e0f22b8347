//! placeholder, replaced by the fingerprint stage.
