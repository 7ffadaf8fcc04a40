//! The caller's side: requests and their replies, notifications, and what the connection
//! went through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::connection::{self, Command, META_VERSION, PROTOCOL_VERSION, Pending, Shared, Task};
use crate::{Era, Error, Options};

/// What arrives besides replies.
#[derive(Debug)]
pub enum Event {
    /// A notification from the server (progress, resource updates, log messages).
    Notification(Value),
    /// A request from the server (session era: elicitation, sampling, roots); answer it
    /// with [`Client::respond`].
    Request(Value),
    /// A new connection serves, after API Gateway ended the old one. In the session era it
    /// carries a new session: what the old one held (subscriptions, the log level) is gone.
    Reconnected { attempt: u32, session_restarted: bool },
    /// Something no request of the caller's is waiting for: a refusal of a message the
    /// server could not read, API Gateway's own messages, a failed reconnection attempt.
    Error(String),
    /// The connection ended and no new one could be made.
    Closed(String),
}

pub struct Client {
    commands: mpsc::Sender<Command>,
    events: Mutex<mpsc::Receiver<Event>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    options: Options,
    initialize_result: Option<Value>,
}

impl Client {
    /// Connects, and in the session era initializes. A refused handshake is
    /// [`Error::Handshake`] with the status and the server's reason.
    pub async fn connect(options: Options) -> Result<Client, Error> {
        let mut socket = connection::open(&options).await?;
        let shared = Arc::new(Shared::default());
        let (events_tx, events) = mpsc::channel(256);
        let mut own_ids = 0;
        let initialize_result = match options.era {
            Era::Session => {
                Some(connection::start_session(&mut socket, &options, &mut own_ids, &shared, &events_tx).await?)
            }
            Era::Stateless => None,
        };
        let (commands, commands_rx) = mpsc::channel(64);
        let task = Task {
            socket,
            options: options.clone(),
            shared: shared.clone(),
            commands: commands_rx,
            events: events_tx,
            own_ids,
            stateless_meta: None,
        };
        tokio::spawn(task.run());
        Ok(Client {
            commands,
            events: Mutex::new(events),
            shared,
            next_id: AtomicU64::new(1),
            options,
            initialize_result,
        })
    }

    /// The server's `initialize` result (session era), from the first connection.
    pub fn initialize_result(&self) -> Option<&Value> {
        self.initialize_result.as_ref()
    }

    /// Sends a request and waits for its result. In the 2026-07-28 era the request's
    /// `_meta` gets the protocol version, the client's capabilities and its name.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": self.with_meta(params)});
        let text = self.checked(&request)?;
        let (reply, wait) = oneshot::channel();
        self.commands
            .send(Command::Send(text, Some((id, Pending { reply, request }))))
            .await
            .map_err(|_| Error::Closed("the client is closed".to_owned()))?;
        match tokio::time::timeout(self.options.request_timeout, wait).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(Error::Closed("the client's connection task ended".to_owned())),
            Err(_) => {
                if let Ok(mut pending) = self.shared.pending.lock() {
                    pending.remove(&id);
                }
                Err(Error::Timeout(self.options.request_timeout))
            }
        }
    }

    pub async fn notify(&self, method: &str, params: Value) -> Result<(), Error> {
        let text = self.checked(&json!({"jsonrpc": "2.0", "method": method, "params": params}))?;
        self.send(text).await
    }

    /// Answers a server's request ([`Event::Request`]).
    pub async fn respond(&self, id: Value, result: Value) -> Result<(), Error> {
        let text = self.checked(&json!({"jsonrpc": "2.0", "id": id, "result": result}))?;
        self.send(text).await
    }

    /// The next notification, server request or connection event. Up to 256 wait unread;
    /// later ones are dropped rather than hold up replies.
    pub async fn next_event(&self) -> Option<Event> {
        self.events.lock().await.recv().await
    }

    /// Closes the connection; requests still waiting fail with [`Error::Closed`].
    pub async fn close(self) {
        let _ = self.commands.send(Command::Close).await;
    }

    fn with_meta(&self, params: Value) -> Value {
        if self.options.era != Era::Stateless {
            return params;
        }
        let mut params = match params {
            Value::Object(o) => o,
            _ => serde_json::Map::new(),
        };
        let meta = params.entry("_meta").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.entry(META_VERSION).or_insert_with(|| json!(PROTOCOL_VERSION));
            meta.entry("io.modelcontextprotocol/clientCapabilities").or_insert_with(|| json!({}));
            meta.entry("io.modelcontextprotocol/clientInfo")
                .or_insert_with(|| json!({"name": self.options.client_name, "version": env!("CARGO_PKG_VERSION")}));
        }
        Value::Object(params)
    }

    /// The message as text, or [`Error::Limit`] when API Gateway would not take it.
    fn checked(&self, message: &Value) -> Result<String, Error> {
        let text = message.to_string();
        if text.len() > self.options.max_message_bytes {
            return Err(Error::Limit {
                message: format!(
                    "the message is {} bytes; API Gateway takes at most {} in one message",
                    text.len(),
                    self.options.max_message_bytes
                ),
                data: None,
            });
        }
        Ok(text)
    }

    async fn send(&self, text: String) -> Result<(), Error> {
        self.commands
            .send(Command::Send(text, None))
            .await
            .map_err(|_| Error::Closed("the client is closed".to_owned()))
    }
}
