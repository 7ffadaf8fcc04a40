//! Where a request's token comes from: the `Authorization` header, or, on a WebSocket
//! handshake from a client that cannot set headers, an extra offered subprotocol
//! `mcp.auth.<token>`. Never the query string (URLs end up in logs).

use http::HeaderMap;

use crate::AuthError;

/// The prefix of the subprotocol that carries a token on a WebSocket handshake.
pub const SUBPROTOCOL_TOKEN_PREFIX: &str = "mcp.auth.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// Streamable HTTP: the `Authorization` header only.
    Http,
    /// A WebSocket handshake: the header, else the subprotocol.
    WebSocketHandshake,
}

/// The bearer token of a request, if it carries exactly one.
pub fn bearer_token(headers: &HeaderMap, source: TokenSource) -> Result<String, AuthError> {
    let mut authorization = headers.get_all(http::header::AUTHORIZATION).iter();
    if let Some(value) = authorization.next() {
        if authorization.next().is_some() {
            return Err(AuthError::Malformed);
        }
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(AuthError::Malformed);
        }
        return Ok(token.to_owned());
    }
    if source == TokenSource::WebSocketHandshake {
        let offered = headers.get_all(http::header::SEC_WEBSOCKET_PROTOCOL).iter().filter_map(|v| v.to_str().ok());
        let mut tokens =
            offered.flat_map(|v| v.split(',')).filter_map(|p| p.trim().strip_prefix(SUBPROTOCOL_TOKEN_PREFIX));
        if let Some(token) = tokens.next() {
            if tokens.next().is_some() || token.is_empty() {
                return Err(AuthError::Malformed);
            }
            return Ok(token.to_owned());
        }
    }
    Err(AuthError::Missing)
}

/// Whether a query string carries an access token (`access_token=`, RFC 6750 section 2.3),
/// which MCP forbids.
pub fn query_has_token(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|pair| pair.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("access_token")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn tokens_come_from_the_header_or_a_handshake_subprotocol() {
        let h = headers(&[("authorization", "Bearer abc.def.ghi")]);
        assert_eq!(bearer_token(&h, TokenSource::Http), Ok("abc.def.ghi".into()));
        let h = headers(&[("sec-websocket-protocol", "mcp, mcp.auth.abc.def.ghi")]);
        assert_eq!(bearer_token(&h, TokenSource::WebSocketHandshake), Ok("abc.def.ghi".into()));
        assert_eq!(bearer_token(&h, TokenSource::Http), Err(AuthError::Missing));
        let h = headers(&[("authorization", "Basic dXNlcjpwYXNz")]);
        assert_eq!(bearer_token(&h, TokenSource::Http), Err(AuthError::Malformed));
        let h = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert_eq!(bearer_token(&h, TokenSource::Http), Err(AuthError::Malformed));
    }

    #[test]
    fn query_tokens_are_recognised() {
        assert!(query_has_token(Some("a=1&access_token=x")));
        assert!(query_has_token(Some("ACCESS_TOKEN=x")));
        assert!(!query_has_token(Some("server=notes")));
        assert!(!query_has_token(None));
    }
}
