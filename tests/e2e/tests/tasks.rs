//! Tasks (the tasks extension) across instances: a task started on one instance is
//! followed, cancelled and collected on others, and another principal sees none of it.
//! With the test command's backends (DynamoDB, Redis) these run against them; otherwise in
//! memory.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use e2e::{Collected, meta, shared_state};
use mcp_server::{HttpHeaders, Inbound, Outbound, RequestStateCodec, Router, RouterConfig, Transport};

/// Three instances of the reference server over one state, running tasks in this process.
async fn instances() -> Vec<Router> {
    instances_with(RouterConfig { run_tasks: true, ..RouterConfig::default() }).await
}

async fn instances_with(config: RouterConfig) -> Vec<Router> {
    let state = shared_state().await;
    let codec = RequestStateCodec::ephemeral();
    (0..3)
        .map(|_| {
            let server = Arc::new(reference_server::server().unwrap());
            Router::new(server, state.clone().with_l1(), codec.clone(), config.clone(), None)
        })
        .collect()
}

/// A 2026-07-28 request over HTTP from `principal`, declaring the tasks extension.
async fn request(router: &Router, principal: &str, method: &str, name: &str, params: Value) -> Value {
    let headers = HttpHeaders {
        protocol_version: Some("2026-07-28".into()),
        method: Some(method.into()),
        name: Some(name.into()),
        params: Vec::new(),
    };
    let inbound = Inbound { principal: Some(principal.into()), http: Some(headers), ..Inbound::new(Transport::Http) };
    send(router, &inbound, method, params).await
}

/// The same request over a WebSocket connection of its own.
async fn request_over_websocket(router: &Router, principal: &str, method: &str, params: Value) -> Value {
    let connection = mcp_server::ids::random_id();
    let inbound = Inbound {
        principal: Some(principal.into()),
        session_id: Some(connection),
        ..Inbound::new(Transport::WebSocket)
    };
    send(router, &inbound, method, params).await
}

async fn send(router: &Router, inbound: &Inbound, method: &str, mut params: Value) -> Value {
    params["_meta"] = meta(json!({ "extensions": { "io.modelcontextprotocol/tasks": {} } }));
    let message = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let out = Arc::new(Collected::default()) as Arc<dyn Outbound>;
    let reply = router.handle(message.to_string().as_bytes(), inbound, out).await;
    serde_json::from_slice(&reply.body.unwrap()).unwrap()
}

async fn start_survey(router: &Router, principal: &str, sources: u32) -> String {
    let params = json!({ "name": "survey", "arguments": { "topic": "tides", "sources": sources } });
    let handle = request(router, principal, "tools/call", "survey", params).await;
    assert_eq!(handle["result"]["resultType"], "task", "{handle}");
    handle["result"]["taskId"].as_str().unwrap().to_owned()
}

async fn get(router: &Router, principal: &str, task: &str) -> Value {
    request(router, principal, "tasks/get", task, json!({ "taskId": task })).await
}

/// Polls `tasks/get` on `router` until the task is in a final status (10 s at most).
async fn finished(router: &Router, principal: &str, task: &str) -> Value {
    for _ in 0..100 {
        let got = get(router, principal, task).await;
        if ["completed", "failed", "cancelled"].contains(&got["result"]["status"].as_str().unwrap_or_default()) {
            return got["result"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {task} did not finish");
}

#[tokio::test]
async fn a_task_started_on_one_instance_is_collected_on_another_and_hidden_from_other_principals() {
    let r = instances().await;
    let task = start_survey(&r[0], "alice", 2).await;
    // Readable at once, anywhere: the handle came only after the task was written.
    assert!(get(&r[1], "alice", &task).await["result"]["status"].is_string());
    // The work's progress shows as the task's status message.
    let mut seen = None;
    for _ in 0..30 {
        let got = get(&r[1], "alice", &task).await;
        if let Some(message) = got["result"]["statusMessage"].as_str() {
            seen = Some(message.to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.as_deref().is_some_and(|m| m.ends_with("of 2")), "{seen:?}");
    let done = finished(&r[2], "alice", &task).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["structuredContent"]["sources"], 2);
    // Collected over another transport too: a WebSocket connection that did not start it.
    let over_websocket = request_over_websocket(&r[1], "alice", "tasks/get", json!({ "taskId": task })).await;
    assert_eq!(over_websocket["result"]["result"], done["result"], "{over_websocket}");
    // Another principal's tasks/get, update and cancel are answered as for an unknown id.
    for method in ["tasks/get", "tasks/cancel", "tasks/update"] {
        let refused = request(&r[1], "bob", method, &task, json!({ "taskId": task, "inputResponses": {} })).await;
        assert_eq!(refused["error"]["code"], -32602, "{method}: {refused}");
    }
}

#[tokio::test]
async fn a_task_cancelled_on_another_instance_stops_and_stays_cancelled() {
    let r = instances().await;
    let task = start_survey(&r[0], "alice", 60).await;
    let ack = request(&r[1], "alice", "tasks/cancel", &task, json!({ "taskId": task })).await;
    assert_eq!(ack["result"], json!({ "resultType": "complete", "_meta": ack["result"]["_meta"] }), "{ack}");
    let done = finished(&r[2], "alice", &task).await;
    assert_eq!(done["status"], "cancelled", "{done}");
    // The work on the first instance was told to stop: nothing it does later replaces the
    // final status (a second cancel is acknowledged and changes nothing either).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = request(&r[2], "alice", "tasks/cancel", &task, json!({ "taskId": task })).await;
    assert_eq!(again["result"]["resultType"], "complete");
    let later = get(&r[1], "alice", &task).await;
    assert_eq!(later["result"]["status"], "cancelled");
    assert_eq!(later["result"]["lastUpdatedAt"], done["lastUpdatedAt"], "no write after the cancellation");
}

#[tokio::test]
async fn a_principal_holds_at_most_its_cap_of_unfinished_tasks_and_a_cancel_gives_a_place_back() {
    let config = RouterConfig { run_tasks: true, max_tasks_per_principal: Some(2), ..RouterConfig::default() };
    let r = instances_with(config).await;
    // Principals unique to this run: the backends may outlive one run.
    let (alice, bob) = (mcp_server::ids::random_id(), mcp_server::ids::random_id());
    let first = start_survey(&r[0], &alice, 60).await;
    start_survey(&r[1], &alice, 60).await;
    let params = json!({ "name": "survey", "arguments": { "topic": "tides", "sources": 60 } });
    let third = request(&r[2], &alice, "tools/call", "survey", params.clone()).await;
    assert_eq!(third["error"]["code"], -32010, "{third}");
    start_survey(&r[2], &bob, 1).await;
    request(&r[0], &alice, "tasks/cancel", &first, json!({ "taskId": first })).await;
    let again = request(&r[2], &alice, "tools/call", "survey", params).await;
    assert_eq!(again["result"]["resultType"], "task", "{again}");
}

/// Runs handed to a worker that has not run them yet (one that never starts, or that gets
/// its event twice).
#[derive(Debug, Default)]
struct HeldRuns(std::sync::Mutex<Vec<mcp_server::TaskRun>>);

#[async_trait::async_trait]
impl mcp_server::TaskLauncher for HeldRuns {
    async fn launch(&self, run: &mcp_server::TaskRun) -> Result<(), String> {
        self.0.lock().unwrap().push(run.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_task_whose_worker_never_runs_fails_at_the_sweep_and_gives_its_place_back() {
    let held = Arc::new(HeldRuns::default());
    let config = RouterConfig {
        run_tasks: true,
        task_launcher: Some(held.clone()),
        task_lease: Duration::from_secs(1),
        task_start_grace: Duration::from_secs(1),
        max_tasks_per_principal: Some(1),
        ..RouterConfig::default()
    };
    let routers = instances_with(config).await;
    let principal = format!("sweep-{}", mcp_server::ids::random_id());
    let task = start_survey(&routers[0], &principal, 1).await;
    assert_eq!(held.0.lock().unwrap().len(), 1, "the run went to the worker");
    let refused = request(&routers[1], &principal, "tools/call", "survey", survey_params()).await;
    assert_eq!(refused["error"]["code"], -32010, "the cap holds while the task is unfinished: {refused}");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    // The sweep (another instance's) finds it by its lapsed lease, without a tasks/get.
    let failed = routers[2].fail_stalled_tasks(Duration::from_secs(600)).await.unwrap();
    assert!(failed >= 1, "{failed} failed");
    let swept = get(&routers[1], &principal, &task).await;
    assert_eq!(swept["result"]["status"], "failed", "{swept}");
    assert!(swept["result"]["statusMessage"].as_str().unwrap().contains("worker stopped"), "{swept}");
    // Its place is back; the late worker finds nothing to run.
    let next = start_survey(&routers[1], &principal, 1).await;
    let late = held.0.lock().unwrap()[0].clone();
    routers[0].run_task(&late, None).await;
    assert_eq!(finished(&routers[0], &principal, &task).await["status"], "failed");
    // A run delivered twice runs once: the first claims it, the second finds it claimed.
    let run = held.0.lock().unwrap()[1].clone();
    assert_eq!(run.task_id, next);
    tokio::join!(routers[0].run_task(&run, None), routers[2].run_task(&run, None));
    let done = finished(&routers[1], &principal, &next).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["structuredContent"]["sources"], 1);
}

#[tokio::test]
async fn a_task_whose_worker_stops_fails_at_the_next_tasks_get() {
    let held = Arc::new(HeldRuns::default());
    let config = RouterConfig {
        run_tasks: true,
        task_launcher: Some(held.clone()),
        task_lease: Duration::from_secs(1),
        task_start_grace: Duration::from_secs(1),
        ..RouterConfig::default()
    };
    let routers = instances_with(config).await;
    let task = start_survey(&routers[0], "alice", 1).await;
    assert_eq!(get(&routers[1], "alice", &task).await["result"]["status"], "working");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let got = get(&routers[1], "alice", &task).await;
    assert_eq!(got["result"]["status"], "failed", "{got}");
    assert!(got["result"]["error"]["message"].as_str().unwrap().contains("worker stopped"), "{got}");
}

fn survey_params() -> Value {
    json!({ "name": "survey", "arguments": { "topic": "tides", "sources": 1 } })
}

/// Iterations of `ticking`'s work so far.
static TICKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A server whose one tool works in small steps, counting them, for as long as it is let.
fn ticking() -> mcp_server::Server {
    use mcp_protocol::model::CallToolResult;
    let tool = mcp_server::ToolDef::builder("tick")
        .task_support(mcp_server::TaskSupport::Optional)
        .handler(|_ctx: mcp_server::RequestContext, _: serde_json::Map<String, Value>| async move {
            for _ in 0..1500 {
                TICKS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(CallToolResult::text("ticked"))
        })
        .unwrap();
    mcp_server::Server::builder("ticking", "1").tool(tool).build().unwrap()
}

#[tokio::test]
async fn a_run_whose_cancellation_cannot_reach_it_stops_when_it_finds_its_lease_gone() {
    // Two instances whose buses do not meet (a Lambda deployment without Redis): the
    // cancellation's signal stays on the instance that received it.
    let state = shared_state().await;
    let apart = mcp_server::StateHandles { bus: mcp_server::StateHandles::in_memory().bus, ..state.clone() };
    let config = RouterConfig { run_tasks: true, task_lease: Duration::from_millis(300), ..RouterConfig::default() };
    let codec = RequestStateCodec::ephemeral();
    let runner = Router::new(Arc::new(ticking()), state, codec.clone(), config.clone(), None);
    let other = Router::new(Arc::new(ticking()), apart, codec, config, None);
    let params = json!({ "name": "tick", "arguments": {} });
    let handle = request(&runner, "alice", "tools/call", "tick", params).await;
    let task = handle["result"]["taskId"].as_str().unwrap().to_owned();
    while TICKS.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancelled = request(&other, "alice", "tasks/cancel", &task, json!({ "taskId": task })).await;
    assert!(cancelled.get("error").is_none(), "{cancelled}");
    // The run renews its lease every 100 ms: the renewal after the cancellation finds the
    // task gone from it, and the work is dropped.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = TICKS.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(TICKS.load(std::sync::atomic::Ordering::SeqCst), before, "the work went on after its cancellation");
    assert_eq!(get(&runner, "alice", &task).await["result"]["status"], "cancelled");
}
