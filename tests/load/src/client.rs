//! One client: its own connection (HTTP/1.1 keep-alive, or a WebSocket) and one request in
//! flight at a time, as an agent calling tools one after the other.

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

use crate::request::{HTTP_HEADERS, echo_call, is_result, tool_call};
use crate::target::{Target, Transport};

pub enum Client {
    Http { sender: SendRequest<Full<Bytes>>, target: Target },
    WebSocket { socket: Box<WebSocketStream<MaybeTlsStream<TcpStream>>> },
}

impl Client {
    pub async fn connect(target: &Target) -> Result<Client> {
        match target.transport {
            Transport::Http => {
                let stream = TcpStream::connect(target.authority()?).await.with_context(|| target.url.to_string())?;
                stream.set_nodelay(true)?;
                let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(connection);
                Ok(Client::Http { sender, target: target.clone() })
            }
            Transport::WebSocket => {
                let mut request = target.url.to_string().into_client_request()?;
                request.headers_mut().insert("sec-websocket-protocol", http::HeaderValue::from_static("mcp"));
                let (socket, _) =
                    tokio_tungstenite::connect_async(request).await.with_context(|| target.url.to_string())?;
                Ok(Client::WebSocket { socket: Box::new(socket) })
            }
        }
    }

    /// Sends request `id` and waits for its reply: `Ok(true)` for its result, `Ok(false)`
    /// for any other answer, `Err` when the connection failed.
    pub async fn call(&mut self, id: u64) -> Result<bool> {
        match self {
            Client::Http { sender, target } => {
                let (status, body) = post(sender, target, "echo", echo_call(id)).await?;
                Ok(status == http::StatusCode::OK && is_result(&body, id))
            }
            Client::WebSocket { socket } => {
                socket.send(Message::Text(echo_call(id).into())).await?;
                // Notifications may come first; the reply is the message with this id.
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
        }
    }
}

impl Client {
    /// Calls the reference server's `note_write` over HTTP; returns how many subscribers the
    /// server says it notified.
    pub async fn note_write(&mut self, name: &str, text: &str) -> Result<usize> {
        let Client::Http { sender, target } = self else { bail!("note_write goes over HTTP") };
        let body = tool_call(1, "note_write", &serde_json::json!({ "name": name, "text": text }));
        let (status, body) = post(sender, target, "note_write", body).await?;
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
) -> Result<(http::StatusCode, Bytes)> {
    let mut request =
        http::Request::post(target.url.clone()).header("host", target.authority()?).header("mcp-name", tool);
    for (name, value) in HTTP_HEADERS {
        request = request.header(name, value);
    }
    sender.ready().await?;
    let response = sender.send_request(request.body(Full::new(Bytes::from(body)))?).await?;
    let status = response.status();
    Ok((status, response.into_body().collect().await?.to_bytes()))
}
