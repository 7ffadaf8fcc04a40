//! Decode and encode of the same messages by our codec and by rmcp's message types.
//! `cargo bench -p mcp-bench --bench codec_vs_rmcp`; each group has an `ours` and an `rmcp`
//! function, so criterion's report puts them side by side.
//!
//! What each side does is what a server or client built on it does with the bytes: ours decodes
//! the envelope (borrowed method, raw params) and then the typed params; rmcp decodes into its
//! typed message enums (`ClientJsonRpcMessage`, `ServerJsonRpcMessage`). Encoding starts from
//! each side's typed value of the same content.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../../../shared/mcp-protocol/benches/fixtures/mod.rs"]
mod fixtures;

use fixtures::{NOTIFICATION, read_result, tools};
use mcp_protocol::jsonrpc::{self, Message, RequestId};
use mcp_protocol::model::notifications::CancelledParams;
use mcp_protocol::model::tools::ListToolsResult;
use mcp_protocol::model::{CallToolParams, ReadResourceResult};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};

/// A 2025-11-25 `tools/call` request (~200 bytes), which both sides speak.
const TOOLS_CALL: &str = r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world","count":3,"flags":["a","b"]},"_meta":{"progressToken":"p-42"}}}"#;
fn decode(c: &mut Criterion) {
    let list = jsonrpc::encode_result(&RequestId::Number(1), &tools(50));
    let read = jsonrpc::encode_result(&RequestId::Number(2), &read_result());
    let cases: [(&str, &[u8]); 4] = [
        ("decode tools/call request", TOOLS_CALL.as_bytes()),
        ("decode notification", NOTIFICATION.as_bytes()),
        ("decode tools/list result (50 tools)", &list),
        ("decode resources/read result (100 KB)", &read),
    ];
    for (name, bytes) in cases {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("ours", |b| {
            b.iter(|| match jsonrpc::decode(black_box(bytes)).unwrap() {
                Message::Request(r) => black_box(r.params_as::<CallToolParams>().unwrap().name.len()),
                Message::Notification(n) => {
                    black_box(n.params_as::<CancelledParams>().unwrap().reason.map_or(0, |r| r.len()))
                }
                Message::Response(r) => {
                    let raw = r.outcome.unwrap();
                    if name.contains("tools/list") {
                        black_box(serde_json::from_str::<ListToolsResult>(raw.get()).unwrap().tools.len())
                    } else {
                        black_box(serde_json::from_str::<ReadResourceResult>(raw.get()).unwrap().contents.len())
                    }
                }
            })
        });
        g.bench_function("rmcp", |b| {
            if name.contains("result") {
                b.iter(|| black_box(serde_json::from_slice::<ServerJsonRpcMessage>(black_box(bytes)).unwrap()))
            } else {
                b.iter(|| black_box(serde_json::from_slice::<ClientJsonRpcMessage>(black_box(bytes)).unwrap()))
            }
        });
        g.finish();
    }
}

fn encode(c: &mut Criterion) {
    let id = RequestId::Number(1);
    let ours_list = tools(50);
    let list_bytes = jsonrpc::encode_result(&id, &ours_list);
    let rmcp_list: ServerJsonRpcMessage = serde_json::from_slice(&list_bytes).unwrap();
    let ours_read = read_result();
    let read_bytes = jsonrpc::encode_result(&id, &ours_read);
    let rmcp_read: ServerJsonRpcMessage = serde_json::from_slice(&read_bytes).unwrap();
    let ours_call: CallToolParams = match jsonrpc::decode(TOOLS_CALL.as_bytes()).unwrap() {
        Message::Request(r) => r.params_as().unwrap(),
        _ => unreachable!(),
    };
    let rmcp_call: ClientJsonRpcMessage = serde_json::from_str(TOOLS_CALL).unwrap();

    let mut g = c.benchmark_group("encode tools/call request");
    g.bench_function("ours", |b| {
        b.iter(|| black_box(jsonrpc::encode_request(&RequestId::Number(42), "tools/call", black_box(&ours_call)).len()))
    });
    g.bench_function("rmcp", |b| b.iter(|| black_box(serde_json::to_vec(black_box(&rmcp_call)).unwrap().len())));
    g.finish();

    let mut g = c.benchmark_group("encode tools/list result (50 tools)");
    g.throughput(Throughput::Bytes(list_bytes.len() as u64));
    g.bench_function("ours", |b| b.iter(|| black_box(jsonrpc::encode_result(&id, black_box(&ours_list)).len())));
    g.bench_function("rmcp", |b| b.iter(|| black_box(serde_json::to_vec(black_box(&rmcp_list)).unwrap().len())));
    g.finish();

    let mut g = c.benchmark_group("encode resources/read result (100 KB)");
    g.throughput(Throughput::Bytes(read_bytes.len() as u64));
    g.bench_function("ours", |b| b.iter(|| black_box(jsonrpc::encode_result(&id, black_box(&ours_read)).len())));
    g.bench_function("rmcp", |b| b.iter(|| black_box(serde_json::to_vec(black_box(&rmcp_read)).unwrap().len())));
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
