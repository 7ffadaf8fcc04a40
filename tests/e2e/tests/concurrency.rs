//! Concurrency: the same connection or session changed from several instances at once, and
//! the same API Gateway event delivered twice (API Gateway may retry). Each test checks the
//! final stored state (DynamoDB under the test command; memory otherwise), not the replies
//! alone.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use futures_util::future::join_all;
use serde_json::{Value, json};

use e2e::{Collected, Posts, http, instances, shared_state};
use mcp_edge::origin::OriginPolicy;
use mcp_edge::websocket::WebSocketEdge;
use mcp_server::ListKind;
use mcp_server::notifier::resource_topic;
use mcp_server::state::LoggingLevel;
use mcp_server::{Outbound, StateHandles};

/// Three WebSocket function instances over `state`, posting to one recorded sink.
fn edges(state: &StateHandles, sink: &Arc<Posts>) -> Vec<WebSocketEdge> {
    instances(state, 3, Some(sink.clone()))
        .into_iter()
        .map(|r| WebSocketEdge::new(r, sink.clone(), OriginPolicy::loopback()))
        .collect()
}

/// The event API Gateway delivers on `route` for `connection`.
fn event(route: &str, connection: &str, body: Option<Value>) -> ApiGatewayWebsocketProxyRequest {
    let event_type = match route {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    serde_json::from_value(json!({
        "headers": { "Host": "localhost", "Sec-WebSocket-Protocol": "mcp" },
        "requestContext": {
            "routeKey": route, "eventType": event_type, "connectionId": connection,
            "stage": "test", "domainName": "localhost", "apiId": "local", "requestTimeEpoch": 0, "connectedAt": 0,
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false,
    }))
    .unwrap()
}

fn message(connection: &str, body: Value) -> ApiGatewayWebsocketProxyRequest {
    event("$default", connection, Some(body))
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", mcp_server::ids::random_id().replace(['-', '_'], ""))
}

fn initialize() -> Value {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}})
}

fn subscribe(id: i64, uri: &str, on: bool) -> Value {
    let method = if on { "resources/subscribe" } else { "resources/unsubscribe" };
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":{"uri":uri}})
}

/// A connected, initialized connection.
async fn open(edges: &[WebSocketEdge], connection: &str) {
    assert_eq!(edges[0].handle(event("$connect", connection, None)).await.status_code, 200);
    edges[1].handle(message(connection, initialize())).await;
    edges[2].handle(message(connection, json!({"jsonrpc":"2.0","method":"notifications/initialized"}))).await;
}

/// Rows the connection holds under `topic` (live ones: expired rows are not read).
async fn rows(state: &StateHandles, topic: &str, subscriber: &str) -> usize {
    state.subscriptions.subscribers(topic).await.unwrap().iter().filter(|s| s.id == subscriber).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribes_racing_a_disconnect_across_instances_leave_nothing_behind() {
    let state = shared_state().await;
    let sink = Arc::new(Posts::default());
    let edges = edges(&state, &sink);
    for round in 0..12 {
        let connection = unique("race");
        open(&edges, &connection).await;
        let uris: Vec<String> = (0..6).map(|k| format!("note://{connection}-{k}")).collect();
        // Subscribes and unsubscribes on every instance, and the disconnect somewhere among
        // them (earlier in later rounds).
        let mut events: Vec<ApiGatewayWebsocketProxyRequest> = Vec::new();
        for (k, uri) in uris.iter().enumerate() {
            events.push(message(&connection, subscribe(k as i64 + 1, uri, true)));
            if k % 2 == 0 {
                events.push(message(&connection, subscribe(k as i64 + 100, uri, false)));
            }
        }
        events.insert(events.len() - (round % events.len()), event("$disconnect", &connection, None));
        let handled = events.into_iter().enumerate().map(|(i, e)| edges[i % edges.len()].handle(e));
        for response in join_all(handled).await {
            assert_eq!(response.status_code, 200);
        }

        assert!(state.connections.get(&connection).await.unwrap().is_none(), "round {round}: record gone");
        assert!(state.sessions.get(&connection).await.unwrap().is_none(), "round {round}: session gone");
        assert_eq!(state.subscriptions.count_for(&connection).await.unwrap(), 0, "round {round}: no rows left");
        for uri in &uris {
            assert_eq!(
                rows(&state, &resource_topic(e2e::REFERENCE, uri), &connection).await,
                0,
                "round {round}: {uri}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_one_session_end_in_one_record_every_instance_reads() {
    let state = shared_state().await;
    let r = instances(&state, 3, None);
    let out = || -> Arc<dyn Outbound> { Arc::new(Collected::default()) };
    let reply = r[0].handle(initialize().to_string().as_bytes(), &http(None, None), out()).await;
    let session = reply.new_session.unwrap();
    let inbound = http(Some(&session), Some("2025-11-25"));
    let levels = ["debug", "info", "notice", "warning", "error", "critical"];
    let mut messages: Vec<Value> = (0..18)
        .map(
            |i| json!({"jsonrpc":"2.0","id":i,"method":"logging/setLevel","params":{"level":levels[i % levels.len()]}}),
        )
        .collect();
    messages.insert(7, json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    let bodies: Vec<String> = messages.iter().map(Value::to_string).collect();
    let sent = bodies.iter().enumerate().map(|(i, b)| r[i % 3].handle(b.as_bytes(), &inbound, out()));
    for reply in join_all(sent).await {
        let body: Value = reply.body.map_or(Value::Null, |b| serde_json::from_slice(&b).unwrap());
        assert!(body.is_null() || body["result"] == json!({}), "{body}");
    }

    let stored = state.sessions.get(&session).await.unwrap().unwrap();
    assert!(stored.initialized, "the initialized flag is not lost to a concurrent level change");
    let level = stored.log_level.unwrap();
    assert!(levels.iter().any(|l| serde_json::to_value(level).unwrap() == *l), "{level:?}");
    for router in &r {
        assert_eq!(router.state().sessions.get(&session).await.unwrap().as_ref(), Some(&stored), "every L1 agrees");
    }
    // Then a write on one instance is what the others read next.
    let set = json!({"jsonrpc":"2.0","id":99,"method":"logging/setLevel","params":{"level":"alert"}});
    r[2].handle(set.to_string().as_bytes(), &inbound, out()).await;
    for router in &r {
        let seen = router.state().sessions.get(&session).await.unwrap().unwrap();
        assert_eq!(seen.log_level, Some(LoggingLevel::Alert));
    }
}

/// Delivers `event` to two instances at once, as an API Gateway retry can.
async fn twice(edges: &[WebSocketEdge], event: ApiGatewayWebsocketProxyRequest) {
    let first = Box::pin(edges[0].handle(event.clone()));
    let second = Box::pin(edges[1].handle(event));
    let (a, b) = futures_util::future::join(first, second).await;
    assert_eq!((a.status_code, b.status_code), (200, 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_delivered_twice_on_two_instances_changes_the_state_once() {
    let state = shared_state().await;
    let sink = Arc::new(Posts::default());
    let edges = edges(&state, &sink);
    let connection = unique("twice");
    let uris: Vec<String> = (0..3).map(|k| format!("note://{connection}-{k}")).collect();
    let twice = |e| twice(&edges, e);
    twice(event("$connect", &connection, None)).await;
    twice(message(&connection, initialize())).await;
    twice(message(&connection, json!({"jsonrpc":"2.0","method":"notifications/initialized"}))).await;
    for (k, uri) in uris.iter().enumerate() {
        twice(message(&connection, subscribe(k as i64 + 1, uri, true))).await;
    }
    twice(message(&connection, subscribe(10, &uris[0], false))).await;
    let write = json!({"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"note_write","arguments":{"name":connection,"text":"once"}}});
    twice(message(&connection, write)).await;

    let record = state.connections.get(&connection).await.unwrap().expect("one connection record");
    assert_eq!(record.id, connection);
    let session = state.sessions.get(&connection).await.unwrap().expect("one session");
    assert!(session.initialized);
    assert_eq!(rows(&state, &resource_topic(e2e::REFERENCE, &uris[0]), &connection).await, 0, "unsubscribed");
    for uri in &uris[1..] {
        assert_eq!(rows(&state, &resource_topic(e2e::REFERENCE, uri), &connection).await, 1, "one row for {uri}");
    }
    let lists = [ListKind::Tools, ListKind::Resources, ListKind::Prompts].map(|l| l.topic(e2e::REFERENCE));
    for topic in &lists {
        assert_eq!(rows(&state, topic, &connection).await, 1, "the session follows {topic} once");
    }
    assert_eq!(state.subscriptions.count_for(&connection).await.unwrap(), lists.len() + 2);
    let anonymous = mcp_server::Store::of_principal(state.kv.clone(), None);
    assert_eq!(anonymous.get(&format!("notes/{connection}")).await.unwrap().as_deref(), Some(&b"once"[..]));
    // Each request was answered (a duplicate gets its own answer: the client matches by id).
    let replies = sink.0.lock().unwrap().iter().filter(|(c, v)| c == &connection && v["id"] == 20).count();
    assert_eq!(replies, 2);

    twice(event("$disconnect", &connection, None)).await;
    assert!(state.connections.get(&connection).await.unwrap().is_none());
    assert!(state.sessions.get(&connection).await.unwrap().is_none());
    assert_eq!(state.subscriptions.count_for(&connection).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_and_listen_racing_a_disconnect_across_instances_leave_nothing_behind() {
    // Before, an initialize or a WebSocket listen handled just after the connection's cleanup
    // wrote a session or rows that nothing would ever find again.
    let state = shared_state().await;
    let sink = Arc::new(Posts::default());
    let edges: Vec<Arc<WebSocketEdge>> = edges(&state, &sink).into_iter().map(Arc::new).collect();
    let listen = json!({"jsonrpc":"2.0","id":7,"method":"subscriptions/listen","params":{
        "notifications":{"toolsListChanged":true,"resourceSubscriptions":["note://a"]},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    for round in 0..24u64 {
        let connection = unique("race-init");
        assert_eq!(edges[0].handle(event("$connect", &connection, None)).await.status_code, 200);
        // The disconnect runs beside the writes, a little later each round, on its own
        // instance and thread.
        let events = [
            (0, message(&connection, initialize())),
            (0, message(&connection, listen.clone())),
            (round * 150, event("$disconnect", &connection, None)),
        ];
        let handled = events.into_iter().enumerate().map(|(i, (delay_us, e))| {
            let edge = edges[i % edges.len()].clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_micros(delay_us)).await;
                edge.handle(e).await
            })
        });
        for response in join_all(handled).await {
            assert_eq!(response.unwrap().status_code, 200);
        }
        assert!(state.connections.get(&connection).await.unwrap().is_none(), "round {round}: record gone");
        assert!(state.sessions.get(&connection).await.unwrap().is_none(), "round {round}: session gone");
        assert_eq!(state.subscriptions.count_for(&connection).await.unwrap(), 0, "round {round}: no session rows");
        let listener = mcp_server::router::listen_subscriber(&connection);
        assert_eq!(state.subscriptions.count_for(&listener).await.unwrap(), 0, "round {round}: no listen rows");
        for topic in [ListKind::Tools.topic(e2e::REFERENCE), resource_topic(e2e::REFERENCE, "note://a")] {
            let left = state.subscriptions.subscribers(&topic).await.unwrap();
            assert!(!left.iter().any(|s| s.id == connection || s.id == listener), "round {round}: a row under {topic}");
        }
    }
}
