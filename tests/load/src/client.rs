//! One client: its own connection (HTTP/1.1 keep-alive, or a WebSocket) and one request in
//! flight at a time, as an agent calling tools one after the other. In the session era it
//! initializes once when it connects, and every call then names that session.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::request::{
    HTTP_HEADERS, INITIALIZED, SESSION_HTTP_HEADERS, echo_call, initialize, is_result, session_echo_call, tool_call,
};
use crate::target::{Era, Target, Transport};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub enum Client {
    /// `session` is the `mcp-session-id` the server gave, in the session era.
    Http {
        sender: SendRequest<Full<Bytes>>,
        target: Target,
        session: Option<http::HeaderValue>,
    },
    WebSocket {
        socket: Box<Socket>,
        era: Era,
    },
}

impl Client {
    pub async fn connect(target: &Target) -> Result<Client> {
        match target.transport {
            Transport::Http => {
                let stream = TcpStream::connect(target.authority()?).await.with_context(|| target.url.to_string())?;
                stream.set_nodelay(true)?;
                let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(connection);
                let session = match target.era {
                    Era::Stateless => None,
                    Era::Session => Some(open_http_session(&mut sender, target).await?),
                };
                Ok(Client::Http { sender, target: target.clone(), session })
            }
            Transport::WebSocket => {
                let mut request = target.url.to_string().into_client_request()?;
                request.headers_mut().insert("sec-websocket-protocol", http::HeaderValue::from_static("mcp"));
                let (mut socket, _) =
                    tokio_tungstenite::connect_async(request).await.with_context(|| target.url.to_string())?;
                if target.era == Era::Session {
                    socket.send(Message::Text(initialize(0).into())).await?;
                    anyhow::ensure!(reply(&mut socket, 0).await?, "{}: initialize failed", target.label());
                    socket.send(Message::Text(INITIALIZED.into())).await?;
                }
                Ok(Client::WebSocket { socket: Box::new(socket), era: target.era })
            }
        }
    }

    /// Sends request `id` and waits for its reply: `Ok(true)` for its result, `Ok(false)`
    /// for any other answer, `Err` when the connection failed.
    pub async fn call(&mut self, id: u64) -> Result<bool> {
        match self {
            Client::Http { sender, target, session: None } => {
                let (status, _, body) = post(sender, target, "echo", echo_call(id)).await?;
                Ok(status == http::StatusCode::OK && is_result(&body, id))
            }
            Client::Http { sender, target, session: Some(session) } => {
                let (status, _, body) = post_in_session(sender, target, Some(session), session_echo_call(id)).await?;
                Ok(status == http::StatusCode::OK && is_result(&body, id))
            }
            Client::WebSocket { socket, era } => {
                let call = match era {
                    Era::Stateless => echo_call(id),
                    Era::Session => session_echo_call(id),
                };
                socket.send(Message::Text(call.into())).await?;
                reply(socket, id).await
            }
        }
    }
}

/// Waits for the reply to request `id` on a WebSocket: `Ok(true)` for its result, `Ok(false)`
/// for any other answer. Notifications may come first.
async fn reply(socket: &mut Socket, id: u64) -> Result<bool> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                if is_result(text.as_bytes(), id) {
                    return Ok(true);
                }
                if text.contains(&format!("\"id\":{id}")) {
                    return Ok(false);
                }
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Binary(_))) => return Ok(false),
            Some(Ok(Message::Close(_))) | None => bail!("connection closed"),
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// Initializes a session over Streamable HTTP; returns the id the server gave it.
async fn open_http_session(sender: &mut SendRequest<Full<Bytes>>, target: &Target) -> Result<http::HeaderValue> {
    let (status, headers, body) = post_in_session(sender, target, None, initialize(0)).await?;
    anyhow::ensure!(
        status == http::StatusCode::OK && is_result(&body, 0),
        "{}: initialize answered {status}: {}",
        target.label(),
        String::from_utf8_lossy(&body)
    );
    let session = headers.get("mcp-session-id").cloned();
    let session = session.with_context(|| format!("{}: initialize gave no mcp-session-id", target.label()))?;
    let (status, _, _) = post_in_session(sender, target, Some(&session), INITIALIZED.to_owned()).await?;
    anyhow::ensure!(status.is_success(), "{}: notifications/initialized answered {status}", target.label());
    Ok(session)
}

impl Client {
    /// Calls the reference server's `note_write` over HTTP; returns how many subscribers the
    /// server says it notified.
    pub async fn note_write(&mut self, name: &str, text: &str) -> Result<usize> {
        let Client::Http { sender, target, session: None } = self else { bail!("note_write goes over stateless HTTP") };
        let body = tool_call(1, "note_write", &serde_json::json!({ "name": name, "text": text }));
        let (status, _, body) = post(sender, target, "note_write", body).await?;
        let reply: serde_json::Value = serde_json::from_slice(&body).with_context(|| format!("HTTP {status}"))?;
        let said = reply["result"]["content"][0]["text"].as_str().unwrap_or_default();
        // "Saved note://x (N subscribers notified)"
        let reached = said.split_once('(').and_then(|(_, rest)| rest.split_whitespace().next());
        reached.and_then(|n| n.parse().ok()).with_context(|| format!("unexpected reply: {reply}"))
    }
}

async fn post(
    sender: &mut SendRequest<Full<Bytes>>,
    target: &Target,
    tool: &str,
    body: String,
) -> Result<(http::StatusCode, http::HeaderMap, Bytes)> {
    let mut request =
        http::Request::post(target.url.clone()).header("host", target.authority()?).header("mcp-name", tool);
    for (name, value) in HTTP_HEADERS {
        request = request.header(name, value);
    }
    send(sender, request, body).await
}

async fn post_in_session(
    sender: &mut SendRequest<Full<Bytes>>,
    target: &Target,
    session: Option<&http::HeaderValue>,
    body: String,
) -> Result<(http::StatusCode, http::HeaderMap, Bytes)> {
    let mut request = http::Request::post(target.url.clone()).header("host", target.authority()?);
    for (name, value) in SESSION_HTTP_HEADERS {
        request = request.header(name, value);
    }
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    send(sender, request, body).await
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    request: http::request::Builder,
    body: String,
) -> Result<(http::StatusCode, http::HeaderMap, Bytes)> {
    sender.ready().await?;
    let response = sender.send_request(request.body(Full::new(Bytes::from(body)))?).await?;
    let (parts, body) = response.into_parts();
    Ok((parts.status, parts.headers, body.collect().await?.to_bytes()))
}
