//! Types, server and client generated at build time from KEDA's vendored `externalscaler.proto`.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("externalscaler");
