//! The codec: any bytes decode to a message or to a decode error, never a panic; what
//! decodes keeps raw `params` and `result` that are themselves valid JSON, and an error reply
//! built from a decode error is a valid message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_protocol::jsonrpc::{self, Message};

fuzz_target!(|data: &[u8]| {
    match jsonrpc::decode(data) {
        Ok(Message::Request(r)) => {
            if let Some(p) = r.params {
                assert!(serde_json::from_str::<serde_json::Value>(p.get()).is_ok());
            }
            // The id survives a round trip through a reply.
            let reply = jsonrpc::encode_result(&r.id, &serde_json::json!({}));
            assert!(matches!(jsonrpc::decode(&reply), Ok(Message::Response(_))));
        }
        Ok(Message::Notification(n)) => {
            if let Some(p) = n.params {
                assert!(serde_json::from_str::<serde_json::Value>(p.get()).is_ok());
            }
        }
        Ok(_) => {}
        Err(e) => {
            let reply = jsonrpc::encode_error(e.id.as_ref(), &e.error);
            assert!(jsonrpc::decode(&reply).is_ok(), "an error reply must decode");
        }
    }
});
