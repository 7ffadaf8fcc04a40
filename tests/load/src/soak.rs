//! Soak: mixed traffic for a bounded time, counting every failure, while the gateway's
//! resident memory is sampled. Four kinds of client run side by side:
//!
//! - `ws-session`: opens a WebSocket, initializes a 2025-11-25 session, subscribes to the
//!   shared note, calls `echo` a few times, closes (`$connect`, `$disconnect` and the
//!   cleanup of its rows and session on every cycle);
//! - `http-session`: the same over Streamable HTTP, ending with `DELETE` of the session;
//! - `stateless`: 2026-07-28 `echo` calls on a kept-alive connection;
//! - `writer`: rewrites the shared note (a fan-out to every subscribed connection).
//!
//! Any reply that is not the request's result, and any connection failure, is an error.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::request::{echo_call, is_result, tool_call};

pub struct Soak {
    pub http: http::Uri,
    pub ws: http::Uri,
    pub clients: usize,
    pub duration: Duration,
    /// The gateway's process, whose resident memory is sampled.
    pub pid: Option<u32>,
    pub sample_every: Duration,
}

const KINDS: [&str; 4] = ["ws-session", "http-session", "stateless", "writer"];
const NOTE: &str = "soak-shared";
/// `echo` calls per session cycle.
const CALLS_PER_CYCLE: u64 = 5;
/// The writer's pause between rewrites (each one reaches every subscribed connection).
const WRITE_PAUSE: Duration = Duration::from_millis(200);

/// Counts of one kind of client.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    errors: AtomicU64,
}

pub struct Report {
    pub seconds: f64,
    /// Requests and errors by kind of client.
    pub by_kind: BTreeMap<&'static str, (u64, u64)>,
    /// The first few errors, as they were seen.
    pub first_errors: Vec<String>,
    /// Resident memory of the gateway (KiB), one sample per period.
    pub rss_kib: Vec<u64>,
}

impl Report {
    pub fn errors(&self) -> u64 {
        self.by_kind.values().map(|(_, e)| e).sum()
    }

    /// Resident memory once warm (the first sample after a fifth of the run: connections,
    /// caches and allocator arenas have grown by then) and at the end, in KiB.
    pub fn warm_and_end_kib(&self) -> Option<(u64, u64)> {
        let warm = self.rss_kib.get(self.rss_kib.len() / 5)?;
        Some((*warm, *self.rss_kib.last()?))
    }
}

struct Shared {
    soak: Soak,
    counts: [Counts; 4],
    stop: AtomicBool,
    first_errors: std::sync::Mutex<Vec<String>>,
}

impl Shared {
    fn record(&self, kind: usize, result: Result<u64>) {
        match result {
            Ok(n) => {
                self.counts[kind].requests.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                self.counts[kind].errors.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_errors.lock().unwrap_or_else(|p| p.into_inner());
                if first.len() < 10 {
                    first.push(format!("{}: {e:#}", KINDS[kind]));
                }
            }
        }
    }
}

pub async fn run(soak: Soak) -> Result<Report> {
    let shared = Arc::new(Shared {
        soak,
        counts: Default::default(),
        stop: AtomicBool::new(false),
        first_errors: Default::default(),
    });
    let started = Instant::now();
    let clients: Vec<_> = (0..shared.soak.clients)
        .map(|n| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let kind = n % KINDS.len();
                while !shared.stop.load(Ordering::Relaxed) {
                    let result = match kind {
                        0 => ws_session(&shared.soak).await,
                        1 => http_session(&shared.soak).await,
                        2 => stateless(&shared.soak).await,
                        _ => write_note(&shared.soak).await,
                    };
                    shared.record(kind, result);
                }
            })
        })
        .collect();
    let mut rss_kib = Vec::new();
    while started.elapsed() < shared.soak.duration {
        if let Some(pid) = shared.soak.pid {
            rss_kib.push(resident_kib(pid)?);
        }
        let left = shared.soak.duration.saturating_sub(started.elapsed());
        tokio::time::sleep(left.min(shared.soak.sample_every)).await;
    }
    shared.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await?;
    }
    if let Some(pid) = shared.soak.pid {
        rss_kib.push(resident_kib(pid)?);
    }
    let by_kind = KINDS
        .iter()
        .zip(&shared.counts)
        .map(|(k, c)| (*k, (c.requests.load(Ordering::Relaxed), c.errors.load(Ordering::Relaxed))))
        .collect();
    let first_errors = std::mem::take(&mut *shared.first_errors.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Report { seconds: started.elapsed().as_secs_f64(), by_kind, first_errors, rss_kib })
}

/// `VmRSS` of a process, in KiB.
fn resident_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("the gateway's process")?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    line.split_whitespace().nth(1).context("VmRSS value")?.parse().context("VmRSS value")
}

fn initialize(id: u64) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcp-load soak","version":"1"}}}).to_string()
}

/// A 2025-11-25 session's `tools/call` of `echo`.
fn session_echo(id: u64) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":"echo","arguments":{"text":"soak"}}})
        .to_string()
}

fn subscribe(id: u64) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"resources/subscribe","params":{"uri":format!("note://{NOTE}")}})
        .to_string()
}

const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Sends request `id` and waits for its result (notifications may come first).
async fn ask(socket: &mut Socket, id: u64, message: String) -> Result<()> {
    socket.send(Message::Text(message.into())).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let v: Value = serde_json::from_str(&text)?;
                if v["id"] == id {
                    return if v.get("result").is_some() { Ok(()) } else { bail!("request {id}: {v}") };
                }
            }
            Some(Ok(Message::Close(_))) | None => bail!("connection closed"),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(_)) => {}
        }
    }
}

/// One WebSocket session's life; returns the requests it made.
async fn ws_session(soak: &Soak) -> Result<u64> {
    let mut request = soak.ws.to_string().into_client_request()?;
    request.headers_mut().insert("sec-websocket-protocol", http::HeaderValue::from_static("mcp"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("WebSocket connect")?;
    ask(&mut socket, 1, initialize(1)).await?;
    socket.send(Message::Text(INITIALIZED.into())).await?;
    ask(&mut socket, 2, subscribe(2)).await?;
    for id in 3..3 + CALLS_PER_CYCLE {
        ask(&mut socket, id, session_echo(id)).await?;
    }
    socket.close(None).await?;
    Ok(2 + CALLS_PER_CYCLE)
}

/// An HTTP/1.1 keep-alive connection to the gateway.
async fn connect(uri: &http::Uri) -> Result<SendRequest<Full<Bytes>>> {
    let authority = uri.authority().context("URL without host")?.as_str();
    let stream = TcpStream::connect(authority).await.with_context(|| uri.to_string())?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One request; its status, session header and body.
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    uri: &http::Uri,
    method: http::Method,
    headers: &[(&str, &str)],
    body: String,
) -> Result<(http::StatusCode, Option<String>, Bytes)> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri.clone())
        .header("host", uri.authority().context("URL without host")?.as_str())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    sender.ready().await?;
    let response = sender.send_request(request.body(Full::new(Bytes::from(body)))?).await?;
    let status = response.status();
    let session = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok((status, session, response.into_body().collect().await?.to_bytes()))
}

/// One Streamable HTTP session's life, ending with its `DELETE`.
async fn http_session(soak: &Soak) -> Result<u64> {
    let mut sender = connect(&soak.http).await?;
    let (status, session, body) = send(&mut sender, &soak.http, http::Method::POST, &[], initialize(1)).await?;
    let session = session.with_context(|| format!("initialize: HTTP {status}, no session"))?;
    anyhow::ensure!(is_result(&body, 1), "initialize: {}", String::from_utf8_lossy(&body));
    let headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-11-25")];
    let (status, _, _) = send(&mut sender, &soak.http, http::Method::POST, &headers, INITIALIZED.into()).await?;
    anyhow::ensure!(status == http::StatusCode::ACCEPTED, "initialized: HTTP {status}");
    let (_, _, body) = send(&mut sender, &soak.http, http::Method::POST, &headers, subscribe(2)).await?;
    anyhow::ensure!(is_result(&body, 2), "subscribe: {}", String::from_utf8_lossy(&body));
    for id in 3..3 + CALLS_PER_CYCLE {
        let (_, _, body) = send(&mut sender, &soak.http, http::Method::POST, &headers, session_echo(id)).await?;
        anyhow::ensure!(is_result(&body, id), "echo: {}", String::from_utf8_lossy(&body));
    }
    let (status, _, _) = send(&mut sender, &soak.http, http::Method::DELETE, &headers, String::new()).await?;
    anyhow::ensure!(status == http::StatusCode::OK, "DELETE: HTTP {status}");
    Ok(4 + CALLS_PER_CYCLE)
}

const STATELESS_HEADERS: [(&str, &str); 2] = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call")];

/// A few stateless calls on one connection.
async fn stateless(soak: &Soak) -> Result<u64> {
    let mut sender = connect(&soak.http).await?;
    let headers = [STATELESS_HEADERS[0], STATELESS_HEADERS[1], ("mcp-name", "echo")];
    for id in 1..=10 {
        let (status, _, body) = send(&mut sender, &soak.http, http::Method::POST, &headers, echo_call(id)).await?;
        anyhow::ensure!(is_result(&body, id), "echo: HTTP {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(10)
}

/// Rewrites the shared note (its subscribers are notified), then pauses.
async fn write_note(soak: &Soak) -> Result<u64> {
    let mut sender = connect(&soak.http).await?;
    let headers = [STATELESS_HEADERS[0], STATELESS_HEADERS[1], ("mcp-name", "note_write")];
    let call = tool_call(1, "note_write", &json!({ "name": NOTE, "text": format!("{:?}", Instant::now()) }));
    let (status, _, body) = send(&mut sender, &soak.http, http::Method::POST, &headers, call).await?;
    anyhow::ensure!(is_result(&body, 1), "note_write: HTTP {status}: {}", String::from_utf8_lossy(&body));
    tokio::time::sleep(WRITE_PAUSE).await;
    Ok(1)
}

pub fn table(r: &Report) -> String {
    let mut s = format!("soak: {:.0} s\n\n| clients | requests | errors |\n|---|---:|---:|\n", r.seconds);
    for (kind, (requests, errors)) in &r.by_kind {
        s += &format!("| {kind} | {requests} | {errors} |\n");
    }
    let total: u64 = r.by_kind.values().map(|(n, _)| n).sum();
    s += &format!("| all | {total} | {} |\n", r.errors());
    if let (Some(first), Some((warm, end)), Some(max)) =
        (r.rss_kib.first(), r.warm_and_end_kib(), r.rss_kib.iter().max())
    {
        let mib = |k: u64| k as f64 / 1024.0;
        s += &format!(
            "\ngateway resident memory: {:.1} MiB before the load, {:.1} MiB once warm, {:.1} MiB at the end, peak {:.1} MiB ({} samples)\n",
            mib(*first),
            mib(warm),
            mib(end),
            mib(*max),
            r.rss_kib.len()
        );
    }
    for e in &r.first_errors {
        s += &format!("error: {e}\n");
    }
    s
}

pub fn json(r: &Report) -> String {
    let by_kind: serde_json::Map<String, Value> =
        r.by_kind.iter().map(|(k, (n, e))| ((*k).to_owned(), json!({ "requests": n, "errors": e }))).collect();
    json!({ "seconds": r.seconds, "by_kind": by_kind, "errors": r.errors(), "rss_kib": r.rss_kib }).to_string()
}
