//! The tasks extension as a server author meets it: a tool that may become a task, called
//! by a client that declares the extension and by one that does not.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use mcp_protocol::model::CallToolResult;
use mcp_server::testing::{TestClient, TestError};
use mcp_server::{RequestContext, Server, TaskSupport, ToolDef};
use serde_json::{Map, Value, json};

fn server() -> Server {
    let big = ToolDef::builder("big")
        .task_support(TaskSupport::Optional)
        .handler(|_ctx: RequestContext, _: Map<String, Value>| async move {
            Ok(CallToolResult::text("x".repeat(400 * 1024)))
        })
        .unwrap();
    let only_task = ToolDef::builder("only_task")
        .task_support(TaskSupport::Required)
        .handler(|_ctx: RequestContext, _: Map<String, Value>| async move { Ok(CallToolResult::text("done")) })
        .unwrap();
    let near_limit = ToolDef::builder("near_limit")
        .task_support(TaskSupport::Optional)
        .handler(|_ctx: RequestContext, _: Map<String, Value>| async move {
            Ok(CallToolResult::text("r".repeat(280 * 1024)))
        })
        .unwrap();
    Server::builder("tasks", "1").tool(big).tool(only_task).tool(near_limit).build().unwrap()
}

fn with_tasks() -> TestClient {
    TestClient::new(server()).with_client_capabilities(json!({ "extensions": { "io.modelcontextprotocol/tasks": {} } }))
}

async fn finished(client: &TestClient, task: &str) -> Value {
    for _ in 0..100 {
        let got = client.request("tasks/get", json!({ "taskId": task })).await.unwrap();
        if ["completed", "failed", "cancelled"].contains(&got["status"].as_str().unwrap_or_default()) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {task} did not finish");
}

#[tokio::test]
async fn a_result_larger_than_a_task_keeps_fails_the_task_naming_the_limit() {
    let client = with_tasks();
    let handle = client.request("tools/call", json!({ "name": "big", "arguments": {} })).await.unwrap();
    assert_eq!(handle["resultType"], "task", "{handle}");
    let done = finished(&client, handle["taskId"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["error"]["message"].as_str().unwrap();
    assert!(message.contains("307200 bytes"), "{message}");
    assert!(done.get("result").is_none());
}

#[tokio::test]
async fn a_tool_that_runs_only_as_a_task_tells_a_client_without_the_extension_what_it_needs() {
    let refused = TestClient::new(server()).call_tool("only_task", json!({})).await;
    match refused {
        Err(TestError::Rpc(e)) => {
            assert_eq!(e.code.0, -32021);
            let needed = &e.data.unwrap()["requiredCapabilities"]["extensions"];
            assert_eq!(needed["io.modelcontextprotocol/tasks"], json!({}));
        }
        other => panic!("{other:?}"),
    }
    // The task methods too: the capability is checked before any task id is looked up.
    let get = TestClient::new(server()).request("tasks/get", json!({ "taskId": "any" })).await;
    assert!(matches!(get, Err(TestError::Rpc(ref e)) if e.code.0 == -32021), "{get:?}");
}

#[tokio::test]
async fn the_server_lists_the_extension_when_a_tool_may_become_a_task() {
    let discovered = with_tasks().request("server/discover", json!({})).await.unwrap();
    assert_eq!(discovered["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"], json!({}));
}

#[tokio::test]
async fn a_task_whose_record_with_its_result_would_not_fit_one_item_fails_naming_the_limit() {
    // Each part fits (arguments, a result under its own bound); together they would not.
    let client = with_tasks();
    let padding = "p".repeat(120 * 1024);
    let call = json!({ "name": "near_limit", "arguments": { "padding": padding } });
    let handle = client.request("tools/call", call).await.unwrap();
    let done = finished(&client, handle["taskId"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["error"]["message"].as_str().unwrap().contains("a task keeps at most"), "{done}");
}

#[tokio::test]
async fn task_ids_that_this_server_never_issues_are_unknown_without_a_lookup() {
    for id in ["", "../x", &"a".repeat(65), "a b"] {
        let got = with_tasks().request("tasks/get", json!({ "taskId": id })).await;
        assert!(matches!(got, Err(TestError::Rpc(ref e)) if e.code.0 == -32602), "{id:?}: {got:?}");
    }
}
