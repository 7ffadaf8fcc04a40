//! The request every client sends: a 2026-07-28 `tools/call` of `echo`, complete in itself
//! (protocol version and client capabilities in `_meta`), with the routing headers that era
//! asks of Streamable HTTP; or, in the session era, the same call inside a session that an
//! `initialize` opened.

/// Headers of the HTTP request, besides `host`, `content-length` and `mcp-name` (the tool).
pub const HTTP_HEADERS: [(&str, &str); 4] = [
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
    ("mcp-protocol-version", "2026-07-28"),
    ("mcp-method", "tools/call"),
];

/// The session era's protocol version.
pub const SESSION_VERSION: &str = "2025-11-25";

/// Headers of a session-era HTTP request, besides the session's id once there is one.
pub const SESSION_HTTP_HEADERS: [(&str, &str); 3] = [
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
    ("mcp-protocol-version", SESSION_VERSION),
];

/// The session era's `initialize`, and the notification that completes it.
pub fn initialize(id: u64) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": SESSION_VERSION,
            "capabilities": {},
            "clientInfo": { "name": "mcp-load", "version": env!("CARGO_PKG_VERSION") },
        },
    })
    .to_string()
}

pub const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The `echo` call inside a session: no `_meta`, the session carries what it would.
pub fn session_echo_call(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hello"}}}}}}"#
    )
}

/// A `tools/call` of any tool, in the same form.
pub fn tool_call(id: u64, tool: &str, arguments: &serde_json::Value) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {
            "name": tool,
            "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    })
    .to_string()
}

/// The `echo` call with this id, formatted without a JSON encoder (it is sent in a loop).
pub fn echo_call(id: u64) -> String {
    format!(
        concat!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hello"}},"#,
            r#""_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
        ),
        id
    )
}

/// A reply counts when it is the result of this request: a JSON-RPC response with this id
/// and a `result` (a JSON body, or the `data:` of an SSE event).
pub fn is_result(body: &[u8], id: u64) -> bool {
    let text = String::from_utf8_lossy(body);
    let is_it = |json: &str| {
        serde_json::from_str::<serde_json::Value>(json.trim())
            .is_ok_and(|v| v["id"] == id && v.get("result").is_some() && v.get("error").is_none())
    };
    // An SSE stream may open with a priming event whose data is empty.
    let mut events = text.lines().filter_map(|l| l.strip_prefix("data:")).peekable();
    if events.peek().is_none() { is_it(&text) } else { events.into_iter().any(is_it) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_json_and_results_are_recognised() {
        let v: serde_json::Value = serde_json::from_str(&echo_call(7)).unwrap_or_default();
        assert_eq!(v["params"]["arguments"]["text"], "hello");
        assert_eq!(
            v,
            serde_json::from_str::<serde_json::Value>(&tool_call(7, "echo", &serde_json::json!({"text": "hello"})))
                .unwrap_or_default()
        );
        assert!(is_result(br#"{"jsonrpc":"2.0","id":7,"result":{"content":[]}}"#, 7));
        assert!(is_result(b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n", 7));
        assert!(is_result(b"id: 0\nretry: 3000\ndata:\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n", 7));
        assert!(!is_result(br#"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"x"}}"#, 7));
        assert!(!is_result(br#"{"jsonrpc":"2.0","id":8,"result":{}}"#, 7));
        let v: serde_json::Value = serde_json::from_str(&session_echo_call(9)).unwrap_or_default();
        assert_eq!((v["id"].as_u64(), v["params"]["name"].as_str()), (Some(9), Some("echo")));
        let v: serde_json::Value = serde_json::from_str(&initialize(1)).unwrap_or_default();
        assert_eq!(v["params"]["protocolVersion"], SESSION_VERSION);
        assert!(serde_json::from_str::<serde_json::Value>(INITIALIZED).is_ok());
    }
}
