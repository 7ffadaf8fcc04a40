//! What to drive: a transport, a name for the report, a URL.

use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Http,
    WebSocket,
}

/// Which protocol era the clients speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Era {
    /// 2026-07-28: every request complete in itself, no initialization.
    #[default]
    Stateless,
    /// 2025-11-25: each client initializes once, and its calls then name its session.
    Session,
}

#[derive(Clone, Debug)]
pub struct Target {
    pub transport: Transport,
    pub name: String,
    pub url: http::Uri,
    /// The server's process, when given (`NAME@PID`): its CPU time is measured too.
    pub pid: Option<u32>,
    pub era: Era,
}

impl Target {
    pub fn label(&self) -> String {
        let transport = match self.transport {
            Transport::Http => "http",
            Transport::WebSocket => "ws",
        };
        match self.era {
            Era::Stateless => format!("{} ({transport})", self.name),
            Era::Session => format!("{} ({transport}, session)", self.name),
        }
    }

    /// `host:port` to connect to.
    pub fn authority(&self) -> anyhow::Result<String> {
        let host = self.url.host().ok_or_else(|| anyhow::anyhow!("{}: no host", self.url))?;
        let port = self.url.port_u16().unwrap_or(80);
        Ok(format!("{host}:{port}"))
    }
}

impl FromStr for Target {
    type Err = String;

    /// `http:NAME=URL` or `ws:NAME=URL`, NAME optionally followed by `@PID`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || format!("{s:?}: expected http:NAME[@PID]=URL or ws:NAME[@PID]=URL");
        let (kind, rest) = s.split_once(':').ok_or_else(usage)?;
        let (name, url) = rest.split_once('=').ok_or_else(usage)?;
        let (name, pid) = match name.split_once('@') {
            Some((name, pid)) => (name, Some(pid.parse().map_err(|_| usage())?)),
            None => (name, None),
        };
        let transport = match kind {
            "http" => Transport::Http,
            "ws" => Transport::WebSocket,
            _ => return Err(usage()),
        };
        let url: http::Uri = url.parse().map_err(|e| format!("{url:?}: {e}"))?;
        match (transport, url.scheme_str()) {
            (Transport::Http, Some("http")) | (Transport::WebSocket, Some("ws")) => {}
            _ => return Err(format!("{s:?}: http targets need an http:// URL, ws targets a ws:// URL (no TLS)")),
        }
        Ok(Target { transport, name: name.to_owned(), url, pid, era: Era::Stateless })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_why() {
        let t: Target = "ws:ours=ws://127.0.0.1:8787/ws".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.transport, t.name.as_str()), (Transport::WebSocket, "ours"));
        assert_eq!(t.authority().ok().as_deref(), Some("127.0.0.1:8787"));
        let t: Target = "http:rmcp@42=http://127.0.0.1:1/mcp".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.name.as_str(), t.pid), ("rmcp", Some(42)));
        assert!("tcp:x=http://a".parse::<Target>().unwrap_err().contains("expected"));
        assert!("http:x=ws://a/".parse::<Target>().unwrap_err().contains("http:// URL"));
    }
}
