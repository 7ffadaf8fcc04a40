//! Every message on a different instance: routers over one shared state must behave as one
//! server. Anything an instance keeps in its own memory shows up here as a failure. With the
//! test command's backends (DynamoDB, Redis) these run against them; otherwise in memory.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use e2e::{Collected, Posts, http, meta, reference_instances, websocket};
use mcp_server::{Outbound, ReplyStatus, Router};

async fn call(
    router: &Router,
    inbound: &mcp_server::Inbound,
    message: Value,
) -> (ReplyStatus, Option<Value>, Arc<Collected>) {
    let out = Arc::new(Collected::default());
    let reply = router.handle(message.to_string().as_bytes(), inbound, out.clone() as Arc<dyn Outbound>).await;
    (reply.status, reply.body.map(|b| serde_json::from_slice(&b).unwrap()), out)
}

/// Connection ids unique per run: the backends may outlive one test run.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", mcp_server::ids::random_id())
}

fn initialize(id: i64) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"t","version":"1"}}})
}

#[tokio::test]
async fn a_session_created_on_one_instance_serves_on_the_other() {
    let r = reference_instances(3, Arc::new(Posts::default())).await;
    let out = Arc::new(Collected::default());
    let reply = r[0].handle(initialize(1).to_string().as_bytes(), &http(None, None), out).await;
    let session = reply.new_session.expect("initialize creates a session");
    let inbound = http(Some(&session), Some("2025-11-25"));
    let (status, body, _) = call(
        &r[1],
        &inbound,
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}),
    )
    .await;
    assert_eq!(status, ReplyStatus::Ok);
    assert_eq!(body.unwrap()["result"]["content"][0]["text"], "hi");
    let (status, body, _) =
        call(&r[1], &inbound, json!({"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"warning"}}))
            .await;
    assert_eq!((status, body.unwrap()["result"].clone()), (ReplyStatus::Ok, json!({})));
    // An unknown session is 404; a missing one is 400.
    let (status, _, _) =
        call(&r[0], &http(Some("nope"), Some("2025-11-25")), json!({"jsonrpc":"2.0","id":4,"method":"ping"})).await;
    assert_eq!(status, ReplyStatus::SessionNotFound);
    let (status, _, _) =
        call(&r[0], &http(None, Some("2025-11-25")), json!({"jsonrpc":"2.0","id":5,"method":"ping"})).await;
    assert_eq!(status, ReplyStatus::BadRequest);
}

#[tokio::test]
async fn an_elicitation_answered_through_instance_c_resumes_the_request_waiting_on_a() {
    let posts = Arc::new(Posts::default());
    let r = reference_instances(3, posts.clone()).await;
    let ws = websocket(&unique("conn"));
    let (_, body, _) = call(&r[0], &ws, initialize(1)).await;
    assert_eq!(body.unwrap()["result"]["protocolVersion"], "2025-11-25");
    call(&r[1], &ws, json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"note_write","arguments":{"name":"n1","text":"x"}}})).await;

    // note_delete asks for confirmation on its request's stream (instance A); the answer
    // arrives through instance C.
    let stream = Arc::new(Collected::default());
    let waiting = {
        let (r0, ws, stream) = (r[0].clone(), ws.clone(), stream.clone());
        let message = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"note_delete","arguments":{"name":"n1"}}});
        tokio::spawn(async move { r0.handle(message.to_string().as_bytes(), &ws, stream).await })
    };
    let request = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(v) = stream.take().into_iter().find(|v| v["method"] == "elicitation/create") {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("note_delete asks for confirmation");
    let answer = json!({"jsonrpc":"2.0","id":request["id"],"result":{"action":"accept","content":{"confirm":true}}});
    let (status, _, _) = call(&r[2], &ws, answer).await;
    assert_eq!(status, ReplyStatus::Accepted);
    let reply = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
    let body: Value = serde_json::from_slice(&reply.body.unwrap()).unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "Deleted note://n1");
}

#[tokio::test]
async fn mrtr_state_is_single_use_across_instances() {
    let r = reference_instances(3, Arc::new(Posts::default())).await;
    let inbound = http(None, Some("2026-07-28"));
    let m = meta(json!({"elicitation":{}}));
    let write = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"note_write","arguments":{"name":"n2","text":"x"},"_meta":m}});
    let (status, _, _) = call(&r[0], &no_headers(&inbound), write).await;
    assert_eq!(status, ReplyStatus::Ok);
    let delete = |id: i64, extra: Value| {
        let mut params = json!({"name":"note_delete","arguments":{"name":"n2"},"_meta":m});
        params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":params})
    };
    let (_, body, _) = call(&r[0], &no_headers(&inbound), delete(2, json!({}))).await;
    let result = body.unwrap()["result"].clone();
    assert_eq!(result["resultType"], "input_required");
    let state = result["requestState"].as_str().unwrap().to_owned();
    let answers =
        json!({"inputResponses":{"input-1":{"action":"accept","content":{"confirm":true}}},"requestState":state});
    let (_, body, _) = call(&r[1], &no_headers(&inbound), delete(3, answers.clone())).await;
    assert_eq!(body.unwrap()["result"]["content"][0]["text"], "Deleted note://n2");
    let (_, body, _) = call(&r[0], &no_headers(&inbound), delete(4, answers)).await;
    assert_eq!(body.unwrap()["error"]["code"], -32602, "a replayed requestState is refused on any instance");
}

/// Stateless requests without HTTP headers (as over WebSocket or stdio).
fn no_headers(inbound: &mcp_server::Inbound) -> mcp_server::Inbound {
    mcp_server::Inbound { http: None, ..inbound.clone() }
}

#[tokio::test]
async fn a_subscription_made_on_one_instance_is_notified_from_the_other() {
    let posts = Arc::new(Posts::default());
    let r = reference_instances(3, posts.clone()).await;
    let conn = unique("conn");
    let ws = websocket(&conn);
    call(&r[0], &ws, initialize(1)).await;
    let (_, body, _) =
        call(&r[0], &ws, json!({"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"note://n3"}}))
            .await;
    assert_eq!(body.unwrap()["result"], json!({}));
    call(&r[1], &websocket("conn-other"), initialize(1)).await;
    call(&r[1], &websocket("conn-other"), json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"note_write","arguments":{"name":"n3","text":"y"}}})).await;
    let updates: Vec<_> = posts
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(c, v)| c == &conn && v["method"] == "notifications/resources/updated")
        .map(|(_, v)| v["params"]["uri"].clone())
        .collect();
    assert_eq!(updates, vec![json!("note://n3")]);
}

#[tokio::test]
async fn a_cancellation_reaching_another_instance_stops_the_request() {
    let r = reference_instances(3, Arc::new(Posts::default())).await;
    let ws = websocket(&unique("conn"));
    call(&r[0], &ws, initialize(1)).await;
    let running = {
        let r0 = r[0].clone();
        let ws = ws.clone();
        tokio::spawn(async move {
            call(&r0, &ws, json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"countdown","arguments":{"seconds":30}}})).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, _, _) =
        call(&r[1], &ws, json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}})).await;
    assert_eq!(status, ReplyStatus::Accepted);
    let (status, body, _) =
        tokio::time::timeout(Duration::from_secs(5), running).await.expect("cancelled promptly").unwrap();
    assert_eq!(status, ReplyStatus::Cancelled, "transports that can stay silent send nothing");
    assert_eq!(body.unwrap()["error"]["code"], -32012, "a plain HTTP reply says why");
}

#[tokio::test]
async fn nothing_made_through_a_connection_outlives_its_token() {
    let posts = Arc::new(Posts::default());
    let r = reference_instances(2, posts.clone()).await;
    let conn = unique("conn");
    let token_expiry = mcp_server::state::now_ms() + 60_000;
    let ws = mcp_server::Inbound { credential_expires_at_ms: Some(token_expiry), ..websocket(&conn) };
    call(&r[0], &ws, initialize(1)).await;
    let uri = format!("note://{}", unique("capped"));
    call(&r[1], &ws, json!({"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":uri}})).await;

    let state = r[0].state();
    let session = state.sessions.get(&conn).await.unwrap().expect("session");
    assert_eq!(session.expires_at_ms, token_expiry, "the session ends with the token");
    let rows =
        state.subscriptions.subscribers(&mcp_server::notifier::resource_topic(e2e::REFERENCE, &uri)).await.unwrap();
    let row = rows.iter().find(|s| s.id == conn).expect("the subscription row");
    assert!(row.expires_at_ms <= token_expiry, "the row ends with the token: {} > {token_expiry}", row.expires_at_ms);
    mcp_server::forget_connection(state, &conn).await.unwrap();
}
