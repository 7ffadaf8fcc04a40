//! Origin and Host validation against DNS rebinding: a browser page on another site must not
//! reach a server bound to localhost.

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

/// Which hosts and origins may talk to the server.
#[derive(Clone, Debug)]
pub struct OriginPolicy {
    /// Host names (without port) accepted in `Host`; empty accepts any host.
    pub allowed_hosts: Vec<String>,
    /// Origins accepted in `Origin` besides those whose host is in `allowed_hosts`
    /// (e.g. `https://app.example.com`). A request without `Origin` (not a browser) passes.
    pub allowed_origins: Vec<String>,
}

impl OriginPolicy {
    /// Loopback only: what a server bound to 127.0.0.1 should accept.
    pub fn loopback() -> Self {
        OriginPolicy {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            allowed_origins: Vec::new(),
        }
    }

    /// Checks `Host` and `Origin`; `Err` carries the reason for a 403.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        if !self.allowed_hosts.is_empty() {
            let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            if !self.host_allowed(host_name(host)) {
                return Err(format!("Host not allowed: {host}"));
            }
        }
        let Some(origin) = headers.get(ORIGIN) else { return Ok(()) };
        let origin = origin.to_str().unwrap_or("");
        if self.allowed_origins.iter().any(|o| o == origin) {
            return Ok(());
        }
        let host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if !self.allowed_hosts.is_empty() && self.host_allowed(host_name(host)) {
            return Ok(());
        }
        Err(format!("Origin not allowed: {origin}"))
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// `example.com:8080` -> `example.com`; `[::1]:80` -> `[::1]`.
fn host_name(authority: &str) -> &str {
    let authority = authority.split('/').next().unwrap_or("");
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn loopback_policy() {
        let p = OriginPolicy::loopback();
        assert!(p.check(&headers("localhost:8787", None)).is_ok());
        assert!(p.check(&headers("127.0.0.1:8787", Some("http://localhost:8787"))).is_ok());
        assert!(p.check(&headers("[::1]:8787", Some("http://[::1]:8787"))).is_ok());
        assert!(p.check(&headers("evil.example.com", Some("http://evil.example.com"))).is_err());
        assert!(p.check(&headers("localhost:8787", Some("http://evil.example.com"))).is_err());
        assert!(p.check(&headers("localhost.evil.com", None)).is_err());
    }
}
