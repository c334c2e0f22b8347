//! Runs the external scaler on a TCP address and hands back a handle to stop it.

use crate::error::KedaError;
use crate::prediction::PredictionSource;
use crate::scaler::{ExternalScalerService, ScalerOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

/// A running scaler server. Dropping it without [`ScalerServer::shutdown`] also stops it (without waiting).
#[derive(Debug)]
pub struct ScalerServer {
    local_addr: SocketAddr,
    service: ExternalScalerService,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

/// Binds `addr` (port 0 picks a free port), then serves `externalscaler.ExternalScaler` on a
/// spawned tokio task. Must be called inside a tokio runtime.
pub async fn serve(
    addr: SocketAddr,
    source: Arc<dyn PredictionSource>,
    opts: ScalerOptions,
) -> Result<ScalerServer, KedaError> {
    let service = ExternalScalerService::new(source, opts)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| KedaError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| KedaError::Bind { addr, source })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = tonic::transport::Server::builder().add_service(service.clone().into_server());
    let task = tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                // Either an explicit stop or a dropped handle ends the server.
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%local_addr, "KEDA external scaler listening");
    Ok(ScalerServer {
        local_addr,
        service,
        stop: Some(stop),
        task: Some(task),
    })
}

impl ScalerServer {
    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, ends open streams, waits for in-flight calls, and reports how the server ended.
    pub async fn shutdown(mut self) -> Result<(), KedaError> {
        self.service.close_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => Ok(task.await??),
            None => Ok(()),
        }
    }
}

impl Drop for ScalerServer {
    fn drop(&mut self) {
        self.service.close_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
