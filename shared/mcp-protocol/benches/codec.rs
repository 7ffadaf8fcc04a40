//! Codec benchmarks: decode and encode of the messages on the hot path.
//! `cargo bench -p mcp-protocol --bench codec`

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

mod fixtures;

use fixtures::{NOTIFICATION, read_result, tools};
use mcp_protocol::jsonrpc::{self, Message, RequestId};
use mcp_protocol::model::CallToolParams;
use mcp_protocol::model::tools::ListToolsResult;

const TOOLS_CALL: &str = r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":"p-42"}}}"#;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(TOOLS_CALL.len() as u64));
    g.bench_function("tools/call envelope", |b| {
        b.iter(|| match jsonrpc::decode(black_box(TOOLS_CALL.as_bytes())) {
            Ok(Message::Request(r)) => black_box(r.params.is_some()),
            _ => unreachable!(),
        })
    });
    g.bench_function("tools/call envelope + typed params", |b| {
        b.iter(|| match jsonrpc::decode(black_box(TOOLS_CALL.as_bytes())) {
            Ok(Message::Request(r)) => black_box(r.params_as::<CallToolParams>().map(|p| p.name.len()).unwrap_or(0)),
            _ => unreachable!(),
        })
    });
    g.bench_function("notification", |b| {
        b.iter(|| black_box(jsonrpc::decode(black_box(NOTIFICATION.as_bytes())).is_ok()))
    });
    let list = jsonrpc::encode_result(&RequestId::Number(1), &tools(50));
    g.throughput(Throughput::Bytes(list.len() as u64));
    g.bench_function("tools/list result, 50 tools", |b| {
        b.iter(|| match jsonrpc::decode(black_box(&list)) {
            Ok(Message::Response(r)) => {
                black_box(serde_json::from_str::<ListToolsResult>(r.outcome.unwrap().get()).unwrap().tools.len())
            }
            _ => unreachable!(),
        })
    });
    g.finish();

    let mut g = c.benchmark_group("encode");
    let id = RequestId::Number(1);
    let list = tools(50);
    g.bench_function("tools/list result, 50 tools", |b| {
        b.iter(|| black_box(jsonrpc::encode_result(&id, black_box(&list)).len()))
    });
    g.bench_function("tools/call request", |b| {
        b.iter_batched(
            || json!({"name":"echo","arguments":{"text":"hello world"}}),
            |params| black_box(jsonrpc::encode_request(&id, "tools/call", &params).len()),
            BatchSize::SmallInput,
        )
    });
    let read = read_result();
    g.throughput(Throughput::Bytes(100 * 1024));
    g.bench_function("resources/read result, 100 KB", |b| {
        b.iter(|| black_box(jsonrpc::encode_result(&id, black_box(&read)).len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
