//! The server's tools, called as a client calls them (without a transport).

use mcp_server::testing::{TestClient, TestError};
use serde_json::json;

fn client() -> TestClient {
    TestClient::new(starter_server::server().expect("the server's definition builds"))
}

#[tokio::test]
async fn greet_answers_with_structured_content() {
    let result = client().call_tool("greet", json!({ "name": "Ada" })).await.unwrap();
    assert_eq!(result.structured_content, Some(json!({ "text": "Hello, Ada!" })));
    assert_ne!(result.is_error, Some(true));
}

#[tokio::test]
async fn greet_lists_the_schemas_of_its_types() {
    let tools = client().request("tools/list", json!({})).await.unwrap();
    let greet = &tools["tools"][0];
    assert_eq!(greet["inputSchema"]["required"], json!(["name"]));
    assert_eq!(greet["outputSchema"]["properties"]["text"]["type"], "string");
}

#[tokio::test]
async fn arguments_the_schema_refuses_are_an_error_naming_them() {
    let refused = client().call_tool("greet", json!({ "name": "Ada", "shout": true })).await;
    match refused {
        Err(TestError::Rpc(e)) => assert!(e.message.contains("shout"), "{}", e.message),
        Ok(result) => assert_eq!(result.is_error, Some(true), "{result:?}"),
        Err(other) => panic!("{other}"),
    }
}
