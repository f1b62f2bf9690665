//! The HTTP server (hyper 1.x): `/metrics`, `/`, `/drift`, `/probe`, `/sd`, `/-/healthy`,
//! `/-/ready`, `POST /-/reload`.
//!
//! Every body is served from the [`Snapshot`]'s last publish, already rendered and compressed: a
//! handler clones an `Arc` and writes, so a slow or dead database, a check mid-parse or a large
//! schema never makes a scrape or a health check wait. Slow readers are bounded too: writes that
//! make no progress for [`WRITE_TIMEOUT`] close the connection, and at most [`MAX_CONNECTIONS`]
//! are served at once (more wait in the listen queue).

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE,
    VARY, WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use crate::metrics;
use crate::snapshot::{Encoded, Probe, Snapshot};
use crate::web::auth::Verdict;
use crate::web::Watched;

/// A client that has not sent its request headers within this time is disconnected, so idle or
/// slow connections cannot pile up.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A response write that makes no progress for this long closes the connection: a client that
/// stopped reading cannot hold a connection (and its socket buffers) forever.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections served at once; further ones wait in the kernel's listen queue. Bounds the file
/// descriptors and buffers that clients can make the exporter hold.
pub const MAX_CONNECTIONS: usize = 256;

/// A reload request from `POST /-/reload`; the answer says whether the new config was adopted.
pub type ReloadRequest = oneshot::Sender<Result<(), String>>;

/// A TLS handshake that has not completed within this time closes the connection.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers need.
#[derive(Debug, Clone)]
pub struct HttpContext {
    /// Where the published bodies are.
    pub snapshot: Arc<Snapshot>,
    /// Present only with `--web.enable-lifecycle`: where reload requests go.
    pub reload: Option<mpsc::Sender<ReloadRequest>>,
    /// `--web.config.file`: TLS, basic auth, headers and rate limit, followed as the file changes.
    pub web: Option<Arc<Watched>>,
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, ctx: HttpContext, shutdown: watch::Receiver<bool>) {
    serve_at_most(listener, ctx, shutdown, MAX_CONNECTIONS).await
}

/// [`serve`] with `max_connections` open connections at most: the next one is accepted only
/// once one of those closed.
async fn serve_at_most(
    listener: TcpListener,
    ctx: HttpContext,
    mut shutdown: watch::Receiver<bool>,
    max_connections: usize,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    loop {
        let slot = tokio::select! {
            _ = shutdown.changed() => return,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => return,
            },
        };
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
            let _slot = slot;
            let stream = WriteDeadline::new(stream, WRITE_TIMEOUT);
            // TLS as the web config says at this connection: certificates rotate without a
            // restart. A web config that no longer validates refuses the connection.
            // Whether TLS is on was decided at start; a plain listener answers an invalid web
            // config with 500 per request, a TLS one cannot hand out a certificate it lacks.
            let tls = match ctx.web.as_ref().filter(|w| w.tls()).map(|w| w.current()) {
                None => None,
                Some(Ok(active)) => active.tls.clone(),
                Some(Err(_)) => return,
            };
            match tls {
                None => serve_connection(TokioIo::new(stream), ctx).await,
                Some(config) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(tls)) => serve_connection(TokioIo::new(tls), ctx).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Serves HTTP/1.1 on one connection, plain or TLS.
async fn serve_connection<I>(io: I, ctx: HttpContext)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(guarded(&ctx, req).await) }
    });
    let result = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, service)
        .await;
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection closed with an error");
    }
}

/// The web config's part of every request, as the toolkit does it: the rate limit, basic auth
/// (401 with `WWW-Authenticate: Basic`), then the route, and the configured headers on every
/// answer. A web config that no longer validates answers 500 until it is fixed.
async fn guarded(ctx: &HttpContext, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(web) = &ctx.web else {
        return route(ctx, req).await;
    };
    let active = match web.current() {
        Ok(a) => a,
        Err(_) => {
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                TEXT,
                "Internal Server Error: the web config is invalid (see the exporter's log)\n",
            )
        }
    };
    let verdict = if active.auth.allow_request() {
        Some(active.auth.admits(req.headers().get(AUTHORIZATION)).await)
    } else {
        None
    };
    let mut response = match verdict {
        Some(Verdict::Admitted) => route(ctx, req).await,
        Some(Verdict::Refused) => {
            let mut r = respond(StatusCode::UNAUTHORIZED, TEXT, "Unauthorized\n");
            r.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            r
        }
        // The rate limit, or too many logins with new credentials waiting for bcrypt.
        None | Some(Verdict::Busy) => {
            let mut r = respond(StatusCode::TOO_MANY_REQUESTS, TEXT, "Too Many Requests\n");
            r.headers_mut()
                .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    };
    for (name, value) in &active.config.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
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

/// A published body in the encoding the client asked for. Both encodings exist already; choosing
/// one clones a reference-counted buffer.
fn respond_encoded(
    headers: &HeaderMap,
    content_type: &'static str,
    body: &Encoded,
) -> Response<Full<Bytes>> {
    let gzip = accepts_gzip(headers);
    let bytes = if gzip { &body.gzip } else { &body.identity };
    let mut r = respond(StatusCode::OK, content_type, bytes.clone());
    let h = r.headers_mut();
    h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

/// Whether `Accept-Encoding` admits gzip: named with a non-zero weight, or covered by `*` and not
/// refused by name (`gzip;q=0`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    for value in headers.get_all(ACCEPT_ENCODING) {
        for part in value.to_str().unwrap_or_default().split(',') {
            let mut fields = part.split(';');
            let coding = fields.next().unwrap_or_default().trim();
            let weight = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(weight);
            } else if coding == "*" {
                any = Some(weight);
            }
        }
    }
    gzip.or(any).is_some_and(|w| w > 0.0)
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=utf-8";

async fn route(ctx: &HttpContext, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let method = req.method();
    let read_only = matches!(*method, Method::GET | Method::HEAD);
    match path {
        "/metrics" | "/" | "/drift" | "/probe" | "/sd" | "/-/healthy" | "/-/ready"
            if !read_only =>
        {
            let mut r = respond(StatusCode::METHOD_NOT_ALLOWED, TEXT, "Method Not Allowed\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        }
        "/metrics" => {
            let published = ctx.snapshot.published();
            respond_encoded(req.headers(), metrics::CONTENT_TYPE, &published.metrics)
        }
        "/" => {
            let published = ctx.snapshot.published();
            respond_encoded(
                req.headers(),
                "text/html; charset=utf-8",
                &published.landing,
            )
        }
        "/drift" => drift(ctx, &req),
        "/probe" => probe(ctx, &req),
        "/sd" => {
            let published = ctx.snapshot.published();
            respond_encoded(req.headers(), JSON, &published.discovery)
        }
        "/-/healthy" => respond(StatusCode::OK, TEXT, "Healthy\n"),
        "/-/ready" if ctx.snapshot.published().ready => respond(StatusCode::OK, TEXT, "Ready\n"),
        "/-/ready" => respond(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "Not ready: first checks still running\n",
        ),
        "/-/reload" => reload(ctx, method).await,
        _ => respond(StatusCode::NOT_FOUND, TEXT, "Not Found\n"),
    }
}

/// `/drift`, or `/drift?database=NAME` for one configured database: JSON for tools, the on-call
/// page for a browser (`Accept: text/html` first) or with `?format=html`.
fn drift(ctx: &HttpContext, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let query = req.uri().query().unwrap_or_default();
    let param = |key: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let wanted = param("database");
    let html = match param("format").as_deref() {
        Some("html") => true,
        Some(_) => false,
        None => prefers_html(req.headers()),
    };
    if html {
        return drift_page(ctx, wanted.as_deref());
    }
    let published = ctx.snapshot.published();
    let mut response = match &wanted {
        None => respond_encoded(req.headers(), JSON, &published.drift),
        Some(name) => match published.drift_by_database.get(name) {
            Some(body) => respond_encoded(req.headers(), JSON, body),
            None => {
                let message = serde_json::json!({ "error": format!("no database named {name:?} is configured") });
                respond(StatusCode::NOT_FOUND, JSON, format!("{message}\n"))
            }
        },
    };
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    response
}

/// Whether the client asks for HTML before JSON, as a browser does (`text/html,...,*/*;q=0.8`);
/// tools that send `*/*` or nothing get JSON.
fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let position = |what: &str| accept.find(what);
    match (position("text/html"), position("application/json")) {
        (Some(h), Some(j)) => h < j,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The on-call page, rendered on request from the state (people open it; scrapes never do).
fn drift_page(ctx: &HttpContext, wanted: Option<&str>) -> Response<Full<Bytes>> {
    let body = ctx.snapshot.with_state(|state| {
        let doc = crate::report::document(state);
        match wanted {
            None => Some(crate::page::page(&doc.databases)),
            Some(name) => doc
                .databases
                .into_iter()
                .find(|d| d.name == name)
                .map(|d| crate::page::page(std::slice::from_ref(&d))),
        }
    });
    let mut response = match body {
        Some(html) => respond(StatusCode::OK, HTML, html),
        None => respond(
            StatusCode::NOT_FOUND,
            HTML,
            format!(
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Not found</title></head><body><p>No database named {} is configured. <a href=\"/drift\">All databases</a></p></body></html>\n",
                crate::page::escape(wanted.unwrap_or_default())
            ),
        ),
    };
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    response
}

/// `/probe?target=NAME`: one configured database's series, from what its last check rendered.
/// The target is only ever a configured name, looked up: no host, URL or DSN is accepted, and no
/// connection is opened, so the endpoint cannot be turned into a proxy.
fn probe(ctx: &HttpContext, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let query = req.uri().query().unwrap_or_default();
    let targets: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "target")
        .map(|(_, v)| v.into_owned())
        .collect();
    let name = match targets.as_slice() {
        [one] if !one.is_empty() => one,
        [] | [_] => {
            return respond(
                StatusCode::BAD_REQUEST,
                TEXT,
                "Missing target: /probe?target=NAME, NAME a configured database\n",
            )
        }
        _ => {
            return respond(
                StatusCode::BAD_REQUEST,
                TEXT,
                "More than one target: /probe takes exactly one\n",
            )
        }
    };
    match ctx.snapshot.probe(name) {
        Probe::Series(body) => respond(StatusCode::OK, metrics::CONTENT_TYPE, body),
        Probe::Elsewhere(shard) => respond(
            StatusCode::NOT_FOUND,
            TEXT,
            format!(
                "Database {name:?} is polled by the replica with --shard.index={shard}, not this one\n"
            ),
        ),
        Probe::Unknown => respond(
            StatusCode::NOT_FOUND,
            TEXT,
            format!(
                "No database named {:?} is configured\n",
                name.chars().take(200).collect::<String>()
            ),
        ),
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

/// A stream whose writes fail once they have made no progress for `timeout`. hyper has no write
/// timeout of its own, and a peer that stops reading would otherwise keep its connection open.
struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    /// Started when a write first finds the socket full; cleared by any progress.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteDeadline<S> {
    fn new(inner: S, timeout: Duration) -> Self {
        WriteDeadline {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// Passes a write's outcome on, turning a wait longer than the timeout into an error.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(values: &[&str]) -> bool {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        accepts_gzip(&h)
    }

    /// Paused time: a peer that never reads fills the pipe; the write fails once it has made no
    /// progress for the timeout, and a peer that reads keeps it alive however long it takes.
    #[tokio::test(start_paused = true)]
    async fn a_write_that_makes_no_progress_fails_after_the_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // `far` stays open and unread, so the pipe fills and stays full.
        let (near, far) = tokio::io::duplex(1024);
        let mut stream = WriteDeadline::new(near, Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let write = stream.write_all(&[0u8; 4096]);
        let err = tokio::time::timeout(Duration::from_secs(60), write)
            .await
            .expect("the write never gave up")
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        drop(far);

        let (near, mut far_reader) = tokio::io::duplex(1024);
        let mut stream = WriteDeadline::new(near, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut total = 0;
            while total < 8192 {
                // Slower than the pipe fills, faster than the timeout.
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += far_reader.read(&mut buf).await.unwrap();
            }
        });
        stream.write_all(&[0u8; 8192]).await.unwrap();
        reader.await.unwrap();
    }

    /// Real sockets: with every slot held by a client that sends nothing, a request waits in the
    /// listen queue unanswered; it is answered as soon as one holder goes away.
    #[tokio::test]
    async fn connections_beyond_the_cap_wait_until_one_closes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::TcpStream;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("e.yaml"), "tables: {}\n").unwrap();
        let path = dir.path().join("c.yaml");
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        std::fs::write(
            &path,
            format!("databases:\n  - name: d\n    url: {url}\n    expected: {{file: e.yaml}}\n"),
        )
        .unwrap();
        let config = crate::config::load(&path).unwrap();
        let ctx = HttpContext {
            snapshot: Arc::new(Snapshot::new(&config)),
            reload: None,
            web: None,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve_at_most(listener, ctx, stopped, 2));

        let mut holders = Vec::new();
        for _ in 0..2 {
            holders.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut third = TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        // A wait for nothing to happen can only be bounded: 300 ms is ample for a loopback
        // answer (they take well under a millisecond here), and far below the 10 s header timeout
        // that would free a holder's slot.
        let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
        assert!(early.is_err(), "answered while every slot was held");

        drop(holders.pop());
        let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
            .await
            .expect("not answered after a slot was freed")
            .unwrap();
        let head = String::from_utf8_lossy(&buf[..n]);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        stop.send(true).unwrap();
        server.await.unwrap();
    }

    #[test]
    fn gzip_is_chosen_only_when_the_client_admits_it() {
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["deflate, GZIP;q=0.5"]));
        assert!(accepts(&["br", "gzip"]));
        assert!(accepts(&["*"]));
        assert!(!accepts(&[]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(
            !accepts(&["gzip;q=0, *"]),
            "refused by name beats the wildcard"
        );
        assert!(!accepts(&["*;q=0"]));
    }
}
