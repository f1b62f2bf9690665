//! The HTTP server (hyper 1.x): `/metrics`, `/`, `/drift`, `/-/healthy`, `/-/ready`, `POST /-/reload`.
//!
//! Every handler renders from the [`Snapshot`]; none waits on a database, so a slow or dead database
//! can never make a scrape time out.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::snapshot::Snapshot;
use crate::{metrics, report};

/// A client that has not sent its request headers within this time is disconnected, so idle or
/// slow connections cannot pile up.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A reload request from `POST /-/reload`; the answer says whether the new config was adopted.
pub type ReloadRequest = oneshot::Sender<Result<(), String>>;

/// What the handlers need.
#[derive(Debug, Clone)]
pub struct HttpContext {
    /// State to render.
    pub snapshot: Arc<Snapshot>,
    /// Present only with `--web.enable-lifecycle`: where reload requests go.
    pub reload: Option<mpsc::Sender<ReloadRequest>>,
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, ctx: HttpContext, mut shutdown: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Usually descriptor exhaustion; back off instead of spinning on the error.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(route(&ctx, req).await) }
            });
            let result = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

const TEXT: &str = "text/plain; charset=utf-8";

async fn route(ctx: &HttpContext, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let method = req.method();
    let read_only = matches!(*method, Method::GET | Method::HEAD);
    match path {
        "/metrics" | "/" | "/drift" | "/-/healthy" | "/-/ready" if !read_only => {
            let mut r = respond(StatusCode::METHOD_NOT_ALLOWED, TEXT, "Method Not Allowed\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        }
        "/metrics" => respond(
            StatusCode::OK,
            metrics::CONTENT_TYPE,
            metrics::render(&ctx.snapshot),
        ),
        "/" => {
            let html = report::landing_page(&ctx.snapshot.read());
            respond(StatusCode::OK, "text/html; charset=utf-8", html)
        }
        "/drift" => {
            let body = {
                let state = ctx.snapshot.read();
                serde_json::to_vec_pretty(&report::document(&state))
                    .expect("the drift document always serialises")
            };
            respond(StatusCode::OK, "application/json", body)
        }
        "/-/healthy" => respond(StatusCode::OK, TEXT, "Healthy\n"),
        "/-/ready" if ctx.snapshot.ready() => respond(StatusCode::OK, TEXT, "Ready\n"),
        "/-/ready" => respond(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "Not ready: first checks still running\n",
        ),
        "/-/reload" => reload(ctx, method).await,
        _ => respond(StatusCode::NOT_FOUND, TEXT, "Not Found\n"),
    }
}

async fn reload(ctx: &HttpContext, method: &Method) -> Response<Full<Bytes>> {
    let Some(tx) = &ctx.reload else {
        return respond(
            StatusCode::FORBIDDEN,
            TEXT,
            "Lifecycle API is not enabled (--web.enable-lifecycle)\n",
        );
    };
    if *method != Method::POST && *method != Method::PUT {
        let mut r = respond(StatusCode::METHOD_NOT_ALLOWED, TEXT, "Method Not Allowed\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, PUT"));
        return r;
    }
    let (answer_tx, answer_rx) = oneshot::channel();
    if tx.send(answer_tx).await.is_err() {
        return respond(StatusCode::SERVICE_UNAVAILABLE, TEXT, "Shutting down\n");
    }
    match answer_rx.await {
        Ok(Ok(())) => respond(StatusCode::OK, TEXT, "Configuration reloaded\n"),
        Ok(Err(e)) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            TEXT,
            format!("Reload failed; the previous configuration stays active:\n{e}\n"),
        ),
        Err(_) => respond(StatusCode::SERVICE_UNAVAILABLE, TEXT, "Shutting down\n"),
    }
}
