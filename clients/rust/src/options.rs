//! How to connect: the URL, the token, the era, and the bounds API Gateway sets.

use std::time::Duration;

/// Which protocol era the client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// 2026-07-28: every request complete in itself (`_meta` with the version and the
    /// client's capabilities), no initialization; a new connection changes nothing.
    Stateless,
    /// 2025-11-25: `initialize` once per connection; a new connection is a new session.
    Session,
}

/// Where the bearer token travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenIn {
    /// The extra subprotocol `mcp.auth.<token>` (never echoed back), for clients that
    /// cannot set headers.
    Subprotocol,
    /// `Authorization: Bearer <token>`.
    Header,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) url: String,
    pub(crate) token: Option<String>,
    pub(crate) token_in: TokenIn,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) era: Era,
    pub(crate) keepalive: Option<Duration>,
    pub(crate) reconnects: u32,
    pub(crate) reconnect_delay: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_message_bytes: usize,
    pub(crate) client_name: String,
}

impl Options {
    /// The stage's `wss://` URL (`?server=NAME` for a registered server). Defaults: the
    /// session era, a keepalive after 5 idle minutes, 5 reconnections, 60 s per request.
    pub fn new(url: impl Into<String>) -> Options {
        Options {
            url: url.into(),
            token: None,
            token_in: TokenIn::Subprotocol,
            headers: Vec::new(),
            era: Era::Session,
            keepalive: Some(Duration::from_secs(300)),
            reconnects: 5,
            reconnect_delay: Duration::from_millis(500),
            request_timeout: Duration::from_secs(60),
            max_message_bytes: crate::MAX_MESSAGE_BYTES,
            client_name: "mcp-ws-client".to_owned(),
        }
    }

    pub fn token(mut self, token: impl Into<String>) -> Options {
        self.token = Some(token.into());
        self
    }

    pub fn token_in(mut self, token_in: TokenIn) -> Options {
        self.token_in = token_in;
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Options {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn era(mut self, era: Era) -> Options {
        self.era = era;
        self
    }

    /// Idle time before a keepalive request (`ping`; 2026-07-28: `server/discover`); `None`
    /// for none. API Gateway closes a connection idle for 10 minutes.
    pub fn keepalive(mut self, idle: Option<Duration>) -> Options {
        self.keepalive = idle;
        self
    }

    /// New connections tried, one after another, when one ends; the first after `delay`,
    /// doubled each time.
    pub fn reconnects(mut self, attempts: u32, delay: Duration) -> Options {
        self.reconnects = attempts;
        self.reconnect_delay = delay;
        self
    }

    pub fn request_timeout(mut self, timeout: Duration) -> Options {
        self.request_timeout = timeout;
        self
    }

    /// Larger messages are refused before sending (default API Gateway's 128 KiB).
    pub fn max_message_bytes(mut self, bytes: usize) -> Options {
        self.max_message_bytes = bytes;
        self
    }

    pub fn client_name(mut self, name: impl Into<String>) -> Options {
        self.client_name = name.into();
        self
    }
}
