//! The event parsers: any bytes as the JSON of an API Gateway WebSocket event or of a Lambda
//! Function URL request, through the edges the functions run, to the reference server with
//! in-memory state. Never a panic or a hang; a status the edge chose.
#![no_main]

#[path = "paused.rs"]
mod paused;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_http::request::LambdaRequest;
use libfuzzer_sys::fuzz_target;
use mcp_edge::http::{HttpConfig, HttpEdge};
use mcp_edge::origin::OriginPolicy;
use mcp_edge::websocket::WebSocketEdge;
use mcp_server::{ConnectionSink, PostError, RequestStateCodec, Router, RouterConfig, StateHandles};

/// `@connections` that accepts every post.
struct Accept;

#[async_trait]
impl ConnectionSink for Accept {
    async fn post(&self, _connection_id: &str, _message: Vec<u8>) -> Result<(), PostError> {
        Ok(())
    }

    async fn close(&self, _connection_id: &str) -> Result<(), PostError> {
        Ok(())
    }
}

struct Edges {
    websocket: WebSocketEdge,
    http: HttpEdge,
}

fn edges() -> &'static Edges {
    static EDGES: OnceLock<Edges> = OnceLock::new();
    EDGES.get_or_init(|| {
        let server = reference_server::server().unwrap_or_else(|e| panic!("reference server: {e}"));
        let sink: Arc<dyn ConnectionSink> = Arc::new(Accept);
        let router = Arc::new(Router::new(
            Arc::new(server),
            StateHandles::in_memory(),
            RequestStateCodec::ephemeral(),
            RouterConfig::default(),
            Some(sink.clone()),
        ));
        Edges {
            websocket: WebSocketEdge::new(router.clone(), sink, OriginPolicy::loopback()).with_max_in_flight(Some(4)),
            http: HttpEdge::new(router, HttpConfig::default()),
        }
    })
}

/// lambda_http panics on an event whose host, stage, path, query or `x-forwarded-proto` make
/// no URL (found by this target; Function URLs deliver none, and lambda_runtime's panic layer
/// would turn one into a failed invocation, not a dead process). Such events are not the
/// edge's to see: this is lambda_http's own construction of the URI, checked without panicking.
fn makes_a_uri(event: &LambdaRequest) -> bool {
    #[allow(unreachable_patterns)]
    let ag = match event {
        LambdaRequest::ApiGatewayV2(ag) => ag,
        _ => return false,
    };
    let raw_path = ag.raw_path.as_deref().unwrap_or_default();
    let path = match ag.request_context.stage.as_deref() {
        None | Some("$default") => raw_path.to_owned(),
        Some(stage) if raw_path.starts_with(&format!("/{stage}/")) => raw_path.to_owned(),
        Some(stage) => format!("/{stage}{raw_path}"),
    };
    let host = ag.headers.get("host").and_then(|h| h.to_str().ok()).or(ag.request_context.domain_name.as_deref());
    let url = match host {
        None => url::Url::parse(&format!("http://localhost{path}")).map(|u| u.path().to_owned()),
        Some(host) => {
            let scheme = ag.headers.get("x-forwarded-proto").and_then(|s| s.to_str().ok()).unwrap_or("https");
            url::Url::parse(&format!("{scheme}://{host}{path}")).map(|u| u.to_string())
        }
    };
    let Ok(mut uri) = url else { return false };
    if let Some(query) = ag.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    http::Uri::try_from(uri).is_ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else { return };
    paused::block_on(async {
        if selector % 2 == 0 {
            let Ok(event) = serde_json::from_slice::<ApiGatewayWebsocketProxyRequest>(json) else { return };
            let response = edges().websocket.handle(event).await;
            assert!((200..600).contains(&response.status_code));
        } else {
            let Ok(event) = serde_json::from_slice::<LambdaRequest>(json) else { return };
            if !makes_a_uri(&event) {
                return;
            }
            let (parts, body) = http::Request::from(event).into_parts();
            let request = http::Request::from_parts(parts, bytes::Bytes::copy_from_slice(body.as_ref()));
            // The status and headers only: an SSE body may stream for as long as it is read.
            let response = edges().http.handle(request).await;
            assert!(response.status().as_u16() >= 200);
        }
    })
});
