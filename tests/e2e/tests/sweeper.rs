//! The sweeper: lapsed connections are closed and then forgotten; one that cannot be closed
//! stays findable for the next run, and a run that closes nothing says so.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use mcp_edge::sweeper::{Sweep, close_lapsed};
use mcp_server::state::{ConnectionRecord, DeliveryTarget, Subscriber, now_ms};
use mcp_server::{ConnectionSink, PostError, StateHandles};

/// `@connections` whose `DeleteConnection` answers as told, recording what it was asked.
struct Closer {
    answer: fn(&str) -> Result<(), PostError>,
    closed: Mutex<Vec<String>>,
}

#[async_trait]
impl ConnectionSink for Closer {
    async fn post(&self, _connection_id: &str, _message: Vec<u8>) -> Result<(), PostError> {
        Ok(())
    }

    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        self.closed.lock().unwrap().push(connection_id.to_owned());
        (self.answer)(connection_id)
    }
}

async fn lapsed_connection(state: &StateHandles, id: &str) {
    let record = ConnectionRecord {
        id: id.to_owned(),
        principal: Some("alice".into()),
        server: "reference".into(),
        created_at_ms: now_ms() - 120_000,
        expires_at_ms: now_ms() - 60_000,
    };
    state.connections.put(&record).await.unwrap();
    let row = Subscriber {
        id: id.to_owned(),
        target: DeliveryTarget::Connection(id.to_owned()),
        subscription_id: None,
        principal: Some("alice".into()),
        expires_at_ms: now_ms() + 60_000,
    };
    state.subscriptions.subscribe("resource:note://swept", &row).await.unwrap();
}

fn still_lapsed(found: &[String], id: &str) -> bool {
    found.iter().any(|f| f == id)
}

#[tokio::test]
async fn closed_or_gone_connections_are_forgotten_with_their_rows() {
    let state = StateHandles::in_memory();
    lapsed_connection(&state, "closes").await;
    lapsed_connection(&state, "gone").await;
    let sink = Arc::new(Closer {
        answer: |id| if id == "gone" { Err(PostError::Gone(id.into())) } else { Ok(()) },
        closed: Mutex::default(),
    });
    let dyn_sink: Arc<dyn ConnectionSink> = sink.clone();
    let sweep = close_lapsed(&state, &dyn_sink).await.unwrap();
    assert_eq!(sweep, Sweep { closed: 2, failed: 0, tasks_failed: 0 });
    let mut closed = sink.closed.lock().unwrap().clone();
    closed.sort();
    assert_eq!(closed, ["closes", "gone"]);
    let left = state.connections.lapsed(now_ms() - 600_000, now_ms()).await.unwrap();
    assert!(!still_lapsed(&left, "closes") && !still_lapsed(&left, "gone"), "{left:?}");
    assert!(state.subscriptions.subscribers("resource:note://swept").await.unwrap().is_empty());
    // Nothing left: the next run does nothing.
    assert_eq!(close_lapsed(&state, &dyn_sink).await.unwrap(), Sweep::default());
}

#[tokio::test]
async fn a_connection_that_cannot_be_closed_stays_for_the_next_run() {
    let state = StateHandles::in_memory();
    lapsed_connection(&state, "stuck").await;
    let failing: Arc<dyn ConnectionSink> =
        Arc::new(Closer { answer: |_| Err(PostError::Failed("AccessDenied".into())), closed: Mutex::default() });
    let error = close_lapsed(&state, &failing).await.unwrap_err();
    assert!(error.contains("none of 1"), "{error}");
    let left = state.connections.lapsed(now_ms() - 600_000, now_ms()).await.unwrap();
    assert!(still_lapsed(&left, "stuck"), "kept for the next run: {left:?}");
    assert_eq!(state.subscriptions.subscribers("resource:note://swept").await.unwrap().len(), 1);

    let working: Arc<dyn ConnectionSink> = Arc::new(Closer { answer: |_| Ok(()), closed: Mutex::default() });
    assert_eq!(close_lapsed(&state, &working).await.unwrap(), Sweep { closed: 1, failed: 0, tasks_failed: 0 });
}
