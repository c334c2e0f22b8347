//! placeholder, replaced by the store stage.
