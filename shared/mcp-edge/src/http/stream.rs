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
use mcp_server::router::{parse_logged, session_channel, session_log};
use mcp_server::state::{StateHandles, StateResult, now_ms};
use mcp_server::{Outbound, OutboundClosed, Reply, ReplyStatus};

use super::body::{HttpBody, SSE_KEEPALIVE, sse_event, sse_priming, sse_retry};
use super::streams::Ticket;
use crate::http::body;

/// What a request sends besides its response.
pub(super) enum Out {
    Message(Vec<u8>),
    Detach(Duration),
}

pub(super) struct ChannelOutbound {
    pub tx: mpsc::Sender<Out>,
    /// Whether the request may detach from the stream: it can be resumed (session era) and
    /// the host runs work after a response ends.
    pub detachable: bool,
}

#[async_trait]
impl Outbound for ChannelOutbound {
    async fn send(&self, message: Vec<u8>) -> Result<(), OutboundClosed> {
        self.tx.send(Out::Message(message)).await.map_err(|_| OutboundClosed("stream closed".into()))
    }

    async fn detach(&self, retry: Duration) -> bool {
        self.detachable && self.tx.send(Out::Detach(retry)).await.is_ok()
    }
}

/// The request's task. In the stateless era dropping it aborts the request (a client that
/// goes away cancels); in the session era the request runs on (a lost connection is not a
/// cancellation there, and the client may resume).
pub(super) struct AbortOnDrop {
    pub handle: JoinHandle<Reply>,
    pub abort: bool,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if self.abort {
            self.handle.abort();
        }
    }
}

/// How a request stream ends: its task is still running, or it already returned.
pub(super) enum Tail {
    Running(AbortOnDrop),
    Finished(Reply),
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

/// The logged event that marks the end of a stream (not JSON, so never a message).
const END: &[u8] = b"\0";

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

/// Whether an event id is one of the log of `session`'s GET stream (see `session_log`).
pub(super) fn is_session_log_event(event_id: &str, session: &str) -> bool {
    event_id.rsplit_once('#').is_some_and(|(stream, _)| stream == session_log(session))
}

/// Whether a stream (named by [`Resumable::new`]) is one of `session`'s.
fn owned_by(stream: &str, session: &str) -> bool {
    stream.strip_prefix(session).is_some_and(|rest| rest.starts_with('/'))
}

/// Streams a request's messages and then its response as SSE. In the session era every event
/// is logged with an id first, so that a client that lost the connection (or was detached)
/// resumes with `Last-Event-ID`; there a lost client does not cancel the request. In the
/// stateless era a lost client does: the request's task is aborted.
pub(super) fn pump(
    first: Out,
    mut rx: mpsc::Receiver<Out>,
    tail: Tail,
    log: Option<Resumable>,
    retry: Duration,
    keepalive: Duration,
) -> HttpBody {
    let (body_tx, body_rx) = mpsc::channel::<Bytes>(32);
    tokio::spawn(async move {
        let mut body = Some(body_tx);
        if let Some(log) = &log
            && let Ok(id) = log.log(b"").await
        {
            write(&mut body, sse_priming(&id, retry.as_millis() as u64)).await;
        }
        let mut ticker = tokio::time::interval(keepalive);
        ticker.tick().await;
        let mut task = match tail {
            Tail::Running(task) => task,
            Tail::Finished(reply) => {
                deliver(&log, &mut body, first).await;
                while let Ok(m) = rx.try_recv() {
                    deliver(&log, &mut body, m).await;
                }
                finish(&log, &mut body, Some(reply)).await;
                return;
            }
        };
        deliver(&log, &mut body, first).await;
        loop {
            if body.is_none() && log.is_none() {
                // Stateless and the client is gone: dropping `task` cancels the request.
                return;
            }
            tokio::select! {
                biased;
                m = rx.recv() => match m {
                    Some(m) => deliver(&log, &mut body, m).await,
                    None => break,
                },
                reply = &mut task.handle => {
                    // Everything the request sent happened before it returned.
                    while let Ok(m) = rx.try_recv() {
                        deliver(&log, &mut body, m).await;
                    }
                    finish(&log, &mut body, reply.ok()).await;
                    return;
                }
                () = closed(&body) => body = None,
                _ = ticker.tick(), if body.is_some() => write(&mut body, Bytes::from_static(SSE_KEEPALIVE)).await,
            }
        }
        // Every sender is gone: the request is returning.
        let reply = (&mut task.handle).await.ok();
        finish(&log, &mut body, reply).await;
    });
    HttpBody::Stream(
        futures_util::stream::unfold(body_rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }).boxed(),
    )
}

async fn deliver(log: &Option<Resumable>, body: &mut Option<mpsc::Sender<Bytes>>, item: Out) {
    match item {
        Out::Message(m) => emit(log, body, &m).await,
        Out::Detach(retry) => {
            // Only detachable streams accept a detach (see `ChannelOutbound::detach`).
            write(body, sse_retry(retry.as_millis() as u64)).await;
            *body = None;
        }
    }
}

/// Sends the response (none for a cancelled request) and marks the end for resumers.
async fn finish(log: &Option<Resumable>, body: &mut Option<mpsc::Sender<Bytes>>, reply: Option<Reply>) {
    if let Some(Reply { body: Some(bytes), status, .. }) = reply
        && status != ReplyStatus::Cancelled
    {
        emit(log, body, &bytes).await;
    }
    if let Some(log) = log {
        let _ = log.state.events.append(&log.stream, END).await;
        let mut live = b"\n".to_vec();
        live.extend_from_slice(END);
        let _ = log.state.bus.publish(&live_channel(&log.stream), live).await;
    }
}

/// Resolves when the client has gone (never, if it is already known to have gone).
async fn closed(body: &Option<mpsc::Sender<Bytes>>) {
    match body {
        Some(tx) => tx.closed().await,
        None => std::future::pending().await,
    }
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

/// How a GET stream ends by itself, and the place it holds among the open streams.
pub(super) struct Bounds {
    /// When to end (after an SSE `retry`); `None`: when the client leaves.
    pub ends_at_ms: Option<u64>,
    pub retry: Duration,
    pub keepalive: Duration,
    pub ticket: Ticket,
}

impl Bounds {
    /// Resolves when the stream must end.
    async fn reached(ends_at_ms: Option<u64>) {
        match ends_at_ms {
            Some(at) => tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms()))).await,
            None => std::future::pending().await,
        }
    }

    /// Tells the client when to come back, then gives the stream's place back: the stream
    /// ends right after.
    async fn end(self, tx: &mpsc::Sender<Bytes>) {
        let _ = tx.send(sse_retry(self.retry.as_millis() as u64)).await;
        self.ticket.release().await;
    }
}

/// `GET` with `Last-Event-ID`: replays what followed that event on its stream, then follows
/// the stream live until it ends. `None` if the event is unknown or not `session`'s.
pub(super) async fn resume(
    state: StateHandles,
    session: &str,
    last_event_id: String,
    bounds: Bounds,
) -> StateResult<Option<HttpBody>> {
    let (replay, live) = match open_resumed(&state, session, &last_event_id).await {
        Ok(Some(opened)) => opened,
        // No stream: its place goes back now (nothing runs after a Lambda response ends).
        other => {
            bounds.ticket.release().await;
            return other.map(|_| None);
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    tokio::spawn(async move {
        if replay_then_follow(&tx, replay, live, &bounds).await == Ended::Bounded {
            bounds.end(&tx).await;
        } else {
            bounds.ticket.release().await;
        }
    });
    Ok(Some(body::HttpBody::Stream(
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }).boxed(),
    )))
}

/// The events after `last_event_id` on its stream and the stream's live channel, if the
/// event is known and `session`'s.
async fn open_resumed(
    state: &StateHandles,
    session: &str,
    last_event_id: &str,
) -> StateResult<Option<(Vec<(String, Vec<u8>)>, BoxStream<'static, Vec<u8>>)>> {
    let Some((stream, _)) = state.events.after(last_event_id).await? else { return Ok(None) };
    if !owned_by(&stream, session) {
        return Ok(None);
    }
    // Subscribe before replaying so that nothing falls between the two.
    let live = state.bus.subscribe(&live_channel(&stream)).await?;
    let (_, replay) = state.events.after(last_event_id).await?.unwrap_or_default();
    Ok(Some((replay, live)))
}

/// How a stream stopped.
#[derive(PartialEq)]
enum Ended {
    /// It was done, or its client left.
    Done,
    /// A newer stream of the same session took over: that stream holds the same place.
    TakenOver,
    /// It reached its bound: the client should come back.
    Bounded,
}

async fn replay_then_follow(
    tx: &mpsc::Sender<Bytes>,
    replay: Vec<(String, Vec<u8>)>,
    mut live: BoxStream<'static, Vec<u8>>,
    bounds: &Bounds,
) -> Ended {
    let mut seen = HashSet::new();
    for (id, message) in replay {
        if message == END {
            return Ended::Done;
        }
        if message.is_empty() {
            continue; // the priming event
        }
        seen.insert(id.clone());
        if tx.send(sse_event(Some(&id), &message)).await.is_err() || is_response(&message) {
            return Ended::Done;
        }
    }
    let mut ticker = tokio::time::interval(bounds.keepalive);
    ticker.tick().await;
    let ends = Bounds::reached(bounds.ends_at_ms);
    tokio::pin!(ends);
    loop {
        tokio::select! {
            m = live.next() => {
                let Some(m) = m else { return Ended::Done };
                let Some(split) = m.iter().position(|&b| b == b'\n') else { continue };
                let (id, message) = (String::from_utf8_lossy(&m[..split]).into_owned(), &m[split + 1..]);
                if message == END {
                    return Ended::Done;
                }
                if !seen.insert(id.clone()) {
                    continue;
                }
                if tx.send(sse_event(Some(&id), message)).await.is_err() || is_response(message) {
                    return Ended::Done;
                }
            }
            () = &mut ends => return Ended::Bounded,
            _ = ticker.tick() => {
                if tx.send(Bytes::from_static(SSE_KEEPALIVE)).await.is_err() {
                    return Ended::Done;
                }
            }
        }
    }
}

/// Control messages on a session's channel (never JSON, so never confused with messages).
const CLOSE_SESSION_STREAMS: &[u8] = b"\0close";
const TAKEOVER: &[u8] = b"\0open:";

/// Ends every GET stream of a session (the session was deleted).
pub(super) async fn close_session_streams(state: &StateHandles, session_id: &str) {
    let _ = state.bus.publish(&session_channel(session_id), CLOSE_SESSION_STREAMS.to_vec()).await;
}

/// `GET` without `Last-Event-ID`: the session's own stream of unsolicited messages
/// (resource updates, list changes), fed through the bus from any instance. A session has one
/// such stream: opening another ends the previous one (a message goes on one stream only),
/// and deleting the session ends it.
/// With `after` (the `Last-Event-ID` of an earlier stream of the session), what the session
/// was sent since comes first, from its log.
pub(super) async fn session_stream(
    state: StateHandles,
    session_id: String,
    after: Option<String>,
    bounds: Bounds,
) -> StateResult<HttpBody> {
    let channel = session_channel(&session_id);
    let token = mcp_server::ids::random_id();
    let mut takeover = TAKEOVER.to_vec();
    takeover.extend_from_slice(token.as_bytes());
    let opened = async {
        // Subscribed before the log is read, so that nothing falls between the two.
        let messages: BoxStream<'static, Vec<u8>> = state.bus.subscribe(&channel).await?;
        state.bus.publish(&channel, takeover.clone()).await?;
        let missed = match &after {
            Some(last) => state.events.after(last).await?.map(|(_, events)| events).unwrap_or_default(),
            None => Vec::new(),
        };
        // A priming event (SEP-1699): an id to come back with even if nothing is sent before
        // the stream ends.
        let priming = state.events.append(&session_log(&session_id), b"").await?;
        Ok((messages, missed, priming))
    };
    let (mut messages, missed, priming) = match opened.await {
        Ok(opened) => opened,
        Err(e) => {
            bounds.ticket.release().await;
            return Err(e);
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    tokio::spawn(async move {
        // What was missed first (each with its id), then the priming event, the newest id.
        let mut seen = HashSet::new();
        for (id, message) in missed.into_iter().filter(|(_, m)| !m.is_empty()) {
            seen.insert(id.clone());
            if tx.send(sse_event(Some(&id), &message)).await.is_err() {
                bounds.ticket.release().await;
                return;
            }
        }
        if tx.send(sse_priming(&priming, bounds.retry.as_millis() as u64)).await.is_err() {
            bounds.ticket.release().await;
            return;
        }
        let ended = follow_session(&tx, &mut messages, &takeover, &bounds, &mut seen).await;
        if ended == Ended::Bounded {
            bounds.end(&tx).await;
        } else if ended == Ended::TakenOver {
            bounds.ticket.keep();
        } else {
            bounds.ticket.release().await;
        }
    });
    Ok(HttpBody::Stream(
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }).boxed(),
    ))
}

/// Forwards a session's unsolicited messages until the stream is taken over, closed, left
/// or bounded.
async fn follow_session(
    tx: &mpsc::Sender<Bytes>,
    messages: &mut BoxStream<'static, Vec<u8>>,
    takeover: &[u8],
    bounds: &Bounds,
    seen: &mut HashSet<String>,
) -> Ended {
    let mut ticker = tokio::time::interval(bounds.keepalive);
    ticker.tick().await;
    let ends = Bounds::reached(bounds.ends_at_ms);
    tokio::pin!(ends);
    // A takeover published before our own comes from an older stream: it does not end us.
    let mut announced = false;
    loop {
        let frame = tokio::select! {
            m = messages.next() => match m {
                None => return Ended::Done,
                Some(m) if m == takeover => {
                    announced = true;
                    continue;
                }
                Some(m) if m.starts_with(TAKEOVER) && !announced => continue,
                Some(m) if m == CLOSE_SESSION_STREAMS => return Ended::Done,
                Some(m) if m.starts_with(TAKEOVER) => return Ended::TakenOver,
                Some(m) => match parse_logged(&m) {
                    // Sent already, from the log.
                    Some((id, _)) if seen.contains(id) => continue,
                    Some((id, message)) => sse_event(Some(id), message),
                    None => sse_event(None, &m),
                },
            },
            () = &mut ends => return Ended::Bounded,
            _ = ticker.tick() => Bytes::from_static(SSE_KEEPALIVE),
        };
        if tx.send(frame).await.is_err() {
            return Ended::Done;
        }
    }
}

fn is_response(message: &[u8]) -> bool {
    matches!(jsonrpc::decode(message), Ok(Message::Response(_)))
}
