//! Prometheus metrics over HTTP (`--metrics ADDR:PORT`): `GET /metrics`
//! answers with the sessions' state and counters and the process's resource
//! use in the OpenMetrics text format; any other path gets 404.
//!
//! ```text
//!  accept ─► a free slot? ─► one task per connection (hyper HTTP/1.1, headers ≤ HEADER_TIMEOUT)
//!                │ no          │ GET /metrics:
//!                ▼             │   ControlCall(status) ─► manager (bounded both ways, LIMITS)
//!             closed           │   answered: peer families + process + nodebgp_manager_up 1
//!                              │   not:      process + nodebgp_manager_up 0
//!                              ▼ the whole exchange ≤ CONNECTION_TIMEOUT
//! ```
//!
//! Served like the control socket (see `control`): on a thread and runtime
//! of its own, asking the manager through the same bounded call, so a
//! scraper never makes the manager wait and a busy manager costs a scrape
//! only its peer metrics. The endpoint has no authentication: bind it to an
//! address only the scraper reaches.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request as HttpRequest, Response as HttpResponse, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, info, warn};

mod exposition;
mod process;
#[cfg(test)]
mod tests;

use super::control::protocol::{Request, Response};
use super::control::{self, ControlCall, Limits};
use process::ProcessSample;

/// The wait for the manager's status: well inside Prometheus's default
/// scrape timeout (10 s), so that a busy manager still yields the process
/// metrics and `nodebgp_manager_up 0` rather than a failed scrape.
const LIMITS: Limits = Limits {
    request_bytes: 0,
    request_timeout: Duration::ZERO,
    write_timeout: Duration::ZERO,
    connections: CONNECTIONS,
    queue_timeout: Duration::from_secs(2),
    answer_timeout: Duration::from_secs(4),
};

/// Scrapes served at once; more connections are closed at once.
const CONNECTIONS: usize = 8;
/// How long a client has to send its request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one connection may last at all.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds `address` on a thread of its own and serves it until `calls`
/// closes. Returns once it is bound, or could not be.
pub(crate) async fn serve_on_own_thread(
    address: SocketAddr,
    calls: mpsc::Sender<ControlCall>,
) -> Result<()> {
    control::on_own_thread("metrics server", calls, move |calls| async move {
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot serve metrics on {address}"))?;
        info!(%address, "serving Prometheus metrics at /metrics");
        tokio::spawn(accept_loop(listener, calls));
        Ok(())
    })
    .await
}

async fn accept_loop(listener: TcpListener, calls: mpsc::Sender<ControlCall>) {
    let slots = Arc::new(Semaphore::new(CONNECTIONS));
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors, most likely: wait rather than spin.
                warn!(%error, "metrics: cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            debug!(%client, "metrics: too many scrapes at once, closing");
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let calls = calls.clone();
                async move { Ok::<_, Infallible>(answer(request, &calls).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => debug!(%client, %error, "metrics: connection failed"),
                Err(_) => debug!(%client, "metrics: connection timed out"),
            }
            drop(slot);
        });
    }
}

async fn answer(
    request: HttpRequest<Incoming>,
    calls: &mpsc::Sender<ControlCall>,
) -> HttpResponse<Full<Bytes>> {
    if request.method() != Method::GET || request.uri().path() != "/metrics" {
        return reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into());
    }
    let peers = match control::call_within_limits(calls, Request::Status, LIMITS).await {
        Response::Status(report) => match exposition::peers(&report) {
            Ok(peers) => Some(peers),
            Err(error) => {
                warn!(%error, "metrics: cannot read the status report");
                None
            }
        },
        other => {
            debug!(answer = ?other, "metrics: no status from the manager");
            None
        }
    };
    let text = exposition::render(peers.as_deref(), &ProcessSample::read());
    reply(StatusCode::OK, exposition::CONTENT_TYPE, text)
}

fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> HttpResponse<Full<Bytes>> {
    let mut response = HttpResponse::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
