//! The HTTP server: accepts connections, serves HTTP/1.1 with keep-alive,
//! hands every request to [`crate::front::handle`], and shuts down gracefully.
//!
//! Slow and idle clients are bounded by [`ConnectionOptions`] (`[http]` in
//! the config file): a request head must arrive within the header-read
//! timeout (hyper starts that timer whenever the connection waits for a
//! head, so it also closes idle keep-alive connections), and at most
//! `max_connections` are served at once. One more is answered 503
//! `SlowDown` and closed, rather than left in the listen backlog where a
//! client cannot tell a full server from a dead one.
//!
//! The listener and the shutdown signal are injected (mini-redis style), so
//! tests run the whole server in-process on port 0. The lifecycle sweeper,
//! when the state asks for one, runs beside the connections and stops
//! with them.

use crate::config::ConnectionOptions;
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
use tokio::sync::{mpsc, watch, Semaphore};

/// How long a refused connection (over `max_connections`) may take to send
/// its request head and read the 503, in all.
const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// Refused connections answered at once; under a flood beyond that, more
/// are closed without an answer, so refusing costs little.
const MAX_REFUSALS: usize = 64;

/// Serves connections from `listener` until `shutdown` completes, then stops
/// accepting, asks every connection to finish its in-flight request and
/// close, and waits for them up to `options.grace`.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
    options: ConnectionOptions,
) {
    let grace = options.grace;
    let slots =
        (options.max_connections > 0).then(|| Arc::new(Semaphore::new(options.max_connections)));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
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
        let slot = match &slots {
            None => None,
            Some(slots) => match slots.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    state.metrics.connections_refused.inc();
                    if let Ok(permit) = refusals.clone().try_acquire_owned() {
                        tokio::spawn(refuse(stream, permit));
                    }
                    continue;
                }
            },
        };
        let state = state.clone();
        let mut stop = stop_rx.clone();
        let done = done_tx.clone();
        let header_read_timeout = options.header_read_timeout;
        let metrics = state.metrics.clone();
        tokio::spawn(async move {
            metrics.connections_open.inc();
            let service = service_fn(move |mut req: http::Request<_>| {
                req.extensions_mut().insert(crate::http::ClientAddr(peer));
                let state = state.clone();
                async move { Ok::<_, Infallible>(front::handle(state, req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
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
            metrics.connections_open.dec();
            drop(slot);
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

/// Answers one request on a connection over the limit with 503 `SlowDown`
/// and closes it; `_permit` bounds how many are answered at once.
async fn refuse(stream: tokio::net::TcpStream, _permit: tokio::sync::OwnedSemaphorePermit) {
    let service = service_fn(|req: http::Request<hyper::body::Incoming>| async move {
        Ok::<_, Infallible>(front::refuse_connection(&req))
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_TIME)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(REFUSAL_TIME, conn).await;
}
