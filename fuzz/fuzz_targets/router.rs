//! The router: any message, as any transport would hand it over, against the reference
//! server with in-memory state. Never a panic, never a hang (time is paused, so a request
//! that waits, for a countdown or for the client, runs to its timeout at once), and every
//! reply is a valid JSON-RPC message.
#![no_main]

#[path = "paused.rs"]
mod paused;

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mcp_protocol::jsonrpc;
use mcp_server::outbound::Discard;
use mcp_server::{HttpHeaders, Inbound, RequestStateCodec, Router, RouterConfig, StateHandles, Transport};

fn router() -> &'static Arc<Router> {
    static ROUTER: OnceLock<Arc<Router>> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let server = reference_server::server().unwrap_or_else(|e| panic!("reference server: {e}"));
        let state = StateHandles::in_memory().with_l1();
        Arc::new(Router::new(Arc::new(server), state, RequestStateCodec::ephemeral(), RouterConfig::default(), None))
    })
}

/// The first byte picks how the message arrives; the rest is the message.
fn inbound(selector: u8) -> Inbound {
    let http = |version: Option<&str>, session: Option<&str>| Inbound {
        transport: Transport::Http,
        session_id: session.map(str::to_owned),
        principal: Some("fuzz".into()),
        http: Some(HttpHeaders { protocol_version: version.map(str::to_owned), ..HttpHeaders::default() }),
        credential_expires_at_ms: None,
        stream_until_ms: None,
    };
    match selector % 4 {
        0 => http(Some("2026-07-28"), None),
        1 => http(Some("2025-11-25"), Some("fuzz-session")),
        2 => Inbound {
            transport: Transport::WebSocket,
            session_id: Some("fuzz-connection".into()),
            principal: Some("fuzz".into()),
            http: None,
            credential_expires_at_ms: None,
            stream_until_ms: None,
        },
        _ => http(None, None),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else { return };
    let reply = paused::block_on(router().handle(message, &inbound(selector), Arc::new(Discard)));
    if let Some(body) = reply.body {
        assert!(jsonrpc::decode(&body).is_ok(), "a reply that is not a message: {}", String::from_utf8_lossy(&body));
    }
});
