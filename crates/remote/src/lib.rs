//! Prometheus-compatible remote stores: back-fill via query_range, window reads, remote-write export.
