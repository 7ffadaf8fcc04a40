//! Fan-out of notifications that belong to no request: resource updates and list changes,
//! to every subscriber of the topic, whichever instance holds its stream.

use std::sync::Arc;

use futures_util::StreamExt;

use serde_json::{Map, Value, json};

use mcp_protocol::jsonrpc;
use mcp_protocol::model::meta::SUBSCRIPTION_ID_KEY;
use mcp_protocol::model::notifications::RESOURCES_UPDATED;

use crate::notifications::{ListKind, Notifications};
use crate::outbound::{ConnectionSink, PostError};
use crate::registry::LiveCatalogue;
use crate::registry::live::Registration;
use crate::state::{DeliveryTarget, StateHandles, StateResult, Subscriber};

/// How many deliveries of one notification run at once.
const FAN_OUT_CONCURRENCY: usize = 32;

/// How long one fan-out may take. A fan-out runs inside the request that caused it (a tool
/// call that changed a resource), whose reply must still reach the client within API
/// Gateway's 29 s integration timeout and the function's own; subscribers not reached by
/// then miss this notification, as they would miss one on a lossy bus.
pub const FAN_OUT_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// What handlers see of the notifier (through [`RequestContext::notifier`](crate::RequestContext::notifier)).
#[async_trait::async_trait]
impl Notifications for Notifier {
    async fn resource_updated(&self, uri: &str) -> StateResult<usize> {
        Notifier::resource_updated(self, uri).await
    }

    async fn resource_updated_for(&self, uri: &str, principal: Option<&str>) -> StateResult<usize> {
        Notifier::resource_updated_for(self, uri, principal).await
    }

    async fn list_changed(&self, kind: ListKind) -> StateResult<usize> {
        Notifier::list_changed(self, kind).await
    }
}

/// Removes everything kept for a WebSocket connection: its record, its session-era session
/// and that session's rows, and its listen rows.
pub async fn forget_connection(state: &StateHandles, connection_id: &str) -> StateResult<()> {
    // First the record is marked as ended: reads no longer see it, the sweeper still finds it.
    // A message racing this cleanup that writes state bound to the connection (an
    // initialize, a listen) checks the record after its writes: seeing it ended, it runs this
    // cleanup again, so what it wrote after the removals below is removed too.
    if let Some(mut record) = state.connections.get(connection_id).await? {
        record.expires_at_ms = crate::state::now_ms();
        state.connections.put(&record).await?;
    }
    // The session goes next: a subscribe racing this cleanup checks the session after
    // writing its row, so a row written too late for the removal below finds no session and
    // removes itself. Then what hangs off the connection, all at once; its record last, and
    // only if all of that went: the record is what a later sweep finds to finish the job.
    // The principal's place among its live sessions goes with the session.
    let deleted = state.sessions.delete(connection_id).await?;
    if let Some(principal) = deleted.and_then(|s| s.principal) {
        let _ = state.rates.release(&crate::router::sessions_key(&principal), connection_id).await;
    }
    let listener = crate::router::listen_subscriber(connection_id);
    let (rows, listen_rows) = futures_util::future::join(
        state.subscriptions.remove_subscriber(connection_id),
        state.subscriptions.remove_subscriber(&listener),
    )
    .await;
    rows?;
    listen_rows?;
    state.connections.delete(connection_id).await?;
    Ok(())
}

/// The subscription topic of one resource URI of `server`. Topics are per server (a server
/// name has no `/`), so that a client of one server of a deployment never hears about
/// another's resources or lists.
pub fn resource_topic(server: &str, uri: &str) -> String {
    format!("{server}/resource:{uri}")
}

/// Whom a notification is for, among a topic's subscribers.
#[derive(Clone, Copy)]
enum Audience<'a> {
    Everyone,
    /// Subscribers who are this principal (`None`: the anonymous ones).
    Principal(Option<&'a str>),
}

impl Audience<'_> {
    fn includes(self, principal: Option<&str>) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Principal(p) => p == principal,
        }
    }
}

/// Notifications of one server's resources and lists.
#[derive(Clone)]
pub struct Notifier {
    state: StateHandles,
    sink: Option<Arc<dyn ConnectionSink>>,
    server: Arc<str>,
    /// The server's registration, when a registry backs it: subscribers whose principal it
    /// no longer admits are skipped.
    access: Option<Arc<LiveCatalogue>>,
    budget: std::time::Duration,
}

impl Notifier {
    /// For the server named `server` (the name topics are kept under).
    pub fn new(state: StateHandles, sink: Option<Arc<dyn ConnectionSink>>, server: impl Into<Arc<str>>) -> Self {
        Notifier { state, sink, server: server.into(), access: None, budget: FAN_OUT_BUDGET }
    }

    /// The same deliveries within another time budget than [`FAN_OUT_BUDGET`].
    pub fn with_budget(mut self, budget: std::time::Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The same deliveries, for another server of the deployment.
    pub fn for_server(&self, server: impl Into<Arc<str>>) -> Self {
        Notifier { server: server.into(), access: None, ..self.clone() }
    }

    /// Delivers only to the principals the server's registration admits, as last read
    /// (a principal taken off the server hears nothing more from it).
    pub fn with_access(mut self, live: Arc<LiveCatalogue>) -> Self {
        self.access = Some(live);
        self
    }

    fn admits(&self, principal: Option<&str>) -> bool {
        match self.access.as_ref().map(|live| live.registration()) {
            Some(Registration::Registered(entry)) => entry.admits(principal),
            _ => true,
        }
    }

    /// Sends `notifications/resources/updated` to the resource's subscribers; returns how
    /// many were reached.
    pub async fn resource_updated(&self, uri: &str) -> StateResult<usize> {
        self.updated(uri, Audience::Everyone).await
    }

    /// Sends `notifications/resources/updated` to the subscribers who are `principal`: for
    /// a resource whose content is the principal's own (a note in its store scope), which
    /// other principals' subscriptions to the same URI do not see.
    pub async fn resource_updated_for(&self, uri: &str, principal: Option<&str>) -> StateResult<usize> {
        self.updated(uri, Audience::Principal(principal)).await
    }

    async fn updated(&self, uri: &str, audience: Audience<'_>) -> StateResult<usize> {
        let mut params = Map::new();
        params.insert("uri".into(), Value::String(uri.to_owned()));
        self.fan_out(&resource_topic(&self.server, uri), RESOURCES_UPDATED, params, audience).await
    }

    /// Sends the `list_changed` notification of a list to everyone following it.
    pub async fn list_changed(&self, kind: ListKind) -> StateResult<usize> {
        self.fan_out(&kind.topic(&self.server), kind.method(), Map::new(), Audience::Everyone).await
    }

    /// Delivers to every subscriber, a bounded number at a time, so that one slow connection
    /// delays only its own delivery, and stops when the budget is spent.
    async fn fan_out(
        &self,
        topic: &str,
        method: &str,
        params: Map<String, Value>,
        audience: Audience<'_>,
    ) -> StateResult<usize> {
        let started = std::time::Instant::now();
        let deadline = tokio::time::sleep(self.budget);
        let mut subscribers = self.state.subscriptions.subscribers(topic).await?;
        let size = subscribers.len();
        subscribers.retain(|s| self.admits(s.principal.as_deref()) && audience.includes(s.principal.as_deref()));
        let admitted = subscribers.len();
        let deliveries = futures_util::stream::iter(subscribers).map(|s| {
            let mut p = params.clone();
            if let Some(id) = &s.subscription_id {
                p.insert("_meta".into(), json!({ SUBSCRIPTION_ID_KEY: id }));
            }
            let message = jsonrpc::encode_notification(method, Some(&p));
            async move { self.deliver(&s, message).await }
        });
        let results: Vec<StateResult<bool>> =
            deliveries.buffer_unordered(FAN_OUT_CONCURRENCY).take_until(deadline).collect().await;
        if results.len() < admitted {
            let left = admitted - results.len();
            tracing::warn!(
                topic,
                left,
                budget_ms = self.budget.as_millis() as u64,
                "fan-out budget spent; the rest not reached"
            );
        }
        let mut reached = 0;
        for r in results {
            reached += usize::from(r?);
        }
        crate::observe::fanned_out(topic, size, reached, started.elapsed());
        Ok(reached)
    }

    /// Publishes on a channel. A session's messages are logged first (its GET stream resumes
    /// from the log with `Last-Event-ID`, so one that ended misses nothing in between) and
    /// carry their event id.
    async fn publish(&self, channel: &str, message: Vec<u8>) -> StateResult<usize> {
        let Some(session) = crate::router::session_of_channel(channel) else {
            return self.state.bus.publish(channel, message).await;
        };
        let id = self.state.events.append(&crate::router::session_log(session), &message).await?;
        self.state.bus.publish(channel, crate::router::logged_frame(&id, &message)).await
    }

    /// Delivers one message to a subscriber's target; a dead connection is forgotten.
    pub async fn deliver(&self, s: &Subscriber, message: Vec<u8>) -> StateResult<bool> {
        match &s.target {
            // Best effort: a stream that misses a notification is not worth failing the
            // request that caused it (the bus is lossy by nature).
            DeliveryTarget::Channel(channel) => match self.publish(channel, message).await {
                Ok(receivers) => Ok(receivers > 0),
                Err(e) => {
                    tracing::warn!(channel, error = %e, "notification not published");
                    Ok(false)
                }
            },
            DeliveryTarget::Connection(connection) => {
                let Some(sink) = &self.sink else { return Ok(false) };
                match sink.post(connection, message).await {
                    Ok(()) => Ok(true),
                    Err(PostError::Gone(_)) => {
                        tracing::info!(connection, "connection gone; forgetting it");
                        forget_connection(&self.state, connection).await?;
                        Ok(false)
                    }
                    Err(PostError::Failed(why)) => {
                        tracing::warn!(connection, %why, "notification not delivered");
                        Ok(false)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::state::Subscriber;

    /// Posts to `stuck` never finish; every other post does at once.
    struct StuckConnection;

    #[async_trait]
    impl ConnectionSink for StuckConnection {
        async fn post(&self, connection_id: &str, _message: Vec<u8>) -> Result<(), PostError> {
            if connection_id == "stuck" {
                std::future::pending::<()>().await;
            }
            Ok(())
        }

        async fn close(&self, _connection_id: &str) -> Result<(), PostError> {
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fan_out_ends_within_its_budget_though_a_delivery_never_does() {
        let state = StateHandles::in_memory();
        for id in ["stuck", "quick"] {
            let row = Subscriber {
                id: id.into(),
                target: DeliveryTarget::Connection(id.into()),
                subscription_id: None,
                principal: None,
                expires_at_ms: u64::MAX,
            };
            state.subscriptions.subscribe(&resource_topic("s", "note://1"), &row).await.unwrap();
        }
        let sink: Arc<dyn ConnectionSink> = Arc::new(StuckConnection);
        let notifier = Notifier::new(state, Some(sink), "s").with_budget(Duration::from_secs(2));
        // Without a budget this never returns (the test runs on paused time, so it would hang).
        let reached = notifier.resource_updated("note://1").await.unwrap();
        assert_eq!(reached, 1, "the quick connection is reached, the stuck one given up");
    }
}
