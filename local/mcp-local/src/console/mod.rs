//! The console: a page on the gateway (loopback only, `--no-console` turns it off) that shows
//! what the deployment holds while it runs. It follows the gateway through one event stream,
//! and reads no table:
//!
//! - connections, sessions and subscriptions, from the traffic the gateway carries (it
//!   plays API Gateway and the Function URL, so it sees every handshake, message and close);
//! - the message log, from what the instances report of each message they serve: in process
//!   the `mcp::served` event ([`served::ServedLayer`]), in the Lambda lane the metrics lines
//!   the functions print (as CloudWatch receives them), with the function's environment as
//!   the instance;
//! - the servers and their tools, asked of the servers themselves (`tools/list`).
//!
//! [`routes`] serves the page and the stream: a snapshot first, then each change.

pub mod routes;
pub mod served;
mod traffic;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use mcp_server::registry::store::RegistryStore;
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub use traffic::Message;

/// Messages the log keeps for a page that opens later.
const LOG_KEPT: usize = 500;
/// Sessions kept: an HTTP session that expires instead of being deleted is never seen to
/// end, so the oldest go first past this.
const SESSIONS_KEPT: usize = 10_000;

pub struct Console {
    events: broadcast::Sender<Arc<str>>,
    state: Mutex<State>,
    /// With `--auth`: a token the console asks the servers for their tools with.
    token: std::sync::OnceLock<TokenFn>,
    /// With `--registry-table`: where the registered servers are listed.
    registry: std::sync::OnceLock<Arc<dyn RegistryStore>>,
}

/// Mints a bearer token for the console's own requests.
pub type TokenFn = Box<dyn Fn() -> Option<String> + Send + Sync>;

/// What a page that opens now is shown before the changes that follow.
#[derive(Default)]
struct State {
    connections: BTreeMap<String, Value>,
    sessions: BTreeMap<String, Value>,
    subscriptions: BTreeMap<String, Value>,
    servers: BTreeMap<String, Value>,
    messages: VecDeque<Value>,
}

impl Default for Console {
    fn default() -> Self {
        Console {
            events: broadcast::channel(1024).0,
            state: Mutex::new(State::default()),
            token: Default::default(),
            registry: Default::default(),
        }
    }
}

impl Console {
    /// Where the console's own requests get a token (with `--auth`); set once.
    pub fn set_token(&self, token: TokenFn) {
        let _ = self.token.set(token);
    }

    pub fn token(&self) -> Option<String> {
        self.token.get().and_then(|mint| mint())
    }

    /// The registry whose servers the console lists (with `--registry-table`); set once.
    pub fn set_registry(&self, registry: Arc<dyn RegistryStore>) {
        let _ = self.registry.set(registry);
    }

    /// Adds the registered servers to the list: one read of the registry when a page opens.
    pub async fn list_registered_servers(&self) {
        let Some(registry) = self.registry.get() else { return };
        match registry.servers().await {
            Ok(servers) => servers.iter().for_each(|s| self.server_seen(&s.name)),
            Err(e) => tracing::warn!(error = %e, "the console cannot list the registry's servers"),
        }
    }

    /// The state now and the changes from now on, with nothing lost in between.
    pub fn follow(&self) -> (Value, broadcast::Receiver<Arc<str>>) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = json!({
            "kind": "snapshot",
            "now_ms": now_ms(),
            "connections": state.connections.values().collect::<Vec<_>>(),
            "sessions": state.sessions.values().collect::<Vec<_>>(),
            "subscriptions": state.subscriptions.values().collect::<Vec<_>>(),
            "servers": state.servers.values().collect::<Vec<_>>(),
            "messages": state.messages.iter().collect::<Vec<_>>(),
        });
        (snapshot, self.events.subscribe())
    }

    /// Applies a change to the state and sends it to every page, under one lock, so that a
    /// page's snapshot and its changes never disagree.
    fn change(&self, kind: &str, op: &str, key: &str, item: Value) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let table = match kind {
            "connection" => &mut state.connections,
            "session" => &mut state.sessions,
            "subscription" => &mut state.subscriptions,
            "server" => &mut state.servers,
            _ => return,
        };
        let item = match op {
            "remove" => match table.remove(key) {
                Some(gone) => gone,
                None => return,
            },
            // An update of something that is gone (a message after its connection closed)
            // brings nothing back.
            "update" if !table.contains_key(key) => return,
            _ => {
                let merged = match (table.remove(key), item) {
                    (Some(Value::Object(mut old)), Value::Object(new)) => {
                        old.extend(new);
                        Value::Object(old)
                    }
                    (_, new) => new,
                };
                table.insert(key.to_owned(), merged.clone());
                merged
            }
        };
        self.publish(|| json!({"kind": kind, "op": op, "key": key, "item": item}));
    }

    /// One message an instance served.
    pub fn served(&self, row: Value) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.messages.len() == LOG_KEPT {
            state.messages.pop_front();
        }
        state.messages.push_back(row.clone());
        self.publish(|| json!({"kind": "message", "item": row}));
    }

    /// Sends a change to the pages that follow; with none open, the text is not even made.
    fn publish(&self, event: impl FnOnce() -> Value) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(event().to_string().into());
        }
    }

    // --- WebSocket traffic (what API Gateway sees) ---

    pub fn connected(&self, connection: &str, server: &str, principal: Option<&str>) {
        let principal = principal.map(mcp_server::observe::principal_hash).unwrap_or_default();
        self.server_seen(server);
        let now = now_ms();
        let item = json!({"id": connection, "server": server, "principal": principal, "era": "", "connected_ms": now, "last_message_ms": now});
        self.change("connection", "put", connection, item);
    }

    /// A message from a connection's client.
    pub fn websocket_message(&self, connection: &str, body: &str) {
        let message = Message::parse(body);
        let mut update = json!({"last_message_ms": now_ms()});
        if let Some(era) = message.era() {
            update["era"] = json!(era);
        }
        self.change("connection", "update", connection, update);
        match message.method.as_deref() {
            // The binding keys a WebSocket session by its connection; a new initialize
            // replaces it.
            Some("initialize") => {
                let server = self.server_of(connection);
                let session =
                    json!({"id": connection, "transport": "websocket", "server": server, "started_ms": now_ms()});
                self.change("session", "put", connection, session);
            }
            Some("resources/subscribe") | Some("resources/unsubscribe") | Some("subscriptions/listen") => {
                self.subscription(&message, &format!("ws:{connection}"), connection, "websocket");
            }
            _ => {}
        }
    }

    pub fn disconnected(&self, connection: &str) {
        self.change("connection", "remove", connection, Value::Null);
        self.change("session", "remove", connection, Value::Null);
        self.remove_subscriptions_of(connection);
    }

    // --- HTTP traffic (what the Function URL sees) ---

    /// An HTTP exchange: the request's session header and body, the response's status and
    /// session header.
    pub fn http_exchange(
        &self,
        server: &str,
        session: Option<&str>,
        body: &[u8],
        status: u16,
        new_session: Option<&str>,
    ) {
        // Only a server that answered: any caller can ask for `/mcp/<anything>`.
        if status < 400 {
            self.server_seen(server);
        }
        let message = Message::parse(std::str::from_utf8(body).unwrap_or_default());
        match (message.method.as_deref(), new_session) {
            (Some("initialize"), Some(id)) if status < 300 => {
                self.forget_oldest_sessions();
                let item = json!({"id": id, "transport": "http", "server": server, "started_ms": now_ms()});
                self.change("session", "put", id, item);
            }
            (Some("resources/subscribe") | Some("resources/unsubscribe"), _) if status < 300 => {
                if let Some(session) = session {
                    self.subscription(&message, &format!("http:{session}"), session, "http");
                }
            }
            _ => {}
        }
    }

    fn forget_oldest_sessions(&self) {
        let oldest: Vec<String> = {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.sessions.len() < SESSIONS_KEPT {
                return;
            }
            let mut by_age: Vec<(&String, i64)> =
                state.sessions.iter().map(|(k, s)| (k, s["started_ms"].as_i64().unwrap_or(0))).collect();
            by_age.sort_by_key(|(_, started)| *started);
            by_age.iter().take(state.sessions.len() + 1 - SESSIONS_KEPT).map(|(k, _)| (*k).clone()).collect()
        };
        for session in oldest {
            self.session_ended(&session);
        }
    }

    /// `DELETE` of a session over HTTP.
    pub fn session_ended(&self, session: &str) {
        self.change("session", "remove", session, Value::Null);
        self.remove_subscriptions_of(session);
    }

    /// A 2026-07-28 listen over HTTP holds its response open: it is a subscription while it
    /// does. Returns its key, for [`Console::listen_ended`].
    pub fn http_listen(&self, server: &str, body: &[u8]) -> Option<String> {
        let message = Message::parse(std::str::from_utf8(body).unwrap_or_default());
        if message.method.as_deref() != Some("subscriptions/listen") {
            return None;
        }
        let key = format!("http-listen:{}", mcp_server::ids::random_id());
        let item = json!({"key": key, "owner": "HTTP stream", "transport": "http", "server": server, "what": message.listen_summary()});
        self.change("subscription", "put", &key, item);
        Some(key)
    }

    pub fn listen_ended(&self, key: &str) {
        self.change("subscription", "remove", key, Value::Null);
    }

    // --- servers ---

    /// A server's tools, as it listed them.
    pub fn tools(&self, server: &str, tools: Vec<String>) {
        self.change("server", "put", server, json!({"name": server, "tools": tools}));
    }

    fn server_seen(&self, server: &str) {
        let known = self.state.lock().map(|s| s.servers.contains_key(server)).unwrap_or(true);
        if !known {
            self.change("server", "put", server, json!({"name": server, "tools": Value::Null}));
        }
    }

    /// Servers whose tools are not known yet.
    pub fn servers_to_list(&self) -> Vec<String> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.servers.iter().filter(|(_, s)| s["tools"].is_null()).map(|(name, _)| name.clone()).collect()
    }

    fn server_of(&self, connection: &str) -> String {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.connections.get(connection).and_then(|c| c["server"].as_str()).unwrap_or_default().to_owned()
    }

    fn subscription(&self, message: &Message, prefix: &str, owner: &str, transport: &str) {
        match message.method.as_deref() {
            Some("resources/subscribe") => {
                let uri = message.params["uri"].as_str().unwrap_or_default();
                let key = format!("{prefix}:{uri}");
                let item = json!({"key": key, "owner": owner, "transport": transport, "what": uri});
                self.change("subscription", "put", &key, item);
            }
            Some("resources/unsubscribe") => {
                let uri = message.params["uri"].as_str().unwrap_or_default();
                self.change("subscription", "remove", &format!("{prefix}:{uri}"), Value::Null);
            }
            // One listen per connection: a second replaces the first.
            Some("subscriptions/listen") => {
                let key = format!("{prefix}:listen");
                let item =
                    json!({"key": key, "owner": owner, "transport": transport, "what": message.listen_summary()});
                self.change("subscription", "put", &key, item);
            }
            _ => {}
        }
    }

    fn remove_subscriptions_of(&self, owner: &str) {
        let keys: Vec<String> = {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.subscriptions.iter().filter(|(_, s)| s["owner"] == owner).map(|(k, _)| k.clone()).collect()
        };
        for key in keys {
            self.change("subscription", "remove", &key, Value::Null);
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
