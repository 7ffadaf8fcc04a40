//! stdio: newline-delimited JSON-RPC on stdin/stdout, one session per process. Desktop
//! clients launch the server this way.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use mcp_protocol::jsonrpc;
use mcp_protocol::{ErrorCode, ErrorObject};
use mcp_server::router::session_channel;
use mcp_server::{Inbound, Outbound, OutboundClosed, Router, Transport};

use crate::limits::MAX_MESSAGE_BYTES;

/// The session id of the process's one session.
const STDIO_SESSION: &str = "stdio";

struct LineOutbound(mpsc::Sender<Vec<u8>>);

#[async_trait]
impl Outbound for LineOutbound {
    async fn send(&self, message: Vec<u8>) -> Result<(), OutboundClosed> {
        self.0.send(message).await.map_err(|_| OutboundClosed("stdout closed".into()))
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
                    if tx.send(m).await.is_err() {
                        break;
                    }
                }
            }))
        }
        Err(_) => None,
    };
    let mut lines = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if line.len() > MAX_MESSAGE_BYTES {
            let e = ErrorObject::new(
                ErrorCode::LIMIT_EXCEEDED,
                format!("message exceeds the {MAX_MESSAGE_BYTES} byte limit"),
            );
            let _ = tx.send(jsonrpc::encode_error(None, &e)).await;
            continue;
        }
        let message = std::mem::take(&mut line);
        let (router, tx) = (router.clone(), tx.clone());
        tokio::spawn(async move {
            let inbound = Inbound {
                transport: Transport::Stdio,
                session_id: Some(STDIO_SESSION.to_owned()),
                principal: None,
                http: None,
            };
            let out = Arc::new(LineOutbound(tx.clone()));
            if let Some(body) = router.handle(&message, &inbound, out).await.body {
                let _ = tx.send(body).await;
            }
        });
    }
    // End of input: in-flight requests finish, then the writer drains and stops.
    if let Some(f) = forwarder {
        f.abort();
    }
    drop(tx);
    let _ = writer.await;
    Ok(())
}
