//! A KEDA external scaler: serves the predicted demand at the lead time over externalscaler.ExternalScaler gRPC.
