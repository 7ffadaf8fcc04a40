//! The message bus over Redis pub/sub. Each instance holds one subscriber connection and
//! routes messages to its local subscribers; a channel is subscribed in Redis while at least
//! one local subscriber wants it. SUBSCRIBE and UNSUBSCRIBE decisions are made under one
//! lock per instance, so a subscriber never returns before its channel is subscribed and a
//! late UNSUBSCRIBE never strands a new subscriber.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use fred::interfaces::PubsubInterface;
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::mpsc;

use mcp_server::state::{MessageBus, StateError, StateResult};

use crate::{RedisState, Routes, unavailable};

/// How many messages a slow local subscriber may have queued before new ones are dropped.
const BUFFER: usize = 1024;

/// The channels this instance is subscribed to in Redis.
pub(crate) type Subscribed = Arc<tokio::sync::Mutex<HashSet<String>>>;

#[async_trait]
impl MessageBus for RedisState {
    async fn publish(&self, channel: &str, message: Vec<u8>) -> StateResult<usize> {
        let receivers: i64 = self.call().publish(channel, message).await.map_err(unavailable)?;
        Ok(usize::try_from(receivers).unwrap_or(0))
    }

    async fn subscribe(&self, channel: &str) -> StateResult<BoxStream<'static, Vec<u8>>> {
        let (tx, rx) = mpsc::channel(BUFFER);
        let mut subscribed = self.subscribed.lock().await;
        add_route(&self.routes, channel, tx)?;
        if !subscribed.contains(channel) {
            mcp_server::state::calls::redis();
            if let Err(e) = self.subscriber.subscribe(channel).await {
                drop(rx);
                drop_route(&self.routes, channel);
                return Err(unavailable(e));
            }
            subscribed.insert(channel.to_owned());
        }
        drop(subscribed);
        let guard = Unsubscribe {
            routes: Arc::downgrade(&self.routes),
            subscribed: self.subscribed.clone(),
            subscriber: self.subscriber.clone(),
            channel: channel.to_owned(),
        };
        Ok(stream::unfold((rx, guard), |(mut rx, guard)| async move { rx.recv().await.map(|m| (m, (rx, guard))) })
            .boxed())
    }
}

fn add_route(routes: &Mutex<Routes>, channel: &str, tx: mpsc::Sender<Vec<u8>>) -> StateResult<()> {
    let mut map = routes.lock().map_err(|_| StateError::Unavailable("poisoned".into()))?;
    map.entry(channel.to_owned()).or_default().push(tx);
    Ok(())
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
    subscribed: Subscribed,
    subscriber: fred::clients::SubscriberClient,
    channel: String,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        let (routes, subscribed, subscriber) = (self.routes.clone(), self.subscribed.clone(), self.subscriber.clone());
        let channel = std::mem::take(&mut self.channel);
        // The stream's state is `(receiver, guard)`: the receiver is gone by now, so this
        // subscription's sender reports closed. The decision is taken under the lock.
        handle.spawn(async move {
            let mut subscribed = subscribed.lock().await;
            let Some(routes) = routes.upgrade() else { return };
            if drop_route(&routes, &channel) && subscribed.remove(&channel) {
                mcp_server::state::calls::redis();
                let _ = subscriber.unsubscribe(channel).await;
            }
        });
    }
}
