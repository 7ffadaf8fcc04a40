//! SSE streams: the POST response stream of a request, resumable in the session era, and
//! the GET streams (a session's own stream, or the resumption of a POST stream).

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use mcp_protocol::jsonrpc::{self, Message};
use mcp_server::router::session_channel;
use mcp_server::state::{StateHandles, StateResult};
use mcp_server::{Outbound, OutboundClosed, Reply};

use super::body::{HttpBody, SSE_KEEPALIVE, sse_event, sse_priming, sse_retry};
use crate::http::body;

/// What a request sends besides its response.
pub(super) enum Out {
    Message(Vec<u8>),
    Detach(Duration),
}

pub(super) struct ChannelOutbound(pub mpsc::Sender<Out>);

#[async_trait]
impl Outbound for ChannelOutbound {
    async fn send(&self, message: Vec<u8>) -> Result<(), OutboundClosed> {
        self.0.send(Out::Message(message)).await.map_err(|_| OutboundClosed("stream closed".into()))
    }

    async fn detach(&self, retry: Duration) -> bool {
        self.0.send(Out::Detach(retry)).await.is_ok()
    }
}

/// Aborts the request task when the reply is dropped (client gone, in the stateless era).
pub(super) struct AbortOnDrop(pub JoinHandle<Reply>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The event log of one resumable stream.
pub(super) struct Resumable {
    state: StateHandles,
    stream: String,
}

/// The bus channel live resumers of a stream listen on.
fn live_channel(stream: &str) -> String {
    format!("sse:{stream}")
}

impl Resumable {
    pub(super) fn new(state: StateHandles, session: &str) -> Self {
        Resumable { state, stream: format!("{session}/{}", mcp_server::ids::random_id()) }
    }

    /// Logs an event; returns its id. Live resumers get `id \n message`.
    async fn log(&self, message: &[u8]) -> StateResult<String> {
        let id = self.state.events.append(&self.stream, message).await?;
        if !message.is_empty() {
            let mut live = Vec::with_capacity(id.len() + 1 + message.len());
            live.extend_from_slice(id.as_bytes());
            live.push(b'\n');
            live.extend_from_slice(message);
            let _ = self.state.bus.publish(&live_channel(&self.stream), live).await;
        }
        Ok(id)
    }
}

/// Streams a request's messages and then its response as SSE. In the session era every event
/// is logged with an id first, so that a client that lost the connection (or was detached)
/// resumes with `Last-Event-ID`; there a lost client does not cancel the request. In the
/// stateless era a lost client does: the request's task is aborted.
pub(super) fn pump(
    first: Out,
    mut rx: mpsc::Receiver<Out>,
    mut task: AbortOnDrop,
    log: Option<Resumable>,
    retry: Duration,
) -> HttpBody {
    let (body_tx, body_rx) = mpsc::channel::<Bytes>(32);
    tokio::spawn(async move {
        let mut body = Some(body_tx);
        if let Some(log) = &log
            && let Ok(id) = log.log(b"").await
        {
            write(&mut body, sse_priming(&id, retry.as_millis() as u64)).await;
        }
        let mut next = Some(first);
        loop {
            let item = match next.take() {
                Some(item) => item,
                None => tokio::select! {
                    biased;
                    m = rx.recv() => match m {
                        Some(m) => m,
                        None => break,
                    },
                    reply = &mut task.0 => {
                        if let Ok(Reply { body: Some(bytes), .. }) = reply {
                            emit(&log, &mut body, &bytes).await;
                        }
                        return;
                    }
                },
            };
            match item {
                Out::Message(m) => emit(&log, &mut body, &m).await,
                Out::Detach(retry) => {
                    if log.is_some() {
                        write(&mut body, sse_retry(retry.as_millis() as u64)).await;
                        body = None;
                    }
                }
            }
            if body.is_none() && log.is_none() {
                // Stateless and the client is gone: dropping `task` cancels the request.
                return;
            }
        }
        if let Ok(Reply { body: Some(bytes), .. }) = (&mut task.0).await {
            emit(&log, &mut body, &bytes).await;
        }
    });
    HttpBody::Stream(
        futures_util::stream::unfold(body_rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }).boxed(),
    )
}

async fn emit(log: &Option<Resumable>, body: &mut Option<mpsc::Sender<Bytes>>, message: &[u8]) {
    let id = match log {
        Some(l) => l.log(message).await.ok(),
        None => None,
    };
    write(body, sse_event(id.as_deref(), message)).await;
}

async fn write(body: &mut Option<mpsc::Sender<Bytes>>, frame: Bytes) {
    if let Some(tx) = body
        && tx.send(frame).await.is_err()
    {
        *body = None;
    }
}

/// `GET` with `Last-Event-ID`: replays what followed that event on its stream, then follows
/// the stream live until its response has been sent.
pub(super) async fn resume(state: StateHandles, last_event_id: String, keepalive: Duration) -> StateResult<HttpBody> {
    let Some((stream, _)) = state.events.after(&last_event_id).await? else {
        return Ok(HttpBody::Stream(futures_util::stream::empty().boxed()));
    };
    // Subscribe before replaying so that nothing falls between the two.
    let live = state.bus.subscribe(&live_channel(&stream)).await?;
    let (_, replay) = state.events.after(&last_event_id).await?.unwrap_or_default();
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    tokio::spawn(async move {
        let mut seen = HashSet::new();
        for (id, message) in replay {
            if message.is_empty() {
                continue;
            }
            seen.insert(id.clone());
            if tx.send(sse_event(Some(&id), &message)).await.is_err() || is_response(&message) {
                return;
            }
        }
        let mut live = live;
        let mut ticker = tokio::time::interval(keepalive);
        ticker.tick().await;
        loop {
            tokio::select! {
                m = live.next() => {
                    let Some(m) = m else { return };
                    let Some(split) = m.iter().position(|&b| b == b'\n') else { continue };
                    let (id, message) = (String::from_utf8_lossy(&m[..split]).into_owned(), &m[split + 1..]);
                    if !seen.insert(id.clone()) {
                        continue;
                    }
                    if tx.send(sse_event(Some(&id), message)).await.is_err() || is_response(message) {
                        return;
                    }
                }
                _ = ticker.tick() => {
                    if tx.send(Bytes::from_static(SSE_KEEPALIVE)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(body::HttpBody::Stream(
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }).boxed(),
    ))
}

/// `GET` without `Last-Event-ID`: the session's own stream of unsolicited messages
/// (resource updates, list changes), fed through the bus from any instance.
pub(super) async fn session_stream(
    state: StateHandles,
    session_id: String,
    keepalive: Duration,
) -> StateResult<HttpBody> {
    let messages: BoxStream<'static, Vec<u8>> = state.bus.subscribe(&session_channel(&session_id)).await?;
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(keepalive))
        .map(|_| Bytes::from_static(SSE_KEEPALIVE));
    let events = messages.map(|m| sse_event(None, &m));
    Ok(HttpBody::Stream(futures_util::stream::select(events, ticks.skip(1)).boxed()))
}

fn is_response(message: &[u8]) -> bool {
    matches!(jsonrpc::decode(message), Ok(Message::Response(_)))
}
