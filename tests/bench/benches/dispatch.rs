//! In-process dispatch: the JSON of an API Gateway WebSocket event (what the `ws-message`
//! function receives) in, the reply bytes handed to `@connections` out, through the real edge
//! and router with in-memory state. `cargo bench -p mcp-bench --bench dispatch`
//!
//! Each request is timed on its own (one thread, after a warm-up), so the report gives the
//! median and the 99th percentile, not only a mean.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use serde_json::json;

use mcp_edge::origin::OriginPolicy;
use mcp_edge::websocket::WebSocketEdge;
use mcp_server::{ConnectionSink, PostError, RequestStateCodec, Router, RouterConfig, StateHandles};

const WARM_UP: usize = 2_000;
const SAMPLES: usize = 20_000;
/// Under `cargo test` (no `--bench` argument) a few rounds show that every case works.
const TEST_ROUNDS: usize = 20;

/// `@connections` that keeps nothing: the bytes are counted, as a post would send them.
#[derive(Default)]
struct Sent(AtomicUsize);

#[async_trait]
impl ConnectionSink for Sent {
    async fn post(&self, _connection_id: &str, message: Vec<u8>) -> Result<(), PostError> {
        self.0.fetch_add(black_box(message).len(), Ordering::Relaxed);
        Ok(())
    }

    async fn close(&self, _connection_id: &str) -> Result<(), PostError> {
        Ok(())
    }
}

/// The event API Gateway delivers for a text frame on `connection`, as JSON bytes.
fn event(connection: &str, body: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "requestContext": {
            "routeKey": "$default", "eventType": "MESSAGE", "messageDirection": "IN", "stage": "prod",
            "connectedAt": 1795815600000u64, "requestTimeEpoch": 1795815601456u64,
            "requestId": "CjR4ZHc1oAMFcGw=", "messageId": "CjR4ZfLmoAMCJ-w=",
            "domainName": "abc123def4.execute-api.us-east-1.amazonaws.com",
            "connectionId": connection, "apiId": "abc123def4",
        },
        "body": body.to_string(),
        "isBase64Encoded": false,
    }))
    .unwrap()
}

fn meta() -> serde_json::Value {
    json!({ "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let (warm_up, samples) = if benchmarking { (WARM_UP, SAMPLES) } else { (TEST_ROUNDS, TEST_ROUNDS) };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sent = Arc::new(Sent::default());
    let sink: Arc<dyn ConnectionSink> = sent.clone();
    let router = Arc::new(Router::new(
        Arc::new(reference_server::server().unwrap()),
        StateHandles::in_memory().with_l1(),
        RequestStateCodec::ephemeral(),
        RouterConfig::default(),
        Some(sink.clone()),
    ));
    let edge = WebSocketEdge::new(router, sink, OriginPolicy::loopback());
    let handle = |bytes: &[u8]| {
        let event: ApiGatewayWebsocketProxyRequest = serde_json::from_slice(bytes).unwrap();
        runtime.block_on(edge.handle(event))
    };

    // A session-era connection: initialized once, its session then served from L1.
    let initialize = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "bench", "version": "1" } } });
    handle(&event("session-conn", &initialize));
    handle(&event("session-conn", &json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })));

    let cases = [
        (
            "2026-07-28 tools/list",
            event(
                "stateless-conn",
                &json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": { "_meta": meta() } }),
            ),
        ),
        (
            "2026-07-28 tools/call (echo)",
            event(
                "stateless-conn",
                &json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": { "name": "echo", "arguments": { "text": "hello" }, "_meta": meta() } }),
            ),
        ),
        (
            "2025-11-25 tools/call (echo), session in L1",
            event(
                "session-conn",
                &json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call",
                    "params": { "name": "echo", "arguments": { "text": "hello" } } }),
            ),
        ),
    ];
    println!("| request (API Gateway event JSON in, reply bytes out) | median | p99 | mean |");
    println!("|---|---|---|---|");
    for (name, bytes) in &cases {
        for _ in 0..warm_up {
            handle(bytes);
        }
        let before = sent.0.load(Ordering::Relaxed);
        let mut times: Vec<Duration> = (0..samples)
            .map(|_| {
                let start = Instant::now();
                black_box(handle(black_box(bytes)));
                start.elapsed()
            })
            .collect();
        assert!(sent.0.load(Ordering::Relaxed) > before, "{name}: replies were posted");
        times.sort_unstable();
        let mean = times.iter().sum::<Duration>() / u32::try_from(samples).unwrap();
        println!("| {name} | {:.1?} | {:.1?} | {:.1?} |", percentile(&times, 0.5), percentile(&times, 0.99), mean);
    }
}
