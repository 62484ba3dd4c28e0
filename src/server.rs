//! The HTTP server: accepts connections, serves HTTP/1.1 with keep-alive,
//! hands every request to [`crate::front::handle`], and shuts down gracefully.
//!
//! The listener and the shutdown signal are injected (mini-redis style), so
//! tests run the whole server in-process on port 0. The lifecycle sweeper,
//! when the state asks for one, runs beside the connections and stops
//! with them.

use crate::front::{self, AppState};
use crate::lifecycle::Sweeper;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves connections from `listener` until `shutdown` completes, then stops
/// accepting, asks every connection to finish its in-flight request and
/// close, and waits for them up to `grace`.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    // Connections watch this to learn about shutdown.
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone of `done_tx`; when all are
    // dropped, `done_rx.recv()` returns `None`: the drain is complete.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    // The lifecycle sweeper runs beside the connections and stops with
    // them; in embedded and gateway mode alike, over the store.
    let sweeper = state.lifecycle.clone().map(|settings| {
        let sweeper = Sweeper::new(state.store.clone(), settings);
        tokio::spawn(sweeper.run(stop_rx.clone()))
    });
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Usually EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let mut stop = stop_rx.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            let service = service_fn(move |mut req: http::Request<_>| {
                req.extensions_mut().insert(crate::http::ClientAddr(peer));
                let state = state.clone();
                async move { Ok::<_, Infallible>(front::handle(state, req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = async { stop.wait_for(|s| *s).await.map(|_| ()) } => {
                    // Finish the request in flight (if any), then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(done);
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    let _ = stop_tx.send(true);
    drop(done_tx);
    if tokio::time::timeout(grace, done_rx.recv()).await.is_err() {
        tracing::warn!(?grace, "in-flight requests did not finish in time; closing");
    }
    if let Some(task) = sweeper {
        // It stops between two store calls as soon as it sees the signal.
        if tokio::time::timeout(grace, task).await.is_err() {
            tracing::warn!("the lifecycle sweeper did not stop in time");
        }
    }
}
