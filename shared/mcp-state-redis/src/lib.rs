//! Redis (ElastiCache Serverless runs Valkey) as the signalling layer: the message bus
//! (pub/sub: replies to server-to-client requests, cancellations, notifications for streams
//! held by some instance) and the SSE event log (resumable streams).
//!
//! `redis://` and `rediss://` (TLS) URLs; cluster mode with `redis-cluster://` /
//! `rediss-cluster://` (fred's URL schemes). Connections reconnect with backoff; pub/sub
//! subscriptions are re-established after a reconnect.

mod bus;
mod events;
mod rates;
mod versions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fred::clients::{Client, SubscriberClient};
use fred::interfaces::EventInterface;
use fred::prelude::{Builder, ClientLike, Config, ReconnectPolicy, TcpConfig};
use fred::types::config::{CredentialProvider, TracingConfig};
use tokio::sync::mpsc;

use mcp_server::state::{EventLog, MessageBus, RateCounter, StateError, StateResult, Versions};

/// Local subscribers of each channel this instance listens to.
type Routes = HashMap<String, Vec<mpsc::Sender<Vec<u8>>>>;

#[derive(Clone)]
pub struct RedisState {
    client: Client,
    subscriber: SubscriberClient,
    routes: Arc<Mutex<Routes>>,
    subscribed: bus::Subscribed,
}

fn unavailable(e: fred::error::Error) -> StateError {
    StateError::Unavailable(format!("Redis: {e}"))
}

impl RedisState {
    /// Connects (two connections: commands, and pub/sub) and starts routing messages.
    pub async fn connect(url: &str) -> StateResult<Self> {
        RedisState::connect_with(url, None).await
    }

    /// [`connect`](Self::connect), with the user and password of every `AUTH`/`HELLO` from
    /// `credentials` (ElastiCache IAM tokens expire; a URL's password would not).
    pub async fn connect_with(url: &str, credentials: Option<Arc<dyn CredentialProvider>>) -> StateResult<Self> {
        let mut config = Config::from_url(url).map_err(unavailable)?;
        config.credential_provider = credentials;
        // One span per command (`fred.command`, with `cmd.name`), a child of the request being
        // served: at debug level, so it costs nothing unless a subscriber (the OpenTelemetry
        // exporter, `RUST_LOG=fred=debug`) asks for it.
        config.tracing = TracingConfig { enabled: true, default_tracing_level: tracing::Level::DEBUG };
        let mut builder = Builder::from_config(config);
        builder
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                // Nagle plus delayed ACK costs ~40 ms a reply.
                c.tcp = TcpConfig { nodelay: Some(true), ..Default::default() };
            })
            .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(2));
        let client = builder.build().map_err(unavailable)?;
        let subscriber = builder.build_subscriber_client().map_err(unavailable)?;
        // A failed start leaves nothing behind: neither client keeps reconnecting in the
        // background for a caller that got an error (the next call connects anew).
        if let Err(e) = client.init().await {
            let _ = client.quit().await;
            return Err(unavailable(e));
        }
        if let Err(e) = subscriber.init().await {
            let _ = (client.quit().await, subscriber.quit().await);
            return Err(unavailable(e));
        }
        // Re-subscribes to every channel after a reconnect; runs for the client's lifetime.
        drop(subscriber.manage_subscriptions());
        let state = RedisState { client, subscriber, routes: Arc::default(), subscribed: Arc::default() };
        state.route_messages();
        Ok(state)
    }

    pub fn bus(&self) -> Arc<dyn MessageBus> {
        Arc::new(self.clone())
    }

    pub fn events(&self) -> Arc<dyn EventLog> {
        Arc::new(self.clone())
    }

    pub fn versions(&self) -> Arc<dyn Versions> {
        Arc::new(self.clone())
    }

    pub fn rates(&self) -> Arc<dyn RateCounter> {
        Arc::new(self.clone())
    }

    /// The command connection, for one call (counted for the request being served).
    pub(crate) fn call(&self) -> &Client {
        mcp_server::state::calls::redis();
        &self.client
    }

    /// Delivers each pub/sub message to this instance's subscribers of its channel.
    fn route_messages(&self) {
        let mut rx = self.subscriber.message_rx();
        let routes = self.routes.clone();
        tokio::spawn(async move {
            loop {
                let message = match rx.recv().await {
                    Ok(m) => m,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(lost = n, "pub/sub receiver lagged");
                        continue;
                    }
                    Err(_) => return,
                };
                let Some(bytes) = message.value.as_bytes().map(<[u8]>::to_vec) else { continue };
                let Ok(mut routes) = routes.lock() else { return };
                if let Some(senders) = routes.get_mut(&*message.channel) {
                    senders.retain(|tx| match tx.try_send(bytes.clone()) {
                        Ok(()) => true,
                        Err(mpsc::error::TrySendError::Full(_)) => true,
                        Err(mpsc::error::TrySendError::Closed(_)) => false,
                    });
                }
            }
        });
    }
}
