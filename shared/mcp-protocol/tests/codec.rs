//! Data-driven codec tests: every fixture message under `fixtures/messages` is decoded and
//! its classification (or error) is written to one snapshot; encoding of the model's
//! results in both eras is snapshotted too. `cargo insta review` (or INSTA_UPDATE=always)
//! accepts intended changes.

#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::path::Path;

use mcp_protocol::jsonrpc::{self, Message, RequestId};
use mcp_protocol::model::tools::ListToolsResult;
use mcp_protocol::model::{
    CacheHint, CallToolResult, ContentBlock, InputRequest, InputRequiredResult, ReadResourceResult, ResourceContents,
    ResultType, Tool, WireResult,
};
use mcp_protocol::{ErrorCode, ErrorObject};

fn describe(bytes: &[u8]) -> String {
    match jsonrpc::decode(bytes) {
        Ok(Message::Request(r)) => {
            let params = r.params.map_or_else(|| "none".to_owned(), |p| format!("{} bytes", p.get().len()));
            format!("request id={:?} method={} params={params}", r.id, r.method)
        }
        Ok(Message::Notification(n)) => format!("notification method={} params={}", n.method, n.params.is_some()),
        Ok(Message::Response(r)) => {
            let id = r.id.map_or_else(|| "none".to_owned(), |id| format!("{id:?}"));
            match r.outcome {
                Ok(v) => format!("response id={id} result={}", v.get()),
                Err(e) => format!("response id={id} error={} {}", e.code.0, e.message),
            }
        }
        Err(e) => format!("error id={:?} code={}", e.id, e.error.code.0),
    }
}

#[test]
fn decode_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let mut report = String::new();
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let got = describe(&bytes);
        // The naming convention is the expectation: invalid-* must fail, others must decode.
        assert_eq!(name.starts_with("invalid-"), got.starts_with("error "), "{name}: {got}");
        writeln!(report, "{name}: {got}").unwrap();
    }
    insta::assert_snapshot!("decode", report);
}

#[test]
fn typed_params_decode_lazily() {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages/request-mrtr-retry.json"))
            .unwrap();
    let Ok(Message::Request(r)) = jsonrpc::decode(&bytes) else { panic!("not a request") };
    let p: mcp_protocol::model::CallToolParams = r.params_as().unwrap();
    assert_eq!(p.name, "x");
    assert_eq!(p.request_state.as_deref(), Some("abc.def"));
    assert_eq!(p.input_responses.unwrap()["user_name"]["content"]["name"], "Alice");
    let wrong: Result<mcp_protocol::model::GetPromptParams, _> =
        jsonrpc::params_as(Some(serde_json::value::RawValue::from_string("{\"name\":5}".into()).unwrap().as_ref()));
    assert_eq!(wrong.unwrap_err().code, ErrorCode::INVALID_PARAMS);
}

fn sample_tool() -> Tool {
    Tool {
        name: "echo".into(),
        title: Some("Echo".into()),
        description: Some("Returns its input".into()),
        input_schema: serde_json::json!({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}),
        output_schema: None,
        annotations: None,
        icons: None,
        meta: None,
    }
}

#[test]
fn encode_snapshots() {
    let id = RequestId::Number(1);
    let list = ListToolsResult { tools: vec![sample_tool()], next_cursor: Some("b2:1".into()) };
    let mut meta = serde_json::Map::new();
    meta.insert("io.modelcontextprotocol/serverInfo".into(), serde_json::json!({"name":"s","version":"1"}));
    let mut report = String::new();
    let mut line = |label: &str, bytes: Vec<u8>| {
        writeln!(report, "{label}: {}", String::from_utf8(bytes).unwrap()).unwrap();
    };
    line("tools/list session", jsonrpc::encode_result(&id, &list));
    line(
        "tools/list 2026",
        jsonrpc::encode_result(
            &id,
            &WireResult {
                body: &list,
                result_type: Some(ResultType::Complete),
                cache: Some(CacheHint::public(60_000)),
                meta: Some(&meta),
            },
        ),
    );
    let call = CallToolResult::new(vec![
        ContentBlock::text("hi"),
        ContentBlock::image("iVBO", "image/png"),
        ContentBlock::audio("UklG", "audio/wav"),
        ContentBlock::resource_link("note://a", "a"),
        ContentBlock::resource(ResourceContents::text("note://b", "text/plain", "b")),
    ]);
    line("tools/call content blocks", jsonrpc::encode_result(&id, &call));
    line("tools/call error", jsonrpc::encode_result(&id, &CallToolResult::error("bad")));
    line("tools/call structured", jsonrpc::encode_result(&id, &CallToolResult::structured(serde_json::json!({"n":1}))));
    let read = ReadResourceResult { contents: vec![ResourceContents::blob("x://b", "image/png", "iVBO")] };
    line(
        "resources/read 2026",
        jsonrpc::encode_result(
            &id,
            &WireResult {
                body: &read,
                result_type: Some(ResultType::Complete),
                cache: Some(CacheHint::NO_STORE),
                meta: None,
            },
        ),
    );
    let mut asks = std::collections::BTreeMap::new();
    asks.insert("user_name".to_owned(), InputRequest { method: "elicitation/create".into(), params: Some(serde_json::json!({"message":"Name?","requestedSchema":{"type":"object","properties":{"name":{"type":"string"}}}})) });
    let ir = InputRequiredResult { input_requests: Some(asks), request_state: Some("s.t".into()) };
    line(
        "input required",
        jsonrpc::encode_result(
            &id,
            &WireResult { body: &ir, result_type: Some(ResultType::InputRequired), cache: None, meta: None },
        ),
    );
    line(
        "error with id",
        jsonrpc::encode_error(
            Some(&id),
            &ErrorObject::new(ErrorCode::UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version")
                .with_data(serde_json::json!({"supported":["2026-07-28"],"requested":"v9"})),
        ),
    );
    line("error without id", jsonrpc::encode_error(None, &ErrorObject::new(ErrorCode::PARSE_ERROR, "parse error")));
    line(
        "notification",
        jsonrpc::encode_notification(
            "notifications/progress",
            Some(&serde_json::json!({"progressToken":"t","progress":1,"total":2})),
        ),
    );
    line("request", jsonrpc::encode_request(&RequestId::String("s-1".into()), "roots/list", &serde_json::json!({})));
    insta::assert_snapshot!("encode", report);
}

#[test]
fn encoded_messages_decode_back() {
    let id = RequestId::String("k".into());
    let bytes = jsonrpc::encode_result(&id, &CallToolResult::text("x"));
    let Ok(Message::Response(r)) = jsonrpc::decode(&bytes) else { panic!("not a response") };
    assert_eq!(r.id, Some(id));
    let back: CallToolResult = serde_json::from_str(r.outcome.unwrap().get()).unwrap();
    assert_eq!(back, CallToolResult::text("x"));
}
