//! stdio: newline-delimited JSON-RPC on stdin/stdout, one session per process. Desktop
//! clients launch the server this way.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use mcp_protocol::jsonrpc;
use mcp_protocol::{ErrorCode, ErrorObject};
use mcp_server::router::session_channel;
use mcp_server::{Inbound, Outbound, OutboundClosed, ReplyStatus, Router, Transport};

use crate::limits::MAX_MESSAGE_BYTES;

/// The session id of the process's one session.
const STDIO_SESSION: &str = "stdio";
/// After stdin closes, requests still running get this long to finish.
const DRAIN: Duration = Duration::from_secs(5);

struct LineOutbound(mpsc::Sender<Vec<u8>>);

#[async_trait]
impl Outbound for LineOutbound {
    async fn send(&self, message: Vec<u8>) -> Result<(), OutboundClosed> {
        self.0.send(message).await.map_err(|_| OutboundClosed("stdout closed".into()))
    }
}

/// One line of input, read with a bound: an over-long line is consumed and reported, never
/// buffered whole.
enum Line {
    Message(Vec<u8>),
    TooLong,
    End,
}

async fn read_line<R: AsyncRead + Unpin>(input: &mut BufReader<R>) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let limit = MAX_MESSAGE_BYTES as u64 + 1;
    if (&mut *input).take(limit).read_until(b'\n', &mut line).await? == 0 {
        return Ok(Line::End);
    }
    if line.last() == Some(&b'\n') || line.len() as u64 <= MAX_MESSAGE_BYTES as u64 {
        return Ok(Line::Message(line));
    }
    // Skip the rest of the line in bounded chunks.
    loop {
        let mut rest = Vec::new();
        let n = (&mut *input).take(64 * 1024).read_until(b'\n', &mut rest).await?;
        if n == 0 || rest.last() == Some(&b'\n') {
            return Ok(Line::TooLong);
        }
    }
}

/// Serves until `input` ends. Requests run concurrently; every message is one line.
pub async fn serve<R, W>(router: Arc<Router>, input: R, output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(mut line) = rx.recv().await {
            line.push(b'\n');
            if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });
    // Unsolicited messages of the session (resource updates, list changes).
    let forwarder = match router.state().bus.subscribe(&session_channel(STDIO_SESSION)).await {
        Ok(mut unsolicited) => {
            let tx = tx.clone();
            Some(tokio::spawn(async move {
                while let Some(m) = unsolicited.next().await {
                    // Logged messages carry their event id (for HTTP GET streams): stdio has
                    // no use for it.
                    let m = match mcp_server::router::parse_logged(&m) {
                        Some((_, message)) => message.to_vec(),
                        None => m,
                    };
                    if tx.send(m).await.is_err() {
                        break;
                    }
                }
            }))
        }
        Err(_) => None,
    };
    let mut tasks = JoinSet::new();
    let mut input = BufReader::new(input);
    loop {
        // Finished requests leave the set as they finish, not at EOF.
        while tasks.try_join_next().is_some() {}
        let message = match read_line(&mut input).await? {
            Line::End => break,
            Line::TooLong => {
                let e = ErrorObject::new(
                    ErrorCode::LIMIT_EXCEEDED,
                    format!("message exceeds the {MAX_MESSAGE_BYTES} byte limit"),
                );
                let _ = tx.send(jsonrpc::encode_error(None, &e)).await;
                continue;
            }
            Line::Message(m) if m.iter().all(u8::is_ascii_whitespace) => continue,
            Line::Message(m) => m,
        };
        let (router, tx) = (router.clone(), tx.clone());
        tasks.spawn(async move {
            let inbound = Inbound {
                transport: Transport::Stdio,
                session_id: Some(STDIO_SESSION.to_owned()),
                principal: None,
                http: None,
                credential_expires_at_ms: None,
                stream_until_ms: None,
            };
            let out = Arc::new(LineOutbound(tx.clone()));
            let reply = router.handle(&message, &inbound, out).await;
            if let Some(body) = reply.body.filter(|_| reply.status != ReplyStatus::Cancelled) {
                let _ = tx.send(body).await;
            }
        });
    }
    // End of input: the client is gone. Requests still running get a moment to finish; then
    // everything (listen streams, the unsolicited-message forwarder) stops, and the writer
    // drains and ends.
    drop(tx);
    if let Some(f) = forwarder {
        f.abort();
    }
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.shutdown().await;
    let _ = writer.await;
    Ok(())
}
