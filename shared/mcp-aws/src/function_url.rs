//! Lambda Function URL requests in, streamed responses out (JSON bodies are one frame, SSE
//! streams are streamed as the request produces them).

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};

use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use mcp_edge::http::HttpBody;
use mcp_edge::rate::SourceAddress;

use crate::App;

/// The body of a streamed Function URL response: one frame for JSON, SSE chunks as produced.
pub type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

/// Handles one Function URL request.
pub async fn handle(app: &App, request: lambda_http::Request) -> Result<http::Response<ResponseBody>, Infallible> {
    // The caller's address, for the anonymous rate limit.
    let source = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    let (mut parts, body) = request.into_parts();
    if let Some(address) = source {
        parts.extensions.insert(SourceAddress(address));
    }
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    let response = Box::pin(app.http.handle(http::Request::from_parts(parts, bytes))).await;
    let (parts, body) = response.into_parts();
    let body = match body {
        HttpBody::Empty => Full::new(Bytes::new()).boxed_unsync(),
        HttpBody::Full(b) => Full::new(b).boxed_unsync(),
        HttpBody::Stream(s) => StreamBody::new(s.map(|b| Ok::<_, Infallible>(Frame::data(b)))).boxed_unsync(),
    };
    Ok(http::Response::from_parts(parts, body))
}
