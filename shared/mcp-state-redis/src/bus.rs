//! The message bus over Redis pub/sub. Each instance holds one subscriber connection and
//! routes messages to its local subscribers; a channel is subscribed in Redis while at least
//! one local subscriber wants it.

use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use fred::interfaces::PubsubInterface;
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::mpsc;

use mcp_server::state::{MessageBus, StateResult};

use crate::{RedisState, Routes, unavailable};

/// How many messages a slow local subscriber may have queued before new ones are dropped.
const BUFFER: usize = 1024;

#[async_trait]
impl MessageBus for RedisState {
    async fn publish(&self, channel: &str, message: Vec<u8>) -> StateResult<usize> {
        let receivers: i64 = self.call().publish(channel, message).await.map_err(unavailable)?;
        Ok(usize::try_from(receivers).unwrap_or(0))
    }

    async fn subscribe(&self, channel: &str) -> StateResult<BoxStream<'static, Vec<u8>>> {
        let (tx, rx) = mpsc::channel(BUFFER);
        let first = {
            let mut routes =
                self.routes.lock().map_err(|_| mcp_server::state::StateError::Unavailable("poisoned".into()))?;
            let senders = routes.entry(channel.to_owned()).or_default();
            senders.push(tx);
            senders.len() == 1
        };
        if first && let Err(e) = counted_subscribe(&self.subscriber, channel).await {
            drop_route(&self.routes, channel);
            return Err(unavailable(e));
        }
        let guard = Unsubscribe {
            routes: Arc::downgrade(&self.routes),
            subscriber: self.subscriber.clone(),
            channel: channel.to_owned(),
        };
        Ok(stream::unfold((rx, guard), |(mut rx, guard)| async move { rx.recv().await.map(|m| (m, (rx, guard))) })
            .boxed())
    }
}

/// Removes closed senders of a channel; `true` if none is left.
fn drop_route(routes: &Mutex<Routes>, channel: &str) -> bool {
    let Ok(mut map) = routes.lock() else { return false };
    let Some(senders) = map.get_mut(channel) else { return true };
    senders.retain(|tx| !tx.is_closed());
    if senders.is_empty() {
        map.remove(channel);
        return true;
    }
    false
}

/// Unsubscribes in Redis when the last local subscriber of a channel goes away.
struct Unsubscribe {
    routes: Weak<Mutex<Routes>>,
    subscriber: fred::clients::SubscriberClient,
    channel: String,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        let Some(routes) = self.routes.upgrade() else { return };
        // The stream's state is `(receiver, guard)`: the receiver is dropped first, so this
        // subscription's sender already reports closed here.
        if !drop_route(&routes, &self.channel) {
            return;
        }
        let (subscriber, channel) = (self.subscriber.clone(), std::mem::take(&mut self.channel));
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = subscriber.unsubscribe(channel).await;
            });
        }
    }
}

async fn counted_subscribe(
    subscriber: &fred::clients::SubscriberClient,
    channel: &str,
) -> Result<(), fred::error::Error> {
    mcp_server::state::calls::redis();
    subscriber.subscribe(channel).await
}
