//! Reading the MCP headers of a Streamable HTTP request.

use http::HeaderMap;

use mcp_server::HttpHeaders;

pub const SESSION_ID: &str = "mcp-session-id";
pub const PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub const METHOD: &str = "mcp-method";
pub const NAME: &str = "mcp-name";
pub const PARAM_PREFIX: &str = "mcp-param-";
pub const LAST_EVENT_ID: &str = "last-event-id";

/// A header value as text, optional whitespace trimmed. A value that is not visible ASCII
/// is kept as U+FFFD so that validation rejects it instead of treating it as absent.
pub fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|v| match v.to_str() {
        Ok(s) => s.trim_matches([' ', '\t']).to_owned(),
        Err(_) => "\u{FFFD}".to_owned(),
    })
}

/// The MCP headers the router checks against the body.
pub fn mcp_headers(headers: &HeaderMap) -> HttpHeaders {
    let params = headers
        .iter()
        .filter_map(|(k, _)| k.as_str().strip_prefix(PARAM_PREFIX).map(|suffix| (suffix.to_owned(), k.as_str())))
        .filter_map(|(suffix, full)| text(headers, full).map(|v| (suffix, v)))
        .collect();
    HttpHeaders {
        protocol_version: text(headers, PROTOCOL_VERSION),
        method: text(headers, METHOD),
        name: text(headers, NAME),
        params,
    }
}
