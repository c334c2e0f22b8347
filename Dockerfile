# The prescale image the Kubernetes manifests name: ghcr.io/prescale/prescale:0.1.0
# (deploy/kustomize/base/deployment.yaml; a test keeps the two in step).
#
#   docker build -t ghcr.io/prescale/prescale:0.1.0 .
#
# Not built by this project's tests or CI: no container runtime runs on the machines it is built on
# (see deploy/README.md, "Image").
#
# Build: the workspace in Rust's Debian image (a C compiler for the bundled SQLite; no protoc, the
# KEDA protobufs are compiled in Rust). Run: distroless `cc` (glibc, CA certificates, no shell) as
# the non-root user 65532, the user the manifests run it as.

FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# docs/openapi.json is compiled into the daemon (GET /api/v1/openapi.json).
COPY docs ./docs
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p prescale-cli --bin prescale \
    && install -D -m 0755 target/release/prescale /out/prescale

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="prescale" \
      org.opencontainers.image.description="A predictive autoscaler: forecasts each workload's demand and scales ahead of it" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/prescale /usr/local/bin/prescale
USER 65532:65532
# HTTP API, dashboard, /metrics, remote-write; the KEDA external scaler (when [keda] listens).
EXPOSE 9464 9465
ENTRYPOINT ["/usr/local/bin/prescale"]
CMD ["run", "--config", "/etc/prescale/prescale.toml"]
