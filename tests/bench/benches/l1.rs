//! The warm instance's in-process lookups, per second on one core: a session through L1
//! (the cached copy, revalidated against its version), and a catalogue entry (a tool by
//! name, and the pre-encoded `tools/list` page). `cargo bench -p mcp-bench --bench l1`
//!
//! Versions come from the in-memory store here; in a deployment that revalidation is the one
//! Redis call of a warm session-era request (`tests/out/remote-calls.md`), which this figure
//! leaves out on purpose: it is the instance's own cost.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use mcp_protocol::model::CallToolResult;
use mcp_protocol::model::{ClientCapabilities, Implementation};
use mcp_server::state::{DeliveryTarget, SessionRecord, now_ms};
use mcp_server::{StateHandles, ToolDef};

const SESSIONS: usize = 10_000;
const TOOLS: usize = 50;
const MEASURE: Duration = Duration::from_secs(2);

fn session(i: usize) -> SessionRecord {
    SessionRecord {
        id: format!("session-{i:05}-8c1f0d3b9a2e4f6a"),
        protocol_version: "2025-11-25".into(),
        client_capabilities: ClientCapabilities::default(),
        client_info: Implementation { name: "bench".into(), version: "1".into(), ..Default::default() },
        log_level: None,
        initialized: true,
        principal: Some("alice".into()),
        server: Some("suite".into()),
        delivery: DeliveryTarget::Connection(format!("conn-{i}")),
        created_at_ms: now_ms(),
        expires_at_ms: now_ms() + 3_600_000,
    }
}

/// Runs `lookup` for `budget`; returns lookups per second.
fn rate(budget: Duration, mut lookup: impl FnMut(usize)) -> f64 {
    let started = Instant::now();
    let mut done = 0usize;
    while started.elapsed() < budget {
        for _ in 0..1_000 {
            lookup(done);
            done += 1;
        }
    }
    done as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let state = StateHandles::in_memory().with_l1();
    let ids: Vec<String> = runtime.block_on(async {
        let mut ids = Vec::with_capacity(SESSIONS);
        for i in 0..SESSIONS {
            let s = session(i);
            state.sessions.create(&s).await.unwrap();
            state.sessions.get(&s.id).await.unwrap().unwrap();
            ids.push(s.id);
        }
        ids
    });
    // A stride coprime with the count visits every session in a scattered order; the loop
    // runs inside the runtime, so the figure is the lookup's, not `block_on`'s.
    let budget = if benchmarking { MEASURE } else { Duration::from_millis(20) };
    let sessions = runtime.block_on(async {
        let started = Instant::now();
        let mut done = 0usize;
        while started.elapsed() < budget {
            for _ in 0..1_000 {
                let found = state.sessions.get(&ids[(done * 7_919) % SESSIONS]).await.unwrap();
                black_box(found.unwrap());
                done += 1;
            }
        }
        done as f64 / started.elapsed().as_secs_f64()
    });

    let mut builder = mcp_server::Server::builder("bench", "1");
    for i in 0..TOOLS {
        let tool = ToolDef::builder(format!("tool_{i:02}"))
            .description("Returns its text")
            .input_schema(serde_json::json!({"type": "object", "properties": {"text": {"type": "string"}}}))
            .raw_handler(|_, _| Box::pin(async { Ok(CallToolResult::text("ok")) }))
            .unwrap();
        builder = builder.tool(tool);
    }
    let server = builder.build().unwrap();
    let names: Vec<String> = (0..TOOLS).map(|i| format!("tool_{i:02}")).collect();
    let tools = rate(budget, |n| {
        black_box(server.tool(&names[n % TOOLS]).unwrap());
    });

    println!("| L1 lookup (one core) | lookups/s |");
    println!("|---|---:|");
    println!("| session by id, {SESSIONS} cached, version revalidated | {sessions:.0} |");
    println!("| tool by name, {TOOLS}-tool catalogue | {tools:.0} |");
}
