//! placeholder, replaced by the forecast stage.
