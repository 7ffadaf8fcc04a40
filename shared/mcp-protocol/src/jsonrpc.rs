//! JSON-RPC 2.0 framing: a borrowed envelope decoded first, typed params later.
//!
//! Decoding never builds a `serde_json::Value`: the envelope borrows `method` and keeps
//! `params` as a `&RawValue`, so the only typed decode is the one the handler asks for.
//! Batches (a top-level array) are refused: MCP removed them in 2025-06-18 and this
//! implementation does not accept them in any version.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::error::{ErrorCode, ErrorObject};

/// A request id. MCP allows strings and integers and forbids `null`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// An integer id, a JSON number on the wire.
    Number(i64),
    /// A string id, a JSON string on the wire.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => f.write_str(s),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.to_owned())
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Number(n) => s.serialize_i64(*n),
            RequestId::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = RequestId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RequestId, E> {
                Ok(RequestId::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RequestId, E> {
                i64::try_from(v).map(RequestId::Number).map_err(|_| E::custom("id out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RequestId, E> {
                Ok(RequestId::String(v.to_owned()))
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

/// One decoded message, borrowing from the input buffer.
#[derive(Debug)]
pub enum Message<'a> {
    /// A request: a `method` and an `id`; expects a response.
    Request(Request<'a>),
    /// A notification: a `method` and no `id`; never answered.
    Notification(Notification<'a>),
    /// A response to a server-initiated request: `result` or `error`, and no `method`.
    Response(Response<'a>),
}

/// A request (a message with `method` and `id`), its params left undecoded.
#[derive(Debug)]
pub struct Request<'a> {
    /// The `id` the response must echo.
    pub id: RequestId,
    /// The `method`, borrowed from the input unless it contained escapes.
    pub method: Cow<'a, str>,
    /// The raw `params` (an object or an array); `None` when absent.
    pub params: Option<&'a RawValue>,
}

/// A notification (a message with `method` and no `id`), its params left undecoded.
#[derive(Debug)]
pub struct Notification<'a> {
    /// The `method`, borrowed from the input unless it contained escapes.
    pub method: Cow<'a, str>,
    /// The raw `params` (an object or an array); `None` when absent.
    pub params: Option<&'a RawValue>,
}

/// A response from the client to a server-initiated request.
#[derive(Debug)]
pub struct Response<'a> {
    /// `None` only for an error response whose id is `null` or absent: the peer could not
    /// read the id of what it answers (JSON-RPC 2.0's parse errors). Such a response is
    /// received and never answered, so two peers cannot trade errors for ever.
    pub id: Option<RequestId>,
    /// The raw `result` on success, or the decoded `error` object.
    pub outcome: Result<&'a RawValue, ErrorObject>,
}

/// Why a message could not be decoded, with the id to answer to when one was readable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct DecodeError {
    /// The id of the offending message, when it could be read: the error reply echoes it.
    pub id: Option<RequestId>,
    /// The error object to send back.
    pub error: ErrorObject,
}

impl DecodeError {
    fn new(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        DecodeError { id, error: ErrorObject::new(code, message) }
    }
}

/// Every member is kept raw so that a wrongly typed member still leaves the others readable
/// (the id above all: an error reply must echo it).
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// Distinguishes a member set to `null` (Some("null")) from an absent one (None).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

/// The deepest nesting of objects and arrays a message may have (the same limit serde_json
/// applies when params are decoded; checked up front so that a raw `params` cannot smuggle
/// deeper structures past the envelope).
pub const MAX_DEPTH: usize = 128;

/// Whether objects and arrays nest deeper than `limit` (strings are skipped). Runs before
/// every decode, so strings (most of a large message) are skipped with `memchr`, not byte by
/// byte: a 100 KB text costs microseconds.
fn nests_deeper_than(input: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'"' => {
                // To the closing quote: the next `"` not escaped by a `\`.
                i += 1;
                loop {
                    let Some(at) = memchr::memchr2(b'"', b'\\', &input[i..]) else { return false };
                    i += at;
                    if input[i] == b'"' {
                        break;
                    }
                    i += 2; // a backslash and the character it escapes
                    if i >= input.len() {
                        return false;
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// Decodes one JSON-RPC message.
pub fn decode(input: &[u8]) -> Result<Message<'_>, DecodeError> {
    if nests_deeper_than(input, MAX_DEPTH) {
        return Err(DecodeError::new(
            None,
            ErrorCode::INVALID_REQUEST,
            format!("message nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    match input.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(&first) => {
            // Valid JSON that is not an object is an invalid request (a batch, if an array);
            // anything else a parse error.
            let why = if first == b'[' {
                "JSON-RPC batches are not supported"
            } else {
                "a JSON-RPC message must be an object"
            };
            return Err(match serde_json::from_slice::<de::IgnoredAny>(input) {
                Ok(_) => DecodeError::new(None, ErrorCode::INVALID_REQUEST, why),
                Err(e) => DecodeError::new(None, ErrorCode::PARSE_ERROR, format!("parse error: {e}")),
            });
        }
        None => return Err(DecodeError::new(None, ErrorCode::PARSE_ERROR, "empty message")),
    }
    let raw: RawEnvelope<'_> = serde_json::from_slice(input).map_err(|e| {
        let code = if e.is_data() { ErrorCode::INVALID_REQUEST } else { ErrorCode::PARSE_ERROR };
        DecodeError::new(None, code, format!("parse error: {e}"))
    })?;
    classify(raw)
}

fn classify(raw: RawEnvelope<'_>) -> Result<Message<'_>, DecodeError> {
    let null_id = raw.id.is_some_and(|v| v.get() == "null");
    let id = match raw.id {
        None => None,
        // Allowed on error responses only (below); a request's id is never null.
        Some(_) if null_id && raw.method.is_none() && raw.error.is_some() => None,
        Some(v) => Some(parse_id(v)?),
    };
    if raw.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
        return Err(DecodeError::new(id, ErrorCode::INVALID_REQUEST, "jsonrpc must be \"2.0\""));
    }
    let params = match raw.params {
        Some(p) if !matches!(p.get().as_bytes().first(), Some(b'{' | b'[')) => {
            return Err(DecodeError::new(id, ErrorCode::INVALID_REQUEST, "params must be an object or an array"));
        }
        other => other,
    };
    if let Some(method) = raw.method {
        if raw.result.is_some() || raw.error.is_some() {
            return Err(DecodeError::new(
                id,
                ErrorCode::INVALID_REQUEST,
                "a message cannot carry both method and result/error",
            ));
        }
        let method = parse_method(method)
            .ok_or_else(|| DecodeError::new(id.clone(), ErrorCode::INVALID_REQUEST, "method must be a string"))?;
        return Ok(match id {
            Some(id) => Message::Request(Request { id, method, params }),
            None => Message::Notification(Notification { method, params }),
        });
    }
    if id.is_none() && !(raw.error.is_some() && raw.result.is_none()) {
        return Err(DecodeError::new(None, ErrorCode::INVALID_REQUEST, "message has neither method nor id"));
    }
    let outcome = match (raw.result, raw.error) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(serde_json::from_str::<ErrorObject>(error.get())
            .map_err(|_| DecodeError::new(id.clone(), ErrorCode::INVALID_REQUEST, "malformed error object"))?),
        _ => {
            return Err(DecodeError::new(
                id,
                ErrorCode::INVALID_REQUEST,
                "a response carries exactly one of result and error",
            ));
        }
    };
    Ok(Message::Response(Response { id, outcome }))
}

fn parse_id(raw: &RawValue) -> Result<RequestId, DecodeError> {
    let text = raw.get();
    let invalid = |why: &str| DecodeError::new(None, ErrorCode::INVALID_REQUEST, why.to_owned());
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text)
            .map(RequestId::String)
            .map_err(|_| invalid("id must be a string or an integer")),
        Some(b'-' | b'0'..=b'9') => text
            .parse::<i64>()
            .map(RequestId::Number)
            .map_err(|_| invalid("id must be an integer that fits in 64 bits, or a string")),
        Some(b'n') => Err(invalid("id must not be null")),
        _ => Err(invalid("id must be a string or an integer")),
    }
}

fn parse_method(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

impl<'a> Request<'a> {
    /// Decodes `params` into the handler's type; a missing `params` decodes as `{}`.
    pub fn params_as<T: Deserialize<'a>>(&self) -> Result<T, ErrorObject> {
        params_as(self.params)
    }
}

impl<'a> Notification<'a> {
    /// Decodes `params` into the handler's type; a missing `params` decodes as `{}`.
    pub fn params_as<T: Deserialize<'a>>(&self) -> Result<T, ErrorObject> {
        params_as(self.params)
    }
}

/// Decodes optional raw params into `T`, mapping failures to `-32602 Invalid params`.
pub fn params_as<'a, T: Deserialize<'a>>(params: Option<&'a RawValue>) -> Result<T, ErrorObject> {
    let text = params.map_or("{}", RawValue::get);
    serde_json::from_str(text).map_err(|e| ErrorObject::new(ErrorCode::INVALID_PARAMS, format!("invalid params: {e}")))
}

#[derive(Serialize)]
struct ResultOut<'a, T: ?Sized> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    result: &'a T,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    jsonrpc: &'static str,
    id: Option<&'a RequestId>,
    error: &'a ErrorObject,
}

#[derive(Serialize)]
struct NotificationOut<'a, T: ?Sized> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a T>,
}

#[derive(Serialize)]
struct RequestOut<'a, T: ?Sized> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    method: &'a str,
    params: &'a T,
}

fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    // Serializing our own model types into a Vec cannot fail: no maps with non-string keys.
    if let Err(e) = serde_json::to_writer(&mut out, value) {
        out.clear();
        let fallback = ErrorObject::new(ErrorCode::INTERNAL_ERROR, format!("encode failed: {e}"));
        let _ = serde_json::to_writer(&mut out, &ErrorOut { jsonrpc: "2.0", id: None, error: &fallback });
    }
    out
}

/// Encodes a successful response.
pub fn encode_result<T: Serialize + ?Sized>(id: &RequestId, result: &T) -> Vec<u8> {
    to_vec(&ResultOut { jsonrpc: "2.0", id, result })
}

/// Encodes an error response; `id` is `None` only when the request's id was unreadable.
pub fn encode_error(id: Option<&RequestId>, error: &ErrorObject) -> Vec<u8> {
    to_vec(&ErrorOut { jsonrpc: "2.0", id, error })
}

/// Encodes a notification.
pub fn encode_notification<T: Serialize + ?Sized>(method: &str, params: Option<&T>) -> Vec<u8> {
    to_vec(&NotificationOut { jsonrpc: "2.0", method, params })
}

/// Encodes a server-to-client request.
pub fn encode_request<T: Serialize + ?Sized>(id: &RequestId, method: &str, params: &T) -> Vec<u8> {
    to_vec(&RequestOut { jsonrpc: "2.0", id, method, params })
}

#[cfg(test)]
mod depth_tests {
    use super::nests_deeper_than;

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert!(!nests_deeper_than(br#"{"a":"[[[[[[[[[[","b":"{{{{"}"#, 2));
        assert!(!nests_deeper_than(br#"{"a":"quote \" then [[[[ and \\","b":1}"#, 1));
        assert!(nests_deeper_than(br#"{"a":"\\"}[[["#, 2));
        assert!(nests_deeper_than(br#"{"a":[[{"b":"x"}]]}"#, 3));
        assert!(!nests_deeper_than(br#"{"a":[[{"b":"x"}]]}"#, 4));
    }

    #[test]
    fn unterminated_strings_and_escapes_end_the_scan() {
        assert!(!nests_deeper_than(br#"{"a":"open [[[["#, 1));
        assert!(!nests_deeper_than(br#"{"a":"ends in a backslash \"#, 1));
        assert!(!nests_deeper_than(b"", 0));
        assert!(nests_deeper_than(&[b'['; 200], 128));
    }
}

#[cfg(test)]
mod id_tests {
    use super::{Message, decode};

    /// Found by the codec fuzz target: the reply to an unreadable message (`id: null`) did
    /// not decode, so a server answered such a client error with an error of its own.
    #[test]
    fn an_error_response_without_a_readable_id_is_received_not_refused() {
        let null = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}"#;
        let Ok(Message::Response(r)) = decode(null) else { panic!("not a response") };
        assert_eq!(r.id, None);
        assert_eq!(r.outcome.err().map(|e| e.code.0), Some(-32700));
        let absent = br#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid"}}"#;
        assert!(matches!(decode(absent), Ok(Message::Response(r)) if r.id.is_none()));
    }

    #[test]
    fn a_null_id_is_refused_everywhere_else() {
        assert!(decode(br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).is_err());
        assert!(decode(br#"{"jsonrpc":"2.0","id":null,"result":{}}"#).is_err());
        assert!(decode(br#"{"jsonrpc":"2.0","result":{}}"#).is_err());
    }
}
