//! Backend faults with real processes: redis-server stopped and restarted, the DynamoDB
//! endpoint (moto) stopped and restarted, or paused (`SIGSTOP`: it accepts connections and
//! answers nothing), between requests and under load. Each test runs its own server process
//! on a free loopback port, so stopping it disturbs nothing else. Run by `tests/run` (it puts
//! redis-server on PATH and names moto's binary in `MCP_TEST_MOTO_BIN`); ignored otherwise.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use e2e::workload::{HANG, Workload};
use e2e::{Collected, backends, instances, meta};
use mcp_server::{HttpHeaders, Inbound, Outbound, Router, Transport};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process stopped (and reaped) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn redis_server(port: u16) -> Process {
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH");
    wait_for_port(port);
    Process(child)
}

/// Sends `signal` (`STOP`, `CONT`) to a process.
fn signal(process: &Process, signal: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), &process.0.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -{signal}");
}

fn moto(port: u16) -> Process {
    let bin = std::env::var("MCP_TEST_MOTO_BIN").expect("MCP_TEST_MOTO_BIN");
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    Process(child)
}

fn http(session: Option<&str>, version: &str, method: &str, name: Option<&str>) -> Inbound {
    let headers = HttpHeaders {
        protocol_version: Some(version.into()),
        method: Some(method.into()),
        name: name.map(str::to_owned),
        params: vec![],
    };
    Inbound { session_id: session.map(str::to_owned), http: Some(headers), ..Inbound::new(Transport::Http) }
}

async fn send(r: &Router, inbound: &Inbound, message: Value) -> (Value, Option<String>) {
    let out: Arc<dyn Outbound> = Arc::new(Collected::default());
    let reply = r.handle(message.to_string().as_bytes(), inbound, out).await;
    (reply.body.map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or(Value::Null), reply.new_session)
}

async fn initialize(r: &Router) -> String {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"f","version":"1"}}});
    let inbound = Inbound { http: Some(HttpHeaders::default()), ..Inbound::new(Transport::Http) };
    let (body, session) = send(r, &inbound, init).await;
    assert!(body["result"].is_object(), "initialize: {body}");
    session.unwrap()
}

async fn echo_in_session(r: &Router, session: &str, text: &str) -> Value {
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":text}}});
    send(r, &http(Some(session), "2025-11-25", "tools/call", Some("echo")), call).await.0
}

async fn echo_stateless(r: &Router, text: &str) -> Value {
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":text},"_meta":meta(json!({}))}});
    send(r, &http(None, "2026-07-28", "tools/call", Some("echo")), call).await.0
}

#[tokio::test]
#[ignore = "needs DynamoDB and redis-server: run through tests/run"]
async fn redis_stopped_and_restarted_loses_nothing() {
    let endpoint = std::env::var("MCP_TEST_DYNAMODB_ENDPOINT").expect("MCP_TEST_DYNAMODB_ENDPOINT");
    let port = free_port();
    let redis = redis_server(port);
    let state = backends(&endpoint, &format!("redis://127.0.0.1:{port}"), "faults-redis").await;
    let r = instances(&state, 2, None);
    let before = initialize(&r[0]).await;
    assert_eq!(echo_in_session(&r[1], &before, "warm").await["result"]["content"][0]["text"], "warm");
    let uri = format!("note://faults-{}", mcp_server::ids::random_id().replace(['-', '_'], ""));
    let subscribe = json!({"jsonrpc":"2.0","id":3,"method":"resources/subscribe","params":{"uri":uri}});
    let (body, _) = send(&r[1], &http(Some(&before), "2025-11-25", "resources/subscribe", None), subscribe).await;
    assert_eq!(body["result"], json!({}), "subscribe: {body}");

    drop(redis);
    // Redis down: every request still succeeds, from DynamoDB where it needs state.
    assert_eq!(echo_stateless(&r[1], "stateless").await["result"]["content"][0]["text"], "stateless");
    assert_eq!(echo_in_session(&r[1], &before, "l1 falls back").await["result"]["content"][0]["text"], "l1 falls back");
    let during = initialize(&r[0]).await;
    assert_eq!(echo_in_session(&r[1], &during, "new session").await["result"]["content"][0]["text"], "new session");

    let _redis = redis_server(port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while state.versions.current("probe").await.is_err() {
        assert!(Instant::now() < deadline, "no reconnection to Redis");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Back: nothing was lost, and the L1 path works again.
    for s in [&before, &during] {
        assert!(state.sessions.get(s).await.unwrap().is_some(), "session {s} survived");
        assert_eq!(echo_in_session(&r[0], s, "after").await["result"]["content"][0]["text"], "after");
    }
    let topic = mcp_server::notifier::resource_topic(e2e::REFERENCE, &uri);
    let rows = state.subscriptions.subscribers(&topic).await.unwrap();
    assert!(rows.iter().any(|row| row.id == before), "the subscription survived");
}

#[tokio::test]
#[ignore = "needs moto and Redis: run through tests/run"]
async fn dynamodb_stopped_gives_retryable_errors_and_recovers() {
    let redis_url = std::env::var("MCP_TEST_REDIS_URL").expect("MCP_TEST_REDIS_URL");
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let dynamo = moto(port);
    let state = backends(&endpoint, &redis_url, "faults-dynamodb").await;
    let r = instances(&state, 2, None);
    initialize(&r[0]).await;

    drop(dynamo);
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"f","version":"1"}}});
    let inbound = Inbound { http: Some(HttpHeaders::default()), ..Inbound::new(Transport::Http) };
    let (body, _) = tokio::time::timeout(HANG, send(&r[1], &inbound, init)).await.expect("bounded retries, no hang");
    assert_eq!(body["error"]["code"], -32603, "an internal error: {body}");
    assert_eq!(body["error"]["data"]["retryable"], true, "with a retryable hint: {body}");
    // Requests that need no state are not affected.
    assert_eq!(echo_stateless(&r[1], "still").await["result"]["content"][0]["text"], "still");

    let _dynamo = moto(port);
    // moto keeps its data in memory: the table comes back empty, as after a restore.
    let again = backends(&endpoint, &redis_url, "faults-dynamodb").await;
    drop(again);
    let session = initialize(&r[1]).await;
    assert_eq!(echo_in_session(&r[0], &session, "recovered").await["result"]["content"][0]["text"], "recovered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto and redis-server: run through tests/run"]
async fn redis_killed_and_dynamodb_stalled_under_load_lose_nothing_acknowledged() {
    let (redis_port, moto_port) = (free_port(), free_port());
    let redis = redis_server(redis_port);
    let dynamo = moto(moto_port);
    let state =
        backends(&format!("http://127.0.0.1:{moto_port}"), &format!("redis://127.0.0.1:{redis_port}"), "faults-load")
            .await;
    let workload = Workload::new(instances(&state, 3, None));
    let load = tokio::spawn({
        let w = workload.clone();
        async move { w.run(4, usize::MAX).await }
    });

    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(redis);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _redis = redis_server(redis_port);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // DynamoDB stops answering for longer than one call's deadline, then comes back with
    // its data (a network partition, not a restore).
    signal(&dynamo, "STOP");
    tokio::time::sleep(Duration::from_secs(6)).await;
    signal(&dynamo, "CONT");
    tokio::time::sleep(Duration::from_secs(1)).await;
    workload.stop();
    let acked = load.await.unwrap();

    assert!(acked.retryable_errors > 0, "the faults were seen, as retryable errors: {acked:?}");
    assert!(acked.succeeded > 20 && !acked.notes.is_empty(), "work got done around them: {acked:?}");
    acked.check(&state).await;
}
