//! The connection's own task: it owns the socket, matches replies to requests, sends
//! keepalives, and makes a new connection when API Gateway ends one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::Event;
use crate::{Era, Error, Options, TokenIn};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) const PROTOCOL_VERSION: &str = "2026-07-28";
pub(crate) const SESSION_VERSION: &str = "2025-11-25";
pub(crate) const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// Ids of the client's own requests (initialize, keepalive), never handed to the caller.
const OWN_ID_PREFIX: &str = "mcp-ws-client-";

/// A request waiting for its reply: where the reply goes, and the request itself (sent
/// again after a reconnection when that is safe).
pub(crate) struct Pending {
    pub reply: oneshot::Sender<Result<Value, Error>>,
    pub request: Value,
}

/// What the caller's side and the task share.
#[derive(Default)]
pub(crate) struct Shared {
    pub pending: Mutex<HashMap<u64, Pending>>,
}

impl Shared {
    fn take(&self, id: u64) -> Option<Pending> {
        self.pending.lock().ok()?.remove(&id)
    }

    fn drain(&self) -> Vec<Pending> {
        self.pending.lock().map(|mut p| p.drain().map(|(_, v)| v).collect()).unwrap_or_default()
    }
}

/// Opens a connection: the handshake, refused ones as [`Error::Handshake`].
pub(crate) async fn open(options: &Options) -> Result<Socket, Error> {
    let mut request = options.url.as_str().into_client_request()?;
    let mut protocols = String::from("mcp");
    match (&options.token, options.token_in) {
        (Some(token), TokenIn::Subprotocol) => protocols.push_str(&format!(", mcp.auth.{token}")),
        (Some(token), TokenIn::Header) => {
            request.headers_mut().insert(http::header::AUTHORIZATION, header_value(&format!("Bearer {token}"))?);
        }
        (None, _) => {}
    }
    request.headers_mut().insert(http::header::SEC_WEBSOCKET_PROTOCOL, header_value(&protocols)?);
    for (name, value) in &options.headers {
        let name =
            http::HeaderName::try_from(name.as_str()).map_err(|e| Error::Invalid(format!("header {name}: {e}")))?;
        request.headers_mut().insert(name, header_value(value)?);
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            Err(Error::Handshake { status: response.status().as_u16(), reason: reason(&body) })
        }
        Err(e) => Err(e.into()),
    }
}

fn header_value(value: &str) -> Result<http::HeaderValue, Error> {
    http::HeaderValue::from_str(value).map_err(|e| Error::Invalid(format!("header value: {e}")))
}

/// A refusal's body as a reason: API Gateway answers `{"message": ...}`, the local gateway
/// plain text.
fn reason(body: &str) -> String {
    let text = body.trim();
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => o.get("message").and_then(Value::as_str).unwrap_or(text).to_owned(),
        _ => text.to_owned(),
    }
}

/// The session era's `initialize` (and `notifications/initialized`) on a fresh socket;
/// returns the server's result. Frames that arrive meanwhile are handled as usual.
pub(crate) async fn start_session(
    socket: &mut Socket,
    options: &Options,
    own_ids: &mut u64,
    shared: &Shared,
    events: &mpsc::Sender<Event>,
) -> Result<Value, Error> {
    *own_ids += 1;
    let id = format!("{OWN_ID_PREFIX}{own_ids}");
    let params = json!({
        "protocolVersion": SESSION_VERSION,
        "capabilities": {},
        "clientInfo": { "name": options.client_name, "version": env!("CARGO_PKG_VERSION") },
    });
    socket.send(text(&json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": params}))).await?;
    let reply = tokio::time::timeout(options.request_timeout, async {
        while let Some(frame) = socket.next().await {
            if let Message::Text(t) = frame? {
                let message: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                if message["id"] == id {
                    return Ok(message);
                }
                handle(&t, shared, events).await;
            }
        }
        Err(Error::Closed("the connection ended during initialize".to_owned()))
    })
    .await
    .map_err(|_| Error::Timeout(options.request_timeout))??;
    if let Some(error) = reply.get("error") {
        return Err(Error::from_reply(error));
    }
    socket.send(text(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))).await?;
    Ok(reply["result"].clone())
}

/// What the caller asks the task to do.
pub(crate) enum Command {
    /// A message, and for a request the entry its reply goes to: the task files it when the
    /// request goes on the wire, so that one queued during a reconnection goes out on the new
    /// connection instead of failing.
    Send(String, Option<(u64, Pending)>),
    Close,
}

pub(crate) struct Task {
    pub socket: Socket,
    pub options: Options,
    pub shared: Arc<Shared>,
    pub commands: mpsc::Receiver<Command>,
    pub events: mpsc::Sender<Event>,
    pub own_ids: u64,
    /// The `_meta` of the caller's last 2026-07-28 request, reused by the keepalive.
    pub stateless_meta: Option<Value>,
}

impl Task {
    pub async fn run(mut self) {
        let tick = self
            .options
            .keepalive
            .map_or(Duration::from_secs(3600), |k| (k / 4).clamp(Duration::from_millis(10), Duration::from_secs(30)));
        let mut keepalive = tokio::time::interval(tick);
        let mut last_sent = Instant::now();
        loop {
            tokio::select! {
                frame = self.socket.next() => match frame {
                    Some(Ok(Message::Text(t))) => handle(&t, &self.shared, &self.events).await,
                    Some(Ok(Message::Binary(_))) => {
                        let _ = self.events.send(Event::Error("binary frame dropped (MCP messages are text frames)".into())).await;
                    }
                    Some(Ok(Message::Close(close))) => {
                        let why = close.map_or_else(|| "closed".to_owned(), |c| format!("close code {}: {}", u16::from(c.code), c.reason));
                        if !self.reconnect(&why).await { return; }
                        last_sent = Instant::now();
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        if !self.reconnect(&format!("the connection dropped: {e}")).await { return; }
                        last_sent = Instant::now();
                    }
                    None => {
                        if !self.reconnect("the connection dropped").await { return; }
                        last_sent = Instant::now();
                    }
                },
                command = self.commands.recv() => match command {
                    Some(Command::Send(t, waiting)) => {
                        if let Some(meta) = stateless_meta(&t) {
                            self.stateless_meta = Some(meta);
                        }
                        if let (Some((id, pending)), Ok(mut p)) = (waiting, self.shared.pending.lock()) {
                            p.insert(id, pending);
                        }
                        last_sent = Instant::now();
                        // A failed send means the connection ended: the reader sees it next,
                        // and the request fails or is sent again with the others in flight.
                        let _ = self.socket.send(Message::Text(t.into())).await;
                    }
                    Some(Command::Close) | None => {
                        let _ = self.socket.close(None).await;
                        fail_all(&self.shared, "the client closed");
                        return;
                    }
                },
                _ = keepalive.tick() => {
                    if let Some(idle) = self.options.keepalive
                        && last_sent.elapsed() >= idle {
                        last_sent = Instant::now();
                        let request = self.keepalive_request();
                        let _ = self.socket.send(text(&request)).await;
                    }
                }
            }
        }
    }

    /// 2026-07-28 has no `ping`: its keepalive is `server/discover`, complete in itself.
    fn keepalive_request(&mut self) -> Value {
        self.own_ids += 1;
        let id = format!("{OWN_ID_PREFIX}{}", self.own_ids);
        match (&self.options.era, &self.stateless_meta) {
            (Era::Stateless, Some(meta)) => {
                json!({"jsonrpc": "2.0", "id": id, "method": "server/discover", "params": {"_meta": meta}})
            }
            _ => json!({"jsonrpc": "2.0", "id": id, "method": "ping"}),
        }
    }

    /// A new connection after the old one ended; false when none could be made.
    async fn reconnect(&mut self, why: &str) -> bool {
        for attempt in 1..=self.options.reconnects {
            tokio::time::sleep(self.options.reconnect_delay * 2u32.saturating_pow(attempt - 1)).await;
            let mut socket = match open(&self.options).await {
                Ok(socket) => socket,
                Err(e) => {
                    let _ = self.events.send(Event::Error(format!("reconnection {attempt}: {e}"))).await;
                    continue;
                }
            };
            let session_restarted = self.options.era == Era::Session;
            if session_restarted
                && let Err(e) =
                    start_session(&mut socket, &self.options, &mut self.own_ids, &self.shared, &self.events).await
            {
                let _ = self.events.send(Event::Error(format!("a new session could not start: {e}"))).await;
                continue;
            }
            self.socket = socket;
            self.resume(why).await;
            let _ = self.events.send(Event::Reconnected { attempt, session_restarted }).await;
            return true;
        }
        fail_all(&self.shared, why);
        let _ = self.events.send(Event::Closed(why.to_owned())).await;
        false
    }

    /// Requests in flight when the connection ended: a 2026-07-28 listen is sent again (it
    /// has no final result over WebSocket); any other may or may not have run, and fails.
    async fn resume(&mut self, why: &str) {
        for pending in self.shared.drain() {
            let listen = pending.request["method"] == "subscriptions/listen";
            if self.options.era == Era::Stateless && listen {
                let id = pending.request["id"].as_u64().unwrap_or_default();
                let again = text(&pending.request);
                if let Ok(mut p) = self.shared.pending.lock() {
                    p.insert(id, pending);
                }
                let _ = self.socket.send(again).await;
            } else {
                let _ = pending.reply.send(Err(Error::Closed(format!("{why}; the request may or may not have run"))));
            }
        }
    }
}

/// One frame from the server.
async fn handle(frame: &str, shared: &Shared, events: &mpsc::Sender<Event>) {
    let message: Value = match serde_json::from_str(frame) {
        Ok(m) => m,
        Err(e) => {
            let _ = events.send(Event::Error(format!("a frame that is not JSON was dropped: {e}"))).await;
            return;
        }
    };
    if message["jsonrpc"] != "2.0" {
        // API Gateway's own messages ("Endpoint request timed out", "Internal server error").
        let said = message["message"].as_str().map_or_else(|| message.to_string(), str::to_owned);
        let _ = events.send(Event::Error(format!("API Gateway: {said}"))).await;
        return;
    }
    let is_reply = message.get("method").is_none();
    let event = match (is_reply, message.get("id")) {
        (false, Some(_)) => Event::Request(message),
        (false, None) => Event::Notification(message),
        (true, Some(Value::Number(id))) => {
            if let Some(pending) = id.as_u64().and_then(|id| shared.take(id)) {
                let outcome = match message.get("error") {
                    Some(error) => Err(Error::from_reply(error)),
                    None => Ok(message["result"].clone()),
                };
                let _ = pending.reply.send(outcome);
            }
            return;
        }
        (true, Some(Value::String(id))) if id.starts_with(OWN_ID_PREFIX) => match message.get("error") {
            Some(error) => Event::Error(format!("keepalive refused: {}", Error::from_reply(error))),
            None => return,
        },
        // A refusal of a message the server could not read names no request.
        (true, _) => match message.get("error") {
            Some(error) => Event::Error(format!("the server refused a message: {}", Error::from_reply(error))),
            None => return,
        },
    };
    // A caller that does not read its events must not stop replies: past 256 unread, events
    // are dropped.
    let _ = events.try_send(event);
}

fn fail_all(shared: &Shared, why: &str) {
    for pending in shared.drain() {
        let _ = pending.reply.send(Err(Error::Closed(why.to_owned())));
    }
}

fn stateless_meta(frame: &str) -> Option<Value> {
    if !frame.contains(META_VERSION) {
        return None;
    }
    let message: Value = serde_json::from_str(frame).ok()?;
    let meta = message.get("params")?.get("_meta")?;
    meta.get(META_VERSION).is_some().then(|| meta.clone())
}

pub(crate) fn text(message: &Value) -> Message {
    Message::Text(message.to_string().into())
}
