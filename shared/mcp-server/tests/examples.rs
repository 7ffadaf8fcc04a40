//! Every example in `examples/` does what its doc says, called as a client calls it.

use mcp_server::testing::{TestClient, TestError};
use serde_json::{Value, json};

#[path = "../examples/elicitation.rs"]
mod elicitation;
#[path = "../examples/notifications.rs"]
mod notifications;
#[path = "../examples/progress.rs"]
mod progress;
#[path = "../examples/prompt.rs"]
mod prompt;
#[path = "../examples/resource_template.rs"]
mod resource_template;
#[path = "../examples/structured_output.rs"]
mod structured_output;
#[path = "../examples/tool.rs"]
mod tool;

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn tool_takes_typed_arguments_and_refuses_others() {
    let client = TestClient::new(tool::server().unwrap());
    let listed = client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(listed["tools"][0]["inputSchema"]["required"], json!(["text"]));
    let result =
        client.request("tools/call", json!({ "name": "shout", "arguments": { "text": "hi", "marks": 3 } })).await;
    assert_eq!(text(&result.unwrap()), "HI!!!");
    // Arguments the schema refuses are a tool error the model can read and correct.
    let refused = client.call_tool("shout", json!({ "text": "hi", "marks": 11 })).await.unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert!(serde_json::to_string(&refused.content).unwrap().contains("/marks"), "{refused:?}");
}

#[tokio::test]
async fn structured_output_is_typed_and_a_tool_error_is_a_result() {
    let client = TestClient::new(structured_output::server().unwrap());
    let result = client.call_tool("divide", json!({ "a": 1, "b": 4 })).await.unwrap();
    assert_eq!(result.structured_content, Some(json!({ "quotient": 0.25 })));
    let failed = client.call_tool("divide", json!({ "a": 1, "b": 0 })).await.unwrap();
    assert_eq!(failed.is_error, Some(true));
    let listed = client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(listed["tools"][0]["outputSchema"]["required"], json!(["quotient"]));
}

#[tokio::test]
async fn resource_template_reads_by_variable_completes_and_says_not_found() {
    let client = TestClient::new(resource_template::server().unwrap());
    let read = client.request("resources/read", json!({ "uri": "greeting://ada" })).await.unwrap();
    assert_eq!(read["contents"][0]["text"], "Hello, ada!");
    let missing = client.request("resources/read", json!({ "uri": "greeting://bob" })).await;
    assert!(matches!(missing, Err(TestError::Rpc(ref e)) if e.message == "Resource not found"), "{missing:?}");
    let completed = client
        .request(
            "completion/complete",
            json!({ "ref": { "type": "ref/resource", "uri": "greeting://{name}" }, "argument": { "name": "name", "value": "a" } }),
        )
        .await
        .unwrap();
    assert_eq!(completed["completion"]["values"], json!(["ada", "alan"]));
}

#[tokio::test]
async fn prompt_lists_its_typed_arguments_and_renders() {
    let client = TestClient::new(prompt::server().unwrap());
    let listed = client.request("prompts/list", json!({})).await.unwrap();
    assert_eq!(listed["prompts"][0]["arguments"][0]["name"], "topic");
    assert_eq!(listed["prompts"][0]["arguments"][0]["required"], true);
    let got =
        client.request("prompts/get", json!({ "name": "explain", "arguments": { "topic": "DNS" } })).await.unwrap();
    assert!(got["messages"][0]["content"]["text"].as_str().unwrap().contains("DNS to a beginner"), "{got}");
    let missing = client.request("prompts/get", json!({ "name": "explain", "arguments": {} })).await;
    assert!(matches!(missing, Err(TestError::Rpc(ref e)) if e.code.0 == -32602), "{missing:?}");
}

#[tokio::test]
async fn progress_counts_to_the_end() {
    let client = TestClient::new(progress::server().unwrap());
    let result = client.request("tools/call", json!({ "name": "count", "arguments": { "to": 2 } })).await.unwrap();
    assert_eq!(text(&result), "counted to 2");
}

#[tokio::test]
async fn elicitation_asks_then_acts_on_the_answer() {
    let client = TestClient::new(elicitation::server().unwrap())
        .with_client_capabilities(json!({ "elicitation": { "form": {} } }));
    let call = json!({ "name": "order_coffee", "arguments": {} });
    let asked = client.request("tools/call", call.clone()).await.unwrap();
    assert_eq!(asked["resultType"], "input_required", "{asked}");
    let (key, request) = asked["inputRequests"].as_object().unwrap().iter().next().unwrap();
    assert_eq!(request["params"]["requestedSchema"]["properties"]["cups"]["maximum"], 9);
    let mut retry = call;
    retry["inputResponses"] = json!({ key.clone(): { "action": "accept", "content": { "cups": 2 } } });
    retry["requestState"] = asked["requestState"].clone();
    let done = client.request("tools/call", retry).await.unwrap();
    assert_eq!(text(&done), "2 cups ordered");
}

#[tokio::test]
async fn notifications_follow_a_change_and_the_store_keeps_it() {
    let client = TestClient::new(notifications::server().unwrap());
    let set = client
        .request("tools/call", json!({ "name": "set_status", "arguments": { "status": "green" } }))
        .await
        .unwrap();
    assert_eq!(text(&set), "status set; 0 subscribers told");
    let read = client.request("resources/read", json!({ "uri": "status://current" })).await.unwrap();
    assert_eq!(read["contents"][0]["text"], "green");
}
