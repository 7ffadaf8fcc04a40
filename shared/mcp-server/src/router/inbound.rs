//! What a transport edge tells the router about a message besides its bytes.

/// The transport a message came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP (a Function URL, or the local gateway).
    Http,
    /// An API Gateway WebSocket connection: one session per connection.
    WebSocket,
    /// Lines on the process's stdin and stdout: one client, one session.
    Stdio,
}

/// The MCP headers of a Streamable HTTP request (2026-07-28 checks them against the body).
#[derive(Clone, Debug, Default)]
pub struct HttpHeaders {
    /// `MCP-Protocol-Version`.
    pub protocol_version: Option<String>,
    /// `Mcp-Method`.
    pub method: Option<String>,
    /// `Mcp-Name`, already decoded from the `=?base64?...?=` form.
    pub name: Option<String>,
    /// `Mcp-Param-*` headers: (lower-case suffix, decoded value).
    pub params: Vec<(String, String)>,
}

/// What the edge knows of a message besides its bytes: its transport, session, principal,
/// MCP headers and time bounds. The principal is set only by the edge, after validation.
#[derive(Clone, Debug)]
pub struct Inbound {
    /// The transport the message came in on (it decides where a session's unsolicited
    /// messages go).
    pub transport: Transport,
    /// Session era: the session the message belongs to. HTTP: the `Mcp-Session-Id` header;
    /// WebSocket: the connection id; stdio: the process's one session. Also the scope of
    /// cancellation and of replies to server requests.
    pub session_id: Option<String>,
    /// The authenticated principal, if the transport authenticated one.
    pub principal: Option<String>,
    /// HTTP only.
    pub http: Option<HttpHeaders>,
    /// When the credential this message came with stops being valid for its channel
    /// (WebSocket: the token's expiry, checked once at `$connect`). Nothing made through the
    /// channel (a session, a subscription row) outlives it, so a closed-late connection is
    /// not delivered to past its token.
    pub credential_expires_at_ms: Option<u64>,
    /// When a long-lived stream this message opens (a `subscriptions/listen` over HTTP) ends
    /// by itself: a Function URL stream holds a Lambda invocation for as long as it is open,
    /// so the edge bounds it, and the client opens another.
    pub stream_until_ms: Option<u64>,
}

impl Inbound {
    /// A message of which nothing but its transport is known yet.
    pub fn new(transport: Transport) -> Self {
        Inbound {
            transport,
            session_id: None,
            principal: None,
            http: None,
            credential_expires_at_ms: None,
            stream_until_ms: None,
        }
    }

    /// When a stream this message opens must end: the stream's bound or the credential's
    /// expiry, whichever comes first.
    pub fn stream_ends_at_ms(&self) -> Option<u64> {
        match (self.stream_until_ms, self.credential_expires_at_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    /// `expires_at_ms`, cut to the credential's expiry.
    pub fn within_credential(&self, expires_at_ms: u64) -> u64 {
        self.credential_expires_at_ms.map_or(expires_at_ms, |cap| cap.min(expires_at_ms))
    }
}
