//! A mixed workload for fault tests: clients on several instances create sessions,
//! subscribe, unsubscribe and write notes, retrying what fails as an MCP client would, and
//! record what they were told succeeded. [`Acknowledged::check`] then reads the stores
//! and fails on anything acknowledged but missing.
//!
//! Every reply must be a success or a retryable error (`-32603` with `retryable: true`);
//! a reply that takes longer than [`HANG`] fails the test as a hang.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use mcp_server::notifier::resource_topic;
use mcp_server::{Inbound, Outbound, Router, StateHandles};

use crate::{Collected, http};

/// Longer than any request may take with the backends' deadlines and retries: reaching it
/// is a hang.
pub const HANG: Duration = Duration::from_secs(30);
/// Attempts a client makes at an operation before giving up on it.
const ATTEMPTS: usize = 6;
/// Pause between attempts, as a client backs off.
const BACKOFF: Duration = Duration::from_millis(50);

/// What the clients were told happened.
#[derive(Debug, Default)]
pub struct Acknowledged {
    pub sessions: Vec<String>,
    /// Topic and subscriber of each acknowledged subscription, and what became of the
    /// unsubscribe that followed it: acknowledged (`Some(true)`), failed (`Some(false)`:
    /// either outcome is right), or none (`None`).
    pub subscriptions: Vec<(String, String, Option<bool>)>,
    pub notes: BTreeMap<String, String>,
    /// Operations that succeeded, and retryable errors seen on the way.
    pub succeeded: usize,
    pub retryable_errors: usize,
    /// Operations still failing after every attempt.
    pub given_up: usize,
}

impl Acknowledged {
    /// Reads `stored` (the stores themselves, behind no fault) and fails on anything
    /// acknowledged that is not there, or an acknowledged unsubscribe that is.
    pub async fn check(&self, stored: &StateHandles) {
        for session in &self.sessions {
            let kept = stored.sessions.get(session).await.unwrap_or_else(|e| panic!("read: {e}"));
            assert!(kept.is_some(), "session {session} kept");
        }
        for (topic, subscriber, unsubscribed) in &self.subscriptions {
            let rows = stored.subscriptions.subscribers(topic).await.unwrap_or_else(|e| panic!("read: {e}"));
            let present = rows.iter().any(|s| &s.id == subscriber);
            match unsubscribed {
                None => assert!(present, "{topic}: the acknowledged subscription is kept"),
                Some(true) => assert!(!present, "{topic}: the acknowledged unsubscribe removed it"),
                Some(false) => {}
            }
        }
        for (name, text) in &self.notes {
            // The workload's clients are anonymous: their notes are in the anonymous scope.
            let scope = mcp_server::Store::of_principal(stored.kv.clone(), None);
            let kept = scope.get(&format!("notes/{name}")).await.unwrap_or_else(|e| panic!("read: {e}"));
            assert_eq!(kept.as_deref(), Some(text.as_bytes()), "note {name} kept");
        }
    }
}

/// Clients working until `stop` is set (each finishes its current step).
pub struct Workload {
    routers: Vec<Arc<Router>>,
    run: String,
    acked: Mutex<Acknowledged>,
    stop: AtomicBool,
}

/// What one attempt got: a result, or a retryable error.
enum Outcome {
    Done(Value),
    Retry,
}

impl Workload {
    pub fn new(routers: Vec<Arc<Router>>) -> Arc<Self> {
        let run = mcp_server::ids::random_id().replace(['-', '_'], "");
        Arc::new(Workload { routers, run, acked: Mutex::default(), stop: AtomicBool::new(false) })
    }

    /// Runs `clients` clients for at most `steps` steps each, or until [`stop`](Self::stop).
    pub async fn run(self: &Arc<Self>, clients: usize, steps: usize) -> Acknowledged {
        let tasks: Vec<_> = (0..clients)
            .map(|n| {
                let w = self.clone();
                tokio::spawn(async move { w.client(n, steps).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("client: {e}"));
        }
        std::mem::take(&mut *self.acked.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn acked(&self) -> std::sync::MutexGuard<'_, Acknowledged> {
        self.acked.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn send(&self, router: &Router, inbound: &Inbound, message: &Value) -> Outcome {
        let out: Arc<dyn Outbound> = Arc::new(Collected::default());
        let reply = tokio::time::timeout(HANG, router.handle(message.to_string().as_bytes(), inbound, out))
            .await
            .unwrap_or_else(|_| panic!("hung: {message}"));
        let body: Value = reply.body.map_or(Value::Null, |b| serde_json::from_slice(&b).unwrap_or(Value::Null));
        if body["error"].is_object() {
            assert_eq!(body["error"]["code"], -32603, "only internal errors under backend faults: {body}");
            assert_eq!(body["error"]["data"]["retryable"], true, "and they say the client may retry: {body}");
            return Outcome::Retry;
        }
        let mut done = body["result"].clone();
        if let Some(session) = reply.new_session {
            done["session"] = Value::String(session);
        }
        Outcome::Done(done)
    }

    /// Sends until a success, at most [`ATTEMPTS`] times, each attempt on the next instance.
    async fn with_retries(&self, first: usize, inbound: &Inbound, message: Value) -> Option<Value> {
        for attempt in 0..ATTEMPTS {
            let router = &self.routers[(first + attempt) % self.routers.len()];
            match self.send(router, inbound, &message).await {
                Outcome::Done(v) => {
                    self.acked().succeeded += 1;
                    return Some(v);
                }
                Outcome::Retry => {
                    self.acked().retryable_errors += 1;
                    tokio::time::sleep(BACKOFF).await;
                }
            }
        }
        self.acked().given_up += 1;
        None
    }

    async fn client(&self, n: usize, steps: usize) {
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"workload","version":"1"}}});
        let mut session = None;
        for step in 0..steps {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let Some(id) = session.clone() else {
                if let Some(done) = self.with_retries(n + step, &http(None, None), init.clone()).await
                    && let Some(id) = done["session"].as_str()
                {
                    self.acked().sessions.push(id.to_owned());
                    session = Some(id.to_owned());
                }
                continue;
            };
            let inbound = http(Some(&id), Some("2025-11-25"));
            let name = format!("{}-{n}-{step}", self.run);
            let uri = format!("note://{name}");
            let subscribe = json!({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":uri}});
            if self.with_retries(n + step, &inbound, subscribe).await.is_some() {
                let mut unsubscribed = None;
                if step % 2 == 1 {
                    let unsubscribe =
                        json!({"jsonrpc":"2.0","id":2,"method":"resources/unsubscribe","params":{"uri":uri}});
                    unsubscribed = Some(self.with_retries(n + step + 1, &inbound, unsubscribe).await.is_some());
                }
                self.acked().subscriptions.push((resource_topic(crate::REFERENCE, &uri), id.clone(), unsubscribed));
            }
            let text = format!("text of {name}");
            let write = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"note_write","arguments":{"name":name,"text":text}}});
            if let Some(result) = self.with_retries(n + step + 2, &inbound, write).await {
                assert_ne!(result["isError"], true, "{result}");
                self.acked().notes.insert(name, text);
            }
        }
    }
}
