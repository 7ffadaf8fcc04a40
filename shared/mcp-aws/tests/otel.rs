//! The OpenTelemetry exporter (feature `otel`) against a loopback OTLP/HTTP endpoint: a
//! message whose `_meta` carries a `traceparent` is exported as a span of the caller's
//! trace, a child of the caller's span, named by its method.

#![cfg(feature = "otel")]
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing_subscriber::layer::SubscriberExt;

use mcp_aws::otel::Exporter;
use mcp_server::{Inbound, Outbound, RequestStateCodec, Router, RouterConfig, StateHandles, Transport};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// Every request the endpoint received: its request line and its body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A collector stand-in: reads each HTTP/1.1 request whole and answers `200`.
async fn collector() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let received = Received::default();
    let kept = received.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if buffer.len() < end + 4 + length {
                        continue;
                    }
                    let line = head.lines().next().unwrap_or_default().to_owned();
                    kept.lock().unwrap().push((line, buffer[end + 4..end + 4 + length].to_vec()));
                    buffer.drain(..end + 4 + length);
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
                }
            });
        }
    });
    (url, received)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "current_thread")]
async fn a_traced_message_is_exported_as_a_span_of_the_callers_trace() {
    let (url, received) = collector().await;
    let exporter = Exporter::new(&url, "otel-test").unwrap();
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(exporter.layer()));
    let server = Arc::new(reference_server::server().unwrap());
    let router =
        Router::new(server, StateHandles::in_memory(), RequestStateCodec::ephemeral(), RouterConfig::default(), None);
    let message = serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{
    "name":"echo","arguments":{"text":"hi"},
    "_meta":{
        "io.modelcontextprotocol/protocolVersion":"2026-07-28",
        "io.modelcontextprotocol/clientCapabilities":{},
        "traceparent": format!("00-{TRACE_ID}-{PARENT_ID}-01"),
    }}});
    let out: Arc<dyn Outbound> = Arc::new(mcp_server::outbound::Discard);
    router.handle(message.to_string().as_bytes(), &Inbound::new(Transport::Http), out).await;
    exporter.flush().await;

    let received = received.lock().unwrap();
    let (line, body) = received.first().expect("one export");
    assert!(line.starts_with("post /v1/traces "), "{line}");
    assert!(contains(body, &hex(TRACE_ID)), "the caller's trace id");
    assert!(contains(body, &hex(PARENT_ID)), "the caller's span as parent");
    assert!(contains(body, b"tools/call"), "the span named by its method");
    assert!(contains(body, b"otel-test"), "the service name");
}
