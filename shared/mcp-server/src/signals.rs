//! Signals to running requests: cancellations, and clients' replies to server-to-client
//! requests. They are rare, small, and addressed to one request on some instance. They
//! travel on one bus channel that each instance subscribes to once, and the instance hands
//! them to its local waiters, so waiting for a signal costs a request no remote call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use futures_util::stream::{self, BoxStream, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use crate::state::{MessageBus, StateError, StateResult};

/// The bus channel every instance listens to.
const CHANNEL: &str = "mcp:signals";
/// Signals a waiter may have queued (a waiter needs one; more are dropped).
const BUFFER: usize = 16;

type Waiters = HashMap<String, Vec<mpsc::Sender<Vec<u8>>>>;

/// This instance's end of the signal channel: sends signals to whichever instance waits, and
/// hands those that arrive to the requests waiting here, subscribing to the channel once.
pub struct Signals {
    bus: Arc<dyn MessageBus>,
    waiters: Arc<Mutex<Waiters>>,
    /// Whether this instance's subscription to the channel is alive: cleared when its stream
    /// ends (the bus dropped it), so that the next waiter subscribes again.
    listening: Arc<AtomicBool>,
    subscribing: tokio::sync::Mutex<()>,
}

impl Signals {
    /// Signals over `bus`; nothing is subscribed until the first [`wait`](Self::wait).
    pub fn new(bus: Arc<dyn MessageBus>) -> Self {
        Signals {
            bus,
            waiters: Arc::default(),
            listening: Arc::new(AtomicBool::new(false)),
            subscribing: tokio::sync::Mutex::new(()),
        }
    }

    /// Sends a signal to whoever waits for `key`, on any instance.
    pub async fn send(&self, key: &str, payload: Vec<u8>) -> StateResult<()> {
        let mut message = Vec::with_capacity(key.len() + 1 + payload.len());
        message.extend_from_slice(key.as_bytes());
        message.push(b'\n');
        message.extend_from_slice(&payload);
        self.bus.publish(CHANNEL, message).await.map(|_| ())
    }

    /// Waits for signals sent to `key` from now on (until the stream is dropped).
    pub async fn wait(&self, key: &str) -> StateResult<BoxStream<'static, Vec<u8>>> {
        if !self.listening.load(Ordering::Acquire) {
            let _one_at_a_time = self.subscribing.lock().await;
            if !self.listening.load(Ordering::Acquire) {
                self.listen().await?;
            }
        }
        let (tx, rx) = mpsc::channel(BUFFER);
        self.waiters
            .lock()
            .map_err(|_| StateError::Unavailable("poisoned".into()))?
            .entry(key.to_owned())
            .or_default()
            .push(tx);
        let guard = Forget { waiters: Arc::downgrade(&self.waiters), key: key.to_owned() };
        Ok(stream::unfold((rx, guard), |(mut rx, guard)| async move { rx.recv().await.map(|m| (m, (rx, guard))) })
            .boxed())
    }

    /// Subscribes this instance to the signal channel and routes what arrives.
    async fn listen(&self) -> StateResult<()> {
        let mut incoming = self.bus.subscribe(CHANNEL).await?;
        let waiters = Arc::downgrade(&self.waiters);
        self.listening.store(true, Ordering::Release);
        let listening = self.listening.clone();
        tokio::spawn(async move {
            // However this loop ends, the next waiter subscribes anew.
            let _relisten = ClearOnDrop(listening);
            while let Some(message) = incoming.next().await {
                let Some(split) = message.iter().position(|&b| b == b'\n') else { continue };
                let Ok(key) = std::str::from_utf8(&message[..split]) else { continue };
                let Some(waiters) = waiters.upgrade() else { return };
                let Ok(map) = waiters.lock() else { return };
                for tx in map.get(key).into_iter().flatten() {
                    let _ = tx.try_send(message[split + 1..].to_vec());
                }
            }
        });
        Ok(())
    }
}

struct ClearOnDrop(Arc<AtomicBool>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Removes a waiter when its stream is dropped (the receiver goes first, see `wait`).
struct Forget {
    waiters: Weak<Mutex<Waiters>>,
    key: String,
}

impl Drop for Forget {
    fn drop(&mut self) {
        let Some(waiters) = self.waiters.upgrade() else { return };
        let Ok(mut map) = waiters.lock() else { return };
        if let Some(senders) = map.get_mut(&self.key) {
            senders.retain(|tx| !tx.is_closed());
            if senders.is_empty() {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StateHandles;

    #[tokio::test]
    async fn a_signal_reaches_its_waiter_on_another_instance_only() {
        let state = StateHandles::in_memory();
        let (a, b) = (Signals::new(state.bus.clone()), Signals::new(state.bus.clone()));
        let mut waiting = b.wait("cancel:s:1").await.unwrap();
        let mut other = b.wait("cancel:s:2").await.unwrap();
        a.send("cancel:s:1", b"now".to_vec()).await.unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(2), waiting.next()).await.unwrap();
        assert_eq!(got.as_deref(), Some(b"now".as_slice()));
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), other.next()).await.is_err());
    }
}
