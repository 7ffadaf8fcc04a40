//! What the console reads from a JSON-RPC message passing through the gateway: its method,
//! its params and its era. A message it cannot read is shown as nothing in particular.

use serde_json::Value;

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

pub struct Message {
    pub method: Option<String>,
    pub params: Value,
}

impl Message {
    pub fn parse(body: &str) -> Message {
        let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        Message { method: value["method"].as_str().map(str::to_owned), params: value["params"].clone() }
    }

    /// `session` for an `initialize`, the version its `_meta` names for a request complete
    /// in itself (2026-07-28), nothing for anything else.
    pub fn era(&self) -> Option<String> {
        if self.method.as_deref() == Some("initialize") {
            return Some("session".to_owned());
        }
        self.params["_meta"][META_VERSION].as_str().map(str::to_owned)
    }

    /// What a `subscriptions/listen` asks for, without its `_meta`.
    pub fn listen_summary(&self) -> String {
        let mut params = self.params.clone();
        if let Value::Object(p) = &mut params {
            p.remove("_meta");
        }
        let text = if params.as_object().is_some_and(|p| !p.is_empty()) {
            params.to_string()
        } else {
            "everything".to_owned()
        };
        text.chars().take(200).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_era_and_listen_are_read_and_bad_input_is_nothing() {
        let init = Message::parse(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#);
        assert_eq!((init.method.as_deref(), init.era().as_deref()), (Some("initialize"), Some("session")));
        let call = Message::parse(
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        assert_eq!(call.era().as_deref(), Some("2026-07-28"));
        let listen = Message::parse(
            r#"{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen","params":{"resources":["note://a"],"_meta":{}}}"#,
        );
        assert_eq!(listen.listen_summary(), r#"{"resources":["note://a"]}"#);
        let bad = Message::parse("not json");
        assert_eq!((bad.method.as_deref(), bad.era()), (None, None));
    }
}
